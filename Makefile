# Rollcall: two commands do all set-up on a fresh machine.
#   make demo   the whole pipeline end to end on a synthetic LA, then stop
#   make test   every test, against the real PostgreSQL and a real Kafka-API broker, and the web
#               dashboard's browser tests in Debian's Chromium
#   make serve  the demo stack with the web dashboard left running (its address and keys printed)

SHELL := bash
CARGO ?= cargo
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: deps postgres tansu chromium web-assets deploy-tools build test test-web check-deploy demo serve bench chaos fuzz lint clean

deps: postgres tansu chromium web-assets deploy-tools

postgres:
	@deploy/local/ensure-postgres.sh

tansu:
	@deploy/local/ensure-tansu.sh

chromium:
	@deploy/local/ensure-chromium.sh

# promtool and kubernetes-validate, for the deployment artefacts' checks.
deploy-tools:
	@deploy/local/ensure-deploy-tools.sh

# GOV.UK Frontend (npm), compiled and embedded into rollcall-web by its build.rs: before any build.
web-assets:
	@deploy/local/ensure-web-assets.sh

build: web-assets
	$(CARGO) build --workspace --bins

# Binaries first: the end-to-end tests run the `rollcall` CLI as a user would. Then a short chaos
# run (six faults, PostgreSQL restarted among them: nothing else may use it meanwhile; a fixed
# seed, so a failure here repeats with the same schedule; make chaos draws a new one) and the
# browser tests, and the checks of the deployment artefacts (deploy/check.sh).
test: deps build
	$(CARGO) test --workspace --no-fail-fast
	$(TARGET_DIR)/debug/rollcall-chaos --scale short --seed 1
	tests/web/run.sh $(TARGET_DIR)/debug
	deploy/check.sh

# The deployment artefacts alone: alert rules (promtool, with their unit tests), the Prometheus
# configuration, the Kubernetes manifests against the API schemas, the dashboard and compose file.
check-deploy: deploy-tools
	deploy/check.sh

# The dashboard's browser tests alone: the real stack, a test identity provider, Chromium.
test-web: deps build
	tests/web/run.sh $(TARGET_DIR)/debug

# The demo and the benchmark need no browser.
demo: postgres tansu web-assets
	$(CARGO) build --release --workspace --bins
	deploy/local/run-demo.sh $(TARGET_DIR)/release $(DEMO_ARGS)

# The stack of the browser tests, left running: the small synthetic LA, the web dashboard on
# 127.0.0.1:8080, sign-in keys printed. Ctrl-C stops it.
serve: deps
	$(CARGO) build --release --workspace --bins
	tests/web/run.sh $(TARGET_DIR)/release --serve

# The benchmark (a program that prints figures, not a timed test): starts its own broker and
# services, results in bench/results/. More options: make bench BENCH_ARGS="--streams 8".
bench: postgres tansu web-assets
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/rollcall-bench --scale small $(BENCH_ARGS)

# The chaos run (a program that prints figures, not a timed test; README, "Under faults"): a
# synthetic LA sent through the whole system twice, cleanly and under 50 random faults (workers
# and the gateway killed, the broker and PostgreSQL restarted, PostgreSQL down for 60 s), every
# table compared; fails on any difference. Debug builds: overflow checks on. It restarts the
# machine's PostgreSQL. Repeat a run: make chaos CHAOS_ARGS="--seed N".
chaos: postgres tansu build
	$(TARGET_DIR)/debug/rollcall-chaos --scale full --out bench/results $(CHAOS_ARGS)

# The fuzz targets (fuzz/, outside the workspace; README, "Fuzzing"): each for FUZZ_SECONDS, one
# after another, one process on one core, from the committed seeds; a crash fails it. On stable
# Rust (RUSTC_BOOTSTRAP for cargo-fuzz's flags), built in a target dir of its own. Figures to a
# file: make fuzz FUZZ_ARGS="--results bench/results/fuzz-<date>.json".
FUZZ_SECONDS ?= 60
fuzz:
	@deploy/local/ensure-cargo-fuzz.sh
	CARGO_TARGET_DIR=$(or $(FUZZ_TARGET_DIR),$(HOME)/.cache/rollcall/target-fuzz) \
		fuzz/run.py --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

lint: web-assets
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf .run

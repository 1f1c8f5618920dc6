# Rollcall: two commands do all set-up on a fresh machine.
#   make demo   the whole pipeline end to end on a synthetic LA, then stop
#   make test   every test, against the real PostgreSQL and a real Kafka-API broker

SHELL := bash
CARGO ?= cargo
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: deps postgres tansu build test demo bench lint clean

deps: postgres tansu

postgres:
	@deploy/local/ensure-postgres.sh

tansu:
	@deploy/local/ensure-tansu.sh

build:
	$(CARGO) build --workspace --bins

# Binaries first: the end-to-end tests run the `rollcall` CLI as a user would.
test: deps build
	$(CARGO) test --workspace --no-fail-fast

demo: deps
	$(CARGO) build --release --workspace --bins
	deploy/local/run-demo.sh $(TARGET_DIR)/release $(DEMO_ARGS)

# The benchmark (a program that prints figures, not a timed test): starts its own broker and
# services, results in bench/results/. More options: make bench BENCH_ARGS="--streams 8".
bench: deps
	$(CARGO) build --release --workspace --bins
	$(TARGET_DIR)/release/rollcall-bench --scale small $(BENCH_ARGS)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf .run

#!/usr/bin/env python3
"""Runs the fuzz targets one after another, each for a set time on one core, and records what
each run did (`make fuzz`; README, "Fuzzing").

    fuzz/run.py [--seconds N] [--results FILE] [TARGET...]

Each target is built first (its build time is not counted), then run from its committed seeds
(fuzz/seeds/<target>/) and its working corpus (fuzz/corpus/<target>/, not committed), which
libFuzzer grows. A crash's input is kept in fuzz/artifacts/<target>/ (not committed); every
input kept there is run again at the end, so a crash that is fixed stops counting as open.

With --results, the run's figures are added to a JSON file: per target the seconds and
executions of every run and their totals, the corpus's size after the last run, the crashing
inputs found and those still open. The figures are libFuzzer's own (its final stats).

Stable Rust: cargo-fuzz passes nightly-only flags, so RUSTC_BOOTSTRAP=1 is set for its builds.
The sanitizer is FUZZ_SANITIZER, by default none: our crates forbid unsafe code, so what the
address sanitizer catches is out of their reach, and with it the C libraries the gateway links
(librdkafka, built against an instrumented zstd) fail to configure. libFuzzer still finds
panics, failed assertions, timeouts and runaway memory."""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import time

FUZZ = pathlib.Path(__file__).resolve().parent
TARGETS = ["csv_files", "feed_stream", "pipeline_messages", "validation"]


def env():
    e = dict(os.environ)
    e["RUSTC_BOOTSTRAP"] = "1"
    e["CARGO_BUILD_JOBS"] = "1"
    e.setdefault(
        "CARGO_TARGET_DIR",
        str(pathlib.Path.home() / ".cache" / "rollcall" / "target-fuzz"),
    )
    return e


def cargo_fuzz(command, target, *args, capture=False):
    sanitizer = os.environ.get("FUZZ_SANITIZER", "none")
    cmd = ["cargo", "fuzz", command, "--sanitizer", sanitizer, target, *args]
    return subprocess.run(
        cmd,
        cwd=FUZZ.parent,
        env=env(),
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )


def crashes(target):
    folder = FUZZ / "artifacts" / target
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.split("-")[0] in ("crash", "leak", "oom", "timeout"))


def still_fails(target, artifact):
    run = cargo_fuzz("run", target, str(artifact), "--", "-runs=1", capture=True)
    return run.returncode != 0


def run(target, seconds):
    """One run: libFuzzer's final figures, and whether it stopped on a crash."""
    corpus = FUZZ / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    if cargo_fuzz("build", target).returncode != 0:
        sys.exit(f"fuzz: cannot build {target}")
    start = time.monotonic()
    # One process (libFuzzer's default: no -jobs, no -workers), stopped after `seconds`.
    fuzz = cargo_fuzz(
        "run",
        target,
        str(corpus),
        str(FUZZ / "seeds" / target),
        "--",
        f"-max_total_time={seconds}",
        "-print_final_stats=1",
        "-timeout=10",
        "-rss_limit_mb=2048",
        capture=True,
    )
    elapsed = time.monotonic() - start
    log = fuzz.stdout
    (FUZZ / "corpus" / f"{target}.log").write_text(log)
    stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", log, re.M))
    sizes = re.findall(r"corp: (\d+)/", log)
    figures = {
        "seconds": round(elapsed),
        "executions": int(stat.get("number_of_executed_units", 0)),
        "corpus_size": int(sizes[-1]) if sizes else 0,
        "crashed": fuzz.returncode != 0,
    }
    tail = [l for l in log.splitlines() if l.startswith(("#", "==", "Done", "SUMMARY", "thread"))]
    print("\n".join(tail[-4:]))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", 60)))
    parser.add_argument("--results")
    parser.add_argument("targets", nargs="*", default=TARGETS)
    args = parser.parse_args()
    results = {}
    if args.results and pathlib.Path(args.results).exists():
        results = json.loads(pathlib.Path(args.results).read_text())
    results["sanitizer"] = os.environ.get("FUZZ_SANITIZER", "none")
    results["rustc"] = subprocess.run(
        ["rustc", "--version"], text=True, stdout=subprocess.PIPE
    ).stdout.strip()
    failed = False
    for target in args.targets:
        if target not in TARGETS:
            sys.exit(f"fuzz: no target {target}; the targets are {', '.join(TARGETS)}")
        print(f"fuzz: {target} for {args.seconds} s")
        figures = run(target, args.seconds)
        found = crashes(target)
        open_ = [a.name for a in found if still_fails(target, a)]
        failed |= figures["crashed"] or bool(open_)
        entry = results.setdefault("targets", {}).setdefault(target, {"runs": []})
        entry["runs"].append(figures)
        entry["seconds"] = sum(r["seconds"] for r in entry["runs"])
        entry["executions"] = sum(r["executions"] for r in entry["runs"])
        entry["corpus_size"] = figures["corpus_size"]
        entry["crashes_found"] = len(found)
        entry["crashes_open"] = len(open_)
        print(
            f"fuzz: {target}: {figures['seconds']} s, {figures['executions']} executions, "
            f"corpus {figures['corpus_size']}, crashes found {len(found)}, open {len(open_)}"
        )
        if args.results:
            pathlib.Path(args.results).write_text(json.dumps(results, indent=2) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Makes sure cargo-fuzz (the driver of the libFuzzer targets in fuzz/) is installed. It is built
# once per machine, outside the project, by cargo install (about a minute on 2 cores).
set -euo pipefail

version=0.13.2
if cargo fuzz --version 2>/dev/null | grep -q "$version"; then
    exit 0
fi
echo "cargo-fuzz: not installed; building cargo-fuzz $version (once per machine)"
# Its own target dir, so the project's build cache is not disturbed.
CARGO_TARGET_DIR="$(mktemp -d)" cargo install cargo-fuzz --version "$version" --locked -j1

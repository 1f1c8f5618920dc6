#!/usr/bin/env bash
# Makes sure the Tansu broker (a Kafka-API broker written in Rust) is installed. It is built once
# per machine, outside the project, by cargo install (about 20 minutes on 2 cores).
set -euo pipefail

version=0.6.0
if command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -q "$version"; then
    exit 0
fi
if [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
    exit 0
fi
echo "tansu: not installed; building tansu $version (once per machine)"
# Its own target dir, so the project's build cache is not disturbed.
CARGO_TARGET_DIR="$(mktemp -d)" cargo install tansu --version "$version" --locked --features dynostore,libsql

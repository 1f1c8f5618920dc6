#!/usr/bin/env bash
# Makes sure the web dashboard's front-end packages are installed from the npm registry (never
# kept in the repository): GOV.UK Frontend and Sass for rollcall-web (embedded at build time by
# its build.rs, so this runs before any build), and the browser tests' playwright-core, axe-core
# and html-validate. Installs Node.js and npm when absent. Each step runs only when its inputs
# changed.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v npm >/dev/null 2>&1; then
    echo "web assets: node and npm not installed; installing"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi

root=$(cd "$(dirname "$0")/../.." && pwd)
# A folder's packages, installed when missing or older than its lock file.
install() {
    local dir=$1
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "web assets: npm ci in ${dir#"$root"/}"
        (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}

web=$root/services/rollcall-web
install "$web"
css=$web/assets-dist/rollcall.css
if [ ! -f "$css" ] || [ "$web/assets/rollcall.scss" -nt "$css" ] || [ "$web/node_modules/.package-lock.json" -nt "$css" ]; then
    echo "web assets: compiling GOV.UK Frontend's styles for rollcall-web"
    mkdir -p "$web/assets-dist"
    (cd "$web" && npm run --silent build)
fi
install "$root/tests/web"

#!/usr/bin/env bash
# Makes sure Debian's Chromium (and its ChromeDriver) are installed for the dashboard's browser
# tests. The tests drive this browser; they never download one of their own.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
echo "chromium: not installed; installing Debian's chromium and chromium-driver"
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version

#!/usr/bin/env bash
# What the browser tests need besides the venv: Debian's Chromium (Playwright never downloads a
# browser here) and the locked npm packages of tests/browser (axe-core), in its node_modules/.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x "${SHOP_CHROMIUM:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi

# npm ci only when the lock changed since the last install (or nothing is installed).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi

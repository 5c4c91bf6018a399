#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report's browser test (tests/test_report_browser.py).
# Idempotent and quick when it is already there: nothing is fetched unless `chromium` is missing.
# Usage: scripts/install_chromium.sh        (as root, or with sudo available)
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium already installed: $(chromium --version 2>/dev/null || echo unknown version)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install_chromium.sh: chromium is missing and this user cannot install packages (not root, no sudo)." >&2
    echo "Fix: run 'apt-get update && apt-get install -y chromium' as root." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium installed: $(chromium --version 2>/dev/null || echo unknown version)"

#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (tests/test_web.py), which
# drives /usr/bin/chromium through Playwright; `playwright install` is never used.
# Idempotent: does nothing when /usr/bin/chromium is there; runs `apt-get update`
# only when the package lists do not know chromium yet. Needs root or sudo.
set -euo pipefail
source "$(dirname "$0")/apt_install.sh"

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install_browser: $CHROMIUM is already installed ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi

apt_install install_browser chromium "$CHROMIUM"

if [ ! -x "$CHROMIUM" ]; then
  echo "install_browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (tests/test_web.py), which
# drives /usr/bin/chromium through Playwright; `playwright install` is never used.
# Idempotent: does nothing when /usr/bin/chromium is there; runs `apt-get update`
# only when the package lists do not know chromium yet. Needs root or sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install_browser: $CHROMIUM is already installed ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install_browser: $CHROMIUM is missing and installing it needs root (no sudo found)" >&2
  echo "install_browser: run as root: apt-get install -y chromium" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: $CHROMIUM is missing and this system has no apt-get; install Chromium at $CHROMIUM by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if apt-cache show chromium >/dev/null 2>&1; then
  echo "install_browser: package lists already know chromium; skipping apt-get update"
else
  echo "install_browser: package lists do not know chromium; running apt-get update"
  "${SUDO[@]}" apt-get update -q
fi

echo "install_browser: installing Debian's chromium (apt-get install chromium)"
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "install_browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

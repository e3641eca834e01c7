#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the index tests on the PostgreSQL backend
# (tests/postgres.py starts a throw-away cluster from its initdb and pg_ctl; no
# service of the package is used). Idempotent: does nothing when initdb is there;
# runs `apt-get update` only when the package lists do not know postgresql yet.
# Needs root or sudo.
set -euo pipefail

found="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -n "$found" ]; then
  echo "install_postgres: $found is already installed; nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install_postgres: PostgreSQL is missing and installing it needs root (no sudo found)" >&2
  echo "install_postgres: run as root: apt-get install -y postgresql" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_postgres: PostgreSQL is missing and this system has no apt-get; install its server by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if apt-cache show postgresql >/dev/null 2>&1; then
  echo "install_postgres: package lists already know postgresql; skipping apt-get update"
else
  echo "install_postgres: package lists do not know postgresql; running apt-get update"
  "${SUDO[@]}" apt-get update -q
fi

echo "install_postgres: installing Debian's postgresql (apt-get install postgresql)"
"${SUDO[@]}" apt-get install -y -q --no-install-recommends postgresql

found="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$found" ]; then
  echo "install_postgres: apt-get finished but no /usr/lib/postgresql/*/bin/initdb is there" >&2
  exit 1
fi
echo "install_postgres: installed $found"

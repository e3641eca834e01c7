#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the index tests on the PostgreSQL backend
# (tests/postgres.py starts a throw-away cluster from its initdb and pg_ctl; no
# service of the package is used). Idempotent: does nothing when initdb is there;
# runs `apt-get update` only when the package lists do not know postgresql yet.
# Needs root or sudo.
set -euo pipefail
source "$(dirname "$0")/apt_install.sh"

initdb() {
  ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true
}

found="$(initdb)"
if [ -n "$found" ]; then
  echo "install_postgres: $found is already installed; nothing to do"
  exit 0
fi

apt_install install_postgres postgresql "PostgreSQL (/usr/lib/postgresql/*/bin/initdb)"

found="$(initdb)"
if [ -z "$found" ]; then
  echo "install_postgres: apt-get finished but no /usr/lib/postgresql/*/bin/initdb is there" >&2
  exit 1
fi
echo "install_postgres: installed $found"

#!/usr/bin/env bash
# Every test: the contract's Hardhat tests, the Python suites (which start their
# own anvil nodes from node_modules) and Slither on the contract.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .

echo "== mypy"
.venv/bin/mypy

echo "== Hardhat tests (tests/contracts)"
npx --no-install hardhat test

echo "== Slither (own virtual environment: it needs web3 < 8)"
if [ ! -x .slither-venv/bin/slither ] || ! cmp -s requirements-slither.lock .slither-venv/.installed-lock; then
  python3 -m venv .slither-venv
  .slither-venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-slither.lock
  cp requirements-slither.lock .slither-venv/.installed-lock
fi
# slither.config.json filters node_modules and test-only contracts; any high or medium finding fails.
.slither-venv/bin/slither . --fail-medium

echo "== Chromium for the auditor page test (Debian's package)"
bash scripts/install_browser.sh

echo "== PostgreSQL for the index tests on its backend (Debian's package)"
bash scripts/install_postgres.sh

echo "== pytest"
# CI=1: a missing browser or PostgreSQL fails their tests instead of skipping them.
CI="${CI:-1}" .venv/bin/python -m pytest -q "$@"

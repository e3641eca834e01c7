#!/usr/bin/env bash
# The main job end to end on the local chain: install, start the chain,
# deploy the registry and show its status.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

provenance chain up

#!/usr/bin/env bash
# The main job end to end on the local chain: install, start the chain, then
# register a sample dataset (directly) and a model trained on it (in a batch),
# anchor the batch and verify the model across its lineage; then verify it
# again as a stranger would, from an empty home with only the model directory.
#
# Everything the demo writes goes to .demo/ in the checkout (its own
# PROVENANCE_HOME, a copy of the sample artifacts with their provenance.json),
# so the checkout stays clean; run it again for a fresh pair of records.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

demo="$PWD/.demo"
export PROVENANCE_HOME="$demo/home"
# The demo key's password; for real keys, leave this unset and type it at the prompt.
export PROVENANCE_KEY_PASSWORD="${PROVENANCE_KEY_PASSWORD:-demo-only-password}"
rm -rf "$demo/artifacts"
mkdir -p "$demo/artifacts"
cp -r examples/sample/dataset examples/sample/model "$demo/artifacts/"

provenance chain up
provenance keys show demo >/dev/null 2>&1 || provenance keys new demo
address=$(provenance keys show demo --json | python -c 'import json,sys; print(json.load(sys.stdin)["address"])')

echo "== register the dataset (one transaction)"
provenance register "$demo/artifacts/dataset" --kind dataset --claims examples/claims/dataset.yaml \
  --json > "$demo/dataset.json"
dataset=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["subject"])' "$demo/dataset.json")
echo "dataset subject $dataset"

echo "== register the model trained on it (queued), then anchor the batch"
sed "s/^  trained_on: \[\]/  trained_on: [\"$dataset\"]/" examples/claims/model.yaml > "$demo/model-claims.yaml"
provenance register "$demo/artifacts/model" --kind model --claims "$demo/model-claims.yaml" --batch
provenance anchor

echo "== verify the model, trusting the demo publisher"
sed "s/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/$address/" examples/policy.yaml > "$demo/policy.yaml"
provenance verify "$demo/artifacts/model" --policy "$demo/policy.yaml"

echo "== a stranger with only the download: an empty home, the model directory as downloaded"
status=$(provenance chain status --json)
rpc=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["rpcUrl"])' "$status")
registry=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["registry"])' "$status")
stranger=$(mktemp -d)
PROVENANCE_HOME="$stranger" provenance --rpc-url "$rpc" --registry "$registry" \
  verify "$demo/artifacts/model" --policy "$demo/policy.yaml"
rm -rf "$stranger"

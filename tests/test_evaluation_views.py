"""Evaluations in the CLI's history and in the exports (issue 16, "everywhere the other evidence is")."""

from __future__ import annotations

import json

import pytest
import yaml

from provenance.record import hex32
from tests.evaluation_world import evaluated_model
from tests.helpers import account_factory, fresh_registry, run_cli

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def evaluated(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    home = tmp_path_factory.mktemp("evaluated") / "home"
    world = evaluated_model(ledger, account_factory(ledger), home)
    env = {"PROVENANCE_HOME": str(home), "PROVENANCE_RPC_URL": ledger.rpc_url,
           "PROVENANCE_REGISTRY": ledger.registry}
    return world, env


def test_history_of_a_model_lists_its_evaluations_marked(evaluated):
    world, env = evaluated
    model = hex32(world.model.subject)
    done = run_cli("history", model, "--json", env=env)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["events"]
    marked = [(e["event"], e["recordId"]) for e in events if e["details"].get("evaluationOf") == model]
    assert sorted(marked) == sorted([
        ("RecordRegistered", hex32(world.lab_eval.record_id)),
        ("RecordRegistered", hex32(world.stranger_eval.record_id)),
        ("RecordRegistered", hex32(world.revoked_eval.record_id)),
        ("RecordRevoked", hex32(world.revoked_eval.record_id)),
    ])  # the lab's evaluation of other weights names the model as a benchmark only: not listed
    lab = next(e for e in events if e["recordId"] == hex32(world.lab_eval.record_id))
    assert lab["details"]["evaluationResults"] == ["toxigen acc 0.83 ± 0.012", "mmlu acc 0.61 ± 0.004"]
    assert [e["recordId"] for e in events if "evaluationOf" not in e["details"]] == [hex32(world.model.record_id)]
    blocks = [e["blockNumber"] for e in events]
    assert blocks == sorted(blocks, reverse=True)

    text = run_cli("history", model, env=env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.count("(evaluation)") == 4 and "RecordRevoked (evaluation)" in text.stdout


def test_exports_of_a_model_and_of_its_evaluation(evaluated, tmp_path):
    world, env = evaluated
    model = hex32(world.model.subject)
    card = run_cli("export", model, "--format", "hf-card", env=env)
    assert card.returncode == 0, card.stderr
    (entry,) = yaml.safe_load(card.stdout)["model-index"]
    # the records' uris are no http(s) addresses: the metric's name says whose result it is
    shown = {(r["metrics"][0]["value"], r["metrics"][0]["name"].split(" (")[1]) for r in entry["results"]}
    # the local store's evaluation records of these weights (the one of other weights is left out, said so)
    assert (0.83, "Acme Safety Lab") in shown and (0.61, "Acme Safety Lab") in shown
    assert (0.99, "Totally Independent") in shown and (0.5, "Acme Safety Lab") not in shown
    assert "not of this model's weights" in card.stdout

    spdx = run_cli("export", model, "--format", "spdx", env=env)
    assert spdx.returncode == 0, spdx.stderr
    (package,) = [e for e in json.loads(spdx.stdout)["@graph"] if e.get("spdxId", "").endswith(
        f"{world.model.subject.hex()}/artifact")]
    assert any(hex32(world.lab_eval.record_id) in e["key"] and e["value"] == "0.83" for e in package["ai_metric"])

    done = run_cli("export", hex32(world.lab_eval.subject), "--format", "in-toto-test-result", env=env)
    assert done.returncode == 0, done.stderr
    attestation = json.loads(done.stdout)
    assert attestation["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    assert attestation["subject"][0]["name"] == model
    assert [m["value"] for m in attestation["predicate"]["metrics"]] == [0.83, 0.61]
    refused = run_cli("export", model, "--format", "in-toto-test-result", env=env)
    assert refused.returncode != 0 and "not an evaluation" in refused.stderr

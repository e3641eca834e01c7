"""Evaluations in the CLI's history and in the exports (issue 16, "everywhere the other evidence is")."""

from __future__ import annotations

import json

import pytest

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

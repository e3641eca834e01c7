"""GET /v1/evaluations and evaluation history events, in-process (TestClient) over anvil (issue 16)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.record import hex32
from tests.api_helpers import catch_up, settings_for
from tests.evaluation_world import evaluated_model
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def evaluated(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    home = tmp_path_factory.mktemp("evaluations")
    world = evaluated_model(ledger, account_factory(ledger), home / "home")
    policy = home / "policy.json"
    policy.write_text(json.dumps({"trusted_evaluators": [world.lab.address]}))
    app = create_app(settings_for(ledger, home / "index.sqlite", policy_path=policy), start_indexer=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        catch_up(app)
        for statement in world.statements:
            if statement is not world.stranger_eval:  # one evaluation the service holds no Statement of
                app.state.service.index.add_statement(statement)
        yield world, client


def test_evaluations_by_model_with_trust_and_disclosure(evaluated):
    world, client = evaluated
    model = hex32(world.model.subject)
    body = client.get("/v1/evaluations", params={"model": model}).json()
    items = body["items"]
    assert body["nextCursor"] is None and body["index"]["syncedTo"] is not None
    by_record: dict[str, list[dict]] = {}
    for item in items:
        by_record.setdefault(item["recordId"], []).append(item)
    # the lab's evaluation of other weights names the model as a benchmark: not an evaluation of it
    assert set(by_record) == {hex32(s.record_id) for s in (world.lab_eval, world.stranger_eval, world.revoked_eval)}
    lab = by_record[hex32(world.lab_eval.record_id)]
    assert [(i["task"], i["metric"], i["value"], i["stderr"], i["split"], i["nShot"]) for i in lab] == [
        ("toxigen", "acc", 0.83, 0.012, "test", 0), ("mmlu", "acc", 0.61, 0.004, "test", 5)]
    first = lab[0]
    assert first["evaluator"] == world.lab.address and first["evaluatorName"] == "Acme Safety Lab"
    assert first["trusted"] is True and first["disclosed"] is True and first["undisclosed"] is None
    assert first["model"] == {"subject": model, "record": hex32(world.model.record_id)}
    assert first["category"] == "safety" and first["date"] == "2026-11-30"
    assert first["harness"] == {"name": "lm-evaluation-harness", "version": "0.4.5"}
    assert first["revoked"] is False and first["blockTime"] and first["txHash"].startswith("0x")
    # no Statement held: listed once, saying so
    (unheld,) = by_record[hex32(world.stranger_eval.record_id)]
    assert unheld["disclosed"] is False and "holds no Statement" in unheld["undisclosed"]
    assert unheld["task"] is None and unheld["value"] is None and unheld["trusted"] is False
    (revoked,) = by_record[hex32(world.revoked_eval.record_id)]
    assert revoked["revoked"] is True and revoked["revocationReason"] == "mistake" and revoked["value"] == 0.97
    blocks = [i["blockNumber"] for i in items]
    assert blocks == sorted(blocks, reverse=True)


def test_evaluations_by_evaluator_and_task(evaluated):
    world, client = evaluated
    lab = client.get("/v1/evaluations", params={"evaluator": world.lab.address.lower()}).json()["items"]
    assert {i["recordId"] for i in lab} == {hex32(world.lab_eval.record_id), hex32(world.other_eval.record_id)}
    toxigen = client.get("/v1/evaluations", params={"task": "ToxiGen"}).json()["items"]
    assert {(i["evaluator"], i["value"]) for i in toxigen} == {
        (world.lab.address, 0.83), (world.stranger.address, 0.97), (world.lab.address, 0.5)}
    both = client.get("/v1/evaluations", params={"task": "mmlu", "model": hex32(world.model.subject),
                                                 "evaluator": world.lab.address}).json()["items"]
    assert [(i["task"], i["value"]) for i in both] == [("mmlu", 0.61)]
    assert client.get("/v1/evaluations", params={"evaluator": world.acme.address}).json()["items"] == []
    record = client.get(f"/v1/records/{hex32(world.lab_eval.record_id)}").json()["record"]
    assert record["kind"] == "evaluation"  # not "other"


def test_evaluations_pagination_by_cursor(evaluated):
    _, client = evaluated
    everything = client.get("/v1/evaluations").json()["items"]
    assert len(everything) == 5  # lab 2 results, other weights 1, revoked 1, not held 1
    seen, cursor = [], None
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = client.get("/v1/evaluations", params=params).json()
        seen += [(i["recordId"], i["task"]) for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [(i["recordId"], i["task"]) for i in everything]
    for bad in ({"cursor": "zz"}, {"limit": 0}, {"model": "0x12"}, {"evaluator": "0x12"}):
        answer = client.get("/v1/evaluations", params=bad)
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"


def test_history_of_a_model_shows_its_evaluations(evaluated):
    world, client = evaluated
    items = client.get(f"/v1/history/{hex32(world.model.subject)}").json()["items"]
    evaluations = [i for i in items if i["details"].get("evaluationOf")]
    assert {(i["event"], i["recordId"]) for i in evaluations} == {
        ("RecordRegistered", hex32(world.lab_eval.record_id)),
        ("RecordRegistered", hex32(world.stranger_eval.record_id)),
        ("RecordRegistered", hex32(world.revoked_eval.record_id)),
        ("RecordRevoked", hex32(world.revoked_eval.record_id)),
    }
    assert all(i["details"]["evaluationOf"] == hex32(world.model.subject) for i in evaluations)
    own = [i for i in items if not i["details"].get("evaluationOf")]
    assert [i["recordId"] for i in own] == [hex32(world.model.record_id)]


def test_verdict_and_openapi_carry_the_evaluations_check(evaluated):
    world, client = evaluated
    schema = client.get("/openapi.json").json()
    assert "/v1/evaluations" in schema["paths"]
    check = schema["components"]["schemas"]["CheckOut"]["properties"]
    assert "evaluations" in check["check"]["enum"]
    assert {"EVAL_MISSING", "EVAL_BELOW_THRESHOLD"} <= set(check["code"]["enum"])
    item = schema["components"]["schemas"]["EvaluationOut"]["properties"]
    assert {"recordId", "evaluator", "trusted", "task", "metric", "value", "stderr", "revoked"} <= set(item)

    answer = client.get(f"/v1/verify/{hex32(world.model.subject)}")
    assert answer.status_code == 200, answer.text
    lines = [c for c in answer.json()["checks"] if c["check"] == "evaluations"]
    shown = {(c["evidence"]["evaluator"], c["evidence"]["trusted"]) for c in lines if "results" in c["evidence"]}
    assert (world.lab.address, True) in shown  # the service's policy trusts the lab

"""Verification and Statements over HTTP, against a real anvil registry and the real app."""

from __future__ import annotations

import json

import jsonschema
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.claims import Claims
from provenance.manifest import Manifest
from provenance.publish import Publisher, prepare
from provenance.store import Store
from provenance.verdict import verdict_schema
from tests.api_helpers import catch_up, settings_for
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain

DATASET = {
    "kind": "dataset",
    "name": "acme/chats",
    "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": False},
    "privacy": {"personal_data": "absent"},
    "disclose": ["copyright", "privacy"],
}


@pytest.fixture(scope="module")
def published(anvil_url, tmp_path_factory):
    """A dataset registered directly and a model trained on it in a batch; the app's index synced."""
    ledger = fresh_registry(anvil_url)
    account = account_factory(ledger)()
    root = tmp_path_factory.mktemp("published")
    (root / "data").mkdir()
    (root / "data" / "rows.csv").write_text("a,b\n1,2\n")
    (root / "data" / "README.md").write_text("a dataset card")
    (root / "model").mkdir()
    (root / "model" / "weights.bin").write_bytes(b"\x01" * 64)
    store = Store.open(root / "home")
    publisher = Publisher(store, ledger, account)
    data_manifest = Manifest.from_path(root / "data")
    dataset = publisher.register(prepare(
        account=account, domain=ledger.domain, claims=Claims.from_mapping(DATASET), manifest=data_manifest,
    ))
    model_claims = Claims.from_mapping({
        "kind": "model", "copyright": {"license": "Apache-2.0", "commercial_use": True},
        "privacy": {"personal_data": "absent"},
        "lineage": {"trained_on": ["0x" + dataset.subject.hex()]},
        "disclose": ["copyright", "privacy", "lineage"],
    })
    publisher.queue([prepare(account=account, domain=ledger.domain, claims=model_claims,
                             manifest=Manifest.from_path(root / "model"))])
    model = publisher.anchor().statements[0]
    app = create_app(settings_for(ledger, root / "index.sqlite", upload_limit=100_000), start_indexer=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        catch_up(app)
        yield ledger, client, dataset, model, root


def _codes(verdict: dict) -> set[str]:
    return {c["code"] for c in verdict["checks"]}


def test_verify_by_subject_follows_the_lineage(published):
    _, client, dataset, model, _ = published
    # the batched model is unknown to the service until its Statement is posted
    response = client.get(f"/v1/verify/0x{model.subject.hex()}")
    assert response.status_code == 200
    assert response.json()["overall"] == "fail" and "NOT_REGISTERED" in _codes(response.json())

    posted = client.post("/v1/statements", json=model.to_json())
    assert posted.status_code == 201, posted.text
    assert posted.json()["recordId"] == "0x" + model.record_id.hex()

    verdict = client.get(f"/v1/verify/0x{model.subject.hex()}").json()
    jsonschema.validate(verdict, verdict_schema())
    # the dataset (registered directly, no Statement posted) has no disclosed claims for the service
    assert verdict["recordId"] == "0x" + model.record_id.hex()
    client.post("/v1/statements", json=dataset.to_json())
    verdict = client.get(f"/v1/verify/0x{model.subject.hex()}").json()
    assert "USE_NOT_PERMITTED" in _codes(verdict) and verdict["overall"] == "fail"
    research = client.get(f"/v1/verify/0x{model.subject.hex()}", params={"use": "research"}).json()
    assert "USE_NOT_PERMITTED" not in _codes(research)
    assert "LICENSE_CONFLICT" in _codes(research)  # commercial_use true over a non-commercial dataset


def test_verify_a_statement_and_refuse_a_forged_one(published):
    _, client, dataset, _, _ = published
    good = client.post("/v1/verify/statement", json=dataset.to_json())
    assert good.status_code == 200 and "BAD_SIGNATURE" not in _codes(good.json())
    forged = dataset.to_json()
    forged["predicate"]["signature"] = "0x" + "11" * 65
    answer = client.post("/v1/verify/statement", json=forged).json()
    assert "BAD_SIGNATURE" in _codes(answer) and answer["overall"] == "fail"
    refused = client.post("/v1/statements", json=forged)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert any(c["code"] == "BAD_SIGNATURE" for c in refused.json()["checks"])
    not_ours = client.post("/v1/statements", json={"_type": "something else"})
    assert not_ours.status_code == 422 and "in-toto" in not_ours.json()["detail"]


def test_a_statement_for_another_chain_or_registry_is_refused(published):
    ledger, client, dataset, _, _ = published
    for key, value in (("chainId", ledger.chain_id + 1), ("registry", "0x" + "33" * 20)):
        other = dataset.to_json()
        other["predicate"]["chain"][key] = value  # the record id does not depend on the chain: only this says it
        refused = client.post("/v1/statements", json=other)
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body["type"].endswith("/other-registry")
        assert f"this service follows registry {ledger.registry} on chain {ledger.chain_id}" in body["detail"]
        verdict = client.post("/v1/verify/statement", json=other).json()
        assert verdict["overall"] == "fail" and "BAD_SIGNATURE" in _codes(verdict)


def test_verify_an_uploaded_file_finds_its_artifact(published):
    _, client, dataset, _, root = published
    client.post("/v1/statements", json=dataset.to_json())
    content = (root / "data" / "rows.csv").read_bytes()
    verdict = client.post("/v1/verify/file", files={"file": ("rows.csv", content)})
    assert verdict.status_code == 200, verdict.text
    body = verdict.json()
    integrity = [c for c in body["checks"] if c["check"] == "integrity"][0]
    assert integrity["code"] == "OK" and integrity["evidence"]["path"] == "rows.csv"
    assert body["subject"] == "0x" + dataset.subject.hex()
    unknown = client.post("/v1/verify/file", files={"file": ("x.bin", b"not registered")})
    assert unknown.status_code == 404
    too_big = client.post("/v1/verify/file", files={"file": ("big.bin", b"\0" * 200_000)})
    assert too_big.status_code == 413


def test_bad_subject_is_a_problem(published):
    _, client, *_ = published
    response = client.get("/v1/verify/0x1234")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert json.loads(response.text)["status"] == 422


def test_a_copy_disclosing_less_does_not_hide_fields_from_the_service(published):
    _, client, dataset, _, _ = published
    assert client.post("/v1/statements", json=dataset.to_json()).status_code == 201
    fewer = dataset.to_json()
    fewer["predicate"]["disclosures"] = [
        d for d in fewer["predicate"]["disclosures"] if not d["field"].startswith("copyright.")
    ]
    assert client.post("/v1/statements", json=fewer).status_code == 201
    index = client.app.state.service.index
    kept = {d["field"] for d in index.statement(dataset.record_id).disclosures}
    assert "copyright.license" in kept and "privacy.personal_data" in kept

"""The service's trust policy (``serve --policy``) and a caller's own (``POST /v1/verify``), over anvil."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cli.main import main
from provenance.errors import PolicyError
from tests.api_helpers import PROBLEM, catch_up, populate, settings_for
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    """The API scenario on a fresh registry, and a policy file trusting its publisher."""
    ledger = fresh_registry(anvil_url)
    scenario = populate(ledger, account_factory(ledger))
    root = tmp_path_factory.mktemp("policy")
    trusting = root / "trusting.yaml"
    trusting.write_text(f"trusted_publishers: [{scenario.publisher.address}]\n")
    return ledger, scenario, root, trusting


def _client(world, path, **overrides):
    ledger, scenario, _, _ = world
    app = create_app(settings_for(ledger, path, **overrides), start_indexer=False)
    for statement in scenario.statements:  # authenticity is judged from a publisher's Statement
        app.state.service.index.add_statement(statement)
    return app, TestClient(app, raise_server_exceptions=False)


def _subject(scenario) -> str:
    """The publisher's batched dataset, whose Statement the service holds."""
    return "0x" + scenario.batched_subjects[0].hex()


def _authenticity(verdict: dict) -> dict:
    return next(c for c in verdict["checks"] if c["check"] == "authenticity")


@pytest.fixture(scope="module")
def default_client(world):
    ledger, _, root, _ = world
    app, client = _client(world, root / "default.sqlite")
    with client:
        catch_up(app)
        yield client


def test_the_default_policy_trusts_no_publisher(world, default_client):
    _, scenario, _, _ = world
    verdict = default_client.get(f"/v1/verify/{_subject(scenario)}").json()
    check = _authenticity(verdict)
    assert check["code"] == "UNTRUSTED_PUBLISHER" and check["status"] == "warn"


def test_the_service_policy_trusts_its_publishers(world):
    ledger, scenario, root, trusting = world
    app, client = _client(world, root / "served.sqlite", policy_path=trusting)
    with client:
        catch_up(app)
        subject = f"/v1/verify/{_subject(scenario)}"
        assert _authenticity(client.get(subject).json())["status"] == "pass"
        # the use still overrides the service policy's intended use, and is part of the remembered verdict
        research = client.get(subject, params={"use": "research"}).json()
        assert _authenticity(research)["status"] == "pass"
        assert _authenticity(client.get(subject).json())["status"] == "pass"
        for statement in scenario.statements:  # the Statement route judges under the same policy
            if statement.publisher == scenario.publisher.address:
                verdict = client.post("/v1/verify/statement", json=statement.to_json()).json()
                assert _authenticity(verdict)["status"] == "pass", verdict


def test_a_bad_policy_file_stops_the_settings(world):
    ledger, _, root, _ = world
    bad = root / "bad.yaml"
    bad.write_text("use: personal\n")
    with pytest.raises(PolicyError, match="use"):
        settings_for(ledger, root / "x.sqlite", policy_path=bad)
    with pytest.raises(PolicyError, match="missing.yaml"):
        settings_for(ledger, root / "x.sqlite", policy_path=root / "missing.yaml")


def test_settings_carry_the_policy_path_to_the_workers(world):
    ledger, _, root, trusting = world
    settings = settings_for(ledger, root / "x.sqlite", policy_path=trusting)
    again = type(settings).from_json(settings.to_json())
    assert again == settings and again.policy == settings.policy
    assert again.policy.trusted_publishers


def test_post_verify_uses_the_callers_policy(world, default_client):
    _, scenario, _, _ = world
    subject = _subject(scenario)
    trusting = {"trusted_publishers": [scenario.publisher.address]}
    answer = default_client.post("/v1/verify", json={"subject": subject, "policy": trusting})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert _authenticity(answer.json())["status"] == "pass"
    # not remembered across policies, nor for the server's default
    assert _authenticity(default_client.get(f"/v1/verify/{subject}").json())["status"] == "warn"
    empty = default_client.post("/v1/verify", json={"subject": subject, "policy": {}}).json()
    assert _authenticity(empty)["code"] == "UNTRUSTED_PUBLISHER"
    other = {"trusted_publishers": [scenario.other.address]}
    refused = default_client.post("/v1/verify", json={"subject": subject, "policy": other}).json()
    assert _authenticity(refused)["status"] == "fail"  # trusted publishers listed: anyone else fails
    again = default_client.post("/v1/verify", json={"subject": subject, "policy": trusting}).json()
    assert _authenticity(again)["status"] == "pass"
    strict = default_client.post(
        "/v1/verify", json={"subject": subject, "policy": {}, "use": "research", "strict": True}
    ).json()
    assert strict["strict"] is True and strict["exitCode"] == (0 if strict["overall"] == "pass" else 1)
    # the same verdict as the GET route under the same (default) policy
    same = default_client.get(f"/v1/verify/{subject}", params={"use": "research", "strict": True}).json()
    assert same == strict


def test_post_verify_refuses_a_malformed_policy_or_request(world, default_client):
    _, scenario, _, _ = world
    subject = _subject(scenario)
    bad = default_client.post("/v1/verify", json={"subject": subject, "policy": {"require": {"endorsement": True}}})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    assert bad.json()["type"].endswith("/invalid-policy") and "require.endorsement" in bad.json()["detail"]
    wrong = default_client.post("/v1/verify", json={"subject": subject, "policy": {"trusted_publishers": ["0x12"]}})
    assert wrong.status_code == 422 and "trusted_publishers[0]" in wrong.json()["detail"]
    for body in ({"subject": "0x12", "policy": {}}, {"subject": subject}, {"subject": subject, "policy": []},
                 {"subject": subject, "policy": {}, "use": "personal"}, {"subject": subject, "policy": {}, "x": 1}):
        refused = default_client.post("/v1/verify", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["type"].endswith("/invalid-request")
    deep = default_client.post("/v1/verify", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert deep.status_code == 422
    not_json = default_client.post("/v1/verify", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and not_json.headers["content-type"].startswith(PROBLEM)


def test_post_verify_is_bounded_by_the_json_limit(world):
    ledger, scenario, root, _ = world
    app, client = _client(world, root / "bounded.sqlite", json_limit=1000)
    with client:
        body = {"subject": _subject(scenario), "policy": {"trusted_auditors": ["0x" + "11" * 20] * 40}}
        assert client.post("/v1/verify", content=json.dumps(body)).status_code == 413


def test_the_openapi_document_lists_post_verify(default_client):
    document = default_client.get("/openapi.json").json()
    operation = document["paths"]["/v1/verify"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"subject", "policy"}
    assert "trusted_publishers" in schema["properties"]["policy"]["properties"]


def test_serve_refuses_a_missing_policy_file(tmp_path, capsys):
    missing = tmp_path / "missing.yaml"
    code = main(["--rpc-url", "http://127.0.0.1:1", "--registry", "0x" + "22" * 20,
                 "--home", str(tmp_path / "home"), "serve", "--policy", str(missing)])
    assert code == 2
    assert "missing.yaml" in capsys.readouterr().err

"""One request cannot hold the service: bounded bodies, Statements, manifests and concurrent verifications;
hostile input answered with a problem, never a 500; verdict work that stops where the Statement fails."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import time
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.claims import Claims
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.publish import Publisher, prepare
from provenance.record import Kind, Record
from provenance.signing import sign_record
from provenance.statement import Statement
from provenance.store import Store
from provenance.verdict import CheckName, Code, Status
from tests.api_helpers import catch_up, settings_for
from tests.helpers import account_factory, fresh_registry, run_cli

pytestmark = pytest.mark.chain

PROBLEM = "application/problem+json"
STATEMENT_ROUTES = ("/v1/verify/statement", "/v1/statements")
RULES = ("copyright", "privacy", "lineage", "endorsements")

DATASET = {
    "kind": "dataset",
    "name": "acme/rows",
    "copyright": {"license": "CC-BY-4.0"},
    "privacy": {"personal_data": "absent"},
    "disclose": ["copyright", "privacy"],
}


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    """A dataset registered directly, its Statement, and a factory of apps over the registry."""
    ledger = fresh_registry(anvil_url)
    account = account_factory(ledger)()
    root = tmp_path_factory.mktemp("bounds")
    (root / "data").mkdir()
    (root / "data" / "rows.csv").write_text("a,b\n1,2\n")
    publisher = Publisher(Store.open(root / "home"), ledger, account)
    dataset = publisher.register(prepare(
        account=account, domain=ledger.domain, claims=Claims.from_mapping(DATASET),
        manifest=Manifest.from_path(root / "data"),
    ))
    made = iter(range(1_000))

    @contextmanager
    def app_with(**overrides):
        app = create_app(settings_for(ledger, root / f"index-{next(made)}.sqlite", **overrides), start_indexer=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            catch_up(app)
            yield client

    return ledger, account, dataset, root, app_with


@pytest.fixture(scope="module")
def client(world):
    """An app with the default limits."""
    with world[4]() as client:
        yield client


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


def _post_text(client, path: str, document: dict):
    """The JSON as bytes (``\\ud800`` escapes survive; httpx's ``json=`` would refuse them)."""
    return client.post(path, content=json.dumps(document).encode(), headers={"content-type": "application/json"})


def test_a_14_mb_statement_with_200000_parents_is_refused_at_once(world, client):
    _, _, dataset, _, _ = world
    document = dataset.to_json()
    document["predicate"]["record"]["parents"] = ["0x" + os.urandom(32).hex() for _ in range(200_000)]
    body = json.dumps(document).encode()
    assert 13_000_000 < len(body) < 16 << 20  # under the JSON limit: the Statement's bound refuses it
    for path in STATEMENT_ROUTES:
        started = time.perf_counter()
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        elapsed = time.perf_counter() - started
        problem = _problem(response, 422, "invalid-statement")
        assert "predicate.record.parents lists 200000 parents; a record has at most 64" in problem["detail"]
        assert elapsed < 1.0, f"{path} took {elapsed:.2f} s"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p["record"].update(uri=7), "predicate.record.uri must be a string, got int"),
        (lambda p: p["record"].update(uri={"u": 1}), "predicate.record.uri must be a string, got dict"),
        (lambda p: p["record"].update(uri="ipfs://\ud800"), "the request body is not JSON ("),
        (lambda p: p.update(publisher="0x\udcff"), "the request body is not JSON ("),
        (lambda p: p["record"].update(uri="x" * 513), "predicate.record.uri is 513 bytes"),
        (lambda p: p["chain"].update(chainId=-1), "chainId must be an integer from 0 to 2^256-1, got -1"),
        (lambda p: p["chain"].update(chainId=2**256), "chainId must be an integer from 0 to 2^256-1"),
        (lambda p: p["manifest"]["files"][0].update(size=2**256), "size must be an integer from 0 to 2^256-1"),
        (lambda p: p["manifest"]["files"][0].update(path="../etc/passwd"), "not a normalized relative POSIX path"),
        (lambda p: p["manifest"].update(files="rows.csv"), "predicate.manifest needs a 'files' list"),
    ],
)
def test_a_malformed_statement_is_a_422_on_both_routes_not_a_verdict(world, client, mutate, message):
    _, _, dataset, _, _ = world
    document = copy.deepcopy(dataset.to_json())  # to_json shares the Statement's manifest
    del document["predicate"]["recordId"]  # a changed record must be refused for what is wrong with it
    mutate(document["predicate"])
    for path in STATEMENT_ROUTES:
        problem = _problem(_post_text(client, path, document), 422, "invalid-statement")
        assert message in problem["detail"]


def test_json_nested_a_million_levels_deep_is_a_422_not_a_crash(world, client, request):
    import sys

    # the limit py_ecc (eth-account) sets on import, which the library puts back (provenance._imports):
    # with it the standard library's parser would overflow the C stack; the service's must not care
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(100_000, limit))
    request.addfinalizer(lambda: sys.setrecursionlimit(limit))
    _, _, dataset, _, _ = world
    deep = b'{"_type": "https://in-toto.io/Statement/v1", "x": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
    for path in STATEMENT_ROUTES:
        response = client.post(path, content=deep, headers={"content-type": "application/json"})
        problem = _problem(response, 422, "invalid-statement")
        assert "the request body is not JSON (recursion limit exceeded" in problem["detail"]
    assert client.post("/v1/verify/statement", json=dataset.to_json()).status_code == 200  # still serving


def test_provenance_verify_of_a_deeply_nested_statement_exits_2(world, tmp_path):
    ledger, *_ = world
    env = {"PROVENANCE_HOME": str(tmp_path / "home"), "PROVENANCE_RPC_URL": ledger.rpc_url,
           "PROVENANCE_REGISTRY": ledger.registry}
    hostile = tmp_path / "model.provenance.json"
    hostile.write_text('{"_type": "https://in-toto.io/Statement/v1", "x": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}")
    done = run_cli("verify", str(hostile), env=env)
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    assert "is not JSON (recursion limit exceeded" in done.stderr and "Traceback" not in done.stderr


def test_manifest_entries_json_bodies_and_uploads_have_their_own_limits(world):
    _, _, dataset, root, app_with = world
    with app_with(json_limit=60_000, upload_limit=200_000, manifest_limit=2) as client:
        document = copy.deepcopy(dataset.to_json())  # to_json shares the Statement's manifest
        entry = document["predicate"]["manifest"]["files"][0]
        document["predicate"]["manifest"]["files"] = [entry] * 3
        for path in STATEMENT_ROUTES:
            problem = _problem(client.post(path, json=document), 413, "manifest-too-large")
            assert problem["limit"] == 2 and "lists 3 files" in problem["detail"]
            big = _problem(client.post(path, content=b"{" + b" " * 70_000 + b"}",
                                       headers={"content-type": "application/json"}), 413, "body-too-large")
            assert big["limit"] == 60_000

            def chunks():  # no Content-Length: refused while it streams in
                for _ in range(70):
                    yield b" " * 1_000

            streamed = client.post(path, content=chunks(), headers={"content-type": "application/json"})
            assert _problem(streamed, 413, "body-too-large")["limit"] == 60_000
        # the upload route takes files up to the upload limit, above the JSON one
        upload = client.post("/v1/verify/file", files={"file": ("big.bin", b"\1" * 100_000)})
        assert upload.status_code == 404, upload.text  # read and looked up: no artifact holds it
        too_big = client.post("/v1/verify/file", files={"file": ("big.bin", b"\1" * 250_000)})
        assert _problem(too_big, 413, "body-too-large")["limit"] == 200_000
        assert len(json.dumps(dataset.to_json())) < 60_000
        assert client.post("/v1/verify/statement", json=dataset.to_json()).status_code == 200


@pytest.mark.parametrize("name", [".", "..", "../..", "/", "x" * 300])
def test_an_upload_named_dot_or_dotdot_is_verified_not_a_500(world, client, name):
    _, _, dataset, root, _ = world
    assert client.post("/v1/statements", json=dataset.to_json()).status_code == 201
    content = (root / "data" / "rows.csv").read_bytes()
    response = client.post("/v1/verify/file", files={"file": (name, content)})
    assert response.status_code == 200, response.text
    integrity = next(c for c in response.json()["checks"] if c["check"] == "integrity")
    assert integrity["code"] == "OK" and integrity["evidence"]["path"] == "rows.csv"
    assert integrity["message"].startswith("upload is rows.csv")


def test_verifications_beyond_the_workers_limit_are_503_with_retry_after(world):
    _, _, dataset, _, app_with = world
    with app_with(max_verifications=1, verification_wait=0.2, retry_after=3) as client:
        service = client.app.state.service
        subject = "0x" + dataset.subject.hex()
        with service.verification() as granted:  # the one slot, taken as a running verification would
            assert granted
            for response in (
                client.post("/v1/verify/statement", json=dataset.to_json()),
                client.post("/v1/statements", json=dataset.to_json()),
                client.get(f"/v1/verify/{subject}"),
                client.post("/v1/verify/file", files={"file": ("rows.csv", b"a,b\n1,2\n")}),
            ):
                problem = _problem(response, 503, "too-busy")
                assert response.headers["retry-after"] == "3" and "1 verifications" in problem["detail"]
        assert client.post("/v1/verify/statement", json=dataset.to_json()).status_code == 200
        assert client.get(f"/v1/verify/{subject}").status_code == 200


def test_a_forged_statement_is_not_walked_its_rules_say_why(world, client):
    ledger, _, dataset, _, _ = world
    forged = dataset.to_json()
    forged["predicate"]["signature"] = "0x" + "11" * 65
    verdict = client.post("/v1/verify/statement", json=forged).json()
    by_check = {c["check"]: c for c in verdict["checks"]}
    assert by_check["authenticity"]["code"] == "BAD_SIGNATURE" and verdict["overall"] == "fail"
    for rule in RULES:
        assert by_check[rule]["status"] == "unverifiable", by_check[rule]
        assert by_check[rule]["message"].startswith("not evaluated: authenticity failed")
        assert by_check[rule]["evidence"]["notEvaluatedBecause"] == "authenticity"


class CountingSource:
    """A Statement source that counts the subjects the verifier looks up."""

    def __init__(self) -> None:
        self.asked: list[bytes] = []

    def statements_for(self, subject: bytes) -> list[Statement]:
        self.asked.append(subject)
        return []

    def files(self, sha256_hex: str) -> list[tuple[str, str]]:
        return []


def _with_parents(ledger, account, parents: list[bytes], signature: bytes | None = None) -> Statement:
    record = Record.create(os.urandom(32), Kind.MODEL, b"\x02" * 32, parents, "")
    return Statement.create(
        name="many-parents", record=record, publisher=account.address,
        signature=signature or sign_record(account, record, ledger.domain),
        chain_id=ledger.chain_id, registry=ledger.registry,
    )


def test_unknown_parents_count_toward_the_lineage_bound_and_a_failed_gate_walks_none(world, client, monkeypatch):
    from provenance import verifier as verifier_module

    ledger, account, _, _, _ = world
    index = client.app.state.service.index
    parents = [os.urandom(32) for _ in range(64)]
    monkeypatch.setattr(verifier_module, "MAX_LINEAGE", 10)

    source = CountingSource()
    signed = _with_parents(ledger, account, parents)
    verdict = verifier_module.Verifier(ledger, index, Policy.default(), [source], sync=False) \
        .verify_statement(signed)
    assert not any(c.check in (CheckName.AUTHENTICITY, CheckName.ANCHORING) and c.status is Status.FAIL
                   for c in verdict.checks), verdict.to_table()
    # the root (other records of its subject are sought: a Statement in hand decides nothing alone) and 9 of
    # its 64 unknown parents: 10 reached, each unknown parent counted
    assert source.asked[0] == signed.subject
    assert len(source.asked) == 10 and set(source.asked[1:]) <= set(parents)
    assert any(c.code is Code.PARENT_UNKNOWN for c in verdict.checks)

    source = CountingSource()
    forged = _with_parents(ledger, account, parents, signature=b"\x11" * 65)
    verdict = verifier_module.Verifier(ledger, index, Policy.default(), [source], sync=False) \
        .verify_statement(forged)
    # other records of its subject are sought, but not one parent of a Statement whose signature fails
    assert source.asked == [forged.subject]
    rules = [c for c in verdict.checks if c.check.value in RULES]
    assert [c.check.value for c in rules] == list(RULES)
    assert all(c.status is Status.UNVERIFIABLE and c.code is Code.BAD_SIGNATURE for c in rules)


def test_large_lineages_and_publishers_are_built_off_the_event_loop(world, monkeypatch):
    """A lineage of fewer than ON_LOOP_NODES nodes is walked on the event loop (a few index reads); a larger one
    is walked that far there, then whole in the thread pool, and answers the same graph as a walk of it whole."""
    import api.routes.lineage as lineage_route

    ledger, account, dataset, _, app_with = world
    parents = [os.urandom(32) for _ in range(lineage_route.ON_LOOP_NODES + 3)]
    wide = Record.create(os.urandom(32), Kind.MODEL, b"\x02" * 32, parents, "")
    ledger.register(account, wide)
    walks: list[tuple[str, int, bool]] = []  # (root, max_nodes, on the event loop)

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    real_walk = lineage_route._walk

    def spy_walk(index, root, depth, max_nodes):
        walks.append((root, max_nodes, on_loop()))
        return real_walk(index, root, depth, max_nodes)

    monkeypatch.setattr(lineage_route, "_walk", spy_walk)
    with app_with() as client:
        index = client.app.state.service.index
        publishers = index.publishers
        built_on_loop: list[bool] = []

        def spy_publishers():
            built_on_loop.append(on_loop())
            return publishers()

        monkeypatch.setattr(index, "publishers", spy_publishers)
        small, large = f"0x{dataset.subject.hex()}", f"0x{wide.subject.hex()}"
        assert client.get(f"/v1/lineage/{small}").status_code == 200
        answer = client.get(f"/v1/lineage/{large}")
        assert answer.status_code == 200, answer.text
        assert client.get(f"/v1/lineage/{large}").content == answer.content  # remembered: not walked again
        assert client.get("/v1/publishers").status_code == 200
        assert client.get("/v1/publishers").status_code == 200  # remembered: not built again
        whole = lineage_route._graph(real_walk(index, large, 16, lineage_route.MAX_NODES))
    assert walks == [(small, lineage_route.ON_LOOP_NODES, True), (large, lineage_route.ON_LOOP_NODES, True),
                     (large, lineage_route.MAX_NODES, False)]
    assert built_on_loop == [False]
    body = answer.json()
    assert whole is not None and body["truncated"] is False and len(body["nodes"]) == len(parents) + 1
    assert [n["subject"] for n in body["nodes"]] == [n.subject for n in whole[0]]


def test_provenance_verify_of_a_deep_tree_exits_2_with_a_message(world, tmp_path):
    from tests.helpers import deep_tree, remove_deep_tree

    ledger, *_ = world
    env = {"PROVENANCE_HOME": str(tmp_path / "home"), "PROVENANCE_RPC_URL": ledger.rpc_url,
           "PROVENANCE_REGISTRY": ledger.registry}
    deep_tree(tmp_path / "deep", 1_000)
    try:
        done = run_cli("verify", str(tmp_path / "deep"), env=env)
    finally:
        remove_deep_tree(tmp_path / "deep")
    assert done.returncode == 2, done.stderr
    assert "directories nested more than 256 levels deep" in done.stderr and "Traceback" not in done.stderr

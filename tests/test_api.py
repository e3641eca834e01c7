"""The verifier service in-process (FastAPI TestClient) over a real anvil node and registry.

:func:`populate` builds one scenario on the chain that the other API test
modules reuse: direct records with parents (and a lineage cycle), a
supersession, an endorsement, a dispute, a revocation, a batch with one record
proven on chain, and Statements (with manifests) stored in the index.
"""

from __future__ import annotations

import time

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import HEAD_FRESH
from api.settings import ServiceSettings
from provenance.index import Index
from provenance.record import Kind, Record
from provenance.statement import Statement
from tests.api_helpers import (
    PROBLEM,
    _hex,
    _sha,
    _statement,
    catch_up,
    manifest_of,
    populate,
    settings_for,
    verdict_computed,
)
from tests.helpers import account_factory, free_port, fresh_registry, start_anvil

pytestmark = pytest.mark.chain

@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    """One registry with the scenario, and an app over a synced index (module scope: the chain work is slow)."""
    ledger = fresh_registry(anvil_url)
    scenario = populate(ledger, account_factory(ledger))
    path = tmp_path_factory.mktemp("api") / "index.sqlite"
    app = create_app(settings_for(ledger, path, upload_limit=1000), start_indexer=False)
    for statement in scenario.statements:
        app.state.service.index.add_statement(statement)
    with TestClient(app, raise_server_exceptions=False) as client:
        catch_up(app)
        yield ledger, scenario, client


def _problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status and body["instance"] == response.request.url.path
    if slug is not None:
        assert body["type"].endswith("/" + slug), body["type"]
    return body


# ---------------------------------------------------------------- index-backed answers


def test_artifact_lists_records_with_status_and_lag(world):
    ledger, s, client = world
    body = client.get(f"/v1/artifacts/{_hex(s.base).upper().replace('0X', '0x')}").json()
    assert body["subject"] == _hex(s.base)
    old, new = body["records"]
    assert (old["recordId"], new["recordId"]) == (_hex(s.base_old_id), _hex(s.base_new_id))
    assert old["successor"] == _hex(s.base_new_id) and old["revoked"] is False
    assert new["disputes"] == 1 and new["endorsements"] == 0
    assert new["kind"] == "model" and new["parents"] == [_hex(s.dataset)] and new["uri"] == "ipfs://base-v2"
    assert new["publisher"] == s.publisher.address and new["txHash"].startswith("0x") and new["blockTime"] > 0
    index = body["index"]
    assert index["lag"] == 0 and index["chainReachable"] is True and index["syncedTo"] == ledger.block_number()
    assert index["registry"] == ledger.registry and index["chainId"] == ledger.chain_id

    cycle = client.get(f"/v1/artifacts/{_hex(s.dataset)}").json()["records"][1]
    assert cycle["revoked"] is True and cycle["revocationReason"] == "mistake"
    assert client.get(f"/v1/artifacts/{_hex(s.tuned)}").json()["statements"] == 1
    _problem(client.get(f"/v1/artifacts/0x{'ab' * 32}"), 404, "unknown-subject")


def test_record_by_id(world):
    _, s, client = world
    record = client.get(f"/v1/records/{_hex(s.tuned_id)}").json()["record"]
    assert record["endorsements"] == 1 and record["subject"] == _hex(s.tuned)
    proven = client.get(f"/v1/records/{_hex(s.batched_ids[1])}").json()["record"]
    assert proven["batchRoot"] == _hex(s.batch_root) and proven["subject"] is None and proven["kind"] is None
    _problem(client.get(f"/v1/records/{_hex(s.batched_ids[2])}"), 404, "unknown-record")


def test_file_digest_lookup(world):
    _, s, client = world
    body = client.get(f"/v1/files/{s.shared_sha}").json()
    found = {(a["subject"], a["path"]) for a in body["artifacts"]}
    assert found == {(_hex(s.tuned), "tokenizer.json"), (_hex(s.batched_subjects[0]), "tokenizer.json")}
    tuned = next(a for a in body["artifacts"] if a["subject"] == _hex(s.tuned))
    assert tuned["records"] == [_hex(s.tuned_id)]
    weights = _sha("w" * 100).hex()
    assert client.get(f"/v1/files/0x{weights.upper()}").json()["artifacts"][0]["path"] == "weights.bin"
    _problem(client.get(f"/v1/files/{'0' * 64}"), 404, "unknown-file")
    _problem(client.get("/v1/files/abc"), 422, "invalid-request")


def test_history_of_subject_record_and_address(world):
    _, s, client = world
    by_subject = client.get(f"/v1/history/{_hex(s.base)}").json()
    assert by_subject["targetType"] == "subject"
    assert [i["event"] for i in by_subject["items"]] == [
        "RecordDisputed", "RecordSuperseded", "RecordRegistered", "RecordRegistered"
    ]
    blocks = [i["blockNumber"] for i in by_subject["items"]]
    assert blocks == sorted(blocks, reverse=True)
    assert all(i["txHash"].startswith("0x") and i["blockTime"] for i in by_subject["items"])

    by_record = client.get(f"/v1/history/{_hex(s.tuned_id)}").json()
    assert by_record["targetType"] == "record"
    assert [i["event"] for i in by_record["items"]] == ["RecordEndorsed", "RecordRegistered"]

    by_address = client.get(f"/v1/history/{s.auditor.address.lower()}?limit=1").json()
    assert by_address["targetType"] == "address" and by_address["target"] == s.auditor.address
    assert [i["event"] for i in by_address["items"]] == ["RecordDisputed"]
    nobody = client.get(f"/v1/history/0x{'ab' * 20}").json()
    assert nobody["items"] == [] and nobody["target"] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # checksummed
    _problem(client.get(f"/v1/history/0x{'34' * 32}"), 404, "unknown-target")
    _problem(client.get("/v1/history/0x1234"), 422)


def test_publishers(world):
    _, s, client = world
    items = client.get("/v1/publishers").json()["items"]
    by_address = {p["address"]: p for p in items}
    assert by_address[s.publisher.address]["records"] == 4  # dataset, base x2, proven batched
    assert by_address[s.other.address]["revoked"] == 1
    assert len(client.get("/v1/publishers?limit=1").json()["items"]) == 1


def test_lineage_is_transitive_cycle_safe_and_depth_limited(world):
    _, s, client = world
    body = client.get(f"/v1/lineage/{_hex(s.tuned)}").json()
    nodes = {n["subject"]: n for n in body["nodes"]}
    assert set(nodes) == {_hex(x) for x in (s.tuned, s.base, s.unknown_parent, s.dataset)}
    assert nodes[_hex(s.unknown_parent)]["known"] is False
    assert nodes[_hex(s.dataset)]["depth"] == 2 and nodes[_hex(s.dataset)]["kind"] == "dataset"
    assert nodes[_hex(s.dataset)]["revoked"] is False  # one of its two records is revoked
    assert nodes[_hex(s.base)]["publishers"] == [s.publisher.address]
    edges = {(e["from"], e["to"], e["relation"]) for e in body["edges"]}
    assert edges == {
        (_hex(s.tuned), _hex(s.base), "derivedFrom"),
        (_hex(s.tuned), _hex(s.unknown_parent), "derivedFrom"),
        (_hex(s.base), _hex(s.dataset), "derivedFrom"),
        (_hex(s.dataset), _hex(s.tuned), "derivedFrom"),  # the cycle, listed once
    }
    assert body["truncated"] is False

    shallow = client.get(f"/v1/lineage/{_hex(s.tuned)}?depth=1").json()
    assert {n["subject"] for n in shallow["nodes"]} == {_hex(s.tuned), _hex(s.base), _hex(s.unknown_parent)}
    assert shallow["truncated"] is True
    _problem(client.get(f"/v1/lineage/{_hex(s.unknown_parent)}"), 404)
    _problem(client.get(f"/v1/lineage/{_hex(s.tuned)}?depth=0"), 422)


def test_events_filters_and_cursor_pagination(world):
    _, s, client = world
    everything = client.get("/v1/events?limit=500").json()
    assert everything["nextCursor"] is None
    total = len(everything["items"])
    assert total == 11  # 5 registered, supersede, endorse, dispute, revoke, anchor, prove
    pages, cursor = [], None
    while True:
        url = "/v1/events?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        pages.extend(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == everything["items"]

    kinds = client.get("/v1/events?kind=RecordRegistered").json()["items"]
    assert len(kinds) == 5 and {i["event"] for i in kinds} == {"RecordRegistered"}
    mine = client.get(f"/v1/events?publisher={s.auditor.address}").json()["items"]
    assert [i["event"] for i in mine] == ["RecordDisputed", "RecordEndorsed"]
    times = [i["blockTime"] for i in everything["items"]]
    middle = sorted(times)[len(times) // 2]
    since = client.get(f"/v1/events?since={middle}&limit=500").json()["items"]
    until = client.get(f"/v1/events?until={middle - 1}&limit=500").json()["items"]
    assert len(since) + len(until) == total and all(i["blockTime"] >= middle for i in since)

    bad = _problem(client.get("/v1/events?kind=Transfer"), 422, "invalid-request")
    assert "RecordRegistered" in bad["detail"] and bad["errors"][0]["loc"] == ["query", "kind"]
    _problem(client.get("/v1/events?limit=0"), 422)
    _problem(client.get("/v1/events?limit=501"), 422)
    _problem(client.get("/v1/events?publisher=alice"), 422)
    _problem(client.get("/v1/events?cursor=not-a-cursor"), 422, "invalid-request")
    _problem(client.get("/v1/events?cursor=ffffffffffffffff-0"), 422, "invalid-request")  # beyond SQLite integers
    assert client.get("/v1/events?cursor=fffffffffffffff-ffffffff").json()["items"] == everything["items"]


def test_proofs_direct_statement_and_chain(world):
    ledger, s, client = world
    direct = client.get(f"/v1/proofs/{_hex(s.tuned_id)}").json()
    assert direct["type"] == "direct" and direct["proof"] == [] and direct["blockNumber"] > 0

    from_statement = client.get(f"/v1/proofs/{_hex(s.batched_ids[0])}").json()
    assert from_statement["type"] == "batch" and from_statement["proofSource"] == "statement"
    assert from_statement["batchRoot"] == _hex(s.batch_root) and from_statement["proofValid"] is True
    assert from_statement["proof"] == [_hex(p) for p in s.statements[1].anchor.proof]

    from_chain = client.get(f"/v1/proofs/{_hex(s.batched_ids[1])}").json()
    assert from_chain["proofSource"] == "chain" and from_chain["proofValid"] is True
    assert from_chain["txHash"] == from_statement["txHash"]  # the anchoring transaction, in both

    _problem(client.get(f"/v1/proofs/{_hex(s.batched_ids[2])}"), 404, "unknown-record")


def test_health_and_readiness(world):
    ledger, _, client = world
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["lag"] <= 1


def test_probes_in_quick_succession_share_one_read_of_the_head(world, monkeypatch):
    """A load balancer's (or many) readiness probes: the head read less than HEAD_FRESH ago answers them."""
    from provenance.ledger import Ledger

    _, _, client = world
    asked = []
    real = Ledger.block_number
    monkeypatch.setattr(Ledger, "block_number", lambda self: asked.append(1) or real(self))
    time.sleep(HEAD_FRESH)
    heads = {client.get("/readyz").json()["head"] for _ in range(5)}
    assert len(heads) == 1 and len(asked) == 1
    time.sleep(HEAD_FRESH)
    client.get("/readyz")
    assert len(asked) == 2


def test_probes_with_the_head_and_the_cursor_remembered_are_answered_from_memory(world, monkeypatch):
    """Only a probe that must ask the node (or the index) goes to the route's thread pool; the others are
    answered from memory (api.answers.Shortcut) with the route's answer, byte for byte."""
    import api.routes.health as health

    _, _, client = world
    pooled = []
    real = health.run_in_threadpool

    async def counting(function, *args):
        pooled.append(function.__name__)
        return await real(function, *args)

    monkeypatch.setattr(health, "run_in_threadpool", counting)
    time.sleep(HEAD_FRESH)
    answers = [client.get("/readyz") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert all(a.content == answers[0].content and a.headers["content-type"] == answers[0].headers["content-type"]
               for a in answers)
    assert pooled[:1] == ["_readiness"]  # the first asked the node, in the pool
    assert len(pooled) <= 2  # the rest from memory (one more only if a sync committed meanwhile)
    time.sleep(HEAD_FRESH)
    assert client.get("/readyz").content == answers[0].content
    assert len(pooled) >= 2  # the head was no longer fresh: asked again


def test_verdicts_at_one_head_share_what_they_read_of_the_registrys_storage(world, monkeypatch):
    """Two verdicts at one chain head (one model for two uses: two answers) ask the node for the settled
    block and each record's state once between them. A new head asks for the settled block again; the
    states read at the same finalized block carry over, and so they do at a later finalized block where
    the registry's storage is the same (one account proof asked); where it changed, or at any other
    settled block (``safe``, ``latest``: a reorganization can replace it), they are read afresh."""
    from provenance.ledger import Ledger, Settled

    ledger, scenario, client = world
    settled, states = [], []
    node_says: list[Settled] = []  # what the node answers for its settled block, from the first answer on
    real_settled, real_state, real_fingerprint = Ledger.settled, Ledger.record_state, Ledger.registry_fingerprint
    proofs: list[int] = []  # the blocks the registry's fingerprint was asked at

    def settled_block(self):
        settled.append(1)
        if not node_says:
            node_says.append(real_settled(self))
        return node_says[-1]

    monkeypatch.setattr(Ledger, "settled", settled_block)
    monkeypatch.setattr(Ledger, "record_state",
                        lambda self, rid, **kw: states.append(bytes(rid)) or real_state(self, rid, **kw))
    monkeypatch.setattr(Ledger, "registry_fingerprint",
                        lambda self, block: proofs.append(block) or real_fingerprint(self, block))
    url = f"/v1/verify/0x{scenario.tuned.hex()}"

    def verdict_at_a_new_head() -> None:
        ledger.rpc("evm_mine")
        catch_up(client.app)
        answer = client.get(url, params={"use": "research"})  # the previous head's, while this one's is computed
        assert answer.status_code == 200, answer.text
        verdict_computed(client.app, ("verify", f"0x{scenario.tuned.hex()}", "research", False), ledger.block_number())

    commercial = client.get(url, params={"use": "commercial"})
    assert commercial.status_code == 200, commercial.text
    read = len(states)
    assert len(settled) == 1 and read >= 2 and len(set(states)) == read  # the model and its ancestors, once each
    research = client.get(url, params={"use": "research"})
    assert research.status_code == 200  # a verdict of its own (remembered per use), computed anew
    assert len(settled) == 1 and len(states) == read
    node_says.append(Settled("finalized", node_says[0].number))
    verdict_at_a_new_head()  # computed anew (it counts confirmations against the head), at the same finalized block
    assert len(settled) == 2 and len(states) == read
    assert node_says[0].tag == "finalized" and proofs == [node_says[0].number]  # its fingerprint, for the next
    node_says.append(Settled("finalized", ledger.block_number()))
    verdict_at_a_new_head()  # carried over or not as the registry was the same at the node's first one or not
    assert len(settled) == 3 and len(states) in (read, 2 * read)
    carried, asked = len(states), len(proofs)
    ledger.rpc("evm_mine")
    node_says.append(Settled("finalized", ledger.block_number()))
    verdict_at_a_new_head()  # a later finalized block, nothing written to the registry since: nothing read again
    assert len(settled) == 4 and len(states) == carried
    assert proofs[asked:] == [node_says[-1].number]
    # written to (a storage slot no view reads, set by the node): the same views, another storage root
    ledger.rpc("anvil_setStorageAt", [ledger.registry, "0x" + "ff" * 32, "0x" + "00" * 31 + "01"])
    ledger.rpc("evm_mine")
    node_says.append(Settled("finalized", ledger.block_number()))
    verdict_at_a_new_head()
    assert len(settled) == 5 and len(states) == carried + read
    node_says.append(Settled("latest", ledger.block_number()))
    verdict_at_a_new_head()
    assert len(settled) == 6 and len(states) == carried + 2 * read
    verdict_at_a_new_head()  # the same latest block number: not final, so read again
    assert len(settled) == 7 and len(states) == carried + 3 * read


# ---------------------------------------------------------------- problems


def test_errors_are_problem_json(world):
    _, _, client = world
    body = _problem(client.get("/nowhere"), 404, "not-found")
    assert "/v1" in body["detail"]
    _problem(client.post("/v1/publishers"), 405, "method-not-allowed")
    invalid = _problem(client.get("/v1/records/0x1234"), 422, "invalid-request")
    assert invalid["errors"][0]["loc"] == ["path", "recordId"]
    too_big = _problem(client.post("/v1/publishers", content=b"x" * 2000), 413, "body-too-large")
    assert too_big["limit"] == 1000

    def chunks():
        for _ in range(5):
            yield b"y" * 300

    async def upload(request: Request) -> dict:  # a route that streams its body, as uploads do
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    client.app.router.add_api_route("/test-upload", upload, methods=["POST"])
    assert client.post("/test-upload", content=iter([b"z" * 400, b"z" * 400])).json() == {"size": 800}
    _problem(client.post("/test-upload", content=chunks()), 413, "body-too-large")


def test_library_errors_map_to_statuses_by_family(world):
    from provenance import errors

    _, _, client = world
    raised = {
        "not-in-store": errors.NotInStore("record 0x01 is not in the local store"),
        "unknown-parent": errors.UnknownParent("no record of parent 0x02"),
        "rejected": errors.ContractRejected("NotPublisher", {}, "the registry refused: not the publisher"),
        "corrupted": errors.StoreCorrupted("the local store was altered"),
        "invalid-value": errors.InvalidValue("subject must be 32 bytes"),
        "statement": errors.StatementError("not an in-toto Statement"),
        "rpc": errors.RpcError("eth_call failed", code=-32000),
        "range": errors.LogRangeRefused("eth_getLogs failed: block range is too large", code=-32005),
        "garbage": errors.BadNodeAnswer("the node did not answer JSON-RPC"),
        "no-registry": errors.RegistryNotFound("no contract at 0x11"),
        "tx-failed": errors.TransactionFailed("created no contract"),
        "keystore": errors.KeystoreError("wrong password", hint="try again"),
    }

    def raiser(name: str):
        def route() -> None:
            raise raised[name]

        return route

    for name in raised:
        client.app.router.add_api_route(f"/test-raise/{name}", raiser(name), methods=["GET"])
    expected = {
        "not-in-store": (404, "nothing-known"), "unknown-parent": (404, "nothing-known"),
        "rejected": (409, "conflict"), "corrupted": (409, "conflict"),
        "invalid-value": (422, "invalid-input"), "statement": (422, "invalid-input"),
        "rpc": (502, "node-error"), "range": (502, "node-error"), "garbage": (502, "node-error"),
        "no-registry": (502, "node-error"), "tx-failed": (502, "node-error"),
        "keystore": (400, "bad-request"),
    }
    for name, (status, slug) in expected.items():
        body = _problem(client.get(f"/test-raise/{name}"), status, slug)
        assert body["detail"] == str(raised[name])
    assert _problem(client.get("/test-raise/rejected"), 409)["error"] == "NotPublisher"
    assert _problem(client.get("/test-raise/rpc"), 502)["rpcCode"] == -32000
    assert _problem(client.get("/test-raise/keystore"), 400)["hint"] == "try again"
    assert "retry-after" not in client.get("/test-raise/rpc").headers  # only an unavailable node says when to retry


def test_openapi_documents_every_route_and_problem(world):
    _, _, client = world
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/v1/artifacts/{subject}", "/v1/records/{recordId}", "/v1/files/{sha256}", "/v1/history/{target}",
                 "/v1/publishers", "/v1/lineage/{subject}", "/v1/events", "/v1/proofs/{recordId}",
                 "/healthz", "/readyz"):
        assert path in paths, path
        responses = paths[path]["get"]["responses"]
        assert "application/json" in responses["200"]["content"]
        for status, response in responses.items():
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["EventName"]["enum"][0] == "RecordRegistered"


# ---------------------------------------------------------------- the node goes away (in-process)


def test_node_down_index_answers_and_chain_answers_are_503(tmp_path):
    port = free_port()
    process = start_anvil(port)
    try:
        ledger = fresh_registry(f"http://127.0.0.1:{port}")
        s = populate(ledger, account_factory(ledger))
        app = create_app(settings_for(ledger, tmp_path / "i.sqlite", retry_after=7), start_indexer=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            catch_up(app)
            process.terminate()
            process.wait(timeout=10)
            app.state.service.loop.step()

            body = client.get(f"/v1/artifacts/{_hex(s.base)}").json()
            assert body["index"]["chainReachable"] is False and body["index"]["lag"] == 0
            ready = _problem(client.get("/readyz"), 503, "ledger-unavailable")
            assert client.get("/readyz").headers["retry-after"] == "7" and "does not answer" in ready["detail"]
            chain = client.get(f"/v1/proofs/{_hex(s.batched_ids[1])}")
            _problem(chain, 503, "ledger-unavailable")
            assert chain.headers["retry-after"] == "7"
            assert client.get(f"/v1/proofs/{_hex(s.tuned_id)}").status_code == 200  # from the index
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def test_service_starts_with_the_node_down(tmp_path):
    port = free_port()
    settings = ServiceSettings(
        rpc_url=f"http://127.0.0.1:{port}", registry="0x" + "11" * 20, index_path=tmp_path / "i.sqlite",
        poll_interval=0.1,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 5
        while app.state.service.state.error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "does not answer" in app.state.service.state.error
        assert client.get("/healthz").status_code == 200
        _problem(client.get("/readyz"), 503, "ledger-unavailable")
        publishers = client.get("/v1/publishers").json()
        assert publishers["items"] == [] and publishers["index"]["syncedTo"] is None
        assert publishers["index"]["chainReachable"] is False


def test_index_statements_and_files(world, tmp_path):
    ledger, s, _ = world
    with Index.open(tmp_path / "st.sqlite") as index:
        for statement in s.statements:
            index.add_statement(statement)
            index.add_statement(statement)  # idempotent
        tuned = s.statements[0]
        assert index.statement(tuned.record_id) == tuned
        assert index.statement(_hex(tuned.record_id)) == tuned
        assert index.statements_for(s.tuned) == [tuned]
        assert index.statements_for(_hex(s.tuned)) == [tuned]
        assert index.statement_count(s.tuned) == 1 == index.statement_count(_hex(s.tuned))
        assert index.statement_count(b"\x00" * 32) == 0
        assert index.statement(b"\x00" * 32) is None
        assert sorted(index.files(s.shared_sha)) == sorted(
            [(_hex(s.tuned), "tokenizer.json"), (_hex(s.batched_subjects[0]), "tokenizer.json")]
        )
        assert index.files("0x" + s.shared_sha.upper()) == index.files(s.shared_sha)
        assert index.files("ff" * 32) == []
        from provenance.errors import ProvenanceError, StatementError

        with pytest.raises(ProvenanceError, match="64 hex"):
            index.files("xyz")
        wrong = Statement.create(
            name="x", record=tuned.record, publisher=tuned.publisher, signature=tuned.signature,
            chain_id=tuned.chain_id, registry=tuned.registry, manifest=manifest_of({"a": "b"}).to_dict(),
        )
        with pytest.raises(StatementError, match="manifest gives subject"):
            index.add_statement(wrong)


def test_answers_follow_the_index_as_it_changes(world):
    """Answers are remembered between index changes: a new event (this process's indexer) or a
    Statement stored by another process (another connection to the file) shows at once."""
    ledger, s, client = world
    late = Record.create(b"\x6b" * 32, Kind.OTHER, b"\x07" * 32, [], "ipfs://late")
    url = f"/v1/artifacts/{_hex(late.subject)}"
    _problem(client.get(url), 404)
    _problem(client.get(url), 404)
    ledger.register(s.other, late)
    catch_up(client.app)
    assert client.get(url).json()["records"][0]["uri"] == "ipfs://late"

    manifest = manifest_of({"only.txt": "seen once"})
    record = Record.create(manifest.subject, Kind.OTHER, b"\x08" * 32, [], "ipfs://posted")
    digest = _sha("seen once").hex()
    _problem(client.get(f"/v1/files/{digest}"), 404)
    with Index.open(client.app.state.service.settings.index_path) as other_process:
        other_process.add_statement(_statement(ledger, s.other, record, manifest, None))
    assert client.get(f"/v1/files/{digest}").json()["artifacts"][0]["path"] == "only.txt"


def test_readiness_waits_for_the_first_sync_and_for_the_index_to_catch_up(world, tmp_path):
    ledger, _, _ = world
    app = create_app(settings_for(ledger, tmp_path / "r.sqlite", ready_max_lag=0, retry_after=3), start_indexer=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.get("/readyz")
        _problem(first, 503, "index-not-ready")
        assert first.headers["retry-after"] == "3"
        catch_up(app)
        assert client.get("/readyz").status_code == 200
        ledger.rpc("anvil_mine", [hex(2)])
        time.sleep(HEAD_FRESH)  # the head read for the last probe answers the probes of the next moment
        behind = _problem(client.get("/readyz"), 503, "index-behind")
        assert behind["lag"] == 2
        catch_up(app)
        assert client.get("/readyz").json()["lag"] == 0


def test_one_worker_indexes_and_another_takes_over(world, tmp_path):
    """Workers share the index file; the lock file elects the one that writes."""
    from api.service import Service

    ledger, _, _ = world
    settings = settings_for(ledger, tmp_path / "shared.sqlite")
    first, second = Service(settings), Service(settings)
    try:
        first.loop.step()
        second.loop.step()
        assert first.state.indexing is True and second.state.indexing is False
        assert second.synced_to() == first.synced_to() == ledger.block_number()  # one file, read by both
        first.close()
        second.loop.step()
        assert second.state.indexing is True
    finally:
        first.close()  # closing twice is harmless
        second.close()

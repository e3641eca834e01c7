"""Issue 13 through anvil, the CLI and the service: a service nobody posted anything to gives the publisher's verdict.

Publisher A registers a dataset, publisher B a model trained on it (the dataset's record pinned),
each with `provenance register` in their own home; the records' uris name where the Statements (and
the batch document of a batched model) are published: a local HTTP server, and a second one acting
as an IPFS gateway (loopback: the service runs with ``fetch_private``, the documented setting). A
FRESH service (a new index, never posted anything) must answer ``GET /v1/verify/{subject}`` of the
model with the checks and codes of B's own ``provenance verify SUBJECT`` (its full store), and its
Records, Lineage and History must know the model. Faults (a uri that 404s or is not JSON, a tampered
Statement, a batch document a member of which does not match the root) are reported and never
indexed or passed.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.record import hex32
from provenance.statement import Statement
from tests.api_helpers import catch_up, settings_for
from tests.helpers import free_port, fresh_registry
from tests.publisher_home import Home, make_artifact, make_home

pytestmark = pytest.mark.chain

DATA_CLAIMS = {
    "kind": "dataset", "name": "fetches/data",
    "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": False,
                  "training_mining": {"ai_training": "allowed", "data_mining": "allowed"}},
    "privacy": {"personal_data": "absent", "confidentiality": "clear"},
    "disclose": ["copyright", "privacy"],
}


def model_claims(dataset: Statement) -> dict:
    return {
        "kind": "model", "name": "fetches/model",
        "copyright": {"license": "Apache-2.0"},
        "privacy": {"personal_data": "absent", "confidentiality": "clear"},
        "lineage": {"trained_on": [{"subject": hex32(dataset.subject), "record": hex32(dataset.record_id)}]},
        "disclose": ["copyright", "privacy", "lineage"],
    }


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A local HTTP server publishing the files of a directory: (base URL, directory)."""
    root = tmp_path_factory.mktemp("published")
    server, base = _serve(root)
    yield base, root
    server.shutdown()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A second server acting as an IPFS gateway: GATEWAY/ipfs/CID is the file DIR/ipfs/CID."""
    root = tmp_path_factory.mktemp("gateway")
    (root / "ipfs").mkdir()
    server, base = _serve(root)
    yield base, root
    server.shutdown()


@dataclass
class Case:
    ledger: object
    a: Home
    b: Home
    dataset: Statement
    model: Statement
    model_dir: Path
    web_root: Path
    base: str
    tag: str
    env: dict
    batch_file: Path | None = None  # the batch document as published

    @property
    def model_subject(self) -> str:
        return hex32(self.model.subject)


def _register(home: Home, path: Path, claims: dict, tmp: Path, *extra: str, env: dict) -> dict:
    claims_file = tmp / f"{path.name}.claims.json"
    claims_file.write_text(json.dumps(claims))
    done = home.run("register", str(path), "--claims", str(claims_file), "--json", *extra, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _setup(anvil_url: str, tmp_path: Path, web, gateway, *, batched: bool, dataset_on_ipfs: bool = False,
           publish_model: bool = True, extra_batched: int = 0) -> Case:
    """A's dataset and B's model registered with uris; the Statements (and the batch document) published
    where the uris say. The model's published Statement carries no lineage: the service must fetch the
    dataset's from its own uri (a batch document never carries lineages)."""
    base, root = web
    gateway_base, gateway_root = gateway
    env = {"PROVENANCE_FETCH_PRIVATE": "1", "PROVENANCE_IPFS_GATEWAY": gateway_base}
    ledger = fresh_registry(anvil_url)
    a = make_home(tmp_path / "a", anvil_url, ledger.registry, "pub")
    b = make_home(tmp_path / "b", anvil_url, ledger.registry, "pub")
    tag = tmp_path.name
    data_dir = make_artifact(tmp_path, "data", {"rows.csv": f"data {tag}".encode() * 20})
    if dataset_on_ipfs:
        cid = "bafy" + hashlib.sha256(tag.encode()).hexdigest()[:52]
        _register(a, data_dir, DATA_CLAIMS, tmp_path, "--uri", f"ipfs://{cid}", env=env)
        shutil.copy(data_dir / "provenance.json", gateway_root / "ipfs" / cid)
    else:
        _register(a, data_dir, DATA_CLAIMS, tmp_path, "--uri", f"{base}/{tag}-data.json", env=env)
        shutil.copy(data_dir / "provenance.json", root / f"{tag}-data.json")
    dataset = Statement.from_file(data_dir / "provenance.json")
    model_dir = make_artifact(tmp_path, "model", {"weights.bin": f"weights {tag}".encode() * 50})
    batch_file = None
    if batched:
        _register(b, model_dir, model_claims(dataset), tmp_path, "--batch", env=env)
        for n in range(extra_batched):  # more members of the same batch
            other = make_artifact(tmp_path, f"other-{n}", {"w.bin": f"other {n} {tag}".encode() * 30})
            _register(b, other, {**model_claims(dataset), "name": f"fetches/other-{n}"}, tmp_path, "--batch", env=env)
        anchored = b.run("anchor", "--uri", f"{base}/{tag}-batch.json", env=env)
        assert anchored.returncode == 0, anchored.stderr
        batch_file = root / f"{tag}-batch.json"
        if publish_model:
            shutil.copy(next((b.path / "batches").glob("*.json")), batch_file)
    else:
        _register(b, model_dir, model_claims(dataset), tmp_path, "--uri", f"{base}/{tag}-model.json", env=env)
        if publish_model:
            Statement.from_file(model_dir / "provenance.json").with_lineage(()).write(root / f"{tag}-model.json")
    model = Statement.from_file(model_dir / "provenance.json")
    return Case(ledger, a, b, dataset, model, model_dir, root, base, tag, env, batch_file)


def _codes(document: dict) -> set[tuple[str, str, str]]:
    return {(c["check"], c["status"], c["code"]) for c in document["checks"]}


def _publishers_verdict(case: Case) -> dict:
    """B's own `provenance verify SUBJECT --json`, with its full store."""
    done = case.b.run("verify", case.model_subject, "--json", env=case.env)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def service(tmp_path, monkeypatch):
    """A fresh service per case: ``service(case, start=...)`` gives a TestClient over a new index."""
    made = []

    def make(case: Case, *, start: bool = False, **settings):
        monkeypatch.setenv("PROVENANCE_IPFS_GATEWAY", case.env["PROVENANCE_IPFS_GATEWAY"])
        app = create_app(settings_for(case.ledger, tmp_path / f"index-{len(made)}.sqlite", fetch_private=True,
                                      **settings), start_indexer=start)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        made.append(client)
        if not start:
            catch_up(app)
        return app, client

    yield make
    for client in made:
        client.__exit__(None, None, None)


def _read_documents(app) -> None:
    """Every batch document read, as the service's documents thread would (bounded steps)."""
    for _ in range(1000):
        if not app.state.service.documents.step():
            return
    raise AssertionError("the batch documents were not read")


def _kept_by(app, record_id: bytes) -> str | None:
    """Who handed the index the kept Statement of a record (None: not kept)."""
    with sqlite3.connect(f"file:{app.state.service.settings.index_path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT first_added_by FROM statements WHERE record_id = ?", (hex32(record_id),)).fetchone()
    db.close()
    return None if row is None else row[0]


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the service did not get there in time"
        time.sleep(0.2)


# --------------------------------------------------------------------------- the same verdict


@pytest.mark.parametrize("dataset_on_ipfs", [False, True], ids=["dataset-on-http", "dataset-on-ipfs"])
def test_a_fresh_service_gives_the_publishers_verdict_for_a_directly_registered_model(
    anvil_url, tmp_path, web, gateway, service, dataset_on_ipfs
):
    case = _setup(anvil_url, tmp_path, web, gateway, batched=False, dataset_on_ipfs=dataset_on_ipfs)
    publisher = _publishers_verdict(case)
    app, client = service(case)
    seen = client.get(f"/v1/verify/{case.model_subject}")
    assert seen.status_code == 200, seen.text
    assert _codes(seen.json()) == _codes(publisher)
    assert seen.json()["overall"] == publisher["overall"] == "fail"  # non-commercial data, commercial use
    assert not [c for c in seen.json()["checks"] if "could not be obtained" in c["message"]
                or "not disclosed" in c["message"]]
    # both Statements verified, so both are kept, saying where they came from
    assert _kept_by(app, case.model.record_id) == f"fetched:{case.base}/{case.tag}-model.json"
    assert _kept_by(app, case.dataset.record_id) == "fetched:" + case.dataset.record.uri
    # the next answer (and the page) know them: nothing is fetched again
    for published in (*case.web_root.glob(f"{case.tag}-*"), *(gateway[1] / "ipfs").glob("*")):
        published.unlink()
    catch_up(app)
    case.ledger.rpc("anvil_mine", [hex(1)])  # a new head: the verdict is computed again
    catch_up(app)
    again = client.get(f"/v1/verify/{case.model_subject}")
    assert _codes(again.json()) == _codes(publisher)
    statements = client.get(f"/v1/statements/by-subject/{case.model_subject}").json()["statements"]
    assert [s["predicate"]["record"]["subject"] for s in statements] == [case.model_subject]


# The one line a service cannot say as the publisher does: a batch document leaves manifests out (a member
# is known by its subject), so verified by subject alone the member's integrity is 'unverifiable', where the
# publisher's own Statement, manifest included, passes. Closing it is the verifier's: see the report.


def test_a_fresh_service_reads_a_batched_models_document_and_gives_the_publishers_verdict(
    anvil_url, tmp_path, web, gateway, service
):
    case = _setup(anvil_url, tmp_path, web, gateway, batched=True)
    publisher = _publishers_verdict(case)
    app, client = service(case, start=True)  # the indexer and the documents thread run
    subject, rid = case.model_subject, hex32(case.model.record_id)
    _wait_for(lambda: client.get(f"/v1/artifacts/{subject}").status_code == 200)

    # Records: the member is a record of its subject, anchored by its batch
    (record,) = client.get(f"/v1/artifacts/{subject}").json()["records"]
    root = hex32(case.model.anchor.batch_root)
    assert record["recordId"] == rid and record["batchRoot"] == root and record["kind"] == "model"
    assert record["publisher"] == case.model.publisher and record["parents"] == [hex32(case.dataset.subject)]
    assert record["txHash"] == hex32(case.model.anchor.tx_hash) and not record["revoked"]
    assert client.get(f"/v1/records/{rid}").json()["record"]["subject"] == subject
    # Lineage: the model and the dataset it was trained on, both known
    lineage = client.get(f"/v1/lineage/{subject}").json()
    assert {(n["subject"], n["known"]) for n in lineage["nodes"]} == {(subject, True),
                                                                     (hex32(case.dataset.subject), True)}
    # History: the batch's anchor
    events = client.get(f"/v1/history/{subject}").json()["items"]
    assert [(e["event"], e["details"]["root"]) for e in events] == [("BatchAnchored", root)]
    # the document's outcome, and the member's Statement kept (from the document)
    outcome = app.state.service.index.batch_document(root, case.model.publisher)
    assert (outcome.state, outcome.members, outcome.accepted, outcome.refused) == ("done", 1, 1, 0)
    assert _kept_by(app, case.model.record_id) == f"fetched:{case.base}/{case.tag}-batch.json"

    seen = client.get(f"/v1/verify/{subject}").json()
    assert seen["recordId"] == rid and seen["overall"] == publisher["overall"] == "fail"
    assert not [c for c in seen["checks"] if "could not be obtained" in c["message"]]
    assert _codes(seen) == _codes(publisher)


def test_a_proven_and_revoked_batched_record_joins_its_document_record(anvil_url, tmp_path, web, gateway, service):
    case = _setup(anvil_url, tmp_path, web, gateway, batched=True)
    app, client = service(case)
    _read_documents(app)
    rid = hex32(case.model.record_id)
    revoked = case.b.run("revoke", rid, "--reason", "wrong weights", env=case.env)  # proves it, then revokes
    assert revoked.returncode == 0, revoked.stderr
    catch_up(app)
    record = client.get(f"/v1/records/{rid}").json()["record"]
    assert record["revoked"] and record["subject"] == case.model_subject and record["kind"] == "model"
    (listed,) = client.get(f"/v1/artifacts/{case.model_subject}").json()["records"]
    assert listed["revoked"] and listed["revocationReason"] == "wrong weights"
    events = [e["event"] for e in client.get(f"/v1/history/{case.model_subject}").json()["items"]]
    assert events == ["RecordRevoked", "BatchedRecordProven", "BatchAnchored"]
    seen = client.get(f"/v1/verify/{case.model_subject}").json()
    assert ("status", "fail", "REVOKED") in _codes(seen) and seen["overall"] == "fail"
    assert not [c for c in seen["checks"] if c["status"] == "unverifiable" and c["check"] in ("anchoring", "status")]


# --------------------------------------------------------------------------- faults


def _nothing_kept_of_the_model(app, case: Case) -> None:
    index = app.state.service.index
    assert index.statement(case.model.record_id) is None
    assert index.statements_for(case.model.subject) == []


@pytest.mark.parametrize("fault", ["404", "not-json"])
def test_a_models_uri_that_gives_no_statement_is_reported_never_passed(
    anvil_url, tmp_path, web, gateway, service, fault
):
    case = _setup(anvil_url, tmp_path, web, gateway, batched=False, publish_model=False)
    if fault == "not-json":
        (case.web_root / f"{case.tag}-model.json").write_text("<html>moved</html>")
    app, client = service(case)
    seen = client.get(f"/v1/verify/{case.model_subject}").json()
    assert seen["overall"] != "pass" and seen["exitCode"] != 0
    assert ("integrity", "unverifiable", "NOT_REGISTERED") in _codes(seen)
    why = "HTTP 404" if fault == "404" else "is not JSON"
    said = [c for c in seen["checks"] if "could not be obtained" in c["message"]]
    assert said and all(f"{case.tag}-model.json" in c["message"] and why in c["message"] for c in said)
    _nothing_kept_of_the_model(app, case)


def test_a_tampered_statement_at_the_uri_fails_and_is_not_kept(anvil_url, tmp_path, web, gateway, service):
    case = _setup(anvil_url, tmp_path, web, gateway, batched=False, publish_model=False)
    tampered = case.model.with_lineage(()).to_json()
    for disclosure in tampered["predicate"]["disclosures"]:
        if disclosure["field"] == "copyright.license":
            disclosure["value"] = "MIT"
    (case.web_root / f"{case.tag}-model.json").write_text(json.dumps(tampered))
    app, client = service(case)
    seen = client.get(f"/v1/verify/{case.model_subject}").json()
    assert ("claims", "fail", "DISCLOSURE_MISMATCH") in _codes(seen)
    assert seen["overall"] == "fail"
    _nothing_kept_of_the_model(app, case)


def test_a_forged_statement_carried_in_the_lineage_fails_and_only_what_verifies_is_kept(
    anvil_url, tmp_path, web, gateway, service
):
    """The model's Statement at its uri carries the dataset's with a permissive license written in: the
    dataset's disclosures no longer match its signed claimsRoot, so it is evidence of nothing."""
    case = _setup(anvil_url, tmp_path, web, gateway, batched=False, publish_model=False)
    carried = case.model.lineage[0].to_json()
    for disclosure in carried["predicate"]["disclosures"]:
        if disclosure["field"] == "copyright.license":
            disclosure["value"] = "CC-BY-4.0"
        if disclosure["field"] == "copyright.commercial_use":
            disclosure["value"] = True
    forged = case.model.with_lineage((Statement.from_json(carried),))
    forged.write(case.web_root / f"{case.tag}-model.json")
    app, client = service(case)
    seen = client.get(f"/v1/verify/{case.model_subject}").json()
    assert seen["overall"] == "fail" and ("lineage", "fail", "PARENT_FAILED") in _codes(seen)
    index = app.state.service.index
    assert index.statement(case.dataset.record_id) is None  # the forged copy is not kept
    kept = index.statement(case.model.record_id)  # the model's own verified: kept, without what did not
    assert kept is not None and kept.lineage == ()


def test_a_batch_document_whose_member_does_not_match_the_root_is_recorded_invalid_and_not_indexed(
    anvil_url, tmp_path, web, gateway, service
):
    from api.documents import INVALID_RETRY

    case = _setup(anvil_url, tmp_path, web, gateway, batched=True, publish_model=False)
    document = json.loads(next((case.b.path / "batches").glob("*.json")).read_text())
    document["members"][0]["kind"] = "dataset"  # the member's record no longer gives its id, nor the root
    case.batch_file.write_text(json.dumps(document))
    app, client = service(case)
    documents = app.state.service.documents
    now = time.time()
    assert documents.step(now) is True and documents.step(now) is False  # read once, not again soon
    root = hex32(case.model.anchor.batch_root)
    outcome = app.state.service.index.batch_document(root, case.model.publisher)
    assert outcome.state == "invalid" and outcome.accepted == 0 and outcome.attempts == 1
    assert "member 0" in outcome.reason and "does not match the anchored root" in outcome.reason
    assert outcome.retry_at >= now + INVALID_RETRY - 1
    _nothing_kept_of_the_model(app, case)
    assert app.state.service.index.batch_members(root, case.model.publisher) == []
    assert client.get(f"/v1/artifacts/{case.model_subject}").status_code == 404
    seen = client.get(f"/v1/verify/{case.model_subject}").json()
    assert seen["overall"] == "fail" and _codes(seen) == {("anchoring", "fail", "NOT_REGISTERED")}
    assert documents.step(now + INVALID_RETRY + 1) is True  # tried again, long after
    assert app.state.service.index.batch_document(root, case.model.publisher).attempts == 2


def test_an_unreachable_batch_document_is_tried_again_with_backoff_then_read_in_chunks(
    anvil_url, tmp_path, web, gateway, service
):
    from api.documents import RETRY_FIRST

    case = _setup(anvil_url, tmp_path, web, gateway, batched=True, publish_model=False, extra_batched=2)
    app, client = service(case)
    service_ = app.state.service
    documents = service_.documents
    documents.chunk = 1
    now = time.time()
    assert documents.step(now) is True and documents.step(now + 1) is False
    root = hex32(case.model.anchor.batch_root)
    outcome = service_.index.batch_document(root, case.model.publisher)
    assert outcome.state == "unreachable" and "404" in outcome.reason and outcome.attempts == 1
    assert documents.step(now + RETRY_FIRST + 1) is True  # again, still 404: the wait doubles
    outcome = service_.index.batch_document(root, case.model.publisher)
    assert outcome.attempts == 2 and outcome.retry_at >= int(now + RETRY_FIRST + 1 + 2 * RETRY_FIRST)
    assert documents.step(now + 2 * RETRY_FIRST + 2) is False

    shutil.copy(next((case.b.path / "batches").glob("*.json")), case.batch_file)  # published at last
    later = now + 4 * RETRY_FIRST
    assert documents.step(later) is True  # fetched and read: 3 members
    kept = []
    while documents.step(later):  # one member a step, each chunk written on its own
        kept.append(len(service_.index.batch_members(root, case.model.publisher)))
    assert kept == [1, 2, 3]
    outcome = service_.index.batch_document(root, case.model.publisher)
    assert (outcome.state, outcome.members, outcome.accepted, outcome.refused, outcome.attempts) == (
        "done", 3, 3, 0, 0)
    assert client.get(f"/v1/artifacts/{case.model_subject}").status_code == 200
    # a reorg that takes the anchor away takes what its document told with it
    service_.index.roll_back(case.ledger.chain_id, case.ledger.registry, case.model.anchor.block_number - 1, 0)
    assert service_.index.batch_document(root, case.model.publisher) is None
    assert service_.index.batch_members(root, case.model.publisher) == []
    assert service_.index.record(case.model.record_id) is None
    assert service_.index.records_by_subject(case.model.subject) == []


def test_a_batch_documents_members_share_one_read_of_their_batchs_state(
    anvil_url, tmp_path, web, gateway, service, monkeypatch
):
    """Reading a document of N members asks the registry's ``batchState`` of their batch once (all members
    read at one settled block), not once a member; each member's own ``recordState`` is still asked (the
    cross-check of its registration and revocation), and every member is still checked and kept."""
    from provenance.ledger import Ledger

    members = 4
    case = _setup(anvil_url, tmp_path, web, gateway, batched=True, extra_batched=members - 1)
    app, _ = service(case)
    service_ = app.state.service
    service_.documents.chunk = 1  # a chunk a member: the document's state must outlive its chunks
    asked: dict[str, int] = {}
    real_rpc, real_batch_state, real_record_states = Ledger.rpc, Ledger.batch_state, Ledger.record_states

    def rpc(self, method, params=()):
        asked[method] = asked.get(method, 0) + 1
        return real_rpc(self, method, params)

    def batch_state(self, *args, **kwargs):
        asked["batchState"] = asked.get("batchState", 0) + 1
        return real_batch_state(self, *args, **kwargs)

    def record_states(self, record_ids, **kwargs):
        asked["recordState"] = asked.get("recordState", 0) + len(record_ids)
        return real_record_states(self, record_ids, **kwargs)

    monkeypatch.setattr(Ledger, "rpc", rpc)
    monkeypatch.setattr(Ledger, "batch_state", batch_state)
    monkeypatch.setattr(Ledger, "record_states", record_states)
    from provenance.index import Index

    real_record = Index.record

    def record(self, record_id):
        asked["index.record"] = asked.get("index.record", 0) + 1
        return real_record(self, record_id)

    monkeypatch.setattr(Index, "record", record)
    _read_documents(app)
    root = hex32(case.model.anchor.batch_root)
    outcome = service_.index.batch_document(root, case.model.publisher)
    assert (outcome.state, outcome.members, outcome.accepted, outcome.refused) == ("done", members, members, 0)
    assert asked.get("batchState") == 1, asked
    # each member's, and nothing of their parents: keeping a member judges its own evidence, not its lineage
    assert asked.get("recordState") == members, asked
    assert asked.get("eth_call") == members + 1, asked  # nothing else is asked by eth_call
    assert asked.get("eth_getBlockByNumber") == 1, asked  # the settled block, once for the document
    # the index was asked once a chunk which members it knows nothing of; none of them was looked up alone
    assert "index.record" not in asked, asked


def test_an_index_of_schema_version_5_gains_the_batch_tables(tmp_path):
    from provenance.index import _SCHEMA, SCHEMA_VERSION, Index, _statements

    path = tmp_path / "v5.sqlite"
    with sqlite3.connect(path) as db:
        for statement in _statements(_SCHEMA):
            if "batch_" not in statement:
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    db.close()
    with Index.open(path) as index:
        assert index.batch_document(b"\x01" * 32, "0x" + "22" * 20) is None
        assert index.records_by_subject(b"\x01" * 32) == [] and index.history(subject=b"\x01" * 32) == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"batch_documents", "batch_members"} <= tables
    db.close()

"""``POST /v1/statements`` bounded (issue 13, item 6): manifest entries and parents capped before any
verification, a per-publisher quota (429), who posted each Statement and when, and copies of one record
pooled inside the write transaction (two processes on one SQLite file never drop a disclosed field).

The index tests below run on both backends, a SQLite file and a PostgreSQL database (``index_target``)."""

from __future__ import annotations

import copy
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import time
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ServiceSettings
from provenance.claims import Claims
from provenance.errors import InvalidValue
from provenance.index import SCHEMA_VERSION, Index
from provenance.manifest import Manifest
from provenance.publish import Publisher, prepare
from provenance.record import MAX_PARENTS, Kind, Record
from provenance.statement import Statement
from provenance.store import Store
from tests.api_helpers import catch_up, settings_for
from tests.helpers import ROOT, account_factory, free_port, fresh_registry

PROBLEM = "application/problem+json"
PUBLISHER = "0x" + "ab" * 20
REGISTRY = "0x" + "22" * 20


# ---------------------------------------------------------------- the index, no chain


def _copy(number: int, field: str, publisher: str = PUBLISHER) -> Statement:
    """A copy of record ``number`` disclosing only ``field`` (the index stores; it does not verify)."""
    record = Record.create((number + 1).to_bytes(32, "big"), Kind.DATASET, b"\x02" * 32, [], "ipfs://x")
    return Statement.create(
        name="sample", record=record, publisher=publisher, signature=b"\x05" * 65, chain_id=31337,
        registry=REGISTRY, disclosures=[{"field": field, "value": number, "salt": "0x" + "00" * 32}],
    )


def _fields(index: Index, statement: Statement) -> set[str]:
    kept = index.statement(statement.record_id)
    assert kept is not None
    return {d["field"] for d in kept.disclosures}


def _post_copies(path: str, field: str, count: int, barrier) -> None:
    """One worker process: a copy of each of ``count`` records, disclosing ``field``, in step with the other."""
    with Index.open(path) as index:  # a file path or a database URL
        for number in range(count):
            barrier.wait(timeout=60)  # both processes store their copy of this record at the same moment
            index.add_statement(_copy(number, field))


def test_two_processes_storing_copies_of_one_record_keep_every_disclosed_field(index_target):
    """Each record gets two copies at once, one per process, disclosing different fields: the one kept
    discloses both. (With the earlier copy read outside the write transaction, both processes read no
    copy, both write their own, and one field is lost: this failed on that code.)"""
    path = index_target
    Index.open(path).close()  # created once, before the race
    count = 400
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_post_copies, args=(str(path), field, count, barrier))
        for field in ("copyright.license", "privacy.personal_data")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
        assert worker.exitcode == 0
    with Index.open(path) as index:
        lost = [n for n in range(count)
                if _fields(index, _copy(n, "x")) != {"copyright.license", "privacy.personal_data"}]
        assert lost == [], f"{len(lost)} of {count} records lost a disclosed field"
        assert index.statements_kept(PUBLISHER) == count


def _row(index: Index, record_id: bytes) -> tuple:
    with index._backend.reading() as db:
        row = db.execute(
            "SELECT added_at, added_by, first_added_at, first_added_by FROM statements WHERE record_id = ?",
            ("0x" + record_id.hex(),),
        ).fetchone()
    return tuple(row)


def test_the_first_poster_and_time_are_kept_beside_the_latest(index_target):
    path = index_target
    first, later = _copy(1, "copyright.license"), _copy(1, "privacy.personal_data")
    with Index.open(path) as index:
        assert index.add_statement(first, posted_by="192.0.2.1")
        before = _row(index, first.record_id)
        assert before[1:] == ("192.0.2.1", before[0], "192.0.2.1")
        time.sleep(1.1)  # unix seconds: the later copy's time differs
        assert index.add_statement(later)  # a caller that does not say who: "unknown"
        added_at, added_by, first_at, first_by = _row(index, first.record_id)
        assert (added_by, first_at, first_by) == ("unknown", before[0], "192.0.2.1") and added_at > first_at
        assert _fields(index, first) == {"copyright.license", "privacy.personal_data"}


def test_the_quota_counts_new_records_of_a_publisher_not_copies(index_target):
    other = "0x" + "cd" * 20
    with Index.open(index_target) as index:
        assert index.add_statement(_copy(1, "a"), quota=2) and index.add_statement(_copy(2, "a"), quota=2)
        assert not index.add_statement(_copy(3, "a"), quota=2)  # a third record: refused, nothing stored
        assert index.statement(_copy(3, "a").record_id) is None and index.statements_kept(PUBLISHER) == 2
        assert index.add_statement(_copy(1, "b"), quota=2)  # a copy of a kept record is no new Statement
        assert _fields(index, _copy(1, "a")) == {"a", "b"}
        assert index.add_statement(_copy(3, "a", other), quota=2)  # another publisher has its own quota
        assert index.statements_kept(PUBLISHER.upper().replace("0X", "0x")) == 2
        assert index.statements_kept(other) == 1


# The statements table as schema versions 2 to 4 made it.
_STATEMENTS_V4 = """CREATE TABLE statements (
    record_id TEXT PRIMARY KEY, subject TEXT NOT NULL, publisher TEXT NOT NULL, statement TEXT NOT NULL,
    added_at INTEGER NOT NULL
)"""


def test_an_index_of_schema_version_4_opens_and_migrates(tmp_path):
    import json

    from provenance.index import _SCHEMA, _statements

    # 9 adds meta's content counter, 8 keeps Statements deflated, 7 adds record_parents, 6 the batch_ tables
    # (left out below), 5 what is tested
    assert SCHEMA_VERSION == 9
    path = tmp_path / "v4.sqlite"
    kept = _copy(7, "copyright.license")
    with sqlite3.connect(path) as db:  # version 4's file: today's schema but the statements table
        for statement in _statements(_SCHEMA):
            if statement.startswith("CREATE TABLE IF NOT EXISTS statements"):
                statement = _STATEMENTS_V4
            if "statements_publisher" not in statement and "batch_" not in statement:
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '4')")
        db.execute(
            "INSERT INTO statements VALUES (?,?,?,?,?)",
            ("0x" + kept.record_id.hex(), "0x" + kept.subject.hex(), kept.publisher, json.dumps(kept.to_json()),
             1_700_000_000),
        )
    db.close()
    with Index.open(path) as index:
        assert index.statement(kept.record_id) == kept and index.statements_kept(PUBLISHER) == 1
        assert _row(index, kept.record_id) == (1_700_000_000, "unknown", None, "unknown")  # the first: not known
        assert index.add_statement(_copy(7, "privacy.personal_data"), posted_by="198.51.100.7", quota=1)
        added_at, added_by, first_at, first_by = _row(index, kept.record_id)
        assert added_at > 1_700_000_000 and (added_by, first_at, first_by) == ("198.51.100.7", None, "unknown")
        assert _fields(index, kept) == {"copyright.license", "privacy.personal_data"}
        assert not index.add_statement(_copy(8, "a"), quota=1)
        assert _kept_bytes(index, kept.record_id)[:1] != b"{"  # the JSON text read, the next copy deflated
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "statements_publisher" in indexes
    db.close()
    Index.open(path).close()  # a current file opens unchanged


def _kept_bytes(index: Index, record_id: bytes) -> bytes:
    """The ``statements.statement`` value of a record, as the database holds it."""
    with index._backend.reading() as db:
        (value,) = db.execute("SELECT statement FROM statements WHERE record_id = ?",
                              ("0x" + record_id.hex(),)).fetchone()
    return value if isinstance(value, str) else bytes(value)


def test_statements_are_kept_deflated(index_target):
    """Schema version 8: a Statement's JSON deflated, a batch member's at about a third of its size."""
    import json
    import zlib

    from eth_account import Account

    from provenance.record import Domain

    published = prepare(  # a publisher's Statement: every field disclosed with its salt and Merkle proof
        account=Account.from_key(b"\x07" * 32), domain=Domain(31337, REGISTRY), subject=b"\x09" * 32,
        claims=Claims.from_file(ROOT / "examples" / "claims" / "dataset.yaml"),
    ).statement
    with Index.open(index_target) as index:
        for statement in (_copy(1, "copyright.license"), published):
            assert index.add_statement(statement)
            kept = _kept_bytes(index, statement.record_id)
            text = json.dumps(statement.to_json()).encode()
            assert isinstance(kept, bytes) and json.loads(zlib.decompress(kept)) == statement.to_json()
            assert index.statement(statement.record_id) == statement
        assert len(kept) < len(text) / 2, (len(kept), len(text))  # disclosures, salts and proofs


def test_a_database_of_schema_version_7_keeps_its_statements_and_deflates_the_next(postgres_server):
    """PostgreSQL's migration to version 8 changes the column's type: the JSON already kept is read as its
    UTF-8 bytes, and a record's next copy is written deflated."""
    import json

    import psycopg

    url = postgres_server.new_database()
    Index.open(url).close()
    kept = _copy(7, "copyright.license")
    with psycopg.connect(url, autocommit=True) as db:  # the database as version 7 made it, one Statement kept
        db.execute("ALTER TABLE statements ALTER COLUMN statement TYPE TEXT COLLATE \"C\"")
        db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
        db.execute("INSERT INTO statements (record_id, subject, publisher, statement, added_at) VALUES"
                   " (%s, %s, %s, %s, 1700000000)", ("0x" + kept.record_id.hex(), "0x" + kept.subject.hex(),
                                                     kept.publisher, json.dumps(kept.to_json())))
    with Index.open(url) as index:
        assert index.statement(kept.record_id) == kept
        assert _kept_bytes(index, kept.record_id)[:1] == b"{"  # as it was, in bytes
        assert index.add_statement(_copy(7, "privacy.personal_data"))
        assert _kept_bytes(index, kept.record_id)[:1] != b"{"
        assert _fields(index, kept) == {"copyright.license", "privacy.personal_data"}
    with psycopg.connect(url, autocommit=True) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert db.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'statements'"
                          " AND column_name = 'statement'").fetchone() == ("bytea",)
    Index.open(url).close()  # a current database opens unchanged


def test_the_statement_quota_is_a_setting_and_a_serve_option(tmp_path):
    from cli.commands.serve import resolve
    from cli.main import build_parser

    values = {"rpc_url": "http://127.0.0.1:8545", "registry": REGISTRY, "index_path": tmp_path / "i.sqlite"}
    assert ServiceSettings(**values).statement_quota == 10_000
    for bad in (0, -1, 2.5, "7"):
        with pytest.raises(InvalidValue, match="statement_quota must be an integer >= 1"):
            ServiceSettings(**values, statement_quota=bad)
    options = ["--home", str(tmp_path), "--rpc-url", "http://127.0.0.1:8545", "--registry", REGISTRY, "serve"]
    settings = resolve(build_parser().parse_args([*options, "--statement-quota", "3"]))
    assert settings.statement_quota == 3
    assert ServiceSettings.from_json(settings.to_json()).statement_quota == 3  # reaches the workers
    assert resolve(build_parser().parse_args(options)).statement_quota == 10_000


# ---------------------------------------------------------------- through the service, on a real registry


def _dataset_claims(name: str) -> Claims:
    return Claims.from_mapping({
        "kind": "dataset", "name": name, "copyright": {"license": "CC-BY-4.0"},
        "privacy": {"personal_data": "absent"}, "disclose": ["copyright", "privacy"],
    })


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    """Three datasets of one publisher and one of another, registered directly; a factory of apps."""
    ledger = fresh_registry(anvil_url)
    make = account_factory(ledger)
    first, second = make(), make()
    root = tmp_path_factory.mktemp("statements")
    statements = []
    for number, account in enumerate((first, first, first, second)):
        data = root / f"data{number}"
        data.mkdir()
        (data / "rows.csv").write_text(f"a,b\n{number},2\n")
        publisher = Publisher(Store.open(root / f"home{number}"), ledger, account)
        statements.append(publisher.register(prepare(
            account=account, domain=ledger.domain, claims=_dataset_claims(f"acme/rows{number}"),
            manifest=Manifest.from_path(data),
        )))
    made = iter(range(1_000))

    @contextmanager
    def app_with(**overrides):
        path = root / f"index-{next(made)}.sqlite"
        app = create_app(settings_for(ledger, path, **overrides), start_indexer=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            catch_up(app)
            yield client, path

    return ledger, statements, app_with


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/" + slug) and body["status"] == status, body
    return body


def _disclosing(statement: Statement, prefix: str) -> dict:
    """A copy of the Statement disclosing only the fields under ``prefix`` (it still verifies)."""
    document = copy.deepcopy(statement.to_json())
    disclosures = document["predicate"]["disclosures"]
    document["predicate"]["disclosures"] = [d for d in disclosures if d["field"].startswith(prefix)]
    assert document["predicate"]["disclosures"] and len(document["predicate"]["disclosures"]) < len(disclosures)
    return document


@contextmanager
def _no_verification(client):
    """The worker's only verification slot taken: anything that reaches verification is a 503."""
    with client.app.state.service.verification() as granted:
        assert granted
        yield


@pytest.mark.chain
def test_a_publisher_beyond_its_quota_is_429_before_any_verification(world):
    _, (one, two, three, stranger), app_with = world
    with app_with(statement_quota=2, max_verifications=1, verification_wait=0.0) as (client, path):
        for statement in (one, two):
            assert client.post("/v1/statements", json=statement.to_json()).status_code == 201
        with _no_verification(client):
            problem = _problem(client.post("/v1/statements", json=three.to_json()), 429, "statement-quota")
            forged = three.to_json()
            forged["predicate"]["signature"] = "0x" + "11" * 65  # not even verified: the quota answers first
            _problem(client.post("/v1/statements", json=forged), 429, "statement-quota")
        assert problem["detail"] == f"publisher {one.publisher} has 2 Statements kept here, the quota is 2"
        assert (problem["publisher"], problem["kept"], problem["quota"]) == (one.publisher, 2, 2)
        assert problem["title"] == "Statement quota reached"
        index = client.app.state.service.index
        assert index.statement(three.record_id) is None and index.statements_kept(one.publisher) == 2
        # a copy of a kept record is not a new Statement: taken, and pooled with the first
        assert client.post("/v1/statements", json=_disclosing(one, "privacy.")).status_code == 201
        assert {d["field"] for d in index.statement(one.record_id).disclosures} == {
            d["field"] for d in one.disclosures
        }
        assert client.post("/v1/statements", json=stranger.to_json()).status_code == 201  # its own quota
        assert index.statements_kept(stranger.publisher) == 1
        # who posted: the TestClient's address, first and latest
        added_at, added_by, first_at, first_by = _row(index, one.record_id)
        assert (added_by, first_by) == ("testclient", "testclient") and added_at >= first_at


@pytest.mark.chain
def test_too_many_manifest_entries_or_parents_are_refused_before_any_verification(world):
    _, (one, *_), app_with = world
    with app_with(manifest_limit=3, max_verifications=1, verification_wait=0.0) as (client, _):
        with _no_verification(client):
            document = copy.deepcopy(one.to_json())
            entry = document["predicate"]["manifest"]["files"][0]
            document["predicate"]["manifest"]["files"] = [entry] * 4
            problem = _problem(client.post("/v1/statements", json=document), 413, "manifest-too-large")
            assert problem["detail"] == "the Statement's manifest lists 4 files; this service takes at most 3"
            assert problem["limit"] == 3

            document = copy.deepcopy(one.to_json())
            parents = ["0x" + os.urandom(32).hex() for _ in range(MAX_PARENTS + 1)]
            document["predicate"]["record"]["parents"] = parents
            problem = _problem(client.post("/v1/statements", json=document), 422, "invalid-statement")
            assert f"parents lists {MAX_PARENTS + 1} parents; a record has at most {MAX_PARENTS}" in problem["detail"]
        assert client.app.state.service.index.statements_kept(one.publisher) == 0  # nothing kept
        assert client.post("/v1/statements", json=one.to_json()).status_code == 201  # the slot is free again


@pytest.mark.chain
def test_the_documented_responses_name_the_quota(world):
    _, _, app_with = world
    with app_with() as (client, _):
        responses = client.get("/openapi.json").json()["paths"]["/v1/statements"]["post"]["responses"]
        assert {"201", "413", "422", "429", "503"} <= set(responses)


@pytest.mark.chain
@pytest.mark.slow
def test_provenance_serve_takes_the_quota_and_records_the_client_address(world, tmp_path):
    """Two uvicorn workers over one index, as users run the service."""
    ledger, (one, two, *_), _ = world
    port, index = free_port(), tmp_path / "index.sqlite"
    script = ROOT / ".venv" / "bin" / "provenance"
    command = [str(script), "--home", str(tmp_path / "home"), "--rpc-url", ledger.rpc_url, "--registry",
               ledger.registry, "serve", "--port", str(port), "--workers", "2", "--poll-interval", "0.2",
               "--index", str(index), "--statement-quota", "1"]
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            head, deadline = ledger.block_number(), time.monotonic() + 60
            while True:  # started, and its index caught up with the registrations
                try:
                    ready = client.get("/readyz")
                    if ready.status_code == 200 and ready.json()["syncedTo"] >= head:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
                time.sleep(0.2)
            assert client.post("/v1/statements", json=_disclosing(one, "copyright.")).status_code == 201
            refused = _problem(client.post("/v1/statements", json=two.to_json()), 429, "statement-quota")
            assert refused["detail"] == f"publisher {one.publisher} has 1 Statements kept here, the quota is 1"
            assert client.post("/v1/statements", json=_disclosing(one, "privacy.")).status_code == 201
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with Index.open(index) as kept:
        added_at, added_by, first_at, first_by = _row(kept, one.record_id)
        assert (added_by, first_by) == ("127.0.0.1", "127.0.0.1") and added_at >= first_at
        assert _fields(kept, one) == {d["field"] for d in one.disclosures}
        assert kept.statement(two.record_id) is None

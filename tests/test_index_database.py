"""What an operator meets with the index's database: it stops answering, text holding a NUL, the pool's size.

- A PostgreSQL index that stops answering (``pg_ctl stop -m fast`` under a
  running ``provenance serve``): index-backed routes answer 503 with
  ``Retry-After`` naming the database, ``/readyz`` says not ready naming it,
  the indexer keeps trying (with backoff) and, once the database is started
  again, resumes: the index then holds exactly the chain's logs, none lost
  or twice, including those registered while it was down. These tests run a
  cluster of their own (``throwaway_cluster``), not the session's.
- Text from outside (a batch member's uri, who posted a Statement, why a
  batch document failed) holding a NUL is stored on both backends, escaped
  as the events' uri and reason are (PostgreSQL's text cannot hold a NUL);
  a Statement's JSON keeps the exact text.
- The pool's size is a setting (``serve --index-pool-size``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import httpx
import pytest

from api.settings import ServiceSettings
from provenance.errors import IndexUnavailable, InvalidValue
from provenance.index import Batch, Index
from provenance.ledger import Ledger
from provenance.record import Kind, Record, parse_address
from provenance.statement import Statement
from tests.helpers import ROOT, free_port
from tests.postgres import throwaway_cluster

PROBLEM = "application/problem+json"
PUBLISHER = "0x" + "ab" * 20
SUBMITTER = parse_address("0x" + "cd" * 20, "submitter")
REGISTRY = "0x" + "22" * 20


# ---------------------------------------------------------------- NUL in text from outside (both backends)


def _statement(number: int, uri: str) -> Statement:
    record = Record.create((number + 1).to_bytes(32, "big"), Kind.DATASET, b"\x02" * 32, [], uri)
    return Statement.create(
        name="sample", record=record, publisher=PUBLISHER, signature=b"\x05" * 65, chain_id=31337,
        registry=REGISTRY, disclosures=[{"field": "copyright.license", "value": "a\x00b", "salt": "0x" + "00" * 32}],
    )


def _stored(index: Index, sql: str, *params: object) -> tuple:
    with index._backend.reading() as db:
        return tuple(db.execute(sql, params).fetchone())


def test_text_holding_a_nul_is_stored_escaped_on_either_backend(index_target):
    batch = Batch(root="0x" + "11" * 32, submitter=SUBMITTER, count=1, uri="https://x.test/doc\x00.json",
                  block_number=7, block_time=None, tx_hash="0x" + "33" * 32)
    member = _statement(1, "ipfs://member\x00uri")
    posted = _statement(2, "ipfs://posted\x00uri")
    with Index.open(index_target) as index:
        index.add_batch_members(31337, REGISTRY, batch, [(0, member)], posted_by="fetched:https://x.test/\x00")
        assert index.add_statement(posted, posted_by="poster\x00")
        assert index.batch_members(batch.root, SUBMITTER) == ["0x" + member.record_id.hex()]
        assert _stored(index, "SELECT uri FROM batch_members") == ("ipfs://member\\x00uri",)
        # the Statements' JSON keeps the exact text: the record's uri and every disclosed value
        for statement in (member, posted):
            kept = index.statement(statement.record_id)
            assert kept is not None and kept.record.uri == statement.record.uri
            assert kept.disclosures[0]["value"] == "a\x00b"
        assert _stored(index, "SELECT added_by, first_added_by FROM statements WHERE record_id = ?",
                       "0x" + member.record_id.hex()) == ("fetched:https://x.test/\\x00",) * 2
        assert _stored(index, "SELECT added_by FROM statements WHERE record_id = ?",
                       "0x" + posted.record_id.hex()) == ("poster\\x00",)
        assert index.add_statement(posted, posted_by="again\x00")  # a copy: the update path
        assert _stored(index, "SELECT added_by, first_added_by FROM statements WHERE record_id = ?",
                       "0x" + posted.record_id.hex()) == ("again\\x00", "poster\\x00")

        failed = index.record_batch_document(31337, REGISTRY, batch, "invalid", reason="bad \x00 byte", retry_at=9)
        assert (failed.uri, failed.reason) == ("https://x.test/doc\\x00.json", "bad \\x00 byte")
        assert index.batch_document(batch.root, SUBMITTER) == failed


# ---------------------------------------------------------------- the pool's size


def test_the_pool_size_is_a_setting(tmp_path):
    with throwaway_cluster() as server, Index.open(server.new_database(), pool_size=3) as index:
        assert index._backend._pool.max_size == 3
    with pytest.raises(InvalidValue, match="index_pool_size"):
        ServiceSettings(rpc_url="http://127.0.0.1:8545", registry=REGISTRY, index_path=tmp_path / "i.sqlite",
                        index_pool_size=0)
    settings = ServiceSettings(rpc_url="http://127.0.0.1:8545", registry=REGISTRY, index_path=tmp_path / "i.sqlite")
    assert settings.index_pool_size == 16
    assert ServiceSettings.from_json(settings.to_json()) == settings


def test_serve_refuses_a_pool_size_for_sqlite_or_below_one(tmp_path):
    script = ROOT / ".venv" / "bin" / "provenance"
    common = [str(script), "--rpc-url", "http://127.0.0.1:9", "--registry", REGISTRY, "serve"]
    env = {**os.environ, "PROVENANCE_HOME": str(tmp_path)}
    for extra, said in ((["--index-pool-size", "4"], "--index-pool-size is for a PostgreSQL --index"),
                        (["--index", "postgresql://u@/db?host=/nonexistent", "--index-pool-size", "0"],
                         "--index-pool-size must be at least 1")):
        done = subprocess.run(common + extra, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2 and said in done.stderr, done.stderr


# ---------------------------------------------------------------- the database stops answering


def test_an_index_whose_database_stops_answers_unavailable_and_recovers(tmp_path):
    with throwaway_cluster() as server:
        index = Index.open(server.new_database(), pool_size=2)
        try:
            lock = index.indexer_lock()
            assert lock.held() and index.cursor(1, REGISTRY) is None
            server.stop("fast")
            for _ in range(3):  # pooled connections found dead, then none to be had: each answers promptly
                began = time.monotonic()
                with pytest.raises(IndexUnavailable, match="index database .* does not answer") as raised:
                    index.cursor(1, REGISTRY)
                assert time.monotonic() - began < 8
                assert raised.value.location == index.location
            assert not lock.held()  # its session ended with the server: the lock is lost, and said so
            with pytest.raises(IndexUnavailable):
                lock.held()  # no session can be had
            server.start_again()
            deadline = time.monotonic() + 30
            while True:  # the pool connects again by itself
                try:
                    assert index.cursor(1, REGISTRY) is None
                    break
                except IndexUnavailable:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            assert lock.held()
            lock.release()
        finally:
            index.close()


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.TransportError as err:
            last = err
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _record(seed: int) -> Record:
    return Record.create(subject=(seed + 1).to_bytes(2, "big") * 16, kind=Kind.MODEL,
                         claims_root=bytes([seed + 1]) * 32, parents=[], uri=f"ipfs://outage-{seed}")


@pytest.mark.chain
@pytest.mark.slow
def test_serve_answers_503_while_its_database_is_stopped_and_resumes_with_no_event_lost(
    tmp_path, anvil_url, ledger, make_account
):
    publisher = make_account()
    writer = Ledger.connect(anvil_url, ledger.registry)
    for seed in range(5):
        writer.register(publisher, _record(seed))
    port = free_port()
    with throwaway_cluster() as server:
        url = server.new_database()
        log_path = tmp_path / "serve.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "provenance"), "--rpc-url", anvil_url, "--registry", ledger.registry,
                 "serve", "--port", str(port), "--index", url, "--index-pool-size", "4", "--poll-interval", "0.2",
                 "--start-block", str(ledger.deploy_block or 0)],
                env={**os.environ, "PROVENANCE_HOME": str(tmp_path / "home")}, cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        stop = threading.Event()
        sent: list[int] = []

        def register() -> None:  # events keep arriving while the database is down
            for seed in range(5, 25):
                if stop.is_set():
                    return
                writer.register(publisher, _record(seed))
                sent.append(seed)
                time.sleep(0.1)

        thread = threading.Thread(target=register, daemon=True)
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20)
            head = ledger.block_number()
            _wait(lambda: (r := client.get("/readyz")).status_code == 200 and r.json()["syncedTo"] >= head,
                  60, "the service to index the first records")
            subject = "0x" + _record(0).subject.hex()
            for _ in range(2):  # the second is answered from memory (api.answers.Shortcut)
                assert client.get(f"/v1/artifacts/{subject}").status_code == 200

            server.stop("fast")
            thread.start()
            for path in (f"/v1/artifacts/{subject}", f"/v1/artifacts/0x{'77' * 32}", "/v1/publishers"):
                began = time.monotonic()
                answer = client.get(path)
                assert answer.status_code == 503, (path, answer.text)
                assert time.monotonic() - began < 10
                assert answer.headers["content-type"] == PROBLEM and answer.headers["retry-after"] == "5"
                problem = answer.json()
                assert problem["type"].endswith("/index-unavailable"), problem
                assert "index database" in problem["detail"] and "does not answer" in problem["detail"]
                assert problem["waitingFor"].startswith("the index database postgresql://")
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.headers["retry-after"] == "5", ready.text
            assert ready.json()["type"].endswith("/index-unavailable")
            assert "the index database postgresql://" in ready.json()["detail"]
            assert client.get("/healthz").status_code == 200  # the process itself answers
            _wait(lambda: len(sent) >= 8, 60, "registrations while the database is down")
            time.sleep(1.0)  # a few of the indexer's tries fail meanwhile

            server.start_again()
            thread.join(timeout=60)
            assert not thread.is_alive() and len(sent) == 20
            head = ledger.block_number()
            _wait(lambda: (r := client.get("/readyz")).status_code == 200 and r.json()["syncedTo"] >= head,
                  90, "the service to resume indexing")
            assert client.get(f"/v1/artifacts/{subject}").status_code == 200
            last = "0x" + _record(24).subject.hex()
            assert client.get(f"/v1/artifacts/{last}").status_code == 200

            chain = ledger.events(ledger.deploy_block or 0, head)
            with Index.open(url) as index:
                kept = index.events(limit=10_000)
            assert sorted((e.tx_hash, e.log_index) for e in kept) == sorted(
                ("0x" + bytes(e.tx_hash).hex(), e.log_index) for e in chain)  # none lost, none twice
            assert sum(e.event == "RecordRegistered" for e in kept) == 25
            text = log_path.read_text(errors="replace")
            assert "does not answer" in text and "retrying with backoff" in text, text[-3000:]
            assert "answers again" in text, text[-3000:]
            assert "Traceback" not in text, text[-5000:]
        finally:
            stop.set()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

"""Several `provenance serve` replicas on one PostgreSQL index: one indexes, all answer, another takes over.

Two real replicas (separate processes, as behind a load balancer) follow one
registry on anvil into one PostgreSQL database. The one holding the advisory
lock is killed (SIGKILL: no goodbye to the database) while registrations keep
arriving; the other takes the lock within seconds and indexes on, and the
index then holds exactly the chain's logs: none lost, none twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from provenance.index import Index
from provenance.ledger import Ledger
from provenance.record import Kind, Record
from tests.helpers import ROOT, free_port

pytestmark = [pytest.mark.chain, pytest.mark.slow]

_INDEXER = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'provenance-indexer-%'"
)


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


def _serve(home: Path, url: str, anvil_url: str, ledger: Ledger) -> tuple[subprocess.Popen, str]:
    port = free_port()
    script = ROOT / ".venv" / "bin" / "provenance"
    home.mkdir(parents=True)
    with open(home / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [str(script), "--rpc-url", anvil_url, "--registry", ledger.registry, "serve", "--port", str(port),
             "--index", url, "--poll-interval", "0.2", "--start-block", str(ledger.deploy_block or 0)],
            env={**os.environ, "PROVENANCE_HOME": str(home)}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}"


def _indexing_pid(url: str) -> int | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(_INDEXER).fetchall()
    assert len(rows) <= 1, rows  # exactly one holder, or none between two holders
    return int(rows[0][0].rsplit("-", 1)[1]) if rows else None


def test_a_killed_indexing_replica_is_taken_over_with_no_event_lost_or_doubled(
    tmp_path, anvil_url, ledger, make_account, postgres_server
):
    url = postgres_server.new_database()
    replicas = [_serve(tmp_path / f"replica{i}", url, anvil_url, ledger) for i in range(2)]
    publisher = make_account()
    writer = Ledger.connect(anvil_url, ledger.registry)
    sent: list[int] = []
    stop = threading.Event()

    def register() -> None:  # events keep arriving, before, during and after the kill
        for seed in range(60):
            if stop.is_set():
                return
            record = Record.create(subject=(seed + 1).to_bytes(2, "big") * 16, kind=Kind.MODEL,
                                   claims_root=bytes([seed + 1]) * 32, parents=[], uri=f"ipfs://replica-{seed}")
            writer.register(publisher, record)
            sent.append(seed)
            time.sleep(0.05)

    thread = threading.Thread(target=register, daemon=True)
    try:
        clients = [httpx.Client(base_url=base, timeout=10) for _, base in replicas]
        for client in clients:
            _wait(lambda c=client: c.get("/healthz").status_code == 200, 60, "a replica to start")
        holder = _wait(lambda: _indexing_pid(url), 30, "one replica to take the indexer lock")
        by_pid = {process.pid: (process, client) for (process, _), client in zip(replicas, clients, strict=True)}
        assert holder in by_pid
        (other_pid,) = set(by_pid) - {holder}
        # every replica answers from the one index; the one that does not index is ready by its lag
        head = ledger.block_number()
        ready = _wait(lambda: (r := by_pid[other_pid][1].get("/readyz")).status_code == 200
                      and r.json()["syncedTo"] >= head and r.json(), 30, "the other replica to be ready")
        assert ready["lag"] <= 5

        thread.start()
        _wait(lambda: len(sent) >= 15, 60, "registrations to arrive")
        os.killpg(holder, signal.SIGKILL)
        by_pid[holder][0].wait(timeout=10)
        killed_at = time.monotonic()
        taken = _wait(lambda: _indexing_pid(url) == other_pid, 15, "the other replica to take over")
        assert taken and time.monotonic() - killed_at < 10
        assert len(sent) < 60  # the takeover happened while events were still arriving
        thread.join(timeout=60)
        assert not thread.is_alive() and len(sent) == 60

        head = ledger.block_number()
        survivor = by_pid[other_pid][1]
        _wait(lambda: (r := survivor.get("/readyz")).status_code == 200 and r.json()["syncedTo"] >= head,
              30, "the survivor to index the rest")
        chain = ledger.events(ledger.deploy_block or 0, head)
        with Index.open(url) as index:
            kept = index.events(limit=10_000)
            assert index.cursor(ledger.chain_id, ledger.registry) >= head
        assert sorted((e.tx_hash, e.log_index) for e in kept) == sorted(
            ("0x" + bytes(e.tx_hash).hex(), e.log_index) for e in chain)  # none lost, none twice
        assert sum(e.event == "RecordRegistered" for e in kept) == 60
        log = (tmp_path / f"replica{list(by_pid).index(other_pid)}" / "serve.log").read_text(errors="replace")
        assert "this process indexes" in log, log[-3000:]
    finally:
        stop.set()
        for process, _ in replicas:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

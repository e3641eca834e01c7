"""A long sync reads its ranges in a process of its own (provenance._rangereader, issue 17).

- through a real anvil: a sync over more than PROCESS_FROM_BLOCKS blocks reads through the process and stores
  exactly what a sync read in one process stores (every table, row for row), and the process is gone after;
- the process killed mid-sync: the indexer reads on by itself, nothing lost or stored twice; the indexer
  killed mid-sync (another process, behind a slow proxy): its reading process ends too, and the next sync
  completes the index;
- a range the process cannot hand over (a value marshal does not carry) is read by the indexer itself;
- a range the node refuses (behind tests/rpc_proxy.py) is raised here and shrinks the range as in one process;
- a canned node: an error the process meets is raised here with its type, message and named limit, a log it
  could not decode is logged here and counted; a ledger-like object that cannot be rebuilt in another
  process is read in this one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3

import pytest

import provenance.indexer as indexer_module
from provenance._rangereader import ReaderProcess
from provenance.errors import LogRangeRefused, RpcError
from provenance.index import Index
from provenance.indexer import PROCESS_FROM_BLOCKS, Indexer
from tests.helpers import account_factory, free_port, start_anvil
from tests.rpc_proxy import Faults, RpcProxy
from tests.test_rpc_faults import canned

TABLES = {
    "events": "chain_id, registry, tx_hash, log_index",
    "blocks": "chain_id, registry, number",
    "record_parents": "chain_id, registry, record_id, parent, block_number",
    "cursors": "chain_id, registry",
}


@pytest.fixture(scope="module")
def chain():
    """An anvil of this module's own: records registered (with parents), revoked and endorsed in three bursts
    separated by 700 empty blocks, so that a sync from the registry's block spans more than
    PROCESS_FROM_BLOCKS blocks and several ranges hold events."""
    from provenance.ledger import Ledger
    from provenance.record import Kind, Record, parse_address

    port = free_port()
    node = start_anvil(port)
    url = f"http://127.0.0.1:{port}"
    try:
        ledger = Ledger.connect(url, timeout=120)
        ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
        make = account_factory(ledger)
        publisher, auditor = make(), make()
        n = 0
        for burst in range(3):
            for _ in range(6):
                n += 1
                parents = [bytes([n - 1]) * 32, bytes([200]) * 32] if n > 1 else []
                record = Record.create(bytes([n]) * 32, Kind.MODEL, bytes([n]) * 32, parents, f"ipfs://bafy-{n}")
                ledger.register(publisher, record)
                record_id = record.record_id(publisher.address)
                if n % 3 == 0:
                    ledger.endorse(auditor, record_id, bytes([n]) * 32, f"ipfs://review-{n}")
                if n % 4 == 0:
                    ledger.revoke(publisher, record_id, f"withdrawn {n}")
            if burst < 2:
                ledger.rpc("anvil_mine", [hex(700)])
        assert ledger.block_number() > PROCESS_FROM_BLOCKS
        yield ledger
    finally:
        node.terminate()
        node.wait(timeout=20)


def _tables(path) -> dict[str, list[tuple]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall() for table, key in TABLES.items()}


@pytest.fixture
def reference(chain, tmp_path, monkeypatch):
    """The index a sync read in this process stores."""
    with monkeypatch.context() as m:
        m.setattr(indexer_module, "PROCESS_FROM_BLOCKS", 10**12)
        started = _watch_starts(m)
        with Index.open(tmp_path / "reference.sqlite") as index:
            Indexer(index, chain, batch_size=300).sync()
        assert started == []
    return _tables(tmp_path / "reference.sqlite")


def _watch_starts(monkeypatch) -> list[ReaderProcess | None]:
    """The reading processes syncs start from now on (None: one could not start)."""
    started: list[ReaderProcess | None] = []
    real = ReaderProcess.start.__func__

    def start(cls, *args):
        started.append(real(cls, *args))
        return started[-1]

    monkeypatch.setattr(ReaderProcess, "start", classmethod(start))
    return started


@pytest.mark.chain
def test_a_long_sync_reads_in_a_process_and_stores_what_one_process_stores(chain, reference, tmp_path, monkeypatch):
    started = _watch_starts(monkeypatch)
    reads = []
    real_read = ReaderProcess.read

    def read(self, start, end):
        reads.append((start, end))
        return real_read(self, start, end)

    monkeypatch.setattr(ReaderProcess, "read", read)
    with Index.open(tmp_path / "i.sqlite") as index:
        result = Indexer(index, chain, batch_size=300).sync()
    assert len(started) == 1 and started[0] is not None
    assert len(reads) >= 4  # every range but the first (read here while the process starts)
    assert result.events == len(reference["events"]) and result.to_block == chain.block_number()
    assert _tables(tmp_path / "i.sqlite") == reference
    assert reference["record_parents"] and any(row[5] == "RecordRevoked" for row in reference["events"])
    assert started[0]._proc.poll() is not None  # ended with the sync

    again = Index.open(tmp_path / "i.sqlite")  # a second sync has nothing left to read: no process
    with again:
        assert Indexer(again, chain).sync().events == 0
    assert len(started) == 1


@pytest.mark.chain
def test_a_reading_process_killed_mid_sync_loses_and_doubles_nothing(chain, reference, tmp_path, monkeypatch, caplog):
    real_read = ReaderProcess.read
    answered = []

    def read(self, start, end):
        if len(answered) == 1:  # after its first answer, the process dies
            self._proc.kill()
            self._proc.wait()
        answered.append((start, end))
        return real_read(self, start, end)

    monkeypatch.setattr(ReaderProcess, "read", read)
    with caplog.at_level(logging.WARNING, logger="provenance.indexer"), Index.open(tmp_path / "i.sqlite") as index:
        result = Indexer(index, chain, batch_size=300).sync()
    assert len(answered) == 2  # the process is not asked again once it has gone
    assert any("ended" in r.getMessage() and "reads on" in r.getMessage() for r in caplog.records)
    assert result.events == len(reference["events"])
    assert _tables(tmp_path / "i.sqlite") == reference


@pytest.mark.chain
def test_a_range_refused_in_the_reading_process_shrinks_the_range_here(chain, reference, tmp_path, monkeypatch):
    from provenance.ledger import Ledger

    started = _watch_starts(monkeypatch)
    faults = Faults(max_block_range=400, range_style="infura")
    with RpcProxy(chain.rpc_url, faults) as proxy, Index.open(tmp_path / "i.sqlite") as index:
        indexer = Indexer(index, Ledger.connect(proxy.url, chain.registry), batch_size=2_000)
        result = indexer.sync()
        assert proxy.counts["range refused"] >= 1
    assert started and started[0] is not None
    assert indexer.range.limit == 400  # the limit the node named, learnt from the process's error
    assert result.events == len(reference["events"])
    assert _with_events_only(_tables(tmp_path / "i.sqlite")) == _with_events_only(reference)


def _with_events_only(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """``tables`` without the blocks kept only as the ends of ranges (they differ as the ranges do)."""
    return {**tables, "blocks": [row for row in tables["blocks"] if row[4] is not None]}


# ---------------------------------------------------------------- a canned node

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@contextlib.contextmanager
def canned_node(logs_answer):
    """A node answering blocks and their timestamps, and eth_getLogs with ``logs_answer`` (a JSON-RPC
    result, or an ``{"error": ...}``); yields its URL."""

    def one(request):
        method = request["method"]
        if method == "eth_getLogs":
            answer = logs_answer
        elif method in ("eth_getBlockByNumber", "eth_getBlockByHash"):
            answer = {"result": {"hash": "0x" + "ab" * 32, "number": "0x5", "timestamp": "0x64"}}
        else:
            answer = {"error": {"code": -32601, "message": "method not found"}}
        return {"jsonrpc": "2.0", "id": request["id"], **answer}

    def answers(_n, request):
        body = [one(r) for r in request] if isinstance(request, list) else one(request)
        return 200, {}, json.dumps(body).encode()

    with canned(answers) as (url, _seen):
        yield url


def _reader(url):
    from provenance._rpc import Retry
    from provenance.ledger import Ledger

    ledger = Ledger(None, url, 31337, REGISTRY, timeout=5, retry=Retry(attempts=1))
    reader = ReaderProcess.start(ledger, 31337, REGISTRY)
    assert reader is not None
    return reader


def test_a_log_the_reading_process_cannot_decode_is_logged_here_and_counted(caplog):
    from provenance._logs import Decoder
    from provenance.ledger import registry_artifact

    topic = "0x" + next(iter(Decoder(registry_artifact()["abi"]).events)).hex()  # an event of the registry's, no data
    log = {"address": REGISTRY, "topics": [topic], "data": "0x", "blockNumber": "0x5", "blockHash": "0x" + "ab" * 32,
           "transactionHash": "0x" + "cd" * 32, "logIndex": "0x0", "removed": False}
    with canned_node({"result": [log]}) as url, caplog.at_level(logging.WARNING):
        reader = _reader(url)
        try:
            read = reader.read(0, 5)
        finally:
            reader.close()
    assert read is not None and read.rows == [] and len(read.anomalies) == 1
    assert read.anomalies[0].tx_hash == bytes.fromhex("cd" * 32) and read.blocks == {5: ("0x" + "ab" * 32, None)}
    warned = [r for r in caplog.records if r.name == "provenance.logs"]
    assert len(warned) == 1 and "does not fit the ABI" in warned[0].getMessage()


def test_an_error_the_reading_process_meets_is_raised_here_as_it_was_raised_there():
    refusal = {"error": {"code": -32602, "message": "range 6 exceeds limit of 3"}}
    with canned_node(refusal) as url:
        reader = _reader(url)
        try:
            with pytest.raises(LogRangeRefused) as refused:
                reader.read(0, 5)
            assert refused.value.limit == 3 and "exceeds limit of 3" in str(refused.value)
            assert any("reading process" in note for note in refused.value.__notes__)
            with pytest.raises(LogRangeRefused):  # the process is still there, and asked again
                reader.read(0, 5)
        finally:
            reader.close()
    with canned_node({"error": {"code": -32603, "message": "internal error"}}) as url:
        reader = _reader(url)
        try:
            with pytest.raises(RpcError, match="internal error"):
                reader.read(0, 5)
        finally:
            reader.close()


def test_a_ledger_that_cannot_be_rebuilt_elsewhere_is_read_in_this_process():
    class LooksLikeALedger:
        rpc_url = "http://127.0.0.1:1"

    assert ReaderProcess.start(LooksLikeALedger(), 31337, REGISTRY) is None


# ---------------------------------------------------------------- a range the process cannot hand over


class _OddText(str):
    """A str subclass: marshal carries exact types only."""


def test_a_range_with_a_value_marshal_cannot_carry_is_handed_back_to_be_read_here(tmp_path):
    import io
    import marshal

    from provenance._rangereader import _LENGTH, _answer
    from provenance.indexer import RangeRead

    plain = RangeRead(7, [(1, "0xab", None)], [], {7: ("0x" + "ab" * 32, 100)}, [])
    odd = RangeRead(7, [(1, _OddText("0xab"), None)], [], {7: ("0x" + "ab" * 32, 100)}, [])
    records = [("provenance.logs", logging.WARNING, "a record")]
    assert marshal.loads(_answer(plain, records))[0] == 0 and marshal.loads(_answer(odd, records))[0] == 2

    class Answered:  # a process that has answered the odd range
        stdin = io.BytesIO()
        stdout = io.BytesIO(_LENGTH.pack(len(_answer(odd, records))) + _answer(odd, records))

        def poll(self):
            return None

    reader = ReaderProcess(Answered())
    assert reader.read(0, 7) is None and not reader.gone  # read it yourself; the process is still there


@pytest.mark.chain
def test_the_indexer_reads_a_range_the_process_hands_back(chain, reference, tmp_path, monkeypatch):
    real_read = ReaderProcess.read
    handed_back = []

    def read(self, start, end):
        answer = real_read(self, start, end)
        if not handed_back:
            handed_back.append((start, end))
            return None
        return answer

    monkeypatch.setattr(ReaderProcess, "read", read)
    with Index.open(tmp_path / "i.sqlite") as index:
        result = Indexer(index, chain, batch_size=300).sync()
    assert handed_back and result.events == len(reference["events"])
    assert _tables(tmp_path / "i.sqlite") == reference


# ---------------------------------------------------------------- the indexing process killed


def _reading_children(pid: int) -> list[int]:
    """The reading processes (python -c ... provenance._rangereader) whose parent is ``pid``."""
    from pathlib import Path

    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"provenance._rangereader" in command:
            found.append(int(proc.name))
    return found


@pytest.mark.chain
def test_an_indexer_killed_mid_sync_leaves_no_reading_process_and_the_next_sync_completes(chain, reference, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import ROOT

    slow = Faults(latency=0.2)  # a sync of several seconds: time to kill it mid-way
    with RpcProxy(chain.rpc_url, slow) as proxy:
        code = (
            "import sys\n"
            "from pathlib import Path\n"
            "from provenance.index import Index\n"
            "from provenance.indexer import Indexer\n"
            "from provenance.ledger import Ledger\n"
            f"ledger = Ledger.connect({proxy.url!r}, {chain.registry!r})\n"
            f"Indexer(Index.open(Path({str(tmp_path / 'i.sqlite')!r})), ledger, batch_size=300).sync()\n"
        )
        indexing = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while not (children := _reading_children(indexing.pid)) or not _stored(tmp_path / "i.sqlite"):
                assert indexing.poll() is None and time.monotonic() < deadline, "no range stored by a reading process"
                time.sleep(0.02)
            os.kill(indexing.pid, signal.SIGKILL)  # mid-sync: a range stored, the process reading others
            indexing.wait()
        finally:
            if indexing.poll() is None:
                indexing.kill()
                indexing.wait()
        deadline = time.monotonic() + 10  # the orphan ends at its next read or answer (the pipes are closed)
        while any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in children):
            assert time.monotonic() < deadline, f"reading processes {children} outlived the indexer"
            time.sleep(0.02)
    with Index.open(tmp_path / "i.sqlite") as index:
        assert 0 < index.count() < len(reference["events"])  # killed before the end
        Indexer(index, chain, batch_size=300).sync()
    assert _with_events_only(_tables(tmp_path / "i.sqlite")) == _with_events_only(reference)


def _stored(path) -> bool:
    """Whether the index file at ``path`` holds a stored range (read while another process writes it)."""
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute("SELECT count(*) FROM cursors").fetchone()[0] > 0
    except sqlite3.Error:  # not yet made
        return False


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by its new parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_errors_made_from_other_arguments_than_their_message_come_back_the_same():
    """``LedgerUnavailable(url, detail)`` and ``RateLimited`` make their message from their arguments: raised by
    the reading process, they say what they say in one process (pickle alone would rebuild them from the
    message, as if it were the URL), with their attributes."""
    from provenance._rpc import Retry
    from provenance.errors import LedgerUnavailable, RateLimited
    from provenance.indexer import RangeReader
    from provenance.ledger import Ledger

    def both(url):
        ledger = Ledger(None, url, 31337, REGISTRY, timeout=2, retry=Retry(attempts=1))
        with pytest.raises(LedgerUnavailable) as here:
            RangeReader(ledger, 31337, REGISTRY).read(0, 5)
        reader = ReaderProcess.start(ledger, 31337, REGISTRY)
        assert reader is not None
        try:
            with pytest.raises(LedgerUnavailable) as there:
                reader.read(0, 5)
        finally:
            reader.close()
        assert type(there.value) is type(here.value) and str(there.value) == str(here.value)
        assert (there.value.url, there.value.hint) == (here.value.url, here.value.hint)
        return there.value

    down = both(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert "does not answer" in str(down) and "127.0.0.1" in str(down)

    def too_many(_n, request):
        return 429, {"Retry-After": "7"}, json.dumps({"jsonrpc": "2.0", "id": 1, "error": {
            "code": 429, "message": "slow down"}}).encode()

    with canned(too_many) as (url, _seen):
        limited = both(url)
    assert isinstance(limited, RateLimited) and limited.retry_after == 7

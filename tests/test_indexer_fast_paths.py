"""The indexer's speed-ups keep behaviour: the collector is always switched back, rows are as before,
the SQLite index's WAL is copied back by its own thread.

No chain: the collector pause is a context manager, an event row is a pure function of its event, and the
checkpointer is watched through the database file's size.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time

import pytest

from provenance._logs import AbiText, ChainEvent
from provenance._sql import CHECKPOINT_BACKSTOP_PAGES, CHECKPOINT_PAGES, SQLiteBackend
from provenance.index import _row
from provenance.indexer import _collector_paused


def test_the_collector_is_back_on_after_a_range_even_when_it_fails():
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("the node went away")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_two_indexers_in_one_process_switch_it_back_once_both_are_done():
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with _collector_paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    with _collector_paused():
        pass
    assert not gc.isenabled()  # the other indexer is still inside its range
    leave.set()
    thread.join(10)
    assert gc.isenabled()


@pytest.mark.parametrize("parents", [[], [bytes(32)], [bytes(31) + b"\x01", b"\xff" * 32, bytes(range(32))]])
def test_parents_are_stored_as_json_dumps_writes_them(parents):
    event = ChainEvent("RecordRegistered", {
        "recordId": b"\x01" * 32, "publisher": "0x" + "ab" * 20, "subject": b"\x02" * 32, "kind": 1,
        "claimsRoot": b"\x03" * 32, "parents": parents, "uri": AbiText(b"ipfs://\xff\x00"),
    }, 7, b"\x04" * 32, b"\x05" * 32, 3)
    row = _row(event, 31337, "0x" + "cd" * 20)
    assert row[11] == json.dumps(["0x" + p.hex() for p in parents])
    assert row[4] == "0x" + "05" * 32 and row[6] == "0x" + "01" * 32 and row[8] == "0x" + "02" * 32
    assert (row[12], row[22]) == ("ipfs://\\xff\\x00", "0x" + b"ipfs://\xff\x00".hex())


def _checkpointing() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "provenance-index-checkpoint"]


def test_the_wal_is_copied_back_by_a_thread_of_its_own_not_by_the_committing_one(tmp_path):
    backend = SQLiteBackend(tmp_path / "index.sqlite")
    try:  # a bare file, without the index's tables: no content counter to move (content=False)
        with backend.writing(content=False) as db:
            db.execute("CREATE TABLE filler (x BLOB)")
        assert _checkpointing() == []  # a little written: no thread
        pages = CHECKPOINT_PAGES * 3  # past the checkpointer's threshold, well under the writer's own
        for _ in range(pages // 256):
            with backend.writing(content=False) as db:
                db.execute("INSERT INTO filler VALUES (randomblob(256 * 4096))")
        assert len(_checkpointing()) == 1
        assert (pages // 256) * 256 < CHECKPOINT_BACKSTOP_PAGES
        # the database file grows only as pages are copied back from the WAL: by the checkpointer here
        deadline = time.monotonic() + 10
        while os.path.getsize(tmp_path / "index.sqlite") < CHECKPOINT_PAGES * 4096:
            assert time.monotonic() < deadline, "the checkpointer copied nothing back"
            time.sleep(0.05)
    finally:
        backend.close()
    assert _checkpointing() == []  # closing stops it
    reopened = SQLiteBackend(tmp_path / "index.sqlite")
    try:
        with reopened.reading() as db:
            assert db.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == pages // 256
    finally:
        reopened.close()

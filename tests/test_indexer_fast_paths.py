"""The indexer's speed-ups keep behaviour: the collector is always switched back, rows are as before.

No chain: the collector pause is a context manager, and an event row is a pure function of its event.
"""

from __future__ import annotations

import gc
import json
import threading

import pytest

from provenance._logs import AbiText, ChainEvent
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

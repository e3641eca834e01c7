"""Finality: a journaled transaction counts once its block has the network's confirmations, and a
reorganisation that drops it makes the journal send the very same transaction again.

Each test runs its own anvil: they revert its chain (evm_snapshot / evm_revert, anvil_reorg), which
would pull the shared node from under other tests.
"""

from __future__ import annotations

import threading
import time

import pytest

from provenance.journal import Journal
from provenance.record import Kind, Record
from tests.helpers import account_factory, free_port, fresh_registry, start_anvil

pytestmark = pytest.mark.chain


@pytest.fixture
def node():
    port = free_port()
    process = start_anvil(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _record(seed: int) -> Record:
    return Record.create(bytes([seed]) * 32, Kind.MODEL, bytes([seed + 1]) * 32, [], "")


class _Driven(threading.Thread):
    """``work()`` in a thread, its result or error kept (SQLite connections stay in their thread: the work
    opens its own journal)."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self._work = work
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self._work()
        except BaseException as err:  # handed to the test, which raises it
            self.error = err


def _mine_until_done(ledger, driven: _Driven, limit: float = 30.0) -> None:
    """Mine empty blocks (anvil mines only on transactions) until the thread ends."""
    deadline = time.monotonic() + limit
    while driven.is_alive():
        assert time.monotonic() < deadline, "the journal never called the transaction final"
        ledger.rpc("evm_mine")
        time.sleep(0.1)
    if driven.error is not None:
        raise driven.error


def _wait_receipt(ledger, tx_hash: bytes, limit: float = 20.0):
    deadline = time.monotonic() + limit
    while (receipt := ledger.receipt(tx_hash)) is None:
        assert time.monotonic() < deadline, "the transaction was never mined"
        time.sleep(0.02)
    return receipt


def test_final_only_after_the_confirmations(tmp_path, node):
    ledger = fresh_registry(node)
    ledger.confirmations = 3
    publisher = account_factory(ledger)()
    journal = Journal.open(tmp_path / "journal.sqlite")
    nonce = journal.next_nonce(ledger, publisher.address)
    tx = ledger.prepare(publisher, "register", _record(1).as_tuple(), nonce=nonce)
    journal.record(tx, ledger.chain_id, "r1")
    driven = _Driven(lambda: Journal.open(tmp_path / "journal.sqlite").drive(ledger, tx))
    driven.start()
    mined = _wait_receipt(ledger, tx.tx_hash)
    time.sleep(0.5)
    assert driven.is_alive(), driven.error  # mined but not final: no block on top yet
    assert Journal.open(tmp_path / "journal.sqlite").entry(tx.tx_hash).status == "sent"
    _mine_until_done(ledger, driven)
    assert driven.result.block_hash == mined.block_hash
    assert ledger.block_number() >= mined.block_number + 3
    assert journal.entry(tx.tx_hash).status == "mined"


@pytest.mark.parametrize("reorganise", ["anvil_reorg", "evm_revert"])
def test_a_receipt_reorganised_away_is_sent_again(tmp_path, node, reorganise):
    """anvil_reorg replaces the block holding it by one without it (same height; the transaction is dropped,
    not put back in the pool); evm_revert takes the chain back to before it."""
    ledger = fresh_registry(node)
    ledger.confirmations = 2
    publisher = account_factory(ledger)()
    record = _record(3)
    journal = Journal.open(tmp_path / "journal.sqlite")
    tx = ledger.prepare(publisher, "register", record.as_tuple(), nonce=journal.next_nonce(ledger, publisher.address))
    journal.record(tx, ledger.chain_id, "r3")
    sent = []
    broadcast = ledger.broadcast
    ledger.broadcast = lambda signed: (sent.append(signed.raw), broadcast(signed))[1]
    snapshot = ledger.rpc("evm_snapshot")
    driven = _Driven(lambda: Journal.open(tmp_path / "journal.sqlite").drive(ledger, tx))
    driven.start()
    orphaned = _wait_receipt(ledger, tx.tx_hash)
    if reorganise == "anvil_reorg":
        ledger.rpc("anvil_reorg", [1, []])
        assert ledger.block_hash(orphaned.block_number) != orphaned.block_hash
    else:
        assert ledger.rpc("evm_revert", [snapshot])
    assert ledger.rpc("eth_getTransactionByHash", ["0x" + tx.tx_hash.hex()]) is None or len(sent) == 2
    _mine_until_done(ledger, driven)

    final = driven.result
    assert final.tx_hash == tx.tx_hash  # the same signed bytes, not a second transaction
    assert len(sent) == 2 and set(sent) == {tx.raw}
    assert ledger.block_hash(final.block_number) == final.block_hash
    assert ledger.record_state(record.record_id(publisher.address)).known
    entry = journal.entry(tx.tx_hash)
    assert (entry.status, entry.block_number) == ("mined", final.block_number)
    assert ledger.pending_nonce(publisher.address) == 1


def test_resume_sends_again_what_a_reorganisation_dropped_while_away(tmp_path, node):
    ledger = fresh_registry(node)
    publisher = account_factory(ledger)()
    record = _record(5)
    path = tmp_path / "journal.sqlite"
    crashed = Journal.open(path)
    tx = ledger.prepare(publisher, "register", record.as_tuple(), nonce=crashed.next_nonce(ledger, publisher.address))
    crashed.record(tx, ledger.chain_id, "r5")
    snapshot = ledger.rpc("evm_snapshot")
    ledger.broadcast(tx)
    _wait_receipt(ledger, tx.tx_hash)
    crashed.close()  # the process dies with the transaction mined but not final
    ledger.rpc("evm_revert", [snapshot])

    ledger.confirmations = 1
    driven = _Driven(lambda: Journal.open(path).resume(ledger))
    driven.start()
    _mine_until_done(ledger, driven)
    (done,) = driven.result
    assert done.tx_hash == tx.tx_hash and done.status == "mined"
    assert ledger.record_state(record.record_id(publisher.address)).known
    assert ledger.pending_nonce(publisher.address) == 1
    assert Journal.open(path).open_entries(ledger.chain_id) == []

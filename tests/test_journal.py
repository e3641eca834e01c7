"""The journal against a real anvil: resume after a crash, and a node that goes away."""

from __future__ import annotations

import pytest

from provenance.errors import LedgerUnavailable
from provenance.journal import Journal
from provenance.ledger import Ledger
from provenance.record import Kind, Record, parse_address
from tests.helpers import free_port, start_anvil

pytestmark = pytest.mark.chain


def _record(seed: int) -> Record:
    return Record.create(bytes([seed]) * 32, Kind.MODEL, bytes([seed + 1]) * 32, [], "")


def test_submit_journals_and_confirms(tmp_path, ledger, make_account):
    journal = Journal.open(tmp_path / "journal.sqlite")
    publisher = make_account()
    receipt = journal.submit(ledger, publisher, "register", _record(1).as_tuple(), ref="r1")
    entry = journal.entry(receipt.tx_hash)
    assert (entry.status, entry.purpose, entry.ref) == ("mined", "register", "r1")
    assert entry.block_number == receipt.block_number
    assert journal.open_entries(ledger.chain_id) == []


@pytest.mark.parametrize("sent_before_crash", [False, True])
def test_resume_after_a_crash_sends_the_same_transaction_once(tmp_path, ledger, make_account, sent_before_crash):
    path = tmp_path / "journal.sqlite"
    publisher = make_account()
    record = _record(5)
    crashed = Journal.open(path)
    tx = ledger.prepare(publisher, "register", record.as_tuple(), nonce=crashed.next_nonce(ledger, publisher.address))
    crashed.record(tx, ledger.chain_id, "r5")
    if sent_before_crash:
        ledger.broadcast(tx)
    crashed.close()  # the process dies here: no receipt was ever read

    journal = Journal.open(path)
    (done,) = journal.resume(ledger)
    assert done.tx_hash == tx.tx_hash and done.status == "mined"
    assert ledger.record_state(record.record_id(publisher.address)).publisher == publisher.address
    assert journal.resume(ledger) == []
    assert ledger.pending_nonce(publisher.address) == 1  # one transaction, never two


def test_node_down_keeps_the_transaction_and_resume_finishes_it(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = tmp_path / "anvil-state.json"
    node = start_anvil(port, "--state", str(state))
    try:
        ledger = Ledger.connect(url)
        ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
        from eth_account import Account

        publisher = Account.create()
        ledger.rpc("anvil_setBalance", [publisher.address, hex(10**20)])
        journal = Journal.open(tmp_path / "journal.sqlite")
        nonce = journal.next_nonce(ledger, publisher.address)
        tx = ledger.prepare(publisher, "register", _record(9).as_tuple(), nonce=nonce)
        journal.record(tx, ledger.chain_id, "r9")
    finally:
        node.terminate()
        node.wait(timeout=20)

    with pytest.raises(LedgerUnavailable) as err:
        journal.resume(ledger)
    assert url in str(err.value)
    (kept,) = journal.open_entries(ledger.chain_id)
    assert kept.tx_hash == tx.tx_hash and kept.status == "signed"

    node = start_anvil(port, "--state", str(state))
    try:
        (done,) = journal.resume(ledger)
        assert done.status == "mined"
        assert ledger.record_state(_record(9).record_id(publisher.address)).known
    finally:
        node.terminate()
        node.wait(timeout=20)

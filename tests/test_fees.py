"""EIP-1559 fees from eth_feeHistory, the user's cap, and the bump of a replacement, against anvil.

Each test runs its own anvil: they move its base fee (anvil_setNextBlockBaseFeePerGas).
"""

from __future__ import annotations

import pytest

from provenance import fees
from provenance.fees import FeeCapExceeded, Fees
from provenance.record import Kind, Record
from tests.helpers import account_factory, free_port, fresh_registry, start_anvil

pytestmark = pytest.mark.chain

GWEI = 10**9


@pytest.fixture
def ledger():
    port = free_port()
    process = start_anvil(port)
    try:
        yield fresh_registry(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=20)


def _record(seed: int) -> Record:
    return Record.create(bytes([seed]) * 32, Kind.MODEL, bytes([seed + 1]) * 32, [], "")


def _fields(raw: bytes) -> tuple[int, int, int]:
    """(nonce, maxPriorityFeePerGas, maxFeePerGas) of a signed type-2 transaction."""
    import rlp

    assert raw[0] == 2
    items = rlp.decode(raw[1:])
    return tuple(int.from_bytes(items[i], "big") for i in (1, 2, 3))


def test_fees_are_twice_the_next_base_fee_plus_the_median_tip(ledger):
    ledger.rpc("anvil_setNextBlockBaseFeePerGas", [hex(40 * GWEI)])
    base, _ = fees.next_base_fee(ledger)
    assert base == 40 * GWEI
    offered = fees.suggest(ledger)
    assert offered.max_fee == 2 * base + offered.tip and offered.tip >= fees.MIN_TIP

    publisher = account_factory(ledger)()
    tx = ledger.prepare(publisher, "register", _record(1).as_tuple())
    _, tip, max_fee = _fields(tx.raw)
    assert (max_fee, tip) == (offered.max_fee, offered.tip)
    ledger.broadcast(tx)
    assert ledger.wait(tx.tx_hash).succeeded


def test_a_fee_above_the_cap_is_refused_before_signing(ledger):
    ledger.rpc("anvil_setNextBlockBaseFeePerGas", [hex(50 * GWEI)])
    ledger.max_fee = 30 * GWEI
    publisher = account_factory(ledger)()
    with pytest.raises(FeeCapExceeded) as err:
        ledger.prepare(publisher, "register", _record(2).as_tuple())
    message = str(err.value)
    assert "above the cap of 30.000 gwei" in message and "base fee 50.000 gwei" in message
    assert "--max-fee-gwei" in (err.value.hint or "")
    assert ledger.pending_nonce(publisher.address) == 0


def test_a_cap_between_the_base_fee_and_twice_it_is_offered_as_it_is(ledger):
    ledger.rpc("anvil_setNextBlockBaseFeePerGas", [hex(20 * GWEI)])
    ledger.max_fee = 30 * GWEI
    publisher = account_factory(ledger)()
    tx = ledger.prepare(publisher, "register", _record(3).as_tuple())
    assert _fields(tx.raw)[2] == 30 * GWEI
    ledger.broadcast(tx)
    assert ledger.wait(tx.tx_hash).succeeded


def test_a_bump_raises_both_fees_by_an_eighth_and_covers_the_base_fee(ledger):
    old = Fees(10 * GWEI, 2 * GWEI)
    ledger.rpc("anvil_setNextBlockBaseFeePerGas", [hex(1 * GWEI)])
    assert fees.bumped(ledger, old) == Fees(11_250_000_000, 2_250_000_000)
    ledger.rpc("anvil_setNextBlockBaseFeePerGas", [hex(20 * GWEI)])
    assert fees.bumped(ledger, old) == Fees(42_250_000_000, 2_250_000_000)
    with pytest.raises(FeeCapExceeded, match="first transaction is still waiting"):
        fees.bumped(ledger, old, cap=40 * GWEI)


def test_register_with_max_fee_gwei_refuses_above_the_cap_and_keeps_nothing(tmp_path, ledger):
    from tests.publisher_home import EXAMPLES, make_artifact, make_home

    home = make_home(tmp_path / "home", ledger.rpc_url, ledger.registry)
    model = make_artifact(tmp_path, "model")
    ledger.rpc("anvil_setNextBlockBaseFeePerGas", [hex(80 * GWEI)])
    args = ("register", str(model), "--kind", "model", "--claims", str(EXAMPLES / "model.yaml"))
    refused = home.run("--max-fee-gwei", "25", *args)
    assert refused.returncode == 2, refused.stderr
    assert "above the cap of 25.000 gwei" in refused.stderr and "--max-fee-gwei" in refused.stderr
    assert ledger.pending_nonce(home.addresses["pub"]) == 0
    accepted = home.run(*args, env={"PROVENANCE_MAX_FEE_GWEI": "500"})
    assert accepted.returncode == 0, accepted.stderr
    assert ledger.pending_nonce(home.addresses["pub"]) == 1


def test_a_transaction_left_pending_is_replaced_with_bumped_fees_and_the_replacement_is_journaled(tmp_path, ledger):
    import threading
    import time

    from provenance.journal import Journal

    publisher = account_factory(ledger)()
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(path)
    ledger.rpc("evm_setAutomine", [False])
    ledger.replace_after = 0.5
    record = _record(7)
    tx = ledger.prepare(publisher, "register", record.as_tuple(), nonce=journal.next_nonce(ledger, publisher.address))
    journal.record(tx, ledger.chain_id, "r7")

    def mine_after_a_replacement():
        watcher = Journal.open(path)
        deadline = time.monotonic() + 30
        while not watcher.replacements(tx.tx_hash) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        ledger.rpc("evm_mine")

    miner = threading.Thread(target=mine_after_a_replacement, daemon=True)
    miner.start()
    receipt = journal.drive(ledger, tx, publisher)
    miner.join(timeout=10)
    (replacement, *_) = journal.replacements(tx.tx_hash)
    assert receipt.tx_hash == journal.mined_hash(tx.tx_hash) != tx.tx_hash
    assert receipt.tx_hash in journal.replacements(tx.tx_hash)
    first, second = _fields(tx.raw), _fields(journal._versions(tx.tx_hash, tx.raw)[1][1])
    assert first[0] == second[0]  # the same nonce
    assert second[1] >= first[1] * 9 // 8 and second[2] >= first[2] * 9 // 8
    assert ledger.pending_nonce(publisher.address) == 1
    assert ledger.record_state(record.record_id(publisher.address)).known
    assert journal.entry(tx.tx_hash).status == "mined"


def test_a_replacement_above_the_cap_is_refused_and_the_first_transaction_kept(tmp_path, ledger):
    from provenance.journal import Journal

    publisher = account_factory(ledger)()
    journal = Journal.open(tmp_path / "journal.sqlite")
    ledger.rpc("evm_setAutomine", [False])
    tx = ledger.prepare(publisher, "register", _record(9).as_tuple(), nonce=0)
    journal.record(tx, ledger.chain_id, "r9")
    ledger.replace_after = 0.3
    ledger.max_fee = _fields(tx.raw)[2]  # exactly what it offers: no room for a bump
    with pytest.raises(FeeCapExceeded, match="first transaction is still waiting"):
        journal.drive(ledger, tx, publisher)
    assert journal.replacements(tx.tx_hash) == []
    assert journal.entry(tx.tx_hash).status == "sent"
    ledger.rpc("evm_mine")
    assert ledger.receipt(tx.tx_hash).succeeded

"""`provenance journal list|retry|abandon`, and a nonce another wallet of the same key used (issue 15, item 3).

Before: one journaled transaction the node refused ("nonce too low": another wallet holding the key sent at that
nonce) made every later chain command fail until the store was edited by hand.
"""

from __future__ import annotations

import json
import signal

import pytest

from tests.publisher_home import EXAMPLES, Home, db_rows, make_artifact, make_home

pytestmark = pytest.mark.chain

KILLED = -signal.SIGKILL


@pytest.fixture
def home(tmp_path, ledger) -> Home:
    return make_home(tmp_path / "home", ledger.rpc_url, ledger.registry)


def _journaled_only(home: Home, tmp_path, *args: str) -> str:
    """Run a command killed right after journaling its transaction (never sent); the transaction's hash."""
    killed = home.run(*args, env={"PROVENANCE_CRASH_AT": "after-journal"})
    assert killed.returncode == KILLED, killed.stderr
    listed = home.run("journal", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["status"] == "signed" and row["sender"] == home.addresses["pub"]
    return row["txHash"]


def test_list_and_retry_a_journaled_transaction(tmp_path, home, ledger):
    artifact = make_artifact(tmp_path, "data")
    tx = _journaled_only(home, tmp_path, "register", str(artifact), "--claims", str(EXAMPLES / "dataset.yaml"))
    text = home.run("journal", "list")
    assert tx in text.stdout and "signed" in text.stdout and "register" in text.stdout

    retried = home.run("journal", "retry", tx)
    assert retried.returncode == 0, retried.stderr
    assert f"{tx}: mined in block" in retried.stdout and "resumed: registered 0x" in retried.stdout
    assert home.run("journal", "list").stdout.strip() == "no journaled transaction is waiting"
    records, _ = db_rows(home.path)
    assert [state for _, state in records] == ["anchored"]
    again = home.run("journal", "retry", tx)
    assert again.returncode != 0 and "is mined already" in again.stderr


def test_a_nonce_another_wallet_used_is_explained_and_abandoned_then_the_batch_anchors(tmp_path, home, ledger):
    artifact = make_artifact(tmp_path, "data")
    queued = home.run("register", str(artifact), "--claims", str(EXAMPLES / "dataset.yaml"), "--batch")
    assert queued.returncode == 0, queued.stderr
    tx = _journaled_only(home, tmp_path, "anchor")
    refused = home.run("journal", "abandon", tx)  # its nonce is free: it can still be mined
    assert refused.returncode != 0 and "can still be mined" in refused.stderr

    # another wallet holding the same key sends at the nonce the journaled anchor took
    account = home.account()
    other = account.sign_transaction({
        "type": 2, "chainId": ledger.chain_id, "nonce": 0, "to": account.address, "value": 0, "gas": 21_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
    })
    ledger.rpc("eth_sendRawTransaction", ["0x" + bytes(other.raw_transaction).hex()])

    stuck = home.run("anchor")
    assert stuck.returncode == 0, stuck.stderr  # not blocked: the command goes on
    assert f"provenance journal abandon {tx}" in stuck.stderr and "another wallet" in stuck.stderr
    listed = json.loads(home.run("journal", "list", "--json").stdout)
    assert [row["txHash"] for row in listed] == [tx]

    abandoned = home.run("journal", "abandon", tx)
    assert abandoned.returncode == 0, abandoned.stderr
    assert "abandoned" in abandoned.stdout and "queued again" in abandoned.stdout
    anchored = home.run("anchor", "--json")
    assert anchored.returncode == 0, anchored.stderr
    assert json.loads(anchored.stdout)["anchored"] == 1
    assert ledger.pending_nonce(home.addresses["pub"]) == 2  # the other wallet's and the new anchor
    records, _ = db_rows(home.path)
    assert [state for _, state in records] == ["anchored"]
    assert home.run("journal", "list").stdout.strip() == "no journaled transaction is waiting"


def test_register_again_while_the_first_record_is_in_flight_signs_no_second_record(tmp_path, home, ledger):
    from provenance.claims import Claims
    from provenance.errors import Conflict
    from provenance.manifest import Manifest
    from provenance.publish import Publisher, prepare

    artifact = make_artifact(tmp_path, "data")
    tx = _journaled_only(home, tmp_path, "register", str(artifact), "--claims", str(EXAMPLES / "dataset.yaml"))
    account, store = home.account(), home.store()
    try:  # what a second `register` does when the first is still sending (its resume could not finish it)
        again = prepare(account=account, domain=home.ledger().domain, manifest=Manifest.from_path(artifact),
                        claims=Claims.from_file(EXAMPLES / "dataset.yaml"))
        with pytest.raises(Conflict, match="still being sent") as err:
            Publisher(store, home.ledger(), account).register(again)
        assert f"provenance journal retry {tx}" in (err.value.hint or "")
        assert len(store.records()) == 1 and len(store.journal.entries()) == 1
    finally:
        store.close()
    resumed = home.run("anchor")
    assert resumed.returncode == 0, resumed.stderr
    assert ledger.pending_nonce(home.addresses["pub"]) == 1

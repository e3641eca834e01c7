"""The ledger adapter against a real anvil node and the real compiled registry."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from provenance.errors import ContractRejected, LedgerUnavailable, ProvenanceError, RegistryNotFound
from provenance.ledger import Ledger
from provenance.merkle import MerkleTree, record_leaf
from provenance.record import Kind, Record
from provenance.signing import recover_record_signer, sign_record, sign_revoke

pytestmark = pytest.mark.chain


def _record(seed: int, parents: int = 2, uri: str = "ipfs://bafy-example") -> Record:
    return Record.create(
        subject=bytes([seed]) * 32,
        kind=Kind.MODEL,
        claims_root=bytes([seed + 1]) * 32,
        parents=[bytes([seed + 2 + i]) * 32 for i in range(parents)],
        uri=uri,
    )


def test_python_struct_hash_and_record_id_equal_the_contracts(ledger, make_account):
    publisher = make_account()
    record = _record(1)
    assert ledger.hash_record(record) == record.struct_hash()
    assert ledger.record_id_of(publisher.address, record) == record.record_id(publisher.address)
    assert ledger.domain.separator() == Domain_separator(ledger)


def Domain_separator(ledger):
    return bytes(ledger._call("domainSeparator"))


def test_record_signed_in_python_with_typed_data_is_accepted_relayed(ledger, make_account):
    publisher, relayer = make_account(), make_account()
    record = _record(3)
    signature = sign_record(publisher, record, ledger.domain)
    assert recover_record_signer(record, ledger.domain, signature) == publisher.address

    receipt = ledger.register_for(relayer, record, publisher.address, signature)

    assert receipt.succeeded
    state = ledger.record_state(record.record_id(publisher.address))
    assert state.publisher == publisher.address
    assert state.registered_at == ledger.block_timestamp(receipt.block_number)
    (event,) = [e for e in ledger.events(receipt.block_number, receipt.block_number)]
    assert event.name == "RecordRegistered"
    assert event.args["recordId"] == record.record_id(publisher.address)
    assert event.args["publisher"] == publisher.address
    assert event.args["subject"] == record.subject
    assert event.args["parents"] == list(record.parents)
    assert event.args["uri"] == record.uri


def test_direct_register_and_custom_errors_become_project_errors(ledger, make_account):
    publisher, stranger = make_account(), make_account()
    record = _record(7)
    ledger.register(publisher, record)
    record_id = record.record_id(publisher.address)

    with pytest.raises(ContractRejected) as replay:
        ledger.register(publisher, record)
    assert replay.value.error == "AlreadyRegistered"
    assert replay.value.args_by_name == {"recordId": record_id}
    assert "0x" + record_id.hex() in str(replay.value)

    with pytest.raises(ContractRejected) as foreign:
        ledger.revoke(stranger, record_id, "not mine")
    assert foreign.value.error == "NotPublisher"
    assert foreign.value.args_by_name["caller"] == stranger.address

    ledger.revoke(publisher, record_id, "erasure request")
    assert ledger.record_state(record_id).revoked
    with pytest.raises(ContractRejected) as twice:
        ledger.revoke(publisher, record_id, "again")
    assert twice.value.error == "AlreadyRevoked"


def test_signature_for_another_chain_is_rejected(ledger, make_account):
    from provenance.record import Domain

    publisher, relayer = make_account(), make_account()
    record = _record(9)
    wrong = Domain(ledger.chain_id + 1, ledger.registry)
    with pytest.raises(ContractRejected) as err:
        ledger.register_for(relayer, record, publisher.address, sign_record(publisher, record, wrong))
    assert err.value.error == "InvalidSignature"


def test_batch_built_in_python_is_anchored_proven_and_revoked_by_signature(ledger, make_account):
    publisher, relayer = make_account(), make_account()
    records = [_record(20 + 3 * i, parents=1) for i in range(5)]
    ids = [r.record_id(publisher.address) for r in records]
    tree = MerkleTree.from_leaves(record_leaf(i) for i in ids)

    anchored = ledger.anchor_batch(relayer, tree.root, len(ids), "ipfs://batch")
    batch = ledger.batch_state(tree.root)
    assert (batch.submitter, batch.count) == (relayer.address, 5)
    assert batch.anchored_at == ledger.block_timestamp(anchored.block_number)

    target = records[2]
    proof = tree.proof(record_leaf(ids[2]))
    assert ledger.verify_inclusion(tree.root, record_leaf(ids[2]), proof)
    assert not ledger.verify_inclusion(tree.root, record_leaf(ids[3]), proof)

    with pytest.raises(ContractRejected) as bad:
        ledger.prove_batched(relayer, relayer.address, target.struct_hash(), tree.root, proof)
    assert bad.value.error == "InvalidProof"

    # A relayer cannot attribute a batched record to a publisher who did not act...
    with pytest.raises(ContractRejected) as foreign:
        ledger.prove_batched(relayer, publisher.address, target.struct_hash(), tree.root, proof)
    assert foreign.value.error == "NotPublisher"
    # ...the publisher proves it.
    ledger.prove_batched(publisher, publisher.address, target.struct_hash(), tree.root, proof)
    assert ledger.record_state(ids[2]).registered_at == batch.anchored_at

    signature = sign_revoke(publisher, ids[2], "withdrawn", ledger.domain)
    ledger.revoke_by_sig(relayer, ids[2], "withdrawn", signature)
    assert ledger.record_state(ids[2]).revoked
    names = [e.name for e in ledger.events(anchored.block_number)]
    assert names == ["BatchAnchored", "BatchedRecordProven", "RecordRevoked"]


def test_supersede_endorse_and_dispute_events(ledger, make_account):
    publisher, auditor = make_account(), make_account()
    old, new = _record(40), _record(50)
    ledger.register(publisher, old)
    ledger.register(publisher, new)
    old_id, new_id = old.record_id(publisher.address), new.record_id(publisher.address)
    receipt = ledger.supersede(publisher, old_id, new_id)
    assert ledger.record_state(old_id).successor == new_id
    digest = bytes(range(32))
    ledger.endorse(auditor, new_id, digest, "https://audit.example/report")
    ledger.dispute(auditor, old_id, digest)
    events = ledger.events(receipt.block_number)
    assert [(e.name, e.args["recordId"]) for e in events] == [
        ("RecordSuperseded", old_id),
        ("RecordEndorsed", new_id),
        ("RecordDisputed", old_id),
    ]
    assert events[1].args["endorser"] == auditor.address
    assert events[1].args["statementDigest"] == digest


def test_unknown_record_state_is_empty(ledger):
    state = ledger.record_state(b"\x99" * 32)
    assert not state.known and state.publisher is None


def test_registry_address_without_code_is_refused(ledger):
    with pytest.raises(RegistryNotFound, match="no contract at 0x"):
        Ledger.connect(ledger.rpc_url, "0x" + "12" * 20)


def test_contract_that_is_not_the_registry_is_refused(ledger, make_account):
    # Init code deploying a contract that answers every call with the number 42.
    answers_42 = "0x600a600c600039600a6000f3602a60005260206000f3"
    account = make_account()
    tx = {
        "from": account.address,
        "data": answers_42,
        "gas": 100_000,
        "nonce": 0,
        "chainId": ledger.chain_id,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    signed = account.sign_transaction(tx)
    tx_hash = ledger.rpc("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    receipt = ledger.wait(bytes.fromhex(tx_hash[2:]))
    assert receipt.contract_address
    with pytest.raises(RegistryNotFound, match="is not a ProvenanceRegistry"):
        Ledger.connect(ledger.rpc_url, receipt.contract_address)


def test_bad_registry_address_text_is_refused(ledger):
    with pytest.raises(ProvenanceError, match="40 hex digits"):
        Ledger.connect(ledger.rpc_url, "0x1234")


def test_node_that_refuses_connections_names_the_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(LedgerUnavailable) as err:
        Ledger.connect(url)
    assert url in str(err.value)
    assert time.monotonic() - started < 5


def test_node_that_never_answers_times_out_naming_the_url():
    # A socket that accepts connections but never replies: the worst kind of down.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    try:
        with pytest.raises(LedgerUnavailable) as err:
            Ledger.connect(url, timeout=1.0)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()
    assert url in str(err.value)
    assert time.monotonic() - started < 5

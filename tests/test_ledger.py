"""The ledger adapter against a real anvil node and the real compiled registry (tests marked ``chain``),
and its error mapping against a tiny local HTTP server answering canned JSON-RPC (no chain, no internet)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from provenance.errors import (
    BadNodeAnswer,
    ContractRejected,
    LedgerUnavailable,
    LogRangeRefused,
    ProvenanceError,
    RegistryNotFound,
    RpcError,
)
from provenance.ledger import Ledger
from provenance.merkle import MerkleTree, record_leaf
from provenance.record import Kind, ReasonCode, Record
from provenance.signing import (
    recover_record_signer,
    sign_record,
    sign_register_for,
    sign_revoke,
    sign_supersede,
)
from tests.helpers import fresh_registry
from tests.wallet import deploy_wallet, wallet_execute


def _record(seed: int, parents: int = 2, uri: str = "ipfs://bafy-example") -> Record:
    return Record.create(
        subject=bytes([seed]) * 32,
        kind=Kind.MODEL,
        claims_root=bytes([seed + 1]) * 32,
        parents=[bytes([seed + 2 + i]) * 32 for i in range(parents)],
        uri=uri,
    )


@pytest.mark.chain
def test_python_struct_hash_and_record_id_equal_the_contracts(ledger, make_account):
    publisher = make_account()
    record = _record(1)
    assert ledger.hash_record(record) == record.struct_hash()
    assert ledger.record_id_of(publisher.address, record) == record.record_id(publisher.address)
    assert ledger.domain.separator() == Domain_separator(ledger)
    assert ledger.version() == "2"


def Domain_separator(ledger):
    return bytes(ledger._call("domainSeparator"))


@pytest.mark.chain
def test_record_signed_in_python_with_typed_data_is_accepted_relayed(ledger, make_account):
    publisher, relayer = make_account(), make_account()
    record = _record(3)
    signature = sign_record(publisher, record, ledger.domain)
    assert recover_record_signer(record, ledger.domain, signature) == publisher.address

    assert ledger.nonce(publisher.address) == 0
    relayed = sign_register_for(publisher, record, ledger.domain, nonce=ledger.nonce(publisher.address))
    receipt = ledger.register_for(relayer, record, publisher.address, relayed)

    assert receipt.succeeded
    state = ledger.record_state(record.record_id(publisher.address))
    assert state.publisher == publisher.address
    assert state.registered_at == ledger.block_timestamp(receipt.block_number)
    (event,) = ledger.events(receipt.block_number, receipt.block_number)
    assert event.name == "RecordRegistered"
    assert event.args["recordId"] == record.record_id(publisher.address)
    assert event.args["publisher"] == publisher.address
    assert event.args["subject"] == record.subject
    assert event.args["parents"] == list(record.parents)
    assert event.args["uri"] == record.uri


@pytest.mark.chain
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


@pytest.mark.chain
def test_signature_for_another_chain_is_rejected(ledger, make_account):
    from provenance.record import Domain

    publisher, relayer = make_account(), make_account()
    record = _record(9)
    wrong = Domain(ledger.chain_id + 1, ledger.registry)
    with pytest.raises(ContractRejected) as err:
        ledger.register_for(relayer, record, publisher.address, sign_register_for(publisher, record, wrong, nonce=0))
    assert err.value.error == "InvalidSignature"
    # a bare Record signature (what a Statement carries) is no registerFor authorisation
    with pytest.raises(ContractRejected) as bare:
        ledger.register_for(relayer, record, publisher.address, sign_record(publisher, record, ledger.domain))
    assert bare.value.error == "InvalidSignature"


@pytest.mark.chain
def test_deadlines_and_nonces_bound_relayed_signatures(ledger, make_account):
    publisher, relayer = make_account(), make_account()
    record, later = _record(11), _record(13)
    now = ledger.block_timestamp()
    expired = sign_register_for(publisher, record, ledger.domain, nonce=0, deadline=now - 1)
    with pytest.raises(ContractRejected) as late:
        ledger.register_for(relayer, record, publisher.address, expired, deadline=now - 1)
    assert late.value.error == "SignatureExpired" and late.value.args_by_name["deadline"] == now - 1
    assert "expired" in str(late.value)

    # signed with nonce 0, then the publisher cancels every outstanding signature
    pending = sign_register_for(publisher, later, ledger.domain, nonce=0)
    receipt = ledger.use_nonce(publisher)
    assert ledger.nonce(publisher.address) == 1
    (used,) = ledger.events(receipt.block_number, receipt.block_number)
    assert used.name == "NonceUsed" and used.args == {"publisher": publisher.address, "nonce": 0}
    with pytest.raises(ContractRejected) as void:
        ledger.register_for(relayer, later, publisher.address, pending)
    assert void.value.error == "InvalidSignature" and "current nonce" in str(void.value)
    # a signature names the current nonce, which using it does not consume
    deadline = now + 3600
    fresh = sign_register_for(publisher, later, ledger.domain, nonce=1, deadline=deadline)
    ledger.register_for(relayer, later, publisher.address, fresh, deadline=deadline)
    assert ledger.nonce(publisher.address) == 1
    later_id = later.record_id(publisher.address)
    ledger.revoke_by_sig(
        relayer, later_id, "key lost", sign_revoke(publisher, later_id, "key lost", ledger.domain, nonce=1,
                                                   code=ReasonCode.KEY_COMPROMISE),
        code=ReasonCode.KEY_COMPROMISE,
    )
    assert ledger.record_state(later_id).revoked


@pytest.mark.chain
def test_an_erc1271_wallet_publishes_through_its_owners_signatures(ledger, make_account):
    owner, relayer, stranger = make_account(), make_account(), make_account()
    wallet = deploy_wallet(ledger, owner.address)
    record = _record(15)
    digest = record.digest(ledger.domain)
    assert ledger.has_code(wallet) and not ledger.has_code(owner.address)
    statement_signature = sign_record(owner, record, ledger.domain)  # what the wallet's Statement carries
    assert ledger.is_valid_signature(wallet, digest, statement_signature)
    assert not ledger.is_valid_signature(wallet, digest, sign_record(stranger, record, ledger.domain))
    assert not ledger.is_valid_signature(wallet, digest, b"\x12\x34")
    assert not ledger.is_valid_signature(owner.address, digest, statement_signature)  # no code: no wallet

    relayed = sign_register_for(owner, record, ledger.domain, nonce=ledger.nonce(wallet), publisher=wallet)
    ledger.register_for(relayer, record, wallet, relayed)
    record_id = record.record_id(wallet)
    assert ledger.record_state(record_id).publisher == wallet
    # the wallet revokes it itself, calling the registry
    wallet_execute(ledger, wallet, owner, "revoke", record_id, int(ReasonCode.WRONG_CLAIMS), "wrong licence")
    assert ledger.record_state(record_id).revoked


@pytest.mark.chain
def test_batch_built_in_python_is_anchored_proven_and_revoked_by_signature(ledger, make_account):
    publisher, relayer = make_account(), make_account()
    records = [_record(20 + 3 * i, parents=1) for i in range(5)]
    ids = [r.record_id(publisher.address) for r in records]
    tree = MerkleTree.from_leaves(record_leaf(i) for i in ids)

    anchored = ledger.anchor_batch(relayer, tree.root, len(ids), "ipfs://batch")
    batch = ledger.batch_state(relayer.address, tree.root)
    assert (batch.submitter, batch.count) == (relayer.address, 5)
    assert batch.anchored_at == ledger.block_timestamp(anchored.block_number)
    assert ledger.batch_state(publisher.address, tree.root).submitter is None  # another submitter's batch

    target = records[2]
    proof = tree.proof(record_leaf(ids[2]))
    assert ledger.verify_inclusion(tree.root, record_leaf(ids[2]), proof)
    assert not ledger.verify_inclusion(tree.root, record_leaf(ids[3]), proof)

    with pytest.raises(ContractRejected) as bad:
        ledger.prove_batched(relayer, relayer.address, target.struct_hash(), relayer.address, tree.root, proof)
    assert bad.value.error == "InvalidProof"
    with pytest.raises(ContractRejected) as elsewhere:
        ledger.prove_batched(publisher, publisher.address, target.struct_hash(), publisher.address, tree.root, proof)
    assert elsewhere.value.error == "BatchNotAnchored"
    assert elsewhere.value.args_by_name["submitter"] == publisher.address

    # A relayer cannot attribute a batched record to a publisher who did not act...
    with pytest.raises(ContractRejected) as foreign:
        ledger.prove_batched(relayer, publisher.address, target.struct_hash(), relayer.address, tree.root, proof)
    assert foreign.value.error == "NotPublisher"
    # ...the publisher proves it.
    proven = ledger.prove_batched(
        publisher, publisher.address, target.struct_hash(), relayer.address, tree.root, proof
    )
    assert ledger.record_state(ids[2]).registered_at == batch.anchored_at
    (event,) = ledger.events(proven.block_number, proven.block_number)
    assert event.name == "BatchedRecordProven"
    assert event.args == {"recordId": ids[2], "publisher": publisher.address, "root": tree.root,
                          "submitter": relayer.address, "structHash": target.struct_hash()}

    signature = sign_revoke(publisher, ids[2], "withdrawn", ledger.domain, nonce=0, code=ReasonCode.WITHDRAWN)
    ledger.revoke_by_sig(relayer, ids[2], "withdrawn", signature, code=ReasonCode.WITHDRAWN)
    assert ledger.record_state(ids[2]).revoked
    events = ledger.events(anchored.block_number)
    assert [e.name for e in events] == ["BatchAnchored", "BatchedRecordProven", "RecordRevoked"]
    assert events[2].args["reasonCode"] == ReasonCode.WITHDRAWN and events[2].args["reason"] == "withdrawn"


@pytest.mark.chain
def test_the_same_root_anchored_by_two_submitters_is_two_batches(ledger, make_account):
    publisher, stranger = make_account(), make_account()
    record = _record(60, parents=0)
    root = MerkleTree.from_leaves([record_leaf(record.record_id(publisher.address))]).root
    ledger.anchor_batch(stranger, root, 1, "")  # a front-run of the publisher's one-leaf root
    ledger.anchor_batch(publisher, root, 1, "ipfs://mine")  # blocks nobody
    assert ledger.batch_state(stranger.address, root).submitter == stranger.address
    assert ledger.batch_state(publisher.address, root).submitter == publisher.address
    with pytest.raises(ContractRejected) as twice:
        ledger.anchor_batch(publisher, root, 1, "")
    assert twice.value.error == "BatchAlreadyAnchored"
    assert publisher.address in str(twice.value)
    # anyone may prove a record into the publisher's own batch
    ledger.prove_batched(stranger, publisher.address, record.struct_hash(), publisher.address, root, [])
    assert ledger.record_state(record.record_id(publisher.address)).known


@pytest.mark.chain
def test_supersede_endorse_and_dispute_events(ledger, make_account):
    publisher, auditor = make_account(), make_account()
    old, new = _record(40), _record(50)
    ledger.register(publisher, old)
    ledger.register(publisher, new)
    old_id, new_id = old.record_id(publisher.address), new.record_id(publisher.address)
    with pytest.raises(ContractRejected) as unknown:
        ledger.endorse(auditor, b"\x77" * 32, bytes(range(32)))
    assert unknown.value.error == "UnknownRecord"
    receipt = ledger.supersede(publisher, old_id, new_id, code=ReasonCode.ERASURE, reason="erasure request")
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
    assert events[0].args["reasonCode"] == ReasonCode.ERASURE and events[0].args["reason"] == "erasure request"
    assert events[1].args["endorser"] == auditor.address
    assert events[1].args["statementDigest"] == digest


@pytest.mark.chain
def test_reason_codes_out_of_range_and_relayed_supersession(ledger, make_account):
    publisher, relayer = make_account(), make_account()
    old, new = _record(70), _record(80)
    ledger.register(publisher, old)
    ledger.register(publisher, new)
    old_id, new_id = old.record_id(publisher.address), new.record_id(publisher.address)
    with pytest.raises(ContractRejected) as bad:
        ledger.revoke(publisher, old_id, "", code=7)  # type: ignore[arg-type]  # a code no enum member has
    assert bad.value.error == "InvalidReason" and "reason code 7" in str(bad.value)
    signature = sign_supersede(publisher, old_id, new_id, ledger.domain, nonce=0, code=ReasonCode.WRONG_CLAIMS,
                               reason="licence was wrong")
    receipt = ledger.supersede_by_sig(relayer, old_id, new_id, signature, code=ReasonCode.WRONG_CLAIMS,
                                      reason="licence was wrong")
    (event,) = ledger.events(receipt.block_number, receipt.block_number)
    assert event.name == "RecordSuperseded" and event.args["publisher"] == publisher.address
    assert (event.args["reasonCode"], event.args["reason"]) == (ReasonCode.WRONG_CLAIMS, "licence was wrong")


@pytest.mark.chain
def test_unknown_record_state_is_empty(ledger):
    state = ledger.record_state(b"\x99" * 32)
    assert not state.known and state.publisher is None


@pytest.mark.chain
def test_the_registrys_fingerprint_moves_only_when_it_is_written_to(ledger, make_account, monkeypatch):
    """Blocks without a write to the registry share its fingerprint (what the service carries its storage
    reads over by); a registration or another registry do not, and a node without account proofs (or
    with a malformed one) gives none."""
    publisher = make_account()
    first = ledger.block_number()
    ledger.rpc("evm_mine")
    ledger.rpc("evm_mine")
    quiet = ledger.block_number()
    fingerprint = ledger.registry_fingerprint(first)
    assert fingerprint is not None and len(fingerprint) == 64
    assert ledger.registry_fingerprint(quiet) == fingerprint
    ledger.register(publisher, _record(11))
    written = ledger.block_number()
    assert ledger.registry_fingerprint(written) != fingerprint
    assert ledger.registry_fingerprint(first) == fingerprint  # what a block holds does not change
    other = fresh_registry(ledger.rpc_url)
    assert other.registry_fingerprint(other.block_number()) != ledger.registry_fingerprint(written)

    def no_proofs(method, params=()):
        raise RpcError("the method eth_getProof does not exist/is not available", code=-32601)

    monkeypatch.setattr(ledger, "rpc", no_proofs)
    assert ledger.registry_fingerprint(written) is None
    for answer in (None, "0x", {"storageHash": "0x" + "12" * 32},  # not a proof, or not of 32-byte hashes
                   {"storageHash": "0x12", "codeHash": "0x" + "34" * 32}):
        monkeypatch.setattr(ledger, "rpc", lambda method, params=(), answer=answer: answer)
        assert ledger.registry_fingerprint(written) is None


@pytest.mark.chain
def test_registry_address_without_code_is_refused(ledger):
    with pytest.raises(RegistryNotFound, match="no contract at 0x"):
        Ledger.connect(ledger.rpc_url, "0x" + "12" * 20)


@pytest.mark.chain
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


@pytest.mark.chain
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
            with contextlib.suppress(OSError):  # the accept timed out: look at the stop flag again
                held.append(server.accept()[0])

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


# ---------------------------------------------------------------- error mapping against canned answers


@contextlib.contextmanager
def canned_node(answer):
    """A JSON-RPC "node" on 127.0.0.1: ``answer(request) -> (HTTP status, body bytes)`` for each POST."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = answer(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _reply(request, **member) -> tuple[int, bytes]:
    return 200, json.dumps({"jsonrpc": "2.0", "id": request["id"], **member}).encode()


def _node(**answers):
    """Answers by method: a JSON-RPC result, or a callable ``request -> (status, body)``; eth_chainId is 0x1."""

    def answer(request):
        found = answers.get(request["method"], "0x1" if request["method"] == "eth_chainId" else None)
        return found(request) if callable(found) else _reply(request, result=found)

    return canned_node(answer)


def _error(code, message, data=None):
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return lambda request: _reply(request, error=error)


_REGISTRY = "0x" + "11" * 20


def _ledger(url: str) -> Ledger:
    ledger = Ledger.connect(url, timeout=2.0)
    ledger.registry = _REGISTRY  # no use_registry: the canned node holds no contract
    return ledger


def test_an_rpc_error_answer_is_an_rpc_error_with_the_nodes_code():
    missing = _error(-32601, "the method eth_blockNumber does not exist/is not available")
    with _node(eth_blockNumber=missing) as url, pytest.raises(RpcError) as err:
        _ledger(url).block_number()
    assert not isinstance(err.value, LogRangeRefused)
    assert err.value.code == -32601 and err.value.url == url
    assert "does not exist" in str(err.value) and url in str(err.value)


@pytest.mark.parametrize(
    ("code", "message", "data"),
    [
        (-32005, "query returned more than 10000 results", {"from": "0x0", "to": "0x1f4", "limit": 10000}),
        (-32000, "block range is too large", None),
        (-32602, "exceed maximum block range: 5000", None),
        (-32600, "eth_getLogs is limited to a 10,000 range", None),
        (-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range", None),
        (-32005, "limit exceeded", None),
        (-32000, "logs matched by query exceeds limit of 10000", None),
    ],
)
def test_a_log_range_refusal_is_log_range_refused(code, message, data):
    with _node(eth_getLogs=_error(code, message, data)) as url, pytest.raises(LogRangeRefused) as err:
        _ledger(url).events(0, 500)
    assert err.value.code == code and message in str(err.value)


@pytest.mark.parametrize(
    ("method", "code", "message"),
    [
        ("eth_getLogs", -32005, "daily request count exceeded, request rate limited"),  # halving would not help
        ("eth_getLogs", -32602, "invalid argument 0: hex string without 0x prefix"),
        ("eth_call", -32000, "block range is too large"),  # only eth_getLogs refuses ranges
    ],
)
def test_other_errors_are_not_range_refusals(method, code, message):
    with _node(**{method: _error(code, message)}) as url, pytest.raises(RpcError) as err:
        _ledger(url).rpc(method, [])
    assert not isinstance(err.value, LogRangeRefused) and err.value.code == code


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b"{not json", b"[1, 2]", b'{"jsonrpc": "2.0", "id": 1}'],
    ids=["html", "broken-json", "not-an-object", "no-result"],
)
def test_an_answer_that_is_not_json_rpc_is_a_bad_node_answer(body):
    with _node(eth_blockNumber=lambda request: (200, body)) as url, pytest.raises(BadNodeAnswer, match="JSON-RPC"):
        _ledger(url).block_number()


def test_a_result_that_is_not_hex_is_a_bad_node_answer():
    with _node(eth_blockNumber="0xzz", eth_getBlockByNumber={"number": "0x1"}) as url:
        ledger = _ledger(url)
        with pytest.raises(BadNodeAnswer):
            ledger.block_number()
        with pytest.raises(BadNodeAnswer, match="hash"):
            ledger.block_hash(1)


def test_a_gateway_without_its_node_is_unavailable_and_other_http_errors_are_rpc_errors():
    status = [503]  # what the gateway keeps answering (a 503 or 429 is retried: provenance._rpc)
    with _node(eth_blockNumber=lambda request: (status[0], b"upstream")) as url:
        ledger = _ledger(url)
        for status[0] in (503, 429):
            with pytest.raises(LedgerUnavailable, match="HTTP (503|429)"):
                ledger.block_number()
        status[0] = 404
        with pytest.raises(RpcError, match="HTTP 404"):
            ledger.block_number()


def test_an_http_error_carrying_a_json_rpc_error_is_mapped_by_the_error():
    def answer(request):
        error = {"code": -32602, "message": "block range too large"}
        return 400, json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error}).encode()

    with _node(eth_getLogs=answer) as url, pytest.raises(LogRangeRefused):
        _ledger(url).events(0, 100_000)


def _topic(name: str) -> str:
    ledger = Ledger(None, "http://127.0.0.1:9", 1, _REGISTRY)
    return "0x" + next(t for t, spec in ledger._events.items() if spec.name == name).hex()


def _log(topics, data):
    return {
        "address": _REGISTRY,
        "topics": topics,
        "data": data,
        "blockNumber": "0x5",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "logIndex": "0x0",
    }


def _word(n: int) -> str:
    return n.to_bytes(32, "big").hex()


@pytest.mark.parametrize(
    "log",
    [
        # RecordRevoked(recordId, publisher, uint8 reasonCode, string reason) with the string cut short:
        # eth_abi's fallback refuses it
        lambda: _log(
            [_topic("RecordRevoked"), "0x" + "01" * 32, "0x" + "00" * 12 + "22" * 20], "0x" + _word(1) + _word(64)
        ),
        # too few topics for the event's indexed arguments
        lambda: _log([_topic("RecordRevoked"), "0x" + "01" * 32], "0x"),
        # not hex
        lambda: _log(["0xnot-a-topic"], "0x"),
        # not a log at all
        lambda: "0x1234",
    ],
    ids=["short-string", "missing-topic", "bad-hex", "not-a-log"],
)
def test_an_undecodable_log_is_a_bad_node_answer_not_an_eth_abi_error(log):
    with _node(eth_getLogs=[log()]) as url, pytest.raises(BadNodeAnswer) as err:
        _ledger(url).events(0, 10)
    assert url in str(err.value)


def test_a_string_that_is_not_utf8_is_decoded_losslessly():
    """Any bytes are a Solidity string (anyone may endorse with uri hex"ff"): shown escaped, kept exact."""
    from provenance._logs import AbiText, raw_bytes

    revoked = _log(
        [_topic("RecordRevoked"), "0x" + "01" * 32, "0x" + "00" * 12 + "22" * 20],
        "0x" + _word(1) + _word(64) + _word(3) + "61fffe" + "00" * 29,
    )
    with _node(eth_getLogs=[revoked]) as url:
        (event,) = _ledger(url).events(0, 10)
    reason = event.args["reason"]
    assert isinstance(reason, AbiText) and reason == "a\\xff\\xfe" and raw_bytes(reason) == b"a\xff\xfe"


def test_logs_of_other_events_are_skipped_and_known_ones_decoded():
    revoked = _log(
        [_topic("RecordRevoked"), "0x" + "01" * 32, "0x" + "00" * 12 + "22" * 20],
        "0x" + _word(1) + _word(64) + _word(3) + b"why".hex() + "00" * 29,
    )
    foreign = _log(["0x" + "99" * 32], "0x")
    with _node(eth_getLogs=[foreign, revoked]) as url:
        (event,) = _ledger(url).events(0, 10)
    assert event.name == "RecordRevoked" and event.args["reason"] == "why" and event.args["reasonCode"] == 1
    assert event.args["recordId"] == b"\x01" * 32 and event.args["publisher"].lower() == "0x" + "22" * 20
    assert (event.block_number, event.log_index) == (5, 0)


def test_revert_data_that_does_not_fit_its_error_is_a_bad_node_answer():
    ledger = Ledger(None, "http://127.0.0.1:9", 1, _REGISTRY)
    selector = next(s for s, spec in ledger._decoder.errors.items() if spec.name == "AlreadyRegistered")
    assert ledger.decode_revert(selector + b"\x07" * 32).args_by_name == {"recordId": b"\x07" * 32}
    assert ledger.decode_revert(b"\xde\xad\xbe\xef") is None
    with pytest.raises(BadNodeAnswer):
        ledger.decode_revert(selector + b"\x07")


def test_prove_batched_calldata_is_decoded_by_the_ledger():
    from eth_abi import encode

    from provenance._keccak import keccak256

    ledger = Ledger(None, "http://127.0.0.1:9", 1, _REGISTRY)
    publisher, struct_hash, root, proof = "0x" + "ab" * 20, b"\x01" * 32, b"\x02" * 32, [b"\x03" * 32, b"\x04" * 32]
    submitter = "0x" + "cd" * 20
    selector = keccak256(b"proveBatched(address,bytes32,address,bytes32,bytes32[])")[:4]
    calldata = selector + encode(
        ["address", "bytes32", "address", "bytes32", "bytes32[]"], [publisher, struct_hash, submitter, root, proof]
    )

    call = ledger.decode_prove_batched(calldata)

    assert call is not None and call.publisher.lower() == publisher and call.submitter.lower() == submitter
    assert (call.struct_hash, call.root, call.proof) == (struct_hash, root, tuple(proof))
    assert call.record_id == keccak256(bytes(12) + bytes.fromhex(publisher[2:]) + struct_hash)
    assert ledger.decode_prove_batched(b"\x00\x00\x00\x00" + calldata[4:]) is None  # another function
    assert ledger.decode_prove_batched(calldata[:40]) is None  # cut short: not a call we can read

    with _node(eth_getTransactionByHash={"input": "0x" + calldata.hex()}) as url:
        assert _ledger(url).prove_batched_call(b"\x09" * 32) == call
    with _node(eth_getTransactionByHash=None) as url:
        assert _ledger(url).prove_batched_call(b"\x09" * 32) is None


def test_a_read_at_a_block_whose_state_the_node_no_longer_keeps_reads_the_newest_state(ledger, make_account):
    """A dev node restarted from its state file (or a pruned node) keeps no state of older blocks: anvil
    answers BlockOutOfRangeError, and a view at the settled block then reads the newest state it has."""
    from provenance.errors import RpcError

    publisher = make_account()
    record = Record.create(b"\x61" * 32, Kind.MODEL, b"\x62" * 32, [], "ipfs://kept")
    ledger.register(publisher, record)
    record_id = record.record_id(publisher.address)
    head = ledger.block_number()
    real = ledger.rpc
    asked: list[str] = []

    def forgetful(method, params=()):
        if method == "eth_call" and params[1] != "latest":
            asked.append(params[1])
            raise RpcError(f"BlockOutOfRangeError: block height is {head} but requested was 1", code=-32602)
        return real(method, params)

    ledger.rpc = forgetful
    assert ledger.record_state(record_id, block=head).known and asked == [hex(head)]
    # nor of older blocks: the node is not asked at them again (a batch reader reads thousands at one block)
    assert ledger.record_state(record_id, block=head).known and asked == [hex(head)]
    assert ledger.record_state(record_id, block=head - 1).known and asked == [hex(head)]
    ledger.rpc = lambda method, params=(): (_ for _ in ()).throw(RpcError("execution reverted", code=3))
    with pytest.raises(RpcError):  # any other error is the node's answer, not a missing state
        ledger.record_state(record_id, block=head)


def test_record_states_asks_many_in_one_batch_and_equals_record_state_of_each(ledger, make_account):
    publisher = make_account()
    records = [Record.create(bytes([0x70 + i]) * 32, Kind.DATASET, bytes([0x80 + i]) * 32, [], "") for i in range(3)]
    for record in records[:2]:
        ledger.register(publisher, record)
    ids = [r.record_id(publisher.address) for r in records]
    head = ledger.block_number()
    states = ledger.record_states(ids, block=head)
    assert states == [ledger.record_state(i, block=head) for i in ids]
    assert [s.known for s in states] == [True, True, False] and states[0].publisher == publisher.address
    assert ledger.record_states([], block=head) == []

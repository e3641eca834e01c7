"""The one signer against eth-account's typed-data signing (the oracle), and recovery's refusals.

eth-account encodes the full EIP-712 message the way wallets do; the signer
computes the digest itself and signs it with coincurve. Both must give the
very same 65 bytes for every message type (Record, RegisterFor with its nested
Record, Revoke, Supersede), record shape, nonce, deadline, reason code and
domain. The messages below are written out here from the registry's type
strings, not built by the code under test.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from provenance.errors import InvalidValue, SignatureError
from provenance.record import Domain, Kind, ReasonCode, Record, checksum_address
from provenance.signing import (
    NO_DEADLINE,
    recover_record_signer,
    sign_record,
    sign_register_for,
    sign_revoke,
    sign_supersede,
)

# fixed keys, so that a failure reproduces; never funded anywhere
ACCOUNTS = [Account.from_key(bytes([n]) * 32) for n in (1, 0x42, 0x7F)]

DOMAINS = [
    Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
    Domain(1, "0x00000000000000000000000000000000000000Aa"),
    Domain(11155111, to_checksum_address("0x" + "ff" * 20)),
    Domain(2**64 + 3, "0x" + "0" * 39 + "1"),
]

RECORDS = [
    Record.create(b"\x01" * 32, Kind.MODEL, b"\x02" * 32, [b"\x03" * 32], "ipfs://x"),
    Record.create(b"\x05" * 32, Kind.DATASET, b"\x06" * 32, [], ""),
    Record.create(b"\xff" * 32, Kind.OTHER, bytes(32), [bytes([i]) * 32 for i in range(1, 6)], "https://ex.org/ü/☃"),
    Record.create(b"\x07" * 32, Kind.EVALUATION, b"\x08" * 32, [b"\x01" * 32, b"\xff" * 32], "hf://org/evals@main"),
]

# (nonce, deadline) pairs: the first signature, a later nonce with a deadline, the extremes
NONCES = [(0, NO_DEADLINE), (3, 1_900_000_000), (2**256 - 1, 0)]

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _oracle(account, typed_data: dict) -> bytes:
    """What eth-account (and a wallet) signs for this EIP-712 message."""
    return bytes(account.sign_message(encode_typed_data(full_message=typed_data)).signature)


_RECORD_TYPE = [
    {"name": "subject", "type": "bytes32"},
    {"name": "kind", "type": "uint8"},
    {"name": "claimsRoot", "type": "bytes32"},
    {"name": "parents", "type": "bytes32[]"},
    {"name": "uri", "type": "string"},
]


def _register_for_message(record: Record, publisher: str, nonce: int, deadline: int, domain: Domain) -> dict:
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "RegisterFor": [
                {"name": "record", "type": "Record"},
                {"name": "publisher", "type": "address"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
            "Record": _RECORD_TYPE,
        },
        "primaryType": "RegisterFor",
        "domain": domain.as_typed_data(),
        "message": {
            "record": {
                "subject": record.subject,
                "kind": int(record.kind),
                "claimsRoot": record.claims_root,
                "parents": list(record.parents),
                "uri": record.uri,
            },
            "publisher": publisher,
            "nonce": nonce,
            "deadline": deadline,
        },
    }


def _revoke_message(record_id: bytes, code: int, reason: str, nonce: int, deadline: int, domain: Domain) -> dict:
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "Revoke": [
                {"name": "recordId", "type": "bytes32"},
                {"name": "reasonCode", "type": "uint8"},
                {"name": "reason", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Revoke",
        "domain": domain.as_typed_data(),
        "message": {"recordId": record_id, "reasonCode": code, "reason": reason, "nonce": nonce,
                    "deadline": deadline},
    }


def _supersede_message(record_id: bytes, successor: bytes, code: int, reason: str, nonce: int, deadline: int,
                       domain: Domain) -> dict:
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "Supersede": [
                {"name": "recordId", "type": "bytes32"},
                {"name": "successor", "type": "bytes32"},
                {"name": "reasonCode", "type": "uint8"},
                {"name": "reason", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Supersede",
        "domain": domain.as_typed_data(),
        "message": {"recordId": record_id, "successor": successor, "reasonCode": code, "reason": reason,
                    "nonce": nonce, "deadline": deadline},
    }


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: str(d.chain_id))
def test_record_signatures_equal_eth_accounts(domain):
    for account in ACCOUNTS:
        for record in RECORDS:
            signature = sign_record(account, record, domain)
            assert signature == _oracle(account, record.as_typed_data(domain))
            assert recover_record_signer(record, domain, signature) == account.address


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: str(d.chain_id))
def test_register_for_signatures_equal_eth_accounts(domain):
    wallet = to_checksum_address("0x" + "5a" * 20)  # an ERC-1271 wallet's owner signs for the wallet
    for account in ACCOUNTS:
        for record in RECORDS:
            for nonce, deadline in NONCES:
                assert sign_register_for(account, record, domain, nonce=nonce, deadline=deadline) == _oracle(
                    account, _register_for_message(record, account.address, nonce, deadline, domain)
                )
            assert sign_register_for(account, record, domain, nonce=1, publisher=wallet.lower()) == _oracle(
                account, _register_for_message(record, wallet, 1, NO_DEADLINE, domain)
            )


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: str(d.chain_id))
def test_revoke_and_supersede_signatures_equal_eth_accounts(domain):
    for account in ACCOUNTS:
        for record in RECORDS:
            record_id = record.record_id(account.address)
            successor = RECORDS[0].record_id(account.address)
            for code in ReasonCode:
                for reason in ("", "withdrawn", "erasure request (GDPR art. 17) — données effacées"):
                    for nonce, deadline in NONCES:
                        revoke = sign_revoke(account, record_id, reason, domain, nonce=nonce, code=code,
                                             deadline=deadline)
                        assert revoke == _oracle(
                            account, _revoke_message(record_id, int(code), reason, nonce, deadline, domain)
                        )
                        supersede = sign_supersede(account, record_id, successor, domain, nonce=nonce, code=code,
                                                   reason=reason, deadline=deadline)
                        assert supersede == _oracle(
                            account, _supersede_message(record_id, successor, int(code), reason, nonce, deadline,
                                                        domain)
                        )


def test_signed_operations_default_to_no_deadline_and_reason_code_other():
    account, domain, record_id = ACCOUNTS[0], DOMAINS[0], b"\x01" * 32
    assert sign_revoke(account, record_id, "x", domain, nonce=0) == _oracle(
        account, _revoke_message(record_id, 0, "x", 0, 2**256 - 1, domain)
    )
    assert sign_supersede(account, record_id, b"\x02" * 32, domain, nonce=0) == _oracle(
        account, _supersede_message(record_id, b"\x02" * 32, 0, "", 0, 2**256 - 1, domain)
    )


def test_a_record_id_of_the_wrong_length_is_refused():
    with pytest.raises(InvalidValue, match="32 bytes"):
        sign_revoke(ACCOUNTS[0], b"\x01" * 31, "withdrawn", DOMAINS[0], nonce=0)
    with pytest.raises(InvalidValue, match="32 bytes"):
        sign_supersede(ACCOUNTS[0], b"\x01" * 32, b"\x02" * 33, DOMAINS[0], nonce=0)


def test_nonces_deadlines_and_reason_codes_out_of_range_are_refused():
    account, domain, record_id = ACCOUNTS[0], DOMAINS[0], b"\x01" * 32
    with pytest.raises(InvalidValue, match="nonce"):
        sign_revoke(account, record_id, "", domain, nonce=-1)
    with pytest.raises(InvalidValue, match="deadline"):
        sign_register_for(account, RECORDS[0], domain, nonce=0, deadline=2**256)
    with pytest.raises(InvalidValue, match="reason code"):
        sign_revoke(account, record_id, "", domain, nonce=0, code=5)


def test_recovery_matches_eth_account_and_refuses_malleable_signatures():
    account, domain = Account.create(), DOMAINS[0]
    record = Record.create(b"\x05" * 32, Kind.DATASET, b"\x06" * 32, [], "")
    signature = sign_record(account, record, domain)
    expected = Account.recover_message(encode_typed_data(full_message=record.as_typed_data(domain)),
                                       signature=signature)
    assert recover_record_signer(record, domain, signature) == expected == account.address
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (order - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with pytest.raises(SignatureError, match="upper half"):
        recover_record_signer(record, domain, twin)
    with pytest.raises(SignatureError, match="v must be"):
        recover_record_signer(record, domain, signature[:64] + b"\x01")
    with pytest.raises(SignatureError, match="65 bytes"):
        recover_record_signer(record, domain, signature[:64])
    other = Record.create(b"\x05" * 32, Kind.MODEL, b"\x06" * 32, [], "")
    assert recover_record_signer(other, domain, signature) != account.address
    assert recover_record_signer(record, DOMAINS[1], signature) != account.address
    off_curve = b"\xff" * 32 + (1).to_bytes(32, "big") + b"\x1b"  # r beyond the field: no point to recover
    for _ in range(2):  # recoveries are remembered per (digest, signature): one signature over two records is two
        with pytest.raises(SignatureError, match="cannot be recovered"):
            recover_record_signer(record, domain, off_curve)
        assert recover_record_signer(record, domain, signature) == account.address
        assert recover_record_signer(other, domain, signature) not in (account.address, None)
    for raw in (bytes(20), b"\xff" * 20, bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")):
        assert checksum_address(raw) == to_checksum_address(raw)

"""The one signer against eth-account's typed-data signing (the oracle), and recovery's refusals.

eth-account encodes the full EIP-712 message the way wallets do; the signer
computes the digest itself and signs it with coincurve. Both must give the
very same 65 bytes for every message type, record shape and domain.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from provenance.errors import InvalidValue, SignatureError
from provenance.record import Domain, Kind, Record, checksum_address
from provenance.signing import recover_record_signer, sign_record, sign_revoke, sign_supersede

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
]

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _oracle(account, typed_data: dict) -> bytes:
    """What eth-account (and a wallet) signs for this EIP-712 message."""
    return bytes(account.sign_message(encode_typed_data(full_message=typed_data)).signature)


def _revoke_message(record_id: bytes, reason: str, domain: Domain) -> dict:
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "Revoke": [{"name": "recordId", "type": "bytes32"}, {"name": "reason", "type": "string"}],
        },
        "primaryType": "Revoke",
        "domain": domain.as_typed_data(),
        "message": {"recordId": record_id, "reason": reason},
    }


def _supersede_message(record_id: bytes, successor: bytes, domain: Domain) -> dict:
    return {
        "types": {
            "EIP712Domain": _DOMAIN_TYPE,
            "Supersede": [{"name": "recordId", "type": "bytes32"}, {"name": "successor", "type": "bytes32"}],
        },
        "primaryType": "Supersede",
        "domain": domain.as_typed_data(),
        "message": {"recordId": record_id, "successor": successor},
    }


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: str(d.chain_id))
def test_record_signatures_equal_eth_accounts(domain):
    for account in ACCOUNTS:
        for record in RECORDS:
            signature = sign_record(account, record, domain)
            assert signature == _oracle(account, record.as_typed_data(domain))
            assert recover_record_signer(record, domain, signature) == account.address


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: str(d.chain_id))
def test_revoke_and_supersede_signatures_equal_eth_accounts(domain):
    for account in ACCOUNTS:
        for record in RECORDS:
            record_id = record.record_id(account.address)
            for reason in ("", "withdrawn", "erasure request (GDPR art. 17) — données effacées"):
                assert sign_revoke(account, record_id, reason, domain) == _oracle(
                    account, _revoke_message(record_id, reason, domain)
                )
            successor = RECORDS[0].record_id(account.address)
            assert sign_supersede(account, record_id, successor, domain) == _oracle(
                account, _supersede_message(record_id, successor, domain)
            )


def test_a_record_id_of_the_wrong_length_is_refused():
    with pytest.raises(InvalidValue, match="32 bytes"):
        sign_revoke(ACCOUNTS[0], b"\x01" * 31, "withdrawn", DOMAINS[0])
    with pytest.raises(InvalidValue, match="32 bytes"):
        sign_supersede(ACCOUNTS[0], b"\x01" * 32, b"\x02" * 33, DOMAINS[0])


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
    for raw in (bytes(20), b"\xff" * 20, bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")):
        assert checksum_address(raw) == to_checksum_address(raw)

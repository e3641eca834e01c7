"""EIP-712 signatures over records, revocations and supersessions.

Signing goes through eth-account's typed-data encoder, so what we sign is what
any wallet would show and sign. The private key stays in the caller's
``LocalAccount``; nothing here logs or returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance.errors import SignatureError
from provenance.record import Domain, Record

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

__all__ = ["sign_record", "recover_record_signer", "sign_revoke", "sign_supersede"]

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _sign(account: "LocalAccount", typed_data: dict) -> bytes:
    from eth_account.messages import encode_typed_data

    signed = account.sign_message(encode_typed_data(full_message=typed_data))
    return bytes(signed.signature)


def sign_record(account: "LocalAccount", record: Record, domain: Domain) -> bytes:
    """65-byte signature of ``record`` for the registry named by ``domain``."""
    return _sign(account, record.as_typed_data(domain))


def recover_record_signer(record: Record, domain: Domain, signature: bytes) -> str:
    """The EOA that signed ``record`` under ``domain`` (checksummed).

    Recovered with coincurve over the EIP-712 digest, with the rules of
    OpenZeppelin's ECDSA.recover that the registry applies: 65 bytes, ``v`` 27
    or 28, ``s`` in the lower half of the curve order (no malleable twins).
    """
    from coincurve import PublicKey

    from provenance._keccak import keccak256
    from provenance.record import checksum_address

    if not isinstance(signature, (bytes, bytearray)) or len(signature) != 65:
        raise SignatureError(f"a record signature is 65 bytes, got {len(signature) if signature else 0}")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"the signature's v must be 27 or 28, got {v}")
    if int.from_bytes(signature[32:64], "big") > _HALF_ORDER:
        raise SignatureError("the signature's s is in the upper half of the curve order (malleable)")
    try:
        key = PublicKey.from_signature_and_message(
            bytes(signature[:64]) + bytes([v - 27]), record.digest(domain), hasher=None
        )
    except Exception as err:  # coincurve raises ValueError or its own types for points off the curve
        raise SignatureError(f"the record signature cannot be recovered: {err}") from None
    return checksum_address(keccak256(key.format(compressed=False)[1:])[-20:])


_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def sign_revoke(account: "LocalAccount", record_id: bytes, reason: str, domain: Domain) -> bytes:
    """Signature of ``Revoke(bytes32 recordId,string reason)``, for a relayer to submit."""
    return _sign(
        account,
        {
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS,
                "Revoke": [{"name": "recordId", "type": "bytes32"}, {"name": "reason", "type": "string"}],
            },
            "primaryType": "Revoke",
            "domain": domain.as_typed_data(),
            "message": {"recordId": record_id, "reason": reason},
        },
    )


def sign_supersede(account: "LocalAccount", record_id: bytes, successor: bytes, domain: Domain) -> bytes:
    """Signature of ``Supersede(bytes32 recordId,bytes32 successor)``."""
    return _sign(
        account,
        {
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS,
                "Supersede": [
                    {"name": "recordId", "type": "bytes32"},
                    {"name": "successor", "type": "bytes32"},
                ],
            },
            "primaryType": "Supersede",
            "domain": domain.as_typed_data(),
            "message": {"recordId": record_id, "successor": successor},
        },
    )

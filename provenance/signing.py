"""EIP-712 signatures over records and the registry's relayed operations: the one signer.

Four types, under the registry's domain ("ProvenanceRegistry", "2", chainId,
registry):

- ``Record``: what a Statement carries, the publisher's word on the record;
- ``RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)``
  (the nested record by its struct hash), for a relayer to call ``registerFor``;
- ``Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)``;
- ``Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)``.

``nonce`` is the publisher's current ``nonces()`` value (read it with
:meth:`provenance.ledger.Ledger.nonce`): the registry does not consume it when
a signature is used, and ``useNonce()`` voids every signature made with it.
``deadline`` is the last block timestamp at which the signature is accepted;
:data:`NO_DEADLINE` (the default) signs ``type(uint256).max``, never expiring.

The digest is computed here in plain Python, byte for byte as the registry
computes it: ``keccak256(0x1901 ‖ domainSeparator ‖ structHash)``. It is
signed by libsecp256k1 (coincurve, which eth-keys uses too) with RFC 6979
nonces and ``v`` = 27 + recovery id, which gives the very signature
eth-account's typed-data signing gives, what any wallet would sign
(``tests/test_signing.py`` checks it against eth-account as an oracle). It is
an order of magnitude faster, which matters when queueing thousands of records:
the domain separator is computed once per domain and the key loaded once per
account.

The private key stays in the caller's ``LocalAccount``; nothing here logs or
returns it.
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import TYPE_CHECKING

from coincurve import PrivateKey, PublicKey

from provenance._keccak import keccak256
from provenance.errors import InvalidValue, SignatureError
from provenance.record import RECORD_TYPE, Domain, ReasonCode, Record, checksum_address, parse_address

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

__all__ = [
    "sign_record",
    "sign_register_for",
    "sign_revoke",
    "sign_supersede",
    "recover_record_signer",
    "NO_DEADLINE",
    "REGISTER_FOR_TYPE",
    "REVOKE_TYPE",
    "SUPERSEDE_TYPE",
]

#: ``type(uint256).max``: a signature that never expires.
NO_DEADLINE = 2**256 - 1

REGISTER_FOR_TYPE = "RegisterFor(Record record,address publisher,uint256 nonce,uint256 deadline)" + RECORD_TYPE
REVOKE_TYPE = "Revoke(bytes32 recordId,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)"
SUPERSEDE_TYPE = (
    "Supersede(bytes32 recordId,bytes32 successor,uint8 reasonCode,string reason,uint256 nonce,uint256 deadline)"
)
_REGISTER_FOR_TYPEHASH = keccak256(REGISTER_FOR_TYPE.encode())
_REVOKE_TYPEHASH = keccak256(REVOKE_TYPE.encode())
_SUPERSEDE_TYPEHASH = keccak256(SUPERSEDE_TYPE.encode())

_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def sign_record(account: LocalAccount, record: Record, domain: Domain) -> bytes:
    """65-byte signature of ``record`` for the registry named by ``domain``."""
    return _sign(account, domain, record.struct_hash())


def sign_register_for(
    account: LocalAccount,
    record: Record,
    domain: Domain,
    *,
    nonce: int,
    deadline: int = NO_DEADLINE,
    publisher: str | None = None,
) -> bytes:
    """Signature of ``RegisterFor``, for a relayer to call ``registerFor(record, publisher, deadline, sig)``.

    ``publisher`` defaults to the signer; an ERC-1271 wallet's owner names the wallet.
    """
    publisher = account.address if publisher is None else parse_address(publisher, "publisher")
    struct_hash = keccak256(
        _REGISTER_FOR_TYPEHASH + record.struct_hash() + _word(int(publisher, 16)) + _uint(nonce, "nonce")
        + _uint(deadline, "deadline")
    )
    return _sign(account, domain, struct_hash)


def sign_revoke(
    account: LocalAccount,
    record_id: bytes,
    reason: str,
    domain: Domain,
    *,
    nonce: int,
    code: ReasonCode = ReasonCode.OTHER,
    deadline: int = NO_DEADLINE,
) -> bytes:
    """Signature of ``Revoke``, for a relayer to call ``revokeBySig``."""
    struct_hash = keccak256(
        _REVOKE_TYPEHASH + _bytes32(record_id) + _reason_code(code) + keccak256(reason.encode())
        + _uint(nonce, "nonce") + _uint(deadline, "deadline")
    )
    return _sign(account, domain, struct_hash)


def sign_supersede(
    account: LocalAccount,
    record_id: bytes,
    successor: bytes,
    domain: Domain,
    *,
    nonce: int,
    code: ReasonCode = ReasonCode.OTHER,
    reason: str = "",
    deadline: int = NO_DEADLINE,
) -> bytes:
    """Signature of ``Supersede``, for a relayer to call ``supersedeBySig``."""
    struct_hash = keccak256(
        _SUPERSEDE_TYPEHASH + _bytes32(record_id) + _bytes32(successor) + _reason_code(code)
        + keccak256(reason.encode()) + _uint(nonce, "nonce") + _uint(deadline, "deadline")
    )
    return _sign(account, domain, struct_hash)


def recover_record_signer(record: Record, domain: Domain, signature: bytes) -> str:
    """The EOA that signed ``record`` under ``domain`` (checksummed).

    Recovered with coincurve over the EIP-712 digest, with the rules of
    OpenZeppelin's ECDSA.recover that the registry applies: 65 bytes, ``v`` 27
    or 28, ``s`` in the lower half of the curve order (no malleable twins).
    """
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != 65:
        raise SignatureError(f"a record signature is 65 bytes, got {len(signature) if signature else 0}")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"the signature's v must be 27 or 28, got {v}")
    if int.from_bytes(signature[32:64], "big") > _HALF_ORDER:
        raise SignatureError("the signature's s is in the upper half of the curve order (malleable)")
    return _signer(_digest(domain, record.struct_hash()), bytes(signature))


@lru_cache(maxsize=16_384)
def _signer(digest: bytes, signature: bytes) -> str:
    """The address that signed ``digest``: a function of its arguments, remembered (a service verifies a
    record, and the ancestors of its models, many times; an error is raised again, not remembered). At
    most about 6 MiB: a flood of distinct signatures only pushes older ones out."""
    try:
        key = PublicKey.from_signature_and_message(signature[:64] + bytes([signature[64] - 27]), digest, hasher=None)
    except Exception as err:  # coincurve raises ValueError or its own types for points off the curve
        raise SignatureError(f"the record signature cannot be recovered: {err}") from None
    return checksum_address(keccak256(key.format(compressed=False)[1:])[-20:])


def _sign(account: LocalAccount, domain: Domain, struct_hash: bytes) -> bytes:
    signature = _private_key(account).sign_recoverable(_digest(domain, struct_hash), hasher=None)
    return signature[:64] + bytes([27 + signature[64]])


def _digest(domain: Domain, struct_hash: bytes) -> bytes:
    return keccak256(b"\x19\x01" + _separator(domain) + struct_hash)


@lru_cache(maxsize=16)
def _separator(domain: Domain) -> bytes:
    return domain.separator()


_KEYS: weakref.WeakKeyDictionary[LocalAccount, PrivateKey] = weakref.WeakKeyDictionary()


def _private_key(account: LocalAccount) -> PrivateKey:
    """``account``'s key loaded into coincurve, kept as long as the account object lives."""
    key = _KEYS.get(account)
    if key is None:
        key = _KEYS[account] = PrivateKey(bytes(account.key))
    return key


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _reason_code(code: ReasonCode | int) -> bytes:
    try:
        return _word(int(ReasonCode(code)))
    except ValueError:
        accepted = ", ".join(f"{int(c)} {c.label}" for c in ReasonCode)
        raise InvalidValue(f"reason code must be one of {accepted}; got {code!r}") from None


def _uint(value: int, what: str) -> bytes:
    """A uint256 word; an error naming ``what`` for a value that is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= NO_DEADLINE:
        raise InvalidValue(f"{what} must be an integer from 0 to 2**256 - 1, got {value!r}")
    return _word(value)


def _bytes32(value: bytes) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise InvalidValue(f"a record id or successor must be 32 bytes, got {value!r}")
    return bytes(value)

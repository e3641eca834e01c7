"""The Record a publisher signs, and the ids the registry derives from it.

A record is EIP-712 typed data under the domain ("ProvenanceRegistry", "2",
chainId, registry address) of the registry's version 2::

    Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)

Its struct hash and ``recordId = keccak256(abi.encode(publisher, structHash))``
are computed here in plain Python, byte for byte as the contract does, so a
record's id is known before anything is sent. The registry's bounds (at most
:data:`MAX_PARENTS` parents, a uri of at most :data:`MAX_URI_LENGTH` bytes)
are checked here, before anything is signed, rather than by a revert.

:class:`Kind` and :class:`ReasonCode` are the registry's ``uint8`` vocabularies.
Signing lives in :mod:`provenance.signing`; this module needs no key and no
network.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provenance._keccak import keccak256
from provenance.errors import InvalidValue

__all__ = [
    "Kind", "ReasonCode", "Record", "Domain", "RECORD_TYPE", "DOMAIN_VERSION", "MAX_PARENTS", "MAX_URI_LENGTH",
    "parse_bytes32", "parse_address", "checksum_address", "hex32",
]

RECORD_TYPE = "Record(bytes32 subject,uint8 kind,bytes32 claimsRoot,bytes32[] parents,string uri)"
DOMAIN_NAME = "ProvenanceRegistry"
#: The registry's ``version()``, which is also its EIP-712 domain version.
DOMAIN_VERSION = "2"
#: At most this many parents per record (the registry's ``MAX_PARENTS``).
MAX_PARENTS = 64
#: At most this many bytes (UTF-8) per uri (the registry's ``MAX_URI_LENGTH``).
MAX_URI_LENGTH = 512

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class Kind(enum.IntEnum):
    """What an artifact is; the value is the on-chain ``uint8 kind``."""

    MODEL = 0
    DATASET = 1
    OTHER = 2
    EVALUATION = 3

    @classmethod
    def parse(cls, text: str) -> Kind:
        try:
            return cls[text.upper()]
        except (KeyError, AttributeError):
            accepted = ", ".join(k.name.lower() for k in cls)
            raise InvalidValue(f"unknown kind {text!r}; accepted: {accepted}") from None


class ReasonCode(enum.IntEnum):
    """Why a publisher revoked or superseded a record; the value is the on-chain ``uint8 reasonCode``.

    The machine-readable half of a revocation or supersession (the other half is
    free text for people): a verifier acts on ``erasure`` without reading prose.
    """

    OTHER = 0
    ERASURE = 1
    WRONG_CLAIMS = 2
    KEY_COMPROMISE = 3
    WITHDRAWN = 4

    @property
    def label(self) -> str:
        """The name users type and JSON shows: ``erasure``, ``wrong_claims``, ..."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> ReasonCode:
        """``erasure``, ``wrong_claims`` (or ``wrong-claims``), ...; an error listing the accepted names."""
        try:
            return cls[text.strip().upper().replace("-", "_")]
        except (KeyError, AttributeError):
            accepted = ", ".join(c.label for c in cls)
            raise InvalidValue(f"unknown reason code {text!r}; accepted: {accepted}") from None

    @classmethod
    def label_of(cls, value: int | None) -> str | None:
        """The label of an on-chain code; an unknown number (no version-2 registry emits one) as its digits."""
        if value is None:
            return None
        try:
            return cls(value).label
        except ValueError:
            return str(value)


def parse_bytes32(text: str, what: str = "value") -> bytes:
    """``0x`` + 64 hex digits → 32 bytes, or an error naming ``what`` and the accepted form."""
    if not isinstance(text, str) or not _HEX32.match(text):
        raise InvalidValue(f"{what} must be 0x followed by 64 hex digits (32 bytes), got {text!r}")
    return bytes.fromhex(text[2:])


def parse_address(text: str, what: str = "address") -> str:
    """``0x`` + 40 hex digits → the checksummed address."""
    if not isinstance(text, str) or not _ADDRESS.match(text):
        raise InvalidValue(f"{what} must be 0x followed by 40 hex digits, got {text!r}")
    return checksum_address(bytes.fromhex(text[2:]))


def checksum_address(raw: bytes) -> str:
    """EIP-55: the 20-byte address in hex, each letter upper-cased where the hash of the hex has a high nibble."""
    lower = raw.hex()
    digest = keccak256(lower.encode()).hex()
    nibbles = digest[: len(lower)]  # the first 40 of the hash's 64 hex digits
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, nibbles, strict=True))


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


_RECORD_TYPEHASH = None


def _record_typehash() -> bytes:
    global _RECORD_TYPEHASH
    if _RECORD_TYPEHASH is None:
        _RECORD_TYPEHASH = keccak256(RECORD_TYPE.encode())
    return _RECORD_TYPEHASH


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one deployed registry."""

    chain_id: int
    verifying_contract: str

    def as_typed_data(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    def separator(self) -> bytes:
        """``_domainSeparatorV4()`` of the registry at ``verifying_contract`` on ``chain_id``."""
        typehash = keccak256(
            b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
        )
        return keccak256(
            typehash
            + keccak256(DOMAIN_NAME.encode())
            + keccak256(DOMAIN_VERSION.encode())
            + _word(self.chain_id)
            + _word(int(self.verifying_contract, 16))
        )


@dataclass(frozen=True)
class Record:
    """What a publisher signs about one artifact. Build with :meth:`create` to validate."""

    subject: bytes
    kind: Kind
    claims_root: bytes
    parents: tuple[bytes, ...] = ()
    uri: str = ""

    @classmethod
    def create(
        cls,
        subject: bytes,
        kind: Kind | int,
        claims_root: bytes,
        parents: Iterable[bytes] = (),
        uri: str = "",
    ) -> Record:
        for name, value in (("subject", subject), ("claimsRoot", claims_root)):
            if not isinstance(value, bytes) or len(value) != 32:
                raise InvalidValue(f"{name} must be 32 bytes")
        if subject == bytes(32):
            raise InvalidValue("subject must not be zero")
        parents = tuple(parents)
        for parent in parents:
            if not isinstance(parent, bytes) or len(parent) != 32:
                raise InvalidValue("every parent must be a 32-byte subject")
        if len(parents) > MAX_PARENTS:
            raise InvalidValue(f"a record lists at most {MAX_PARENTS} parents, this one {len(parents)}")
        if not isinstance(uri, str):
            raise InvalidValue(f"uri must be a string, got {uri!r}")
        if len(uri.encode("utf-8")) > MAX_URI_LENGTH:
            raise InvalidValue(
                f"a record's uri is at most {MAX_URI_LENGTH} bytes (UTF-8), this one {len(uri.encode('utf-8'))}"
            )
        try:
            kind = Kind(kind)
        except ValueError:
            raise InvalidValue(
                f"kind must be 0 (model), 1 (dataset), 2 (other) or 3 (evaluation), got {kind}"
            ) from None
        return cls(subject, kind, claims_root, parents, uri)

    def struct_hash(self) -> bytes:
        """``hashStruct(Record)`` as EIP-712 defines it (arrays and strings by their keccak256)."""
        return keccak256(
            _record_typehash()
            + self.subject
            + _word(int(self.kind))
            + self.claims_root
            + keccak256(b"".join(self.parents))
            + keccak256(self.uri.encode("utf-8"))
        )

    def record_id(self, publisher: str) -> bytes:
        """``keccak256(abi.encode(publisher, structHash))``: the registry's id for this record."""
        return keccak256(_word(int(publisher, 16)) + self.struct_hash())

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 digest a publisher signs: keccak256(0x1901 ‖ domainSeparator ‖ structHash)."""
        return keccak256(b"\x19\x01" + domain.separator() + self.struct_hash())

    def as_typed_data(self, domain: Domain) -> dict[str, Any]:
        """The full EIP-712 message, as eth-account and wallets take it."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Record": [
                    {"name": "subject", "type": "bytes32"},
                    {"name": "kind", "type": "uint8"},
                    {"name": "claimsRoot", "type": "bytes32"},
                    {"name": "parents", "type": "bytes32[]"},
                    {"name": "uri", "type": "string"},
                ],
            },
            "primaryType": "Record",
            "domain": domain.as_typed_data(),
            "message": {
                "subject": self.subject,
                "kind": int(self.kind),
                "claimsRoot": self.claims_root,
                "parents": list(self.parents),
                "uri": self.uri,
            },
        }

    def as_tuple(self) -> tuple[bytes, int, bytes, list[bytes], str]:
        """The ABI tuple the contract's ``Record`` argument takes."""
        return (self.subject, int(self.kind), self.claims_root, list(self.parents), self.uri)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": hex32(self.subject),
            "kind": self.kind.name.lower(),
            "claimsRoot": hex32(self.claims_root),
            "parents": [hex32(p) for p in self.parents],
            "uri": self.uri,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        try:
            return cls.create(
                parse_bytes32(data["subject"], "subject"),
                Kind.parse(data["kind"]),
                parse_bytes32(data["claimsRoot"], "claimsRoot"),
                [parse_bytes32(p, "parent") for p in data.get("parents", [])],
                data.get("uri", ""),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise InvalidValue(
                f"a record needs subject, kind, claimsRoot, parents and uri ({err})"
            ) from None

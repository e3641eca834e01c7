"""Salted commitments to claims, and selective disclosure (the idea of SD-JWT).

Every claim field (:data:`provenance.claims.CLAIM_FIELDS`, or for an evaluation
:data:`~provenance.claims.EVALUATION_FIELDS`; a list or an object in a list or
nullable field is one field) becomes one Merkle leaf
``claim_leaf(field, salt, value)`` where ``value`` is the canonical JSON of the
field's value (sorted keys, no spaces, UTF-8, non-ASCII kept) and ``salt`` is
32 bytes: 16 bytes from :mod:`secrets` followed by 16 zero bytes, so each
field carries 128 random bits while fitting the leaf's ``bytes32`` slot. The
tree's root is the record's ``claimsRoot``.

A salt hides a value even when the value space is tiny (``personal_data`` has
three values): without it, anyone could hash the candidates and compare. So
the :class:`Commitment` (every field's salt and value) is the publisher's
secret, kept in the local store; a :class:`Disclosure` reveals one field with
its salt and Merkle proof, and nothing about the others.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from provenance import merkle
from provenance.errors import ClaimsError
from provenance.vocabulary import CLAIM_FIELDS, EVALUATION_FIELDS, resolve_fields

if TYPE_CHECKING:  # pragma: no cover
    from provenance.claims import Claims

__all__ = [
    "SALT_RANDOM_BYTES",
    "Opening",
    "Disclosure",
    "Commitment",
    "canonical_json",
    "new_salt",
    "commit",
    "verify_disclosure",
    "disclosed_view",
]

SALT_RANDOM_BYTES = 16
_FORMAT = "provenance/claims-commitment@1"


def canonical_json(value: Any) -> bytes:
    """The committed bytes of a value: sorted keys, separators (",", ":"), UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def new_salt() -> bytes:
    """A fresh salt: 128 random bits, zero-padded to 32 bytes."""
    return secrets.token_bytes(SALT_RANDOM_BYTES) + bytes(32 - SALT_RANDOM_BYTES)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes32(text: object, what: str) -> bytes:
    if not (isinstance(text, str) and text.startswith("0x") and len(text) == 66):
        raise ClaimsError(f"{what} must be 0x followed by 64 hex digits, got {text!r}")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise ClaimsError(f"{what} must be 0x followed by 64 hex digits, got {text!r}") from None


def _check(field: object, salt: object) -> None:
    if not isinstance(field, str) or not field:
        raise ClaimsError(f"a claim field name must be a non-empty string, got {field!r}")
    if not isinstance(salt, bytes) or len(salt) != 32:
        raise ClaimsError(f"the salt of {field} must be 32 bytes")


@dataclass(frozen=True)
class Opening:
    """One field's salt and committed bytes; ``value`` decodes a fresh copy."""

    field: str
    salt: bytes
    encoded: bytes

    def __post_init__(self) -> None:
        _check(self.field, self.salt)

    @classmethod
    def of(cls, field: str, salt: bytes, value: Any) -> Opening:
        return cls(field, salt, canonical_json(value))

    @property
    def value(self) -> Any:
        return json.loads(self.encoded)

    @cached_property
    def leaf(self) -> bytes:
        # cached: the tree is built from the leaves and disclose() looks each one up again
        return merkle.claim_leaf(self.field, self.salt, self.encoded)


@dataclass(frozen=True)
class Disclosure:
    """One revealed field: its value, salt and the Merkle proof up to ``claimsRoot``.

    Build it with :meth:`Commitment.disclose` or, from a Statement, :meth:`from_dict`.
    """

    field: str
    salt: bytes
    encoded: bytes
    proof: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check(self.field, self.salt)
        if not all(isinstance(p, bytes) and len(p) == 32 for p in self.proof):
            raise ClaimsError(f"the proof of {self.field} must be a list of 32-byte hashes")

    @property
    def value(self) -> Any:
        return json.loads(self.encoded)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "salt": _hex(self.salt),
            "value": self.value,
            "proof": [_hex(p) for p in self.proof],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Disclosure:
        """Read one disclosure as written by :meth:`to_dict`; refuses other shapes."""
        if not isinstance(data, Mapping) or set(data) != {"field", "salt", "value", "proof"}:
            raise ClaimsError("a disclosure must be a mapping with exactly field, salt, value and proof")
        field = data["field"]
        if not isinstance(data["proof"], list):
            raise ClaimsError(f"the proof of {field} must be a list of 0x-prefixed 32-byte hashes")
        try:
            encoded = canonical_json(data["value"])
        except (TypeError, ValueError):
            raise ClaimsError(f"the value of {field} is not a JSON value") from None
        return cls(
            field=field,
            salt=_bytes32(data["salt"], f"the salt of {field}"),
            encoded=encoded,
            proof=tuple(_bytes32(p, f"a proof hash of {field}") for p in data["proof"]),
        )


@dataclass(frozen=True, eq=False)
class Commitment:
    """Every field's opening and the resulting ``claims_root``: the publisher's secret.

    Build it with :func:`commit`, :meth:`from_openings` or :meth:`from_json`.
    ``defaults`` are the fields the claims file asks to publish (its ``disclose``).
    """

    claims_root: bytes
    openings: tuple[Opening, ...] = dataclass_field(repr=False)  # secret: keep out of logs
    defaults: tuple[str, ...]
    _tree: merkle.MerkleTree = dataclass_field(repr=False)

    @classmethod
    def from_openings(cls, openings: Iterable[Opening], defaults: Iterable[str] = ()) -> Commitment:
        """Build the tree over exactly one opening per claim field of one field set.

        The set is :data:`~provenance.claims.CLAIM_FIELDS`, or :data:`~provenance.claims.EVALUATION_FIELDS`
        when the committed kind is ``evaluation``.
        """
        by_field: dict[str, Opening] = {}
        for opening in openings:
            if opening.field in by_field:
                raise ClaimsError(f"the claim field {opening.field} is committed twice")
            by_field[opening.field] = opening
        kind = _kind_of(by_field)
        fields = EVALUATION_FIELDS if kind == "evaluation" else CLAIM_FIELDS
        missing = sorted(set(fields) - set(by_field))
        extra = sorted(set(by_field) - set(fields))
        if missing or extra:
            what = "an evaluation's claim field" if kind == "evaluation" else "claim field"
            raise ClaimsError(f"a commitment needs every {what} once; missing {missing}, unknown {extra}")
        ordered = tuple(by_field[f] for f in sorted(by_field))
        tree = merkle.MerkleTree.from_leaves(o.leaf for o in ordered)
        return cls(tree.root, ordered, resolve_fields(defaults, kind=kind), tree)

    @property
    def kind(self) -> str:
        """The committed claims kind (``model``, ``dataset``, ``other``, ``evaluation``)."""
        return _kind_of({o.field: o for o in self.openings})

    def disclose(self, fields: Iterable[str] | None = None) -> list[Disclosure]:
        """Disclosures of ``fields`` (sections or fields of this kind), or of :attr:`defaults` when None."""
        wanted = self.defaults if fields is None else resolve_fields(fields, kind=self.kind)
        return [
            Disclosure(o.field, o.salt, o.encoded, tuple(self._tree.proof(o.leaf)))
            for o in self.openings
            if o.field in wanted
        ]

    def to_json(self) -> str:
        """The secret material for the local store (never for a public Statement).

        Compact JSON; each opening's value is its committed bytes as they are (already canonical JSON),
        not decoded and encoded again: this runs once per record when queueing thousands.
        """
        head = json.dumps(
            {"format": _FORMAT, "claimsRoot": _hex(self.claims_root), "disclose": list(self.defaults)},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        openings = ",".join(
            '{"field":' + json.dumps(o.field, ensure_ascii=False) + ',"salt":"' + _hex(o.salt) + '","value":'
            + o.encoded.decode("utf-8") + "}"
            for o in self.openings
        )
        return head[:-1] + ',"openings":[' + openings + "]}"

    @classmethod
    def from_json(cls, text: str) -> Commitment:
        """Read :meth:`to_json` output back; refuses it if the openings no longer give its root."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ClaimsError(f"a stored claims commitment is not JSON: {err}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ClaimsError(f"a stored claims commitment must have format {_FORMAT}")
        openings = []
        for item in data.get("openings", []):
            if not isinstance(item, dict) or set(item) != {"field", "salt", "value"}:
                raise ClaimsError("each opening must be a mapping with exactly field, salt and value")
            field = item["field"]
            openings.append(Opening.of(field, _bytes32(item["salt"], f"the salt of {field}"), item["value"]))
        commitment = cls.from_openings(openings, data.get("disclose", []))
        if _hex(commitment.claims_root) != data.get("claimsRoot"):
            raise ClaimsError(
                "the stored claims commitment does not match its claimsRoot "
                f"(stored {data.get('claimsRoot')}, recomputed {_hex(commitment.claims_root)})",
                hint="the local store was altered; restore it from a backup",
            )
        return commitment


def _kind_of(by_field: Mapping[str, Opening]) -> str:
    """The committed ``kind`` value (which picks the field set); text, whatever another tool committed."""
    opening = by_field.get("kind")
    if opening is None:
        return ""
    try:
        value = opening.value
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""


# The canonical encoding of each field of the last few Claims committed to: a publisher queueing
# thousands of records commits to one Claims object thousands of times, each with fresh salts.
# Claims are frozen, and the object is held here, so an id() cannot be reused while it is cached.
_ENCODED: dict[int, tuple[Claims, tuple[tuple[str, bytes], ...]]] = {}


def _encoded_fields(claims: Claims) -> tuple[tuple[str, bytes], ...]:
    entry = _ENCODED.get(id(claims))
    if entry is None or entry[0] is not claims:
        entry = (claims, tuple((field, canonical_json(value)) for field, value in claims.field_values().items()))
        if len(_ENCODED) >= 8:
            _ENCODED.clear()
        _ENCODED[id(claims)] = entry
    return entry[1]


def commit(claims: Claims) -> Commitment:
    """Commit to every field of ``claims`` with a fresh salt each."""
    encoded = _encoded_fields(claims)
    # one read of the OS's random source for every field's 128 bits (as new_salt, without a call per field)
    random = secrets.token_bytes(SALT_RANDOM_BYTES * len(encoded))
    padding = bytes(32 - SALT_RANDOM_BYTES)
    return Commitment.from_openings(
        (
            Opening(field, random[i * SALT_RANDOM_BYTES : (i + 1) * SALT_RANDOM_BYTES] + padding, value)
            for i, (field, value) in enumerate(encoded)
        ),
        claims.disclose,
    )


def verify_disclosure(claims_root: bytes, disclosure: Disclosure) -> bool:
    """True when the disclosed value, salt and proof lead to ``claims_root``. Pure, offline."""
    leaf = merkle.claim_leaf(disclosure.field, disclosure.salt, disclosure.encoded)
    return merkle.verify(claims_root, leaf, disclosure.proof)


def disclosed_view(claims_root: bytes, disclosures: Iterable[Disclosure]) -> dict[str, Any]:
    """The disclosed claims as ``{field: value}``, sorted by field, for the verifier.

    Every disclosure must verify against ``claims_root`` and name a known field
    once; otherwise a :class:`ClaimsError` lists the offending fields (the
    verifier reports ``DISCLOSURE_MISMATCH``).
    """
    view: dict[str, Any] = {}
    mismatched, repeated = [], []
    disclosures = list(disclosures)
    unknown = [d.field for d in disclosures if d.field not in CLAIM_FIELDS and d.field not in EVALUATION_FIELDS]
    if unknown:
        raise ClaimsError(
            f"disclosed claims refused: unknown field {', '.join(unknown)}; accepted: {', '.join(CLAIM_FIELDS)}"
            f" (of an evaluation: {', '.join(EVALUATION_FIELDS)})"
        )
    evaluation = [d.field for d in disclosures if d.field not in CLAIM_FIELDS]
    other = [d.field for d in disclosures if d.field not in EVALUATION_FIELDS]
    if evaluation and other:
        raise ClaimsError(
            f"disclosed claims refused: fields of an evaluation ({', '.join(evaluation)}) and of other records "
            f"({', '.join(other)}) mixed; accepted: the fields of one kind of record"
        )
    for disclosure in disclosures:
        if disclosure.field in view:
            repeated.append(disclosure.field)
        elif not verify_disclosure(claims_root, disclosure):
            mismatched.append(disclosure.field)
        else:
            view[disclosure.field] = disclosure.value
    if mismatched or repeated:
        problems = []
        if mismatched:
            problems.append(f"these do not match claimsRoot {_hex(claims_root)}: {', '.join(mismatched)}")
        if repeated:
            problems.append(f"these are disclosed more than once: {', '.join(repeated)}")
        raise ClaimsError("disclosed claims refused: " + "; ".join(problems))
    return dict(sorted(view.items()))

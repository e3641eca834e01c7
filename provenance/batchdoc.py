"""The batch document: what a batch's ``uri`` names, so that anyone can learn its members and check them.

A batch puts one Merkle root on chain for many records; the chain knows
nothing else of them. The document lists every member in a form a stranger can
check against that root alone, and holds only what cannot be recomputed, so
that a batch of 10,000 records stays near 10 MB rather than the 85 MB of whole
Statements (``bench/register_bench.py`` measures it; target <= 1 KiB a member)::

    {"version": 2, "batchRoot": "0x..", "chainId": 1, "registry": "0x..", "submitter": "0x..",
     "common": {"kind": "dataset", "name": "acme/chats", "claims": [["copyright.license", "CC-BY-4.0"], ...]},
     "members": [{"id": "1a2b3c4d", "subject": "..", "signature": "..", "salts": "..", "tree": "+3+.0..",
                  "hashes": ".."}, ...]}

A member's missing ``kind``, ``name``, ``uri``, ``parents`` or ``claims`` is
the ``common`` one (``uri`` and ``parents`` default to none, ``name`` to the
subject in hex); ``publisher`` defaults to the submitter. Left out, because the
reader recomputes them: each member's inclusion proof (from the tree rebuilt
over every member's record id), its ``claimsRoot`` and the disclosures' proofs
(the root and paths of the claims tree below), the record id (but for its first
four bytes, ``id``, which let a reader name the member that no longer gives
it), and the manifest (a member seen by others is known by its subject; the
publisher's own ``provenance.json`` beside each artifact keeps it).

A member's disclosed claims are ``claims`` (``[field, value]`` pairs, in the
Statement's order; a value is the canonical JSON its leaf commits to), one salt
each in ``salts`` (their 32 bytes each, or only the first 16 when every salt
ends in the 16 zero bytes :func:`provenance.commitments.new_salt` pads with),
and the part of the claims tree they need: ``tree`` walks it from the root in
pre-order, one character a node, ``+`` an inner node (its two children follow),
``.`` a subtree nothing disclosed lies in (its hash is the next 32 bytes of
``hashes``), and one of ``0-9A-Za-z`` the leaf of the claim with that index
(0 to 61). Hashing it up gives ``claimsRoot``; the siblings on each leaf's path
are that claim's proof. A member disclosing nothing has ``tree`` ``.`` and
``claimsRoot`` as its one hash. Binary values are base64url without padding,
as SD-JWT writes its salts and digests (hex would double them: ~1.4 KB a
member); subjects of parents stay 0x-hex, as in a record.

:func:`read` takes the values of the chain's ``BatchAnchored`` event (and of
its transaction) from the caller, refuses a document that names another root,
chain, registry or submitter or whose members do not give the root, and
returns every member as a :class:`~provenance.statement.Statement` with its
batch anchor and proof. It also reads documents of the first format (version
1: ``{"batchRoot", "statements": [whole Statements]}``), already published.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from provenance import merkle
from provenance.commitments import canonical_json
from provenance.errors import BatchDocumentError, ProvenanceError
from provenance.record import hex32, parse_address
from provenance.statement import PREDICATE_TYPE, STATEMENT_TYPE, SUBJECT_DIGEST, Anchor, Statement

__all__ = ["VERSION", "DEFAULT_MAX_MEMBERS", "DEFAULT_MAX_BYTES", "build", "read"]

VERSION = 2
#: Members :func:`read` accepts unless told otherwise (the registry counts them in a uint32).
DEFAULT_MAX_MEMBERS = 100_000
#: Bytes :func:`read` accepts unless told otherwise: a first-format document of 10,000 Statements is ~85 MB.
DEFAULT_MAX_BYTES = 128 * 1024 * 1024

#: The characters naming a disclosed claim's leaf in ``tree``, by the claim's index (at most 62 claims).
_LEAF_NAMES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INNER, _HIDDEN = "+", "."
_MAX_DEPTH = 64  # of a claims tree; one of every claim field has depth 5
_MAX_TREE = 1024  # characters of ``tree``
_MAX_FIELD = 256  # characters of a claim field's name
_SALT, _SALT_RANDOM = 32, 16
_ID_BYTES = 4
_MAX_SIGNATURE = 65
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ID = re.compile(f"[0-9a-f]{{{2 * _ID_BYTES}}}")
_MEMBER_KEYS = frozenset(
    ("id", "subject", "signature", "salts", "tree", "hashes", "kind", "name", "uri", "parents", "claims", "publisher")
)
_DOCUMENT_KEYS = frozenset(("version", "batchRoot", "chainId", "registry", "submitter", "common", "members"))
_COMMON_KEYS = ("kind", "name", "uri", "parents", "claims")
#: What a member's value is when neither it nor ``common`` gives one (JSON texts; ``null`` name: the subject).
_DEFAULTS = {"kind": "", "name": "null", "uri": '""', "parents": "[]", "claims": "[]", "publisher": ""}


# ---------------------------------------------------------------- writing


def build(root: bytes, submitter: str, chain_id: int, registry: str, members: Sequence[Statement]) -> bytes:
    """The batch document (compact JSON, UTF-8) of the batch ``root`` that ``submitter`` anchored.

    ``members`` are the batch's Statements, each of ``chain_id`` and
    ``registry``; their anchors and manifests are not written. Refused
    (:class:`~provenance.errors.BatchDocumentError`) when a member is of
    another chain or registry or does not fit the format's bounds. Nothing is
    hashed again (10,000 members are written in about a second): the root,
    the record ids and the disclosures' proofs are taken as the publisher's
    batch tree and Statements give them, and :func:`read` is what checks them.
    """
    if not members:
        raise BatchDocumentError("a batch document needs at least one member")
    submitter = parse_address(submitter, "submitter")
    registry = parse_address(registry, "registry")
    encoded = [_Member.of(statement, i, chain_id, registry) for i, statement in enumerate(members)]
    common = _common(encoded, submitter)
    head = json.dumps(
        {
            "version": VERSION, "batchRoot": hex32(root), "chainId": chain_id, "registry": registry,
            "submitter": submitter,
        },
        separators=(",", ":"), ensure_ascii=False,
    )
    written = {key: value for key, value in common.items() if key in _COMMON_KEYS}
    parts = [head[:-1], ',"common":', _object(written), ',"members":[']
    parts.append(",".join(member.json(common) for member in encoded))
    parts.append("]}")
    return "".join(parts).encode("utf-8")


class _Member:
    """One Statement cut down to what the document keeps; values already as the JSON texts written."""

    __slots__ = ("values", "binary")

    def __init__(self, values: dict[str, str], binary: str) -> None:
        self.values = values  # kind, name, uri, parents, claims, publisher: compact JSON texts
        self.binary = binary  # id, subject, signature, salts, tree, hashes: the JSON members, joined

    @classmethod
    def of(cls, statement: Statement, index: int, chain_id: int, registry: str) -> _Member:
        where = f"batch member {index} (subject {hex32(statement.subject)})"
        if statement.chain_id != chain_id or statement.registry != registry:
            raise BatchDocumentError(
                f"{where} is a Statement for registry {statement.registry} on chain {statement.chain_id}, "
                f"not for the batch's registry {registry} on chain {chain_id}"
            )
        if not 0 < len(statement.signature) <= _MAX_SIGNATURE:
            raise BatchDocumentError(f"{where}: its signature is {len(statement.signature)} bytes, not 65")
        record = statement.record
        claims, salts, tree, hashes = _encode_claims(statement, where)
        values = {  # in the order they are written; _DEFAULTS says what a value left out means
            "kind": _string(record.kind.name.lower()),
            "name": "null" if statement.name == hex32(record.subject) else _string(statement.name),
            "uri": _string(record.uri),
            "parents": _text([hex32(p) for p in record.parents]),
            "claims": claims,
            "publisher": _string(statement.publisher),
        }
        binary = (
            f'"id":"{statement.record_id[:_ID_BYTES].hex()}","subject":"{_b64(record.subject)}",'
            f'"signature":"{_b64(statement.signature)}","salts":"{_b64(salts)}","tree":"{tree}",'
            f'"hashes":"{_b64(hashes)}"'
        )
        return cls(values, binary)

    def json(self, common: dict[str, str]) -> str:
        own = [f'"{key}":{value}' for key, value in self.values.items() if value != common.get(key, _DEFAULTS[key])]
        return "{" + ",".join((self.binary, *own)) + "}"


def _common(members: Sequence[_Member], submitter: str) -> dict[str, str]:
    """For each key of ``common``, the value most members have (left out when that is the default)."""
    common = {}
    for key in _COMMON_KEYS:
        counts: dict[str, int] = {}
        for member in members:
            value = member.values[key]
            counts[value] = counts.get(value, 0) + 1
        best = max(counts, key=counts.__getitem__)  # first seen of the most frequent
        if best != _DEFAULTS[key]:
            common[key] = best
    common["publisher"] = _string(submitter)  # not written: a member's publisher is by default the submitter
    return common


def _object(values: dict[str, str]) -> str:
    return "{" + ",".join(f'"{key}":{value}' for key, value in values.items()) + "}"


def _text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _disclosure(item: dict[str, Any], where: str) -> tuple[str, bytes, bytes, tuple[str, ...]]:
    """A Statement's disclosure as (field, salt, committed bytes, proof in hex): the shape
    :meth:`~provenance.commitments.Disclosure.from_dict` reads, without building one (10,000 members
    disclose 16 claims each, and most proof hashes are not written)."""
    try:
        field, salt, value, proof = item["field"], item["salt"], item["value"], item["proof"]
    except (KeyError, TypeError):
        raise BatchDocumentError(f"{where} must have exactly field, salt, value and proof") from None
    if len(item) != 4:
        raise BatchDocumentError(f"{where} must have exactly field, salt, value and proof")
    if not isinstance(field, str) or not field or not isinstance(proof, list) or len(proof) > _MAX_DEPTH:
        raise BatchDocumentError(f"{where} must name its field and give a proof of at most {_MAX_DEPTH} hashes")
    return field, _hex32(salt, f"{where}: the salt of {field}"), _canonical(value, where), tuple(proof)


def _hex32(text: object, what: str) -> bytes:
    try:
        if isinstance(text, str) and text[:2] == "0x" and len(text) == 66:
            return bytes.fromhex(text[2:])
    except ValueError:
        pass
    raise BatchDocumentError(f"{what} must be 0x followed by 64 hex digits, got {_brief(text)}")


_CANONICAL: dict[str, bytes] = {}  # repr of a claim value -> its canonical JSON (a batch repeats its claims)


def _canonical(value: Any, where: str) -> bytes:
    """:func:`~provenance.commitments.canonical_json`, remembered by ``repr``, which tells JSON values apart
    as canonical JSON does (``True`` from ``1``, ``1.0`` from ``1``)."""
    key = repr(value)
    encoded = _CANONICAL.get(key)
    if encoded is None:
        try:
            encoded = canonical_json(value)
        except (TypeError, ValueError):
            raise BatchDocumentError(f"{where}: the value is not a JSON value") from None
        if len(_CANONICAL) >= 4096:
            _CANONICAL.clear()
        _CANONICAL[key] = encoded
    return encoded


@functools.lru_cache(maxsize=1024)
def _string(text: str) -> str:
    """A JSON string (a batch repeats its field names, kind, name and publisher)."""
    return json.dumps(text, ensure_ascii=False)


def _encode_claims(statement: Statement, where: str) -> tuple[str, bytes, str, bytes]:
    """``claims`` (JSON text), ``salts``, ``tree`` and ``hashes`` of a Statement's disclosures.

    Nothing is hashed: a node of the claims tree is known by the siblings on
    its path to the root (the tail of a proof), since hashing it with them must
    give claimsRoot. Two disclosures whose proofs end alike meet there; a
    sibling no disclosure's path goes through is a hidden subtree, written as
    its hash. So the disclosures are written as the Statement gives them: a
    Statement whose proofs do not lead to its claimsRoot gives a document that
    :func:`read` refuses (the publisher's own, made by
    :func:`provenance.publish.prepare`, always do).
    """
    disclosures = statement.disclosures
    if len(disclosures) > len(_LEAF_NAMES):
        raise BatchDocumentError(f"{where} discloses {len(disclosures)} claims; a batch document holds at most "
                                 f"{len(_LEAF_NAMES)} a member")
    leaves: dict[tuple[str, ...], int] = {}  # a disclosed leaf, by its proof -> its index
    inner: dict[tuple[str, ...], dict[tuple[str, ...], str]] = {}  # inner node -> its walked children -> sibling
    pairs, salts = [], []
    for index, item in enumerate(disclosures):
        field, salt, encoded, proof = _disclosure(item, f"{where}: disclosure {index}")
        if proof in leaves:
            raise BatchDocumentError(f"{where} discloses {field} twice")
        leaves[proof] = index
        pairs.append("[" + _string(field) + "," + encoded.decode("utf-8") + "]")
        salts.append(salt)
        path = proof  # the node on the leaf's path, by the siblings from it up
        while path:
            up = path[1:]
            walked = inner.get(up)
            if walked is None:
                inner[up] = {path: path[0]}
                path = up
                continue
            walked.setdefault(path, path[0])  # met a path walked before: the rest is known
            if len(walked) > 2:
                raise BatchDocumentError(f"{where}: the disclosures' proofs do not form one claims tree")
            break
    if not leaves:
        return "[]", b"", _HIDDEN, statement.record.claims_root
    if not leaves.keys().isdisjoint(inner):
        raise BatchDocumentError(f"{where}: the disclosures' proofs do not form one claims tree")
    tree: list[str] = []
    hashes: list[bytes] = []
    stack: list[tuple[str, ...] | str] = [()]
    while stack:
        node = stack.pop()
        if isinstance(node, str):  # a hidden subtree's hash
            tree.append(_HIDDEN)
            hashes.append(_hex32(node, f"{where}: a proof hash"))
        elif node in leaves:
            tree.append(_LEAF_NAMES[leaves[node]])
        else:
            tree.append(_INNER)
            children = inner[node]
            if len(children) == 2:
                stack += reversed(children)
            else:
                (child, sibling), = children.items()
                stack += (sibling, child)
    if len(tree) > _MAX_TREE:
        raise BatchDocumentError(f"{where}: its claims tree needs {len(tree)} nodes, more than the {_MAX_TREE} "
                                 "a batch document holds a member")
    padded = all(s[_SALT_RANDOM:] == bytes(_SALT - _SALT_RANDOM) for s in salts)
    salt_bytes = b"".join(s[:_SALT_RANDOM] if padded else s for s in salts)
    return "[" + ",".join(pairs) + "]", salt_bytes, "".join(tree), b"".join(hashes)


# ---------------------------------------------------------------- reading


def read(
    data: bytes | str,
    *,
    root: bytes,
    chain_id: int,
    registry: str,
    tx_hash: bytes,
    block_number: int,
    submitter: str,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[Statement]:
    """Every member of a batch document, checked against the batch the chain's ``BatchAnchored`` names.

    ``root``, ``submitter`` and ``chain_id``/``registry`` are the event's (and
    the registry's), ``tx_hash`` and ``block_number`` its transaction's; the
    document may be hostile (fetched from anywhere). Refused with a
    :class:`~provenance.errors.BatchDocumentError` saying why: not JSON, more
    than ``max_bytes`` or ``max_members``, a member that is no valid record,
    another root, chain, registry or submitter than the event's, or members
    that do not give the anchored root (naming the member, when its ``id``
    shows which).

    Each member comes back as a Statement without manifest, anchored
    ``Anchor("batch", tx_hash, block_number, root, proof, submitter)`` with its
    proof out of the rebuilt tree, in the document's order. Signatures are NOT
    checked here: a batch proves that its submitter anchored these records, not
    that their publishers signed them, so the verifier checks each Statement it
    uses (authenticity, then status from the chain) like any other.
    """
    registry = parse_address(registry, "registry")
    submitter = parse_address(submitter, "submitter")
    document = _parse(data, max_bytes)
    version = document.get("version")
    members: list[tuple[Statement, bytes | None]]
    if type(version) is int and version == VERSION:
        members = _read_members(document, root, chain_id, registry, submitter, max_members)
    elif "version" not in document and "statements" in document:
        members = [(s, None) for s in _read_statements(document, root, chain_id, registry, max_members)]
    else:
        raise BatchDocumentError(
            f"the batch document is of version {_brief(document.get('version'))}; this reader knows "
            f"version {VERSION} and the first format (whole Statements)"
        )
    leaves = [merkle.record_leaf(statement.record_id) for statement, _ in members]
    tree = _checked_tree(members, leaves, root)
    return [
        statement.with_anchor(Anchor("batch", tx_hash, block_number, root, tuple(tree.proof(leaf)), submitter))
        for (statement, _), leaf in zip(members, leaves, strict=True)
    ]


def _parse(data: bytes | str, max_bytes: int) -> dict[str, Any]:
    from pydantic_core import from_json  # bounded nesting: see Statement.loads

    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        raise BatchDocumentError(f"the batch document is {size:,} bytes; at most {max_bytes:,} are read")
    try:
        document = from_json(data, allow_inf_nan=False)
    except ValueError as err:
        raise BatchDocumentError(f"the batch document is not JSON ({err})") from None
    if not isinstance(document, dict):
        raise BatchDocumentError("the batch document is not a JSON object")
    return document


def _expect(document: dict[str, Any], key: str, want: int | str) -> None:
    """The document's ``key`` is the anchored batch's (addresses and hex in any case)."""
    value = document.get(key)
    if isinstance(want, int):
        same = type(value) is int and value == want
    else:
        same = isinstance(value, str) and value.lower() == want.lower()
    if not same:
        raise BatchDocumentError(
            f"the batch document's {key} is {_brief(value)}, but the anchored batch's is {want}",
            hint="the document is of another batch: fetch the one the BatchAnchored event's uri names",
        )


def _read_members(
    document: dict[str, Any], root: bytes, chain_id: int, registry: str, submitter: str, max_members: int
) -> list[tuple[Statement, bytes | None]]:
    """Version 2: each member with the first bytes of the record id it was written with."""
    if not set(document) <= _DOCUMENT_KEYS:
        raise BatchDocumentError(f"the batch document has keys other than {', '.join(sorted(_DOCUMENT_KEYS))}: "
                                 f"{_brief(sorted(set(document) - _DOCUMENT_KEYS))}")
    for key, want in (("batchRoot", hex32(root)), ("chainId", chain_id), ("registry", registry),
                      ("submitter", submitter)):
        _expect(document, key, want)
    common = document.get("common", {})
    if not isinstance(common, dict) or not set(common) <= set(_COMMON_KEYS):
        raise BatchDocumentError(f"the batch document's common must be an object of {', '.join(_COMMON_KEYS)}")
    members = _members(document, "members", max_members)
    statements: list[tuple[Statement, bytes | None]] = []
    seen: dict[int, list[_Claim]] = {}
    for index, member in enumerate(members):
        where = f"batch document member {index}"
        if not isinstance(member, dict) or not set(member) <= _MEMBER_KEYS:
            raise BatchDocumentError(f"{where} must be an object of {', '.join(sorted(_MEMBER_KEYS))}")
        statements.append(_member(member, common, index, chain_id, registry, submitter, seen))
    return statements


def _members(document: dict[str, Any], key: str, max_members: int) -> list[Any]:
    members = document.get(key)
    if not isinstance(members, list) or not members:
        raise BatchDocumentError(f"the batch document's {key} must be a non-empty list")
    if len(members) > max_members:
        raise BatchDocumentError(f"the batch document lists {len(members):,} members; at most {max_members:,} are read")
    return members


_Claim = tuple[str, bytes, Any]  # field, committed bytes, value


def _claims(claims: object, where: str) -> list[_Claim]:
    """``[[field, value], ...]`` with each value's canonical JSON (the bytes its leaf commits to)."""
    if not isinstance(claims, list) or len(claims) > len(_LEAF_NAMES):
        raise BatchDocumentError(f"{where}: claims must be a list of at most {len(_LEAF_NAMES)} [field, value] pairs")
    encoded = []
    for pair in claims:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                and 0 < len(pair[0]) <= _MAX_FIELD):
            raise BatchDocumentError(f"{where}: each claim must be [field name, value], got {_brief(pair)}")
        try:
            encoded.append((pair[0], canonical_json(pair[1]), pair[1]))
        except (TypeError, ValueError):
            raise BatchDocumentError(f"{where}: the value of {pair[0]} is not a JSON value") from None
    return encoded


def _member(
    member: dict[str, Any], common: dict[str, Any], index: int, chain_id: int, registry: str, submitter: str,
    seen: dict[int, list[_Claim]],
) -> tuple[Statement, bytes]:
    """One member as a Statement (unanchored), through :meth:`Statement.from_json`'s bounds and parsers."""
    where = f"batch document member {index}"
    subject = _unb64(member.get("subject"), f"{where}: subject", exactly=32)
    signature = _unb64(member.get("signature"), f"{where}: signature", at_most=_MAX_SIGNATURE)

    def field(key: str, default: Any) -> Any:
        return member[key] if key in member else common.get(key, default)

    claims = field("claims", [])
    encoded = seen.get(id(claims))  # the common claims are one list, read once
    if encoded is None:
        encoded = seen[id(claims)] = _claims(claims, where)
    claims_root, disclosures = _decode_claims(member, encoded, where)
    name = field("name", None)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": hex32(subject) if name is None else name, "digest": {SUBJECT_DIGEST: subject.hex()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "record": {
                "subject": hex32(subject), "kind": field("kind", None), "claimsRoot": hex32(claims_root),
                "parents": field("parents", []), "uri": field("uri", ""),
            },
            "publisher": member.get("publisher", submitter),
            "signature": "0x" + signature.hex(),
            "chain": {"chainId": chain_id, "registry": registry},
            "manifest": None,
            "disclosures": disclosures,
            "anchor": None,
        },
    }
    try:
        parsed = Statement.from_json(statement, source=where)
    except ProvenanceError as err:
        raise BatchDocumentError(str(err)) from None
    written = member.get("id")
    if not isinstance(written, str) or not _ID.fullmatch(written):
        raise BatchDocumentError(f"{where}: id must be the first {_ID_BYTES} bytes of its record id, in hex")
    return parsed, bytes.fromhex(written)


def _decode_claims(
    member: dict[str, Any], claims: list[_Claim], where: str
) -> tuple[bytes, list[dict[str, Any]]]:
    """``claimsRoot`` and the disclosures (with their proofs) that a member's claims, salts and tree give."""
    tree = member.get("tree")
    if not isinstance(tree, str) or not 0 < len(tree) <= _MAX_TREE:
        raise BatchDocumentError(f"{where}: tree must be a string of 1 to {_MAX_TREE} characters")
    raw_salts = _unb64(member.get("salts", ""), f"{where}: salts", at_most=_SALT * len(claims))
    if len(raw_salts) == _SALT_RANDOM * len(claims):
        padding = bytes(_SALT - _SALT_RANDOM)
        salts = [raw_salts[i : i + _SALT_RANDOM] + padding for i in range(0, len(raw_salts), _SALT_RANDOM)]
    elif len(raw_salts) == _SALT * len(claims):
        salts = [raw_salts[i : i + _SALT] for i in range(0, len(raw_salts), _SALT)]
    else:
        raise BatchDocumentError(f"{where}: salts must hold 16 or 32 bytes for each of its {len(claims)} claims")
    hashes = _unb64(member.get("hashes", ""), f"{where}: hashes", at_most=32 * _MAX_TREE)
    leaves = [merkle.claim_leaf(name, salt, encoded) for (name, encoded, _), salt in zip(claims, salts, strict=True)]

    count = len(tree)
    nodes: list[bytes] = [b""] * count
    parent = [-1] * count
    children: list[list[int]] = [[] for _ in range(count)]
    placed = [-1] * len(leaves)
    open_inner: list[int] = []  # inner nodes still missing a child
    taken = 0
    for position, char in enumerate(tree):
        if position:
            if not open_inner:
                raise BatchDocumentError(f"{where}: tree has characters after its last node")
            up = open_inner[-1]
            parent[position] = up
            children[up].append(position)
            if len(children[up]) == 2:
                open_inner.pop()
        if char == _INNER:
            if len(open_inner) >= _MAX_DEPTH:
                raise BatchDocumentError(f"{where}: tree is deeper than {_MAX_DEPTH}")
            open_inner.append(position)
        elif char == _HIDDEN:
            if len(hashes) < 32 * (taken + 1):
                raise BatchDocumentError(f"{where}: hashes holds fewer hashes than tree has '{_HIDDEN}'")
            nodes[position] = hashes[32 * taken : 32 * (taken + 1)]
            taken += 1
        else:
            leaf = _LEAF_NAMES.find(char)
            if not 0 <= leaf < len(leaves) or placed[leaf] != -1:
                raise BatchDocumentError(f"{where}: tree names claim {char!r}, which is not one of its "
                                         f"{len(leaves)} claims or is named twice")
            placed[leaf] = position
            nodes[position] = leaves[leaf]
    if open_inner:
        raise BatchDocumentError(f"{where}: tree ends before its inner nodes have both children")
    if 32 * taken != len(hashes):
        raise BatchDocumentError(f"{where}: hashes holds more hashes than tree has '{_HIDDEN}'")
    if -1 in placed:
        raise BatchDocumentError(f"{where}: tree leaves out claim {claims[placed.index(-1)][0]}")
    for position in range(count - 1, -1, -1):  # children come after their parent in pre-order
        if tree[position] == _INNER:
            left, right = children[position]
            nodes[position] = _pair(nodes[left], nodes[right])
    disclosures = []
    for (name, encoded, value), salt, position in zip(claims, salts, placed, strict=True):
        proof = []
        while parent[position] != -1:
            up = parent[position]
            left, right = children[up]
            proof.append(nodes[right if left == position else left])
            position = up
        disclosures.append({
            "field": name, "salt": hex32(salt),
            # a list or object afresh for each member (they share the common claims), a scalar as it is
            "value": json.loads(encoded) if isinstance(value, (list, dict)) else value,
            "proof": [hex32(p) for p in proof],
        })
    return nodes[0], disclosures


def _unb64(text: object, what: str, *, exactly: int | None = None, at_most: int | None = None) -> bytes:
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise BatchDocumentError(f"{what} must be base64url without padding, got {_brief(text)}")
    if at_most is not None and len(text) > (at_most * 4 + 2) // 3:
        raise BatchDocumentError(f"{what} is longer than {at_most} bytes")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BatchDocumentError(f"{what} must be base64url without padding, got {_brief(text)}") from None
    if exactly is not None and len(data) != exactly:
        raise BatchDocumentError(f"{what} must be {exactly} bytes, got {len(data)}")
    return data


def _read_statements(
    document: dict[str, Any], root: bytes, chain_id: int, registry: str, max_members: int
) -> list[Statement]:
    """The first format: ``{"batchRoot", "statements": [whole Statements]}``, written before version 2."""
    _expect(document, "batchRoot", hex32(root))
    statements = []
    for index, item in enumerate(_members(document, "statements", max_members)):
        where = f"batch document member {index}"
        try:
            statement = Statement.from_json(item, source=where)
        except ProvenanceError as err:
            raise BatchDocumentError(str(err)) from None
        if statement.chain_id != chain_id or statement.registry != registry:
            raise BatchDocumentError(
                f"{where} (subject {hex32(statement.subject)}) is a Statement for registry {statement.registry} "
                f"on chain {statement.chain_id}, not for the anchored batch's registry {registry} on chain {chain_id}"
            )
        statements.append(replace(statement, manifest=None, anchor=None))
    return statements


def _checked_tree(
    members: Sequence[tuple[Statement, bytes | None]], leaves: Sequence[bytes], root: bytes
) -> merkle.MerkleTree:
    """The batch tree over ``leaves``, refused unless it gives ``root``.

    Without per-member proofs the root alone cannot say which member is wrong:
    the first whose fields no longer give the id it was written with is named
    (an altered field), then the first that repeats another; else the list as a whole.
    """
    seen: dict[bytes, int] = {}
    for index, ((statement, written), leaf) in enumerate(zip(members, leaves, strict=True)):
        if written is not None and statement.record_id[: len(written)] != written:
            raise BatchDocumentError(
                f"batch document member {index} (subject {hex32(statement.subject)}) does not match the anchored "
                f"root {hex32(root)}: its fields give record {hex32(statement.record_id)}, not the record "
                f"0x{written.hex()}... it was written with (one of its fields was altered)"
            )
        if leaf in seen:
            raise BatchDocumentError(
                f"batch document member {index} repeats member {seen[leaf]} (record {hex32(statement.record_id)})"
            )
        seen[leaf] = index
    tree = merkle.MerkleTree.from_leaves(leaves)
    if tree.root != root:
        raise BatchDocumentError(
            f"the batch document's {len(leaves)} members do not give the anchored root {hex32(root)}: "
            "a member was altered, added or left out"
        )
    return tree


def _pair(a: bytes, b: bytes) -> bytes:
    """An inner node of a StandardMerkleTree (:mod:`provenance.merkle`): its children in sorted order, hashed."""
    return merkle.keccak256(a + b if a < b else b + a)


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

"""The Statement: the receipt that ships beside an artifact as ``provenance.json``.

An in-toto Statement v1 whose subject is the artifact's Merkle root and whose
predicate holds everything a verifier needs besides the chain: the signed
record, the publisher's EIP-712 signature, the chain and registry it is meant
for, the manifest, the disclosed claims with their salts and proofs and, once
anchored, how it was anchored (the transaction, or the batch root and the
record's inclusion proof). Undisclosed claim values never appear here.

It may carry its lineage (``predicate.lineage``): the Statements of the parent
records its claims pin, and theirs, each once, without manifests (only an
ancestor's subject matters) and without lineage of their own (the bundle is
flat). They are evidence, not trust: none is covered by the signature of the
Statement carrying it, and a verifier checks each on its own against the chain.

Build one with :meth:`Statement.create`; read one with :meth:`Statement.from_json`
or :meth:`Statement.from_file`, which refuse anything that is not ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from provenance._files import write_atomic
from provenance.errors import ProvenanceError, StatementError
from provenance.record import MAX_PARENTS, MAX_URI_LENGTH, Record, hex32, parse_bytes32
from provenance.record import parse_address as _parse_address


@lru_cache(maxsize=4096)
def _checked_address(text: str) -> str:
    return _parse_address(text)


def parse_address(text: object, what: str = "address") -> str:
    """:func:`provenance.record.parse_address`, memoised: a store holds thousands of Statements of one publisher."""
    if isinstance(text, str):
        try:
            return _checked_address(text)
        except ProvenanceError:
            pass
    unchecked: Any = text  # record.parse_address checks that it is a string (its annotation is narrower)
    return _parse_address(unchecked, what)  # the error names ``what``

__all__ = [
    "Statement", "Anchor", "STATEMENT_TYPE", "PREDICATE_TYPE", "SUBJECT_DIGEST", "statement_path_for",
    "is_statement_file",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://provenance-ledger.dev/record/v1"
#: in-toto DigestSet key of the subject: the manifest's Merkle root (keccak256, StandardMerkleTree).
SUBJECT_DIGEST = "provenanceMerkleRoot"


_UNANCHORED_TAIL = ',"anchor":null}}'
#: At most this many Statements in one Statement's lineage (the verifier walks at most 64 ancestors).
MAX_LINEAGE_STATEMENTS = 256
_UINT256_END = 1 << 256
#: Block numbers above this cannot be kept (SQLite integers are signed 64-bit) and no chain is near it.
MAX_BLOCK_NUMBER = (1 << 63) - 1


def _check_record_bounds(record: object, source: str) -> None:
    """The registry's bounds on the raw ``predicate.record``, before any parent is parsed: a posted
    Statement with 200,000 parents is refused at once, not after 200,000 look-ups."""
    if not isinstance(record, dict):
        raise StatementError(f"{source}: predicate.record must be an object")
    parents = record.get("parents", [])
    if not isinstance(parents, list):
        raise StatementError(f"{source}: predicate.record.parents must be a list of 32-byte hex subjects")
    if len(parents) > MAX_PARENTS:
        raise StatementError(
            f"{source}: predicate.record.parents lists {len(parents)} parents; a record has at most "
            f"{MAX_PARENTS} (the registry's MAX_PARENTS)"
        )
    size = len(_utf8(record.get("uri", ""), "predicate.record.uri", source).encode("utf-8"))
    if size > MAX_URI_LENGTH:
        raise StatementError(
            f"{source}: predicate.record.uri is {size} bytes (UTF-8); a record's uri is at most "
            f"{MAX_URI_LENGTH} bytes (the registry's MAX_URI_LENGTH)"
        )


def _chain_id(value: object, source: str) -> int:
    """``predicate.chain.chainId``: a JSON integer that fits the EIP-712 domain's uint256."""
    if type(value) is not int or not 0 <= value < _UINT256_END:
        raise StatementError(
            f"{source}: predicate.chain.chainId must be an integer from 0 to 2^256-1, got {_brief(value)}"
        )
    return value


def _brief(value: object) -> str:
    """``repr(value)``, cut short: an error message must not echo a 4,000-digit number."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _utf8(value: object, what: str, source: str) -> str:
    """A string that can be written as UTF-8 (JSON's ``\\ud800`` escapes give lone surrogates)."""
    if not isinstance(value, str):
        raise StatementError(f"{source}: {what} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        where = f"a lone surrogate at character {err.start}"
        raise StatementError(f"{source}: {what} is not valid UTF-8 ({where})") from None
    return value


def is_statement_file(path: Path) -> bool:
    """Whether ``path`` looks like an in-toto Statement (a JSON file naming the Statement type near its
    start), to tell a Statement given on the command line from an artifact; only its head is read."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".json":
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return b'"_type"' in head and b"in-toto.io/Statement" in head  # any version: from_json names a wrong one


def statement_path_for(artifact: Path) -> Path:
    """Where a Statement sits beside an artifact: ``DIR/provenance.json`` or ``FILE.provenance.json``."""
    if artifact.is_dir():
        return artifact / "provenance.json"
    return artifact.with_name(artifact.name + ".provenance.json")


@dataclass(frozen=True)
class Anchor:
    """How a record reached the chain: ``direct`` (its own transaction) or ``batch`` (a root and a proof).

    A batch is the registry's (submitter, root) pair: ``submitter`` is the
    address that anchored the root (the publisher, for the batches this tool
    makes). It is None only in Statements written for registry version 1,
    which did not name it; a verifier then looks for the publisher's own
    anchor of the root.
    """

    type: str
    tx_hash: bytes
    block_number: int
    batch_root: bytes | None = None
    proof: tuple[bytes, ...] = ()
    submitter: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "txHash": hex32(self.tx_hash),
            "blockNumber": self.block_number,
        }
        if self.type == "batch":
            data["batchRoot"] = hex32(self.batch_root or b"")
            data["proof"] = [hex32(p) for p in self.proof]
            if self.submitter is not None:
                data["submitter"] = self.submitter
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anchor:
        kind = data.get("type")
        if kind not in ("direct", "batch"):
            raise StatementError(f"anchor.type must be 'direct' or 'batch', got {kind!r}")
        block = data.get("blockNumber")
        if type(block) is not int or not 0 <= block <= MAX_BLOCK_NUMBER:
            raise StatementError(f"anchor.blockNumber must be an integer from 0 to 2^63-1, got {_brief(block)}")
        # JSON values, possibly absent: parse_bytes32 checks that each is a string (its annotation is narrower)
        tx_hash: Any = data.get("txHash")
        batch_root: Any = data.get("batchRoot")
        if kind == "direct":
            return cls("direct", parse_bytes32(tx_hash, "anchor.txHash"), block)
        proof = data.get("proof")
        if not isinstance(proof, list):
            raise StatementError("anchor.proof must be a list of 32-byte hex strings")
        submitter = data.get("submitter")
        return cls(
            "batch",
            parse_bytes32(tx_hash, "anchor.txHash"),
            block,
            parse_bytes32(batch_root, "anchor.batchRoot"),
            tuple(parse_bytes32(p, "anchor.proof[]") for p in proof),
            None if submitter is None else parse_address(submitter, "anchor.submitter"),
        )


@dataclass(frozen=True)
class Statement:
    """One record's receipt. ``manifest`` and ``disclosures`` are kept in their JSON form."""

    name: str
    record: Record
    publisher: str
    signature: bytes
    chain_id: int
    registry: str
    manifest: dict[str, Any] | None = None
    disclosures: tuple[dict[str, Any], ...] = ()
    anchor: Anchor | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    lineage: tuple[Statement, ...] = ()  # the ancestors' Statements it carries (module docstring)

    @classmethod
    def create(
        cls,
        *,
        name: str,
        record: Record,
        publisher: str,
        signature: bytes,
        chain_id: int,
        registry: str,
        manifest: dict[str, Any] | None = None,
        disclosures: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    ) -> Statement:
        if not signature:
            raise StatementError("a Statement needs the publisher's signature")
        return cls(
            name, record, parse_address(publisher, "publisher"), signature, chain_id,
            parse_address(registry, "registry"), manifest, tuple(disclosures),
        )

    @property
    def subject(self) -> bytes:
        return self.record.subject

    @cached_property
    def record_id(self) -> bytes:
        # cached: computed once per instance (frozen, so it cannot change); equality ignores it
        return self.record.record_id(self.publisher)

    def carried(self) -> Statement:
        """This Statement as a lineage carries it: no manifest, no lineage of its own."""
        light = replace(self, manifest=None, lineage=())
        if "record_id" in self.__dict__:
            light.__dict__["record_id"] = self.__dict__["record_id"]
        return light

    def with_lineage(self, lineage: tuple[Statement, ...]) -> Statement:
        """This Statement carrying ``lineage`` (each reduced by :meth:`carried`, each record once)."""
        unique: dict[bytes, Statement] = {}
        for statement in lineage:
            if statement.record_id != self.record_id:
                unique.setdefault(statement.record_id, statement.carried())
        if len(unique) > MAX_LINEAGE_STATEMENTS:
            raise StatementError(f"a lineage of {len(unique)} Statements; at most {MAX_LINEAGE_STATEMENTS}")
        carrying = replace(self, lineage=tuple(unique.values()))
        if "record_id" in self.__dict__:
            carrying.__dict__["record_id"] = self.__dict__["record_id"]
        return carrying

    def with_anchor(self, anchor: Anchor) -> Statement:
        anchored = replace(self, anchor=anchor)
        if "record_id" in self.__dict__:  # same record and publisher: carry the cached id over
            anchored.__dict__["record_id"] = self.__dict__["record_id"]
        return anchored

    # ------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        predicate: dict[str, Any] = {
            "record": self.record.to_json(),
            "recordId": hex32(self.record_id),
            "publisher": self.publisher,
            "signature": "0x" + self.signature.hex(),
            "chain": {"chainId": self.chain_id, "registry": self.registry},
            "manifest": self.manifest,
            "disclosures": list(self.disclosures),
        }
        if self.lineage:  # before the anchor: :meth:`with_anchor_text` splices the anchor at the end
            predicate["lineage"] = [s.to_json() for s in self.lineage]
        predicate["anchor"] = self.anchor.to_json() if self.anchor else None
        predicate.update(self.extra)
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.name, "digest": {SUBJECT_DIGEST: self.subject.hex()}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": predicate,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def dumps_compact(self) -> str:
        """The same JSON without indentation, for stores (json's C encoder; ~20x faster than :meth:`dumps`)."""
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def with_anchor_text(text: str, anchor_json: str) -> str:
        """The compact JSON ``text`` of an unanchored Statement with ``anchor_json`` set, unparsed.

        :meth:`dumps_compact` ends with the predicate's ``anchor`` member when
        there are no extra members, so the anchor is spliced in: a store can
        keep a Statement and its anchor apart and join them on reading. Any
        other text is parsed and re-encoded.
        """
        if text.endswith(_UNANCHORED_TAIL):
            return text[: -len(_UNANCHORED_TAIL)] + ',"anchor":' + anchor_json + "}}"
        statement = Statement.from_json(json.loads(text), source="a stored Statement")
        return statement.with_anchor(Anchor.from_json(json.loads(anchor_json))).dumps_compact()

    def write(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one (never through a link)."""
        write_atomic(path, self.dumps())

    @classmethod
    def from_file(cls, path: Path) -> Statement:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StatementError(f"statement file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as err:
            raise StatementError(f"cannot read statement file {path}: {type(err).__name__}") from None
        return cls.loads(text, source=str(path))

    @classmethod
    def loads(cls, text: str | bytes, *, source: str = "statement") -> Statement:
        """A Statement from JSON text that may be hostile (a downloaded file, a request body).

        Parsed by pydantic-core's parser, which refuses nesting deeper than 200
        levels (a Statement has about six) with an error: the standard library's
        parser recurses in C as deep as the recursion limit, and eth-account's
        py_ecc raises that limit to 100,000 on import, so a million brackets
        would overflow the stack and kill the process instead of raising.
        """
        from pydantic_core import from_json

        try:
            data = from_json(text, allow_inf_nan=False)
        except ValueError as err:
            raise StatementError(f"{source} is not JSON ({err})") from None
        return cls.from_json(data, source=source)

    @classmethod
    def from_json(cls, data: Any, *, source: str = "statement", carried: bool = False) -> Statement:
        """``carried``: a Statement of a lineage, which carries no lineage of its own."""
        if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
            raise StatementError(f"{source} is not an in-toto Statement v1 (_type {STATEMENT_TYPE})")
        if data.get("predicateType") != PREDICATE_TYPE:
            raise StatementError(
                f"{source} is an in-toto Statement but not a provenance record "
                f"(predicateType {data.get('predicateType')!r}, expected {PREDICATE_TYPE})"
            )
        try:
            predicate = data["predicate"]
            _check_record_bounds(predicate["record"], source)
            record = Record.from_json(predicate["record"])
            subjects = data["subject"]
            if not isinstance(subjects, list) or len(subjects) != 1:
                raise StatementError(f"{source}: subject must hold exactly one artifact")
            digest = subjects[0]["digest"][SUBJECT_DIGEST]
            if digest != record.subject.hex():
                raise StatementError(f"{source}: the subject digest differs from the record's subject")
            signature_hex = predicate["signature"]
            if not isinstance(signature_hex, str) or not signature_hex.startswith("0x"):
                raise StatementError(f"{source}: predicate.signature must be 0x-hex")
            chain = predicate["chain"]
            anchor = predicate.get("anchor")
            manifest = predicate.get("manifest")
            if manifest is not None and not isinstance(manifest, dict):
                raise StatementError(f"{source}: predicate.manifest must be an object or null")
            disclosures = predicate.get("disclosures") or []
            if not isinstance(disclosures, list) or not all(isinstance(d, dict) for d in disclosures):
                raise StatementError(f"{source}: predicate.disclosures must be a list of objects")
            if anchor is not None and not isinstance(anchor, dict):
                raise StatementError(f"{source}: predicate.anchor must be an object or null")
            lineage = _lineage(predicate.get("lineage"), source, carried)
            statement = cls(
                name=_utf8(subjects[0].get("name", ""), "subject[0].name", source),
                record=record,
                publisher=parse_address(predicate["publisher"], "predicate.publisher"),
                signature=bytes.fromhex(signature_hex[2:]),
                chain_id=_chain_id(chain["chainId"], source),
                registry=parse_address(chain["registry"], "predicate.chain.registry"),
                manifest=manifest,
                disclosures=tuple(disclosures),
                anchor=Anchor.from_json(anchor) if anchor else None,
                lineage=lineage,
            )
        except StatementError:
            raise
        except ProvenanceError as err:  # from the record, address and bytes32 parsers
            raise StatementError(f"{source}: {err}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise StatementError(f"{source} is not a valid provenance Statement: {type(err).__name__} {err}") from None
        recorded_id = predicate.get("recordId")
        if recorded_id is not None and recorded_id != hex32(statement.record_id):
            raise StatementError(f"{source}: predicate.recordId does not match the record and publisher")
        return statement


def _lineage(value: object, source: str, carried: bool) -> tuple[Statement, ...]:
    """``predicate.lineage``: a flat list of Statements, bounded."""
    if value is None:
        return ()
    if carried:
        raise StatementError(f"{source}: a Statement in a lineage carries no lineage of its own (the bundle is flat)")
    if not isinstance(value, list):
        raise StatementError(f"{source}: predicate.lineage must be a list of Statements")
    if len(value) > MAX_LINEAGE_STATEMENTS:
        raise StatementError(
            f"{source}: predicate.lineage holds {len(value)} Statements; at most {MAX_LINEAGE_STATEMENTS}")
    return tuple(Statement.from_json(item, source=f"{source}: predicate.lineage[{i}]", carried=True)
                 for i, item in enumerate(value))

"""The Statement: the receipt that ships beside an artifact as ``provenance.json``.

An in-toto Statement v1 whose subject is the artifact's Merkle root and whose
predicate holds everything a verifier needs besides the chain: the signed
record, the publisher's EIP-712 signature, the chain and registry it is meant
for, the manifest, the disclosed claims with their salts and proofs and, once
anchored, how it was anchored (the transaction, or the batch root and the
record's inclusion proof). Undisclosed claim values never appear here.

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
from provenance.record import Record, hex32, parse_bytes32
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
        if not isinstance(block, int) or block < 0:
            raise StatementError("anchor.blockNumber must be a non-negative integer")
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
            "anchor": self.anchor.to_json() if self.anchor else None,
        }
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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise StatementError(f"{path} is not JSON ({err.msg} at line {err.lineno})") from None
        return cls.from_json(data, source=str(path))

    @classmethod
    def from_json(cls, data: Any, *, source: str = "statement") -> Statement:
        if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
            raise StatementError(f"{source} is not an in-toto Statement v1 (_type {STATEMENT_TYPE})")
        if data.get("predicateType") != PREDICATE_TYPE:
            raise StatementError(
                f"{source} is an in-toto Statement but not a provenance record "
                f"(predicateType {data.get('predicateType')!r}, expected {PREDICATE_TYPE})"
            )
        try:
            predicate = data["predicate"]
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
            statement = cls(
                name=str(subjects[0].get("name", "")),
                record=record,
                publisher=parse_address(predicate["publisher"], "predicate.publisher"),
                signature=bytes.fromhex(signature_hex[2:]),
                chain_id=int(chain["chainId"]),
                registry=parse_address(chain["registry"], "predicate.chain.registry"),
                manifest=predicate.get("manifest"),
                disclosures=tuple(predicate.get("disclosures") or ()),
                anchor=Anchor.from_json(anchor) if anchor else None,
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

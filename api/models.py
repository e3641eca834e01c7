"""Response models: the OpenAPI document is the contract, so every route declares one.

Field names are the JSON names (camelCase). Hashes are ``0x`` + lowercase hex,
addresses checksummed, times unix seconds, as in :mod:`provenance.index`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from provenance.index import HistoryEntry, IndexedRecord

__all__ = [
    "IndexInfo",
    "RecordOut",
    "ArtifactOut",
    "RecordResponse",
    "FileMatch",
    "FilesOut",
    "EventOut",
    "HistoryOut",
    "PublisherOut",
    "PublishersOut",
    "LineageNode",
    "LineageEdge",
    "LineageOut",
    "EventsPage",
    "ProofOut",
    "Health",
    "Ready",
    "PinOut",
    "HarnessOut",
    "EvaluationOut",
    "EvaluationsPage",
    "KIND_NAMES",
]

KIND_NAMES: dict[int, Literal["model", "dataset", "other", "evaluation"]] = {
    0: "model", 1: "dataset", 2: "other", 3: "evaluation"}

Hex32 = str
KindName = Literal["model", "dataset", "other", "evaluation"]


class IndexInfo(BaseModel):
    """How far the index that answered is behind the chain."""

    chainId: int | None = Field(description="chain id of the node (null before the first contact)")
    registry: str = Field(description="the registry the index follows")
    syncedTo: int | None = Field(description="last block whose events are all indexed (null before the first sync)")
    head: int | None = Field(description="the chain head last seen (stale while the node is down)")
    lag: int | None = Field(description="head - syncedTo, in blocks (null when either is unknown)")
    confirmations: int = Field(description="blocks left below the head before events are indexed")
    chainReachable: bool = Field(description="whether the node answered at the last attempt")
    checkedAt: int | None = Field(description="unix time of the last successful contact with the node")


class RecordOut(BaseModel):
    """One record as indexed from its events; subject, kind, claimsRoot, parents and uri are null for
    batched records proven on chain (the chain holds only the batch root)."""

    recordId: Hex32
    publisher: str
    subject: Hex32 | None
    kind: KindName | None
    claimsRoot: Hex32 | None
    parents: list[Hex32]
    uri: str | None
    blockNumber: int
    blockTime: int | None
    txHash: Hex32
    batchRoot: Hex32 | None
    revoked: bool
    revocationReason: str | None
    successor: Hex32 | None
    endorsements: int
    disputes: int

    @staticmethod
    def of(r: IndexedRecord) -> dict[str, Any]:
        """The JSON form of an indexed record; pydantic validates it (in Rust) inside the response model."""
        return {
            "recordId": r.record_id,
            "publisher": r.publisher,
            "subject": r.subject,
            "kind": None if r.kind is None else KIND_NAMES.get(r.kind, "other"),
            "claimsRoot": r.claims_root,
            "parents": list(r.parents),
            "uri": r.uri,
            "blockNumber": r.block_number,
            "blockTime": r.block_time,
            "txHash": r.tx_hash,
            "batchRoot": r.batch_root,
            "revoked": r.revoked,
            "revocationReason": r.revoke_reason,
            "successor": r.successor,
            "endorsements": r.endorsements,
            "disputes": r.disputes,
        }


class ArtifactOut(BaseModel):
    subject: Hex32
    records: list[RecordOut] = Field(description="every record registered for the subject, oldest first")
    statements: int = Field(description="Statements about this subject the service holds")
    index: IndexInfo


class RecordResponse(BaseModel):
    record: RecordOut
    index: IndexInfo


class FileMatch(BaseModel):
    subject: Hex32 = Field(description="the artifact that lists the file")
    path: str = Field(description="the file's path in that artifact")
    records: list[Hex32] = Field(description="records of that artifact known to the index")


class FilesOut(BaseModel):
    sha256: str = Field(description="the file digest asked for (64 lowercase hex digits)")
    artifacts: list[FileMatch]
    index: IndexInfo


class EventOut(BaseModel):
    event: str = Field(description="the Solidity event name")
    blockNumber: int
    blockTime: int | None
    txHash: Hex32
    logIndex: int
    recordId: Hex32 | None
    actor: str | None = Field(description="publisher, submitter, endorser or disputer")
    details: dict[str, Any] = Field(description="the event's own fields (subject, uri, reason, ...)")

    @staticmethod
    def of(h: HistoryEntry) -> dict[str, Any]:
        """The JSON form of an indexed event; validated inside the response model."""
        return {
            "event": h.event,
            "blockNumber": h.block_number,
            "blockTime": h.block_time,
            "txHash": h.tx_hash,
            "logIndex": h.log_index,
            "recordId": h.record_id,
            "actor": h.actor,
            "details": h.details,
        }


class HistoryOut(BaseModel):
    target: str
    targetType: Literal["subject", "record", "address"]
    items: list[EventOut] = Field(description="newest first")
    index: IndexInfo


class PublisherOut(BaseModel):
    address: str
    records: int
    revoked: int
    firstBlock: int
    lastBlock: int


class PublishersOut(BaseModel):
    items: list[PublisherOut]
    index: IndexInfo


class LineageNode(BaseModel):
    subject: Hex32
    kind: KindName | None = Field(description="from its first record; null when unknown")
    publishers: list[str]
    revoked: bool = Field(description="true when the subject has records and every one is revoked")
    known: bool = Field(description="whether the index holds a record of this subject")
    depth: int = Field(description="distance from the subject asked for (0 for itself)")


class LineageEdge(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Hex32 = Field(alias="from", description="the child (derived) subject")
    to: Hex32 = Field(description="the parent subject")
    relation: Literal["derivedFrom"] = "derivedFrom"


class LineageOut(BaseModel):
    subject: Hex32
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = Field(description="true when the depth or node limit cut the graph")
    index: IndexInfo


class EventsPage(BaseModel):
    items: list[EventOut] = Field(description="newest first")
    nextCursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")
    index: IndexInfo


class ProofOut(BaseModel):
    recordId: Hex32
    type: Literal["direct", "batch"]
    txHash: Hex32 | None = Field(description="the registering transaction (direct) or the anchoring one (batch)")
    blockNumber: int | None
    blockTime: int | None
    batchRoot: Hex32 | None = None
    leaf: Hex32 | None = Field(default=None, description="the record's leaf in the batch tree")
    proof: list[Hex32] = Field(default_factory=list, description="sibling hashes from the leaf up to the root")
    proofSource: Literal["statement", "chain"] | None = Field(
        default=None, description="where the proof came from: a stored Statement or the proveBatched transaction"
    )
    proofValid: bool | None = Field(default=None, description="whether the proof places the leaf under batchRoot")
    index: IndexInfo


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    chainId: int
    head: int
    syncedTo: int
    lag: int


class PinOut(BaseModel):
    subject: Hex32
    record: Hex32 | None = Field(description="the record relied on, when the evaluation pinned one")


class HarnessOut(BaseModel):
    name: str
    version: str | None


class EvaluationOut(BaseModel):
    """One result of an evaluation record (one item per disclosed result; one item with ``disclosed`` false and
    null results when the service holds no Statement of the record, or its Statement discloses none)."""

    recordId: Hex32
    evaluator: str = Field(description="the address that signed the evaluation record")
    evaluatorName: str | None = Field(description="the evaluator's name as it discloses it (text anyone can write)")
    trusted: bool = Field(description="whether the service's policy lists the evaluator in trusted_evaluators")
    disclosed: bool = Field(description="whether the results below come from the record's disclosed claims")
    undisclosed: str | None = Field(description="why there are no results, when disclosed is false")
    model: PinOut | None = Field(description="the evaluated model (disclosed evaluation.model)")
    benchmarks: list[PinOut]
    category: str | None = Field(description="capability, safety, bias, privacy or other")
    task: str | None
    metric: str | None
    value: float | None
    stderr: float | None
    split: str | None
    nShot: int | None
    benchmark: Hex32 | None = Field(description="the benchmark dataset this result was measured on")
    harness: HarnessOut | None
    date: str | None = Field(description="the date the evaluation discloses (ISO), not the block time")
    blockNumber: int
    blockTime: int | None
    txHash: Hex32
    batchRoot: Hex32 | None
    revoked: bool
    revocationReason: str | None


class EvaluationsPage(BaseModel):
    items: list[EvaluationOut] = Field(description="newest record first, its results in disclosed order")
    nextCursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")
    index: IndexInfo

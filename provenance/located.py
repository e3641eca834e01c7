"""A record's Statement from where the chain says it lives: the record's uri, or its batch's document.

A directly registered record names its Statement's location in its ``uri``;
a batched record is on chain only as its batch's root, and the
``BatchAnchored`` event's uri names the batch document (:mod:`provenance.batchdoc`),
whose members are checked against the anchored root before one is taken.
Whatever is fetched must be the Statement of the record asked for, on this
chain and registry; the verifier still checks it against the chain
(signature, claimsRoot, anchoring, status) before it counts.
"""

from __future__ import annotations

from collections.abc import Callable

from provenance import batchdoc
from provenance.errors import NotFound, ProvenanceError
from provenance.index import Batch, Index, IndexedRecord
from provenance.record import hex32
from provenance.statement import Statement

__all__ = ["statement_of", "batch_members"]

Fetch = Callable[[str], bytes]


def statement_of(record: IndexedRecord, fetch: Fetch, index: Index, *, fetch_document: Fetch | None = None
                 ) -> Statement:
    """The Statement of ``record`` fetched from its uri (direct) or its batch's document (batched).

    ``fetch_document``: what fetches a batch document (larger than a Statement: a fetcher with a larger
    size limit); default ``fetch``.

    Raises :class:`~provenance.errors.NotFound` saying where it was sought and why it is not there
    (no uri, a fetch that failed, a document that is another record's or does not verify).
    """
    rid = bytes.fromhex(record.record_id[2:])
    if record.batch_root is not None and record.batch_submitter is not None:
        batch = index.batch(record.batch_root, record.batch_submitter)
        if batch is None:
            raise NotFound(f"the batch {record.batch_root} of record {record.record_id} is not indexed")
        for member in batch_members(batch, fetch_document or fetch, chain_id=record.chain_id,
                                    registry=record.registry):
            if member.record_id == rid:
                return member
        raise NotFound(f"the document of batch {batch.root} at {batch.uri} does not hold record {record.record_id}")
    uri = record.uri or ""
    if not uri:
        raise NotFound(f"record {record.record_id} names no uri")
    try:
        statement = Statement.loads(fetch(uri), source=uri)
    except ProvenanceError as err:
        raise NotFound(f"fetching {uri}: {err}") from None
    if statement.record_id != rid:
        raise NotFound(f"the document at {uri} is the Statement of record {hex32(statement.record_id)}, "
                       f"not of {record.record_id}")
    if statement.chain_id != record.chain_id or statement.registry.lower() != record.registry.lower():
        raise NotFound(f"the Statement at {uri} is for registry {statement.registry} on chain {statement.chain_id}")
    return statement


def batch_members(batch: Batch, fetch: Fetch, *, chain_id: int, registry: str) -> list[Statement]:
    """Every member of ``batch`` (of ``registry`` on ``chain_id``) from the document its ``BatchAnchored``
    uri names, checked against its root (:func:`provenance.batchdoc.read`). NotFound when it has no uri,
    cannot be fetched or does not verify, saying why."""
    if not batch.uri:
        raise NotFound(f"batch {batch.root} names no uri for its document")
    try:
        return batchdoc.read(
            fetch(batch.uri), root=bytes.fromhex(batch.root[2:]), chain_id=chain_id, registry=registry,
            tx_hash=bytes.fromhex(batch.tx_hash[2:]), block_number=batch.block_number, submitter=batch.submitter)
    except ProvenanceError as err:
        raise NotFound(f"the document of batch {batch.root} at {batch.uri}: {err}") from None

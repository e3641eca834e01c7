"""What the service learns by fetching: Statements named by records' uris, and batches' documents.

A record's ``uri`` says where its Statement is published; a batch's
``BatchAnchored`` uri where its document is (:mod:`provenance.batchdoc`). The
service fetches both (:class:`~provenance.fetch.Fetcher`, built from its
settings: private addresses only with ``fetch_private``) and keeps what
verifies, so that a service nobody ever posted anything to knows the
Statements of registered records and the members of anchored batches:

- :meth:`Fetching.fetch` is what the service's verifiers fetch with. A
  Statement fetched for a verdict, and those it carries in its lineage, are
  kept in the index when they verify (:func:`acceptable`), so the next answer
  and the auditor page know them without fetching again.
- :class:`BatchDocuments` reads, in a thread of the process that indexes,
  the document of every anchored batch with a uri: fetched, read against
  the event (root, submitter, chain, registry, transaction, block), each
  member's Statement checked, the accepted ones kept as records of their
  subjects (:meth:`provenance.index.Index.add_batch_members`), a bounded
  chunk at a time. What became of each document is recorded
  (:meth:`~provenance.index.Index.record_batch_document`): read, with its
  counts; not fetched (tried again later, with backoff); or not verifying
  (nothing of it indexed, tried again only after :data:`INVALID_RETRY`).

Nothing fetched is trusted: a Statement counts once it verifies against the
chain (signature by its publisher, anchoring on this registry, disclosures
matching claimsRoot), and the verifier checks it again whenever it is read.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from provenance import batchdoc
from provenance.errors import (
    FetchError,
    IndexUnavailable,
    InvalidValue,
    LedgerUnavailable,
    NodeError,
    ProvenanceError,
)
from provenance.fetch import MAX_BATCH_DOCUMENT_BYTES, Fetcher, parse_location
from provenance.record import hex32
from provenance.statement import Statement
from provenance.verdict import CheckName, Status

if TYPE_CHECKING:  # pragma: no cover
    from api.service import Service
    from provenance.index import Batch
    from provenance.verifier import Acceptance, ChainReads

__all__ = [
    "Fetching",
    "BatchDocuments",
    "acceptable",
    "CHUNK",
    "RETRY_FIRST",
    "RETRY_MAX",
    "INVALID_RETRY",
    "MAX_MEMBERS",
]

log = logging.getLogger("provenance.api")

#: Members checked and kept per step: one write transaction each, so the index never waits long for it.
CHUNK = 64
#: Seconds before a document that could not be fetched is tried again; doubled after each failure ...
RETRY_FIRST = 60
#: ... up to this.
RETRY_MAX = 6 * 3600
#: Seconds before a document that does not verify is tried again (it may be replaced at its uri).
INVALID_RETRY = 7 * 24 * 3600
#: Members of one document read at most: a member read takes ~17 KB of memory until kept (10,000: ~170 MB);
#: a longer document is refused, saying so (a reader of slices of a document would lift this).
MAX_MEMBERS = 20_000
_REASON_CHARS = 2_000  # of a recorded reason


def acceptable(acceptance: Acceptance) -> bool:
    """Whether a fetched Statement may be kept: :meth:`Verifier.accept_statement
    <provenance.verifier.Verifier.accept_statement>`'s rule, except that one without a manifest (a batch
    member's, an ancestor's carried in a lineage: left out by design) is not refused for that alone.

    Its integrity is then unverifiable (no files, no manifest), which says nothing against it; every
    other refusal stands (signature, anchoring, disclosures, another registry).
    """
    if acceptance.other_registry:
        return False
    manifest_less = acceptance.statement.manifest is None
    return not [
        c for c in acceptance.refused_by
        if not (manifest_less and c.check is CheckName.INTEGRITY and c.status is Status.UNVERIFIABLE)
    ]


class Fetching:
    """The service's fetchers (one for Statements, one for batch documents) and what it keeps of fetches."""

    def __init__(self, service: Service) -> None:
        settings = service.settings
        self.service = service
        # no cache: the service has no data directory of its own (what verifies is kept in the index)
        self.statements = Fetcher.from_environment(None, allow_private=settings.fetch_private)
        self.documents = Fetcher.from_environment(
            None, allow_private=settings.fetch_private, max_bytes=MAX_BATCH_DOCUMENT_BYTES
        )

    def fetch(self, uri: str) -> bytes:
        """What ``uri`` names (:class:`~provenance.errors.FetchError` when it cannot be fetched); a Statement
        is kept with what it carries, when they verify (:meth:`keep`)."""
        data = self.statements.fetch(uri)
        self.keep(uri, data)
        return data

    def keep(self, uri: str, data: bytes) -> int:
        """Keep the Statement ``data`` holds and the Statements its lineage carries, each that verifies
        (copies of a kept record are pooled); how many were kept. The Statement is kept carrying only the
        lineage Statements that verified. Anything else (a batch document, a Statement that does not
        verify, a node that does not answer) is left: the verdict that fetched it says what it is."""
        try:
            statement = Statement.loads(data, source=uri)
        except ProvenanceError:
            return 0
        index = self.service.index
        kept = 0
        try:
            # a verifier of its own for each: accepting gives the Statement to the verifier
            carried = tuple(c for c in statement.lineage
                            if acceptable(self.service.verifier().accept_statement(c)))
            if not acceptable(self.service.verifier().accept_statement(statement)):
                return 0
            for candidate in (statement.with_lineage(carried), *carried):
                index.add_statement(candidate, posted_by=f"fetched:{uri}")
                kept += 1
        except ProvenanceError as err:  # the node or the index: keeping is a courtesy, the verdict goes on
            log.warning("could not keep the Statement fetched from %s: %s", uri, err)
        return kept


@dataclass
class _Reading:
    """A batch document being kept, a chunk at a time."""

    batch: Batch
    members: list[Statement]
    done: int = 0
    accepted: int = 0
    refused: int = 0
    reason: str | None = None
    started: float = field(default_factory=time.monotonic)
    # what the chunks read of the registry's storage, at the document's one settled block, shared (the
    # batch's on-chain state is asked once a document, not once a member)
    chain_reads: ChainReads | None = None


class BatchDocuments:
    """Reads anchored batches' documents into the index, a bounded piece of work per :meth:`step`.

    Its thread (:meth:`start`) works only in the process that runs the indexer
    (one per index file). ``chunk``: members checked and kept per step.
    """

    def __init__(self, service: Service, *, chunk: int = CHUNK) -> None:
        if chunk < 1:
            raise InvalidValue(f"chunk must be >= 1, got {chunk!r}")
        self.service = service
        self.chunk = chunk
        self._reading: _Reading | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="provenance-documents", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        interval = self.service.settings.poll_interval
        while not self._stop.is_set():
            again = False
            if self.service.loop.indexing:
                try:
                    again = self.step()
                except Exception:  # the thread must outlive any one failure; the error is logged
                    log.exception("reading a batch document failed")
            if not again:
                self._wake.wait(interval)
                self._wake.clear()

    def step(self, now: float | None = None) -> bool:
        """One bounded piece of work: fetch and read the next due document, or check and keep the next
        chunk of the one being read. True when more is waiting; ``now``: unix time (tests move it)."""
        now = time.time() if now is None else now
        service = self.service
        try:
            ledger = service.link.ledger()
            chain_id, registry = ledger.chain_id, service.settings.registry
            if self._reading is None:
                due = service.index.batches_to_read(chain_id, registry, int(now), limit=1)
                if not due:
                    return False
                self._reading = self._open(due[0], chain_id, registry, now)
                return True
            return self._keep_chunk(self._reading, chain_id, registry)
        except NodeError as err:  # the node is down or answers wrong: the same work is tried at the next tick
            level = logging.DEBUG if isinstance(err, LedgerUnavailable) else logging.WARNING  # the loop says so
            log.log(level, "batch documents wait for the node: %s", err)
            return False
        except IndexUnavailable as err:  # the indexer loop says so and backs off; the chunk is tried again whole
            log.debug("batch documents wait for the index database: %s", err)
            return False

    def _open(self, batch: Batch, chain_id: int, registry: str, now: float) -> _Reading | None:
        """The document of ``batch`` fetched and read against its anchor; None (its failure recorded) when
        it cannot be fetched or does not verify."""
        index = self.service.index
        try:  # a uri the service never fetches (file://, not a uri at all) is not tried again soon
            parse_location(batch.uri, allow_file=False)
        except InvalidValue as err:
            self._failed(batch, chain_id, registry, "invalid", f"its uri is not one the service fetches: {err}",
                         now + INVALID_RETRY)
            return None
        try:
            data = self.service.fetching.documents.fetch(batch.uri)
        except FetchError as err:
            before = index.batch_document(batch.root, batch.submitter)
            attempts = 0 if before is None or before.state != "unreachable" else before.attempts
            delay = min(RETRY_FIRST * 2**min(attempts, 30), RETRY_MAX)
            self._failed(batch, chain_id, registry, "unreachable", str(err), now + delay)
            return None
        try:
            members = batchdoc.read(
                data, root=bytes.fromhex(batch.root[2:]), chain_id=chain_id, registry=registry,
                tx_hash=bytes.fromhex(batch.tx_hash[2:]), block_number=batch.block_number,
                submitter=batch.submitter, max_members=MAX_MEMBERS,
            )
        except ProvenanceError as err:
            self._failed(batch, chain_id, registry, "invalid", f"the document does not verify: {err}",
                         now + INVALID_RETRY)
            return None
        log.info("batch %s of %s: reading %d members from %s", batch.root, batch.submitter, len(members), batch.uri)
        return _Reading(batch, members)

    def _failed(self, batch: Batch, chain_id: int, registry: str, state: str, reason: str, retry_at: float) -> None:
        found = self.service.index.record_batch_document(
            chain_id, registry, batch, state, reason=reason[:_REASON_CHARS], retry_at=int(retry_at)
        )
        log.warning("batch %s of %s (%s): %s, %s; tried again at %s (attempt %d)", batch.root, batch.submitter,
                    batch.uri, state, reason, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(retry_at)),
                    found.attempts)

    def _keep_chunk(self, reading: _Reading, chain_id: int, registry: str) -> bool:
        """Check the next ``chunk`` members and keep those that verify, in one transaction."""
        index = self.service.index
        batch = reading.batch
        anchored = index.batch(batch.root, batch.submitter)
        if anchored is None or anchored.tx_hash != batch.tx_hash:  # a reorg took the anchor away meanwhile
            self._reading = None
            return True
        from provenance.verifier import ChainReads

        if reading.chain_reads is None:  # the chain read at the document's one settled block, shared by its chunks
            reading.chain_reads = ChainReads()
        # one verifier per chunk (the head the indexer saw last): a verifier remembers the Statements it was
        # given, which one kept for a whole document would scan for every member
        verifier = self.service.verifier(reads=reading.chain_reads)
        kept: list[tuple[int, Statement]] = []
        refused, reason = 0, reading.reason  # counted once the chunk is kept (a failed write tries it again)
        end = min(reading.done + self.chunk, len(reading.members))
        verifier.read_ahead([m.record_id for m in reading.members[reading.done:end]])
        for position in range(reading.done, end):
            member = reading.members[position]
            acceptance = verifier.accept_statement(member)
            if acceptable(acceptance):
                kept.append((position, member))
            else:
                refused += 1
                if reason is None:
                    reason = (f"member {position} (record {hex32(member.record_id)}): "
                              f"{acceptance.reason()}")[:_REASON_CHARS]
        index.add_batch_members(chain_id, registry, batch, kept, posted_by=f"fetched:{batch.uri}")
        reading.accepted += len(kept)
        reading.refused += refused
        reading.reason = reason
        reading.done = end
        if end < len(reading.members):
            return True
        self._reading = None
        done = index.record_batch_document(
            chain_id, registry, batch, "done", members=len(reading.members), accepted=reading.accepted,
            refused=reading.refused, reason=reading.reason,
        )
        log.info("batch %s of %s: %d members kept, %d refused (%.1f s)", batch.root, batch.submitter,
                 done.accepted, done.refused, time.monotonic() - reading.started)
        return True

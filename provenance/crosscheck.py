"""A second opinion on the chain: the registry's storage at a settled block against the event evidence.

The verifier learns registrations, batch anchors, revocations and
supersessions from the registry's events, through the index. Events come from
one node, which can leave one out (a revocation it does not return), and an
index can be stale (synced before a revocation, not since). The registry's
storage says the same facts a second way: ``recordState`` (publisher,
revoked or not, successor) and ``batchState`` (submitter, record count). The
verifier reads them by ``eth_call`` at the newest block the node calls
``finalized`` (else ``safe``, else ``latest``: :meth:`Ledger.settled
<provenance.ledger.Ledger.settled>`) and compares them with the events up to
that block. Each difference is a :class:`Disagreement`; the verifier makes the
check it concerns unverifiable, naming both answers: it cannot tell which one
is true, and never passes on either.

Events newer than that block are not compared (the storage read there cannot
know them): what happened since is known from events alone. docs/verdicts.md,
"Trust in the node", says what this does and does not protect against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provenance.record import hex32
from provenance.verdict import CheckName, Code

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import Batch, HistoryEntry, IndexedRecord
    from provenance.ledger import BatchState, RecordState, Settled

__all__ = ["Disagreement", "record_disagreements", "batch_disagreements"]


@dataclass(frozen=True)
class Disagreement:
    """One fact the registry's storage and the events tell differently.

    ``check`` is the verdict check it decides (anchoring or status), ``code``
    the code of the fact in question (``REVOKED`` for a revocation, ...);
    ``chain`` and ``events`` say what each answer is, as phrases.
    """

    check: CheckName
    code: Code
    chain: str
    events: str


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()


def record_disagreements(
    state: RecordState,
    record: IndexedRecord | None,
    events: Sequence[HistoryEntry],
    settled: Settled,
) -> list[Disagreement]:
    """What ``recordState`` at ``settled`` says differently from the record's events up to that block.

    ``record`` is the record as the events build it (None if they hold no
    registration), ``events`` its events (revocations, supersessions).
    """
    upto = settled.number
    # a member known from its batch's document only is no registration: the registry stores batched records
    # only once proven (its batch's anchor is cross-checked on its own: batch_disagreements)
    known = record if record is not None and record.block_number <= upto and not record.from_document else None
    found: list[Disagreement] = []
    if known is None and state.known:
        found.append(Disagreement(CheckName.ANCHORING, Code.NOT_REGISTERED,
                                  f"the record is registered, by {state.publisher}",
                                  "no registration of it"))
    elif known is not None and not state.known:
        found.append(Disagreement(CheckName.ANCHORING, Code.NOT_REGISTERED, "no such record",
                                  f"it was registered in block {known.block_number} by {known.publisher}"))
    elif known is not None and not _same(known.publisher, state.publisher):
        found.append(Disagreement(CheckName.ANCHORING, Code.BAD_SIGNATURE, f"its publisher is {state.publisher}",
                                  f"its publisher is {known.publisher}"))
    revoked = [e for e in events if e.event == "RecordRevoked" and e.block_number <= upto]
    if bool(revoked) != state.revoked:
        found.append(Disagreement(
            CheckName.STATUS, Code.REVOKED,
            "the record is revoked" if state.revoked else "the record is not revoked",
            f"it was revoked in block {revoked[0].block_number}" if revoked else "no revocation of it",
        ))
    superseded = [e for e in events if e.event == "RecordSuperseded" and e.block_number <= upto]
    successor = str(superseded[0].details.get("successor") or "") if superseded else None
    chain_successor = hex32(state.successor) if state.successor is not None else None
    if not _same(successor, chain_successor):
        found.append(Disagreement(
            CheckName.STATUS, Code.SUPERSEDED,
            f"its successor is {chain_successor}" if chain_successor else "the record is not superseded",
            f"it was superseded by {successor} in block {superseded[0].block_number}" if superseded
            else "no supersession of it",
        ))
    return found


def batch_disagreements(state: BatchState, batch: Batch | None, settled: Settled, *,
                        submitter: str, root: bytes) -> list[Disagreement]:
    """What ``batchState(submitter, root)`` at ``settled`` says differently from the batch's anchor event."""
    known = batch if batch is not None and batch.block_number <= settled.number else None
    name = f"batch {hex32(root)[:10]}... of {submitter}"
    if known is None and state.submitter is not None:
        return [Disagreement(CheckName.ANCHORING, Code.NOT_ANCHORED, f"{name} is anchored ({state.count} records)",
                             f"no anchor of {name}")]
    if known is not None and state.submitter is None:
        return [Disagreement(CheckName.ANCHORING, Code.NOT_ANCHORED, f"{name} is not anchored",
                             f"{name} was anchored in block {known.block_number}")]
    if known is not None and known.count != state.count:
        return [Disagreement(CheckName.ANCHORING, Code.NOT_ANCHORED, f"{name} holds {state.count} records",
                             f"{name} holds {known.count} records")]
    return []

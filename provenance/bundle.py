"""A Statement's lineage bundle: the Statements of the parent records it pins, and theirs.

A downloader who holds only the model directory must get the verdict its
publisher gets, lineage included, so the Statement that ships with the model
carries its ancestors' Statements (DESIGN.md, "Evidence that travels"), much
as a C2PA manifest carries its ingredients. :func:`gather` walks the pins
(``{subject, record}`` entries of ``lineage.trained_on`` and
``lineage.base_models``, disclosed and signed) from the parents of a new
record up through theirs, taking each Statement from wherever the caller
looks (the local store, files given on the command line, the record's uri, a
service) and the lineages those Statements carry.

Nothing here is trusted: a carried Statement is evidence the verifier checks
on its own against the chain (signature, claimsRoot, anchoring; revocations
are read from the chain, never from the bundle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from provenance.commitments import Disclosure, disclosed_view
from provenance.errors import ClaimsError, StatementError
from provenance.statement import MAX_LINEAGE_STATEMENTS, Statement

__all__ = ["Gathered", "gather", "pinned_records"]

#: Finds the Statement of a record id, or None (and may say why it could not, via ``misses``).
Finder = Callable[[bytes], Statement | None]


@dataclass(frozen=True)
class Gathered:
    """The Statements found for a lineage (each once, light) and the pinned records none was found for."""

    statements: tuple[Statement, ...]
    missing: tuple[bytes, ...]


def pinned_records(statement: Statement) -> list[bytes]:
    """The parent record ids ``statement`` pins in its disclosed lineage (nothing if its disclosures do not
    match its claimsRoot: a pin that is not signed pins nothing)."""
    from provenance.record import Kind
    from provenance.rules._facts import ArtifactFacts

    try:
        view = disclosed_view(statement.record.claims_root,
                              [Disclosure.from_dict(d) for d in statement.disclosures])
    except (ClaimsError, StatementError, KeyError, TypeError, ValueError):
        return []
    facts = ArtifactFacts(subject=statement.subject, kind=Kind.OTHER, claims=view)
    return list(dict.fromkeys(facts.pins().values()))


def gather(records: Iterable[bytes], find: Finder, *, carried: Iterable[Statement] = (),
           limit: int = MAX_LINEAGE_STATEMENTS) -> Gathered:
    """The Statements of ``records`` (pinned parents) and of the records they pin, breadth first.

    ``carried``: Statements already at hand (a parent's own bundle, files given), consulted before
    ``find``. A Statement found for a record must be that record's (its id is recomputed), else it
    is not taken. At most ``limit`` Statements; records beyond are not walked.
    """
    pool: dict[bytes, Statement] = {}
    for held in carried:
        _pool(pool, held)
    found: dict[bytes, Statement] = {}
    missing: list[bytes] = []
    queue = list(dict.fromkeys(records))
    seen = set(queue)
    while queue and len(found) < limit:
        record_id = queue.pop(0)
        statement: Statement | None = pool.get(record_id) or find(record_id)
        if statement is None or statement.record_id != record_id:
            missing.append(record_id)
            continue
        _pool(pool, statement)
        found[record_id] = statement.carried()
        for parent in pinned_records(statement):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return Gathered(tuple(found.values()), tuple(missing))


def _pool(pool: dict[bytes, Statement], statement: Statement) -> None:
    """Keep a Statement and the lineage it carries, the first copy of each record winning."""
    pool.setdefault(statement.record_id, statement)
    for carried in statement.lineage:
        pool.setdefault(carried.record_id, carried)

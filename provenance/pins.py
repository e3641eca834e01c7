"""Which parent record a child relies on: pinning the parents of a claims file before it is committed.

The registry is permissionless: anyone can register a record of a dataset's
subject. A child that only names its parent's subject would let a stranger's
record decide its lineage verdict, so its claims name the parent *record*
(``{subject, record}`` in ``lineage.trained_on``, ``record`` in a
``lineage.base_models`` entry), committed under claimsRoot and signed.

:func:`pin_parents` pins every parent the claims name by a plain subject, by
this rule, in order:

1. the registering publisher's own records of that subject: the newest;
2. else, when exactly one publisher has records of it: that publisher's newest;
3. else (several publishers): refused, naming every candidate record and its
   publisher: only the publisher knows which one it relied on, and writes
   ``{subject, record}`` in the claims file;
4. no record known at all: left a plain subject (the unknown-parent check,
   :func:`provenance.publish.unknown_parents`, still applies).

Revoked records are left out; only when every record of a subject is revoked
do the same rules choose among them (the pin then says ``revoked``: the child
did rely on a revoked record, and its verdict should say so). "Newest" is by
block; a record still waiting in the local store (queued, being sent) is newer
than any anchored one. A parent the claims pin already is checked when its
record is known: a record of another subject is refused; a record neither the
local store nor the index knows is an unknown parent (refused unless
``allow_unknown``).

Where the records come from: the local store (this home's records, queued and
batched ones included) and an index of the registry's events (direct records
and their revocations; Statements the index keeps, when it keeps some).
Nothing here talks to the chain: the caller syncs the index first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from provenance._documents import problems_text
from provenance.claims import BaseModelRef, Claims, ParentRef
from provenance.errors import ClaimsError, UnknownParent
from provenance.record import hex32

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import IndexedRecord
    from provenance.statement import Statement
    from provenance.store import Store

__all__ = ["Pin", "PinSource", "Candidate", "RecordIndex", "pin_parents", "candidates", "WithStatements"]

#: Why a parent is pinned to its record: the publisher's own newest record (rule 1), the newest record of
#: the only publisher with records of it (rule 2), or the claims file named it.
PinSource = Literal["own", "sole-publisher", "claims"]


class RecordIndex(Protocol):
    """What pinning reads from an index of the registry's events (:class:`provenance.index.Index` has it)."""

    def records_by_subject(self, subject: bytes) -> list[IndexedRecord]: ...

    def record(self, record_id: bytes) -> IndexedRecord | None: ...

    def statement(self, record_id: bytes) -> Statement | None: ...

    def statements_for(self, subject: bytes) -> list[Statement]: ...


class WithStatements:
    """An index that also knows some Statements (a parent's Statement given as a file, or a service's):
    how a parent registered in another publisher's batch, which the chain knows only by its batch root,
    is pinned. The caller checks each Statement against the chain first (signature, anchoring)."""

    def __init__(self, index: RecordIndex, statements: Sequence[Statement]) -> None:
        self._index = index
        self._statements = list(statements)

    def records_by_subject(self, subject: bytes) -> list[IndexedRecord]:
        return self._index.records_by_subject(subject)

    def record(self, record_id: bytes) -> IndexedRecord | None:
        return self._index.record(record_id)

    def statement(self, record_id: bytes) -> Statement | None:
        return next((s for s in self._statements if s.record_id == record_id), None) \
            or self._index.statement(record_id)

    def statements_for(self, subject: bytes) -> list[Statement]:
        return [s for s in self._statements if s.subject == subject] + self._index.statements_for(subject)


@dataclass(frozen=True)
class Candidate:
    """A known record of a parent subject; ``block_number`` None: not anchored yet (in the local store)."""

    record_id: bytes
    subject: bytes
    publisher: str
    revoked: bool
    block_number: int | None

    def describe(self) -> str:
        where = "not anchored yet" if self.block_number is None else f"block {self.block_number}"
        return f"record {hex32(self.record_id)} of publisher {self.publisher} ({where}" + (
            ", revoked)" if self.revoked else ")"
        )


@dataclass(frozen=True)
class Pin:
    """A parent subject and the record the child relies on; ``publisher`` None: the record is not known here."""

    subject: bytes
    record_id: bytes
    publisher: str | None
    source: PinSource
    revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` form (``pins`` of ``register``)."""
        return {
            "subject": hex32(self.subject),
            "record": hex32(self.record_id),
            "publisher": self.publisher,
            "source": self.source,
            "revoked": self.revoked,
        }

    def describe(self) -> str:
        """One line for a person: which record, whose, and why."""
        whose = {
            "own": "your newest record of it",
            "sole-publisher": f"the newest record of publisher {self.publisher}, the only publisher with records "
            "of it",
            "claims": "as the claims file pins it"
            + ("" if self.publisher else " (a record not known here)")
            + (f", publisher {self.publisher}" if self.publisher else ""),
        }[self.source]
        return f"{hex32(self.subject)} -> record {hex32(self.record_id)}: {whose}" + (
            " (revoked)" if self.revoked else ""
        )


def pin_parents(
    claims: Claims,
    *,
    publisher: str,
    store: Store | None,
    index: RecordIndex | None,
    chain_id: int,
    registry: str,
    allow_unknown: bool = False,
) -> tuple[Claims, tuple[Pin, ...]]:
    """``claims`` with every parent that can be resolved pinned to a record, and the pins (one per parent).

    ``publisher`` is the registering address; ``store`` and ``index`` are where
    records are known (either may be None), for the registry ``registry`` on
    ``chain_id``. Raises :class:`ClaimsError` for a parent several publishers
    registered (naming every candidate) or a pin to a record of another
    subject, and :class:`UnknownParent` for a pin to a record nobody knows
    unless ``allow_unknown``. Parents with no record stay plain subjects.
    """
    explicit = claims.pins()
    problems: list[tuple[str, str]] = []
    unknown: list[str] = []
    pins: dict[bytes, Pin] = {}
    for subject, record_id in explicit.items():
        found = _lookup(record_id, store=store, index=index, chain_id=chain_id, registry=registry)
        if found is None:
            unknown.append(f"{hex32(record_id)} (subject {hex32(subject)}, {_where(claims, subject)})")
            pins[subject] = Pin(subject, record_id, None, "claims")
        elif found.subject is not None and found.subject != subject:
            problems.extend(
                (f"{path}.record", f"{hex32(record_id)} is a record of subject {hex32(found.subject)}, not of "
                 f"{hex32(subject)}; accepted: the id of a record of this subject")
                for path in _paths(claims, subject, pinned_only=True)
            )  # fmt: skip
        else:
            pins[subject] = Pin(subject, record_id, found.publisher, "claims", found.revoked)
    for subject in claims.unpinned():
        known = candidates(subject, store=store, index=index, chain_id=chain_id, registry=registry)
        if not known:
            continue  # rule 4: no record at all
        chosen = _choose(known, publisher)
        if isinstance(chosen, Pin):
            pins[subject] = chosen
        else:
            listed = "; ".join(c.describe() for c in chosen)
            pinned_entry = f"{{subject: {hex32(subject)}, record: the record id you relied on}} for this entry"
            fix = {
                "trained_on": pinned_entry, "model": pinned_entry, "benchmarks": pinned_entry,
                "base_models": "record: the record id you relied on, in this entry",
            }
            problems.extend(
                (path, f"parent {hex32(subject)} has records of {len({_addr(c.publisher) for c in chosen})} "
                 f"publishers, so the record it relies on cannot be chosen for you: {listed}; accepted: "
                 + fix[path.split(".")[1].split("[")[0]])
                for path in _paths(claims, subject)
            )  # fmt: skip
    if problems:
        raise ClaimsError(
            f"the claims' lineage has {problems_text(problems)}",
            hint="pin the parent record you relied on in the claims file: trained_on: [{subject: 0x.., record: 0x..}], "
            "base_models: [{subject: 0x.., relation: .., record: 0x..}] (docs/claims.md)",
        )
    if unknown and not allow_unknown:
        raise UnknownParent(
            f"pinned parent record not registered in registry {registry} on chain {chain_id}: " + ", ".join(unknown),
            hint="register the parent first, correct the record id in the claims file, or pass --allow-unknown-parent",
        )
    pinned = claims.with_pins({s: p.record_id for s, p in pins.items() if s not in explicit})
    return pinned, tuple(pins[s] for s in sorted(pins))


def candidates(
    subject: bytes, *, store: Store | None, index: RecordIndex | None, chain_id: int, registry: str
) -> list[Candidate]:
    """Every record of ``subject`` known to the store or the index for this registry, oldest first."""
    found: dict[bytes, Candidate] = {}
    order: list[bytes] = []

    def add(candidate: Candidate) -> None:
        previous = found.get(candidate.record_id)
        if previous is None:
            order.append(candidate.record_id)
            found[candidate.record_id] = candidate
        elif previous.block_number is None and candidate.block_number is not None:
            found[candidate.record_id] = candidate

    if store is not None:
        for stored in store.records_of_subject(subject):
            if stored.state != "failed" and _here(stored.chain_id, stored.registry, chain_id, registry):
                add(_of_statement(stored.statement, index))
    if index is not None:
        for record in index.records_by_subject(subject):
            if _here(record.chain_id, record.registry, chain_id, registry):
                add(Candidate(bytes.fromhex(record.record_id[2:]), subject, record.publisher, record.revoked,
                              record.block_number))  # fmt: skip
        for statement in index.statements_for(subject):
            if _here(statement.chain_id, statement.registry, chain_id, registry):
                add(_of_statement(statement, index))
    ranked = [found[rid] for rid in order]
    # stable: records of one block keep the order the store and the index gave them
    return sorted(ranked, key=lambda c: (c.block_number is None, c.block_number or 0))


# ---------------------------------------------------------------- helpers


def _choose(known: Sequence[Candidate], publisher: str) -> Pin | list[Candidate]:
    """Rules 1-3 over ``known`` (oldest first): the pin, or the candidates when several publishers have some."""
    live = [c for c in known if not c.revoked] or list(known)
    own = [c for c in live if _addr(c.publisher) == _addr(publisher)]
    if own:
        return _pin(own[-1], "own")
    if len({_addr(c.publisher) for c in live}) == 1:
        return _pin(live[-1], "sole-publisher")
    return live


def _pin(candidate: Candidate, source: PinSource) -> Pin:
    return Pin(candidate.subject, candidate.record_id, candidate.publisher, source, candidate.revoked)


def _of_statement(statement: Statement, index: RecordIndex | None) -> Candidate:
    on_chain = index.record(statement.record_id) if index is not None else None
    block = statement.anchor.block_number if statement.anchor is not None else None
    return Candidate(statement.record_id, statement.subject, statement.publisher,
                     bool(on_chain and on_chain.revoked), block)  # fmt: skip


@dataclass(frozen=True)
class _Known:
    subject: bytes | None  # None: a batched record the index knows by its batch only
    publisher: str
    revoked: bool


def _lookup(
    record_id: bytes, *, store: Store | None, index: RecordIndex | None, chain_id: int, registry: str
) -> _Known | None:
    """What the store or the index knows of one record of this registry; None when neither knows it."""
    on_chain = index.record(record_id) if index is not None else None
    if on_chain is not None and not _here(on_chain.chain_id, on_chain.registry, chain_id, registry):
        on_chain = None
    revoked = bool(on_chain and on_chain.revoked)
    stored = store.record(record_id) if store is not None else None
    if stored is not None and stored.state != "failed" and _here(stored.chain_id, stored.registry, chain_id, registry):
        return _Known(stored.statement.subject, stored.publisher, revoked)
    statement = index.statement(record_id) if index is not None else None
    if statement is not None and _here(statement.chain_id, statement.registry, chain_id, registry):
        return _Known(statement.subject, statement.publisher, revoked)
    if on_chain is not None:
        subject = bytes.fromhex(on_chain.subject[2:]) if on_chain.subject else None
        return _Known(subject, on_chain.publisher, revoked)
    return None


def _here(chain_id: int, registry: str, want_chain: int, want_registry: str) -> bool:
    return chain_id == want_chain and registry.lower() == want_registry.lower()


def _addr(address: str) -> str:
    return address.lower()


def _paths(claims: Claims, subject: bytes, *, pinned_only: bool = False) -> Iterable[str]:
    """Where ``subject`` is a parent in the claims: ``lineage.trained_on[i]``, ``lineage.base_models[j]``
    (of an evaluation: ``evaluation.model``, ``evaluation.benchmarks[k]``)."""
    text = hex32(subject)
    if claims.evaluation is not None:
        model = claims.evaluation.model
        if model.subject == text and (model.record is not None or not pinned_only):
            yield "evaluation.model"
        for i, benchmark in enumerate(claims.evaluation.benchmarks):
            if benchmark.subject == text and (benchmark.record is not None or not pinned_only):
                yield f"evaluation.benchmarks[{i}]"
        return
    lists: tuple[tuple[str, Sequence[ParentRef | BaseModelRef]], ...] = (
        ("trained_on", claims.lineage.trained_on), ("base_models", claims.lineage.base_models),
    )
    for name, refs in lists:
        for i, ref in enumerate(refs):
            if ref.subject == text and (ref.record is not None or not pinned_only):
                yield f"lineage.{name}[{i}]"


def _where(claims: Claims, subject: bytes) -> str:
    return ", ".join(_paths(claims, subject, pinned_only=True))

"""What an evaluation record's Statement discloses, for the views and exports that show it.

The verifier decides whether an evaluation counts (:mod:`provenance.rules.evaluations`);
the service's ``/v1/evaluations``, the auditors' page, ``provenance history``
and the exports only show what an evaluation says. :func:`evaluation_facts`
reads the claims a Statement of kind ``evaluation`` discloses, each disclosure
checked against the record's ``claimsRoot``; a Statement whose disclosures do
not match, or that discloses no ``evaluation.results``, gives facts with
``disclosed`` false and no results, never a guess::

    facts = evaluation_facts(statement)
    for r in facts.results:
        print(r.task, r.metric, r.value, r.stderr)

Disclosed values are what the evaluator committed to, not validated claims:
anything malformed is left out, as the verifier's rule does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from provenance.commitments import Disclosure, disclosed_view
from provenance.errors import ProvenanceError
from provenance.record import Kind

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import HistoryEntry, Index
    from provenance.statement import Statement

__all__ = ["EvaluationFacts", "Result", "Pin", "evaluation_facts", "evaluations_of", "with_evaluations",
           "CATEGORIES", "disclosed_text", "disclosed_subject", "disclosed_result"]

#: The categories an evaluation names (claims' vocabulary).
CATEGORIES = ("capability", "safety", "bias", "privacy", "other")


@dataclass(frozen=True)
class Pin:
    """A subject and, when pinned, the record relied on (0x-hex)."""

    subject: str
    record: str | None = None


@dataclass(frozen=True)
class Result:
    """One disclosed result: a metric of a task (on a split, with n shots), measured on ``benchmark``."""

    task: str
    metric: str
    value: float
    stderr: float | None = None
    split: str | None = None
    n_shot: int | None = None
    benchmark: str | None = None

    def text(self) -> str:
        """``toxigen acc 0.83 ± 0.012``."""
        return f"{self.task} {self.metric} {self.value:g}" + ("" if self.stderr is None else f" ± {self.stderr:g}")


@dataclass(frozen=True)
class EvaluationFacts:
    """The evaluation facts a Statement discloses; ``disclosed`` false when none could be read (``why``)."""

    record_id: str
    publisher: str
    disclosed: bool
    why: str | None = None
    name: str | None = None
    model: Pin | None = None
    benchmarks: tuple[Pin, ...] = ()
    category: str | None = None
    evaluator: str | None = None
    date: str | None = None
    harness: str | None = None
    harness_version: str | None = None
    config_digest: str | None = None
    results: tuple[Result, ...] = ()


def disclosed_text(value: Any) -> str | None:
    """A disclosed value read as non-empty text, else None (disclosed values are not validated claims)."""
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def disclosed_subject(value: Any) -> str | None:
    """A disclosed value read as a subject or record id (0x + 64 hex digits, lower case), else None."""
    if isinstance(value, str) and len(value) == 66 and value[:2] == "0x":
        try:
            bytes.fromhex(value[2:])
        except ValueError:
            return None
        return value.lower()
    return None


def _pin(value: Any) -> Pin | None:
    if isinstance(value, Mapping):
        subject = disclosed_subject(value.get("subject"))
        return None if subject is None else Pin(subject, disclosed_subject(value.get("record")))
    subject = disclosed_subject(value)
    return None if subject is None else Pin(subject)


def disclosed_result(item: Any) -> Result | None:
    """One disclosed ``evaluation.results`` item, or None when it lacks a task, a metric or a finite value."""
    if not isinstance(item, Mapping):
        return None
    task, metric = disclosed_text(item.get("task")), disclosed_text(item.get("metric"))
    value = _number(item.get("value"))
    if task is None or metric is None or value is None:
        return None
    shots = item.get("n_shot")
    return Result(task, metric, value, _number(item.get("stderr")), disclosed_text(item.get("split")),
                  shots if isinstance(shots, int) and not isinstance(shots, bool) else None,
                  disclosed_subject(item.get("benchmark")))


def evaluation_facts(statement: Statement) -> EvaluationFacts:
    """The evaluation facts ``statement`` discloses (its disclosures checked against its ``claimsRoot``)."""
    rid = "0x" + statement.record_id.hex()
    publisher = statement.publisher
    if statement.record.kind != Kind.EVALUATION:
        return EvaluationFacts(rid, publisher, False, why="not an evaluation record")
    try:
        view = disclosed_view(statement.record.claims_root,
                              [Disclosure.from_dict(d) for d in statement.disclosures])
    except (ProvenanceError, KeyError, TypeError, ValueError) as err:
        return EvaluationFacts(rid, publisher, False, why=f"its disclosures do not match its claimsRoot: {err}")

    def claim(name: str) -> Any:
        return view.get(f"evaluation.{name}")

    results = tuple(r for item in (claim("results") if isinstance(claim("results"), list) else ())
                    if (r := disclosed_result(item)) is not None)
    harness = claim("harness")
    benchmarks = claim("benchmarks")
    return EvaluationFacts(
        rid, publisher,
        disclosed="evaluation.results" in view,
        why=None if "evaluation.results" in view else "its Statement does not disclose evaluation.results",
        name=disclosed_text(view.get("name")),
        model=_pin(claim("model")),
        benchmarks=tuple(p for b in (benchmarks if isinstance(benchmarks, list) else ()) if (p := _pin(b))),
        category=disclosed_text(claim("category")),
        evaluator=disclosed_text(claim("evaluator")),
        date=disclosed_text(claim("date")),
        harness=disclosed_text(harness.get("name")) if isinstance(harness, Mapping) else None,
        harness_version=disclosed_text(harness.get("version")) if isinstance(harness, Mapping) else None,
        config_digest=disclosed_subject(claim("config_digest")),
        results=results,
    )


def evaluations_of(index: Index, subject: str, statement_of: Callable[[str], Statement | None]
                   ) -> list[tuple[str, EvaluationFacts | None]]:
    """The evaluation records of ``subject`` the index knows, oldest first: (record id, the facts its Statement
    discloses, or None when ``statement_of`` has none). A record whose Statement says it evaluated other
    weights (it names ``subject`` as a benchmark) is left out; one without a Statement is kept (it names
    ``subject`` as a parent: the model or a benchmark, its claims would say)."""
    key = subject.lower()
    found: list[tuple[str, EvaluationFacts | None]] = []
    for record in index.evaluations_of(key):
        statement = statement_of(record.record_id)
        facts = None if statement is None else evaluation_facts(statement)
        if facts is not None and facts.model is not None and facts.model.subject != key:
            continue
        found.append((record.record_id, facts))
    return found


def with_evaluations(index: Index, subject: str, entries: list[HistoryEntry],
                     statement_of: Callable[[str], Statement | None], *, limit: int | None = None
                     ) -> list[HistoryEntry]:
    """A subject's history (``entries``, newest first) with the events of its evaluation records merged in,
    each marked in its details: ``evaluationOf`` (the subject) and ``evaluationResults`` (the disclosed
    results as text, or None when they are not known)."""
    key = subject.lower()
    extra: list[HistoryEntry] = []
    seen = {(e.tx_hash, e.log_index) for e in entries}
    for record_id, facts in evaluations_of(index, key, statement_of):
        results = None if facts is None or not facts.disclosed else [r.text() for r in facts.results]
        for entry in index.history(record_id=record_id, limit=limit):
            if (entry.tx_hash, entry.log_index) not in seen:
                seen.add((entry.tx_hash, entry.log_index))
                extra.append(replace(entry, details={**entry.details, "evaluationOf": key,
                                                     "evaluationResults": results}))
    merged = sorted([*entries, *extra], key=lambda e: (e.block_number, e.log_index), reverse=True)
    return merged if limit is None else merged[:limit]

"""Evaluations: what evaluators measured of the verified weights, and what the policy requires of them.

The chain-reading half (:mod:`provenance.verifier`) finds the evaluation
records whose parents include the verified subject, checks each against the
chain like any record, and hands them here as :class:`EvaluationSeen`, built
from the claims their Statement discloses (:meth:`EvaluationSeen.from_claims`).
:func:`evaluation_checks` is pure.

Decisions (docs/verdicts.md, "Evaluations"; docs/policy.md, "Required
evaluations"):

* An evaluation counts only when its record verified, is not revoked and its
  disclosed ``evaluation.model`` is the verified subject. One of other weights
  is not listed at all, even when it names this subject among its parents:
  it is no evaluation of these weights.
* Whose result counts is the policy's: ``trusted_evaluators``, or a
  requirement's ``by``. Anyone else's is an ``info`` line
  (``UNTRUSTED_PUBLISHER``) whatever score it claims, so a stranger can
  neither meet a requirement nor fail one.
* A requirement with no counted result from its evaluators fails
  ``EVAL_MISSING``; with results from them, none within bounds,
  ``EVAL_BELOW_THRESHOLD`` (the name says "below": ``max`` bounds from above
  the same way). When one of its evaluators has a record whose Statement
  could not be obtained, a missing result is unverifiable, not a failure: that
  record may hold it.
* Requirements apply to models and artifacts of kind ``other`` (weights whose
  publisher chose no kind); a dataset or an evaluation record is told they do
  not apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provenance.evalfacts import disclosed_result, disclosed_subject, disclosed_text
from provenance.policy import EvaluationRequirement, Policy
from provenance.record import Kind
from provenance.rules._facts import short
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["EvaluationSeen", "ResultSeen", "evaluation_checks", "MAX_UNTRUSTED"]

#: Evaluations by evaluators the policy does not count, examined and shown at most (anyone can register more).
MAX_UNTRUSTED = 10


@dataclass(frozen=True)
class ResultSeen:
    """One disclosed result of an evaluation."""

    task: str
    metric: str
    value: float
    stderr: float | None = None
    split: str | None = None
    n_shot: int | None = None

    def text(self) -> str:
        """``toxigen acc 0.83 ± 0.012`` (split and shots when disclosed)."""
        out = f"{self.task} {self.metric} {self.value:g}"
        if self.stderr is not None:
            out += f" ± {self.stderr:g}"
        extra = [x for x in (self.split, None if self.n_shot is None else f"{self.n_shot}-shot") if x]
        return out + (f" ({', '.join(extra)})" if extra else "")

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "metric": self.metric, "value": self.value, "stderr": self.stderr,
                "split": self.split, "nShot": self.n_shot}


@dataclass(frozen=True)
class EvaluationSeen:
    """An evaluation record of the verified subject, as the verifier found it.

    ``publisher`` signed the record: the evaluator the policy trusts or not.
    ``evaluator``: the name it discloses (text anyone can write). ``model``:
    the disclosed ``evaluation.model`` subject, None when not disclosed.
    ``problem``: (code, why) when its record does not verify or its Statement
    could not be obtained (``unreadable``); then nothing it says is read.
    """

    record_id: bytes
    publisher: str
    model: bytes | None = None
    evaluator: str | None = None
    category: str | None = None
    results: tuple[ResultSeen, ...] = ()
    revoked: str | None = None  # the revocation's reason code, when revoked
    problem: tuple[Code, str] | None = None
    unreadable: bool = False

    @classmethod
    def from_claims(cls, record_id: bytes, publisher: str, claims: Mapping[str, Any], *,
                    revoked: str | None = None) -> EvaluationSeen:
        """From a disclosed view (field -> value, or ``evaluation`` as one section). Disclosed values are
        what the publisher committed to, not necessarily valid claims: anything malformed is left out."""
        def claim(name: str) -> Any:
            if f"evaluation.{name}" in claims:
                return claims[f"evaluation.{name}"]
            section = claims.get("evaluation")
            return section.get(name) if isinstance(section, Mapping) else None

        model = claim("model")
        subject = model.get("subject") if isinstance(model, Mapping) else model
        return cls(
            record_id=record_id, publisher=publisher, model=_subject(subject),
            evaluator=disclosed_text(claim("evaluator")), category=disclosed_text(claim("category")),
            results=tuple(r for item in _items(claim("results")) if (r := _result(item)) is not None),
            revoked=revoked,
        )

    @property
    def counted_problem(self) -> tuple[Code, str] | None:
        """Why it does not count although it is of this subject (None: it counts)."""
        if self.problem is not None:
            return self.problem
        if self.revoked is not None:
            named = f" ({self.revoked})" if self.revoked != "other" else ""
            return Code.REVOKED, f"its evaluator revoked it{named}"
        return None

    def who(self) -> str:
        named = f" ({self.evaluator})" if self.evaluator else ""
        return f"{self.publisher}{named}"

    def evidence(self, *, trusted: bool) -> dict[str, Any]:
        return {"recordId": self.record_id, "evaluator": self.publisher, "evaluatorName": self.evaluator,
                "trusted": trusted, "category": self.category, "model": self.model,
                "results": [r.to_json() for r in self.results]}


def _subject(value: Any) -> bytes | None:
    subject = disclosed_subject(value)
    return None if subject is None else bytes.fromhex(subject[2:])


def _items(value: Any) -> Iterable[Any]:
    return value if isinstance(value, (list, tuple)) else ()


def _result(item: Any) -> ResultSeen | None:
    read = disclosed_result(item)
    return None if read is None else ResultSeen(read.task, read.metric, read.value, read.stderr, read.split,
                                                read.n_shot)


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _requirement_text(requirement: EvaluationRequirement) -> str:
    category = f" ({requirement.category})" if requirement.category else ""
    return f"{requirement.task} {requirement.metric} {requirement.bounds_text()}{category}"


def _requirement_json(requirement: EvaluationRequirement, by: Sequence[str]) -> dict[str, Any]:
    return {"task": requirement.task, "metric": requirement.metric, "min": requirement.min,
            "max": requirement.max, "category": requirement.category, "by": list(by)}


def evaluation_checks(subject: bytes, kind: Kind, found: Sequence[EvaluationSeen], policy: Policy, *,
                      unexamined: int = 0) -> list[Check]:
    """The evaluations check of ``subject`` (of ``kind``): a line per evaluation of it in ``found``, then a
    line per required result. ``unexamined``: evaluations by strangers left unexamined (a count line)."""
    base = {"subject": subject}
    requirements = policy.require.evaluations
    counting = {a.lower() for a in policy.trusted_evaluators} | {
        a.lower() for r in requirements for a in policy.evaluators_for(r)}
    of_it = [e for e in found if e.unreadable or e.problem is not None or e.model == subject]
    checks: list[Check] = []
    strangers = 0
    for e in of_it:
        trusted = e.publisher.lower() in counting
        why_not = e.counted_problem
        if why_not is not None:
            code, why = why_not
            checks.append(Check(
                CheckName.EVALUATIONS, Status.INFO, code,
                f"Evaluation {short(e.record_id)} by {e.who()} does not count: {why}",
                {**base, **e.evidence(trusted=trusted)}))
        elif trusted:
            checks.append(Check(
                CheckName.EVALUATIONS, Status.PASS, Code.OK,
                f"{_named(e)} by {e.who()}, an evaluator the policy trusts: {_results(e)}",
                {**base, **e.evidence(trusted=True)}))
        else:
            strangers += 1
            checks.append(Check(
                CheckName.EVALUATIONS, Status.INFO, Code.UNTRUSTED_PUBLISHER,
                f"{_named(e)} by {e.who()}, whom the policy does not trust as an evaluator: "
                f"{_results(e)}; shown for information, it weighs nothing in the verdict",
                {**base, **e.evidence(trusted=False)}))
    if unexamined:
        checks.append(Check(
            CheckName.EVALUATIONS, Status.INFO, Code.UNTRUSTED_PUBLISHER,
            f"{unexamined} more evaluation record(s) of this subject by evaluators the policy does not trust "
            f"were not examined (at most {MAX_UNTRUSTED} are); they weigh nothing in the verdict",
            {**base, "count": unexamined}))
    if requirements and kind not in (Kind.MODEL, Kind.OTHER):
        checks.append(Check(
            CheckName.EVALUATIONS, Status.PASS, Code.OK,
            f"The policy's {len(requirements)} required evaluation result(s) apply to models, not to this "
            f"{kind.name.lower()}", {**base, "requirements": len(requirements)}))
        return checks
    counted = [e for e in of_it if e.counted_problem is None]
    for requirement in requirements:
        checks.append(_requirement_check(subject, requirement, policy.evaluators_for(requirement), counted, of_it))
    if not any(c.status is not Status.INFO for c in checks):
        said = (f"{len(counted)} evaluation(s) of this subject count, none by an evaluator the policy trusts"
                if of_it else "No evaluation of this subject was found")
        checks.insert(0, Check(
            CheckName.EVALUATIONS, Status.PASS, Code.OK,
            f"{said}; the policy requires no evaluation result",
            {**base, "evaluations": len(of_it), "untrusted": strangers}))
    return checks


def _results(e: EvaluationSeen) -> str:
    shown = "; ".join(r.text() for r in e.results[:8])
    more = f"; and {len(e.results) - 8} more" if len(e.results) > 8 else ""
    return shown + more if e.results else "no readable result disclosed"


def _named(e: EvaluationSeen) -> str:
    """``Evaluation 0x12…ab (safety)``: the category heads the line, as it is the whole evaluation's."""
    return f"Evaluation {short(e.record_id)}" + (f" ({e.category})" if e.category else "")


def _requirement_check(subject: bytes, requirement: EvaluationRequirement, by: Sequence[str],
                       counted: Sequence[EvaluationSeen], of_it: Sequence[EvaluationSeen]) -> Check:
    wanted = _requirement_text(requirement)
    evidence: dict[str, Any] = {"subject": subject, "requirement": _requirement_json(requirement, by)}

    def matches(e: EvaluationSeen) -> list[ResultSeen]:
        if requirement.category is not None and e.category != requirement.category:
            return []
        return [r for r in e.results if r.task == requirement.task and r.metric == requirement.metric]

    accepted = [e for e in counted if any(_same(e.publisher, a) for a in by)]
    found = [(e, r) for e in accepted for r in matches(e)]
    met = [(e, r) for e, r in found if requirement.admits(r.value)]
    if met:
        e, r = met[0]
        return Check(CheckName.EVALUATIONS, Status.PASS, Code.OK,
                     f"Required {wanted}: met by {e.who()} with {r.text()} (evaluation {short(e.record_id)})",
                     {**evidence, "recordId": e.record_id, "evaluator": e.publisher, "value": r.value})
    if found:
        values = ", ".join(f"{r.value:g} by {e.publisher}" for e, r in found)
        return Check(CheckName.EVALUATIONS, Status.FAIL, Code.EVAL_BELOW_THRESHOLD,
                     f"Required {wanted}: the accepted evaluators report {values}, not {requirement.bounds_text()}",
                     {**evidence, "values": [r.value for _, r in found],
                      "evaluations": [e.record_id for e, _ in found]})
    others = [(e, r) for e in counted if e not in accepted for r in matches(e)]
    said = ""
    if others:
        said = "; not counted: " + ", ".join(f"{r.value:g} by {e.publisher}, not one of them" for e, r in others[:3])
    unread = [e for e in of_it if e.unreadable and any(_same(e.publisher, a) for a in by)]
    if unread:
        why = unread[0].problem[1] if unread[0].problem else "its Statement could not be obtained"
        return Check(CheckName.EVALUATIONS, Status.UNVERIFIABLE, Code.EVAL_MISSING,
                     f"Required {wanted}: no readable evaluation of this subject by {', '.join(by)} reports it, "
                     f"and evaluation {short(unread[0].record_id)} by {unread[0].publisher} could not be read "
                     f"({why}){said}",
                     {**evidence, "evaluations": [e.record_id for e in unread]})
    return Check(CheckName.EVALUATIONS, Status.FAIL, Code.EVAL_MISSING,
                 f"Required {wanted}: no evaluation of this subject by {', '.join(by)} reports it{said}",
                 evidence)

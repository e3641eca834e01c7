"""The copyright, privacy, lineage and endorsement rules of CLAIMS.md, as pure functions.

This is the half of the verifier that needs no chain and no network. The other
half reads the registry and builds a :class:`Lineage`: one
:class:`ArtifactFacts` per artifact (the disclosed claims, the record's state,
endorsements and disputes), ``None`` for a parent it could not find.
:func:`evaluate` walks every ancestor, transitively, and returns the
:class:`~provenance.verdict.Check` lines of the copyright, privacy, lineage
and endorsements checks, always at least one line per check (``OK`` when
nothing is wrong).

The decisions taken where CLAIMS.md is silent are listed, per concern, in the
docstrings of :mod:`~provenance.rules.copyright`,
:mod:`~provenance.rules.privacy`, :mod:`~provenance.rules.lineage` (with how
the graph is read) and :mod:`~provenance.rules.endorsements`;
docs/verdicts.md tells users.
"""

from __future__ import annotations

from provenance.errors import LineageError
from provenance.policy import Policy
from provenance.record import Kind
from provenance.rules._facts import ArtifactFacts, Erasure, Lineage
from provenance.rules._graph import graph_of
from provenance.rules.copyright import copyright_checks
from provenance.rules.endorsements import endorsement_checks
from provenance.rules.evaluations import EvaluationSeen, ResultSeen, evaluation_checks
from provenance.rules.lineage import lineage_checks
from provenance.rules.privacy import is_public_uri, privacy_checks
from provenance.rules.vocabulary import vocabulary_checks
from provenance.verdict import Check, CheckName, Code, Status

__all__ = [
    "ArtifactFacts",
    "Erasure",
    "Lineage",
    "LineageError",
    "evaluate",
    "EvaluationSeen",
    "ResultSeen",
    "evaluation_checks",
    "is_public_uri",
]


def evaluate(lineage: Lineage, policy: Policy) -> list[Check]:
    """The copyright, privacy, lineage and endorsements checks of ``lineage.root`` under ``policy``.

    Pure: reads nothing but its arguments. Each category gives at least one
    line (``OK`` when nothing is wrong), in that order. An evaluation record's
    subject is a results document whose parents are what it measured, not
    what it was made from: its copyright and privacy checks say they do not apply.
    """
    graph = graph_of(lineage)
    if graph.root.kind is Kind.EVALUATION:
        evidence = {"subject": graph.root.subject}
        return [
            Check(CheckName.COPYRIGHT, Status.PASS, Code.OK,
                  "Not applicable: this is an evaluation record (its parents are the evaluated model and the "
                  "benchmarks, not sources it was made from)", evidence),
            Check(CheckName.PRIVACY, Status.PASS, Code.OK,
                  "Not applicable: this is an evaluation record, which states results, not personal data", evidence),
            *lineage_checks(graph, policy, unchecked=lineage.unchecked, limit=lineage.limit),
            *endorsement_checks(graph, policy),
        ]
    privacy = privacy_checks(graph, policy)
    invalid = vocabulary_checks(graph, policy, "privacy")  # values privacy read as undisclosed, said so
    if invalid:
        privacy = [c for c in privacy if c.code is not Code.OK] + invalid
    return [
        *copyright_checks(graph, policy),
        *privacy,
        *lineage_checks(graph, policy, unchecked=lineage.unchecked, limit=lineage.limit),
        *endorsement_checks(graph, policy),
    ]

"""Disclosed values that are not claims vocabulary: said in the verdict, never read as allowed.

:class:`~provenance.rules._facts.ArtifactFacts` already treats such a value as
undisclosed (``tdm_reservation: "true"`` is no ``false``, ``ai_training:
not_allowed`` is no ``allowed``); these lines say so, in the check of the
field's section: ``LICENSE_UNSPECIFIED`` for a copyright field,
``PRIVACY_UNVERIFIED`` for a privacy field, each with the policy's status
(``require.license``, ``require.privacy``).
"""

from __future__ import annotations

import json

from provenance.policy import Policy
from provenance.rules._graph import Findings, Graph, cap
from provenance.verdict import Check, CheckName, Code

__all__ = ["vocabulary_checks", "add_vocabulary_findings"]

_CODES = {"copyright": (CheckName.COPYRIGHT, Code.LICENSE_UNSPECIFIED),
          "privacy": (CheckName.PRIVACY, Code.PRIVACY_UNVERIFIED)}


def _shown(value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def add_vocabulary_findings(out: Findings, graph: Graph, policy: Policy, section: str) -> None:
    """One line per artifact of the lineage and invalid field of ``section`` (``copyright``, ``privacy``)."""
    _, code = _CODES[section]
    status = policy.status_of(code)
    for s in [graph.root.subject, *graph.ancestors]:
        for name, value in graph.nodes[s].invalid_claims.items():
            if not name.startswith(section + "."):
                continue
            out.add(status, code,
                    f"{cap(out.who(s))}: disclosed value {name}: {_shown(value)} is not valid vocabulary; "
                    "treated as undisclosed",
                    s, field=name, disclosedValue=_shown(value), invalidVocabulary=True)


def vocabulary_checks(graph: Graph, policy: Policy, section: str) -> list[Check]:
    """The lines of :func:`add_vocabulary_findings` alone (no OK line when there are none)."""
    check, _ = _CODES[section]
    out = Findings(graph, check)
    add_vocabulary_findings(out, graph, policy, section)
    return out.checks

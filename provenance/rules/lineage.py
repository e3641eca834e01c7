"""Lineage: unknown parents, cycles, and ancestors that were revoked or failed their own verification.

Decisions where CLAIMS.md is silent (docs/verdicts.md tells users), on the
graph every rule reads:

  * The parents of an artifact are its record's ``parents`` plus any subject
    its disclosed ``lineage.trained_on`` and ``lineage.base_models`` name (the
    union: a subject missing from either side is still walked).
  * A parent absent from the mapping counts as unknown, like one mapped to None.
  * A cycle cannot happen between honest content-addressed records; one is
    reported as ``PARENT_FAILED`` (fail) and its closing edge is ignored by the
    other rules, which still run.
  * An ancestor that was revoked, or whose own verdict failed (the caller's
    ``own_verdict_failed``), is ``PARENT_FAILED``.
"""

from __future__ import annotations

from provenance.policy import Policy
from provenance.rules._graph import Findings, Graph, cap, hex_of, short, utc_time
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["lineage_checks"]


def lineage_checks(graph: Graph, policy: Policy) -> list[Check]:
    out = Findings(graph, CheckName.LINEAGE)
    status = policy.status_of(Code.PARENT_UNKNOWN)
    for cycle in graph.cycles:
        out.add(Status.FAIL, Code.PARENT_FAILED,
                "the lineage has a cycle (" + " -> ".join(short(s) for s in cycle) + "), which no honest "
                "records can form; its lineage claims cannot be trusted",
                cycle[0], cycle=[hex_of(s) for s in cycle])
    for subject in sorted(graph.unknown, key=lambda s: (len(graph.via[s]), s)):
        children = graph.unknown[subject]
        named_by = ", ".join(out.who(c) for c in children)
        out.add(status, Code.PARENT_UNKNOWN,
                f"parent {short(subject)} of {named_by} is not registered or could not be found; its "
                "license and privacy claims cannot be checked",
                subject, children=[hex_of(c) for c in children])
    for s in graph.ancestors:
        facts = graph.nodes[s]
        reasons = []
        if facts.own_verdict_failed:
            reasons.append("failed its own verification (integrity, authenticity or status)")
        if facts.revoked_at is not None:
            reasons.append(f"was revoked at {utc_time(facts.revoked_at)} (reason: {facts.revocation_reason!r})")
        if reasons:
            out.add(Status.FAIL, Code.PARENT_FAILED, f"{cap(out.who(s))} {' and '.join(reasons)}", s,
                    recordId=facts.record_id, reason=facts.revocation_reason, revokedAt=facts.revoked_at)
    count = len(graph.ancestors)
    return out.done(
        f"{count} ancestor(s), all registered and verified" if count else "no parents: nothing is inherited",
        ancestors=[hex_of(s) for s in graph.ancestors],
    )

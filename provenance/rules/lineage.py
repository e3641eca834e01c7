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
  * An ancestor relied on from a publisher the policy does not trust is
    ``UNTRUSTED_PUBLISHER`` with the policy's status for it (CLAIMS.md, second
    edition). Facts without a publisher (built by hand) are not judged.
  * Limits are never passes (DESIGN.md): parents a limit left unwalked (the
    lineage's ``unchecked``) give one ``PARENT_UNKNOWN`` line, unverifiable,
    naming how many and which were not checked, never "not registered"; an
    ancestor whose Statement could not be obtained gives ``PARENT_UNKNOWN``
    with the policy's status, saying exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence

from provenance.policy import Policy
from provenance.rules._graph import Findings, Graph, cap, hex_of, short, utc_time
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["lineage_checks"]


def lineage_checks(
    graph: Graph, policy: Policy, *, unchecked: Sequence[bytes] = (), limit: int | None = None
) -> list[Check]:
    """``unchecked``: parents a limit (``limit`` artifacts) left unwalked; ``graph`` counts them unknown."""
    out = Findings(graph, CheckName.LINEAGE)
    status = policy.status_of(Code.PARENT_UNKNOWN)
    cut = set(unchecked)
    if cut:
        namers = sorted({c for s in cut for c in graph.unknown.get(s, [])}, key=graph.order.index)
        at = f"its limit of {limit} artifacts" if limit is not None else "its limit"
        shown = ", ".join(short(s) for s in list(unchecked)[:10]) + (", ..." if len(cut) > 10 else "")
        out.add(Status.UNVERIFIABLE, Code.PARENT_UNKNOWN,
                f"the lineage walk stopped at {at}: {len(cut)} parent(s) were not checked ({shown}), nor "
                f"their ancestors; named by {', '.join(out.who(c) for c in namers) or 'the lineage'}. "
                "Their license and privacy claims are not part of this verdict",
                unchecked=[hex_of(s) for s in unchecked], uncheckedCount=len(cut), limit=limit,
                namedBy=[hex_of(c) for c in namers])
    for cycle in graph.cycles:
        out.add(Status.FAIL, Code.PARENT_FAILED,
                "the lineage has a cycle (" + " -> ".join(short(s) for s in cycle) + "), which no honest "
                "records can form; its lineage claims cannot be trusted",
                cycle[0], cycle=[hex_of(s) for s in cycle])
    for subject in sorted(set(graph.unknown) - cut, key=lambda s: (len(graph.via[s]), s)):
        children = graph.unknown[subject]
        named_by = ", ".join(out.who(c) for c in children)
        out.add(status, Code.PARENT_UNKNOWN,
                f"parent {short(subject)} of {named_by} is not registered or could not be found; its "
                "license and privacy claims cannot be checked",
                subject, children=[hex_of(c) for c in children])
    for s in graph.ancestors:
        if graph.nodes[s].statement_missing:
            out.add(status, Code.PARENT_UNKNOWN,
                    f"the Statement of {out.who(s)} could not be obtained{graph.nodes[s].missing()}; its record "
                    "is on chain, but its license and privacy claims cannot be read or checked",
                    s, recordId=graph.nodes[s].record_id, statementMissing=True)
    for s in graph.ancestors:
        facts = graph.nodes[s]
        reasons = []
        if facts.own_verdict_failed:
            reasons.append("failed its own verification (integrity, authenticity or status)")
        if facts.revoked_at is not None:
            code = f" ({facts.revocation_code})" if facts.revocation_code else ""
            reasons.append(f"was revoked{code} at {utc_time(facts.revoked_at)} (reason: {facts.revocation_reason!r})")
        if reasons:
            out.add(Status.FAIL, Code.PARENT_FAILED, f"{cap(out.who(s))} {' and '.join(reasons)}", s,
                    recordId=facts.record_id, reason=facts.revocation_reason, reasonCode=facts.revocation_code,
                    revokedAt=facts.revoked_at)
    # CLAIMS.md, second edition: the trust policy applies to ancestors too
    listed = bool(policy.trusted_publishers)
    for s in graph.ancestors:
        facts = graph.nodes[s]
        if facts.publisher is None or policy.is_trusted_publisher(facts.publisher):
            continue
        out.add(policy.status_of(Code.UNTRUSTED_PUBLISHER), Code.UNTRUSTED_PUBLISHER,
                f"{out.who(s)} is relied on from record {short(facts.record_id) if facts.record_id else '(unknown)'} "
                f"by {facts.publisher}, "
                + ("who is not among the policy's trusted publishers" if listed
                   else "but the policy names no trusted publishers")
                + ": its license and privacy claims are that publisher's word",
                s, recordId=facts.record_id, publisher=facts.publisher)
    count = len(graph.ancestors)
    replaced = {hex_of(s): [hex_of(r) for r in graph.nodes[s].replaced] for s in graph.ancestors
                if graph.nodes[s].replaced}
    records = [hex_of(rid) for s in graph.ancestors if (rid := graph.nodes[s].record_id) is not None]
    corrected = f"; {len(replaced)} relied on through their publisher's correction" if replaced else ""
    return out.done(
        f"{count} ancestor(s), all registered and verified{corrected}" if count
        else "no parents: nothing is inherited",
        ancestors=[hex_of(s) for s in graph.ancestors], records=records or None, replaced=replaced or None,
    )

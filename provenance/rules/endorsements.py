"""Endorsements: who vouched for or disputed the record and its ancestors.

Decisions where CLAIMS.md is silent (docs/verdicts.md tells users):

  * A dispute of the verified record by a trusted auditor fails ``DISPUTED``;
    by anyone else it warns. A trusted auditor's dispute of an ancestor warns.
  * Self-endorsements (by the record's publisher) never count as an auditor's.
  * ``require.endorsements`` without an endorsement by a trusted auditor fails
    with ``UNTRUSTED_PUBLISHER``: CLAIMS.md has no dedicated code, and the
    policy's trust is what is missing.
"""

from __future__ import annotations

from provenance.policy import Policy
from provenance.rules._graph import Findings, Graph, same_address
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["endorsement_checks"]


def endorsement_checks(graph: Graph, policy: Policy) -> list[Check]:
    out = Findings(graph, CheckName.ENDORSEMENTS)
    root = graph.root
    trusted_disputes = [d for d in root.disputes if policy.is_trusted_auditor(d)]
    if trusted_disputes:
        out.add(Status.FAIL, Code.DISPUTED,
                f"the record is disputed by trusted auditor(s) {', '.join(trusted_disputes)}",
                recordId=root.record_id, disputers=list(root.disputes))
    elif root.disputes:
        out.add(Status.WARN, Code.DISPUTED,
                f"the record is disputed by {', '.join(root.disputes)} (not trusted auditors of the policy)",
                recordId=root.record_id, disputers=list(root.disputes))
    for s in graph.ancestors:
        facts = graph.nodes[s]
        disputers = [d for d in facts.disputes if policy.is_trusted_auditor(d)]
        if disputers:
            out.add(Status.WARN, Code.DISPUTED,
                    f"the record of {out.who(s)} is disputed by trusted auditor(s) {', '.join(disputers)}",
                    s, recordId=facts.record_id, disputers=disputers)
    endorsers = [e for e in root.endorsements if policy.is_trusted_auditor(e) and not same_address(e, root.publisher)]
    if policy.require.endorsements and not endorsers:
        out.add(Status.FAIL, Code.UNTRUSTED_PUBLISHER,
                f"the policy requires an endorsement by a trusted auditor; none of the record's "
                f"{len(root.endorsements)} endorsement(s) is by one",
                recordId=root.record_id, endorsers=list(root.endorsements),
                trustedAuditors=list(policy.trusted_auditors))
    required = "required" if policy.require.endorsements else "not required"
    return out.done(
        f"{len(root.endorsements)} endorsement(s), {len(endorsers)} by trusted auditors ({required} by the "
        "policy); no disputes",
        recordId=root.record_id, endorsers=list(root.endorsements),
    )

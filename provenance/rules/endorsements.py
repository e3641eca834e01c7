"""Endorsements: who vouched for or disputed the record and its ancestors.

Decisions where CLAIMS.md is silent (docs/verdicts.md tells users):

  * A dispute of the verified record by a party the policy trusts (a trusted
    auditor, or a trusted publisher: their word counts with full weight)
    fails ``DISPUTED``; a trusted party's dispute of an ancestor warns.
  * Anyone else's dispute is information (DESIGN.md, "Whose word counts"):
    an ``info`` line that weighs nothing, so a stranger cannot fail a
    ``--strict`` pipeline with one transaction. Strangers' disputes of
    ancestors are not listed.
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
    trusted_disputes = [d for d in root.disputes if _trusted(policy, d)]
    others = [d for d in root.disputes if not _trusted(policy, d)]
    if trusted_disputes:
        out.add(Status.FAIL, Code.DISPUTED,
                f"the record is disputed by {', '.join(trusted_disputes)}, whom the policy trusts",
                recordId=root.record_id, disputers=trusted_disputes)
    if others:
        out.add(Status.INFO, Code.DISPUTED,
                f"the record is disputed by {', '.join(others)}, whom the policy does not trust: shown for "
                "information, it weighs nothing in the verdict",
                recordId=root.record_id, disputers=others)
    for s in graph.ancestors:
        facts = graph.nodes[s]
        disputers = [d for d in facts.disputes if _trusted(policy, d)]
        if disputers:
            out.add(Status.WARN, Code.DISPUTED,
                    f"the record of {out.who(s)} is disputed by {', '.join(disputers)}, whom the policy trusts",
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
        "policy); no dispute by a party the policy trusts",
        recordId=root.record_id, endorsers=list(root.endorsements),
    )

def _trusted(policy: Policy, address: str) -> bool:
    """A party whose dispute counts: a trusted auditor or a trusted publisher."""
    return policy.is_trusted_auditor(address) or policy.is_trusted_publisher(address)

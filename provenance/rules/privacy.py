"""Privacy: personal data through the lineage, its lawful basis, differential privacy, erasure.

Decisions where CLAIMS.md is silent (docs/verdicts.md tells users):

  * Personal data is inherited through every artifact that claims neither
    ``anonymisation`` nor valid differential privacy (pseudonymisation and
    aggregation do not break the chain; DP with undisclosed parameters breaks
    it only when a trusted auditor endorsed that record).
  * ``PRIVACY_UNVERIFIED`` also names ancestors whose personal data is unknown
    or undisclosed (and not endorsed by a trusted auditor) and reaches the
    artifact, and artifacts with personal data whose ``lawful_basis``,
    ``special_categories`` or ``special_category_condition`` are undisclosed.
    ``NO_LAWFUL_BASIS``/``NO_SPECIAL_CATEGORY_CONDITION`` need the field
    disclosed as null; they apply to every artifact of the lineage that
    claims personal data, and to the verified artifact when it does not say
    but inherits personal data.
  * The DP budget sums epsilon (and delta) over every artifact of the lineage
    with valid DP parameters, the verified one included (basic composition:
    a person may be in every dataset).
  * Erasure is a reason code, not a word in free text: an ancestor record
    its publisher revoked or superseded with reason code ``erasure``
    (:class:`~provenance.rules._facts.Erasure`, set by the verifier from the
    registry's events) affects every descendant, also when the superseding
    record replaced it in the lineage. ``ERASURE_AFFECTED`` fires whatever
    the order of registration and erasure (erasure before registration is
    worse, not better), until the verified artifact's record has a successor
    registered at or after the erasure.
  * Public URIs: schemes http, https, ipfs, ipns and ar.
  * Anonymisation or DP breaks only the artifact's data edges: the subjects
    its ``lineage.trained_on`` lists, and parents it does not classify that
    are datasets. Its ``base_models`` (and unclassified parents that are not
    datasets) keep passing personal data through: a quantization, merge or
    fine-tune does not anonymise the weights it starts from.
  * Special categories travel with the personal data that carries them; every
    holder (an artifact that claims personal data, or the verified artifact
    that inherits it without saying) needs its own Art. 9(2) condition for its
    own and inherited categories. A ``research`` condition of such a holder
    whose data reaches the verified artifact warns under ``use: commercial``
    (``NO_SPECIAL_CATEGORY_CONDITION``: research does not cover commercial use).
  * ``personal_data: absent`` with special categories is a contradiction:
    ``PERSONAL_DATA_CONFLICT`` (warn), on any artifact of the lineage.
  * Rule 6 for descendants: every ancestor with ``confidentiality`` red or amber
    warns when the verified artifact's record points to a public uri.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provenance.policy import Policy
from provenance.record import Kind
from provenance.rules._facts import MISSING, ArtifactFacts, subjects_named
from provenance.rules._graph import Findings, Graph, cap, hex_of, same_address, short, utc_time
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["privacy_checks", "is_public_uri", "PUBLIC_URI_SCHEMES"]

#: URI schemes whose content anyone can fetch.
PUBLIC_URI_SCHEMES = frozenset({"http", "https", "ipfs", "ipns", "ar"})
_SUBJECT_HEX = re.compile(r"0x[0-9a-fA-F]{64}")
def is_public_uri(uri: str | None) -> bool:
    """True for http(s), ipfs, ipns and ar URIs."""
    if not uri:
        return False
    return urlsplit(uri.strip()).scheme.lower() in PUBLIC_URI_SCHEMES


def _endorsed_by_auditor(facts: ArtifactFacts, policy: Policy) -> bool:
    """A trusted auditor other than the publisher endorsed this record."""
    return any(policy.is_trusted_auditor(e) and not same_address(e, facts.publisher) for e in facts.endorsements)


@dataclass(frozen=True)
class _Privacy:
    personal_data: str  # absent | present | unknown | undisclosed
    endorsed: bool
    dp_claimed: bool
    dp: Mapping[str, Any] | None  # valid parameters
    dp_problems: tuple[str, ...]
    dp_hidden: bool  # DP claimed, parameters undisclosed
    breaks: bool  # personal data of its ancestors does not flow through it


def _privacy_of(facts: ArtifactFacts, policy: Policy) -> _Privacy:
    value = facts.claim("privacy.personal_data", MISSING)
    if value is MISSING:
        personal = "undisclosed"
    elif value in ("absent", "present", "unknown"):
        personal = value
    else:
        personal = "unknown"  # anything else says nothing
    endorsed = _endorsed_by_auditor(facts, policy)
    anonymization = facts.claim("privacy.anonymization", ())
    anonymization = anonymization if isinstance(anonymization, (list, tuple)) else ()
    params = facts.claim("privacy.differential_privacy", MISSING)
    listed = "differential_privacy" in anonymization
    dp_claimed = listed or (params is not MISSING and params is not None)
    dp: Mapping[str, Any] | None = None
    problems: tuple[str, ...] = ()
    hidden = False
    if dp_claimed:
        if params is MISSING:
            hidden = True
        else:
            # the claims loader (its pydantic models) only for a record that states DP parameters: a
            # verification needs nothing else of it (provenance.vocabulary)
            from provenance.claims import differential_privacy_problems

            problems = differential_privacy_problems(params)
            if not problems:
                dp = params
    breaks = "anonymisation" in anonymization or dp is not None or (hidden and endorsed)
    return _Privacy(personal, endorsed, dp_claimed, dp, problems, hidden, breaks)


def _data_edges(facts: ArtifactFacts, graph: Graph) -> frozenset[bytes]:
    """The parents whose data this artifact processed: what its anonymisation or DP can break."""
    trained = subjects_named(facts.claim("lineage.trained_on", ()))
    bases = subjects_named(facts.claim("lineage.base_models", ()))
    edges = set(trained - bases)
    for parent in graph.parents.get(facts.subject, ()):
        node = graph.nodes.get(parent)
        if parent not in trained and parent not in bases and node is not None and node.kind is Kind.DATASET:
            edges.add(parent)
    return frozenset(edges)


def _categories(facts: ArtifactFacts) -> tuple[str, ...]:
    value = facts.claim("privacy.special_categories", ())
    return tuple(map(str, value)) if isinstance(value, (list, tuple)) else ()


def _unverified(item: _Privacy) -> bool:
    return item.personal_data == "unknown" or (item.personal_data == "undisclosed" and not item.endorsed)


def privacy_checks(graph: Graph, policy: Policy) -> list[Check]:
    out = Findings(graph, CheckName.PRIVACY)
    root = graph.root
    members = [root.subject, *graph.ancestors]
    info = {s: _privacy_of(graph.nodes[s], policy) for s in members}
    unverified = policy.status_of(Code.PRIVACY_UNVERIFIED)

    # what reaches each artifact: personal data present, or not known
    # and the special categories that personal data carries: category -> the artifacts that declare it
    present: dict[bytes, set[bytes]] = {}
    unknown: dict[bytes, set[bytes]] = {}
    special: dict[bytes, dict[str, set[bytes]]] = {}
    for s in graph.postorder:
        present[s], unknown[s], special[s] = set(), set(), {}
        broken = _data_edges(graph.nodes[s], graph) if info[s].breaks else frozenset()
        for p in graph.parents[s]:
            if p not in graph.nodes or p in broken:
                continue
            present[s] |= present[p]
            unknown[s] |= unknown[p]
            for category, declared in special[p].items():
                special[s].setdefault(category, set()).update(declared)
            if info[p].personal_data == "present":
                present[s].add(p)
                for category in _categories(graph.nodes[p]):
                    special[s].setdefault(category, set()).add(p)
            elif _unverified(info[p]):
                unknown[s].add(p)

    def ordered(subjects: Iterable[bytes]) -> list[bytes]:
        return sorted(subjects, key=graph.order.index)

    mine = info[root.subject]

    # rule 1
    if mine.personal_data == "unknown":
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"{out.who(root.subject)} claims privacy.personal_data: unknown", field="privacy.personal_data")
    elif mine.personal_data == "undisclosed" and not mine.endorsed and root.statement_missing:
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"The Statement of {out.who(root.subject)} could not be obtained{root.missing()}, so its "
                "privacy.personal_data cannot be read", field="privacy.personal_data")
    elif mine.personal_data == "undisclosed" and not mine.endorsed:
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"The privacy.personal_data of {out.who(root.subject)} is not disclosed and no trusted auditor "
                "endorsed the record", field="privacy.personal_data")
    for s in ordered(unknown[root.subject]):
        state = info[s].personal_data
        if graph.nodes[s].statement_missing:  # nothing could be read: said so, not "not disclosed"
            said = (f"The Statement of {out.who(s)} could not be obtained{graph.nodes[s].missing()}, so its "
                    "privacy.personal_data cannot be read")
        else:
            if state == "undisclosed":
                state = "not disclosed (and not endorsed by a trusted auditor)"
            said = f"The privacy.personal_data of {out.who(s)} is {state}"
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"{said}, and it reaches this artifact without anonymisation or differential privacy", s,
                field="privacy.personal_data")
    # rule 2
    if mine.personal_data == "absent":
        for s in ordered(present[root.subject]):
            out.add(Status.FAIL, Code.PERSONAL_DATA_CONFLICT,
                    f"this {root.kind.name.lower()} claims privacy.personal_data: absent, but {out.who(s)} "
                    "has personal data present and no anonymisation or differential privacy is claimed on the way",
                    s, field="privacy.personal_data")
    for s in members:
        if info[s].personal_data == "absent" and (contradiction := _categories(graph.nodes[s])):
            out.add(Status.WARN, Code.PERSONAL_DATA_CONFLICT,
                    f"{out.who(s)} claims privacy.personal_data: absent but lists special categories of "
                    f"personal data ({', '.join(contradiction)}): the record contradicts itself",
                    s, field="privacy.special_categories", value=list(contradiction))
    # rule 3
    reaching = present[root.subject] | {root.subject}
    holders = [s for s in members if info[s].personal_data == "present"]
    if root.subject not in holders and mine.personal_data in ("unknown", "undisclosed") and present[root.subject]:
        holders.insert(0, root.subject)  # it does not say, but inherits personal data
    for s in holders:
        facts = graph.nodes[s]
        endorsed = info[s].endorsed
        hidden = []
        basis = facts.claim("privacy.lawful_basis", MISSING)
        if basis is MISSING:
            hidden.append("privacy.lawful_basis")
        elif not basis:
            has = "has personal data"
            if s == root.subject and mine.personal_data != "present":
                sources = ", ".join(short(p) for p in ordered(present[root.subject]))
                has = f"does not say whether it has personal data but inherits it from {sources}"
            out.add(Status.FAIL, Code.NO_LAWFUL_BASIS,
                    f"{cap(out.who(s))} {has} and gives no privacy.lawful_basis (GDPR Art. 6(1))",
                    s, field="privacy.lawful_basis")
        categories = facts.claim("privacy.special_categories", MISSING)
        if categories is MISSING:
            hidden.append("privacy.special_categories")
            own: list[str] = []
        elif isinstance(categories, (list, tuple)):
            own = [str(c) for c in categories]
        else:
            own = [str(categories)] if categories else []
        inherited = {c: ordered(found) for c, found in special[s].items() if c not in own}
        if own or inherited:
            every = [*own, *sorted(inherited)]
            shown = ", ".join(own)
            if inherited:
                shown += ("; " if own else "") + "inherited: " + ", ".join(
                    f"{c} from {', '.join(short(p) for p in found)}" for c, found in sorted(inherited.items()))
            condition = facts.claim("privacy.special_category_condition", MISSING)
            if condition is MISSING:
                hidden.append("privacy.special_category_condition")
            elif not condition:
                out.add(Status.FAIL, Code.NO_SPECIAL_CATEGORY_CONDITION,
                        f"{cap(out.who(s))} has special categories of personal data ({shown}) but no "
                        "privacy.special_category_condition of its own (GDPR Art. 9(2), Art. 10)",
                        s, field="privacy.special_category_condition", value=every,
                        inheritedFrom={c: [hex_of(p) for p in src] for c, src in inherited.items()} or None)
            elif condition == "research" and policy.use == "commercial" and s in reaching:
                out.add(Status.WARN, Code.NO_SPECIAL_CATEGORY_CONDITION,
                        f"{cap(out.who(s))} processes special categories of personal data ({shown}) under the "
                        "research condition (GDPR Art. 9(2)(j)), which does not cover commercial use",
                        s, field="privacy.special_category_condition", value=every, condition=condition,
                        intendedUse=policy.use)
        if hidden and not endorsed:
            out.add(unverified, Code.PRIVACY_UNVERIFIED,
                    f"{cap(out.who(s))} has personal data, but {', '.join(hidden)} "
                    f"{'is' if len(hidden) == 1 else 'are'} not disclosed and no trusted auditor endorsed the record",
                    s, field=hidden[0], fields=hidden)
    # rule 4
    for s in members:
        item = info[s]
        if item.dp_problems:
            out.add(Status.FAIL, Code.DP_INVALID,
                    f"{cap(out.who(s))} claims differential privacy with invalid parameters: "
                    + "; ".join(item.dp_problems), s, field="privacy.differential_privacy")
        elif item.dp_hidden:
            out.add(unverified, Code.PRIVACY_UNVERIFIED,
                    f"{cap(out.who(s))} claims differential privacy, but "
                    "privacy.differential_privacy is not disclosed, so the budget cannot be checked",
                    s, field="privacy.differential_privacy")
    spent = [(s, dp) for s in members if (dp := info[s].dp) is not None]
    if spent:
        epsilon = sum(float(dp["epsilon"]) for _, dp in spent)
        delta = sum(float(dp["delta"]) for _, dp in spent)
        parts = {hex_of(s): {"epsilon": dp["epsilon"], "delta": dp["delta"], "unit": dp["unit"]} for s, dp in spent}
        names = ", ".join(f"{short(s)} epsilon {dp['epsilon']}" for s, dp in spent)
        budget = policy.differential_privacy
        if epsilon > budget.epsilon_max:
            out.add(Status.FAIL, Code.DP_BUDGET_EXCEEDED,
                    f"differential privacy epsilon summed over the lineage is {epsilon:g} ({names}), above "
                    f"the policy's epsilon_max {budget.epsilon_max:g}",
                    field="privacy.differential_privacy", epsilon=epsilon, epsilonMax=budget.epsilon_max,
                    contributions=parts)
        if budget.delta_max is not None and delta > budget.delta_max:
            out.add(Status.FAIL, Code.DP_BUDGET_EXCEEDED,
                    f"differential privacy delta summed over the lineage is {delta:g}, above the policy's "
                    f"delta_max {budget.delta_max:g}",
                    field="privacy.differential_privacy", delta=delta, deltaMax=budget.delta_max,
                    contributions=parts)
    # rule 5
    for s in graph.ancestors:
        erasure = graph.nodes[s].erasure
        if erasure is None:
            continue
        erased_at = erasure.at if erasure.at is not None else 0  # an unknown time cannot excuse anyone
        if root.successor is not None and root.successor_registered_at is not None \
                and erasure.at is not None and root.successor_registered_at >= erasure.at:
            continue
        when = ""
        if root.registered_at is not None and erasure.at is not None:
            when = " after" if erased_at >= root.registered_at else " before"
            when += f" this artifact was registered ({utc_time(root.registered_at)})"
        out.add(Status.FAIL, Code.ERASURE_AFFECTED,
                f"{cap(out.who(s))} was {erasure.action} for erasure at {utc_time(erasure.at)}{when}"
                + (f" (reason: {erasure.reason!r})" if erasure.reason else "")
                + "; this artifact may still hold the erased data until a successor record is registered",
                s, reason=erasure.reason, reasonCode="erasure", erasure=erasure.action, revokedAt=erasure.at,
                registeredAt=root.registered_at)
    # rule 6
    confidentiality = root.claim("privacy.confidentiality")
    if confidentiality in ("red", "amber") and is_public_uri(root.uri):
        out.add(Status.WARN, Code.CONFIDENTIALITY_CONFLICT,
                f"this {root.kind.name.lower()} claims privacy.confidentiality: {confidentiality}, but its "
                f"record points to a public uri ({root.uri})",
                field="privacy.confidentiality", value=confidentiality, uri=root.uri)
    if is_public_uri(root.uri):
        for s in graph.ancestors:
            level = graph.nodes[s].claim("privacy.confidentiality")
            if level in ("red", "amber"):
                out.add(Status.WARN, Code.CONFIDENTIALITY_CONFLICT,
                        f"{out.who(s)} claims privacy.confidentiality: {level}, and this "
                        f"{root.kind.name.lower()} derived from it points to a public uri ({root.uri})",
                        s, field="privacy.confidentiality", value=level, uri=root.uri)

    return out.done(
        f"The privacy.personal_data of this {root.kind.name.lower()} is {mine.personal_data}"
        + (" (endorsed by a trusted auditor)" if mine.endorsed else "")
        + f"; {len(members) - 1} ancestor(s) checked, no conflict",
        field="privacy.personal_data",
    )

"""Copyright: the licenses of the artifact and of its ancestors, and their training and mining reservations.

Decisions where CLAIMS.md is silent (docs/verdicts.md tells users):

  * An undisclosed, null, empty or invalid license counts like a missing one
    (rule 1); so do the ``unknown`` id and ``LicenseRef-``/``other`` without
    ``copyright.license_url``. Every artifact of the lineage is checked, not
    only the one verified.
  * ``copyright.commercial_use: false`` makes an artifact non-commercial even
    under a commercial license (the publisher's word is the stricter one).
  * Intended uses other than commercial (policy.py): ``non-commercial`` is not
    permitted by academic-only terms; ``research`` is permitted by every class.
  * Terms the table cannot classify (``LicenseRef-``/``other`` whose
    ``copyright.license_url`` the table does not know, Hugging Face ``cc``)
    warn ``LICENSE_UNSPECIFIED`` too, whatever the intended use: the verifier
    cannot say the use is allowed, so it does not pass. A URL the table knows
    (a research-only data agreement, a model license) classifies the license,
    so e.g. ImageNet's terms give ``USE_NOT_PERMITTED`` for commercial use.
  * Unknown parts of an ``AND`` warn, and the classified parts keep their
    terms: ``unknown AND CC-BY-NC-SA-4.0`` is non-commercial (and share-alike)
    besides the warning. Of an ``OR``, the option that breaks fewest of these
    rules for the policy's intended use and the artifact's own license is
    taken (an option with unknown terms only when no option is classified),
    so the verdict passes when some option satisfies every rule.
  * An ancestor's license applies in full along a path without a training
    step; an ancestor reached only through a model trained on it (or on data
    derived from it) contributes only the terms that reach a trained model
    (licenses.json ``trained_model``): C-UDA, O-UDA and CDLA leave trained
    models (their "Results") free; Creative Commons terms all reach. A model
    trains on a parent that is not a model, and any artifact on what its
    ``lineage.trained_on`` names.
  * ``NO_DERIVATIVES`` applies to any artifact derived from a no-derivatives
    ancestor, not only to models.
  * ``RESTRICTIONS_DROPPED``: every restriction label of an ancestor's license
    (licenses.json) must be among those of the artifact's license.
  * Rule 7 looks at each model that trained on a non-model ancestor, directly
    or through datasets derived from it. ``ai_training`` or
    ``ai_generative_training`` ``notAllowed``/``constrained`` or
    ``tdm_reservation: true`` give ``TRAINING_NOT_ALLOWED``; a model's
    publisher cannot know whether a reviewer will call its model generative,
    so the generative entry counts too. ``data_mining: notAllowed|constrained``
    gives ``OPT_OUT_VIOLATION`` (fail) when a dataset or other artifact is
    derived from that ancestor, or a model trains on it while ``ai_training``
    is not explicitly ``allowed``; ``tdm_reservation`` also makes derived
    datasets ``OPT_OUT_VIOLATION``. Either is excused when the ancestor's
    publisher is the deriving publisher, or endorsed the deriving artifact's
    record or the verified one's. An unknown publisher is never "the same".
  * A model trained on another publisher's non-model ancestor whose
    ``ai_training``, ``ai_generative_training`` or ``tdm_reservation`` is
    undisclosed warns ``LICENSE_UNSPECIFIED`` (fails under
    ``require.license``), excused like rule 7: a hidden value may be a
    reservation, so it never passes silently.
  * A disclosed value that is not valid vocabulary (``tdm_reservation:
    "true"``, ``ai_training: not_allowed``) counts as undisclosed and warns
    ``LICENSE_UNSPECIFIED`` saying so (:mod:`provenance.rules.vocabulary`).
    An artifact whose Statement could not be obtained is said to be that,
    not "not disclosed".
  * Attribution accumulates: every ancestor whose license terms (as they
    reach the artifact) require attribution is listed in the evidence of every
    copyright line, ``attribution: [{subject, license, holders, text}]``
    (``copyright.holders`` and ``copyright.attribution`` where disclosed,
    else null), so a user knows what to credit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from provenance.errors import ClaimsError
from provenance.licenses import LicenseTerms, UseClass, carries_share_alike, license_terms, most_restrictive
from provenance.policy import Policy
from provenance.record import Kind
from provenance.rules._facts import MISSING, ArtifactFacts, subjects_named
from provenance.rules._graph import Findings, Graph, cap, hex_of, same_address
from provenance.rules.vocabulary import add_vocabulary_findings
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["copyright_checks"]

_RESERVED = ("notAllowed", "constrained")


@dataclass(frozen=True)
class _License:
    expression: str | None
    url: str | None  # copyright.license_url
    terms: LicenseTerms | None
    problem: str | None  # why (part of) the license counts as unspecified (rule 1)
    use: UseClass  # with commercial_use: false folded in
    field: str  # the field that set ``use``


_FAIL, _WARN = 1_000_000, 1  # what a broken rule costs when an OR option is chosen (fails first)
_RESTRICTIVE = (UseClass.NON_COMMERCIAL, UseClass.ACADEMIC_ONLY)


def _license(
    facts: ArtifactFacts, *, trained_model: bool = False, penalty: Callable[[LicenseTerms], int] | None = None
) -> _License:
    value = facts.claim("copyright.license", MISSING)
    url = facts.claim("copyright.license_url")
    url = url if isinstance(url, str) and url else None
    terms, problem = None, None
    if value is MISSING:
        problem = "is not disclosed"
    elif value is None or value == "":
        problem = "is missing"
    elif not isinstance(value, str):
        problem = f"is not a license expression ({value!r})"
    else:
        try:
            terms = license_terms(value, url, trained_model=trained_model, penalty=penalty)
        except ClaimsError as err:
            problem = f"is not a valid license expression ({err})"
    expression = value if isinstance(value, str) and value else None
    if terms is not None:
        whole = terms.licenses == terms.unspecified
        custom = [k for k in terms.unspecified if k.split(":")[-1].startswith("LicenseRef-") or k == "other"]
        if "unknown" in terms.unspecified:
            problem = "is unknown" if whole else f"is partly unknown ({_parts(terms)})"
        elif custom and not url:
            problem = f"names {', '.join(custom)} without copyright.license_url"
    # unknown parts count as unspecified; classified parts keep their class (the most restrictive wins)
    use = terms.use_class if terms else UseClass.UNSPECIFIED
    field_name = "copyright.license"
    if facts.claim("copyright.commercial_use") is False and use.rank < UseClass.NON_COMMERCIAL.rank:
        use, field_name = UseClass.NON_COMMERCIAL, "copyright.commercial_use"
    return _License(expression, url, terms, problem, use, field_name)


def _parts(terms: LicenseTerms) -> str:
    """What is known beside the unknown parts of an expression, for a message."""
    known = [k for k in terms.licenses if k not in terms.unspecified]
    return f"{', '.join(terms.unspecified)} unknown; {', '.join(known)} {terms.use_class.value}"


def _trains_on(child: ArtifactFacts, parent: ArtifactFacts) -> bool:
    """Whether ``child`` was trained on ``parent``: its lineage.trained_on names it, or a model over non-model data."""
    named = subjects_named(child.claim("lineage.trained_on", ()))
    return parent.subject in named or (child.kind is Kind.MODEL and parent.kind is not Kind.MODEL)


def _reached_untrained(graph: Graph) -> set[bytes]:
    """Ancestors whose terms reach the root along a path with no training step.

    The others reach it only through a model trained on them (or on data
    derived from them): of their licenses, only the terms that reach a trained
    model apply (licenses.json ``trained_model``; C-UDA and CDLA leave
    trained models, their "Results", free).
    """
    root = graph.root.subject
    seen, stack = {root}, [root]
    while stack:
        child = stack.pop()
        for parent in graph.parents[child]:
            if parent in seen or parent not in graph.nodes:
                continue
            if _trains_on(graph.nodes[child], graph.nodes[parent]):
                continue
            seen.add(parent)
            stack.append(parent)
    return seen - {root}


def _penalty(policy: Policy, root: ArtifactFacts, mine: _License | None) -> Callable[[LicenseTerms], int]:
    """What one license of an OR option would break: rules 2 and 3, and for an ancestor (``mine`` given) 4 to 6."""
    claims_commercial = root.claim("copyright.commercial_use") is True
    own_restrictions = set(mine.terms.restrictions) if mine and mine.terms else set()

    def penalty(terms: LicenseTerms) -> int:
        cost = 0
        if terms.use_class not in policy.permitted_use_classes:
            cost += _FAIL
        if claims_commercial and terms.use_class in _RESTRICTIVE:
            cost += _FAIL
        if mine is None:
            return cost
        if terms.no_derivatives or set(terms.restrictions) - own_restrictions:
            cost += _FAIL
        if terms.share_alike and not _carries(terms, mine):
            cost += _WARN
        return cost

    return penalty


def _carries(terms: LicenseTerms, mine: _License) -> bool:
    """Whether the artifact's own license honours the share-alike licenses in ``terms``."""
    if mine.terms is None or not mine.expression:
        return False
    try:
        return carries_share_alike(terms, mine.expression, mine.url)
    except ClaimsError:
        return False


def _shown(lic: _License) -> str:
    return lic.expression or "no license"


def copyright_checks(graph: Graph, policy: Policy) -> list[Check]:
    out = Findings(graph, CheckName.COPYRIGHT)
    root = graph.root
    members = [root.subject, *graph.ancestors]
    # the artifact's own license first: an ancestor's OR option is chosen against it (rules 5, 6)
    mine = _license(root, penalty=_penalty(policy, root, None))
    lic = {root.subject: mine}
    untrained = _reached_untrained(graph)
    ancestor_penalty = _penalty(policy, root, mine)
    for s in graph.ancestors:
        lic[s] = _license(graph.nodes[s], trained_model=s not in untrained, penalty=ancestor_penalty)
    unspecified_status = policy.status_of(Code.LICENSE_UNSPECIFIED)

    # rule 1, and unclassifiable terms under a commercial use
    for s in members:
        item = lic[s]
        if item.problem and graph.nodes[s].statement_missing and item.expression is None:
            out.add(
                unspecified_status,
                Code.LICENSE_UNSPECIFIED,
                f"The Statement of {out.who(s)} could not be obtained{graph.nodes[s].missing()}, so its "
                "copyright.license cannot be "
                "read; its terms are unknown, so treat it as restrictive",
                s,
                field="copyright.license",
                statementMissing=True,
            )
        elif item.problem:
            out.add(
                unspecified_status,
                Code.LICENSE_UNSPECIFIED,
                f"The copyright.license of {out.who(s)} {item.problem}; its terms are unknown, "
                "so treat it as restrictive",
                s,
                field="copyright.license",
                license=item.expression,
            )
        elif item.terms and item.terms.unspecified:
            unclassified = (
                "whose terms"
                if item.terms.licenses == item.terms.unspecified
                else f"part of whose terms ({', '.join(item.terms.unspecified)})"
            )
            out.add(
                unspecified_status,
                Code.LICENSE_UNSPECIFIED,
                f"The copyright.license of {out.who(s)} is {item.expression}, {unclassified} this verifier "
                f"cannot classify; read them before {policy.use} use",
                s,
                field="copyright.license",
                license=item.expression,
                licenseUrl=graph.nodes[s].claim("copyright.license_url"),
            )
    # rule 2
    for s in members:
        item = lic[s]
        if item.use not in policy.permitted_use_classes:
            out.add(
                Status.FAIL,
                Code.USE_NOT_PERMITTED,
                f"{cap(out.who(s))} is {item.use.value} ({item.field}: "
                f"{_shown(item) if item.field == 'copyright.license' else 'false'}); "
                f"{policy.use} use is not permitted",
                s,
                field=item.field,
                license=item.expression,
                useClass=item.use.value,
                intendedUse=policy.use,
            )
    # rule 3
    if root.claim("copyright.commercial_use") is True:
        restrictive = _RESTRICTIVE
        if mine.terms and mine.terms.use_class in restrictive:
            out.add(
                Status.FAIL,
                Code.LICENSE_CONFLICT,
                f"this {root.kind.name.lower()} claims copyright.commercial_use: true under its own "
                f"{mine.terms.use_class.value} license {mine.expression}",
                field="copyright.commercial_use",
                license=mine.expression,
                useClass=mine.terms.use_class.value,
            )
        for s in graph.ancestors:
            item = lic[s]
            if item.use in restrictive:
                out.add(
                    Status.FAIL,
                    Code.LICENSE_CONFLICT,
                    f"this {root.kind.name.lower()} claims copyright.commercial_use: true, but "
                    f"{out.who(s)} is {item.use.value} ({item.field}: "
                    f"{_shown(item) if item.field == 'copyright.license' else 'false'})",
                    s,
                    field="copyright.commercial_use",
                    ancestorField=item.field,
                    license=item.expression,
                    useClass=item.use.value,
                )
    # rules 4, 5 and 6
    own_restrictions = set(mine.terms.restrictions) if mine.terms else set()  # known parts carry theirs
    for s in graph.ancestors:
        item = lic[s]
        if item.terms is None or item.expression is None:  # terms come with their expression
            continue
        if item.terms.no_derivatives:
            out.add(
                Status.FAIL,
                Code.NO_DERIVATIVES,
                f"{cap(out.who(s))} is licensed {item.expression}, which allows no derivatives; "
                f"this {root.kind.name.lower()} derives from it",
                s,
                field="copyright.license",
                license=item.expression,
            )
        if item.terms.is_share_alike and not _carries(item.terms, mine):
            out.add(
                Status.WARN,
                Code.SHARE_ALIKE,
                f"{cap(out.who(s))} is share-alike ({item.expression}); this artifact's "
                f"copyright.license ({_shown(mine)}) is not the same or a compatible one",
                s,
                field="copyright.license",
                license=mine.expression,
                ancestorLicense=item.expression,
                shareAlike=list(item.terms.share_alike),
            )
        dropped = sorted(set(item.terms.restrictions) - own_restrictions)
        if dropped:
            out.add(
                Status.FAIL,
                Code.RESTRICTIONS_DROPPED,
                f"{cap(out.who(s))} is licensed {item.expression} with use restrictions "
                f"({', '.join(dropped)}) that this artifact's copyright.license ({_shown(mine)}) "
                "does not carry on",
                s,
                field="copyright.license",
                license=mine.expression,
                ancestorLicense=item.expression,
                restrictions=dropped,
            )
    # rule 7 and opt-outs
    _opt_outs(graph, out, unspecified_status)
    add_vocabulary_findings(out, graph, policy, "copyright")

    worst = most_restrictive(lic[s].use for s in members)
    credits = _attribution(graph, lic)
    checks = out.done(
        f"license {_shown(mine)}; {len(members) - 1} ancestor license(s) checked; the most restrictive "
        f"use class is {worst.value}, which permits {policy.use} use",
        license=mine.expression,
        useClass=worst.value,
        intendedUse=policy.use,
    )
    if not credits:
        return checks
    return [replace(c, evidence={**c.evidence, "attribution": credits}) for c in checks]


def _attribution(graph: Graph, lic: dict[bytes, _License]) -> list[dict[str, Any]]:
    """What the artifact must credit: each ancestor whose license (as it reaches it) requires attribution."""
    credits = []
    for s in graph.ancestors:
        item, facts = lic[s], graph.nodes[s]
        if item.terms is None or not item.terms.attribution:
            continue
        holders = facts.claim("copyright.holders")
        text = facts.claim("copyright.attribution")
        holders_ok = isinstance(holders, (list, tuple)) and all(isinstance(h, str) and h for h in holders)
        credits.append({
            "subject": hex_of(s),
            "license": item.expression,
            "holders": list(holders) if holders_ok else None,
            "text": text if isinstance(text, str) and text else None,
        })
    return credits


def _reservations(facts: ArtifactFacts) -> dict[str, Any]:
    """The opt-out fields of a non-model artifact that reserve something: field -> value."""
    found = {}
    for name in ("ai_training", "ai_generative_training", "data_mining"):
        value = facts.claim(f"copyright.training_mining.{name}")
        if value in _RESERVED:
            found[f"copyright.training_mining.{name}"] = value
    if facts.claim("copyright.tdm_reservation") is True:
        found["copyright.tdm_reservation"] = True
    return found


def _opt_outs(graph: Graph, out: Findings, unspecified_status: Status) -> None:
    root = graph.root
    nodes = graph.nodes
    for consumer in [root.subject, *graph.ancestors]:
        user = nodes[consumer]
        if user.kind is Kind.MODEL:
            # datasets it trained on: directly, or through datasets derived from them
            sources, stack = [], [p for p in graph.parents[consumer] if p in nodes]
            while stack:
                s = stack.pop()
                if s in sources or nodes[s].kind is Kind.MODEL:
                    continue
                sources.append(s)
                stack.extend(p for p in graph.parents[s] if p in nodes)
        else:
            sources = [p for p in graph.parents[consumer] if p in nodes and nodes[p].kind is not Kind.MODEL]
        for source in sorted(sources, key=graph.order.index):
            data = nodes[source]
            # a training opt-out binds whatever was trained on the data, whichever kind its record declares
            # (an adapter registered as `other` that names the dataset in lineage.trained_on)
            trained = user.kind is Kind.MODEL or _trains_on(user, data)
            reserved = _reservations(data)
            if not reserved:
                if trained:
                    _undisclosed_training_terms(graph, out, unspecified_status, consumer, source)
                continue
            if trained:
                training = {k: v for k, v in reserved.items() if k != "copyright.training_mining.data_mining"}
                explicitly_allowed = data.claim("copyright.training_mining.ai_training") == "allowed"
                if training:
                    code, fields = Code.TRAINING_NOT_ALLOWED, training
                elif not explicitly_allowed:
                    code, fields = Code.OPT_OUT_VIOLATION, reserved
                else:
                    continue
                verb = "was trained on it"
            else:
                fields = {k: v for k, v in reserved.items() if k in (
                    "copyright.training_mining.data_mining", "copyright.tdm_reservation")}
                if not fields:
                    continue
                code, verb = Code.OPT_OUT_VIOLATION, "derives from it"
            if same_address(user.publisher, data.publisher):
                continue
            endorsers = {e.lower() for e in (*user.endorsements, *root.endorsements)}
            if data.publisher is not None and data.publisher.lower() in endorsers:
                continue
            shown = ", ".join(f"{k}: {'true' if v is True else v}" for k, v in fields.items())
            deriving = out.who(consumer)
            out.add(
                Status.FAIL,
                code,
                f"{cap(out.who(source))} reserves its use ({shown}); {deriving} {verb} "
                f"under publisher {user.publisher or 'unknown'}, not its publisher "
                f"{data.publisher or 'unknown'}, who has not endorsed it",
                source,
                field=next(iter(fields)),
                reservations=dict(fields),
                derived=hex_of(consumer),
                publisher=user.publisher,
                sourcePublisher=data.publisher,
                optOutEvidence=list(data.claim("copyright.opt_out_evidence", []) or []) or None,
            )


_TRAINING_TERMS = (
    "copyright.training_mining.ai_training",
    "copyright.training_mining.ai_generative_training",
    "copyright.tdm_reservation",
)


def _undisclosed_training_terms(
    graph: Graph, out: Findings, status: Status, consumer: bytes, source: bytes
) -> None:
    """A model trained on another publisher's data whose training terms are hidden: cannot be cleared.

    Rule 7 needs the dataset's ``training_mining`` and ``tdm_reservation`` to
    say whether training is allowed; a committed but undisclosed value could be
    ``notAllowed``, so the verifier warns (like an undisclosed license) rather
    than passing. Excused as rule 7 is: same publisher, or its endorsement.
    """
    user, data, root = graph.nodes[consumer], graph.nodes[source], graph.root
    hidden = [name for name in _TRAINING_TERMS if not data.discloses(name)]
    if not hidden or same_address(user.publisher, data.publisher):
        return
    endorsers = {e.lower() for e in (*user.endorsements, *root.endorsements)}
    if data.publisher is not None and data.publisher.lower() in endorsers:
        return
    invalid = [name for name in hidden if name in data.invalid_claims]
    undisclosed = [name for name in hidden if name not in data.invalid_claims]
    if data.statement_missing:
        said = (f"The Statement of {out.who(source)} could not be obtained{data.missing()}, so "
                f"{', '.join(hidden)} cannot be read")
    else:
        parts = [f"{out.who(source)} does not disclose {', '.join(undisclosed)}"] if undisclosed else []
        if invalid:
            parts.append(("" if undisclosed else f"{out.who(source)} ") + "discloses "
                         f"{', '.join(invalid)} with a value that is not valid vocabulary (treated as undisclosed)")
        said = cap(" and ".join(parts))
    out.add(
        status,
        Code.LICENSE_UNSPECIFIED,
        f"{said}; whether {out.who(consumer)} "
        f"(publisher {user.publisher or 'unknown'}) may be trained on it cannot be checked",
        source,
        field=hidden[0],
        fields=hidden,
        derived=hex_of(consumer),
        publisher=user.publisher,
        sourcePublisher=data.publisher,
    )

"""The copyright, privacy, lineage and endorsement rules of CLAIMS.md, as pure functions.

This is the half of the verifier that needs no chain and no network. The other
half reads the registry and builds a :class:`Lineage`: one
:class:`ArtifactFacts` per artifact (the disclosed claims, the record's state,
endorsements and disputes), ``None`` for a parent it could not find.
:func:`evaluate` walks every ancestor, transitively, and returns the
:class:`~provenance.verdict.Check` lines of the copyright, privacy, lineage
and endorsements checks, always at least one line per check (``OK`` when
nothing is wrong).

Decisions where CLAIMS.md is silent (docs/verdicts.md tells users):

Graph
  * The parents of an artifact are its record's ``parents`` plus any subject
    its disclosed ``lineage.trained_on`` and ``lineage.base_models`` name (the
    union: a subject missing from either side is still walked).
  * A parent absent from the mapping counts as unknown, like one mapped to None.
  * A cycle cannot happen between honest content-addressed records; one is
    reported as ``PARENT_FAILED`` (fail) and its closing edge is ignored by the
    other rules, which still run.
  * An ancestor that was revoked, or whose own verdict failed (the caller's
    ``own_verdict_failed``), is ``PARENT_FAILED``.

Copyright
  * An undisclosed, null, empty or invalid license counts like a missing one
    (rule 1); so do the ``unknown`` id and ``LicenseRef-``/``other`` without
    ``copyright.license_url``. Every artifact of the lineage is checked, not
    only the one verified.
  * ``copyright.commercial_use: false`` makes an artifact non-commercial even
    under a commercial license (the publisher's word is the stricter one).
  * Intended uses other than commercial (policy.py): ``non-commercial`` is not
    permitted by academic-only terms; ``research`` is permitted by every class.
  * Terms the table cannot classify (``LicenseRef-`` with a URL, Hugging Face
    ``other``/``cc``) warn ``LICENSE_UNSPECIFIED`` too, whatever the intended
    use: the verifier cannot say the use is allowed, so it does not pass.
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
Privacy
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
  * "Revoked for erasure": the revocation reason contains the word erasure,
    erase or erased (any case), e.g. ``erasure: request 2026-114``. The
    registry's supersede carries no reason, so a publisher that supersedes for
    erasure also revokes with such a reason. ``ERASURE_AFFECTED`` fires
    whatever the order of registration and erasure (erasure before
    registration is worse, not better), until the verified artifact's record
    has a successor registered at or after the erasure.
  * Public URIs: schemes http, https, ipfs, ipns and ar.
Endorsements
  * A dispute of the verified record by a trusted auditor fails ``DISPUTED``;
    by anyone else it warns. A trusted auditor's dispute of an ancestor warns.
  * Self-endorsements (by the record's publisher) never count as an auditor's.
  * ``require.endorsements`` without an endorsement by a trusted auditor fails
    with ``UNTRUSTED_PUBLISHER``: CLAIMS.md has no dedicated code, and the
    policy's trust is what is missing.
"""

from __future__ import annotations

import re
import types
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from provenance.claims import differential_privacy_problems
from provenance.errors import ClaimsError, LineageError, ProvenanceError
from provenance.licenses import LicenseTerms, UseClass, license_terms, most_restrictive, share_alike_compatible
from provenance.policy import Policy
from provenance.record import Kind
from provenance.verdict import Check, CheckName, Code, Status

__all__ = [
    "ArtifactFacts",
    "Lineage",
    "LineageError",
    "evaluate",
    "is_erasure_reason",
    "is_public_uri",
    "PUBLIC_URI_SCHEMES",
]

#: URI schemes whose content anyone can fetch.
PUBLIC_URI_SCHEMES = frozenset({"http", "https", "ipfs", "ipns", "ar"})
_ERASURE = re.compile(r"\b(erasure|erase|erased)\b", re.IGNORECASE)
_SUBJECT_HEX = re.compile(r"0x[0-9a-fA-F]{64}")
_MISSING = object()
_RESERVED = ("notAllowed", "constrained")


def is_erasure_reason(reason: str | None) -> bool:
    """True when a revocation reason says the record was revoked for erasure."""
    return bool(reason) and _ERASURE.search(reason) is not None


def is_public_uri(uri: str | None) -> bool:
    """True for http(s), ipfs, ipns and ar URIs."""
    if not uri:
        return False
    return urlsplit(uri.strip()).scheme.lower() in PUBLIC_URI_SCHEMES


def _is_subject(value: Any) -> bool:
    return isinstance(value, bytes) and len(value) == 32


@dataclass(frozen=True)
class ArtifactFacts:
    """What the chain-reading half knows about one registered artifact.

    ``claims`` maps disclosed claim fields (``copyright.license``,
    ``privacy.personal_data``...) to their values; undisclosed fields are
    absent. ``parents`` are the record's parents. Times are unix seconds.
    ``own_verdict_failed``: this artifact's own integrity, authenticity or
    status checks failed (set by the caller for ancestors).
    """

    subject: bytes
    kind: Kind
    publisher: str | None = None
    record_id: bytes | None = None
    registered_at: int | None = None
    uri: str = ""
    parents: tuple[bytes, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict, hash=False)
    revoked_at: int | None = None
    revocation_reason: str | None = None
    successor: bytes | None = None
    successor_registered_at: int | None = None
    endorsements: tuple[str, ...] = ()
    disputes: tuple[str, ...] = ()
    own_verdict_failed: bool = False

    def __post_init__(self) -> None:
        if not _is_subject(self.subject):
            raise LineageError("an artifact's subject must be 32 bytes")
        try:
            object.__setattr__(self, "kind", Kind(self.kind))
        except ValueError:
            raise LineageError(f"{_short(self.subject)}: kind must be a Kind, got {self.kind!r}") from None
        parents = tuple(self.parents)
        if not all(_is_subject(p) for p in parents):
            raise LineageError(f"{_short(self.subject)}: every parent must be a 32-byte subject")
        object.__setattr__(self, "parents", parents)
        for name in ("record_id", "successor"):
            value = getattr(self, name)
            if value is not None and not _is_subject(value):
                raise LineageError(f"{_short(self.subject)}: {name} must be 32 bytes or None")
        if not isinstance(self.claims, Mapping):
            raise LineageError(f"{_short(self.subject)}: claims must be a mapping of field to value")
        object.__setattr__(self, "claims", types.MappingProxyType(dict(self.claims)))
        for name in ("endorsements", "disputes"):
            values = tuple(getattr(self, name))
            if not all(isinstance(v, str) for v in values):
                raise LineageError(f"{_short(self.subject)}: {name} must be addresses")
            object.__setattr__(self, name, values)

    def claim(self, name: str, default: Any = None) -> Any:
        """The disclosed value of a dotted field, or ``default`` when it is not disclosed."""
        value = self._lookup(name)
        return default if value is _MISSING else value

    def discloses(self, name: str) -> bool:
        return self._lookup(name) is not _MISSING

    def _lookup(self, name: str) -> Any:
        if name in self.claims:
            return self.claims[name]
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # a whole section disclosed as one mapping
            node = self.claims.get(".".join(parts[:cut]), _MISSING)
            for part in parts[cut:]:
                node = node.get(part, _MISSING) if isinstance(node, Mapping) else _MISSING
            if node is not _MISSING:
                return node
        return _MISSING

    def derived_from(self) -> tuple[bytes, ...]:
        """Sorted parents: the record's plus those the disclosed lineage names."""
        found = set(self.parents)
        trained_on = self.claim("lineage.trained_on", ())
        base_models = self.claim("lineage.base_models", ())
        items = list(trained_on) if isinstance(trained_on, (list, tuple)) else []
        if isinstance(base_models, (list, tuple)):
            items += [ref.get("subject") if isinstance(ref, Mapping) else ref for ref in base_models]
        for item in items:
            if isinstance(item, str) and _SUBJECT_HEX.fullmatch(item):
                found.add(bytes.fromhex(item[2:]))
            elif _is_subject(item):
                found.add(item)
        return tuple(sorted(found))


@dataclass(frozen=True)
class Lineage:
    """An artifact (``root``) and what is known of its ancestors.

    ``artifacts`` maps subjects to facts, or to None for a parent that is not
    registered or could not be found; the root must be there with its facts.
    """

    root: bytes
    artifacts: Mapping[bytes, ArtifactFacts | None]

    def __post_init__(self) -> None:
        if not _is_subject(self.root):
            raise LineageError("the root of a lineage must be a 32-byte subject")
        artifacts = dict(self.artifacts)
        for subject, facts in artifacts.items():
            if not _is_subject(subject):
                raise LineageError("lineage keys must be 32-byte subjects")
            if facts is not None and facts.subject != subject:
                raise LineageError(f"facts of {_short(facts.subject)} are filed under {_short(subject)}")
        if artifacts.get(self.root) is None:
            raise LineageError(f"the lineage has no facts about its root {_short(self.root)}")
        object.__setattr__(self, "artifacts", types.MappingProxyType(artifacts))

    @classmethod
    def build(
        cls, root: ArtifactFacts, ancestors: Iterable[ArtifactFacts] = (), unknown: Iterable[bytes] = ()
    ) -> Lineage:
        """A lineage from the root's facts, its ancestors' and the subjects known to be unregistered."""
        artifacts: dict[bytes, ArtifactFacts | None] = {s: None for s in unknown}
        for facts in (root, *ancestors):
            if artifacts.get(facts.subject) is not None:
                raise LineageError(f"{_short(facts.subject)} is given twice")
            artifacts[facts.subject] = facts
        return cls(root.subject, artifacts)

    @property
    def root_facts(self) -> ArtifactFacts:
        return self.artifacts[self.root]  # type: ignore[return-value]


# --- the graph --------------------------------------------------------------


@dataclass
class _Graph:
    root: ArtifactFacts
    nodes: dict[bytes, ArtifactFacts]  # every known artifact reachable from the root, root included
    order: list[bytes]  # breadth-first from the root, parents in subject order
    parents: dict[bytes, tuple[bytes, ...]]  # without the edges that close cycles
    via: dict[bytes, tuple[bytes, ...]]  # shortest path root .. subject
    unknown: dict[bytes, list[bytes]]  # unknown subject -> the artifacts that name it
    cycles: list[tuple[bytes, ...]]
    postorder: list[bytes]  # parents before children

    @property
    def ancestors(self) -> list[bytes]:
        return [s for s in self.order if s != self.root.subject]


def _graph(lineage: Lineage) -> _Graph:
    root = lineage.root_facts
    nodes: dict[bytes, ArtifactFacts] = {}
    order: list[bytes] = []
    via: dict[bytes, tuple[bytes, ...]] = {root.subject: (root.subject,)}
    unknown: dict[bytes, list[bytes]] = {}
    edges: dict[bytes, tuple[bytes, ...]] = {}
    queue = deque([root.subject])
    while queue:  # breadth-first: shortest paths for messages, a stable order
        subject = queue.popleft()
        facts = lineage.artifacts.get(subject)
        if facts is None:
            continue
        nodes[subject] = facts
        order.append(subject)
        edges[subject] = facts.derived_from()
        for parent in edges[subject]:
            if lineage.artifacts.get(parent) is None:
                unknown.setdefault(parent, []).append(subject)
                via.setdefault(parent, via[subject] + (parent,))
            elif parent not in via:
                via[parent] = via[subject] + (parent,)
                queue.append(parent)
    # depth-first, iteratively: find cycles, drop their closing edges, order parents first
    parents: dict[bytes, list[bytes]] = {s: [p for p in edges[s] if p in nodes] for s in nodes}
    cycles: list[tuple[bytes, ...]] = []
    postorder: list[bytes] = []
    state: dict[bytes, int] = {}  # 1 on the stack, 2 done
    stack: list[tuple[bytes, int]] = [(root.subject, 0)]
    path: list[bytes] = [root.subject]
    state[root.subject] = 1
    while stack:
        subject, index = stack.pop()
        if index < len(parents[subject]):
            stack.append((subject, index + 1))
            parent = parents[subject][index]
            if state.get(parent) == 1:
                cycles.append(tuple(path[path.index(parent):]) + (parent,))
                parents[subject] = [p for p in parents[subject] if p != parent]
                stack[-1] = (subject, index)  # the list shrank: same index is the next parent
            elif parent not in state:
                state[parent] = 1
                path.append(parent)
                stack.append((parent, 0))
        else:
            state[subject] = 2
            path.pop()
            postorder.append(subject)
    dag = {s: tuple(ps) for s, ps in parents.items()}
    for subject in edges:  # unknown parents stay, so rules can see them
        dag[subject] = dag[subject] + tuple(p for p in edges[subject] if p not in nodes)
    return _Graph(root, nodes, order, dag, via, unknown, cycles, postorder)


# --- wording ----------------------------------------------------------------


def _hex(subject: bytes) -> str:
    return "0x" + subject.hex()


def _short(subject: bytes) -> str:
    text = subject.hex()
    return f"0x{text[:8]}...{text[-4:]}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _time(unix: int | None) -> str:
    if unix is None:
        return "an unknown time"
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


class _Findings:
    """Collects the checks of one category; one OK line when nothing was found."""

    def __init__(self, graph: _Graph, check: CheckName) -> None:
        self.graph = graph
        self.check = check
        self.checks: list[Check] = []

    def who(self, subject: bytes) -> str:
        """'this model' or 'ancestor dataset 0x12345678...abcd (via 0x...)'."""
        graph = self.graph
        facts = graph.nodes.get(subject)
        kind = facts.kind.name.lower() if facts else "artifact"
        if subject == graph.root.subject:
            return f"this {kind}"
        path = graph.via.get(subject, ())
        middle = path[1:-1]
        hops = f" (via {' -> '.join(_short(s) for s in middle)})" if middle else ""
        label = "ancestor" if len(path) > 2 else "parent"
        return f"{label} {kind} {_short(subject)}{hops}"

    def add(self, status: Status, code: Code, message: str, about: bytes | None = None, **evidence: Any) -> None:
        base: dict[str, Any] = {"subject": _hex(self.graph.root.subject)}
        if about is not None and about != self.graph.root.subject:
            base["ancestor"] = _hex(about)
            base["via"] = [_hex(s) for s in self.graph.via.get(about, (about,))]
        base.update({k: v for k, v in evidence.items() if v is not None})
        self.checks.append(Check(self.check, status, code, _cap(message), base))

    def done(self, ok_message: str, **evidence: Any) -> list[Check]:
        if not self.checks:
            self.add(Status.PASS, Code.OK, ok_message, **evidence)
        return self.checks


# --- copyright --------------------------------------------------------------


@dataclass(frozen=True)
class _License:
    expression: str | None
    terms: LicenseTerms | None
    problem: str | None  # why the license counts as unspecified (rule 1)
    use: UseClass  # with commercial_use: false folded in
    field: str  # the field that set ``use``


def _license(facts: ArtifactFacts) -> _License:
    value = facts.claim("copyright.license", _MISSING)
    terms, problem = None, None
    if value is _MISSING:
        problem = "is not disclosed"
    elif value is None or value == "":
        problem = "is missing"
    elif not isinstance(value, str):
        problem = f"is not a license expression ({value!r})"
    else:
        try:
            terms = license_terms(value)
        except ClaimsError as err:
            problem = f"is not a valid license expression ({err})"
    expression = value if isinstance(value, str) and value else None
    if terms is not None:
        url = facts.claim("copyright.license_url")
        custom = [k for k in terms.licenses if k.split(":")[-1].startswith("LicenseRef-") or k == "other"]
        if "unknown" in terms.licenses:
            problem = "is unknown"
        elif custom and not url:
            problem = f"names {', '.join(custom)} without copyright.license_url"
    use = terms.use_class if terms and not problem else UseClass.UNSPECIFIED
    field_name = "copyright.license"
    if facts.claim("copyright.commercial_use") is False and use.rank < UseClass.NON_COMMERCIAL.rank:
        use, field_name = UseClass.NON_COMMERCIAL, "copyright.commercial_use"
    return _License(expression, terms, problem, use, field_name)


def _shown(lic: _License) -> str:
    return lic.expression or "no license"


def _copyright(graph: _Graph, policy: Policy) -> list[Check]:
    out = _Findings(graph, CheckName.COPYRIGHT)
    root = graph.root
    members = [root.subject, *graph.ancestors]
    lic = {s: _license(graph.nodes[s]) for s in members}
    mine = lic[root.subject]
    unspecified_status = policy.status_of(Code.LICENSE_UNSPECIFIED)

    # rule 1, and unclassifiable terms under a commercial use
    for s in members:
        item = lic[s]
        if item.problem:
            out.add(
                unspecified_status,
                Code.LICENSE_UNSPECIFIED,
                f"The copyright.license of {out.who(s)} {item.problem}; its terms are unknown, "
                "so treat it as restrictive",
                s,
                field="copyright.license",
                license=item.expression,
            )
        elif item.terms and item.terms.use_class is UseClass.UNSPECIFIED:
            out.add(
                unspecified_status,
                Code.LICENSE_UNSPECIFIED,
                f"The copyright.license of {out.who(s)} is {item.expression}, whose terms this verifier "
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
                f"{_cap(out.who(s))} is {item.use.value} ({item.field}: "
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
        restrictive = (UseClass.NON_COMMERCIAL, UseClass.ACADEMIC_ONLY)
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
    own_restrictions = set(mine.terms.restrictions) if mine.terms and not mine.problem else set()
    for s in graph.ancestors:
        item = lic[s]
        if item.terms is None:
            continue
        if item.terms.no_derivatives:
            out.add(
                Status.FAIL,
                Code.NO_DERIVATIVES,
                f"{_cap(out.who(s))} is licensed {item.expression}, which allows no derivatives; "
                f"this {root.kind.name.lower()} derives from it",
                s,
                field="copyright.license",
                license=item.expression,
            )
        if item.terms.is_share_alike:
            compatible = False
            if mine.terms is not None and mine.expression:
                try:
                    compatible = share_alike_compatible(item.expression, mine.expression)
                except ClaimsError:
                    compatible = False
            if not compatible:
                out.add(
                    Status.WARN,
                    Code.SHARE_ALIKE,
                    f"{_cap(out.who(s))} is share-alike ({item.expression}); this artifact's "
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
                f"{_cap(out.who(s))} is licensed {item.expression} with use restrictions "
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

    worst = most_restrictive(lic[s].use for s in members)
    return out.done(
        f"license {_shown(mine)}; {len(members) - 1} ancestor license(s) checked; the most restrictive "
        f"use class is {worst.value}, which permits {policy.use} use",
        license=mine.expression,
        useClass=worst.value,
        intendedUse=policy.use,
    )


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


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def _opt_outs(graph: _Graph, out: _Findings, unspecified_status: Status) -> None:
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
            reserved = _reservations(data)
            if not reserved:
                if user.kind is Kind.MODEL:
                    _undisclosed_training_terms(graph, out, unspecified_status, consumer, source)
                continue
            if user.kind is Kind.MODEL:
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
            if _same(user.publisher, data.publisher):
                continue
            endorsers = {e.lower() for e in (*user.endorsements, *root.endorsements)}
            if data.publisher is not None and data.publisher.lower() in endorsers:
                continue
            shown = ", ".join(f"{k}: {'true' if v is True else v}" for k, v in fields.items())
            deriving = out.who(consumer)
            out.add(
                Status.FAIL,
                code,
                f"{_cap(out.who(source))} reserves its use ({shown}); {deriving} {verb} "
                f"under publisher {user.publisher or 'unknown'}, not its publisher "
                f"{data.publisher or 'unknown'}, who has not endorsed it",
                source,
                field=next(iter(fields)),
                reservations={k: v for k, v in fields.items()},
                derived=_hex(consumer),
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
    graph: _Graph, out: _Findings, status: Status, consumer: bytes, source: bytes
) -> None:
    """A model trained on another publisher's data whose training terms are hidden: cannot be cleared.

    Rule 7 needs the dataset's ``training_mining`` and ``tdm_reservation`` to
    say whether training is allowed; a committed but undisclosed value could be
    ``notAllowed``, so the verifier warns (like an undisclosed license) rather
    than passing. Excused as rule 7 is: same publisher, or its endorsement.
    """
    user, data, root = graph.nodes[consumer], graph.nodes[source], graph.root
    hidden = [name for name in _TRAINING_TERMS if not data.discloses(name)]
    if not hidden or _same(user.publisher, data.publisher):
        return
    endorsers = {e.lower() for e in (*user.endorsements, *root.endorsements)}
    if data.publisher is not None and data.publisher.lower() in endorsers:
        return
    out.add(
        status,
        Code.LICENSE_UNSPECIFIED,
        f"{_cap(out.who(source))} does not disclose {', '.join(hidden)}; whether {out.who(consumer)} "
        f"(publisher {user.publisher or 'unknown'}) may be trained on it cannot be checked",
        source,
        field=hidden[0],
        fields=hidden,
        derived=_hex(consumer),
        publisher=user.publisher,
        sourcePublisher=data.publisher,
    )


# --- privacy ----------------------------------------------------------------


def _endorsed_by_auditor(facts: ArtifactFacts, policy: Policy) -> bool:
    """A trusted auditor other than the publisher endorsed this record."""
    return any(policy.is_trusted_auditor(e) and not _same(e, facts.publisher) for e in facts.endorsements)


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
    value = facts.claim("privacy.personal_data", _MISSING)
    if value is _MISSING:
        personal = "undisclosed"
    elif value in ("absent", "present", "unknown"):
        personal = value
    else:
        personal = "unknown"  # anything else says nothing
    endorsed = _endorsed_by_auditor(facts, policy)
    anonymization = facts.claim("privacy.anonymization", ())
    anonymization = anonymization if isinstance(anonymization, (list, tuple)) else ()
    params = facts.claim("privacy.differential_privacy", _MISSING)
    listed = "differential_privacy" in anonymization
    dp_claimed = listed or (params is not _MISSING and params is not None)
    dp, problems, hidden = None, (), False
    if dp_claimed:
        if params is _MISSING:
            hidden = True
        else:
            problems = differential_privacy_problems(params)
            if not problems:
                dp = params
    breaks = "anonymisation" in anonymization or dp is not None or (hidden and endorsed)
    return _Privacy(personal, endorsed, dp_claimed, dp, problems, hidden, breaks)


def _unverified(item: _Privacy) -> bool:
    return item.personal_data == "unknown" or (item.personal_data == "undisclosed" and not item.endorsed)


def _privacy(graph: _Graph, policy: Policy) -> list[Check]:
    out = _Findings(graph, CheckName.PRIVACY)
    root = graph.root
    members = [root.subject, *graph.ancestors]
    info = {s: _privacy_of(graph.nodes[s], policy) for s in members}
    unverified = policy.status_of(Code.PRIVACY_UNVERIFIED)

    # what reaches each artifact: personal data present, or not known
    present: dict[bytes, set[bytes]] = {}
    unknown: dict[bytes, set[bytes]] = {}
    for s in graph.postorder:
        present[s], unknown[s] = set(), set()
        if info[s].breaks:
            continue
        for p in graph.parents[s]:
            if p not in graph.nodes:
                continue
            present[s] |= present[p]
            unknown[s] |= unknown[p]
            if info[p].personal_data == "present":
                present[s].add(p)
            elif _unverified(info[p]):
                unknown[s].add(p)
    ordered = lambda subjects: sorted(subjects, key=graph.order.index)  # noqa: E731
    mine = info[root.subject]

    # rule 1
    if mine.personal_data == "unknown":
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"{out.who(root.subject)} claims privacy.personal_data: unknown", field="privacy.personal_data")
    elif mine.personal_data == "undisclosed" and not mine.endorsed:
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"The privacy.personal_data of {out.who(root.subject)} is not disclosed and no trusted auditor "
                "endorsed the record", field="privacy.personal_data")
    for s in ordered(unknown[root.subject]):
        state = info[s].personal_data
        if state == "undisclosed":
            state = "not disclosed (and not endorsed by a trusted auditor)"
        out.add(unverified, Code.PRIVACY_UNVERIFIED,
                f"The privacy.personal_data of {out.who(s)} is {state}, and it reaches this artifact without "
                "anonymisation or differential privacy", s, field="privacy.personal_data")
    # rule 2
    if mine.personal_data == "absent":
        for s in ordered(present[root.subject]):
            out.add(Status.FAIL, Code.PERSONAL_DATA_CONFLICT,
                    f"this {root.kind.name.lower()} claims privacy.personal_data: absent, but {out.who(s)} "
                    "has personal data present and no anonymisation or differential privacy is claimed on the way",
                    s, field="privacy.personal_data")
    # rule 3
    holders = [s for s in members if info[s].personal_data == "present"]
    if root.subject not in holders and mine.personal_data in ("unknown", "undisclosed") and present[root.subject]:
        holders.insert(0, root.subject)  # it does not say, but inherits personal data
    for s in holders:
        facts = graph.nodes[s]
        endorsed = info[s].endorsed
        hidden = []
        basis = facts.claim("privacy.lawful_basis", _MISSING)
        if basis is _MISSING:
            hidden.append("privacy.lawful_basis")
        elif not basis:
            has = "has personal data"
            if s == root.subject and mine.personal_data != "present":
                sources = ", ".join(_short(p) for p in ordered(present[root.subject]))
                has = f"does not say whether it has personal data but inherits it from {sources}"
            out.add(Status.FAIL, Code.NO_LAWFUL_BASIS,
                    f"{_cap(out.who(s))} {has} and gives no privacy.lawful_basis (GDPR Art. 6(1))",
                    s, field="privacy.lawful_basis")
        categories = facts.claim("privacy.special_categories", _MISSING)
        if categories is _MISSING:
            hidden.append("privacy.special_categories")
        elif categories:
            condition = facts.claim("privacy.special_category_condition", _MISSING)
            if condition is _MISSING:
                hidden.append("privacy.special_category_condition")
            elif not condition:
                shown = ", ".join(map(str, categories)) if isinstance(categories, (list, tuple)) else str(categories)
                out.add(Status.FAIL, Code.NO_SPECIAL_CATEGORY_CONDITION,
                        f"{_cap(out.who(s))} has special categories of personal data ({shown}) but no "
                        "privacy.special_category_condition (GDPR Art. 9(2), Art. 10)",
                        s, field="privacy.special_category_condition", value=list(categories)
                        if isinstance(categories, (list, tuple)) else categories)
        if hidden and not endorsed:
            out.add(unverified, Code.PRIVACY_UNVERIFIED,
                    f"{_cap(out.who(s))} has personal data, but {', '.join(hidden)} "
                    f"{'is' if len(hidden) == 1 else 'are'} not disclosed and no trusted auditor endorsed the record",
                    s, field=hidden[0], fields=hidden)
    # rule 4
    for s in members:
        item = info[s]
        if item.dp_problems:
            out.add(Status.FAIL, Code.DP_INVALID,
                    f"{_cap(out.who(s))} claims differential privacy with invalid parameters: "
                    + "; ".join(item.dp_problems), s, field="privacy.differential_privacy")
        elif item.dp_hidden:
            out.add(unverified, Code.PRIVACY_UNVERIFIED,
                    f"{_cap(out.who(s))} claims differential privacy, but "
                    "privacy.differential_privacy is not disclosed, so the budget cannot be checked",
                    s, field="privacy.differential_privacy")
    spent = [(s, info[s].dp) for s in members if info[s].dp is not None]
    if spent:
        epsilon = sum(float(dp["epsilon"]) for _, dp in spent)
        delta = sum(float(dp["delta"]) for _, dp in spent)
        parts = {_hex(s): {"epsilon": dp["epsilon"], "delta": dp["delta"], "unit": dp["unit"]} for s, dp in spent}
        names = ", ".join(f"{_short(s)} epsilon {dp['epsilon']}" for s, dp in spent)
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
        facts = graph.nodes[s]
        if facts.revoked_at is None or not is_erasure_reason(facts.revocation_reason):
            continue
        if root.successor is not None and root.successor_registered_at is not None \
                and root.successor_registered_at >= facts.revoked_at:
            continue
        when = ""
        if root.registered_at is not None:
            when = " after" if facts.revoked_at >= root.registered_at else " before"
            when += f" this artifact was registered ({_time(root.registered_at)})"
        out.add(Status.FAIL, Code.ERASURE_AFFECTED,
                f"{_cap(out.who(s))} was revoked for erasure at {_time(facts.revoked_at)}{when} "
                f"(reason: {facts.revocation_reason!r}); this artifact may still hold the erased data "
                "until a successor record is registered",
                s, reason=facts.revocation_reason, revokedAt=facts.revoked_at,
                registeredAt=root.registered_at)
    # rule 6
    confidentiality = root.claim("privacy.confidentiality")
    if confidentiality in ("red", "amber") and is_public_uri(root.uri):
        out.add(Status.WARN, Code.CONFIDENTIALITY_CONFLICT,
                f"this {root.kind.name.lower()} claims privacy.confidentiality: {confidentiality}, but its "
                f"record points to a public uri ({root.uri})",
                field="privacy.confidentiality", value=confidentiality, uri=root.uri)

    return out.done(
        f"The privacy.personal_data of this {root.kind.name.lower()} is {mine.personal_data}"
        + (" (endorsed by a trusted auditor)" if mine.endorsed else "")
        + f"; {len(members) - 1} ancestor(s) checked, no conflict",
        field="privacy.personal_data",
    )


# --- lineage and endorsements -----------------------------------------------


def _lineage(graph: _Graph, policy: Policy) -> list[Check]:
    out = _Findings(graph, CheckName.LINEAGE)
    status = policy.status_of(Code.PARENT_UNKNOWN)
    for cycle in graph.cycles:
        out.add(Status.FAIL, Code.PARENT_FAILED,
                "the lineage has a cycle (" + " -> ".join(_short(s) for s in cycle) + "), which no honest "
                "records can form; its lineage claims cannot be trusted",
                cycle[0], cycle=[_hex(s) for s in cycle])
    for subject in sorted(graph.unknown, key=lambda s: (len(graph.via[s]), s)):
        children = graph.unknown[subject]
        named_by = ", ".join(out.who(c) for c in children)
        out.add(status, Code.PARENT_UNKNOWN,
                f"parent {_short(subject)} of {named_by} is not registered or could not be found; its "
                "license and privacy claims cannot be checked",
                subject, children=[_hex(c) for c in children])
    for s in graph.ancestors:
        facts = graph.nodes[s]
        reasons = []
        if facts.own_verdict_failed:
            reasons.append("failed its own verification (integrity, authenticity or status)")
        if facts.revoked_at is not None:
            reasons.append(f"was revoked at {_time(facts.revoked_at)} (reason: {facts.revocation_reason!r})")
        if reasons:
            out.add(Status.FAIL, Code.PARENT_FAILED, f"{_cap(out.who(s))} {' and '.join(reasons)}", s,
                    recordId=facts.record_id, reason=facts.revocation_reason, revokedAt=facts.revoked_at)
    count = len(graph.ancestors)
    return out.done(
        f"{count} ancestor(s), all registered and verified" if count else "no parents: nothing is inherited",
        ancestors=[_hex(s) for s in graph.ancestors],
    )


def _endorsements(graph: _Graph, policy: Policy) -> list[Check]:
    out = _Findings(graph, CheckName.ENDORSEMENTS)
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
    endorsers = [e for e in root.endorsements if policy.is_trusted_auditor(e) and not _same(e, root.publisher)]
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


def evaluate(lineage: Lineage, policy: Policy) -> list[Check]:
    """The copyright, privacy, lineage and endorsements checks of ``lineage.root`` under ``policy``.

    Pure: reads nothing but its arguments. Each category gives at least one
    line (``OK`` when nothing is wrong), in that order.
    """
    graph = _graph(lineage)
    return [
        *_copyright(graph, policy),
        *_privacy(graph, policy),
        *_lineage(graph, policy),
        *_endorsements(graph, policy),
    ]

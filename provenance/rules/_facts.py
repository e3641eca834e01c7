"""What the rules are given: one :class:`ArtifactFacts` per artifact, gathered in a :class:`Lineage`.

Both validate on construction (:class:`~provenance.errors.LineageError`), so
the rules never meet a malformed lineage.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provenance.errors import LineageError
from provenance.record import Kind
from provenance.vocabulary import VOCABULARY, is_vocabulary

__all__ = ["ArtifactFacts", "Erasure", "Lineage", "MISSING", "VOCABULARY", "is_subject", "is_vocabulary", "short",
           "subjects_named"]

_SUBJECT_HEX = re.compile(r"0x[0-9a-fA-F]{64}")
#: What a lookup of an undisclosed claim field gives.
MISSING = object()


def is_subject(value: Any) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def short(subject: bytes) -> str:
    """A subject as people read it in messages: ``0x12345678...abcd``."""
    text = subject.hex()
    return f"0x{text[:8]}...{text[-4:]}"


@dataclass(frozen=True)
class Erasure:
    """The record's publisher revoked or superseded it with reason code ``erasure`` (GDPR Art. 17).

    Erasure is a reason code on the registry's event, never a word in free
    text: anyone can write "erasure" into a reason, only the code is the
    publisher's machine-readable statement.
    """

    action: str  # "revoked" or "superseded"
    at: int | None  # unix seconds of the event's block
    reason: str = ""  # the publisher's text, shown as given


def _hex32_of(value: Any) -> bytes | None:
    if isinstance(value, str) and _SUBJECT_HEX.fullmatch(value):
        return bytes.fromhex(value[2:])
    return value if is_subject(value) else None


def subjects_named(items: Any) -> set[bytes]:
    """The subjects a disclosed ``trained_on`` or ``base_models`` list names: plain subjects (older claims)
    or ``{subject, record...}`` entries (pinned)."""
    found: set[bytes] = set()
    for item in items if isinstance(items, (list, tuple)) else ():
        subject = _hex32_of(item.get("subject") if isinstance(item, Mapping) else item)
        if subject is not None:
            found.add(subject)
    return found


@dataclass(frozen=True)
class ArtifactFacts:
    """What the chain-reading half knows about one registered artifact.

    ``claims`` maps disclosed claim fields (``copyright.license``,
    ``privacy.personal_data``...) to their values; undisclosed fields are
    absent. ``parents`` are the record's parents. Times are unix seconds.
    ``own_verdict_failed``: this artifact's own integrity, authenticity or
    status checks failed (set by the caller for ancestors).
    ``statement_missing``: the record is known (on chain) but its Statement
    could not be obtained, so none of its claims could be read: the rules say
    that rather than "not disclosed", and ``statement_missing_why`` says where
    it was sought and why it could not be had.
    ``revocation_code``: the reason code of the revocation (``erasure``,
    ``wrong_claims``...); ``erasure``: set when the record was revoked or
    superseded for erasure. ``replaced``: the record ids of the same
    publisher's earlier records this one stands in for (a correction).
    ``invalid_claims`` (computed): disclosed values of :data:`VOCABULARY`
    fields that are not valid vocabulary; :meth:`claim` and :meth:`discloses`
    treat them as undisclosed.
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
    revocation_code: str | None = None
    erasure: Erasure | None = None
    replaced: tuple[bytes, ...] = ()
    successor: bytes | None = None
    successor_registered_at: int | None = None
    endorsements: tuple[str, ...] = ()
    disputes: tuple[str, ...] = ()
    own_verdict_failed: bool = False
    statement_missing: bool = False
    statement_missing_why: str = ""
    invalid_claims: Mapping[str, Any] = field(init=False, default_factory=dict, hash=False)
    _sections: bool = field(init=False, default=False, repr=False, compare=False)
    """Some claim is a whole section disclosed as one mapping (else a dotted field is found by its name or not)."""

    def __post_init__(self) -> None:
        if not is_subject(self.subject):
            raise LineageError("an artifact's subject must be 32 bytes")
        try:
            object.__setattr__(self, "kind", Kind(self.kind))
        except ValueError:
            raise LineageError(f"{short(self.subject)}: kind must be a Kind, got {self.kind!r}") from None
        parents = tuple(self.parents)
        if not all(is_subject(p) for p in parents):
            raise LineageError(f"{short(self.subject)}: every parent must be a 32-byte subject")
        object.__setattr__(self, "parents", parents)
        replaced = tuple(self.replaced)
        if not all(is_subject(r) for r in replaced):
            raise LineageError(f"{short(self.subject)}: replaced record ids must be 32 bytes")
        object.__setattr__(self, "replaced", replaced)
        for name in ("record_id", "successor"):
            value = getattr(self, name)
            if value is not None and not is_subject(value):
                raise LineageError(f"{short(self.subject)}: {name} must be 32 bytes or None")
        if not isinstance(self.claims, Mapping):
            raise LineageError(f"{short(self.subject)}: claims must be a mapping of field to value")
        object.__setattr__(self, "claims", types.MappingProxyType(dict(self.claims)))
        object.__setattr__(self, "invalid_claims", types.MappingProxyType({}))
        object.__setattr__(self, "_sections", any(isinstance(v, Mapping) for v in self.claims.values()))
        invalid = {name: value for name in VOCABULARY
                   if (value := self._lookup(name)) is not MISSING and not is_vocabulary(name, value)}
        object.__setattr__(self, "invalid_claims", types.MappingProxyType(invalid))
        for name in ("endorsements", "disputes"):
            values = tuple(getattr(self, name))
            if not all(isinstance(v, str) for v in values):
                raise LineageError(f"{short(self.subject)}: {name} must be addresses")
            object.__setattr__(self, name, values)

    def claim(self, name: str, default: Any = None) -> Any:
        """The disclosed value of a dotted field, or ``default`` when it is not disclosed."""
        value = self._lookup(name)
        return default if value is MISSING else value

    def discloses(self, name: str) -> bool:
        return self._lookup(name) is not MISSING

    def _lookup(self, name: str) -> Any:
        if name in self.invalid_claims:
            return MISSING
        if name in self.claims:
            return self.claims[name]
        if not self._sections:
            return MISSING
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # a whole section disclosed as one mapping
            node = self.claims.get(".".join(parts[:cut]), MISSING)
            for part in parts[cut:]:
                node = node.get(part, MISSING) if isinstance(node, Mapping) else MISSING
            if node is not MISSING:
                return node
        return MISSING

    def derived_from(self) -> tuple[bytes, ...]:
        """Sorted parents: the record's plus those the disclosed lineage names."""
        found = set(self.parents) | subjects_named(self.claim("lineage.trained_on", ())) \
            | subjects_named(self.claim("lineage.base_models", ()))
        return tuple(sorted(found))

    def missing(self) -> str:
        """' (why)' when its Statement could not be obtained and the reason is known, for messages."""
        return f" ({self.statement_missing_why})" if self.statement_missing and self.statement_missing_why else ""

    def pins(self) -> dict[bytes, bytes]:
        """Parent subject -> the record id this artifact's publisher pinned for it in the disclosed lineage
        (``{subject, record}`` entries, signed under claimsRoot). A subject pinned twice to different
        records pins neither: the lineage is malformed, and the verifier falls back to trust."""
        pins: dict[bytes, bytes] = {}
        doubled: set[bytes] = set()
        for name in ("lineage.trained_on", "lineage.base_models"):
            items = self.claim(name, ())
            for item in items if isinstance(items, (list, tuple)) else ():
                if not isinstance(item, Mapping):
                    continue
                subject, record = _hex32_of(item.get("subject")), _hex32_of(item.get("record"))
                if subject is None or record is None:
                    continue
                if pins.setdefault(subject, record) != record:
                    doubled.add(subject)
        return {s: r for s, r in pins.items() if s not in doubled}


@dataclass(frozen=True)
class Lineage:
    """An artifact (``root``) and what is known of its ancestors.

    ``artifacts`` maps subjects to facts, or to None for a parent that is not
    registered or could not be found; the root must be there with its facts.
    ``unchecked``: parents named in the lineage that a limit left unwalked
    (``limit`` artifacts at most were walked): they are neither known nor
    unknown, and the lineage check says what was not checked.
    """

    root: bytes
    artifacts: Mapping[bytes, ArtifactFacts | None]
    unchecked: tuple[bytes, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        if not is_subject(self.root):
            raise LineageError("the root of a lineage must be a 32-byte subject")
        artifacts = dict(self.artifacts)
        for subject, facts in artifacts.items():
            if not is_subject(subject):
                raise LineageError("lineage keys must be 32-byte subjects")
            if facts is not None and facts.subject != subject:
                raise LineageError(f"facts of {short(facts.subject)} are filed under {short(subject)}")
        if artifacts.get(self.root) is None:
            raise LineageError(f"the lineage has no facts about its root {short(self.root)}")
        object.__setattr__(self, "artifacts", types.MappingProxyType(artifacts))
        unchecked = tuple(dict.fromkeys(self.unchecked))
        if not all(is_subject(s) and s not in artifacts for s in unchecked):
            raise LineageError("unchecked parents must be 32-byte subjects the lineage does not hold")
        object.__setattr__(self, "unchecked", unchecked)

    @classmethod
    def build(
        cls,
        root: ArtifactFacts,
        ancestors: Iterable[ArtifactFacts] = (),
        unknown: Iterable[bytes] = (),
        *,
        unchecked: Iterable[bytes] = (),
        limit: int | None = None,
    ) -> Lineage:
        """A lineage from the root's facts, its ancestors', the subjects known to be unregistered and
        the parents a limit left unwalked."""
        artifacts: dict[bytes, ArtifactFacts | None] = dict.fromkeys(unknown)
        for facts in (root, *ancestors):
            if artifacts.get(facts.subject) is not None:
                raise LineageError(f"{short(facts.subject)} is given twice")
            artifacts[facts.subject] = facts
        return cls(root.subject, artifacts, tuple(unchecked), limit)

    @property
    def root_facts(self) -> ArtifactFacts:
        return self.artifacts[self.root]  # type: ignore[return-value]

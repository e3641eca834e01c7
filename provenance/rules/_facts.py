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

__all__ = ["ArtifactFacts", "Lineage", "MISSING", "is_subject", "short"]

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
        for name in ("record_id", "successor"):
            value = getattr(self, name)
            if value is not None and not is_subject(value):
                raise LineageError(f"{short(self.subject)}: {name} must be 32 bytes or None")
        if not isinstance(self.claims, Mapping):
            raise LineageError(f"{short(self.subject)}: claims must be a mapping of field to value")
        object.__setattr__(self, "claims", types.MappingProxyType(dict(self.claims)))
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
        if name in self.claims:
            return self.claims[name]
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
        found = set(self.parents)
        trained_on = self.claim("lineage.trained_on", ())
        base_models = self.claim("lineage.base_models", ())
        items = list(trained_on) if isinstance(trained_on, (list, tuple)) else []
        if isinstance(base_models, (list, tuple)):
            items += [ref.get("subject") if isinstance(ref, Mapping) else ref for ref in base_models]
        for item in items:
            if isinstance(item, str) and _SUBJECT_HEX.fullmatch(item):
                found.add(bytes.fromhex(item[2:]))
            elif is_subject(item):
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

    @classmethod
    def build(
        cls, root: ArtifactFacts, ancestors: Iterable[ArtifactFacts] = (), unknown: Iterable[bytes] = ()
    ) -> Lineage:
        """A lineage from the root's facts, its ancestors' and the subjects known to be unregistered."""
        artifacts: dict[bytes, ArtifactFacts | None] = dict.fromkeys(unknown)
        for facts in (root, *ancestors):
            if artifacts.get(facts.subject) is not None:
                raise LineageError(f"{short(facts.subject)} is given twice")
            artifacts[facts.subject] = facts
        return cls(root.subject, artifacts)

    @property
    def root_facts(self) -> ArtifactFacts:
        return self.artifacts[self.root]  # type: ignore[return-value]

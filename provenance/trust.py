"""Whose word counts: which records of a subject a verdict relies on (DESIGN.md, "Whose word counts").

The registry is permissionless: anyone may register a record for any
subject. So a verdict never lets possession of a Statement, the earliest
record or the newest one decide; it relies on records by who made them:

* For the verified artifact: the records of publishers the policy trusts.
  With no trusted publisher among them, every publisher's record counts and
  the verdict judges by the most restrictive (a policy that trusts one
  settles it). Other records are shown as information.
* For an ancestor: the record its child's publisher pinned in the signed
  lineage (``{subject, record}``). Without a pin (claims made before pins):
  the trusted publishers' records, else the child publisher's own records of
  it, else every record (the most restrictive).
* Corrections: a record its publisher superseded is replaced by the
  successor; a record its publisher revoked for any reason but key
  compromise is replaced by the same publisher's newest record of the same
  subject registered after it (revoked for a typo and registered again).
  After a key compromise nothing signed by that key replaces anything.

Pure: it reads :class:`Candidate` values the verifier builds from the index,
the Statements it holds and the registry's events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from provenance.policy import Policy
from provenance.record import ReasonCode

__all__ = ["Candidate", "Reliance", "rely_on_subject", "rely_on_parent", "corrected"]

KEY_COMPROMISE = ReasonCode.KEY_COMPROMISE.label


@dataclass(frozen=True)
class Candidate:
    """One record of a subject as far as trust needs it.

    ``anchored``: in this registry (registered directly, or in a batch its
    publisher anchored or proved it into). ``block``: where it was registered
    or anchored (-1 when not anchored), to order one publisher's records.
    ``revoked``: the reason code of its revocation (None: not revoked).
    ``successor``: the record its publisher superseded it by.
    """

    record_id: bytes
    subject: bytes
    publisher: str
    anchored: bool
    block: int = -1
    revoked: str | None = None
    successor: bytes | None = None

    def by(self, publisher: str) -> bool:
        return self.publisher.lower() == publisher.lower()


@dataclass(frozen=True)
class Reliance:
    """The records a verdict relies on, each with the earlier records it stands in for, and why.

    ``why`` has one sentence for every candidate (relied on or not) and for
    every record a relied-on one replaced; ``missing``: pinned record ids no
    candidate or look-up knows.
    """

    relied: tuple[Candidate, ...]
    replaced: Mapping[bytes, tuple[bytes, ...]] = field(default_factory=dict)
    why: Mapping[bytes, str] = field(default_factory=dict)
    missing: tuple[bytes, ...] = ()

    @property
    def publishers(self) -> list[str]:
        return list(dict.fromkeys(c.publisher for c in self.relied))

    def is_relied(self, record_id: bytes) -> bool:
        return any(c.record_id == record_id for c in self.relied)


Lookup = Callable[[bytes], "Candidate | None"]


def _short(value: bytes) -> str:
    text = value.hex()
    return f"0x{text[:8]}...{text[-4:]}"


def corrected(
    candidate: Candidate, look_up: Lookup, siblings: Sequence[Candidate], *, across_subjects: bool
) -> tuple[Candidate, tuple[bytes, ...]]:
    """The record that stands for ``candidate`` after its publisher's corrections, and the ones it replaced.

    ``siblings``: the other records of the same subject (for a revoked record registered again).
    ``across_subjects``: follow a successor of another subject (an ancestor's new version); the
    verified artifact's own files are of one subject, so there only a same-subject successor replaces.
    """
    current, seen = candidate, [candidate.record_id]
    while True:
        following: Candidate | None = None
        if current.successor is not None:
            successor = look_up(current.successor)
            if successor is not None and successor.anchored \
                    and (across_subjects or successor.subject == current.subject):
                following = successor
        elif current.revoked is not None and current.revoked != KEY_COMPROMISE:
            later = [s for s in siblings if s.by(current.publisher) and s.subject == current.subject and s.anchored
                     and s.block > current.block and s.record_id not in seen]
            if later:
                following = max(later, key=lambda s: (s.revoked is None, s.block))
        if following is None or following.record_id in seen:
            return current, tuple(seen[:-1])
        seen.append(following.record_id)
        current = following


def _correction(old: Candidate, new: Candidate) -> str:
    how = "superseded it" if old.successor is not None else f"revoked it ({old.revoked}) and registered it again"
    return f"replaced by record {_short(new.record_id)}: its publisher {old.publisher} {how}"


def _relying(
    chosen: Iterable[Candidate], look_up: Lookup, siblings: Sequence[Candidate], why: str, *, across_subjects: bool
) -> tuple[dict[bytes, Candidate], dict[bytes, tuple[bytes, ...]], dict[bytes, str]]:
    relied: dict[bytes, Candidate] = {}
    replaced: dict[bytes, tuple[bytes, ...]] = {}
    reasons: dict[bytes, str] = {}
    by_id = {c.record_id: c for c in siblings}
    for candidate in chosen:
        current, earlier = corrected(candidate, look_up, siblings, across_subjects=across_subjects)
        relied.setdefault(current.record_id, current)
        replaced[current.record_id] = tuple(dict.fromkeys((*replaced.get(current.record_id, ()), *earlier)))
        reasons.setdefault(current.record_id, why)
        chain = [*earlier, current.record_id]
        for old_id, new_id in zip(chain, chain[1:], strict=False):
            old = by_id.get(old_id) or look_up(old_id)
            new = by_id.get(new_id) or look_up(new_id)
            if old is not None and new is not None:
                reasons[old_id] = _correction(old, new)
    for rid in [r for r in relied if any(r in earlier for earlier in replaced.values())]:
        del relied[rid]  # a record another relied-on record replaced is not relied on twice
    return relied, replaced, reasons


def rely_on_subject(candidates: Sequence[Candidate], policy: Policy, look_up: Lookup) -> Reliance:
    """The records of the verified artifact's subject a verdict relies on (none when none is anchored)."""
    anchored = [c for c in candidates if c.anchored]
    trusted = [c for c in anchored if policy.is_trusted_publisher(c.publisher)]
    if trusted:
        why = "a record by {publisher}, whom the policy trusts"
    else:
        why = ("every publisher's record counts: the policy trusts none of this subject's publishers, so the "
               "verdict judges by the most restrictive record")
    relied, replaced, reasons = _relying(trusted or anchored, look_up, candidates, why, across_subjects=False)
    for c in candidates:
        if c.record_id in reasons:
            reasons[c.record_id] = reasons[c.record_id].format(publisher=c.publisher)
        elif not c.anchored:
            reasons[c.record_id] = "not in this registry: a Statement alone decides nothing"
        else:
            reasons[c.record_id] = (f"by {c.publisher}, whom the policy does not trust: shown for information, "
                                    "a trusted publisher's record decides")
    return Reliance(tuple(relied.values()), {k: v for k, v in replaced.items() if v and k in relied}, reasons)


def rely_on_parent(
    subject: bytes,
    candidates: Sequence[Candidate],
    policy: Policy,
    look_up: Lookup,
    *,
    pinned: Iterable[bytes] = (),
    named_by: Iterable[str] = (),
) -> Reliance:
    """The records of an ancestor's subject its descendants rely on.

    ``pinned``: the record ids children pinned for this subject (their signed lineage);
    ``named_by``: the publishers of the children that name it without a pin.
    """
    by_id = {c.record_id: c for c in candidates}
    pins = list(dict.fromkeys(pinned))
    chosen: list[Candidate] = []
    missing: list[bytes] = []
    for rid in pins:
        found = by_id.get(rid) or look_up(rid)
        if found is None or found.subject != subject:  # a pin to another subject's record pins nothing
            missing.append(rid)
        else:
            chosen.append(found)
    anchored = [c for c in candidates if c.anchored]
    namers = list(named_by)
    why = "pinned by its child's publisher in the signed lineage"
    if not pins or namers:  # a child that names the subject without a pin: trust decides for it
        trusted = [c for c in anchored if policy.is_trusted_publisher(c.publisher)]
        own = [c for c in anchored if any(c.by(p) for p in namers)]
        if trusted:
            chosen += trusted
            why = "pinned by its child, or by {publisher}, whom the policy trusts"
        elif own:
            chosen += own
            why = "by the child's own publisher (the child names the subject without pinning a record)"
        else:
            chosen += anchored
            why = ("every publisher's record counts: the child names the subject without pinning a record and the "
                   "policy trusts none of its publishers, so the most restrictive decides")
        if not chosen:
            chosen = list(candidates)  # none on chain: judged on their Statements (the verifier says so)
    relied, replaced, reasons = _relying(chosen, look_up, candidates, why, across_subjects=True)
    for rid in pins:
        if rid in reasons and rid in relied:
            reasons[rid] = "pinned by its child's publisher in the signed lineage"
    for c in candidates:
        if c.record_id in reasons:
            reasons[c.record_id] = reasons[c.record_id].format(publisher=c.publisher)
        else:
            reasons[c.record_id] = (f"by {c.publisher}: not the record its child relied on, shown for information")
    return Reliance(tuple(relied.values()), {k: v for k, v in replaced.items() if v and k in relied}, reasons,
                    tuple(missing))

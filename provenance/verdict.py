"""What the verifier concludes: one :class:`Check` per line, gathered in a :class:`Verdict`.

A check is one line of the verdict table: which check (``integrity`` ...
``evaluations``), its :class:`Status`, a stable :class:`Code` from CLAIMS.md,
a sentence a person understands and the evidence behind it (tx hash, block,
proof, file path, subjects). Codes are the interface users and tests match on;
docs/verdicts.md explains each one and what to do about it.

How the lines add up (docs/verdicts.md repeats this for users):

* ``overall`` is ``fail`` when any check fails, else ``warn`` when any check
  warns **or is unverifiable**, else ``pass``. An unverifiable check never
  passes: something the verifier needed was out of reach, so nothing is
  claimed about it.
* An ``info`` line weighs nothing: ``overall``, :meth:`Verdict.exit_code` and
  :meth:`Verdict.ok` ignore it, whatever ``strict`` says. It shows what anyone
  could write about the subject (a stranger's record or dispute), which a
  verdict must neither hide nor let decide anything; its code says what it is
  about and is never ``OK``.
* :meth:`Verdict.exit_code` gives the CLI's code: ``1`` when any check fails,
  or under ``strict`` when any check warns; else ``2`` when any check is
  unverifiable (the verifier could not do its job, whatever ``strict`` says);
  else ``0``. A definite failure outranks "could not verify".
* A check passes only with code ``OK`` and ``OK`` only passes: a problem code
  can never be reported as a pass.

A verdict also carries the table of every record of its subject it saw
(:class:`RecordSeen`): whose it is, whether the policy trusts the publisher,
its state, and whether the verdict relied on it and why (docs/trust.md says
whose records count). At most one is relied on: the verdict's ``record_id``.

:meth:`Verdict.to_json` writes the documented, versioned JSON of
``provenance/data/verdict.schema.json``; :meth:`Verdict.to_table` the plain
text table of the CLI.
"""

from __future__ import annotations

import enum
import json
import math
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal, get_args

from provenance._text import printable
from provenance.errors import VerdictError

__all__ = [
    "Status",
    "CheckName",
    "Code",
    "Check",
    "RecordSeen",
    "RECORD_STATES",
    "RecordState",
    "Verdict",
    "VerdictError",
    "SCHEMA_VERSION",
    "verdict_schema",
]

#: The ``version`` field of :meth:`Verdict.to_json`; raised only on incompatible changes.
SCHEMA_VERSION = 1


class Status(enum.StrEnum):
    """The status of one check; ``unverifiable``: the check could not be carried out;
    ``info``: shown for information, weighs nothing."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNVERIFIABLE = "unverifiable"
    INFO = "info"


class CheckName(enum.StrEnum):
    """The checks of a verdict, in the order the table shows them (DESIGN.md, Verification)."""

    INTEGRITY = "integrity"
    AUTHENTICITY = "authenticity"
    ANCHORING = "anchoring"
    STATUS = "status"
    CLAIMS = "claims"
    COPYRIGHT = "copyright"
    PRIVACY = "privacy"
    LINEAGE = "lineage"
    ENDORSEMENTS = "endorsements"
    EVALUATIONS = "evaluations"

    @property
    def order(self) -> int:
        """Its place in a verdict (the order above): a verdict sorts its checks by it."""
        return _CHECK_ORDER[self]


# A list of the members made anew for each check it sorted was 5% of a verdict's time (iterating an enum
# is slow).
_CHECK_ORDER: dict[CheckName, int] = {name: place for place, name in enumerate(CheckName)}


class Code(enum.StrEnum):
    """The stable verdict codes of CLAIMS.md, then the evaluation codes; docs/verdicts.md explains each."""

    # integrity and anchoring
    OK = "OK"
    TAMPERED = "TAMPERED"
    NOT_REGISTERED = "NOT_REGISTERED"
    UNTRUSTED_PUBLISHER = "UNTRUSTED_PUBLISHER"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    NOT_ANCHORED = "NOT_ANCHORED"
    BAD_PROOF = "BAD_PROOF"
    UNCONFIRMED = "UNCONFIRMED"
    REVOKED = "REVOKED"
    SUPERSEDED = "SUPERSEDED"
    DISCLOSURE_MISMATCH = "DISCLOSURE_MISMATCH"
    DISPUTED = "DISPUTED"
    # copyright
    LICENSE_UNSPECIFIED = "LICENSE_UNSPECIFIED"
    LICENSE_CONFLICT = "LICENSE_CONFLICT"
    USE_NOT_PERMITTED = "USE_NOT_PERMITTED"
    SHARE_ALIKE = "SHARE_ALIKE"
    NO_DERIVATIVES = "NO_DERIVATIVES"
    RESTRICTIONS_DROPPED = "RESTRICTIONS_DROPPED"
    OPT_OUT_VIOLATION = "OPT_OUT_VIOLATION"
    TRAINING_NOT_ALLOWED = "TRAINING_NOT_ALLOWED"
    # privacy
    PRIVACY_UNVERIFIED = "PRIVACY_UNVERIFIED"
    PERSONAL_DATA_CONFLICT = "PERSONAL_DATA_CONFLICT"
    NO_LAWFUL_BASIS = "NO_LAWFUL_BASIS"
    NO_SPECIAL_CATEGORY_CONDITION = "NO_SPECIAL_CATEGORY_CONDITION"
    DP_INVALID = "DP_INVALID"
    DP_BUDGET_EXCEEDED = "DP_BUDGET_EXCEEDED"
    ERASURE_AFFECTED = "ERASURE_AFFECTED"
    CONFIDENTIALITY_CONFLICT = "CONFIDENTIALITY_CONFLICT"
    # lineage
    PARENT_UNKNOWN = "PARENT_UNKNOWN"
    PARENT_FAILED = "PARENT_FAILED"
    # evaluations (issue 16: not in CLAIMS.md's first list)
    EVAL_MISSING = "EVAL_MISSING"
    EVAL_BELOW_THRESHOLD = "EVAL_BELOW_THRESHOLD"


def _freeze(value: Any, where: str) -> Any:
    """A JSON-ready, immutable copy of evidence: bytes as 0x-hex, lists as tuples."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most evidence: no isinstance chain
        return value
    if kind is dict:  # before Mapping: an ABC's isinstance check costs several times more
        return _frozen_mapping(value, where)
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return _freeze(value.value, where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"evidence {where} is not a finite number: {value!r}")
        return value
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return _frozen_mapping(value, where)
    if isinstance(value, (list, tuple, set, frozenset)):
        ordered = sorted(value) if isinstance(value, (set, frozenset)) else value
        return tuple(_freeze(item, f"{where}[]") for item in ordered)
    raise ValueError(f"evidence {where} is a {type(value).__name__}, which JSON cannot carry")


def _frozen_mapping(value: Mapping[Any, Any], where: str) -> types.MappingProxyType[str, Any]:
    items: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError(f"evidence {where} has a key that is not a string: {key!r}")
        items[key] = _freeze(item, f"{where}.{key}")
    return types.MappingProxyType(items)


def _thaw(value: Any) -> Any:
    """What :func:`_freeze` made, as JSON's types again (its mappings and sequences are of these two types)."""
    kind = type(value)
    if kind is types.MappingProxyType:
        return {key: _thaw(item) for key, item in value.items()}
    if kind is tuple:
        return [_thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class Check:
    """One line of a verdict.

    ``evidence`` is copied into an immutable, JSON-ready form: ``bytes`` become
    ``0x``-hex strings, lists become tuples. ``status`` is ``pass`` exactly when
    ``code`` is ``OK``; anything else is refused as a programming error. So an
    ``info`` line always has a code saying what it is about (``DISPUTED``,
    ``UNTRUSTED_PUBLISHER`` ...).
    """

    check: CheckName
    status: Status
    code: Code
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        try:  # the rules pass members; text (a verdict read back) is converted
            if type(self.check) is not CheckName:
                object.__setattr__(self, "check", CheckName(self.check))
            if type(self.status) is not Status:
                object.__setattr__(self, "status", Status(self.status))
            if type(self.code) is not Code:
                object.__setattr__(self, "code", Code(self.code))
        except ValueError as err:
            raise ValueError(f"invalid check: {err}") from None
        if not isinstance(self.message, str) or not self.message.strip():
            raise ValueError(f"a {self.check} check needs a message")
        if (self.status is Status.PASS) != (self.code is Code.OK):
            raise ValueError(
                f"a {self.check} check with code {self.code} cannot have status {self.status}: "
                "only OK passes, and OK only passes"
            )
        if not isinstance(self.evidence, Mapping):
            raise ValueError("evidence must be a mapping")
        object.__setattr__(self, "evidence", _freeze(self.evidence, "evidence"))

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check.value,
            "status": self.status.value,
            "code": self.code.value,
            "message": self.message,
            "evidence": _thaw(self.evidence),
        }


# INFO is absent on purpose: an info line weighs nothing.
_OVERALL_RANK = {Status.PASS: 0, Status.WARN: 1, Status.UNVERIFIABLE: 1, Status.FAIL: 2}


def _hex32(value: bytes | None, what: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return value


#: The states of a :class:`RecordSeen`, as the records table and the JSON write them.
RecordState = Literal["registered", "revoked", "superseded", "not anchored"]
RECORD_STATES: tuple[str, ...] = get_args(RecordState)

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class RecordSeen:
    """One record of the verified subject, as the verdict saw it.

    ``publisher`` and ``why`` may come from chain data anyone can write: the
    address is checked to be one, and the table escapes ``why`` as it escapes
    check messages. ``trusted``: the policy trusts the publisher; ``relied``:
    the verdict rests on this record; ``why``: one sentence saying why it was
    relied on, or why not.
    """

    record_id: bytes
    publisher: str
    relied: bool
    trusted: bool
    state: str
    why: str

    def __post_init__(self) -> None:
        if not isinstance(self.record_id, bytes) or len(self.record_id) != 32:
            raise ValueError(f"a record seen needs a 32-byte record_id, not {self.record_id!r}")
        if not isinstance(self.publisher, str) or not _ADDRESS.fullmatch(self.publisher):
            raise ValueError(f"a record seen needs a publisher address (0x and 40 hex digits), not {self.publisher!r}")
        for name in ("relied", "trusted"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"a record seen's {name} must be True or False, not {getattr(self, name)!r}")
        if self.state not in RECORD_STATES:
            raise ValueError(f"a record seen's state must be one of {', '.join(RECORD_STATES)}, not {self.state!r}")
        if not isinstance(self.why, str) or not self.why.strip():
            raise ValueError("a record seen needs a why: why it was relied on, or why not")

    def to_json(self) -> dict[str, Any]:
        return {
            "recordId": "0x" + self.record_id.hex(),
            "publisher": self.publisher,
            "relied": self.relied,
            "trusted": self.trusted,
            "state": self.state,
            "why": self.why,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordSeen:
        """Read :meth:`to_json` output back; ValueError (or KeyError, TypeError) when it is not one."""
        if not isinstance(data, Mapping):
            raise TypeError("a record seen must be a JSON object")
        unknown = set(data) - {"recordId", "publisher", "relied", "trusted", "state", "why"}
        if unknown:
            raise ValueError(f"a record seen has unknown fields: {', '.join(sorted(unknown))}")
        return cls(
            record_id=_parse_hex32(data["recordId"]),
            publisher=data["publisher"],
            relied=data["relied"],
            trusted=data["trusted"],
            state=data["state"],
            why=data["why"],
        )


@dataclass(frozen=True)
class Verdict:
    """Every check about one artifact. ``record_id`` is None when no record was found.

    ``checks`` are kept in table order (integrity first, evaluations last;
    within one check, in the order given), so output is deterministic. At
    least one check must weigh something (not ``info``): a verdict of nothing
    but information would read ``pass`` without having checked anything.

    ``records`` lists every record of the subject the verifier saw: the one
    relied on first, then those of trusted publishers, then the rest, each
    group in the order given. At most one is relied on, and it is
    ``record_id``; a record appears once.
    """

    subject: bytes
    record_id: bytes | None
    checks: tuple[Check, ...]
    records: tuple[RecordSeen, ...] = ()

    def __post_init__(self) -> None:
        _hex32(self.subject, "subject")
        _hex32(self.record_id, "record_id")
        checks = tuple(self.checks)
        if not checks:
            raise ValueError("a verdict needs at least one check")
        if not all(isinstance(c, Check) for c in checks):
            raise ValueError("a verdict's checks must be Check objects")
        if all(c.status is Status.INFO for c in checks):
            raise ValueError("a verdict needs at least one check that is not info: info lines weigh nothing")
        object.__setattr__(self, "checks", tuple(sorted(checks, key=lambda c: c.check.order)))
        records = tuple(self.records)
        if not all(isinstance(r, RecordSeen) for r in records):
            raise ValueError("a verdict's records must be RecordSeen objects")
        ids = [r.record_id for r in records]
        if len(set(ids)) != len(ids):
            raise ValueError("a verdict lists each record it saw once")
        relied = [r.record_id for r in records if r.relied]
        # several records are relied on when the policy trusts none of their publishers (the most restrictive
        # decides): record_id is then the most restrictive one, and always one of them
        if relied and self.record_id not in relied:
            raise ValueError("a verdict's record_id must be one of the records it relies on")
        object.__setattr__(self, "records", tuple(sorted(records, key=lambda r: (not r.relied, not r.trusted))))

    # --- conclusions -------------------------------------------------------

    @property
    def overall(self) -> Status:
        """``fail``, ``warn`` or ``pass`` (``unverifiable`` counts as ``warn``; ``info`` lines weigh nothing)."""
        worst = max(_OVERALL_RANK[c.status] for c in self.checks if c.status is not Status.INFO)
        return (Status.PASS, Status.WARN, Status.FAIL)[worst]

    def has(self, status: Status) -> bool:
        return any(c.status is status for c in self.checks)

    def exit_code(self, *, strict: bool = False) -> int:
        """0 pass (and warn unless ``strict``), 1 fail (warn too under ``strict``), 2 could not verify;
        ``info`` lines weigh nothing."""
        if self.has(Status.FAIL) or (strict and self.has(Status.WARN)):
            return 1
        if self.has(Status.UNVERIFIABLE):
            return 2
        return 0

    def ok(self, *, strict: bool = False) -> bool:
        """True when the artifact may be used as the policy intends (exit code 0)."""
        return self.exit_code(strict=strict) == 0

    @property
    def codes(self) -> tuple[Code, ...]:
        """The codes of every check, in table order (repeats kept)."""
        return tuple(c.code for c in self.checks)

    def checks_of(self, check: CheckName | str) -> tuple[Check, ...]:
        name = CheckName(check)
        return tuple(c for c in self.checks if c.check is name)

    # --- output ------------------------------------------------------------

    def to_json(self, *, strict: bool = False) -> dict[str, Any]:
        """The stable JSON form (docs/verdicts.md, ``provenance/data/verdict.schema.json``)."""
        return {
            "version": SCHEMA_VERSION,
            "subject": "0x" + self.subject.hex(),
            "recordId": None if self.record_id is None else "0x" + self.record_id.hex(),
            "overall": self.overall.value,
            "strict": strict,
            "exitCode": self.exit_code(strict=strict),
            "checks": [c.to_json() for c in self.checks],
            "records": [r.to_json() for r in self.records],
        }

    def to_json_text(self, *, strict: bool = False) -> str:
        return json.dumps(self.to_json(strict=strict), indent=2, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        """Read :meth:`to_json` output back (the API's clients, stored results); validates it.

        ``records`` may be absent (documents written before it existed): no records.
        """
        try:
            if not isinstance(data, Mapping):
                raise TypeError("a verdict must be a JSON object")
            if data.get("version") != SCHEMA_VERSION:
                raise ValueError(f"version {data.get('version')!r} is not {SCHEMA_VERSION}")
            record_id = data.get("recordId")
            verdict = cls(
                subject=_parse_hex32(data["subject"]),
                record_id=None if record_id is None else _parse_hex32(record_id),
                checks=tuple(
                    Check(c["check"], c["status"], c["code"], c["message"], c.get("evidence", {}))
                    for c in data["checks"]
                ),
                records=tuple(RecordSeen.from_json(r) for r in _json_list(data.get("records", []), "records")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise VerdictError(f"not a verdict document: {err}") from None
        if data.get("overall", verdict.overall.value) != verdict.overall.value:
            raise VerdictError(
                f"not a verdict document: overall {data['overall']!r} contradicts its checks "
                f"({verdict.overall.value})"
            )
        return verdict

    def to_table(self, *, strict: bool = False) -> str:
        """Plain text for a terminal: a header, one line per check, the records seen, the overall result.

        Messages and the records' ``why`` are escaped for the terminal
        (:func:`provenance._text.printable`); :meth:`to_json` keeps them exact.
        """
        rows = [("CHECK", "STATUS", "CODE", "REASON")]
        rows += [(c.check.value, c.status.value, c.code.value, _one_line(c.message)) for c in self.checks]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"subject   0x{self.subject.hex()}"]
        lines.append(f"record    {'0x' + self.record_id.hex() if self.record_id else '(none found)'}")
        lines.append("")
        for row in rows:
            cells = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            lines.append(cells + "  " + row[3])
        lines.append("")
        if self.records:
            lines += self._records_table()
            lines.append("")
        code = self.exit_code(strict=strict)
        note = {0: "", 1: " (fails)", 2: " (could not verify every check)"}[code]
        if strict and self.has(Status.WARN) and not self.has(Status.FAIL):
            note = " (warnings fail under --strict)"
        lines.append(f"overall   {self.overall.value}{note}")
        return "\n".join(lines) + "\n"


    def _records_table(self) -> list[str]:
        """The records section: one line per record seen, relied on first."""
        rows = [
            (
                _short(r.record_id),
                "by " + _one_line(r.publisher),
                "trusted" if r.trusted else "not trusted",
                "relied on" if r.relied else "not relied on",
                r.state,
                _one_line(r.why),
            )
            for r in self.records
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [f"records   {len(self.records)} of this subject:"]
        for row in rows:
            cells = "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
            lines.append("  " + cells + "  " + row[5])
        return lines


def _short(value: bytes) -> str:
    """A record id as messages name it: the first 8 and last 4 hex digits."""
    text = value.hex()
    return f"0x{text[:8]}...{text[-4:]}"


def _json_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list")
    return value


def _one_line(text: str) -> str:
    """One table cell: controls and bidi characters escaped (messages quote file names), whitespace folded."""
    return " ".join(printable(text, keep="\n").split())


def _parse_hex32(text: Any) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x") or len(text) != 66:
        raise ValueError(f"{text!r} is not 0x followed by 64 hex digits")
    return bytes.fromhex(text[2:])


def verdict_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :meth:`Verdict.to_json`, shipped as package data."""
    text = resources.files("provenance").joinpath("data/verdict.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)  # the shipped file is a JSON object
    return schema


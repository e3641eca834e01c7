"""The trust policy: whom the verifier trusts and what the user means to do.

A policy file is YAML (or JSON, which is YAML) read into frozen dataclasses
by a validator that refuses unknown keys and coerces nothing; every refusal is
one :class:`PolicyError` listing each problem as ``dotted.path: what is wrong;
accepted: what would do``. docs/policy.md is the user's guide; in short::

    version: 1
    use: commercial              # commercial | non-commercial | research
    trusted_publishers: [0x...]  # addresses whose records are trusted
    trusted_auditors: [0x...]    # addresses whose endorsements and disputes count
    trusted_evaluators: [0x...]  # addresses whose evaluation results count
    untrusted_publisher: fail    # fail | warn; omitted: fail if trusted_publishers
                                 # lists anyone, else warn
    confirmations: 1             # blocks, counting the one holding the record
    require:                     # each turns a warning into a failure
      endorsements: false        # a trusted auditor must endorse the record
      privacy: false             # PRIVACY_UNVERIFIED fails
      anchoring: false           # NOT_ANCHORED and UNCONFIRMED fail
      license: false             # LICENSE_UNSPECIFIED fails
      parents: false             # PARENT_UNKNOWN fails
      evaluations:               # results a trusted evaluator must have registered
        - {task: toxigen, metric: acc, min: 0.8, category: safety}   # by: [0x...] (default trusted_evaluators)
    differential_privacy:
      epsilon_max: 10.0          # summed over the lineage
      delta_max: 1.0e-5          # summed over the lineage; null: no limit

Decisions (also in docs/policy.md):

* The default intended use is ``commercial``: it is the most restrictive check,
  so a user who says nothing is never told that a non-commercial model is fine.
  ``research`` means non-commercial academic research (academic-only licenses
  allow it); research inside a company is ``commercial``.
* YAML is read with YAML 1.2 scalars, so an unquoted ``0x...`` address stays
  text and ``no`` is not a boolean; a key given twice is refused.
* Addresses are stored checksummed and compared case-insensitively.

The validator is this module's own rather than pydantic's (as the claims'
models are): every ``provenance verify`` reads a policy, and importing pydantic
for it and building its models cost that command about 36 ms of CPU (a fifth
of it), taken from the processes hashing the artifact beside it. :meth:`Policy.json_schema` states
the same rules for the service's OpenAPI document; tests hold the two together.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from provenance._documents import not_accepted, parse_yaml, problems_text, read_text
from provenance.errors import PolicyError
from provenance.licenses import UseClass
from provenance.record import checksum_address
from provenance.verdict import Code, Status
from provenance.vocabulary import EVALUATION_CATEGORIES, Category

__all__ = [
    "Policy",
    "Require",
    "EvaluationRequirement",
    "EvaluationCategory",
    "EVALUATION_CATEGORIES",
    "PrivacyBudget",
    "PolicyError",
    "IntendedUse",
    "INTENDED_USES",
    "DEFAULT_EPSILON_MAX",
    "DEFAULT_DELTA_MAX",
]

IntendedUse = Literal["commercial", "non-commercial", "research"]
#: The accepted intended uses, most restrictive check first.
INTENDED_USES: tuple[str, ...] = typing.get_args(IntendedUse)

#: What an evaluation measures: the claims' ``evaluation.category`` vocabulary, one definition.
EvaluationCategory = Category

#: Default budget: summed epsilon above 10 is beyond what DP deployments in
#: machine learning usually claim as meaningful protection.
DEFAULT_EPSILON_MAX = 10.0
#: Default summed delta: 1e-5, i.e. well below 1/n for datasets over 100k people.
DEFAULT_DELTA_MAX = 1e-5

#: Use classes (licenses.UseClass) under which each intended use is permitted.
#: ``unspecified`` is permitted but warned about (LICENSE_UNSPECIFIED).
_PERMITTED: dict[str, frozenset[UseClass]] = {
    "commercial": frozenset({UseClass.COMMERCIAL, UseClass.UNSPECIFIED}),
    "non-commercial": frozenset({UseClass.COMMERCIAL, UseClass.UNSPECIFIED, UseClass.NON_COMMERCIAL}),
    "research": frozenset(UseClass),
}

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ADDRESSES = "a list of addresses, each 0x followed by 40 hex digits (quote them or not)"
_TEXT = "a non-empty text"
_BOUND = "a number, or null (no bound)"


@dataclass(frozen=True)
class EvaluationRequirement:
    """One result the policy requires: a counted evaluation by one of ``by`` with this task and metric
    (and category, if given) and a value within [``min``, ``max``]. ``by`` left out: ``trusted_evaluators``."""

    task: str
    metric: str
    min: float | None = None
    max: float | None = None
    category: EvaluationCategory | None = None
    by: tuple[str, ...] | None = None

    def bounds_text(self) -> str:
        """The bounds as a person reads them: ``>= 0.8``, ``<= 0.1``, ``in [0.2, 0.4]``, ``any value``."""
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        if self.min is not None:
            return f">= {self.min:g}"
        return f"<= {self.max:g}" if self.max is not None else "any value"

    def admits(self, value: float) -> bool:
        """Whether ``value`` is within the bounds."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class Require:
    """Checks whose warning becomes a failure (all off by default), and the evaluation results required."""

    endorsements: bool = False
    privacy: bool = False
    anchoring: bool = False
    license: bool = False
    parents: bool = False
    evaluations: tuple[EvaluationRequirement, ...] = ()


@dataclass(frozen=True)
class PrivacyBudget:
    """The differential-privacy budget, summed over the artifact and its ancestors."""

    epsilon_max: float = DEFAULT_EPSILON_MAX
    delta_max: float | None = DEFAULT_DELTA_MAX


@dataclass(frozen=True)
class Policy:
    """A validated trust policy. Build it with :meth:`from_file`, :meth:`from_mapping` or :meth:`default`."""

    version: Literal[1] = 1
    use: IntendedUse = "commercial"
    trusted_publishers: tuple[str, ...] = ()
    trusted_auditors: tuple[str, ...] = ()
    trusted_evaluators: tuple[str, ...] = ()
    untrusted_publisher: Literal["fail", "warn"] | None = None
    confirmations: int = 1
    require: Require = field(default_factory=Require)
    differential_privacy: PrivacyBudget = field(default_factory=PrivacyBudget)
    #: The top-level keys the policy's file (or mapping) gave: what it left to defaults is the rest.
    given: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    # --- construction --------------------------------------------------------

    @classmethod
    def default(cls) -> Policy:
        """The policy used without ``--policy``: see the module docstring and docs/policy.md."""
        return cls()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, *, source: str | None = None) -> Policy:
        """Validate an already parsed policy; ``source`` names it in error messages. Empty means default."""
        where = f"policy file {source}" if source else "the policy"
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise PolicyError(
                f"{where}: the top level must be a mapping with keys {', '.join(_POLICY.keys)}, "
                f"got {type(data).__name__}"
            )
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise PolicyError(
                f"{where}: {err}; accepted: plain values (strings, numbers, booleans, lists, mappings)"
            ) from None
        problems: list[tuple[str, str]] = []
        # what JSON holds, nothing else: YAML's types, tuples or mapping subclasses read as JSON would
        values = _POLICY.read(json.loads(text), "", problems)
        if not problems:
            policy = cls(**values, given=frozenset(data))
            problems = policy._unsatisfiable()
            if not problems:
                return policy
        raise PolicyError(
            f"{where} has {problems_text(problems)}", hint="fix the keys listed; docs/policy.md describes them"
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Read a YAML (or JSON) policy file."""
        path = Path(path)
        text = read_text(path, what="policy file", option="--policy", error=PolicyError)
        # JSON is YAML: one parser for both (its duplicate-key and YAML 1.2 rules hold for either)
        data = parse_yaml(text, path, what="policy file", error=PolicyError)
        return cls.from_mapping(data, source=str(path))

    def with_use(self, use: str) -> Policy:
        """This policy with another intended use (the CLI's ``--use``)."""
        if use not in INTENDED_USES:
            raise PolicyError(f"unknown intended use {use!r}; accepted: {', '.join(INTENDED_USES)}")
        return dataclasses.replace(self, use=typing.cast(IntendedUse, use))

    def to_dict(self) -> dict[str, Any]:
        """The policy in file form, every default spelled out."""
        plain: dict[str, Any] = _plain(self)
        return plain

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of a policy file's mapping (the service's OpenAPI document shows it)."""
        return _POLICY.json_schema()

    def _unsatisfiable(self) -> list[tuple[str, str]]:
        return [
            (f"require.evaluations[{i}].by",
             "nobody can satisfy this requirement: by is not given and trusted_evaluators is empty; "
             "accepted: a list of addresses in by, or addresses in trusted_evaluators")
            for i, requirement in enumerate(self.require.evaluations) if not self.evaluators_for(requirement)
        ]

    # --- questions the verifier asks ------------------------------------------

    def is_trusted_publisher(self, address: str | None) -> bool:
        return address is not None and address.lower() in {a.lower() for a in self.trusted_publishers}

    def is_trusted_auditor(self, address: str | None) -> bool:
        return address is not None and address.lower() in {a.lower() for a in self.trusted_auditors}

    def is_trusted_evaluator(self, address: str | None) -> bool:
        return address is not None and address.lower() in {a.lower() for a in self.trusted_evaluators}

    def evaluators_for(self, requirement: EvaluationRequirement) -> tuple[str, ...]:
        """Whose results can meet ``requirement``: its ``by``, else :attr:`trusted_evaluators`."""
        return requirement.by if requirement.by is not None else self.trusted_evaluators

    @property
    def permitted_use_classes(self) -> frozenset[UseClass]:
        """License use classes under which :attr:`use` is permitted (unspecified warns)."""
        return _PERMITTED[self.use]

    def status_of(self, code: Code | str) -> Status:
        """The status of a code whose severity the policy sets.

        ``UNTRUSTED_PUBLISHER`` (``untrusted_publisher``), ``NOT_ANCHORED`` and
        ``UNCONFIRMED`` (``require.anchoring``), ``PRIVACY_UNVERIFIED``
        (``require.privacy``), ``LICENSE_UNSPECIFIED`` (``require.license``),
        ``PARENT_UNKNOWN`` (``require.parents``). Other codes have fixed
        statuses (docs/verdicts.md) and raise ``ValueError`` here.
        """
        code = Code(code)
        if code is Code.UNTRUSTED_PUBLISHER:
            mode = self.untrusted_publisher or ("fail" if self.trusted_publishers else "warn")
            return Status(mode)
        strict = {
            Code.NOT_ANCHORED: self.require.anchoring,
            Code.UNCONFIRMED: self.require.anchoring,
            Code.PRIVACY_UNVERIFIED: self.require.privacy,
            Code.LICENSE_UNSPECIFIED: self.require.license,
            Code.PARENT_UNKNOWN: self.require.parents,
        }
        if code not in strict:
            raise ValueError(f"the status of {code} does not depend on the policy")
        return Status.FAIL if strict[code] else Status.WARN


def _plain(value: Any) -> Any:
    """A policy (or a part of it) as JSON values: mappings, lists, strings, numbers, booleans, null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "given"}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


# --- reading a policy: each key's rule, its words for errors and its schema -----

_Problems = list[tuple[str, str]]
_INVALID: Any = object()
"""What a rule gives for a value it refused (the problem is listed already)."""
_REQUIRED: Any = object()
"""The default of a key that must be given."""


class _Refused(Exception):
    """A value a rule does not accept."""


class _Reader(typing.Protocol):
    @property
    def accepted(self) -> str: ...

    def read(self, value: Any, path: str, problems: _Problems) -> Any: ...

    def json_schema(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class _Value:
    """One plain value: ``check`` gives the value kept or raises :class:`_Refused`."""

    check: Callable[[Any], Any]
    accepted: str
    schema: dict[str, Any]

    def read(self, value: Any, path: str, problems: _Problems) -> Any:
        try:
            return self.check(value)
        except _Refused:
            problems.append((path, not_accepted(value, self.accepted)))
            return _INVALID

    def json_schema(self) -> dict[str, Any]:
        return {**self.schema, "description": self.accepted}


@dataclass(frozen=True)
class _Addresses:
    """A list of distinct addresses (compared case-insensitively), kept checksummed; or null if ``nullable``."""

    accepted: str
    nullable: bool = False

    def read(self, value: Any, path: str, problems: _Problems) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, list):
            problems.append((path, not_accepted(value, self.accepted)))
            return _INVALID
        kept = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                problems.append((f"{path}[{i}]", not_accepted(item, self.accepted)))
            elif not _ADDRESS.fullmatch(item):
                problems.append((f"{path}[{i}]", f"{item!r} is not an address; accepted: {self.accepted}"))
            else:
                kept.append(checksum_address(bytes.fromhex(item[2:])))
        if len(kept) < len(value):
            return _INVALID
        seen = set()
        for address in kept:
            if address.lower() in seen:
                problems.append((path, f"{address} is listed more than once; accepted: {self.accepted}"))
                return _INVALID
            seen.add(address.lower())
        return tuple(kept)

    def json_schema(self) -> dict[str, Any]:
        schema = {"type": "array", "items": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}, "uniqueItems": True}
        if self.nullable:
            return {"anyOf": [schema, {"type": "null"}], "description": self.accepted}
        return {**schema, "description": self.accepted}


@dataclass(frozen=True)
class _Mapping:
    """A mapping of these keys and no other, read into ``build`` (a dataclass) or a dict of the values.

    ``after`` checks the values together once each is valid: a reason it gives is a problem of the
    mapping's own path."""

    keys: dict[str, tuple[_Reader, Any]]  # key: (how its value is read, its default; _REQUIRED: none)
    accepted: str
    build: Callable[..., Any] | None = None
    after: Callable[[dict[str, Any]], str | None] | None = None

    def read(self, value: Any, path: str, problems: _Problems) -> Any:
        if not isinstance(value, dict):
            problems.append((path or "(top level)", not_accepted(value, self.accepted)))
            return _INVALID
        before = len(problems)
        values = {}
        for key, (reader, default) in self.keys.items():
            where = f"{path}.{key}" if path else key
            if key in value:
                values[key] = reader.read(value[key], where, problems)
            elif default is _REQUIRED:
                problems.append((where, f"missing; accepted: {reader.accepted}"))
            else:
                values[key] = default() if callable(default) else default
        problems.extend(((f"{path}.{key}" if path else key), f"unknown key; accepted keys here: {', '.join(self.keys)}")
                        for key in value if key not in self.keys)
        if len(problems) > before:
            return _INVALID
        reason = self.after(values) if self.after else None
        if reason:
            problems.append((path, f"{reason}; accepted: {self.accepted}"))
            return _INVALID
        return values if self.build is None else self.build(**values)

    def json_schema(self) -> dict[str, Any]:
        properties = {}
        for key, (reader, default) in self.keys.items():
            properties[key] = reader.json_schema()
            if default is not _REQUIRED:
                properties[key]["default"] = _plain(default() if callable(default) else default)
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False,
                                  "description": self.accepted}
        required = [key for key, (_reader, default) in self.keys.items() if default is _REQUIRED]
        return {**schema, "required": required} if required else schema


@dataclass(frozen=True)
class _List:
    """A list of mappings, each read by ``item``, kept as a tuple."""

    item: _Mapping
    accepted: str

    def read(self, value: Any, path: str, problems: _Problems) -> Any:
        if not isinstance(value, list):
            problems.append((path, not_accepted(value, self.accepted)))
            return _INVALID
        read = [self.item.read(item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
        return _INVALID if any(r is _INVALID for r in read) else tuple(read)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.json_schema(), "description": self.accepted}


def _check(test: Callable[[Any], bool], keep: Callable[[Any], Any] = lambda v: v) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not test(value):
            raise _Refused
        return keep(value)
    return check


def _is_number(value: Any) -> bool:
    """JSON's numbers that a float holds: no boolean, nothing infinite, no integer of 400 digits."""
    if type(value) is int:
        return abs(value) <= sys.float_info.max
    return type(value) is float and math.isfinite(value)


def _one_of(words: tuple[Any, ...], nullable: bool = False) -> Callable[[Any], Any]:
    return _check(lambda v: (v is None and nullable) or (isinstance(v, str) and v in words))


def _words_schema(words: tuple[Any, ...], nullable: bool = False) -> dict[str, Any]:
    return {"enum": [*words, None]} if nullable else {"enum": list(words)}


def _flag(accepted: str) -> _Value:
    return _Value(_check(lambda v: type(v) is bool), accepted, {"type": "boolean"})


def _text(accepted: str) -> _Value:
    return _Value(_check(lambda v: isinstance(v, str) and v != ""), accepted, {"type": "string", "minLength": 1})


def _bound(accepted: str) -> _Value:
    return _Value(_check(lambda v: v is None or _is_number(v), lambda v: None if v is None else float(v)), accepted,
                  {"anyOf": [{"type": "number"}, {"type": "null"}]})


def _min_above_max(values: dict[str, Any]) -> str | None:
    low, high = values["min"], values["max"]
    return f"min {low} is above max {high}: no value can meet it" if \
        low is not None and high is not None and low > high else None


_REQUIREMENT = _Mapping(
    {
        "task": (_text(_TEXT + " (the evaluation's task, e.g. toxigen)"), _REQUIRED),
        "metric": (_text(_TEXT + " (the result's metric, e.g. acc)"), _REQUIRED),
        "min": (_bound(_BOUND), None),
        "max": (_bound(_BOUND), None),
        "category": (_Value(_one_of(EVALUATION_CATEGORIES, nullable=True),
                            "one of " + ", ".join(EVALUATION_CATEGORIES) + ", or null (any)",
                            _words_schema(EVALUATION_CATEGORIES, nullable=True)), None),
        "by": (_Addresses(_ADDRESSES + ", or null (trusted_evaluators)", nullable=True), None),
    },
    "a mapping with keys task, metric, min, max, category, by (task and metric required)",
    build=EvaluationRequirement,
    after=_min_above_max,
)

_POLICY = _Mapping(
    {
        "version": (_Value(_check(lambda v: type(v) is int and v == 1), "1", {"const": 1}), 1),
        "use": (_Value(_one_of(INTENDED_USES), "one of " + ", ".join(INTENDED_USES), _words_schema(INTENDED_USES)),
                "commercial"),
        "trusted_publishers": (_Addresses(_ADDRESSES), ()),
        "trusted_auditors": (_Addresses(_ADDRESSES), ()),
        "trusted_evaluators": (_Addresses(_ADDRESSES), ()),
        "untrusted_publisher": (_Value(_one_of(("fail", "warn"), nullable=True),
                                       "fail, warn, or null (fail when trusted_publishers lists anyone, else warn)",
                                       _words_schema(("fail", "warn"), nullable=True)), None),
        "confirmations": (_Value(_check(lambda v: type(v) is int and v >= 0),
                                 "a whole number >= 0 (blocks, counting the record's own)",
                                 {"type": "integer", "minimum": 0}), 1),
        "require": (_Mapping(
            {
                "endorsements": (_flag("true or false: a trusted auditor must endorse the record"), False),
                "privacy": (_flag("true or false: PRIVACY_UNVERIFIED fails instead of warning"), False),
                "anchoring": (_flag("true or false: NOT_ANCHORED and UNCONFIRMED fail instead of warning"), False),
                "license": (_flag("true or false: LICENSE_UNSPECIFIED fails instead of warning"), False),
                "parents": (_flag("true or false: PARENT_UNKNOWN fails instead of warning"), False),
                "evaluations": (_List(_REQUIREMENT, "a list of mappings with keys task, metric, min, max, category, "
                                                    "by (task and metric required)"), ()),
            },
            "a mapping of endorsements, privacy, anchoring, license, parents (each true or false) and evaluations "
            "(a list)",
            build=Require,
        ), Require),
        "differential_privacy": (_Mapping(
            {
                "epsilon_max": (_Value(_check(lambda v: _is_number(v) and v > 0, float), "a number > 0",
                                       {"type": "number", "exclusiveMinimum": 0}), DEFAULT_EPSILON_MAX),
                "delta_max": (_Value(_check(lambda v: v is None or (_is_number(v) and 0 <= v < 1),
                                            lambda v: None if v is None else float(v)),
                                     "a number >= 0 and < 1, or null (no limit)",
                                     {"anyOf": [{"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                                                {"type": "null"}]}), DEFAULT_DELTA_MAX),
            },
            "a mapping of epsilon_max and delta_max",
            build=PrivacyBudget,
        ), PrivacyBudget),
    },
    "a mapping with keys version, use, trusted_publishers, trusted_auditors, trusted_evaluators, "
    "untrusted_publisher, confirmations, require, differential_privacy",
)

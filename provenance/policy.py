"""The trust policy: whom the verifier trusts and what the user means to do.

A policy file is YAML (or JSON, which is YAML) read into frozen pydantic
models that refuse unknown keys and coerce nothing; every refusal is one
:class:`PolicyError` listing each problem as ``dotted.path: what is wrong;
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
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from provenance._documents import parse_yaml, problems_text, read_text
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


def _address(value: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise ValueError(f"{value!r} is not an address")
    return checksum_address(bytes.fromhex(value[2:]))


def _unique_addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    seen = set()
    for value in values:
        if value.lower() in seen:
            raise ValueError(f"{value} is listed more than once")
        seen.add(value.lower())
    return values


Address = Annotated[str, AfterValidator(_address)]
Addresses = Annotated[tuple[Address, ...], AfterValidator(_unique_addresses)]
_ADDRESSES = "a list of addresses, each 0x followed by 40 hex digits (quote them or not)"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


_TEXT = "a non-empty text"
_BOUND = "a number, or null (no bound)"


class EvaluationRequirement(_Model):
    """One result the policy requires: a counted evaluation by one of ``by`` with this task and metric
    (and category, if given) and a value within [``min``, ``max``]. ``by`` left out: ``trusted_evaluators``."""

    task: str = Field(min_length=1, description=_TEXT + " (the evaluation's task, e.g. toxigen)")
    metric: str = Field(min_length=1, description=_TEXT + " (the result's metric, e.g. acc)")
    min: float | None = Field(default=None, allow_inf_nan=False, description=_BOUND)
    max: float | None = Field(default=None, allow_inf_nan=False, description=_BOUND)
    category: EvaluationCategory | None = Field(
        default=None, description="one of " + ", ".join(EVALUATION_CATEGORIES) + ", or null (any)"
    )
    by: Addresses | None = Field(
        default=None, description=_ADDRESSES + ", or null (trusted_evaluators)"
    )

    @model_validator(mode="after")
    def _bounds(self) -> EvaluationRequirement:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}: no value can meet it")
        return self

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


class Require(_Model):
    """Checks whose warning becomes a failure (all off by default), and the evaluation results required."""

    endorsements: bool = Field(default=False, description="true or false: a trusted auditor must endorse the record")
    privacy: bool = Field(default=False, description="true or false: PRIVACY_UNVERIFIED fails instead of warning")
    anchoring: bool = Field(
        default=False, description="true or false: NOT_ANCHORED and UNCONFIRMED fail instead of warning"
    )
    license: bool = Field(default=False, description="true or false: LICENSE_UNSPECIFIED fails instead of warning")
    parents: bool = Field(default=False, description="true or false: PARENT_UNKNOWN fails instead of warning")
    evaluations: tuple[EvaluationRequirement, ...] = Field(
        default=(),
        description="a list of mappings with keys task, metric, min, max, category, by (task and metric required)",
    )


class PrivacyBudget(_Model):
    """The differential-privacy budget, summed over the artifact and its ancestors."""

    epsilon_max: float = Field(default=DEFAULT_EPSILON_MAX, gt=0, allow_inf_nan=False, description="a number > 0")
    delta_max: float | None = Field(
        default=DEFAULT_DELTA_MAX,
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="a number >= 0 and < 1, or null (no limit)",
    )


class Policy(_Model):
    """A validated trust policy. Build it with :meth:`from_file`, :meth:`from_mapping` or :meth:`default`."""

    version: Literal[1] = Field(default=1, description="1")
    use: IntendedUse = Field(default="commercial", description="one of " + ", ".join(INTENDED_USES))
    trusted_publishers: Addresses = Field(default=(), description=_ADDRESSES)
    trusted_auditors: Addresses = Field(default=(), description=_ADDRESSES)
    trusted_evaluators: Addresses = Field(default=(), description=_ADDRESSES)
    untrusted_publisher: Literal["fail", "warn"] | None = Field(
        default=None, description="fail, warn, or null (fail when trusted_publishers lists anyone, else warn)"
    )
    confirmations: int = Field(default=1, ge=0, description="a whole number >= 0 (blocks, counting the record's own)")
    require: Require = Field(
        default_factory=Require,
        description="a mapping of endorsements, privacy, anchoring, license, parents (each true or false) "
        "and evaluations (a list)",
    )
    differential_privacy: PrivacyBudget = Field(
        default_factory=PrivacyBudget, description="a mapping of epsilon_max and delta_max"
    )

    @model_validator(mode="after")
    def _satisfiable(self) -> Policy:
        for i, requirement in enumerate(self.require.evaluations):
            if not self.evaluators_for(requirement):
                # a custom error type carries its own path (a model validator's error has none)
                raise PydanticCustomError(
                    "policy_problem", "{problem}",
                    {"path": f"require.evaluations[{i}].by",
                     "problem": "nobody can satisfy this requirement: by is not given and trusted_evaluators is "
                                "empty; accepted: a list of addresses in by, or addresses in trusted_evaluators"},
                )
        return self

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
                f"{where}: the top level must be a mapping with keys {', '.join(cls.model_fields)}, "
                f"got {type(data).__name__}"
            )
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise PolicyError(
                f"{where}: {err}; accepted: plain values (strings, numbers, booleans, lists, mappings)"
            ) from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as err:
            problems = [_problem(e) for e in err.errors(include_url=False)]
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
        return self.model_copy(update={"use": use})

    def to_dict(self) -> dict[str, Any]:
        """The policy in file form, every default spelled out."""
        return self.model_dump(mode="json")

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


# --- reading files and explaining errors ------------------------------------

_Loc = tuple[int | str, ...]
"""Where a pydantic error is: keys, list indices and union tags."""


def _model_of(info: FieldInfo | None) -> type[BaseModel] | None:
    """The model a field holds: its annotation, or the items of a ``tuple[Model, ...]``; else None."""
    annotation = info.annotation if info else None
    if typing.get_origin(annotation) is tuple:
        annotation = typing.get_args(annotation)[0]
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _field_at(loc: _Loc) -> tuple[type[BaseModel], FieldInfo | None]:
    """(the model holding the last key of ``loc``, that key's FieldInfo or None); indices skipped."""
    holder: type[BaseModel] = Policy
    model: type[BaseModel] | None = Policy
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            break  # a union member's tag, not a key
        holder = model
        info = model.model_fields.get(part)
        model = _model_of(info)
    return holder, info


def _path(loc: _Loc) -> str:
    """``loc`` as ``a.b[0]``, keeping only keys and indices (not pydantic's union tags)."""
    out = ""
    model: type[BaseModel] | None = Policy
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if model is None:
            break
        out += f".{part}" if out else str(part)
        model = _model_of(model.model_fields.get(part))
    return out


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error as (dotted path, 'what is wrong; accepted: ...')."""
    if error["type"] == "policy_problem":  # raised with its own path (Policy._satisfiable)
        return error["ctx"]["path"], error["ctx"]["problem"]
    loc = tuple(error["loc"])
    path = _path(loc) or "(top level)"
    holder, info = _field_at(loc)
    if error["type"] == "extra_forbidden":
        return path, f"unknown key; accepted keys here: {', '.join(holder.model_fields)}"
    accepted = info.description if info and info.description else "see docs/policy.md"
    if error["type"] == "value_error":
        return path, f"{error['ctx']['error']}; accepted: {accepted}"
    shown = json.dumps(error.get("input"), ensure_ascii=False, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return path, f"{shown} is not accepted; accepted: {accepted}"

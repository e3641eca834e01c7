"""The claims file (CLAIMS.md): what a publisher asserts about an artifact.

Claims are loaded only through :meth:`Claims.from_file` and
:meth:`Claims.from_mapping`, into frozen pydantic models that refuse unknown
keys and coerce nothing, so an invalid claims object cannot exist. Every
refusal is one :class:`ClaimsError` listing each problem as
``dotted.path: what is wrong; accepted: what would do``. The words the
models accept and the names of the committed fields are
:mod:`provenance.vocabulary`'s (re-exported here), which a verification reads
without building these models.

Decisions where CLAIMS.md is silent (docs/claims.md explains them to users):

* YAML is read with YAML 1.2 scalars: only ``true``/``false`` are booleans
  (``NO`` stays the country code), ``1e-6`` is a number, dates stay text and
  are parsed by the model; a key given twice is refused.
* Rejected at load as impossible: incomplete differential privacy parameters,
  ``differential_privacy`` parameters without ``differential_privacy`` in
  ``anonymization`` (and the reverse), special categories unless
  ``personal_data`` is ``present``, and ``commercial_use: true`` under a
  license whose use class is non-commercial or academic-only. Records made by
  other tools can still carry a broken DP object, so
  :func:`differential_privacy_problems` lets the verifier flag ``DP_INVALID``.
* ``LicenseRef-<name>`` without ``license_url`` is accepted; the verifier
  warns ``LICENSE_UNSPECIFIED``. License expressions are stored normalised
  (``apache-2.0`` becomes ``Apache-2.0``), subjects in lower case.
* Lists may not repeat an item. Sections may be omitted; their fields then take
  the defaults below (``personal_data: unknown``), which are committed too.
* ``disclose`` defaults to nothing: a value is published only when asked for.
* :meth:`Claims.parents` takes ``trained_on`` and ``base_models``; evaluating
  on a dataset (``tested_on``) is not derivation, so test sets are no parents.
* A parent may be pinned to the record the publisher relied on
  (``{subject, record}`` in ``trained_on``, ``record`` in a ``base_models``
  entry), because anyone can register a record of any subject. A plain
  subject still reads (older files) and is committed as before; a subject is
  listed once per list and pinned to one record across both lists.
  :meth:`Claims.with_pins` pins plain parents (``provenance.pins`` decides to
  which record); pins are always disclosed (:data:`PIN_FIELDS`).
* An evaluation (``kind: evaluation``, docs/evaluations.md) carries its facts in
  the ``evaluation`` section and nothing in copyright, privacy or lineage. Its
  parents are the evaluated model and the benchmark datasets, pinned like
  lineage. Its committed fields are :data:`EVALUATION_FIELDS`, every other
  kind's :data:`CLAIM_FIELDS` (unchanged, so older records and Statements stay
  byte for byte what they were); :func:`fields_of` picks the set by kind.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo

from provenance import licenses
from provenance._documents import not_accepted, parse_json, parse_yaml, problems_text, read_text
from provenance.errors import ClaimsError
from provenance.vocabulary import (
    CLAIM_FIELDS,
    CLAIM_SECTIONS,
    EVALUATION_CATEGORIES,
    EVALUATION_FIELDS,
    EVALUATION_PIN_FIELDS,
    EVALUATION_SECTIONS,
    PIN_FIELDS,
    Anonymization,
    Category,
    Confidentiality,
    DpUnit,
    Erasure,
    Kind,
    LawfulBasis,
    Permission,
    PersonalData,
    Relation,
    SpecialCategory,
    SpecialCategoryCondition,
    fields_of,
    pin_fields,
    resolve_fields,
)

__all__ = [
    "Claims",
    "Copyright",
    "TrainingMining",
    "Privacy",
    "DifferentialPrivacy",
    "Lineage",
    "ParentRef",
    "BaseModelRef",
    "Evaluation",
    "EvaluationResult",
    "Harness",
    "CLAIM_FIELDS",
    "PIN_FIELDS",
    "CLAIM_SECTIONS",
    "EVALUATION_FIELDS",
    "EVALUATION_PIN_FIELDS",
    "EVALUATION_SECTIONS",
    "EVALUATION_CATEGORIES",
    "fields_of",
    "pin_fields",
    "resolve_fields",
    "differential_privacy_problems",
]

_T = TypeVar("_T")
_Loc = tuple[int | str, ...]
"""Where a pydantic error is: keys and list indices."""

_SUBJECT = re.compile(r"0x[0-9a-fA-F]{64}")
_JURISDICTION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
_LICENSE_ACCEPTED = (
    "an SPDX license expression such as Apache-2.0 OR MIT, a Hugging Face license id "
    "such as openrail, llama3 or gemma, or LicenseRef-<name> (with license_url)"
)
_DP_ACCEPTED = "{epsilon: a number > 0, delta: a number >= 0 and < 1, unit: user or record}"


def _one_of(literal: Any) -> str:
    return "one of " + ", ".join(typing.get_args(literal))


def _subject(value: str) -> str:
    if not _SUBJECT.fullmatch(value):
        raise ValueError(f"{value!r} is not a subject")
    return value.lower()


def _record_id(value: str) -> str:
    if not _SUBJECT.fullmatch(value):
        raise ValueError(f"{value!r} is not a record id")
    return value.lower()


def _jurisdiction(value: str) -> str:
    if not _JURISDICTION.fullmatch(value):
        raise ValueError(f"{value!r} is not a jurisdiction code")
    return value


def _unique(items: tuple[_T, ...]) -> tuple[_T, ...]:
    seen: list[_T] = []
    for item in items:
        if item in seen:
            raise ValueError(f"{item!r} is listed more than once")
        seen.append(item)
    return items


def _disclosable(name: str) -> str:
    if name not in CLAIM_SECTIONS and name not in CLAIM_FIELDS and name not in EVALUATION_SECTIONS \
            and name not in EVALUATION_FIELDS:
        raise ValueError(
            f"{name!r} is not a claim section or field (sections: {', '.join(CLAIM_SECTIONS)}; "
            f"fields: {', '.join(CLAIM_FIELDS)}; of an evaluation: {', '.join(EVALUATION_SECTIONS)}, "
            f"{', '.join(EVALUATION_FIELDS)})"
        )
    return name


Text = Annotated[str, Field(min_length=1)]
Subject = Annotated[str, AfterValidator(_subject)]
Subjects = Annotated[tuple[Subject, ...], AfterValidator(_unique)]
RecordId = Annotated[str, AfterValidator(_record_id)]
_SUBJECTS = "a list of artifact subjects, each 0x followed by 64 hex digits"
_RECORD = "the id of a record of that subject: 0x followed by 64 hex digits"
_PINNED = "{subject: 0x + 64 hex digits, record: its record id, 0x + 64 hex digits}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class TrainingMining(_Model):
    """CAWG training-and-data-mining entries; null means nothing is asserted."""

    ai_training: Permission | None = Field(default=None, description=_one_of(Permission))
    ai_generative_training: Permission | None = Field(default=None, description=_one_of(Permission))
    data_mining: Permission | None = Field(default=None, description=_one_of(Permission))
    ai_inference: Permission | None = Field(default=None, description=_one_of(Permission))


class Copyright(_Model):
    license: str | None = Field(default=None, description=_LICENSE_ACCEPTED)
    license_url: str | None = Field(default=None, description="an http or https URL of the license text")
    holders: Annotated[tuple[Text, ...], AfterValidator(_unique)] = Field(default=(), description="a list of names")
    attribution: Text | None = Field(default=None, description="the attribution text, a string")
    commercial_use: bool | None = Field(default=None, description="true, false or null")
    training_mining: TrainingMining = Field(
        default_factory=TrainingMining,
        description="a mapping of ai_training, ai_generative_training, data_mining, ai_inference",
    )
    tdm_reservation: bool = Field(default=False, description="true or false")
    opt_out_evidence: Subjects = Field(default=(), description=_SUBJECTS)

    @field_validator("license")
    @classmethod
    def _license(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return licenses.normalize_expression(value)
        except ClaimsError as err:
            raise ValueError(str(err)) from None

    @field_validator("license_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class DifferentialPrivacy(_Model):
    """(epsilon, delta)-differential privacy, per user or per record."""

    epsilon: float = Field(gt=0, allow_inf_nan=False, description="a number > 0")
    delta: float = Field(ge=0, lt=1, allow_inf_nan=False, description="a number >= 0 and < 1")
    unit: DpUnit = Field(description=_one_of(DpUnit))


class Privacy(_Model):
    personal_data: PersonalData = Field(default="unknown", description=_one_of(PersonalData))
    special_categories: Annotated[tuple[SpecialCategory, ...], AfterValidator(_unique)] = Field(
        default=(), description="a list of " + _one_of(SpecialCategory)
    )
    lawful_basis: LawfulBasis | None = Field(
        default=None, description=_one_of(LawfulBasis) + " (GDPR Art. 6(1)), or null"
    )
    special_category_condition: SpecialCategoryCondition | None = Field(
        default=None, description=_one_of(SpecialCategoryCondition) + " (GDPR Art. 9(2), Art. 10), or null"
    )
    anonymization: Annotated[tuple[Anonymization, ...], AfterValidator(_unique)] = Field(
        default=(), description="a list of " + _one_of(Anonymization)
    )
    differential_privacy: DifferentialPrivacy | None = Field(default=None, description=_DP_ACCEPTED + " or null")
    jurisdictions: Annotated[tuple[Annotated[str, AfterValidator(_jurisdiction)], ...], AfterValidator(_unique)] = (
        Field(default=(), description="a list of ISO 3166 codes such as EU, US or US-CA")
    )
    retention_until: date | None = Field(default=None, description="an ISO date such as 2030-12-31, or null")
    erasure: Erasure | None = Field(default=None, description=_one_of(Erasure) + ", or null")
    confidentiality: Confidentiality = Field(default="clear", description=_one_of(Confidentiality))


class ParentRef(_Model):
    """A ``trained_on`` entry: the parent's subject and, once pinned, the record relied on.

    Written as a plain subject (not pinned; older files) or as ``{subject, record}``;
    dumped (and so committed) in the form it has.
    """

    subject: Subject = Field(description="an artifact subject: 0x followed by 64 hex digits")
    record: RecordId | None = Field(description=_RECORD)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not _SUBJECT.fullmatch(value):
                raise ValueError(f"{value!r} is not a subject")
            return {"subject": value, "record": None}
        if isinstance(value, Mapping) and "record" in value and value["record"] is None:
            raise ValueError("record null pins no record; write the plain subject instead")
        return value

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self.subject if self.record is None else handler(self)


class BaseModelRef(_Model):
    """A ``base_models`` entry; ``record`` (the base's record relied on) is optional for older files."""

    subject: Subject = Field(description="an artifact subject: 0x followed by 64 hex digits")
    relation: Relation = Field(description=_one_of(Relation))
    record: RecordId | None = Field(default=None, description=_RECORD + ", or null")

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.record is None and isinstance(data, dict):
            del data["record"]  # as written before records were pinned: committed values stay the same
        return data


def _distinct(refs: tuple[ParentRef, ...] | tuple[BaseModelRef, ...]) -> None:
    _unique(tuple(ref.subject for ref in refs))


class Lineage(_Model):
    trained_on: tuple[ParentRef, ...] = Field(
        default=(), description=f"{_SUBJECTS}, or pinned to a record: {_PINNED}"
    )
    tested_on: Subjects = Field(default=(), description=_SUBJECTS)
    base_models: tuple[BaseModelRef, ...] = Field(
        default=(),
        description="a list of {subject: 0x + 64 hex digits, relation: " + _one_of(Relation)
        + ", record: its record id, 0x + 64 hex digits (optional)}",
    )

    @field_validator("trained_on", "base_models")
    @classmethod
    def _distinct(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        _distinct(value)
        return value


_Date = date  # the type, under a name the field ``Evaluation.date`` does not shadow


class Harness(_Model):
    """The program that ran an evaluation (``lm-evaluation-harness``, ``0.4.5``)."""

    name: Text = Field(description="a string such as lm-evaluation-harness")
    version: Text | None = Field(default=None, description='a string such as "0.4.5", or null')


class EvaluationResult(_Model):
    """One measured value: a metric of a task on a split. ``benchmark`` names the dataset it was measured on."""

    task: Text = Field(description="a string such as toxigen")
    metric: Text = Field(description="a string such as acc, or metric,filter such as exact_match,strict-match")
    value: float = Field(allow_inf_nan=False, description="a finite number")
    stderr: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="a number >= 0, or null")
    split: Text | None = Field(default=None, description="a string such as test, or null")
    n_shot: int | None = Field(default=None, ge=0, description="a whole number >= 0, or null")
    benchmark: Subject | None = Field(
        default=None, description="the subject of one of evaluation.benchmarks (0x + 64 hex digits), or null"
    )


class Evaluation(_Model):
    """The facts of an evaluation record: what was evaluated, on what, by whom, with what results."""

    model: ParentRef = Field(description=f"the evaluated model's subject, or pinned to its record: {_PINNED}")
    benchmarks: tuple[ParentRef, ...] = Field(
        default=(), description=f"the benchmark datasets: {_SUBJECTS}, or pinned to a record: {_PINNED}"
    )
    category: Category = Field(description=_one_of(Category))
    evaluator: Text | None = Field(default=None, description="who ran the evaluation, a string, or null")
    date: _Date | None = Field(default=None, description="an ISO date such as 2026-11-30, or null")
    harness: Harness | None = Field(
        default=None, description="{name: a string, version: a string or null}, or null"
    )
    config_digest: Subject | None = Field(
        default=None,
        description="the SHA-256 of the run's configuration as canonical JSON: 0x + 64 hex digits, or null",
    )
    results: tuple[EvaluationResult, ...] = Field(
        min_length=1,
        description="a non-empty list of {task, metric, value, stderr, split, n_shot, benchmark}",
    )

    @field_validator("benchmarks")
    @classmethod
    def _distinct(cls, value: tuple[ParentRef, ...]) -> tuple[ParentRef, ...]:
        _distinct(value)
        return value


class Claims(_Model):
    """A validated claims file. Build it with :meth:`from_file` or :meth:`from_mapping`."""

    kind: Kind = Field(description=_one_of(Kind))
    name: Text | None = Field(default=None, description="a string such as acme/llm-7b")
    version: Text | None = Field(default=None, description='a string such as "1.0" (quote numbers in YAML)')
    copyright: Copyright = Field(default_factory=Copyright, description="a mapping of copyright fields")
    privacy: Privacy = Field(default_factory=Privacy, description="a mapping of privacy fields")
    lineage: Lineage = Field(default_factory=Lineage, description="a mapping of lineage fields")
    disclose: Annotated[tuple[Annotated[str, AfterValidator(_disclosable)], ...], AfterValidator(_unique)] = Field(
        default=(), description="a list of claim fields or sections"
    )
    evaluation: Evaluation | None = Field(
        default=None,
        description="a mapping of model, benchmarks, category, evaluator, date, harness, config_digest, "
        "results (with kind: evaluation only)",
    )

    @model_validator(mode="after")
    def _combinations(self) -> Claims:
        problems = _combination_problems(self)
        if problems:
            raise _InvalidClaims(problems)
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> Claims:
        """Validate already parsed claims; ``source`` names them in error messages."""
        where = f"claims file {source}" if source else "the claims"
        if not isinstance(data, Mapping):
            raise ClaimsError(
                f"{where}: the top level must be a mapping of kind, name, version, copyright, "
                f"privacy, lineage and disclose (or evaluation), "
                f"got {'nothing' if data is None else type(data).__name__}"
            )
        try:
            text = json.dumps(data, default=_json_default, ensure_ascii=False)
        except (TypeError, ValueError) as err:
            raise ClaimsError(
                f"{where}: {err}; accepted: JSON values (strings, numbers, booleans, lists, mappings)"
            ) from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as err:
            problems = [_problem(e) for e in err.errors(include_url=False)]
        except _InvalidClaims as err:
            problems = list(err.problems)
        raise ClaimsError(
            f"{where} {'has' if source else 'have'} {problems_text(problems)}",
            hint="fix the fields listed; docs/claims.md describes the format",
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Claims:
        """Read a YAML (``.yaml``, ``.yml``, anything else) or JSON (``.json``) claims file."""
        path = Path(path)
        text = read_text(path, what="claims file", option="--claims", error=ClaimsError)
        parse = parse_json if path.suffix.lower() == ".json" else parse_yaml
        data = parse(text, path, what="claims file", error=ClaimsError)
        return cls.from_mapping(data, source=str(path))

    def parents(self) -> tuple[bytes, ...]:
        """Sorted unique subjects of ``trained_on`` and ``base_models`` (of an evaluation: its model and
        benchmarks): the on-chain parents."""
        return tuple(sorted({bytes.fromhex(ref.subject[2:]) for ref in self._parent_refs()}))

    def pins(self) -> dict[bytes, bytes]:
        """Parent subject -> the record id pinned for it, for every pinned parent (sorted by subject)."""
        pins = {bytes.fromhex(ref.subject[2:]): bytes.fromhex(ref.record[2:])
                for ref in self._parent_refs() if ref.record is not None}  # fmt: skip
        return dict(sorted(pins.items()))

    def unpinned(self) -> tuple[bytes, ...]:
        """Sorted parent subjects that no entry pins to a record."""
        pinned = self.pins()
        return tuple(p for p in self.parents() if p not in pinned)

    def with_pins(self, pins: Mapping[bytes, bytes]) -> Claims:
        """A copy with every ``trained_on`` and ``base_models`` entry of a subject in ``pins`` pinned to its record.

        Entries already pinned must agree (one record per parent); subjects that
        are no parent here are refused. Validated again, like a file.
        """
        parents = set(self.parents())
        section, lists = ("evaluation", "model or benchmarks") if self.evaluation else (
            "lineage", "trained_on or base_models")
        strangers = sorted(s for s in pins if s not in parents)
        if strangers:
            raise ClaimsError(
                f"{section}: cannot pin " + ", ".join("0x" + s.hex() for s in strangers)
                + f": not a parent ({lists}) of these claims"
            )
        held = self.pins()
        differing = sorted(s for s, r in pins.items() if held.get(s, r) != r)
        if differing:
            raise ClaimsError(
                f"{section}: cannot pin " + ", ".join("0x" + s.hex() for s in differing)
                + " to another record than the one these claims pin"
            )
        data = self.model_dump(mode="json")
        if self.evaluation is not None:
            evaluation = data["evaluation"]
            evaluation["model"] = _pinned(evaluation["model"], pins)
            evaluation["benchmarks"] = [_pinned(item, pins) for item in evaluation["benchmarks"]]
            return Claims.from_mapping(data)
        lineage = data["lineage"]
        for index, item in enumerate(lineage["trained_on"]):
            subject = item if isinstance(item, str) else item["subject"]
            record = pins.get(bytes.fromhex(subject[2:]))
            if record is not None:
                lineage["trained_on"][index] = {"subject": subject, "record": "0x" + record.hex()}
        for item in lineage["base_models"]:
            record = pins.get(bytes.fromhex(item["subject"][2:]))
            if record is not None:
                item["record"] = "0x" + record.hex()
        return Claims.from_mapping(data)

    def _parent_refs(self) -> tuple[ParentRef | BaseModelRef, ...]:
        if self.evaluation is not None:
            return (self.evaluation.model, *self.evaluation.benchmarks)
        return (*self.lineage.trained_on, *self.lineage.base_models)

    def field_values(self) -> dict[str, Any]:
        """Every claim field of this kind (see :func:`fields_of`) with its JSON value, in schema order."""
        dumped = self.model_dump(mode="json")
        values = {}
        for field in fields_of(self.kind):
            node: Any = dumped
            for part in field.split("."):
                node = node[part]
            values[field] = node
        return values


class _InvalidClaims(ClaimsError):
    """Carries (path, text) problems found across fields out of pydantic to :meth:`Claims.from_mapping`."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {text}" for path, text in problems))
        self.problems = tuple(problems)


def _pinned(item: Any, pins: Mapping[bytes, bytes]) -> Any:
    """A dumped :class:`ParentRef` pinned to its record in ``pins``, if any."""
    subject = item if isinstance(item, str) else item["subject"]
    record = pins.get(bytes.fromhex(subject[2:]))
    return item if record is None else {"subject": subject, "record": "0x" + record.hex()}


def _combination_problems(claims: Claims) -> list[tuple[str, str]]:
    """Impossible combinations of otherwise valid fields, as (path, text)."""
    if claims.kind == "evaluation" or claims.evaluation is not None:
        return _evaluation_problems(claims)
    problems = _pin_problems(claims.lineage)
    cr, pv = claims.copyright, claims.privacy
    if cr.commercial_use and cr.license and not licenses.allows_commercial_use(cr.license, cr.license_url):
        use = licenses.license_terms(cr.license, cr.license_url).use_class
        if use in (licenses.UseClass.NON_COMMERCIAL, licenses.UseClass.ACADEMIC_ONLY):
            problems.append((
                "copyright.commercial_use",
                f"true, but the license {cr.license} is {use.value}; "
                "accepted: false or null under this license, or a license that allows commercial use",
            ))
    if pv.special_categories and pv.personal_data != "present":
        problems.append((
            "privacy.special_categories",
            f"listed while privacy.personal_data is {pv.personal_data}; "
            "accepted: an empty list unless personal_data is present (special categories are personal data)",
        ))
    listed = "differential_privacy" in pv.anonymization
    if listed and pv.differential_privacy is None:
        problems.append((
            "privacy.differential_privacy",
            f"missing although privacy.anonymization lists differential_privacy; accepted: {_DP_ACCEPTED}",
        ))
    if pv.differential_privacy is not None and not listed:
        problems.append((
            "privacy.anonymization",
            "does not list differential_privacy although privacy.differential_privacy is given; "
            "accepted: a list that includes differential_privacy",
        ))
    return problems


def _evaluation_problems(claims: Claims) -> list[tuple[str, str]]:
    """An evaluation's section present iff the kind is evaluation, the other sections left at their defaults,
    ``disclose`` naming an evaluation's fields, and its results consistent with its benchmarks."""
    evaluation = claims.evaluation
    if claims.kind != "evaluation":
        return [("evaluation", f"given while kind is {claims.kind}; accepted: kind: evaluation, or no "
                 "evaluation section")]
    if evaluation is None:
        return [("evaluation", "missing while kind is evaluation; accepted: a mapping with keys "
                 + ", ".join(Evaluation.model_fields))]
    problems = [
        (name, f"given for an evaluation; accepted: no {name} section (an evaluation's facts are in evaluation)")
        for name, default in (("copyright", Copyright()), ("privacy", Privacy()), ("lineage", Lineage()))
        if getattr(claims, name) != default
    ]
    problems.extend(
        (f"disclose[{i}]", f"{name!r} is not a field of an evaluation; accepted: "
         f"{', '.join(EVALUATION_SECTIONS)} or a field ({', '.join(EVALUATION_FIELDS)})")
        for i, name in enumerate(claims.disclose)
        if name not in EVALUATION_SECTIONS and name not in EVALUATION_FIELDS
    )
    benchmarks = {ref.subject for ref in evaluation.benchmarks}
    if evaluation.model.subject in benchmarks:
        problems.append((
            "evaluation.benchmarks",
            f"lists the evaluated model {evaluation.model.subject}; accepted: the benchmark datasets' subjects "
            "(the model is evaluation.model)",
        ))
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, result in enumerate(evaluation.results):
        key = (result.task, result.metric, result.split)
        if key in seen:
            problems.append((
                f"evaluation.results[{i}]",
                f"repeats task {result.task}, metric {result.metric}, split {result.split} of "
                f"evaluation.results[{seen[key]}]; accepted: one value per task, metric and split",
            ))
        seen.setdefault(key, i)
        if result.benchmark is not None and result.benchmark not in benchmarks:
            problems.append((
                f"evaluation.results[{i}].benchmark",
                f"{result.benchmark} is not in evaluation.benchmarks; accepted: the subject of one of "
                "evaluation.benchmarks, or null",
            ))
    return problems


def _pin_problems(lineage: Lineage) -> list[tuple[str, str]]:
    """A parent listed in both trained_on and base_models, pinned to two records."""
    pinned = {ref.subject: (f"lineage.trained_on[{i}]", ref.record)
              for i, ref in enumerate(lineage.trained_on) if ref.record is not None}  # fmt: skip
    problems = []
    for i, ref in enumerate(lineage.base_models):
        where, other = pinned.get(ref.subject, ("", None))
        if ref.record is not None and other is not None and other != ref.record:
            problems.append((
                f"lineage.base_models[{i}].record",
                f"{ref.record} while {where} pins {other} for the same subject {ref.subject}; "
                "accepted: one record per parent (the same record in both lists, or the plain subject in one)",
            ))
    return problems


def differential_privacy_problems(value: object) -> tuple[str, ...]:
    """Why a differential-privacy object (as found in any record) is invalid; empty when valid.

    The verifier uses it to flag ``DP_INVALID`` on claims this loader did not make.
    """
    if value is None:
        return (f"privacy.differential_privacy: missing; accepted: {_DP_ACCEPTED}",)
    try:
        text = json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as err:
        return (f"privacy.differential_privacy: {err}; accepted: {_DP_ACCEPTED}",)
    try:
        DifferentialPrivacy.model_validate_json(text)
    except ValidationError as err:
        prefix = ("privacy", "differential_privacy")
        return tuple(
            "{}: {}".format(*_problem({**e, "loc": (*prefix, *e["loc"])})) for e in err.errors(include_url=False)
        )
    return ()


# --- reading files and explaining errors --------------------------------------


def _json_default(value: object) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} value cannot appear in claims")


def _field_at(loc: _Loc) -> FieldInfo | None:
    """The FieldInfo of the last named key of ``loc`` (list indices skipped), or None."""
    model: type[BaseModel] | None = Claims
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part) if model else None
        model = _inner_model(info.annotation) if info else None
    return info


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds directly (not through a list or null): then it is a section."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    section = _section_model(annotation)
    if section:
        return section
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found:
            return found
    return None


def _path(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error as (dotted path, 'what is wrong; accepted: ...')."""
    loc = tuple(error["loc"])
    path = _path(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = Claims if len(loc) == 1 else _inner_model(getattr(_field_at(loc[:-1]), "annotation", None))
        keys = ", ".join(parent.model_fields) if parent else "none"
        return path, f"unknown key; accepted keys here: {keys}"
    info = _field_at(loc)
    if info is None:
        accepted = "a mapping with keys " + ", ".join(Claims.model_fields)
    elif section := _section_model(info.annotation):
        accepted = "a mapping with keys " + ", ".join(section.model_fields)
    else:
        accepted = info.description or "see docs/claims.md"
    if kind == "missing":
        return path, f"missing; accepted: {accepted}"
    if kind == "value_error":
        return path, f"{error['ctx']['error']}; accepted: {accepted}"
    return path, not_accepted(error["input"], accepted)

"""The claims' vocabulary (CLAIMS.md): the values a claim field may take, and the names of the committed fields.

:mod:`provenance.claims` loads claims files into pydantic models built on
these definitions. A verification needs only the definitions: which fields a
record commits to (:func:`fields_of`), which sections expand to which fields
(:func:`resolve_fields`) and whether a disclosed value is one of the field's
words (:func:`is_vocabulary`). They live here, without pydantic, so that a
verification does not build the claims models: about 50 ms of CPU alone, 13 ms
of ``provenance verify``'s (where the policy's models are built anyway), CPU
the processes hashing the artifact beside it want. Tests check that the names
here are the models' fields and that :func:`is_vocabulary` accepts exactly
what the models accept.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from provenance.errors import ClaimsError

__all__ = [
    "Kind",
    "Category",
    "Permission",
    "PersonalData",
    "SpecialCategory",
    "LawfulBasis",
    "SpecialCategoryCondition",
    "Anonymization",
    "DpUnit",
    "Erasure",
    "Confidentiality",
    "Relation",
    "EVALUATION_CATEGORIES",
    "CLAIM_FIELDS",
    "CLAIM_SECTIONS",
    "PIN_FIELDS",
    "EVALUATION_FIELDS",
    "EVALUATION_SECTIONS",
    "EVALUATION_PIN_FIELDS",
    "VOCABULARY",
    "fields_of",
    "pin_fields",
    "resolve_fields",
    "is_vocabulary",
]

Kind = Literal["model", "dataset", "other", "evaluation"]
Category = Literal["capability", "safety", "bias", "privacy", "other"]
#: What an evaluation measures (``evaluation.category``).
EVALUATION_CATEGORIES: tuple[str, ...] = typing.get_args(Category)
Permission = Literal["allowed", "notAllowed", "constrained"]
PersonalData = Literal["absent", "present", "unknown"]
SpecialCategory = Literal[
    "racial_ethnic", "political", "religious", "trade_union", "genetic",
    "biometric", "health", "sex_life", "criminal",
]  # fmt: skip
LawfulBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests",
]  # fmt: skip
SpecialCategoryCondition = Literal[  # GDPR Art. 9(2)(a)-(j), then Art. 10
    "explicit_consent", "employment_social_protection", "vital_interests", "not_for_profit_body",
    "manifestly_made_public", "legal_claims", "substantial_public_interest", "health_or_social_care",
    "public_health", "research", "authorised_by_law",
]  # fmt: skip
Anonymization = Literal["pseudonymisation", "anonymisation", "differential_privacy", "aggregation"]
DpUnit = Literal["user", "record"]
Erasure = Literal["retrain", "unlearn", "filter"]
Confidentiality = Literal["red", "amber", "green", "clear"]
Relation = Literal["finetune", "adapter", "quantized", "merge"]


# --- field names: the granularity of commitments and disclosure ---------------

_TRAINING_MINING = tuple(f"copyright.training_mining.{n}"
                         for n in ("ai_training", "ai_generative_training", "data_mining", "ai_inference"))
_COPYRIGHT = (
    "copyright.license", "copyright.license_url", "copyright.holders", "copyright.attribution",
    "copyright.commercial_use", *_TRAINING_MINING, "copyright.tdm_reservation", "copyright.opt_out_evidence",
)  # fmt: skip
_PRIVACY = tuple(f"privacy.{n}" for n in (
    "personal_data", "special_categories", "lawful_basis", "special_category_condition", "anonymization",
    "differential_privacy", "jurisdictions", "retention_until", "erasure", "confidentiality",
))  # fmt: skip
_LINEAGE = ("lineage.trained_on", "lineage.tested_on", "lineage.base_models")

#: Every committed claim field, in the claims models' order. A list or an object held in a list or nullable
#: field (``holders``, ``differential_privacy``, ``base_models``) is one field.
CLAIM_FIELDS: tuple[str, ...] = ("kind", "name", "version", *_COPYRIGHT, *_PRIVACY, *_LINEAGE)
#: Section name -> its fields (``copyright``, ``copyright.training_mining``, ...).
CLAIM_SECTIONS: Mapping[str, tuple[str, ...]] = types.MappingProxyType({
    "copyright": _COPYRIGHT, "copyright.training_mining": _TRAINING_MINING, "privacy": _PRIVACY,
    "lineage": _LINEAGE,
})  # fmt: skip
#: The fields that carry pins: disclosed whenever the claims pin a parent record, whatever ``disclose``
#: says (the parent subjects are public on chain anyway; a verifier needs the records relied on).
PIN_FIELDS: tuple[str, ...] = ("lineage.trained_on", "lineage.base_models")

#: Every committed field of an evaluation record (``kind: evaluation``), in the models' order: the three
#: fields every record has, then each key of the ``evaluation`` section as one field.
EVALUATION_FIELDS: tuple[str, ...] = ("kind", "name", "version", *(f"evaluation.{n}" for n in (
    "model", "benchmarks", "category", "evaluator", "date", "harness", "config_digest", "results")))
#: Section name -> its fields, for an evaluation.
EVALUATION_SECTIONS: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    {"evaluation": EVALUATION_FIELDS[3:]}
)
#: An evaluation's pins: its model and benchmarks, disclosed whenever pinned (as :data:`PIN_FIELDS`).
EVALUATION_PIN_FIELDS: tuple[str, ...] = ("evaluation.model", "evaluation.benchmarks")


def fields_of(kind: str) -> tuple[str, ...]:
    """The committed fields of a record of this claims kind: :data:`EVALUATION_FIELDS` or :data:`CLAIM_FIELDS`."""
    return EVALUATION_FIELDS if kind == "evaluation" else CLAIM_FIELDS


def pin_fields(kind: str) -> tuple[str, ...]:
    """The fields that carry the pins of a record of this claims kind."""
    return EVALUATION_PIN_FIELDS if kind == "evaluation" else PIN_FIELDS


def resolve_fields(names: Iterable[str], *, kind: str | None = None) -> tuple[str, ...]:
    """Expand section names to their fields; refuse unknown names, listing the accepted ones.

    ``kind`` (a claims kind) limits the names to that kind's fields; None accepts the names of either
    field set but not a mix (an evaluation's fields with copyright, privacy or lineage).
    """
    names = list(names)
    if kind is None:
        evaluation = [n for n in names if (n in EVALUATION_SECTIONS or n in EVALUATION_FIELDS)
                      and n not in CLAIM_FIELDS]  # fmt: skip
        other = [n for n in names if n in CLAIM_SECTIONS or (n in CLAIM_FIELDS and n not in EVALUATION_FIELDS)]
        if evaluation and other:
            raise ClaimsError(
                f"claim fields of an evaluation ({', '.join(evaluation)}) and of other records "
                f"({', '.join(other)}) mixed; accepted: the fields of one kind of record"
            )
        kind = "evaluation" if evaluation else None
    fields, sections = (EVALUATION_FIELDS, EVALUATION_SECTIONS) if kind == "evaluation" else (
        CLAIM_FIELDS, CLAIM_SECTIONS)
    wanted: set[str] = set()
    unknown = []
    for name in names:
        if name in sections:
            wanted.update(sections[name])
        elif name in fields:
            wanted.add(name)
        else:
            unknown.append(name)
    if unknown:
        raise ClaimsError(
            f"unknown claim field {', '.join(map(repr, unknown))}"
            + (" of an evaluation" if kind == "evaluation" else "")
            + f"; accepted: a section ({', '.join(sections)}) or a field ({', '.join(fields)})"
        )
    return tuple(f for f in fields if f in wanted)


# --- the words of the fields the rules read -----------------------------------

_BOOLEAN: tuple[bool, ...] = (True, False)

# field -> (its words, whether null is one, whether the value is a list of distinct words)
_WORDS: dict[str, tuple[tuple[Any, ...], bool, bool]] = {
    "copyright.commercial_use": (_BOOLEAN, True, False),
    "copyright.tdm_reservation": (_BOOLEAN, False, False),
    **{name: (typing.get_args(Permission), True, False) for name in _TRAINING_MINING},
    "privacy.personal_data": (typing.get_args(PersonalData), False, False),
    "privacy.special_categories": (typing.get_args(SpecialCategory), False, True),
    "privacy.lawful_basis": (typing.get_args(LawfulBasis), True, False),
    "privacy.special_category_condition": (typing.get_args(SpecialCategoryCondition), True, False),
    "privacy.anonymization": (typing.get_args(Anonymization), False, True),
    "privacy.erasure": (typing.get_args(Erasure), True, False),
    "privacy.confidentiality": (typing.get_args(Confidentiality), False, False),
}

#: The claim fields whose values are vocabulary (booleans and enumerations, CLAIMS.md): a disclosed value
#: outside it (``tdm_reservation: "true"``, ``ai_training: not_allowed``) says nothing and counts as
#: undisclosed, so that no rule reads a misspelt reservation as "no reservation". The license, the
#: differential privacy parameters and the lineage have rules of their own for what is malformed.
VOCABULARY: tuple[str, ...] = tuple(_WORDS)


def _is_word(value: Any, words: tuple[Any, ...]) -> bool:
    if words is _BOOLEAN:
        return isinstance(value, bool)
    return isinstance(value, str) and value in words  # not 1 for true: a word is a string here


def is_vocabulary(name: str, value: Any) -> bool:
    """Whether ``value`` (as parsed from JSON) is a valid value of the claim field ``name``, one of
    :data:`VOCABULARY`: what the claims models accept for it, strictly (``"true"`` is no boolean)."""
    words, nullable, listed = _WORDS[name]
    if value is None:
        return nullable
    if not listed:
        return _is_word(value, words)
    return (isinstance(value, (list, tuple)) and all(_is_word(item, words) for item in value)
            and len(set(value)) == len(value))

"""provenance.vocabulary against the claims models it stands in for: the same field names, the same words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from provenance import claims, vocabulary
from provenance.errors import ClaimsError
from provenance.vocabulary import VOCABULARY, is_vocabulary


def _names_of(model: type[BaseModel], prefix: str, fields: list[str], sections: dict[str, tuple[str, ...]]) -> None:
    """The committed fields as the models define them: a field holding a model directly is a section."""
    for name, info in model.model_fields.items():
        if model is claims.Claims and name in ("disclose", "evaluation"):
            continue  # publishing instructions, and an evaluation's own field set
        path = prefix + name
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            start = len(fields)
            sections[path] = ()
            _names_of(annotation, path + ".", fields, sections)
            sections[path] = tuple(fields[start:])
        else:
            fields.append(path)


def test_the_field_names_are_the_claims_models_fields_in_their_order():
    fields: list[str] = []
    sections: dict[str, tuple[str, ...]] = {}
    _names_of(claims.Claims, "", fields, sections)
    assert tuple(fields) == vocabulary.CLAIM_FIELDS
    assert dict(vocabulary.CLAIM_SECTIONS) == sections and list(vocabulary.CLAIM_SECTIONS) == list(sections)
    evaluation = ("kind", "name", "version", *(f"evaluation.{n}" for n in claims.Evaluation.model_fields))
    assert evaluation == vocabulary.EVALUATION_FIELDS
    assert set(vocabulary.PIN_FIELDS) <= set(vocabulary.CLAIM_FIELDS)
    assert set(vocabulary.EVALUATION_PIN_FIELDS) <= set(vocabulary.EVALUATION_FIELDS)
    # the claims module hands out the same objects, not copies
    assert claims.CLAIM_FIELDS is vocabulary.CLAIM_FIELDS and claims.resolve_fields is vocabulary.resolve_fields


def test_resolve_fields_expands_sections_and_names_what_is_accepted():
    assert vocabulary.resolve_fields(["copyright.training_mining", "kind"]) == (
        "kind", *(f"copyright.training_mining.{n}"
                  for n in ("ai_training", "ai_generative_training", "data_mining", "ai_inference")))
    assert vocabulary.resolve_fields(["evaluation"]) == vocabulary.EVALUATION_FIELDS[3:]
    with pytest.raises(ClaimsError, match="unknown claim field 'copyright.licence'; accepted: a section"):
        vocabulary.resolve_fields(["copyright.licence"])
    with pytest.raises(ClaimsError, match="mixed; accepted: the fields of one kind of record"):
        vocabulary.resolve_fields(["evaluation.results", "privacy"])


def _models_accept(name: str, value: Any) -> bool:
    """What the claims models say of ``value`` as field ``name``, validated the way a claims file is."""
    model: type[BaseModel] = claims.Claims
    *sections, last = name.split(".")
    for section in sections:
        annotation = model.model_fields[section].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel), name
        model = annotation
    try:
        text = json.dumps({last: value})
        model.model_validate_json(text)
    except (ValueError, TypeError, ValidationError):
        return False
    return True


def _words() -> list[Any]:
    found: list[Any] = []
    for alias in (vocabulary.Permission, vocabulary.PersonalData, vocabulary.SpecialCategory,
                  vocabulary.LawfulBasis, vocabulary.SpecialCategoryCondition, vocabulary.Anonymization,
                  vocabulary.Erasure, vocabulary.Confidentiality):
        found.extend(alias.__args__)
    return found


WORDS = _words()
EDGES: list[Any] = [None, True, False, 0, 1, 1.0, -1, "", "true", "false", "null", "Allowed", "not_allowed",
                    "present ", [], [None], [True], ["health", "health"], ["health", "genetic"], ("health",),
                    {"health": True}, [["health"]], float("nan"), float("inf")]


@pytest.mark.parametrize("name", VOCABULARY)
def test_every_word_and_edge_is_judged_as_the_models_judge_it(name):
    for value in [*WORDS, *EDGES, [*WORDS[:3]], WORDS[-4:]]:
        assert is_vocabulary(name, value) == _models_accept(name, value), (name, value)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(WORDS) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WORDS), inner, max_size=2),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(VOCABULARY), value=_json)
def test_any_json_value_is_judged_as_the_models_judge_it(name, value):
    assert is_vocabulary(name, value) == _models_accept(name, value)

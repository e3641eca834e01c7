"""The registry's vocabularies and bounds as the record layer knows them (registry version 2)."""

from __future__ import annotations

import pytest

from provenance.errors import InvalidValue
from provenance.record import (
    DOMAIN_VERSION,
    MAX_PARENTS,
    MAX_URI_LENGTH,
    Domain,
    Kind,
    ReasonCode,
    Record,
)


def test_domain_version_is_the_registrys():
    assert DOMAIN_VERSION == "2"
    assert Domain(1, "0x" + "11" * 20).as_typed_data()["version"] == "2"


def test_kinds_include_evaluation():
    assert [(k.name.lower(), int(k)) for k in Kind] == [("model", 0), ("dataset", 1), ("other", 2), ("evaluation", 3)]
    assert Kind.parse("evaluation") is Kind.EVALUATION
    record = Record.create(b"\x01" * 32, 3, b"\x02" * 32)
    assert record.kind is Kind.EVALUATION and Record.from_json(record.to_json()) == record
    with pytest.raises(InvalidValue, match="3 \\(evaluation\\)"):
        Record.create(b"\x01" * 32, 4, b"\x02" * 32)
    with pytest.raises(InvalidValue, match="accepted: model, dataset, other, evaluation"):
        Kind.parse("benchmark")


def test_reason_codes_are_the_registrys():
    assert [(c.label, int(c)) for c in ReasonCode] == [
        ("other", 0), ("erasure", 1), ("wrong_claims", 2), ("key_compromise", 3), ("withdrawn", 4),
    ]
    assert ReasonCode.parse("wrong-claims") is ReasonCode.WRONG_CLAIMS
    assert ReasonCode.parse(" Erasure ") is ReasonCode.ERASURE
    with pytest.raises(InvalidValue, match="accepted: other, erasure, wrong_claims, key_compromise, withdrawn"):
        ReasonCode.parse("gdpr")
    assert ReasonCode.label_of(1) == "erasure" and ReasonCode.label_of(None) is None
    assert ReasonCode.label_of(9) == "9"  # no version-2 registry emits it; shown, never guessed


def test_parents_and_uri_are_bounded_before_anything_is_signed():
    parents = [bytes([i % 256, i // 256]) * 16 for i in range(MAX_PARENTS + 1)]
    assert len(Record.create(b"\x01" * 32, Kind.MODEL, b"\x02" * 32, parents[:MAX_PARENTS]).parents) == MAX_PARENTS
    with pytest.raises(InvalidValue, match=f"at most {MAX_PARENTS} parents, this one {MAX_PARENTS + 1}"):
        Record.create(b"\x01" * 32, Kind.MODEL, b"\x02" * 32, parents)
    Record.create(b"\x01" * 32, Kind.MODEL, b"\x02" * 32, uri="é" * (MAX_URI_LENGTH // 2))  # 512 bytes
    with pytest.raises(InvalidValue, match=f"at most {MAX_URI_LENGTH} bytes"):
        Record.create(b"\x01" * 32, Kind.MODEL, b"\x02" * 32, uri="é" * (MAX_URI_LENGTH // 2) + "x")

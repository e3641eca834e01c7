"""provenance.claims and provenance.commitments for evaluation records (kind: evaluation, issue 16)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from provenance.claims import (
    CLAIM_FIELDS,
    EVALUATION_FIELDS,
    EVALUATION_PIN_FIELDS,
    PIN_FIELDS,
    Claims,
    fields_of,
    pin_fields,
    resolve_fields,
)
from provenance.commitments import Commitment, Opening, commit, disclosed_view
from provenance.errors import ClaimsError

DATA = Path(__file__).resolve().parent / "data" / "claims"
MODEL = "0x" + "11" * 32
BENCH = "0x" + "22" * 32
OTHER = "0x" + "44" * 32
RECORD = "0x" + "c1" * 32


def mapping(**evaluation: Any) -> dict[str, Any]:
    """A minimal valid evaluation claims mapping, with ``evaluation`` keys replaced."""
    base: dict[str, Any] = {
        "model": MODEL,
        "benchmarks": [BENCH],
        "category": "safety",
        "results": [{"task": "toxigen", "metric": "acc", "value": 0.8}],
    }
    base.update(evaluation)
    return {"kind": "evaluation", "evaluation": base}


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ClaimsError) as info:
        Claims.from_mapping(data)
    return str(info.value)


# --- loading -------------------------------------------------------------------------


def test_the_example_file_loads_with_every_fact():
    claims = Claims.from_file(DATA / "evaluation.yaml")
    evaluation = claims.evaluation
    assert claims.kind == "evaluation" and evaluation is not None
    assert evaluation.model.subject == MODEL and evaluation.model.record == RECORD
    assert [b.subject for b in evaluation.benchmarks] == [BENCH]
    assert evaluation.category == "safety" and evaluation.evaluator == "Acme Safety Lab"
    assert evaluation.date is not None and evaluation.date.isoformat() == "2026-11-30"
    assert evaluation.harness is not None and evaluation.harness.version == "0.4.5"
    first = evaluation.results[0]
    assert (first.task, first.metric, first.value, first.stderr, first.split, first.n_shot, first.benchmark) == (
        "toxigen", "acc", 0.83, 0.012, "test", 0, BENCH,
    )
    assert claims.disclose == ("evaluation",)


def test_the_minimal_file_takes_defaults():
    claims = Claims.from_mapping(mapping(benchmarks=[]))
    assert claims.evaluation is not None
    assert claims.evaluation.benchmarks == () and claims.evaluation.harness is None
    assert claims.evaluation.results[0].stderr is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "evaluation"}, "evaluation: missing while kind is evaluation; accepted: a mapping with keys model"),
        ({**mapping(), "kind": "model"}, "evaluation: given while kind is model; accepted: kind: evaluation"),
        ({**mapping(), "copyright": {"license": "MIT"}}, "copyright: given for an evaluation; accepted: no copyright"),
        ({**mapping(), "privacy": {"personal_data": "absent"}}, "privacy: given for an evaluation"),
        ({**mapping(), "lineage": {"trained_on": [OTHER]}}, "lineage: given for an evaluation"),
        ({**mapping(), "disclose": ["copyright"]}, "disclose[0]: 'copyright' is not a field of an evaluation"),
        (mapping(category="fun"), "evaluation.category: \"fun\" is not accepted; accepted: one of capability, "
         "safety, bias, privacy, other"),
        (mapping(results=[]), "evaluation.results: "),
        (mapping(model="0x12"), "evaluation.model: '0x12' is not a subject"),
        (mapping(benchmarks=[BENCH, BENCH]), "evaluation.benchmarks: "),
        (mapping(benchmarks=[MODEL]), "evaluation.benchmarks: lists the evaluated model"),
        (mapping(config_digest="abc"), "evaluation.config_digest: 'abc' is not a subject"),
        (mapping(date="yesterday"), "evaluation.date: "),
        (mapping(harness={"version": "1"}), "evaluation.harness.name: missing"),
        (mapping(results=[{"task": "t", "metric": "acc", "value": "high"}]),
         "evaluation.results[0].value: \"high\" is not accepted; accepted: a finite number"),
        (mapping(results=[{"task": "t", "metric": "acc", "value": 1, "n_shot": -1}]),
         "evaluation.results[0].n_shot: "),
        (mapping(results=[{"task": "t", "metric": "acc", "value": 1, "stderr": -0.1}]),
         "evaluation.results[0].stderr: "),
        (mapping(results=[{"task": "t", "metric": "acc", "value": 1, "score": 2}]),
         "evaluation.results[0].score: unknown key; accepted keys here: task, metric, value, stderr"),
        (mapping(results=[{"task": "t", "metric": "acc", "value": 1, "benchmark": OTHER}]),
         "evaluation.results[0].benchmark: " + OTHER + " is not in evaluation.benchmarks"),
        (mapping(results=[{"task": "t", "metric": "acc", "value": 1, "split": "test"},
                          {"task": "t", "metric": "acc", "value": 2, "split": "test"}]),
         "evaluation.results[1]: repeats task t, metric acc, split test of evaluation.results[0]"),
    ],
)
def test_refusals_name_the_field_and_what_is_accepted(data, expected):
    message = refused(data)
    assert expected in message, message


def test_kinds_listed_include_evaluation():
    assert "one of model, dataset, other, evaluation" in refused({"name": "x"})


def test_results_of_one_task_on_two_splits_are_distinct():
    claims = Claims.from_mapping(mapping(results=[
        {"task": "t", "metric": "acc", "value": 1, "split": "test"},
        {"task": "t", "metric": "acc", "value": 2, "split": "validation"},
    ]))
    assert claims.evaluation is not None and len(claims.evaluation.results) == 2


# --- field sets --------------------------------------------------------------------------


def test_field_sets_by_kind():
    assert fields_of("evaluation") == EVALUATION_FIELDS
    assert fields_of("model") == fields_of("dataset") == fields_of("other") == CLAIM_FIELDS
    assert len(CLAIM_FIELDS) == 27 and not any(f.startswith("evaluation") for f in CLAIM_FIELDS)
    assert EVALUATION_FIELDS == (
        "kind", "name", "version", "evaluation.model", "evaluation.benchmarks", "evaluation.category",
        "evaluation.evaluator", "evaluation.date", "evaluation.harness", "evaluation.config_digest",
        "evaluation.results",
    )
    assert pin_fields("evaluation") == EVALUATION_PIN_FIELDS and pin_fields("model") == PIN_FIELDS


def test_field_values_of_an_evaluation():
    values = Claims.from_file(DATA / "evaluation.yaml").field_values()
    assert tuple(values) == EVALUATION_FIELDS
    assert values["evaluation.model"] == {"subject": MODEL, "record": RECORD}
    assert values["evaluation.benchmarks"] == [BENCH]
    assert values["evaluation.date"] == "2026-11-30"
    assert values["evaluation.harness"] == {"name": "lm-evaluation-harness", "version": "0.4.5"}
    assert values["evaluation.results"][1] == {
        "task": "toxigen", "metric": "acc_norm", "value": 0.79, "stderr": 0.013, "split": "test", "n_shot": 0,
        "benchmark": None,
    }


def test_resolve_fields_by_kind_and_never_mixed():
    assert resolve_fields(["evaluation"]) == EVALUATION_FIELDS[3:]
    assert resolve_fields(["kind", "evaluation.results"], kind="evaluation") == ("kind", "evaluation.results")
    assert resolve_fields(["kind"]) == ("kind",)
    with pytest.raises(ClaimsError, match="mixed; accepted: the fields of one kind of record"):
        resolve_fields(["evaluation.results", "copyright"])
    with pytest.raises(ClaimsError, match="unknown claim field 'copyright' of an evaluation"):
        resolve_fields(["copyright"], kind="evaluation")
    with pytest.raises(ClaimsError, match="unknown claim field 'evaluation'"):
        resolve_fields(["evaluation"], kind="model")


def test_old_records_keep_their_fields():
    claims = Claims.from_mapping({"kind": "dataset", "disclose": ["copyright"]})
    assert tuple(claims.field_values()) == CLAIM_FIELDS
    assert claims.evaluation is None and claims.parents() == ()
    assert "evaluation" not in claims.field_values()


# --- parents and pins ------------------------------------------------------------------


def test_parents_are_the_model_and_the_benchmarks():
    claims = Claims.from_file(DATA / "evaluation.yaml")
    assert claims.parents() == (bytes.fromhex(MODEL[2:]), bytes.fromhex(BENCH[2:]))
    assert claims.pins() == {bytes.fromhex(MODEL[2:]): bytes.fromhex(RECORD[2:])}
    assert claims.unpinned() == (bytes.fromhex(BENCH[2:]),)


def test_with_pins_pins_the_model_and_benchmarks():
    claims = Claims.from_mapping(mapping())
    bench_record = bytes.fromhex("d2" * 32)
    pinned = claims.with_pins({bytes.fromhex(MODEL[2:]): bytes.fromhex(RECORD[2:]),
                               bytes.fromhex(BENCH[2:]): bench_record})
    values = pinned.field_values()
    assert values["evaluation.model"] == {"subject": MODEL, "record": RECORD}
    assert values["evaluation.benchmarks"] == [{"subject": BENCH, "record": "0x" + bench_record.hex()}]
    assert pinned.unpinned() == () and claims.pins() == {}
    with pytest.raises(ClaimsError, match="evaluation: cannot pin .* not a parent \\(model or benchmarks\\)"):
        claims.with_pins({bytes.fromhex(OTHER[2:]): bench_record})


# --- commitments and disclosure ------------------------------------------------------------


def test_commitment_and_disclosure_round_trip():
    claims = Claims.from_file(DATA / "evaluation.yaml")
    commitment = commit(claims)
    assert [o.field for o in commitment.openings] == sorted(EVALUATION_FIELDS)
    assert commitment.kind == "evaluation"
    assert commitment.defaults == EVALUATION_FIELDS[3:]
    again = Commitment.from_json(commitment.to_json())
    assert again.claims_root == commitment.claims_root and again.defaults == commitment.defaults
    view = disclosed_view(commitment.claims_root, commitment.disclose())
    assert view["evaluation.results"][0]["task"] == "toxigen"
    assert set(view) == set(EVALUATION_FIELDS[3:])
    assert set(disclosed_view(commitment.claims_root, commitment.disclose(["kind"]))) == {"kind"}
    with pytest.raises(ClaimsError, match="unknown claim field 'copyright' of an evaluation"):
        commitment.disclose(["copyright"])


def test_a_commitment_takes_exactly_one_field_set():
    claims = Claims.from_file(DATA / "evaluation.yaml")
    salt = bytes(32)
    openings = [Opening.of(f, salt, v) for f, v in claims.field_values().items()]
    with pytest.raises(ClaimsError, match="every an evaluation's claim field once; missing \\['evaluation.results'\\]"):
        Commitment.from_openings(openings[:-1])
    with pytest.raises(ClaimsError, match="unknown \\['copyright.license'\\]"):
        Commitment.from_openings([*openings, Opening.of("copyright.license", salt, None)])
    as_model = [Opening.of("kind", salt, "model"), *openings[1:]]  # evaluation fields under another kind
    with pytest.raises(ClaimsError, match="every claim field once"):
        Commitment.from_openings(as_model)


def test_a_disclosed_view_refuses_a_mix_of_field_sets():
    evaluation = commit(Claims.from_file(DATA / "evaluation.yaml"))
    dataset = commit(Claims.from_mapping({"kind": "dataset"}))
    mixed = [*evaluation.disclose(["evaluation.category"]), *dataset.disclose(["copyright.license"])]
    with pytest.raises(ClaimsError, match="mixed"):
        disclosed_view(evaluation.claims_root, mixed)


def test_pins_of_an_evaluation_are_disclosed_by_prepare():
    from eth_account import Account

    from provenance.publish import prepare
    from provenance.record import Domain, Kind

    data = copy.deepcopy(mapping())
    data["evaluation"]["model"] = {"subject": MODEL, "record": RECORD}
    claims = Claims.from_mapping(data)  # disclose nothing
    domain = Domain(chain_id=31337, verifying_contract="0x" + "00" * 19 + "01")
    prepared = prepare(account=Account.create(), domain=domain, claims=claims, subject=b"\x55" * 32)
    record = prepared.statement.record
    assert record.kind == Kind.EVALUATION
    assert record.parents == claims.parents()
    disclosed = {d["field"] for d in prepared.statement.disclosures}
    assert disclosed == set(EVALUATION_PIN_FIELDS)

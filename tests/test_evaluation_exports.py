"""An evaluation's results in other ecosystems' formats, without a chain (issue 16, exports).

in-toto with the test-result predicate, SPDX 3.0.1 (the AI profile's ``ai_metric`` on the evaluated
model, validated with SPDX's bindings as tests/test_spdx.py does) and a card's ``model-index`` built
through huggingface_hub and read back by ``provenance evaluate``'s importer.
"""

from __future__ import annotations

import hashlib

import pytest
import yaml
from eth_account import Account

from provenance.claims import Claims
from provenance.commitments import commit
from provenance.errors import StatementError
from provenance.evalimport import parse_model_index
from provenance.hfcard import card_block, model_index
from provenance.record import Domain, Kind, Record, hex32
from provenance.signing import sign_record
from provenance.spdx import ID_BASE, TEST_RESULT, intoto_test_result, spdx_document
from provenance.statement import SUBJECT_DIGEST, Statement
from tests.test_spdx import by_id, relationships, validate

REGISTRY = "0x" + "22" * 20
CHAIN_ID = 31337
MODEL, MODEL_RECORD, BENCHMARK = b"\xa1" * 32, b"\xa2" * 32, b"\xb1" * 32
LAB, STRANGER = Account.create(), Account.create()
RESULTS = [
    {"task": "toxigen", "metric": "acc", "value": 0.83, "stderr": 0.012, "split": "test", "n_shot": 0,
     "benchmark": hex32(BENCHMARK)},
    {"task": "mmlu/abstract_algebra", "metric": "acc_norm", "value": 0.61, "split": "test", "n_shot": 5},
]


def signed(account, kind: Kind, spec: dict, subject: bytes, *, name: str = "") -> Statement:
    claims = Claims.from_mapping(spec)
    commitment = commit(claims)
    record = Record.create(subject, kind, commitment.claims_root, claims.parents(), "https://lab.example/eval.json")
    return Statement.create(
        name=name, record=record, publisher=account.address,
        signature=sign_record(account, record, Domain(CHAIN_ID, REGISTRY)), chain_id=CHAIN_ID, registry=REGISTRY,
        disclosures=[d.to_dict() for d in commitment.disclose()],
    )  # fmt: skip


def evaluation(model: bytes = MODEL, results: list[dict] = RESULTS, account=LAB, disclose=("evaluation",)) -> Statement:
    spec = {
        "kind": "evaluation",
        "evaluation": {
            "model": {"subject": hex32(model), "record": hex32(MODEL_RECORD)},
            "benchmarks": [{"subject": hex32(BENCHMARK), "record": hex32(b"\xb2" * 32)}],
            "category": "safety", "evaluator": "Acme Safety Lab", "date": "2026-11-30",
            "harness": {"name": "lm-evaluation-harness", "version": "0.4.5"},
            "config_digest": "0x" + hashlib.sha256(b"config").hexdigest(), "results": results,
        },
        "disclose": list(disclose),
    }
    return signed(account, Kind.EVALUATION, spec, hashlib.sha256(repr(results).encode() + model).digest(),
                  name="results.json")


def model_statement() -> Statement:
    spec = {"kind": "model", "name": "acme/llm-7b", "copyright": {"license": "Apache-2.0"},
            "disclose": ["name", "copyright"]}
    return signed(Account.create(), Kind.MODEL, spec, MODEL, name="acme/llm-7b")


# ---------------------------------------------------------------- in-toto test-result


def test_test_result_predicate_of_an_evaluation():
    statement = evaluation()
    doc = intoto_test_result(statement)
    assert doc["_type"] == "https://in-toto.io/Statement/v1" and doc["predicateType"] == TEST_RESULT
    assert doc["subject"] == [{"name": hex32(MODEL), "digest": {SUBJECT_DIGEST: MODEL.hex()}}]
    predicate = doc["predicate"]
    assert predicate["result"] == "PASSED" and predicate["failedTests"] == [] and predicate["warnedTests"] == []
    assert predicate["passedTests"] == ["toxigen/acc (test, 0-shot)", "mmlu/abstract_algebra/acc_norm (test, 5-shot)"]
    assert predicate["metrics"][0] == {"test": "toxigen/acc (test, 0-shot)", "task": "toxigen", "metric": "acc",
                                       "value": 0.83, "stderr": 0.012, "split": "test", "nShot": 0,
                                       "benchmark": hex32(BENCHMARK)}
    results, config, benchmark = predicate["configuration"]
    assert results["digest"] == {SUBJECT_DIGEST: statement.subject.hex()}
    assert results["annotations"] == {"harness": "lm-evaluation-harness", "harnessVersion": "0.4.5"}
    assert config == {"name": "configuration", "digest": {"sha256": hashlib.sha256(b"config").hexdigest()}}
    assert benchmark["digest"] == {SUBJECT_DIGEST: BENCHMARK.hex()}
    # every ResourceDescriptor has a digest (in-toto: one of uri, digest, content)
    assert all(d.get("digest") for d in predicate["configuration"])
    assert predicate["evaluation"]["recordId"] == hex32(statement.record_id)
    assert predicate["evaluation"]["evaluator"] == LAB.address and predicate["url"] == "https://lab.example/eval.json"


def test_test_result_needs_an_evaluation_that_discloses_its_results():
    with pytest.raises(StatementError, match="not an evaluation"):
        intoto_test_result(model_statement())
    with pytest.raises(StatementError, match=r"does not disclose evaluation\.(model|results)"):
        intoto_test_result(evaluation(disclose=("evaluation.category",)))


# ---------------------------------------------------------------- SPDX 3.0.1


def test_spdx_of_an_evaluation_puts_its_results_on_the_model():
    statement = evaluation()
    document = spdx_document(statement)
    validate(document)
    elements = by_id(document)
    model = elements[f"{ID_BASE}{MODEL.hex()}/artifact"]
    assert model["type"] == "ai_AIPackage"
    rid = hex32(statement.record_id)
    assert {(e["key"], e["value"]) for e in model["ai_metric"]} == {
        (f"toxigen/acc (test, 0-shot); record {rid}", "0.83"),
        (f"toxigen/acc (test, 0-shot); record {rid}; stderr", "0.012"),
        (f"mmlu/abstract_algebra/acc_norm (test, 5-shot); record {rid}", "0.61"),
    }
    (evidence,) = relationships(document, "hasEvidence")
    assert evidence["from"] == model["spdxId"] and evidence["to"] == [f"{ID_BASE}{statement.subject.hex()}/artifact"]
    (tested,) = relationships(document, "testedOn")
    assert tested["to"] == [f"{ID_BASE}{BENCHMARK.hex()}/artifact"]
    assert not relationships(document, "other")  # an evaluation's parents are not what it derives from


def test_spdx_of_a_model_carries_the_metrics_of_its_evaluations_only():
    model = model_statement()
    ours, elsewhere = evaluation(), evaluation(model=b"\xcc" * 32, account=STRANGER)
    document = spdx_document(model, evaluations=[ours, elsewhere])
    validate(document)
    metrics = by_id(document)[f"{ID_BASE}{MODEL.hex()}/artifact"]["ai_metric"]
    assert len(metrics) == 3 and all(hex32(ours.record_id) in e["key"] for e in metrics)
    assert "ai_metric" not in spdx_document(model)["@graph"][2]


# ---------------------------------------------------------------- the card's model-index


def test_model_index_round_trips_through_huggingface_hub():
    model = model_statement()
    other = evaluation(model=b"\xcc" * 32, account=STRANGER)
    block = card_block(model, evaluations=[evaluation(), other])
    metadata = yaml.safe_load(block)
    (entry,) = metadata["model-index"]
    assert entry["name"] == "acme/llm-7b"
    assert "not of this model's weights" in block  # the other weights' evaluation is named and left out
    imported = parse_model_index(f"---\n{block}---\n# acme/llm-7b\n")
    assert [(r.task, r.metric, r.value, r.split, r.n_shot) for r in imported.results] == [
        ("toxigen", "acc", 0.83, "test", 0), ("mmlu/abstract_algebra", "acc_norm", 0.61, "test", 5)]
    assert imported.model is not None and imported.model.name == "acme/llm-7b"
    first = entry["results"][0]
    assert first["task"]["type"] == "other" and first["task"]["name"] == "safety evaluation"
    assert LAB.address in first["source"]["name"] and first["source"]["url"] == "https://lab.example/eval.json"
    assert "verified" not in first["metrics"][0]  # only the Hub verifies
    # nothing to show: no block, and a dataset never gets one
    assert model_index(model, [other])[0] is None
    assert "model-index" not in card_block(model)

"""provenance.evalimport and `provenance evaluate` (issue 16): results read from the formats people have,
refused when they are of other weights, and registered as evaluation records through anvil."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provenance.claims import Claims
from provenance.commitments import canonical_json
from provenance.errors import InvalidValue
from provenance.evalimport import (
    EvaluatedModel,
    NamedModel,
    check_model,
    load_results,
    parse_lm_eval,
    parse_model_index,
)
from provenance.manifest import Manifest
from provenance.record import Kind, hex32
from provenance.statement import Statement, statement_path_for
from tests.publisher_home import EXAMPLES, Home, make_artifact, make_home

DATA = Path(__file__).resolve().parent / "data" / "evaluations"
LM_EVAL = DATA / "lm_eval_results.json"
CARD = DATA / "model_card.md"
SHA = "0f3c4b8d2a1e9f7c6b5a4d3e2f1a0b9c8d7e6f5a"


def lm_eval(**config: Any) -> dict[str, Any]:
    """The fixture's results with ``config`` keys replaced (None deletes one)."""
    data = json.loads(LM_EVAL.read_text())
    for key, value in config.items():
        if value is None:
            data["config"].pop(key, None)
        else:
            data["config"][key] = value
    return data


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


# ---------------------------------------------------------------- import: lm-evaluation-harness


def test_lm_eval_results_in_their_real_layout():
    imported = load_results(LM_EVAL)
    assert imported.format == "lm-eval" and imported.skipped == ()
    by_key = {(r.task, r.metric): r for r in imported.results}
    assert set(by_key) == {
        ("arc_easy", "acc"), ("arc_easy", "acc_norm"), ("toxigen", "acc"), ("toxigen", "acc_norm"),
        ("gsm8k", "exact_match,strict-match"), ("gsm8k", "exact_match,flexible-extract"),
    }
    toxigen = by_key[("toxigen", "acc")]
    assert (toxigen.value, toxigen.stderr, toxigen.split, toxigen.n_shot) == (
        0.4308510638297872, 0.016160089171486036, "test", 0)
    assert by_key[("gsm8k", "exact_match,strict-match")].n_shot == 5
    assert imported.harness is not None and imported.harness.model_dump() == {
        "name": "lm-evaluation-harness", "version": "0.4.5"}
    assert imported.date is not None and imported.date.isoformat() == "2024-12-01"
    data = json.loads(LM_EVAL.read_text())
    expected = hashlib.sha256(canonical_json({"config": data["config"], "configs": data["configs"]})).hexdigest()
    assert imported.config_digest == "0x" + expected
    assert imported.model == NamedModel(
        "acme/llm-7b", "main", SHA, "config.model_args pretrained=, config.model_revision, config.model_sha")


def test_lm_eval_values_that_are_not_numbers_are_left_out_and_said():
    data = lm_eval()
    data["results"]["toxigen"]["acc_norm,none"] = "N/A"
    data["results"]["toxigen"]["acc_stderr,none"] = "N/A"
    imported = parse_lm_eval(data)
    toxigen = [r for r in imported.results if r.task == "toxigen"]
    assert [(r.metric, r.stderr) for r in toxigen] == [("acc", None)]
    assert imported.skipped == ('toxigen acc_norm,none: "N/A" is not a finite number',)


def test_lm_eval_version_falls_back_to_the_git_hash_and_model_args_may_be_a_mapping():
    data = lm_eval(model_args={"pretrained": "acme/other", "revision": SHA}, model_revision=None, model_sha=None)
    del data["lm_eval_version"]
    imported = parse_lm_eval(data)
    assert imported.harness is not None and imported.harness.version == "git a3b5c7d"
    assert imported.model == NamedModel("acme/other", SHA, None, "config.model_args pretrained=, "
                                        "config.model_args revision=")


def test_an_imported_evaluation_is_valid_claims():
    imported = load_results(LM_EVAL)
    claims = Claims.from_mapping({"kind": "evaluation", "evaluation": {
        "model": "0x" + "11" * 32, "category": "safety", "date": imported.date.isoformat(),
        "harness": imported.harness.model_dump(), "config_digest": imported.config_digest,
        "results": [r.model_dump(mode="json") for r in imported.results]}})
    assert claims.evaluation is not None and len(claims.evaluation.results) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "is not an lm-evaluation-harness results file: no 'results' mapping"),
        ('{"results": {"t": {"alias": "t"}}}', "no result with a numeric value under 'results'"),
        ("{not json", "is not JSON"),
        ("---\nlicense: mit\n---\n# a card\n", "no model-index result with a numeric value"),
    ],
)
def test_bad_results_files_are_refused_saying_what_is_accepted(tmp_path, text, expected):
    path = tmp_path / "results.json"
    path.write_text(text)
    with pytest.raises(InvalidValue) as info:
        load_results(path)
    assert expected in str(info.value)
    assert "accepted: an lm-evaluation-harness results JSON" in str(info.value)


def test_a_missing_results_file_is_named(tmp_path):
    with pytest.raises(InvalidValue, match="results file .*nope.json does not exist"):
        load_results(tmp_path / "nope.json")


# ---------------------------------------------------------------- import: a card's model-index


def test_a_cards_model_index_read_by_huggingface_hub():
    imported = parse_model_index(CARD.read_text())
    assert imported.format == "model-index" and imported.model == NamedModel("acme/llm-7b", None, None,
                                                                            "model-index name")
    assert [(r.task, r.metric, r.value, r.split, r.n_shot) for r in imported.results] == [
        ("ai2_arc/ARC-Challenge", "acc_norm", 61.35, "test", 25),
        ("hellaswag", "acc_norm", 83.87, "validation", 10),
        ("truthful_qa/multiple_choice", "mc2", 45.3, "validation", 0),
    ]
    assert load_results(CARD).results == imported.results  # detected from the front matter


# ---------------------------------------------------------------- which model


def snapshot(root: Path, repo: str, commit: str, content: bytes = b"weights") -> Path:
    folder = root / f"models--{repo.replace('/', '--')}" / "snapshots" / commit
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(content)
    return folder


def evaluated(path: Path, text: str | None = None) -> EvaluatedModel:
    return EvaluatedModel.of(text or str(path), path, Manifest.from_path(path).subject)


def subject_of(path: Path) -> bytes:
    return Manifest.from_path(path).subject


def test_the_same_local_path_or_the_same_weights_elsewhere_match(tmp_path):
    model = make_artifact(tmp_path, "llm")
    named = NamedModel(str(model), None, None, "config.model_args pretrained=")
    assert check_model(named, evaluated(model), subject_of=subject_of).checked
    copy_of = tmp_path / "copy"
    copy_of.mkdir()
    for f in model.iterdir():
        (copy_of / f.name).write_bytes(f.read_bytes())
    check = check_model(NamedModel(str(copy_of), None, None, "x"), evaluated(model), subject_of=subject_of)
    assert check.checked and "the same subject" in check.how


def test_a_local_path_of_other_weights_is_refused_naming_both_subjects(tmp_path):
    model = make_artifact(tmp_path, "llm")
    other = make_artifact(tmp_path, "other")
    with pytest.raises(InvalidValue) as info:
        check_model(NamedModel(str(other), None, None, "x"), evaluated(model, "MODEL"), subject_of=subject_of)
    assert str(info.value) == (f"the results are for {other} (subject {hex32(subject_of(other))}), "
                               f"not MODEL ({hex32(subject_of(model))})")


def test_another_hub_repository_is_refused(tmp_path):
    model = snapshot(tmp_path / "hub", "acme/llm-7b", SHA)
    with pytest.raises(InvalidValue, match="the results are for the Hugging Face repository acme/other, not "):
        check_model(NamedModel("acme/other", None, None, "x"), evaluated(model), subject_of=subject_of)
    check = check_model(NamedModel("acme/llm-7b", "main", SHA, "x"), evaluated(model), subject_of=subject_of)
    assert check.checked and check.how == f"the results name the repository acme/llm-7b, commit {SHA}"


def test_another_commit_is_refused(tmp_path):
    model = snapshot(tmp_path / "hub", "acme/llm-7b", "a" * 40)
    with pytest.raises(InvalidValue, match=f"the results are for commit {SHA} \\(model_sha\\), not .* at commit "
                       + "a" * 40):
        check_model(NamedModel("acme/llm-7b", "main", SHA, "x"), evaluated(model), subject_of=subject_of)
    with pytest.raises(InvalidValue, match="\\(revision\\)"):
        check_model(NamedModel("acme/llm-7b", SHA, None, "x"), evaluated(model), subject_of=subject_of)


def test_results_naming_no_model_or_an_uncomparable_one_are_not_checked(tmp_path):
    model = make_artifact(tmp_path, "llm")
    assert check_model(None, evaluated(model), subject_of=subject_of).how == "the results name no model"
    check = check_model(NamedModel("acme/llm-7b", "main", SHA, "x"), evaluated(model), subject_of=subject_of)
    assert not check.checked and "acme/llm-7b" in check.how  # a plain folder is no snapshot: no repository


# ---------------------------------------------------------------- the command, through anvil


def register(home: Home, artifact: Path, kind: str) -> dict[str, Any]:
    result = home.run("register", str(artifact), "--kind", kind, "--claims", str(EXAMPLES / f"{kind}.yaml"),
                      "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def results_for(tmp_path: Path, model: Path, name: str = "results.json", **changes: Any) -> Path:
    data = lm_eval(model_args=f"pretrained={model},dtype=bfloat16", model_revision=None, model_sha=None)
    data.update(changes)
    return write(tmp_path / name, data)


def firm(verdict: dict[str, Any]) -> bool:
    """The results file is the signed artifact, anchored, its claims disclosed as signed."""
    status = {c["check"]: c["status"] for c in verdict["checks"]}
    signed = status["authenticity"] in ("pass", "warn")  # warn: the default policy trusts no publisher
    return signed and all(status[c] == "pass" for c in ("integrity", "anchoring", "status", "claims"))


@pytest.mark.chain
def test_evaluate_directly_and_in_a_batch_then_verify(tmp_path, ledger):
    home = make_home(tmp_path / "home", ledger.rpc_url, ledger.registry)
    model = make_artifact(tmp_path, "llm-7b", {"model.safetensors": b"\x01\x02" * 2048, "config.json": b"{}"})
    bench = make_artifact(tmp_path, "toxigen", {"test.parquet": b"toxigen rows" * 64})
    md, ds = register(home, model, "model"), register(home, bench, "dataset")
    model_subject, bench_subject = bytes.fromhex(md["subject"][2:]), bytes.fromhex(ds["subject"][2:])
    results = results_for(tmp_path, model)

    # no terminal and no --yes: refused before anything is signed
    refused = home.run("evaluate", str(model), "--results", str(results), "--benchmark", ds["subject"])
    assert refused.returncode == 2 and "stdin is not a terminal" in refused.stderr
    assert not statement_path_for(results).exists()

    done = home.run("evaluate", str(model), "--results", str(results), "--benchmark", ds["subject"],
                    "--category", "safety", "--evaluator", "Acme Safety Lab", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "anchored" and out["subject"] == hex32(Manifest.from_path(results).subject)
    assert {p["subject"]: p["record"] for p in out["pins"]} == {md["subject"]: md["recordId"],
                                                                ds["subject"]: ds["recordId"]}
    assert "claims:" in done.stderr and "toxigen" in done.stderr  # shown before signing
    statement = Statement.from_file(statement_path_for(results))
    assert statement.record.kind == Kind.EVALUATION
    assert statement.record.parents == tuple(sorted((model_subject, bench_subject)))
    (event,) = [e for e in ledger.events(0) if e.name == "RecordRegistered" and e.args["kind"] == 3]
    assert event.args["recordId"] == statement.record_id
    assert event.args["parents"] == sorted([model_subject, bench_subject])
    disclosed = {d["field"]: d["value"] for d in statement.disclosures}
    evaluation_model = disclosed["evaluation.model"]
    assert evaluation_model == {"subject": md["subject"], "record": md["recordId"]}
    assert disclosed["evaluation.category"] == "safety" and disclosed["evaluation.evaluator"] == "Acme Safety Lab"
    toxigen = [r for r in disclosed["evaluation.results"] if r["task"] == "toxigen" and r["metric"] == "acc"]
    assert toxigen == [{"task": "toxigen", "metric": "acc", "value": 0.4308510638297872,
                        "stderr": 0.016160089171486036, "split": "test", "n_shot": 0, "benchmark": ds["subject"]}]
    verified = home.run("verify", str(results), "--statement", str(statement_path_for(results)), "--json")
    assert verified.returncode in (0, 1), verified.stderr
    verdict = json.loads(verified.stdout)
    assert hex32(statement.record_id) in json.dumps(verdict)
    assert firm(verdict), json.dumps(verdict["checks"], indent=1)

    # the same in a batch: queued, then anchored
    second = results_for(tmp_path, model, "results-2.json", date=1733100000.0)
    queued = home.run("evaluate", str(model), "--results", str(second), "--yes", "--batch", "--json")
    assert queued.returncode == 0, queued.stderr
    assert json.loads(queued.stdout)["state"] == "queued"
    anchored = home.run("anchor", "--json")
    assert anchored.returncode == 0, anchored.stderr
    batched = Statement.from_file(statement_path_for(second))
    assert batched.anchor is not None and batched.anchor.type == "batch"
    assert batched.record.kind == Kind.EVALUATION and batched.record.parents == (model_subject,)
    verified = home.run("verify", str(second), "--statement", str(statement_path_for(second)), "--json")
    assert verified.returncode in (0, 1), verified.stderr
    assert firm(json.loads(verified.stdout)), verified.stdout


@pytest.mark.chain
def test_evaluate_refusals(tmp_path, ledger):
    home = make_home(tmp_path / "home", ledger.rpc_url, ledger.registry)
    model = make_artifact(tmp_path, "llm-7b")
    other = make_artifact(tmp_path, "other-7b")

    # results of other weights: refused with both subjects, before the chain is asked
    wrong = results_for(tmp_path, other, "wrong.json")
    result = home.run("evaluate", str(model), "--results", str(wrong), "--yes")
    assert result.returncode == 2
    assert f"the results are for {other} (subject {hex32(Manifest.from_path(other).subject)}), not" in result.stderr

    # results naming no model: said, and accepted only when asked
    anonymous = write(tmp_path / "anonymous.json", lm_eval(model_args="", model_revision=None, model_sha=None) | {
        "model_name": ""})
    result = home.run("evaluate", str(model), "--results", str(anonymous), "--yes")
    assert result.returncode == 2 and "the results name no model" in result.stderr
    assert "--accept-unchecked-model" in result.stderr

    # a model with no record: register it first
    named = results_for(tmp_path, model)
    result = home.run("evaluate", str(model), "--results", str(named), "--yes")
    assert result.returncode == 2 and "register the model first" in result.stderr
    result = home.run("evaluate", str(model), "--results", str(anonymous), "--yes", "--accept-unchecked-model",
                      "--dry-run")
    assert result.returncode == 2 and "register the model first" in result.stderr

    # a bad results file: what is accepted
    bad = tmp_path / "bad.json"
    bad.write_text('{"accuracy": 0.9}')
    result = home.run("evaluate", str(model), "--results", str(bad), "--yes")
    assert result.returncode == 2 and "accepted: an lm-evaluation-harness results JSON" in result.stderr

    # registered: the dry run shows the claims and signs nothing
    register(home, model, "model")
    result = home.run("evaluate", str(model), "--results", str(named), "--dry-run")
    assert result.returncode == 0, result.stderr
    shown = yaml.safe_load(result.stdout.split("claims:\n", 1)[1].split("dry run:")[0])
    assert shown["kind"] == "evaluation" and shown["evaluation"]["category"] == "capability"
    assert not statement_path_for(named).exists()


def test_the_fixture_is_not_changed_by_the_tests():
    assert copy.deepcopy(json.loads(LM_EVAL.read_text()))["config"]["model_sha"] == SHA

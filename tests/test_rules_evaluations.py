"""The evaluations check (issue 16): what evaluators measured of the verified weights, and what the policy requires."""

from __future__ import annotations

import jsonschema
import pytest

from provenance.policy import Policy
from provenance.record import Kind
from provenance.rules import ArtifactFacts, EvaluationSeen, Lineage, ResultSeen, evaluate, evaluation_checks
from provenance.verdict import Check, CheckName, Code, Status, Verdict, verdict_schema

MODEL = bytes([7]) * 32
OTHER_MODEL = bytes([8]) * 32
LAB = "0x" + "a1" * 20  # a trusted evaluator
STRANGER = "0x" + "b2" * 20
AUDITOR = "0x" + "c3" * 20


def rid(n: int) -> bytes:
    return bytes([0xE0 + n]) * 32


def seen(n: int, publisher: str, value: float, *, task="toxigen", metric="acc", category="safety", model=MODEL,
         **fields) -> EvaluationSeen:
    return EvaluationSeen(rid(n), publisher, model=model, evaluator=f"lab {n}", category=category,
                          results=(ResultSeen(task, metric, value, 0.012, "test", 0),), **fields)


def policy(*requirements: dict, trusted=(LAB,)) -> Policy:
    return Policy.from_mapping({"trusted_evaluators": list(trusted), "require": {"evaluations": list(requirements)}})


SAFETY = {"task": "toxigen", "metric": "acc", "min": 0.8, "category": "safety"}


def lines(found, pol, kind=Kind.MODEL, **kw) -> list[Check]:
    checks = evaluation_checks(MODEL, kind, found, pol, **kw)
    assert checks and all(c.check is CheckName.EVALUATIONS for c in checks)
    assert any(c.status is not Status.INFO for c in checks)  # a check always says something that weighs
    return checks


def codes(checks) -> list[tuple[Status, Code]]:
    return [(c.status, c.code) for c in checks]


def test_trusted_result_meets_the_requirement_and_a_strangers_better_score_is_information():
    checks = lines([seen(1, LAB, 0.83), seen(2, STRANGER, 0.99)], policy(SAFETY))
    assert codes(checks) == [(Status.PASS, Code.OK), (Status.INFO, Code.UNTRUSTED_PUBLISHER), (Status.PASS, Code.OK)]
    listed, stranger, met = checks
    assert listed.message.startswith("Evaluation ") and "(safety) by " in listed.message and "lab 1" in listed.message
    assert listed.message.endswith(": toxigen acc 0.83 ± 0.012 (test, 0-shot)")
    assert listed.evidence["trusted"] is True and listed.evidence["evaluator"] == LAB
    assert listed.evidence["results"][0] == {"task": "toxigen", "metric": "acc", "value": 0.83, "stderr": 0.012,
                                             "split": "test", "nShot": 0}
    assert stranger.evidence["trusted"] is False and "weighs nothing" in stranger.message
    assert "met by" in met.message and met.evidence["value"] == 0.83 and met.evidence["evaluator"] == LAB
    assert [a.lower() for a in met.evidence["requirement"]["by"]] == [LAB]  # checksummed by the policy


def test_trusted_result_below_the_bound_fails_whatever_a_stranger_claims():
    checks = lines([seen(1, LAB, 0.71), seen(2, STRANGER, 0.99)], policy(SAFETY))
    fail = [c for c in checks if c.status is Status.FAIL]
    assert codes(fail) == [(Status.FAIL, Code.EVAL_BELOW_THRESHOLD)]
    assert "0.71 by " + LAB in fail[0].message and ">= 0.8" in fail[0].message
    assert fail[0].evidence["values"] == (0.71,)


def test_only_a_strangers_result_is_missing():
    checks = lines([seen(2, STRANGER, 0.99)], policy(SAFETY))
    assert codes(checks) == [(Status.INFO, Code.UNTRUSTED_PUBLISHER), (Status.FAIL, Code.EVAL_MISSING)]
    assert "0.99 by " + STRANGER + ", not one of them" in checks[1].message


def test_an_evaluation_of_other_weights_never_counts_and_is_not_listed():
    checks = lines([seen(1, LAB, 0.95, model=OTHER_MODEL), seen(3, LAB, 0.95, model=None)], policy(SAFETY))
    assert codes(checks) == [(Status.FAIL, Code.EVAL_MISSING)]


def test_revoked_and_refused_evaluations_do_not_count():
    revoked = seen(1, LAB, 0.95, revoked="wrong_claims")
    refused = EvaluationSeen(rid(2), LAB, problem=(Code.BAD_SIGNATURE, "its signature does not match"))
    checks = lines([revoked, refused], policy(SAFETY))
    assert codes(checks) == [(Status.INFO, Code.REVOKED), (Status.INFO, Code.BAD_SIGNATURE),
                             (Status.FAIL, Code.EVAL_MISSING)]
    assert "(wrong_claims)" in checks[0].message


def test_an_unreadable_evaluation_by_an_accepted_evaluator_makes_a_missing_result_unverifiable():
    unread = EvaluationSeen(rid(1), LAB, problem=(Code.NOT_REGISTERED, "no source held it"), unreadable=True)
    checks = lines([unread], policy(SAFETY))
    assert codes(checks) == [(Status.INFO, Code.NOT_REGISTERED), (Status.UNVERIFIABLE, Code.EVAL_MISSING)]
    assert "no source held it" in checks[1].message
    # a stranger's unreadable record changes nothing
    stranger = EvaluationSeen(rid(2), STRANGER, problem=(Code.NOT_REGISTERED, "gone"), unreadable=True)
    assert codes(lines([stranger], policy(SAFETY)))[-1] == (Status.FAIL, Code.EVAL_MISSING)


def test_category_task_and_metric_must_all_match():
    for other in ({"category": "capability"}, {"task": "bbq"}, {"metric": "acc_norm"}):
        checks = lines([seen(1, LAB, 0.95, **other)], policy(SAFETY))
        assert checks[-1].code is Code.EVAL_MISSING, other
    # no category in the requirement: any category
    anything = {"task": "toxigen", "metric": "acc", "min": 0.8}
    assert lines([seen(1, LAB, 0.95, category="capability")], policy(anything))[-1].code is Code.OK


def test_by_names_whose_results_count_instead_of_the_trusted_evaluators():
    by_auditor = {**SAFETY, "by": [AUDITOR]}
    checks = lines([seen(1, LAB, 0.95)], policy(by_auditor))
    assert checks[-1].code is Code.EVAL_MISSING  # LAB is trusted, but not one of this requirement's
    checks = lines([seen(1, AUDITOR.upper().replace("0X", "0x"), 0.95)], policy(by_auditor, trusted=()))
    assert codes(checks) == [(Status.PASS, Code.OK), (Status.PASS, Code.OK)]  # listed as counting, and met


def test_an_upper_bound_and_the_best_of_several_results():
    bias = {"task": "bbq", "metric": "bias", "max": 0.1}
    assert lines([seen(1, LAB, 0.2, task="bbq", metric="bias")], policy(bias))[-1].code is Code.EVAL_BELOW_THRESHOLD
    checks = lines([seen(1, LAB, 0.2, task="bbq", metric="bias"), seen(2, LAB, 0.05, task="bbq", metric="bias")],
                   policy(bias))
    assert checks[-1].code is Code.OK and checks[-1].evidence["value"] == 0.05


def test_nothing_found_nothing_required_is_one_ok_line():
    assert codes(lines([], Policy.default())) == [(Status.PASS, Code.OK)]
    checks = lines([seen(2, STRANGER, 0.5)], Policy.default())
    assert codes(checks) == [(Status.PASS, Code.OK), (Status.INFO, Code.UNTRUSTED_PUBLISHER)]
    checks = lines([seen(2, STRANGER, 0.5)], Policy.default(), unexamined=4)
    assert checks[-1].evidence["count"] == 4 and checks[-1].status is Status.INFO


def test_requirements_do_not_apply_to_a_dataset_or_an_evaluation_record():
    for kind in (Kind.DATASET, Kind.EVALUATION):
        checks = lines([], policy(SAFETY), kind=kind)
        assert codes(checks) == [(Status.PASS, Code.OK)] and "apply to models" in checks[0].message
    assert lines([], policy(SAFETY), kind=Kind.OTHER)[-1].code is Code.EVAL_MISSING


def test_from_claims_reads_fields_or_the_section_and_leaves_malformed_values_out():
    results = [
        {"task": "toxigen", "metric": "acc", "value": 0.83, "stderr": 0.012, "split": "test", "n_shot": 0,
         "benchmark": None},
        {"task": "toxigen", "metric": "acc_norm", "value": "0.9"},  # not a number: left out
        {"task": "", "metric": "acc", "value": 0.5},  # no task: left out
        {"task": "x", "metric": "y", "value": True},  # a boolean is no value
        "nonsense",
    ]
    by_field = EvaluationSeen.from_claims(rid(1), LAB, {
        "evaluation.model": {"subject": "0x" + MODEL.hex(), "record": "0x" + rid(9).hex()},
        "evaluation.category": "safety", "evaluation.evaluator": "Acme", "evaluation.results": results,
    })
    assert by_field.model == MODEL and by_field.category == "safety" and by_field.evaluator == "Acme"
    assert by_field.results == (ResultSeen("toxigen", "acc", 0.83, 0.012, "test", 0),)
    by_section = EvaluationSeen.from_claims(rid(1), LAB, {"evaluation": {
        "model": "0x" + MODEL.hex(), "category": "safety", "evaluator": None, "results": results[:1]}})
    assert by_section.model == MODEL and by_section.evaluator is None and len(by_section.results) == 1
    hidden = EvaluationSeen.from_claims(rid(1), LAB, {"evaluation.results": results[:1]})
    assert hidden.model is None  # the evaluated model not disclosed: it cannot count for any subject
    assert EvaluationSeen.from_claims(rid(1), LAB, {"evaluation.model": "0x12"}).model is None


def test_evaluation_lines_make_a_verdict_of_the_documented_schema():
    checks = lines([seen(1, LAB, 0.71), seen(2, STRANGER, 0.99)], policy(SAFETY))
    verdict = Verdict(MODEL, rid(5), (Check(CheckName.INTEGRITY, Status.PASS, Code.OK, "fine"), *checks))
    data = verdict.to_json()
    jsonschema.Draft202012Validator(verdict_schema()).validate(data)
    assert data["overall"] == "fail" and data["checks"][-1]["check"] == "evaluations"
    assert Verdict.from_json(data) == verdict
    assert "evaluations" in verdict.to_table()


@pytest.mark.parametrize("kind", [Kind.EVALUATION])
def test_an_evaluation_records_own_copyright_and_privacy_do_not_apply(kind):
    model = ArtifactFacts(subject=MODEL, kind=Kind.MODEL, publisher=LAB, record_id=rid(7),
                          claims={"copyright.license": "CC-BY-NC-4.0", "privacy.personal_data": "present"})
    root = ArtifactFacts(subject=bytes([9]) * 32, kind=kind, publisher=LAB, record_id=rid(8), parents=(MODEL,),
                         claims={"evaluation.category": "safety"})
    checks = evaluate(Lineage.build(root, [model]), Policy.default())
    by_check = {c.check: c for c in checks if c.check in (CheckName.COPYRIGHT, CheckName.PRIVACY)}
    assert [(c.status, c.code) for c in by_check.values()] == [(Status.PASS, Code.OK)] * 2
    assert all("Not applicable" in c.message for c in by_check.values())
    assert len([c for c in checks if c.check in (CheckName.COPYRIGHT, CheckName.PRIVACY)]) == 2

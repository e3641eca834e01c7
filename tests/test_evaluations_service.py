"""Issue 16 through a real service: evaluations in the verdict of ``provenance serve``'s /v1/verify.

The scenarios of tests/test_verify_scenarios.py (test_evaluations_*) call the
library's Verifier; here the same facts go through the HTTP service under
uvicorn (tests/api_helpers.serving_app): the Statements are posted to
/v1/statements (the records' uris name nothing to fetch), and each caller's
policy is sent to POST /v1/verify.
"""

from __future__ import annotations

import os

import httpx
import pytest

from provenance.claims import Claims
from provenance.publish import Publisher, prepare
from provenance.record import hex32
from provenance.statement import Statement
from provenance.store import Store
from tests.api_helpers import serving_app
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain

MODEL_CLAIMS = {
    "kind": "model",
    "name": "acme/llm-7b",
    "copyright": {
        "license": "Apache-2.0",
        "training_mining": {"ai_training": "allowed", "ai_generative_training": "allowed",
                            "data_mining": "allowed", "ai_inference": "allowed"},
    },
    "privacy": {"personal_data": "absent", "confidentiality": "clear"},
    "lineage": {},
    "disclose": ["copyright", "privacy", "lineage"],
}
SAFETY = {"task": "toxigen", "metric": "acc", "min": 0.8, "category": "safety"}


def evaluation(model: Statement | bytes, value: float, *, benchmarks=()) -> dict:
    ref = {"subject": hex32(model.subject), "record": hex32(model.record_id)} if isinstance(model, Statement) \
        else hex32(model)
    return {
        "kind": "evaluation",
        "evaluation": {
            "model": ref, "benchmarks": [hex32(b) for b in benchmarks], "category": "safety",
            "evaluator": "Acme Safety Lab",
            "results": [{"task": "toxigen", "metric": "acc", "value": value, "stderr": 0.01}],
        },
        "disclose": ["evaluation"],
    }


def lines(verdict: dict, check: str = "evaluations") -> list[tuple[str, str]]:
    return [(c["status"], c["code"]) for c in verdict["checks"] if c["check"] == check]


def test_service_verdicts_count_only_trusted_evaluations_of_the_exact_weights(anvil_url, tmp_path):
    ledger = fresh_registry(anvil_url)
    accounts = account_factory(ledger)
    acme, lab, stranger = accounts(), accounts(), accounts()
    store = Store.open(tmp_path / "home")
    posted: list[Statement] = []

    def register(account, spec: dict) -> Statement:
        prepared = prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(spec),
                           subject=os.urandom(32))
        statement = Publisher(store, ledger, account).register(prepared)
        posted.append(statement)
        return statement

    good, weak, unproven, elsewhere = (register(acme, MODEL_CLAIMS) for _ in range(4))
    register(stranger, evaluation(good, 0.99))
    register(lab, evaluation(good, 0.83))
    register(stranger, evaluation(weak, 0.99))
    register(lab, evaluation(weak, 0.71))
    register(stranger, evaluation(unproven, 0.99))
    register(lab, evaluation(os.urandom(32), 0.95, benchmarks=[elsewhere.subject]))  # other weights
    store.close()
    policy = {"trusted_publishers": [acme.address], "trusted_evaluators": [lab.address],
              "require": {"evaluations": [SAFETY]}}

    with serving_app(anvil_url, ledger.registry, tmp_path / "service.sqlite") as url:
        for statement in posted:
            answer = httpx.post(f"{url}/v1/statements", content=statement.dumps(), timeout=30)
            assert answer.status_code in (200, 201), answer.text

        def verify(statement: Statement) -> dict:
            answer = httpx.post(f"{url}/v1/verify", json={"subject": hex32(statement.subject), "policy": policy},
                                timeout=60)
            assert answer.status_code == 200, answer.text
            return answer.json()

        verdict = verify(good)
        assert verdict["overall"] == "pass" and verdict["exitCode"] == 0, verdict
        assert sorted(lines(verdict)) == [("info", "UNTRUSTED_PUBLISHER"), ("pass", "OK"), ("pass", "OK")]
        shown = {(c["evidence"]["evaluator"], c["evidence"]["trusted"], c["evidence"]["results"][0]["value"])
                 for c in verdict["checks"] if c["check"] == "evaluations" and "results" in c["evidence"]}
        assert shown == {(lab.address, True, 0.83), (stranger.address, False, 0.99)}

        verdict = verify(weak)
        assert ("fail", "EVAL_BELOW_THRESHOLD") in lines(verdict) and verdict["overall"] == "fail"

        verdict = verify(unproven)
        assert ("fail", "EVAL_MISSING") in lines(verdict) and ("info", "UNTRUSTED_PUBLISHER") in lines(verdict)

        verdict = verify(elsewhere)
        assert lines(verdict) == [("fail", "EVAL_MISSING")]  # the other weights' evaluation is not even listed

        # the service's own policy (the default) requires nothing and trusts no evaluator: information only
        verdict = httpx.get(f"{url}/v1/verify/{hex32(good.subject)}", timeout=60).json()
        assert sorted(lines(verdict)) == [("info", "UNTRUSTED_PUBLISHER")] * 2 + [("pass", "OK")]

        # a requirement nobody could meet is refused, naming where
        answer = httpx.post(f"{url}/v1/verify", json={"subject": hex32(good.subject), "policy": {
            "require": {"evaluations": [SAFETY]}}}, timeout=30)
        assert answer.status_code == 422 and "require.evaluations[0].by" in answer.text

"""A model and its evaluations on a fresh registry, shared by the tests of issue 16's views and exports.

:func:`evaluated_model` registers, on ``ledger``: a model (acme); an evaluation
of it by a lab (two results, safety); a stranger's evaluation of it (a better
score); a stranger's evaluation that is then revoked; and the lab's evaluation
of other weights that names the model as a benchmark. The Statements are
returned (none is published at its uri: tests post them or keep them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from provenance.claims import Claims
from provenance.publish import Publisher, prepare
from provenance.record import hex32
from provenance.statement import Statement
from provenance.store import Store

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

LAB_RESULTS = [
    {"task": "toxigen", "metric": "acc", "value": 0.83, "stderr": 0.012, "split": "test", "n_shot": 0},
    {"task": "mmlu", "metric": "acc", "value": 0.61, "stderr": 0.004, "split": "test", "n_shot": 5},
]


def evaluation_claims(model: Statement | bytes, results: list[dict], *, evaluator: str = "Acme Safety Lab",
                      benchmarks: tuple[bytes, ...] = (), category: str = "safety") -> dict:
    ref = {"subject": hex32(model.subject), "record": hex32(model.record_id)} if isinstance(model, Statement) \
        else hex32(model)
    return {
        "kind": "evaluation",
        "name": "acme/llm-7b evaluation",
        "evaluation": {
            "model": ref, "benchmarks": [hex32(b) for b in benchmarks], "category": category,
            "evaluator": evaluator, "date": "2026-11-30",
            "harness": {"name": "lm-evaluation-harness", "version": "0.4.5"},
            "results": results,
        },
        "disclose": ["evaluation"],
    }


@dataclass
class World:
    acme: object
    lab: object
    stranger: object
    model: Statement
    lab_eval: Statement
    stranger_eval: Statement
    revoked_eval: Statement
    other_eval: Statement
    statements: list[Statement] = field(default_factory=list)


def evaluated_model(ledger, accounts, home: Path) -> World:
    acme, lab, stranger = accounts(), accounts(), accounts()
    store = Store.open(home)
    statements: list[Statement] = []

    def register(account, spec: dict) -> Statement:
        prepared = prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(spec),
                           subject=os.urandom(32))
        statement = Publisher(store, ledger, account).register(prepared)
        statements.append(statement)
        return statement

    try:
        model = register(acme, MODEL_CLAIMS)
        lab_eval = register(lab, evaluation_claims(model, LAB_RESULTS))
        stranger_eval = register(stranger, evaluation_claims(
            model, [{"task": "toxigen", "metric": "acc", "value": 0.99}], evaluator="Totally Independent"))
        revoked_eval = register(stranger, evaluation_claims(
            model, [{"task": "toxigen", "metric": "acc", "value": 0.97}], evaluator="Totally Independent"))
        ledger.revoke(stranger, revoked_eval.record_id, "mistake")
        other_eval = register(lab, evaluation_claims(
            os.urandom(32), [{"task": "toxigen", "metric": "acc", "value": 0.5}], benchmarks=(model.subject,)))
    finally:
        store.close()
    return World(acme, lab, stranger, model, lab_eval, stranger_eval, revoked_eval, other_eval, statements)

"""GET /v1/evaluations: evaluation results, by model, evaluator or task, paginated by cursor.

An evaluation record (kind 3) names the evaluated model and the benchmarks
as its parents on chain; what it measured is in its claims. The results come
from the disclosed claims of its Statement when the service holds it (posted,
fetched from its uri for a verdict, or read from its batch's document), each
disclosure checked against the record's claimsRoot (:mod:`provenance.evalfacts`).
A record whose Statement the service does not hold is listed once, saying so,
with no results. Whether an evaluation *counts* is a verdict's question
(``/v1/verify``, the ``evaluations`` check); this lists what was registered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.answers import answer
from api.deps import ADDRESS_PATTERN, HEX32_PATTERN, index_info, service_of
from api.models import EvaluationOut, EvaluationsPage
from api.problems import problem_responses
from provenance.evalfacts import EvaluationFacts, Pin, evaluation_facts
from provenance.index import IndexedRecord

router = APIRouter(prefix="/v1", tags=["evaluations"])

Keyed = tuple[tuple[int, str, int], dict[str, Any]]  # (order key, item)
CURSOR_PATTERN = r"^[0-9a-f]{1,15}-[0-9a-f]{64}-[0-9a-f]{1,4}$"
_NOT_HELD = "the service holds no Statement of this record (post it to /v1/statements, or publish it at its uri)"


def encode_cursor(block_number: int, record_id: str, position: int) -> str:
    """The last item of a page (its record's block, the record, the result's place); passed back unchanged."""
    return f"{block_number:x}-{record_id[2:]}-{position:x}"


def _key(block_number: int, record_id: str, position: int) -> tuple[int, str, int]:
    """Newest block first; within a block by record id; a record's results in disclosed order."""
    return -block_number, record_id.lower(), position


def _decode(cursor: str) -> tuple[int, str, int]:
    block, rid, position = cursor.split("-")  # the route's pattern guarantees the form
    return _key(int(block, 16), "0x" + rid, int(position, 16))


def _pin(pin: Pin | None) -> dict[str, Any] | None:
    return None if pin is None else {"subject": pin.subject, "record": pin.record}


def _items(record: IndexedRecord, facts: EvaluationFacts, trusted: bool) -> list[Keyed]:
    common = {
        "recordId": record.record_id, "evaluator": record.publisher, "evaluatorName": facts.evaluator,
        "trusted": trusted, "disclosed": facts.disclosed and bool(facts.results),
        "undisclosed": facts.why if not facts.disclosed else (None if facts.results else "no well-formed result"),
        "model": _pin(facts.model), "benchmarks": [_pin(b) for b in facts.benchmarks], "category": facts.category,
        "harness": None if facts.harness is None else {"name": facts.harness, "version": facts.harness_version},
        "date": facts.date, "blockNumber": record.block_number, "blockTime": record.block_time,
        "txHash": record.tx_hash, "batchRoot": record.batch_root, "revoked": record.revoked,
        "revocationReason": record.revoke_reason,
    }
    none = {"task": None, "metric": None, "value": None, "stderr": None, "split": None, "nShot": None,
            "benchmark": None}
    if not common["disclosed"]:
        return [(_key(record.block_number, record.record_id, 0), {**common, **none})]
    return [
        (_key(record.block_number, record.record_id, i), {
            **common, "task": r.task, "metric": r.metric, "value": r.value, "stderr": r.stderr, "split": r.split,
            "nShot": r.n_shot, "benchmark": r.benchmark,
        })
        for i, r in enumerate(facts.results)
    ]


@router.get(
    "/evaluations",
    response_model=EvaluationsPage,
    responses=problem_responses(422),
    summary="Evaluation results (by model, evaluator or task; paginated)",
)
async def evaluations(
    request: Request,
    model: Annotated[
        str | None,
        Query(pattern=HEX32_PATTERN, description="only evaluations naming this subject as a parent (the model "
              "evaluated; with its Statement held, only those whose disclosed evaluation.model it is)"),
    ] = None,
    evaluator: Annotated[
        str | None, Query(pattern=ADDRESS_PATTERN, description="only evaluations signed by this address")
    ] = None,
    task: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="only results of this task (case-insensitive); "
              "evaluations whose results are not disclosed are left out"),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="nextCursor of the previous page, passed back unchanged"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
) -> Response:
    """Every result of every indexed evaluation record, newest record first; ``nextCursor`` leads on.

    Each item is one result (task, metric, value ± stderr, split, n-shot) with
    its record's evaluator (address and disclosed name), the model and
    benchmarks it names, category, harness, date, block, revocation, and
    whether the service's policy trusts the evaluator. ``disclosed`` is false
    (and ``undisclosed`` says why) when the results could not be read.
    """
    service = service_of(request)
    subject = None if model is None else model.lower()
    wanted = None if task is None else task.lower()
    after = None if cursor is None else _decode(cursor)

    def build() -> EvaluationsPage:
        index = service.index
        if subject is not None:
            records = index.evaluations_of(subject)
            if evaluator is not None:
                records = [r for r in records if r.publisher.lower() == evaluator.lower()]
        else:
            records = index.evaluations(publisher=evaluator)
        policy = service.settings.policy
        found: list[Keyed] = []
        for record in records:
            statement = index.statement(record.record_id)
            facts = (EvaluationFacts(record.record_id, record.publisher, False, why=_NOT_HELD) if statement is None
                     else evaluation_facts(statement))
            if subject is not None and facts.model is not None and facts.model.subject != subject:
                continue  # of other weights: it names this subject as a benchmark
            for key, item in _items(record, facts, policy.is_trusted_evaluator(record.publisher)):
                if wanted is not None and (item["task"] is None or item["task"].lower() != wanted):
                    continue
                if after is None or key > after:
                    found.append((key, item))
        found.sort(key=lambda pair: pair[0])
        page = found[:limit]
        last = page[-1][0] if page else None
        return EvaluationsPage(
            items=[EvaluationOut.model_validate(item) for _, item in page],
            nextCursor=(encode_cursor(-last[0], last[1], last[2]) if last is not None and len(found) > limit
                        else None),
            index=index_info(service),
        )

    return answer(service, ("evaluations", subject, evaluator and evaluator.lower(), wanted, after, limit), build)

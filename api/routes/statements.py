"""GET /v1/statements/{recordId} and GET /v1/statements/by-subject/{subject}: the Statements this service keeps.

A CLI without a Statement in hand asks a service (``provenance verify --service URL``) for what the
chain does not hold: the Statements of batched records (learned from their batches' documents) and
those publishers posted. What is answered here is evidence, not a verdict: the asker checks each
Statement against the chain itself.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.answers import answer
from api.deps import RecordId, Subject, index_info, service_of
from api.models import Hex32, IndexInfo
from api.problems import ApiProblem, problem_responses

router = APIRouter(prefix="/v1", tags=["statements"])

#: At most this many Statements of one subject in an answer (the oldest first).
MAX_STATEMENTS_ANSWERED = 100


class StatementOut(BaseModel):
    recordId: Hex32  # noqa: N815 - the API's camelCase name
    statement: dict[str, Any] = Field(description="the kept Statement (in-toto Statement v1), copies pooled")
    index: IndexInfo


class SubjectStatementsOut(BaseModel):
    subject: Hex32
    statements: list[dict[str, Any]] = Field(description="the kept Statements of the subject, oldest first")
    truncated: bool = Field(description=f"more than {MAX_STATEMENTS_ANSWERED} are kept; the first are answered")
    index: IndexInfo


@router.get(
    "/statements/{recordId}",
    response_model=StatementOut,
    responses=problem_responses(404, 422),
    summary="The kept Statement of a record",
)
async def statement(recordId: RecordId, request: Request) -> Response:  # noqa: N803 - the API's camelCase name
    """The Statement this service keeps for the record (posted, or from its batch's document); 404 if none."""
    service = service_of(request)
    rid = recordId.lower()

    def build() -> StatementOut:
        found = service.index.statement(rid)
        if found is None:
            raise ApiProblem(404, "unknown-statement", f"no Statement of record {rid} is kept here",
                             title="Unknown Statement")
        return StatementOut(recordId=rid, statement=json.loads(found.dumps_compact()),
                            index=index_info(service))

    return answer(service, ("statement", rid), build)


@router.get(
    "/statements/by-subject/{subject}",
    response_model=SubjectStatementsOut,
    responses=problem_responses(422),
    summary="The kept Statements of a subject",
)
async def statements_of(subject: Subject, request: Request) -> Response:
    """Every Statement kept for the subject, oldest first (none: an empty list)."""
    service = service_of(request)
    subject = subject.lower()

    def build() -> SubjectStatementsOut:
        kept = service.index.statements_for(subject)
        return SubjectStatementsOut(
            subject=subject, statements=[json.loads(s.dumps_compact()) for s in kept[:MAX_STATEMENTS_ANSWERED]],
            truncated=len(kept) > MAX_STATEMENTS_ANSWERED, index=index_info(service))

    return answer(service, ("statements-of", subject), build)


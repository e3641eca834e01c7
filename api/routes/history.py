"""GET /v1/history/{target}: the events of a subject, a record or an address, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.answers import answer
from api.deps import index_info, service_of
from api.models import EventOut, HistoryOut
from api.problems import ApiProblem, problem_responses
from provenance.evalfacts import with_evaluations
from provenance.record import parse_address

router = APIRouter(prefix="/v1", tags=["history"])

Target = Annotated[
    str,
    Path(
        pattern=r"^0x([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$",
        description="a subject or record id (0x + 64 hex digits) or an address (0x + 40 hex digits)",
    ),
]


@router.get(
    "/history/{target}",
    response_model=HistoryOut,
    responses=problem_responses(404, 422),
    summary="History of a subject, record or address",
)
async def history(
    target: Target,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many events")] = 100,
) -> Response:
    """Events newest first, each with its block, block time and transaction hash.

    A 32-byte target is read as a subject (every event of every record of the
    artifact, and of every evaluation record of it, marked with
    ``details.evaluationOf``) and, if no record has that subject, as a record id; 404 when it
    is neither. An address gives the events it sent and the endorsements and
    disputes of its records (an empty list when there are none).
    """
    service = service_of(request)
    target = target.lower()

    def build() -> HistoryOut:
        index = service.index
        kind: Literal["subject", "record", "address"]
        if len(target) == 42:
            found = index.history(publisher=target, limit=limit)
            kind, shown = "address", parse_address(target)
        else:
            kind, shown = "subject", target
            found = index.history(subject=target, limit=limit)
            if found:  # the events of its evaluation records too, marked (details.evaluationOf)
                found = with_evaluations(index, target, found, index.statement, limit=limit)
            else:
                kind, found = "record", index.history(record_id=target, limit=limit)
            if not found:
                raise ApiProblem(
                    404,
                    "unknown-target",
                    f"{target} is neither an indexed subject nor an indexed record id",
                    title="Unknown subject or record",
                )
        return HistoryOut(
            target=shown,
            targetType=kind,
            items=[EventOut.of(h) for h in found],  # type: ignore[misc]  # dicts, validated here
            index=index_info(service),
        )

    return answer(service, ("history", target, limit), build)

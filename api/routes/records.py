"""GET /v1/records/{recordId}: one record, from the index."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.answers import answer
from api.deps import RecordId, index_info, service_of
from api.models import RecordOut, RecordResponse
from api.problems import ApiProblem, problem_responses

router = APIRouter(prefix="/v1", tags=["records"])


@router.get(
    "/records/{recordId}",
    response_model=RecordResponse,
    responses=problem_responses(404, 422),
    summary="One record",
)
async def record(recordId: RecordId, request: Request) -> Response:  # noqa: N803 - the path parameter keeps the API's camelCase name
    """The record, its revocation, successor, endorsement and dispute counts, and the index lag."""
    service = service_of(request)
    rid = recordId.lower()

    def build() -> RecordResponse:
        found = service.index.record(rid)
        if found is None:
            raise ApiProblem(
                404,
                "unknown-record",
                f"record {rid} is not indexed (a batched record is known once proven, or once its batch's "
                "document was read)",
                title="Unknown record",
            )
        # RecordOut.of gives the record's JSON (a dict): the response model validates it
        return RecordResponse(record=RecordOut.of(found), index=index_info(service))  # type: ignore[arg-type]

    return answer(service, ("record", rid), build)


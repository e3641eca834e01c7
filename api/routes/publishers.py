"""GET /v1/publishers: every address that registered or proved a record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.answers import answer_off_loop
from api.deps import index_info, service_of
from api.models import PublisherOut, PublishersOut
from api.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["publishers"])


@router.get("/publishers", response_model=PublishersOut, responses=problem_responses(422), summary="Publishers")
async def publishers(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9, description="skip this many (ordered by address)")] = 0,
) -> Response:
    """Publishers by address, with their record counts, revoked counts and first and last blocks."""
    service = service_of(request)

    def build() -> PublishersOut:
        found = service.index.publishers()[offset : offset + limit]
        return PublishersOut(
            items=[
                PublisherOut(
                    address=p.address,
                    records=p.records,
                    revoked=p.revoked,
                    firstBlock=p.first_block,
                    lastBlock=p.last_block,
                )
                for p in found
            ],
            index=index_info(service),
        )

    return await answer_off_loop(service, ("publishers", offset, limit), build)

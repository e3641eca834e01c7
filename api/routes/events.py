"""GET /v1/events: the audit log of registry events, filtered and paginated by cursor."""

from __future__ import annotations

import enum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.answers import answer
from api.deps import ADDRESS_PATTERN, index_info, service_of
from api.models import EventOut, EventsPage
from api.problems import problem_responses
from provenance.index import EVENT_NAMES

router = APIRouter(prefix="/v1", tags=["events"])

EventName = enum.StrEnum("EventName", {n: n for n in EVENT_NAMES})  # type: ignore[misc]  # members from EVENT_NAMES
_MAX_TIME = 2**53  # JSON-safe integer bound


CURSOR_PATTERN = r"^[0-9a-f]{1,15}-[0-9a-f]{1,8}$"  # within SQLite integers


def encode_cursor(block_number: int, log_index: int) -> str:
    """The position of the last event of a page; clients pass it back unchanged (and need not parse it)."""
    return f"{block_number:x}-{log_index:x}"


def decode_cursor(cursor: str) -> tuple[int, int]:
    block, log = cursor.split("-")  # the route's pattern guarantees the form
    return int(block, 16), int(log, 16)


@router.get(
    "/events",
    response_model=EventsPage,
    responses=problem_responses(422),
    summary="Audit events (filtered, paginated)",
)
async def events(
    request: Request,
    kind: Annotated[EventName | None, Query(description="only events of this name")] = None,
    publisher: Annotated[
        str | None,
        Query(pattern=ADDRESS_PATTERN, description="only events sent by this address (publisher, submitter, "
              "endorser or disputer)"),
    ] = None,
    since: Annotated[int | None, Query(ge=0, le=_MAX_TIME, description="block time at or after (unix s)")] = None,
    until: Annotated[int | None, Query(ge=0, le=_MAX_TIME, description="block time at or before (unix s)")] = None,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="nextCursor of the previous page, passed back unchanged"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
) -> Response:
    """Every indexed event, newest first; ``nextCursor`` leads to the next (older) page.

    Pages are keyed on the position of the last event returned, so events
    indexed between two requests never shift or repeat a page.
    """
    service = service_of(request)
    before = None if cursor is None else decode_cursor(cursor)
    name = None if kind is None else kind.value

    def build() -> EventsPage:
        found = service.index.events_page(
            name=name, actor=publisher, since=since, until=until, before=before, limit=limit + 1
        )
        page = found[:limit]
        return EventsPage(
            items=[EventOut.of(h) for h in page],  # type: ignore[misc]  # dicts, validated here
            nextCursor=encode_cursor(page[-1].block_number, page[-1].log_index) if len(found) > limit else None,
            index=index_info(service),
        )

    return answer(service, ("events", name, publisher, since, until, before, limit), build)

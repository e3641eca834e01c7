"""GET /v1/events: the audit log of registry events, filtered and paginated by cursor."""

from __future__ import annotations

import base64
import binascii
import enum
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ADDRESS_PATTERN, IndexDep, ServiceDep, index_info
from api.models import EventOut, EventsPage
from api.problems import ApiProblem, problem_responses
from provenance.index import EVENT_NAMES

router = APIRouter(prefix="/v1", tags=["events"])

EventName = enum.StrEnum("EventName", {n: n for n in EVENT_NAMES})  # type: ignore[misc]
_MAX_TIME = 2**53  # JSON-safe integer bound


def encode_cursor(block_number: int, log_index: int) -> str:
    return base64.urlsafe_b64encode(f"{block_number}:{log_index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        block, log = text.split(":")
        position = (int(block), int(log))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(
            400,
            "invalid-cursor",
            "the cursor is not one this service gave; pass nextCursor from the previous page unchanged",
            title="Invalid cursor",
        ) from None
    if min(position) < 0:
        raise ApiProblem(400, "invalid-cursor", "the cursor is not one this service gave", title="Invalid cursor")
    return position


@router.get(
    "/events",
    response_model=EventsPage,
    responses=problem_responses(400, 422),
    summary="Audit events (filtered, paginated)",
)
def events(
    service: ServiceDep,
    index: IndexDep,
    kind: Annotated[EventName | None, Query(description="only events of this name")] = None,
    publisher: Annotated[
        str | None,
        Query(pattern=ADDRESS_PATTERN, description="only events sent by this address (publisher, submitter, "
              "endorser or disputer)"),
    ] = None,
    since: Annotated[int | None, Query(ge=0, le=_MAX_TIME, description="block time at or after (unix s)")] = None,
    until: Annotated[int | None, Query(ge=0, le=_MAX_TIME, description="block time at or before (unix s)")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="nextCursor of the previous page (opaque)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
) -> EventsPage:
    """Every indexed event, newest first; ``nextCursor`` leads to the next (older) page.

    Pages are keyed on the position of the last event returned, so events
    indexed between two requests never shift or repeat a page.
    """
    before = None if cursor is None else decode_cursor(cursor)
    found = index.events_page(
        name=None if kind is None else kind.value,
        actor=publisher,
        since=since,
        until=until,
        before=before,
        limit=limit + 1,
    )
    page = found[:limit]
    more = len(found) > limit
    return EventsPage(
        items=[EventOut.of(h) for h in page],
        nextCursor=encode_cursor(page[-1].block_number, page[-1].log_index) if more else None,
        index=index_info(service),
    )

"""Every error as ``application/problem+json`` (RFC 9457), from one place.

A problem has ``type`` (a URI naming the kind of problem, documented in
docs/api.md), ``title`` (the same for every problem of that type), ``status``,
``detail`` (this occurrence, for a person) and ``instance`` (the request
path). Some carry extension members: ``errors`` (422, what failed
validation), ``hint`` (what to do next), ``accepted`` (the values accepted),
``error`` (409 from the registry: its custom error's name), ``rpcCode`` (502:
the node's JSON-RPC error code).

:func:`install` maps, in one place: unknown paths and methods (404, 405);
request validation (422); :class:`ApiProblem` raised by the routes (404, 422,
...); :class:`BodyTooLarge` (413); the library's error families of
:mod:`provenance.errors` by what a client can do about them (:data:`FAMILIES`:
``NotFound`` 404, ``Conflict`` 409, ``InvalidInput`` 422, ``LedgerUnavailable``
503 with ``Retry-After``, any other ``NodeError`` 502, ``IndexUnavailable`` (the
index's PostgreSQL database does not answer) 503 with ``Retry-After``, any other
``ProvenanceError`` 400); anything else (500, logged, no details leaked).

A 503 for the node (:func:`node_unavailable`) says in ``waitingFor`` what the
service waits for: the node to answer, or, when it rate-limits
(:class:`~provenance.errors.RateLimited`, HTTP 429 still after the retries), its
limit to lift; ``Retry-After`` is then at least what the node asked. A 503 for
the index database (:func:`index_unavailable`) names it in ``waitingFor``.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from provenance.errors import (
    Conflict,
    ContractRejected,
    IndexUnavailable,
    InvalidInput,
    LedgerUnavailable,
    NodeError,
    NotFound,
    ProvenanceError,
    RateLimited,
    RpcError,
)

__all__ = [
    "Problem",
    "ApiProblem",
    "BodyTooLarge",
    "PROBLEM_TYPE_BASE",
    "FAMILIES",
    "MEDIA_TYPE",
    "problem_response",
    "install",
    "node_unavailable",
    "index_unavailable",
]

MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://provenance-ledger.dev/problems/"

log = logging.getLogger("provenance.api")


class Problem(BaseModel):
    """An RFC 9457 problem detail; extension members may follow."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(description="URI of the problem type (see docs/api.md)")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what happened this time, for a person")
    instance: str = Field(description="the request path")


class ApiProblem(Exception):
    """Raised by a route to answer with a problem."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.extra = extra


class BodyTooLarge(StarletteHTTPException):
    """A request body went over the service's limit for its route.

    An HTTPException so that FastAPI lets it out of its body parsing (which
    answers 400 for any other error) to the handler that answers 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")
        self.limit = limit

    def __str__(self) -> str:
        return str(self.detail)


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank" if slug == "about:blank" else PROBLEM_TYPE_BASE + slug,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed"}


def node_unavailable(exc: LedgerUnavailable, retry_after: int) -> tuple[dict[str, str], str]:
    """The ``Retry-After`` header and the ``waitingFor`` member of a 503 for ``exc``: the node does not
    answer, or rate-limits (then at least the wait it asked for)."""
    if isinstance(exc, RateLimited):
        wait = retry_after if exc.retry_after is None else max(retry_after, math.ceil(exc.retry_after))
        asked = "" if exc.retry_after is None else f", asking to wait {exc.retry_after:g} s"
        return {"Retry-After": str(wait)}, (
            f"the Ethereum node at {exc.url} to lift its rate limit (it answers HTTP 429 Too Many Requests{asked})"
        )
    return {"Retry-After": str(retry_after)}, f"the Ethereum node at {exc.url} to answer"

def index_unavailable(exc: IndexUnavailable, retry_after: int) -> ApiProblem:
    """The 503 for an index database that does not answer (a route's, or ``/readyz``'s)."""
    return ApiProblem(
        503,
        "index-unavailable",
        f"{exc}; this answer needs the index. The service answers again once the database does.",
        title="Index database unavailable",
        headers={"Retry-After": str(retry_after)},
        hint=exc.hint,
        waitingFor=f"the index database {exc.location} to answer",
    )


# The library's error families (provenance.errors), most specific first: (family, status, slug, title).
# LedgerUnavailable (a NodeError) has its own handler: 503 with Retry-After.
FAMILIES: tuple[tuple[type[ProvenanceError], int, str, str], ...] = (
    (NotFound, 404, "nothing-known", "Nothing known of it"),
    (Conflict, 409, "conflict", "Contradicts recorded state"),
    (InvalidInput, 422, "invalid-input", "Invalid input"),
    (NodeError, 502, "node-error", "Ethereum node error"),
    (ProvenanceError, 400, "bad-request", "Bad Request"),
)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        item = {"loc": loc, "msg": str(err.get("msg", "")), "type": err.get("type", "")}
        out.append(item)
    return out


def install(app: FastAPI, *, retry_after: int) -> None:
    """Register the exception handlers that answer every error as a problem."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 404 and exc.detail == "Not Found":
            detail = f"there is nothing at {request.url.path}; the API lives under /v1 (see /docs)"
        elif status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        else:
            detail = str(exc.detail)
        return problem_response(
            request, status, _HTTP_SLUGS.get(status, "about:blank"), detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(exc.errors())
        parts = [f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors]
        return problem_response(
            request,
            422,
            "invalid-request",
            "the request is not valid: " + "; ".join(parts),
            title="Invalid request",
            errors=errors,
        )

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.slug, exc.detail, title=exc.title, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return problem_response(
            request, 413, "body-too-large", str(exc), title="Request body too large", limit=exc.limit
        )

    @app.exception_handler(LedgerUnavailable)
    async def ledger_down(request: Request, exc: LedgerUnavailable) -> JSONResponse:
        headers, waiting = node_unavailable(exc, retry_after)
        return problem_response(
            request,
            503,
            "ledger-unavailable",
            f"{exc}; this answer needs the chain. Answers from the index keep working.",
            title="Ethereum node unavailable",
            headers=headers,
            hint=exc.hint,
            waitingFor=waiting,
        )

    @app.exception_handler(IndexUnavailable)
    async def index_down(request: Request, exc: IndexUnavailable) -> JSONResponse:
        problem = index_unavailable(exc, retry_after)
        return problem_response(request, problem.status, problem.slug, problem.detail, title=problem.title,
                                headers=problem.headers, **problem.extra)

    @app.exception_handler(ProvenanceError)
    async def refused(request: Request, exc: ProvenanceError) -> JSONResponse:
        status, slug, title = next((s, g, t) for family, s, g, t in FAMILIES if isinstance(exc, family))
        extra: dict[str, Any] = {"hint": exc.hint}
        if isinstance(exc, ContractRejected):
            extra["error"] = exc.error
        if isinstance(exc, RpcError):
            extra["rpcCode"] = exc.code
        return problem_response(request, status, slug, str(exc), title=title, **extra)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request, 500, "internal-error", "the service failed on this request; the error is logged",
            title="Internal error",
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problems (the schema is attached by :func:`api.app.openapi`)."""
    return {s: {"model": Problem, "description": HTTPStatus(s).phrase} for s in statuses}

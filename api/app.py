"""The verifier service: :func:`create_app` builds the FastAPI app from :class:`ServiceSettings`.

The app opens the index, runs the indexer in a background thread (see
:mod:`api.service`), includes one router per resource from ``api/routes``
(every module there that exposes ``router``) and, when present, the auditors'
web page of :mod:`api.web`. It is read-only towards the chain and holds no
key. Errors are ``application/problem+json`` (:mod:`api.problems`); request
bodies above their limit (``upload_limit`` for the file upload route,
``json_limit`` for every other) are refused with 413 while they stream in,
before anything parses them.

    app = create_app(ServiceSettings(rpc_url=..., registry=..., index_path=Path("index.sqlite")))

``provenance serve`` runs it under uvicorn through :func:`app_from_env`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.answers import Shortcut
from api.problems import BodyTooLarge, Problem, problem_response
from api.service import Service
from api.settings import ServiceSettings

__all__ = ["create_app", "app_from_env", "ServiceSettings", "API_VERSION"]

API_VERSION = "1.0.0"

_DESCRIPTION = """\
Read-only verifier service of the provenance ledger: artifacts, records, file
digests, history, publishers, lineage, audit events and proofs, answered from
an index of the registry's events that the service keeps in step with the
chain. Index-backed answers carry an `index` object with the lag; they keep
working while the Ethereum node is down. Answers that need the node are then
503 with `Retry-After`. Every error is `application/problem+json` (RFC 9457).
"""


#: Routes that take a file upload: their bodies may reach ``upload_limit``; every other body ``json_limit``.
UPLOAD_PATHS = frozenset({"/v1/verify/file"})


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes (``uploads`` for the paths in ``UPLOAD_PATHS``):
    at once by Content-Length, else while streaming, before any route parses them."""

    def __init__(self, app: ASGIApp, limit: int, uploads: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.uploads = limit if uploads is None else uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads if scope.get("path") in UPLOAD_PATHS else self.limit
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    err = BodyTooLarge(limit)
                    response = problem_response(
                        Request(scope), 413, "body-too-large", str(err), title="Request body too large",
                        limit=limit,
                    )
                    await response(scope, receive, send)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _routers() -> list[Any]:
    import api.routes

    found = []
    for info in sorted(pkgutil.iter_modules(api.routes.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"api.routes.{info.name}")
        if hasattr(module, "router"):
            found.append(module.router)
    return found


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response as ``application/problem+json``."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = dict(problem)
                    if status == "422":
                        response["description"] = "Invalid request (problem with an `errors` list)"
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault(
                    "422", {"description": "Invalid request (problem with an `errors` list)", "content": dict(problem)}
                )
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def create_app(settings: ServiceSettings, *, start_indexer: bool = True) -> FastAPI:
    """The service app. ``start_indexer=False`` serves the index as it is (tests, read-only replicas)."""
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_indexer:
            service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="Provenance ledger verifier",
        version=API_VERSION,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = service
    problems.install(app, retry_after=settings.retry_after)
    for router in _routers():
        # The routes themselves, not the router: this FastAPI keeps included routers nested and
        # walks them per request (~15 µs each look-up, measured). An APIRouter's routes already
        # carry its prefix, tags, dependencies and responses. What is lost: app.dependency_overrides
        # do not reach them (tests build the app from their own ServiceSettings instead).
        app.router.routes.extend(router.routes)
    if importlib.util.find_spec("api.web") is not None:
        from api import web

        app.include_router(web.router)
    if settings.remember_answers:
        app.add_middleware(Shortcut, service=service)  # inside BodyLimit: a repeated GET answered from memory
    # upload_limit bounds every body; JSON bodies have the smaller json_limit (json.loads holds it all)
    app.add_middleware(
        BodyLimit, limit=min(settings.json_limit, settings.upload_limit), uploads=settings.upload_limit
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented override
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory (``api.app:app_from_env``): the settings come from ``PROVENANCE_SERVICE_SETTINGS``."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    return create_app(ServiceSettings.from_env())

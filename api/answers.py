"""Index-backed answers as JSON bytes, remembered until the index changes.

An answer from the index is a function of the index's content, except its
``index`` member (the lag), which moves with the chain head. :func:`answer`
serializes the rest once per content generation (:meth:`Service.cached`) and
splices the current ``index`` in, so a repeated look-up is one ``PRAGMA
data_version``, three dictionary hits and two byte concatenations: no query,
validation or serialization. ``build`` may raise (a 404 problem): errors are
not remembered. The model is
still built (and validated) the first time, and the route keeps declaring it as
its ``response_model``, so the OpenAPI document is unchanged; the answer is the
model's ``model_dump_json()`` byte for byte.

:class:`Shortcut` answers a repeated GET before FastAPI does: once a route has
answered a URL (its path and query string, byte for byte) through
:func:`answer` or a remembered verdict (:func:`remember_verdict`), the URL
leads to the same remembered bytes until the index changes, without routing,
parameter validation or dependencies (measured: ~2/3 of such a request's time
in the app). A URL no route has answered yet, or whose answer is no longer
remembered, goes through FastAPI as before; so does every error. A readiness probe
(``/readyz``) is answered here too when its 200 answer needs nothing but
what is remembered (:func:`api.routes.health.ready_from_memory`).
``ServiceSettings.remember_answers=False`` turns both off (every answer built
anew; :func:`api.app.create_app` then installs no :class:`Shortcut`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import index_info
from api.routes.health import ready_from_memory
from api.service import Service
from provenance.errors import IndexUnavailable

__all__ = ["answer", "answer_off_loop", "remember_verdict", "Shortcut"]

# What the route answering the current request remembered its answer under (set by Shortcut per request).
_ANSWERED: ContextVar[list[tuple[Any, ...]] | None] = ContextVar("provenance_answered", default=None)
_JSON = b"application/json"


def answer(service: Service, key: Hashable, build: Callable[[], BaseModel], status_code: int = 200) -> Response:
    """The JSON of ``build()`` (a model whose last field is ``index``) with the current index info."""
    commits, generation = service.index.generations()
    if service.settings.remember_answers:
        head = service.cached(("answer", key), lambda: _without_index(build()), generation)
    else:
        head = _without_index(build())
    state = service.state
    synced = service.synced_to(commits)
    info = service.cached(("index-json", state, synced),
                          lambda: index_info(service, synced).model_dump_json().encode(), generation)
    _note("answer", ("answer", key), status_code, generation)
    return Response(head + b',"index":' + info + b"}", status_code=status_code, media_type="application/json")


def remember_verdict(key: tuple[Any, ...]) -> None:
    """The verdict answered now is remembered under ``key + (head,)`` (``service.cached``): the URL leads
    to it while the chain state's head is that head."""
    _note("verify", key, 200, None)


def _note(kind: str, key: Hashable, status: int, generation: int | None) -> None:
    answered = _ANSWERED.get()
    if answered is not None:
        answered.append((kind, key, status, generation))


async def answer_off_loop(
    service: Service, key: Hashable, build: Callable[[], BaseModel], status_code: int = 200
) -> Response:
    """:func:`answer` for answers that may be slow to build (a large lineage graph, every publisher): a
    remembered one on the event loop, a new one built in the thread pool, so it never stalls the loop."""
    if service.settings.remember_answers and service.peek(("answer", key)) is not None:
        return answer(service, key, build, status_code)
    return await run_in_threadpool(answer, service, key, build, status_code)


def _without_index(model: BaseModel) -> bytes:
    fields = list(type(model).model_fields)
    if fields[-1] != "index" or len(fields) < 2:
        raise TypeError(f"{type(model).__name__} must end with an `index` field and have another one")
    text = model.model_dump_json(exclude={"index"}, by_alias=True).encode()
    return text[:-1]  # without the closing brace


class Shortcut:
    """ASGI middleware: a GET of a URL that a route answered before, answered from what it remembered.

    The URL is remembered (``service.cached``, so until the index changes) only when the route's whole
    answer was one remembered answer: one :func:`answer` or :func:`remember_verdict` call, and the status
    and body sent were exactly those. The bytes sent again are what :func:`answer` would build now (the
    remembered head, the current ``index`` member) or the verdict remembered for the current head.
    """

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/v1/"):
            if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/readyz":
                await self._readyz(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        service = self.service
        url = ("url", scope["path"], scope["query_string"])
        try:
            commits, generation = service.index.generations()
        except IndexUnavailable:  # the index database does not answer: the route says so (503, api.problems)
            await self.app(scope, receive, send)
            return
        found = self._remembered(url, commits, generation)
        if found is not None:
            await _send(send, *found)
            return
        answered: list[tuple[Any, ...]] = []
        token = _ANSWERED.set(answered)
        sent: list[Message] = []

        async def watch(message: Message) -> None:
            if len(sent) < 2:
                sent.append(message)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            _ANSWERED.reset(token)
        if len(answered) == 1 and len(sent) == 2:
            kind, key, status, at = answered[0]
            start, end = sent
            headers = [(b"content-length", str(len(end.get("body", b""))).encode()), (b"content-type", _JSON)]
            if (start.get("status") == status and list(start.get("headers", ())) == headers
                    and not end.get("more_body", False) and at in (None, generation)
                    and _generation(service) == generation):  # an older one would clear the cache
                service.cached(url, lambda: (kind, key, status), generation)

    async def _readyz(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A readiness probe: the route's 200 answer when :func:`ready_from_memory` has it, else the route."""
        try:
            ready = ready_from_memory(self.service)
        except IndexUnavailable:  # the route says so (503, api.problems)
            ready = None
        if ready is None:
            await self.app(scope, receive, send)
            return
        await _send(send, 200, ready.model_dump_json(by_alias=True).encode())

    def _remembered(
        self, url: tuple[Any, ...], commits: tuple[int, int], generation: int
    ) -> tuple[int, bytes] | None:
        service = self.service
        target = service.peek(url, generation)
        if target is None:
            return None
        kind, key, status = target
        if kind == "answer":
            head = service.peek(key, generation)
            synced = service.remembered_cursor(commits)
            info = None if synced is None else service.peek(("index-json", service.state, synced), generation)
            if head is None or info is None:
                return None
            return status, head + b',"index":' + info + b"}"
        state = service.state
        if not state.reachable or state.head is None:
            return None
        verdict = service.peek((*key, state.head), generation)
        if verdict is None:  # the previous head's while this one's is computed (Service.earlier_verdict)
            verdict = service.earlier_verdict(key, state.head, generation)
        return None if verdict is None else (status, verdict)


async def _send(send: Send, status: int, body: bytes) -> None:
    """A whole JSON answer, with the headers FastAPI's would carry."""
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON)],
    })
    await send({"type": "http.response.body", "body": body})


def _generation(service: Service) -> int | None:
    """The index's content generation, or None when its database stopped answering since (then nothing is
    remembered)."""
    try:
        return service.index.content_generation()
    except IndexUnavailable:
        return None

"""Index-backed answers as JSON bytes, remembered until the index changes.

An answer from the index is a function of the index's content, except its
``index`` member (the lag), which moves with the chain head. :func:`answer`
serializes the rest once per index generation (:meth:`Service.cached`) and
splices the current ``index`` in, so a repeated look-up is one ``PRAGMA
data_version``, two dictionary hits and two byte concatenations: no query,
validation or serialization. ``build`` may raise (a 404 problem): errors are
not remembered. The model is
still built (and validated) the first time, and the route keeps declaring it as
its ``response_model``, so the OpenAPI document is unchanged; the answer is the
model's ``model_dump_json()`` byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import index_info
from api.service import Service

__all__ = ["answer", "answer_off_loop"]


def answer(service: Service, key: Hashable, build: Callable[[], BaseModel], status_code: int = 200) -> Response:
    """The JSON of ``build()`` (a model whose last field is ``index``) with the current index info."""
    generation = service.index.generation()
    head = service.cached(("answer", key), lambda: _without_index(build()), generation)
    state = service.state
    info = service.cached(("index-json", state), lambda: index_info(service).model_dump_json().encode(), generation)
    return Response(head + b',"index":' + info + b"}", status_code=status_code, media_type="application/json")


async def answer_off_loop(
    service: Service, key: Hashable, build: Callable[[], BaseModel], status_code: int = 200
) -> Response:
    """:func:`answer` for answers that may be slow to build (a lineage graph, every publisher): a
    remembered one on the event loop, a new one built in the thread pool, so it never stalls the loop."""
    if service.peek(("answer", key)) is not None:
        return answer(service, key, build, status_code)
    return await run_in_threadpool(answer, service, key, build, status_code)


def _without_index(model: BaseModel) -> bytes:
    fields = list(type(model).model_fields)
    if fields[-1] != "index" or len(fields) < 2:
        raise TypeError(f"{type(model).__name__} must end with an `index` field and have another one")
    text = model.model_dump_json(exclude={"index"}, by_alias=True).encode()
    return text[:-1]  # without the closing brace

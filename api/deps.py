"""Shared dependencies of the routers, typed with ``Annotated``.

``ServiceDep`` is the process's :class:`~api.service.Service`; ``IndexDep`` its
:class:`~provenance.index.Index`; ``LedgerDep`` a read-only
:class:`~provenance.ledger.Ledger` for chain-dependent answers (503 with
``Retry-After`` while the node is down); ``SettingsDep`` the settings.
Tests build an app from their own :class:`~api.settings.ServiceSettings`
(``create_app(settings)``); ``app.dependency_overrides`` do not reach the
routes, which :func:`api.app.create_app` adds to the app directly.

Index-backed routes are ``async def``, take the ``Request`` and call
:func:`service_of` (a sub-dependency costs them ~30% of a request): the
index's queries are short SQLite reads, cheaper inline on the event loop than
a hop to the thread pool, and their answers are cached per index generation
(:mod:`api.answers`). Answers that may be slow to build the first time
(a lineage graph of ``ON_LOOP_NODES`` or more, the publishers list) are built in the thread pool
(:func:`api.answers.answer_off_loop`) and then answered from memory on the
loop. Anything that talks to the node (``LedgerDep``, ``/readyz``, proofs read
from a transaction) or verifies runs in the thread pool, so neither a slow
node nor a long verification stalls the loop.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path, Request

from api.models import IndexInfo
from api.service import ChainState, Service
from api.settings import ServiceSettings
from provenance.index import Index

if TYPE_CHECKING:  # pragma: no cover
    from provenance.ledger import Ledger

__all__ = [
    "get_service",
    "service_of",
    "ServiceDep",
    "IndexDep",
    "LedgerDep",
    "SettingsDep",
    "index_info",
    "HEX32_PATTERN",
    "ADDRESS_PATTERN",
    "Subject",
    "RecordId",
]

HEX32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HEX32 = re.compile(HEX32_PATTERN)
ADDRESS = re.compile(ADDRESS_PATTERN)


async def get_service(request: Request) -> Service:
    return service_of(request)


def service_of(request: Request) -> Service:
    """The service, for the hot index-backed routes: they take ``request: Request`` rather than
    ``ServiceDep`` because a sub-dependency costs FastAPI ~30% of such a request's time (measured
    with cProfile on GET /v1/artifacts)."""
    service: Service = request.app.state.service  # set by api.app.create_app; Starlette's State is untyped
    return service


async def _index(service: Annotated[Service, Depends(get_service)]) -> Index:
    return service.index


def _ledger(service: Annotated[Service, Depends(get_service)]) -> Ledger:
    return service.ledger()  # may connect: a plain def, so FastAPI runs it in the thread pool


async def _settings(service: Annotated[Service, Depends(get_service)]) -> ServiceSettings:
    return service.settings


ServiceDep = Annotated[Service, Depends(get_service)]
IndexDep = Annotated[Index, Depends(_index)]
LedgerDep = Annotated["Ledger", Depends(_ledger)]
SettingsDep = Annotated[ServiceSettings, Depends(_settings)]

Subject = Annotated[
    str, Path(pattern=HEX32_PATTERN, description="the artifact's subject: 0x + 64 hex digits (its Merkle root)")
]
RecordId = Annotated[str, Path(pattern=HEX32_PATTERN, description="a record id: 0x + 64 hex digits")]


def index_info(service: Service, synced: int | None = None) -> IndexInfo:
    """The lag block every index-backed answer carries (remembered per chain state and index cursor;
    ``synced``: the cursor, read here unless the caller just did)."""
    state = service.state
    synced = service.synced_to() if synced is None else synced
    return service.cached(("index-info", state, synced), lambda: _index_info(service, state, synced))


def _index_info(service: Service, state: ChainState, synced: int | None) -> IndexInfo:
    lag = None if state.head is None or synced is None else max(state.head - synced, 0)
    return IndexInfo(
        chainId=state.chain_id,
        registry=service.settings.registry,
        syncedTo=synced,
        head=state.head,
        lag=lag,
        confirmations=service.settings.confirmations,
        chainReachable=state.reachable,
        checkedAt=None if state.checked_at is None else int(state.checked_at),
    )

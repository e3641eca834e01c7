"""/healthz (the process answers) and /readyz (the chain answers and the index has caught up)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep
from api.models import Health, Ready
from api.problems import ApiProblem, node_unavailable, problem_responses
from api.service import Service
from provenance.errors import LedgerUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """200 while the process serves requests; says nothing about the chain."""
    return Health()


@router.get("/readyz", response_model=Ready, responses=problem_responses(503), summary="Readiness")
async def readyz(service: ServiceDep) -> Ready:
    """200 when the node answers a cheap call (``eth_blockNumber``, short timeout) and the index is
    within ``confirmations + ready_max_lag`` blocks of the head; else 503 with ``Retry-After``.

    Answered on the event loop when :func:`ready_from_memory` can; asking the node or the index goes to
    the thread pool."""
    ready = ready_from_memory(service)
    if ready is not None:
        return ready
    return await run_in_threadpool(_readiness, service)


def ready_from_memory(service: Service) -> Ready | None:
    """The 200 answer when all it needs is remembered: a head read less than ``HEAD_FRESH`` ago, and the
    index's cursor at the index's current generation (probes at a high rate, a load balancer's, are
    answered without a call or a query); None when something must be asked or the answer is not 200."""
    head = service.link.fresh_head()
    synced = None if head is None else service.remembered_cursor()
    chain_id = service.state.chain_id
    if head is None or synced is None or chain_id is None:
        return None
    lag = max(head - synced, 0)
    if lag > service.settings.confirmations + service.settings.ready_max_lag:
        return None
    return Ready(chainId=chain_id, head=head, syncedTo=synced, lag=lag)


def _readiness(service: Service) -> Ready:
    settings = service.settings
    retry = {"Retry-After": str(settings.retry_after)}
    try:
        head = service.link.head()
    except LedgerUnavailable as err:
        headers, waiting = node_unavailable(err, settings.retry_after)
        raise ApiProblem(
            503,
            "ledger-unavailable",
            f"{err}; index-backed answers keep working",
            title="Ethereum node unavailable",
            headers=headers,
            syncedTo=service.synced_to(),
            head=service.state.head,
            waitingFor=waiting,
        ) from None
    synced = service.synced_to()
    chain_id = service.state.chain_id
    if synced is None or chain_id is None:
        raise ApiProblem(
            503,
            "index-not-ready",
            "the index has not completed its first sync" + (f" ({service.state.error})" if service.state.error else ""),
            title="Index not ready",
            headers=retry,
            head=head,
        )
    lag = max(head - synced, 0)
    if lag > settings.confirmations + settings.ready_max_lag:
        raise ApiProblem(
            503,
            "index-behind",
            f"the index is {lag} blocks behind the head (confirmations {settings.confirmations}, "
            f"allowed {settings.ready_max_lag} more)",
            title="Index catching up",
            headers=retry,
            head=head,
            syncedTo=synced,
            lag=lag,
        )
    return Ready(chainId=chain_id, head=head, syncedTo=synced, lag=lag)

"""/healthz (the process answers) and /readyz (the chain answers and the index has caught up)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.models import Health, Ready
from api.problems import ApiProblem, node_unavailable, problem_responses
from provenance.errors import LedgerUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """200 while the process serves requests; says nothing about the chain."""
    return Health()


@router.get("/readyz", response_model=Ready, responses=problem_responses(503), summary="Readiness")
def readyz(service: ServiceDep) -> Ready:
    """200 when the node answers a cheap call (``eth_blockNumber``, short timeout) and the index is
    within ``confirmations + ready_max_lag`` blocks of the head; else 503 with ``Retry-After``."""
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

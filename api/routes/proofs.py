"""GET /v1/proofs/{recordId}: how a record is anchored, with its inclusion proof when batched."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.answers import answer_off_loop
from api.deps import RecordId, index_info, service_of
from api.models import ProofOut
from api.problems import ApiProblem, problem_responses
from api.service import Service
from provenance.merkle import record_leaf, verify

router = APIRouter(prefix="/v1", tags=["proofs"])


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


@router.get(
    "/proofs/{recordId}",
    response_model=ProofOut,
    responses=problem_responses(404, 422, 502, 503),
    summary="Anchoring evidence of a record",
)
async def proof(recordId: RecordId, request: Request) -> Response:  # noqa: N803 - the path parameter keeps the API's camelCase name
    """For a record registered directly: its transaction and block. For a batched record: the batch
    root, the record's leaf and its inclusion proof, and the anchoring transaction.

    The proof comes from the record's Statement when the service holds one
    (``proofSource: statement``); for a batched record proven on chain without
    a stored Statement it is read from the ``proveBatched`` transaction
    (``proofSource: chain``), which needs the node: 503 with ``Retry-After``
    while it is down, 502 when it answers an error or nonsense. 404 when the
    record is unknown, or batched with no proof within reach.
    """
    service = service_of(request)
    rid = recordId.lower()
    # remembered until the index changes (a proof read from a mined transaction changes only with a reorg,
    # which changes the index); built in the thread pool, since it may ask the node
    return await answer_off_loop(service, ("proof", rid), lambda: _proof(service, rid))


def _proof(service: Service, rid: str) -> ProofOut:
    index = service.index
    record_id = bytes.fromhex(rid[2:])
    info = index_info(service)
    record = index.record(rid)
    if record is not None and record.batch_root is None:
        return ProofOut(
            recordId=rid, type="direct", txHash=record.tx_hash, blockNumber=record.block_number,
            blockTime=record.block_time, index=info,
        )
    statement = index.statement(rid)
    anchor = statement.anchor if statement is not None else None
    leaf = record_leaf(record_id)
    if statement is not None and anchor is not None and anchor.type == "batch" and anchor.batch_root is not None:
        root = anchor.batch_root
        # the batch (submitter, root) the Statement names; one of registry version 1 names none: the publisher's
        batch = index.batch(root, anchor.submitter or statement.publisher)
        return ProofOut(
            recordId=rid,
            type="batch",
            txHash=batch.tx_hash if batch else _hex(anchor.tx_hash),
            blockNumber=batch.block_number if batch else anchor.block_number,
            blockTime=batch.block_time if batch else None,
            batchRoot=_hex(root),
            leaf=_hex(leaf),
            proof=[_hex(p) for p in anchor.proof],
            proofSource="statement",
            proofValid=verify(root, leaf, anchor.proof),
            index=info,
        )
    if anchor is not None and anchor.type == "direct" and record is None:
        return ProofOut(
            recordId=rid, type="direct", txHash=_hex(anchor.tx_hash), blockNumber=anchor.block_number,
            blockTime=None, index=info,
        )
    if record is None:
        raise ApiProblem(
            404, "unknown-record",
            f"record {rid} is neither indexed nor described by a Statement this service holds",
            title="Unknown record",
        )
    # Proven on chain, no Statement: the proof is in the calldata of the proveBatched transaction.
    root = bytes.fromhex(record.batch_root[2:])  # type: ignore[index]  # not None: direct records returned above
    call = service.ledger().prove_batched_call(bytes.fromhex(record.tx_hash[2:]))
    if call is None or call.root != root or call.record_id != record_id:
        raise ApiProblem(
            404, "proof-unavailable",
            f"record {rid} was proven in batch {record.batch_root}, but its inclusion proof is not within "
            "reach (no Statement is stored and the transaction is not a plain proveBatched call)",
            title="Inclusion proof unavailable",
            hint="post the record's Statement to the service",
        )
    batch = index.batch(root, call.submitter)
    return ProofOut(
        recordId=rid,
        type="batch",
        txHash=batch.tx_hash if batch else None,
        blockNumber=batch.block_number if batch else None,
        blockTime=batch.block_time if batch else None,
        batchRoot=record.batch_root,
        leaf=_hex(leaf),
        proof=[_hex(p) for p in call.proof],
        proofSource="chain",
        proofValid=verify(root, leaf, call.proof),
        index=info,
    )


"""Verification over HTTP, and publishers' Statements.

``GET /v1/verify/{subject}``, ``POST /v1/verify/file`` (one file, multipart,
streamed to a temporary file under the upload limit) and ``POST
/v1/verify/statement`` answer with the verdict JSON of docs/verdicts.md, the
same as ``provenance verify --json``. ``POST /v1/statements`` keeps a
publisher's Statement once it verifies (signature, anchoring on this
registry, disclosures), so batched records, their claims and their file
digests become known to the service.

Verification reads the chain head for confirmations: while the node is down
these answers are 503 with ``Retry-After`` (never a pass from stale data).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep, Subject
from api.problems import ApiProblem, problem_responses
from api.service import Service
from provenance.errors import ProvenanceError
from provenance.statement import Statement
from provenance.verdict import CheckName, Code, Status, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from provenance.verifier import Verifier

router = APIRouter(prefix="/v1", tags=["verify"])

UseParam = Annotated[
    Literal["commercial", "non-commercial", "research"] | None,
    Query(description="intended use (default: commercial)"),
]
StrictParam = Annotated[bool, Query(description="warnings fail too (exitCode 1)")]


class CheckOut(BaseModel):
    check: Literal[tuple(c.value for c in CheckName)]  # type: ignore[valid-type]
    status: Literal[tuple(s.value for s in Status)]  # type: ignore[valid-type]
    code: Literal[tuple(c.value for c in Code)]  # type: ignore[valid-type]
    message: str
    evidence: dict[str, Any]


class VerdictOut(BaseModel):
    """The verdict document (docs/verdicts.md, provenance/data/verdict.schema.json)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    subject: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    recordId: str | None = Field(pattern=r"^0x[0-9a-f]{64}$")
    overall: Literal["pass", "warn", "fail"]
    strict: bool
    exitCode: Literal[0, 1, 2]
    checks: list[CheckOut]


class StatementAccepted(BaseModel):
    recordId: str
    subject: str
    publisher: str
    checks: list[CheckOut] = Field(description="the checks the Statement passed to be accepted")


def _head(service: Service) -> int:
    """The chain head the indexer last saw; asked from the node when that is unknown or stale.

    While the node is down this raises LedgerUnavailable: the answer is 503 with
    Retry-After, never a verdict from data the service cannot check.
    """
    state = service.state
    if state.reachable and state.head is not None:
        return state.head
    return service.ledger().block_number()


def _verifier(service: Service, use: str | None, head: int | None = None) -> Verifier:
    from provenance.policy import Policy
    from provenance.verifier import Verifier

    policy = Policy.default() if use is None else Policy.default().with_use(use)
    index = service.index
    return Verifier(service.ledger(), index, policy, [index], sync=False,
                    head=_head(service) if head is None else head)


def _answer(verdict: Verdict, strict: bool) -> VerdictOut:
    return VerdictOut.model_validate(verdict.to_json(strict=strict))


@router.get(
    "/verify/{subject}",
    response_model=VerdictOut,
    responses=problem_responses(422, 503),
    summary="Verify an artifact by its subject",
)
async def verify_subject(
    subject: Subject, service: ServiceDep, use: UseParam = None, strict: StrictParam = False
) -> Response:
    """Every check but integrity (no files are given): the record, its status, its claims and lineage.

    A verdict is a function of the index's content and the chain head (through
    confirmations), so it is remembered for that pair: a repeated look-up
    between two blocks is answered on the event loop from memory; a new one is
    verified in the thread pool.
    """
    key = subject.lower()
    state = service.state
    if state.reachable and state.head is not None:
        body = service.peek(("verify", key, use, strict, state.head))
        if body is not None:
            return Response(body, media_type="application/json")
    body = await run_in_threadpool(_verify_subject, service, key, use, strict)
    return Response(body, media_type="application/json")


def _verify_subject(service: Service, key: str, use: str | None, strict: bool) -> bytes:
    head = _head(service)

    def compute() -> bytes:
        verdict = _verifier(service, use, head).verify_subject(bytes.fromhex(key[2:]))
        return _answer(verdict, strict).model_dump_json().encode()

    return service.cached(("verify", key, use, strict, head), compute)


@router.post(
    "/verify/file",
    response_model=VerdictOut,
    responses=problem_responses(400, 404, 413, 422, 503),
    summary="Verify one downloaded file",
)
def verify_file(
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="the file (e.g. one shard or one parquet)")],
    use: UseParam = None,
    strict: StrictParam = False,
) -> VerdictOut:
    """Finds the artifact holding a file with this SHA-256 and proves the file belongs to it.

    The upload is streamed to a temporary file (the service's upload limit
    applies: 413 above it) and deleted afterwards.
    """
    from provenance.verifier import NotFound

    work = Path(tempfile.mkdtemp(prefix="provenance-upload-"))
    try:
        name = os.path.basename(file.filename or "upload") or "upload"
        target = work / name
        with open(target, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        verifier = _verifier(service, use)
        try:
            verdict = verifier.verify_path(target)
        except NotFound as err:
            raise ApiProblem(404, "unknown-file", str(err), title="No registered artifact holds this file") from None
        return _answer(verdict, strict)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _statement(body: dict[str, Any]) -> Statement:
    try:
        return Statement.from_json(body, source="the request body")
    except ProvenanceError as err:
        raise ApiProblem(422, "invalid-statement", str(err), title="Not a provenance Statement") from None


_STATEMENT_EXAMPLE = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "…", "predicate": {}}


@router.post(
    "/verify/statement",
    response_model=VerdictOut,
    responses=problem_responses(400, 413, 422, 503),
    summary="Verify a Statement (provenance.json)",
)
def verify_statement(
    service: ServiceDep,
    body: Annotated[dict[str, Any], Body(description="the Statement (in-toto v1 JSON)", examples=[_STATEMENT_EXAMPLE])],
    use: UseParam = None,
    strict: StrictParam = False,
) -> VerdictOut:
    verdict = _verifier(service, use).verify_statement(_statement(body))
    return _answer(verdict, strict)


@router.post(
    "/statements",
    response_model=StatementAccepted,
    status_code=201,
    responses=problem_responses(400, 413, 422, 503),
    summary="Post a publisher's Statement",
)
def post_statement(
    service: ServiceDep,
    body: Annotated[dict[str, Any], Body(description="the Statement (in-toto v1 JSON)", examples=[_STATEMENT_EXAMPLE])],
) -> StatementAccepted:
    """Kept only when it verifies: manifest gives the subject, signature by the publisher, anchored
    on this service's registry (directly or in an anchored batch, proof valid), disclosures
    matching claimsRoot (the rule: ``Verifier.accept_statement``). 422 with the failing checks otherwise."""
    statement = _statement(body)
    acceptance = _verifier(service, None).accept_statement(statement)
    if acceptance.other_registry:
        raise ApiProblem(422, "other-registry", acceptance.reason(), title="Statement for another registry")
    if not acceptance.accepted:
        raise ApiProblem(422, "statement-not-verified", acceptance.reason(), title="Statement refused",
                         checks=[c.to_json() for c in acceptance.refused_by])
    service.index.add_statement(statement)
    return StatementAccepted(
        recordId="0x" + statement.record_id.hex(),
        subject="0x" + statement.subject.hex(),
        publisher=statement.publisher,
        checks=[CheckOut.model_validate(c.to_json()) for c in acceptance.checks],
    )

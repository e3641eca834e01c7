"""Verification over HTTP, and publishers' Statements.

``GET /v1/verify/{subject}``, ``POST /v1/verify/file`` (one file, multipart,
streamed to a temporary file under the upload limit) and ``POST
/v1/verify/statement`` answer with the verdict JSON of docs/verdicts.md, the
same as ``provenance verify --json``, under the service's trust policy
(``serve --policy``, :attr:`ServiceSettings.policy`; ``use`` overrides its
intended use). ``POST /v1/verify`` verifies a subject under the caller's own
policy, sent in the JSON body. ``POST /v1/statements`` keeps a
publisher's Statement once it verifies (signature, anchoring on this
registry, disclosures), so batched records, their claims and their file
digests become known to the service.

Verification reads the chain head for confirmations: while the node is down
these answers are 503 with ``Retry-After`` (never a pass from stale data).

Bounds, so that one request cannot hold a worker: a JSON body is at most
``json_limit`` bytes (413, :class:`api.app.BodyLimit`); a posted Statement is
parsed before anything else (422 when it is malformed, its parents and uri
over the registry's bounds included), its manifest lists at most
``manifest_limit`` entries (413) that must each be well formed (422); each
worker runs at most ``max_verifications`` at once (503 with ``Retry-After``
beyond), in the thread pool, never on the event loop. The index keeps at most
``statement_quota`` Statements per publisher (429 for a new record beyond,
checked before verifying and again as it is stored).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from api.answers import remember_verdict
from api.deps import HEX32_PATTERN, ServiceDep, Subject
from api.problems import ApiProblem, problem_responses
from api.service import Service
from provenance.errors import ManifestError, PolicyError, ProvenanceError
from provenance.manifest import FORMAT_VERSION, ManifestEntry
from provenance.statement import Statement
from provenance.verdict import CheckName, Code, RecordState, Status, Verdict

if TYPE_CHECKING:  # pragma: no cover
    from provenance.policy import Policy
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


class RecordSeenOut(BaseModel):
    """One record of the verified subject, as the verdict saw it (provenance.verdict.RecordSeen)."""

    model_config = ConfigDict(extra="forbid")

    recordId: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    publisher: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    relied: bool = Field(description="the verdict rests on this record (then it is recordId); one at most")
    trusted: bool = Field(description="the policy trusts the publisher")
    state: RecordState
    why: str = Field(min_length=1, description="why the verdict relied on this record, or why not (chain data: text)")


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
    records: list[RecordSeenOut] = Field(
        default_factory=list, description="every record of the subject the verifier saw, the one relied on first"
    )


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


def _verifier(service: Service, use: str | None, head: int | None = None, policy: Policy | None = None) -> Verifier:
    """A verifier under ``policy`` (default: the service's, ``serve --policy``), ``use`` overriding its use.

    It fetches the Statement of a record no one posted from the record's uri (the service's fetcher,
    ``fetch_private`` as set); a fetched Statement that verifies is kept (:mod:`api.documents`). The
    verdicts at one head share what they read of the registry's storage (:meth:`Service.chain_reads`)."""
    from provenance.verifier import Verifier

    policy = service.settings.policy if policy is None else policy
    policy = policy if use is None else policy.with_use(use)
    index = service.index
    ledger = service.ledger()
    head = _head(service) if head is None else head
    return Verifier(ledger, index, policy, [index], sync=False, head=head, fetch=service.fetching.fetch,
                    reads=service.chain_reads(head))


def _answer(verdict: Verdict, strict: bool) -> VerdictOut:
    return VerdictOut.model_validate(verdict.to_json(strict=strict))


@contextmanager
def _slot(service: Service) -> Iterator[None]:
    """Run one verification, or answer 503 when this worker already runs ``max_verifications``."""
    with service.verification() as granted:
        if not granted:
            settings = service.settings
            raise ApiProblem(
                503, "too-busy",
                f"this worker already runs {settings.max_verifications} verifications; try again shortly",
                title="Too many verifications at once",
                headers={"Retry-After": str(settings.retry_after)},
            )
        yield


@router.get(
    "/verify/{subject}",
    response_model=VerdictOut,
    responses=problem_responses(422, 503),
    summary="Verify an artifact by its subject",
)
async def verify_subject(
    subject: Subject, service: ServiceDep, use: UseParam = None, strict: StrictParam = False
) -> Response:
    """Every check but integrity (no files are given): the record, its status, its claims and lineage,
    under the service's policy (``serve --policy``; the default trusts no publisher).

    A verdict is a function of the index's content and the chain head (through
    confirmations), so it is remembered for that pair: a repeated look-up
    between two blocks is answered on the event loop from memory; a new one is
    verified in the thread pool. At a new head with the same index content, the
    verdict of the previous head is answered while this head's is computed in
    the background (:meth:`Service.earlier_verdict`).
    """
    key = subject.lower()
    state = service.state
    remember_verdict(("verify", key, use, strict))  # a repeated URL is answered by api.answers.Shortcut
    if state.reachable and state.head is not None:
        body = service.peek(("verify", key, use, strict, state.head))
        if body is None:  # one at an earlier head while this one is computed in the background
            body = service.earlier_verdict(("verify", key, use, strict), state.head)
        if body is not None:
            return Response(body, media_type="application/json")
    body = await run_in_threadpool(_verify_subject, service, key, use, strict)
    return Response(body, media_type="application/json")


def _verify_subject(service: Service, key: str, use: str | None, strict: bool) -> bytes:
    with _slot(service):  # in the thread: waiting for a slot must not hold the event loop
        return _verify_subject_now(service, key, use, strict)


def _verify_subject_now(
    service: Service, key: str, use: str | None, strict: bool, policy: Policy | None = None
) -> bytes:
    """The verdict's JSON, remembered per (subject, use, strict, head); with a caller's ``policy``,
    per that policy too (its canonical JSON, ``use`` applied): a verdict under one policy is never
    the answer under another. The service's own policy is fixed per process, so it needs no key."""
    head = _head(service)
    if policy is None:
        cache_key: tuple[Any, ...] = ("verify", key, use, strict, head)
    else:
        policy = policy if use is None else policy.with_use(use)
        use = None
        cache_key = ("verify-policy", key, json.dumps(policy.to_dict(), sort_keys=True), strict, head)

    def compute() -> bytes:
        verdict = _verifier(service, use, head, policy).verify_subject(bytes.fromhex(key[2:]))
        return _answer(verdict, strict).model_dump_json().encode()

    if not service.settings.remember_answers:
        return compute()
    generation = service.index.content_generation()
    body = service.cached(cache_key, compute, generation)
    if policy is None:  # GET /v1/verify/{subject}: answered at a later head while computed again
        service.keep_latest_verdict(cache_key[:-1], head, body,
                                    functools.partial(_verify_subject, service, key, use, strict), generation)
    return body


class VerifyRequest(BaseModel):
    """``POST /v1/verify``: a subject verified under the caller's own trust policy."""

    model_config = ConfigDict(extra="forbid", strict=True)

    subject: str = Field(pattern=HEX32_PATTERN, description="the artifact's subject: 0x + 64 hex digits")
    policy: dict[str, Any] = Field(description="a trust policy, as a policy file's mapping (docs/policy.md)")
    use: Literal["commercial", "non-commercial", "research"] | None = Field(
        default=None, description="intended use, overriding the policy's"
    )
    strict: bool = Field(default=False, description="warnings fail too (exitCode 1)")


def _verify_request_body() -> dict[str, Any]:
    from provenance.policy import Policy

    schema = VerifyRequest.model_json_schema()
    schema["properties"]["policy"] = {**Policy.json_schema(), "description": "a trust policy (docs/policy.md)"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "/verify",
    response_model=VerdictOut,
    responses=problem_responses(413, 422, 503),
    summary="Verify an artifact by its subject under your own policy",
    openapi_extra=_verify_request_body(),
)
async def verify_with_policy(request: Request, service: ServiceDep) -> Response:
    """As ``GET /v1/verify/{subject}``, under the trust policy in the body instead of the service's.

    The body is parsed here (at most ``json_limit`` bytes, nesting bounded: see
    :func:`_statement`); a policy that cannot be used is a 422 naming each field.
    """
    body = await request.body()  # at most json_limit bytes (api.app.BodyLimit)
    asked, policy = _verify_request(body)
    answer = await run_in_threadpool(_verify_policy, service, asked, policy)
    return Response(answer, media_type="application/json")


def _verify_request(body: bytes) -> tuple[VerifyRequest, Policy]:
    from pydantic_core import from_json

    from provenance.policy import Policy

    try:
        data = from_json(body, allow_inf_nan=False)
        asked = VerifyRequest.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False, include_context=False)]
        ) from None
    except ValueError as err:
        raise ApiProblem(422, "invalid-request", f"the request body is not JSON ({err})",
                         title="Invalid request") from None
    try:
        policy = Policy.from_mapping(asked.policy)
    except PolicyError as err:
        raise ApiProblem(422, "invalid-policy", str(err), title="Not a usable policy") from None
    return asked, policy


def _verify_policy(service: Service, asked: VerifyRequest, policy: Policy) -> bytes:
    with _slot(service):  # the same slots, index-freshness check (service.ledger()) and head as GET
        return _verify_subject_now(service, asked.subject.lower(), asked.use, asked.strict, policy)


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

    with _slot(service):
        work = Path(tempfile.mkdtemp(prefix="provenance-upload-"))
        try:
            target = work / _upload_name(file.filename)
            with open(target, "wb") as out:
                shutil.copyfileobj(file.file, out, 1 << 20)
            verifier = _verifier(service, use)
            try:
                verdict = verifier.verify_path(target)
            except NotFound as err:
                raise ApiProblem(
                    404, "unknown-file", str(err), title="No registered artifact holds this file"
                ) from None
            return _answer(verdict, strict)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _upload_name(filename: str | None) -> str:
    """The upload's own name when it is one plain file name (only messages show it), else ``upload``:
    ``.``, ``..``, a path, a NUL, a name that is not UTF-8 or longer than a file name may be."""
    name = os.path.basename(filename or "")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "upload"
    if name in ("", ".", "..") or "\0" in name or size > 255:
        return "upload"
    return name


def _statement(service: Service, body: bytes) -> Statement:
    """The posted Statement, refused before any verification when it is malformed or too large.

    The body is parsed here rather than by FastAPI: :meth:`Statement.loads` refuses
    nesting deeper than 200 levels and lone surrogates, where the standard library's
    parser would overflow the stack of a process whose recursion limit web3's
    imports raised (a crash, not an error).
    """
    try:
        statement = Statement.loads(body, source="the request body")
    except ProvenanceError as err:
        raise ApiProblem(422, "invalid-statement", str(err), title="Not a provenance Statement") from None
    manifest = statement.manifest
    if manifest is not None:
        files = manifest.get("files")
        if manifest.get("version") != FORMAT_VERSION:
            raise ApiProblem(
                422, "invalid-statement",
                f"the request body: predicate.manifest.version must be {FORMAT_VERSION}, "
                f"got {str(manifest.get('version'))[:40]!r}",
                title="Not a provenance Statement",
            )
        if not isinstance(files, list):
            raise ApiProblem(422, "invalid-statement", "the request body: predicate.manifest needs a 'files' list",
                             title="Not a provenance Statement")
        limit = service.settings.manifest_limit
        if len(files) > limit:
            raise ApiProblem(
                413, "manifest-too-large",
                f"the Statement's manifest lists {len(files)} files; this service takes at most {limit}",
                title="Manifest too large", limit=limit,
            )
        try:  # each entry well formed (sizes within uint256, normalized paths); whether they give the
            for item in files:  # subject is the verdict's integrity check
                ManifestEntry.from_dict(item)
        except ManifestError as err:
            raise ApiProblem(
                422, "invalid-statement", f"the request body: predicate.manifest: {err}",
                title="Not a provenance Statement",
            ) from None
    return statement


_STATEMENT_EXAMPLE = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "…", "predicate": {}}
# The body as the OpenAPI document describes it; the routes read it themselves (see _statement).
_STATEMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": True, "description": "the Statement (in-toto v1 JSON)",
            "examples": [_STATEMENT_EXAMPLE], "title": "Body",
        }}},
    }
}


@router.post(
    "/verify/statement",
    response_model=VerdictOut,
    responses=problem_responses(400, 413, 422, 503),
    summary="Verify a Statement (provenance.json)",
    openapi_extra=_STATEMENT_BODY,
)
async def verify_statement(
    request: Request, service: ServiceDep, use: UseParam = None, strict: StrictParam = False
) -> VerdictOut:
    body = await request.body()  # at most json_limit bytes (api.app.BodyLimit)
    return await run_in_threadpool(_verify_statement, service, body, use, strict)


def _verify_statement(service: Service, body: bytes, use: str | None, strict: bool) -> VerdictOut:
    statement = _statement(service, body)
    with _slot(service):
        verdict = _verifier(service, use).verify_statement(statement)
        return _answer(verdict, strict)


@router.post(
    "/statements",
    response_model=StatementAccepted,
    status_code=201,
    responses=problem_responses(400, 413, 422, 429, 503),
    summary="Post a publisher's Statement",
    openapi_extra=_STATEMENT_BODY,
)
async def post_statement(request: Request, service: ServiceDep) -> StatementAccepted:
    """Kept only when it verifies: manifest gives the subject, signature by the publisher, anchored
    on this service's registry (directly or in an anchored batch, proof valid), disclosures
    matching claimsRoot (the rule: ``Verifier.accept_statement``). 422 with the failing checks otherwise.
    429 for a new record of a publisher who has ``statement_quota`` Statements kept (a copy of a kept
    record is always taken). The index records who posted it (the client's address) and when."""
    body = await request.body()  # at most json_limit bytes (api.app.BodyLimit)
    posted_by = request.client.host if request.client is not None and request.client.host else "unknown"
    return await run_in_threadpool(_accept_statement, service, body, posted_by)


def _accept_statement(service: Service, body: bytes, posted_by: str = "unknown") -> StatementAccepted:
    statement = _statement(service, body)
    quota = service.settings.statement_quota
    index = service.index
    if index.statements_kept(statement.publisher) >= quota and index.statement(statement.record_id) is None:
        _over_quota(service, statement)  # before any verification: nothing verified would be kept
    with _slot(service):
        acceptance = _verifier(service, None).accept_statement(statement)
    if acceptance.other_registry:
        raise ApiProblem(422, "other-registry", acceptance.reason(), title="Statement for another registry")
    if not acceptance.accepted:
        raise ApiProblem(422, "statement-not-verified", acceptance.reason(), title="Statement refused",
                         checks=[c.to_json() for c in acceptance.refused_by])
    if not index.add_statement(statement, posted_by=posted_by, quota=quota):  # the quota again, atomically
        _over_quota(service, statement)
    return StatementAccepted(
        recordId="0x" + statement.record_id.hex(),
        subject="0x" + statement.subject.hex(),
        publisher=statement.publisher,
        checks=[CheckOut.model_validate(c.to_json()) for c in acceptance.checks],
    )


def _over_quota(service: Service, statement: Statement) -> NoReturn:
    quota = service.settings.statement_quota
    kept = service.index.statements_kept(statement.publisher)
    raise ApiProblem(
        429, "statement-quota",
        f"publisher {statement.publisher} has {kept} Statements kept here, the quota is {quota}",
        title="Statement quota reached", publisher=statement.publisher, kept=kept, quota=quota,
    )

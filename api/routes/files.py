"""GET /v1/files/{sha256}: the artifacts that hold a file, from the Statements the service keeps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.answers import answer
from api.deps import index_info, service_of
from api.models import FileMatch, FilesOut
from api.problems import ApiProblem, problem_responses

router = APIRouter(prefix="/v1", tags=["files"])

Sha256 = Annotated[
    str,
    Path(pattern=r"^(0x)?[0-9a-fA-F]{64}$", description="the file's SHA-256 (what sha256sum prints), 64 hex digits"),
]


@router.get(
    "/files/{sha256}",
    response_model=FilesOut,
    responses=problem_responses(404, 422),
    summary="Which artifacts contain a file",
)
async def files(sha256: Sha256, request: Request) -> Response:
    """Artifacts whose manifest lists a whole file with this SHA-256, with the path it has in each.

    The digests come from the manifests of Statements the service holds
    (posted to it or learned from batch documents); the chain holds only
    subjects. 404 when no known manifest lists the digest.
    """
    service = service_of(request)
    digest = sha256.lower().removeprefix("0x")

    def build() -> FilesOut:
        index = service.index
        matches = index.files(digest)
        if not matches:
            raise ApiProblem(
                404,
                "unknown-file",
                f"no manifest known to this service lists a file with SHA-256 {digest}",
                title="Unknown file digest",
                hint="the service learns file digests from Statements; post the artifact's Statement first",
            )
        records: dict[str, list[str]] = {}
        for subject, _path in matches:
            if subject not in records:
                records[subject] = [r.record_id for r in index.records_by_subject(subject)]
        return FilesOut(
            sha256=digest,
            artifacts=[FileMatch(subject=s, path=p, records=records[s]) for s, p in matches],
            index=index_info(service),
        )

    return answer(service, ("files", digest), build)

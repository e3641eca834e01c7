"""GET /v1/artifacts/{subject}: every record of an artifact, from the index."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.answers import answer
from api.deps import Subject, index_info, service_of
from api.models import ArtifactOut, RecordOut
from api.problems import ApiProblem, problem_responses

router = APIRouter(prefix="/v1", tags=["artifacts"])


@router.get(
    "/artifacts/{subject}",
    response_model=ArtifactOut,
    responses=problem_responses(404, 422),
    summary="The records of an artifact",
)
async def artifact(subject: Subject, request: Request) -> Response:
    """Every record registered for ``subject`` (oldest first) with its status, and the index lag.

    404 when the index knows no record of the subject (it may not be synced
    that far yet: see ``index`` in other answers, or ``/readyz``).
    """
    service = service_of(request)
    subject = subject.lower()

    def build() -> ArtifactOut:
        index = service.index
        records = [RecordOut.of(r) for r in index.records_by_subject(subject)]
        statements = index.statement_count(subject)
        if not records and not statements:
            info = index_info(service)
            raise ApiProblem(
                404,
                "unknown-subject",
                f"no record of subject {subject} is indexed (index synced to block {info.syncedTo})",
                title="Unknown subject",
                index=info.model_dump(),
            )
        return ArtifactOut(
            subject=subject,
            records=records,  # type: ignore[arg-type]  # dicts, validated here
            statements=statements,
            index=index_info(service),
        )

    return answer(service, ("artifact", subject), build)

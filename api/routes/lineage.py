"""GET /v1/lineage/{subject}: the graph of what an artifact derives from, built from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.answers import answer
from api.deps import Subject, index_info, service_of
from api.models import KIND_NAMES, LineageEdge, LineageNode, LineageOut
from api.problems import ApiProblem, problem_responses

router = APIRouter(prefix="/v1", tags=["lineage"])

MAX_NODES = 2_000


@router.get(
    "/lineage/{subject}",
    response_model=LineageOut,
    responses=problem_responses(404, 422),
    summary="Lineage graph of an artifact",
)
async def lineage(
    subject: Subject,
    request: Request,
    depth: Annotated[int, Query(ge=1, le=64, description="how many parent generations to follow")] = 16,
) -> LineageOut:
    """Nodes (subjects) and edges (child → parent, ``derivedFrom``), following the ``parents`` of
    every RecordRegistered event transitively, breadth first.

    Cycles are harmless (each subject is visited once); the walk stops at
    ``depth`` generations or 2,000 nodes and then says ``truncated``. A parent
    with no record in the index is a node with ``known: false``. 404 when the
    subject itself has no record.
    """
    service = service_of(request)
    root = subject.lower()

    def build() -> LineageOut:
        graph = _graph(service.index, root, depth)
        if graph is None:
            raise ApiProblem(
                404, "unknown-subject", f"no record of subject {root} is indexed", title="Unknown subject"
            )
        nodes, edges, truncated = graph
        return LineageOut(subject=root, nodes=nodes, edges=edges, truncated=truncated, index=index_info(service))

    return answer(service, ("lineage", root, depth), build)  # type: ignore[return-value]


def _graph(index, root: str, depth: int) -> tuple[list[LineageNode], list[LineageEdge], bool] | None:
    """Breadth-first over parents; None when the root has no record."""
    nodes: dict[str, LineageNode] = {}
    edges: dict[tuple[str, str], LineageEdge] = {}
    frontier = [root]
    truncated = False
    level = 0
    while frontier:
        next_frontier: list[str] = []
        for current in frontier:
            records = index.records_by_subject(current)
            if current == root and not records:
                return None
            kind = next((r.kind for r in records if r.kind is not None), None)
            nodes[current] = LineageNode(
                subject=current,
                kind=None if kind is None else KIND_NAMES.get(kind, "other"),
                publishers=sorted({r.publisher for r in records}),
                revoked=bool(records) and all(r.revoked for r in records),
                known=bool(records),
                depth=level,
            )
            parents = dict.fromkeys(p for r in records for p in r.parents)
            for parent in parents:
                edges.setdefault((current, parent), LineageEdge(from_=current, to=parent))
                if parent in nodes or parent in next_frontier or parent in frontier:
                    continue
                if level + 1 > depth or len(nodes) + len(next_frontier) >= MAX_NODES:
                    truncated = True
                    continue
                next_frontier.append(parent)
        frontier = next_frontier
        level += 1
    # Edges to parents left out by the limits would dangle: keep only edges between listed nodes.
    kept = [e for (child, parent), e in edges.items() if child in nodes and parent in nodes]
    return list(nodes.values()), kept, truncated or len(kept) != len(edges)

"""GET /v1/lineage/{subject}: the graph of what an artifact derives from, built from the index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.answers import answer, answer_off_loop
from api.deps import Subject, index_info, service_of
from api.models import KIND_NAMES, LineageEdge, LineageNode, LineageOut
from api.problems import ApiProblem, problem_responses
from provenance.index import Index, IndexedRecord
from provenance.lineage import Walk, walk

router = APIRouter(prefix="/v1", tags=["lineage"])

MAX_NODES = 2_000
#: A lineage of fewer nodes is walked on the event loop, like the other index look-ups (a few short reads, no hop
#: to the thread pool); one that reaches this many is walked again, whole, in the thread pool.
ON_LOOP_NODES = 8


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
) -> Response:
    """Nodes (subjects) and edges (child → parent, ``derivedFrom``), following the ``parents`` of
    every RecordRegistered event transitively, breadth first.

    Cycles are harmless (each subject is visited once); the walk stops at
    ``depth`` generations or 2,000 nodes and then says ``truncated``. A parent
    with no record in the index is a node with ``known: false``. 404 when the
    subject itself has no record.
    """
    service = service_of(request)
    root = subject.lower()
    key = ("lineage", root, depth)

    def build(walked: Walk[str, list[IndexedRecord]]) -> LineageOut:
        graph = _graph(walked)
        if graph is None:
            raise ApiProblem(
                404, "unknown-subject", f"no record of subject {root} is indexed", title="Unknown subject"
            )
        nodes, edges, truncated = graph
        return LineageOut(subject=root, nodes=nodes, edges=edges, truncated=truncated, index=index_info(service))

    def build_small() -> LineageOut:  # inside answer(): the walk reads the index after its generation is read
        walked = _walk(service.index, root, depth, ON_LOOP_NODES)
        if walked.truncated and len(walked.depth) >= ON_LOOP_NODES:  # a node may have been left for the bound
            raise _LargeGraph
        return build(walked)

    try:  # a remembered answer is answered by answer() without a walk
        return answer(service, key, build_small)
    except _LargeGraph:  # not remembered: an error
        return await answer_off_loop(service, key, lambda: build(_walk(service.index, root, depth, MAX_NODES)))


class _LargeGraph(Exception):
    """The walk on the event loop reached ``ON_LOOP_NODES``: the graph is walked whole in the thread pool."""


def _walk(index: Index, root: str, depth: int, max_nodes: int) -> Walk[str, list[IndexedRecord]]:
    """Breadth-first over parents (:func:`provenance.lineage.walk`), at most ``max_nodes`` subjects."""
    return walk(
        root,
        lambda subject: index.records_by_subject(subject) or None,
        lambda _, records: (p for r in records for p in r.parents),
        max_depth=depth,
        max_nodes=max_nodes,
    )


def _graph(walked: Walk[str, list[IndexedRecord]]) -> tuple[list[LineageNode], list[LineageEdge], bool] | None:
    """The walk's nodes and edges, and whether it was cut short; None when the root has no record."""
    root = walked.root
    if root not in walked.found:
        return None
    nodes = [_node(subject, walked.found.get(subject, []), walked.depth[subject]) for subject in walked.order]
    edges = [LineageEdge.model_validate({"from": child, "to": parent}) for child, parent in walked.edges]
    return nodes, edges, walked.truncated


def _node(subject: str, records: list[IndexedRecord], depth: int) -> LineageNode:
    kind = next((r.kind for r in records if r.kind is not None), None)
    return LineageNode(
        subject=subject,
        kind=None if kind is None else KIND_NAMES.get(kind, "other"),
        publishers=sorted({r.publisher for r in records}),
        revoked=bool(records) and all(r.revoked for r in records),
        known=bool(records),
        depth=depth,
    )

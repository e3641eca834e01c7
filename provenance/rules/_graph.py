"""The lineage as the rules read it (:class:`Graph`), and how they word their findings (:class:`Findings`).

The breadth-first part is :func:`provenance.lineage.walk`, shared with the
verifier and the service; the depth-first part finds cycles and orders parents
before children. The decisions on the graph are in :mod:`provenance.rules.lineage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provenance.lineage import walk
from provenance.rules._facts import ArtifactFacts, Lineage, short
from provenance.verdict import Check, CheckName, Code, Status

__all__ = ["Graph", "graph_of", "Findings", "hex_of", "short", "cap", "utc_time", "same_address"]


@dataclass
class Graph:
    root: ArtifactFacts
    nodes: dict[bytes, ArtifactFacts]  # every known artifact reachable from the root, root included
    order: list[bytes]  # breadth-first from the root, parents in subject order
    parents: dict[bytes, tuple[bytes, ...]]  # without the edges that close cycles
    via: dict[bytes, tuple[bytes, ...]]  # shortest path root .. subject
    unknown: dict[bytes, list[bytes]]  # unknown subject -> the artifacts that name it
    cycles: list[tuple[bytes, ...]]
    postorder: list[bytes]  # parents before children

    @property
    def ancestors(self) -> list[bytes]:
        return [s for s in self.order if s != self.root.subject]


def graph_of(lineage: Lineage) -> Graph:
    root = lineage.root_facts
    # breadth-first: shortest paths for messages, a stable order
    walked = walk(root.subject, lineage.artifacts.get, lambda _, facts: facts.derived_from())
    nodes: dict[bytes, ArtifactFacts] = dict(walked.found)
    order: list[bytes] = list(nodes)
    via: dict[bytes, tuple[bytes, ...]] = {s: walked.path(s) for s in walked.order}
    unknown: dict[bytes, list[bytes]] = {}
    edges: dict[bytes, list[bytes]] = {s: [] for s in nodes}
    for child, parent in walked.edges:
        edges[child].append(parent)
        if parent not in nodes:
            unknown.setdefault(parent, []).append(child)
    # depth-first, iteratively: find cycles, drop their closing edges, order parents first
    parents: dict[bytes, list[bytes]] = {s: [p for p in edges[s] if p in nodes] for s in nodes}
    cycles: list[tuple[bytes, ...]] = []
    postorder: list[bytes] = []
    state: dict[bytes, int] = {}  # 1 on the stack, 2 done
    stack: list[tuple[bytes, int]] = [(root.subject, 0)]
    path: list[bytes] = [root.subject]
    state[root.subject] = 1
    while stack:
        subject, index = stack.pop()
        if index < len(parents[subject]):
            stack.append((subject, index + 1))
            parent = parents[subject][index]
            if state.get(parent) == 1:
                cycles.append(tuple(path[path.index(parent):]) + (parent,))
                parents[subject] = [p for p in parents[subject] if p != parent]
                stack[-1] = (subject, index)  # the list shrank: same index is the next parent
            elif parent not in state:
                state[parent] = 1
                path.append(parent)
                stack.append((parent, 0))
        else:
            state[subject] = 2
            path.pop()
            postorder.append(subject)
    dag = {s: tuple(ps) for s, ps in parents.items()}
    for subject in edges:  # unknown parents stay, so rules can see them
        dag[subject] = dag[subject] + tuple(p for p in edges[subject] if p not in nodes)
    return Graph(root, nodes, order, dag, via, unknown, cycles, postorder)


def hex_of(subject: bytes) -> str:
    return "0x" + subject.hex()


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def utc_time(unix: int | None) -> str:
    if unix is None:
        return "an unknown time"
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def same_address(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


class Findings:
    """Collects the checks of one category; one OK line when nothing was found."""

    def __init__(self, graph: Graph, check: CheckName) -> None:
        self.graph = graph
        self.check = check
        self.checks: list[Check] = []

    def who(self, subject: bytes) -> str:
        """'this model' or 'ancestor dataset 0x12345678...abcd (via 0x...)'."""
        graph = self.graph
        facts = graph.nodes.get(subject)
        kind = facts.kind.name.lower() if facts else "artifact"
        if subject == graph.root.subject:
            return f"this {kind}"
        path = graph.via.get(subject, ())
        middle = path[1:-1]
        hops = f" (via {' -> '.join(short(s) for s in middle)})" if middle else ""
        label = "ancestor" if len(path) > 2 else "parent"
        return f"{label} {kind} {short(subject)}{hops}"

    def add(self, status: Status, code: Code, message: str, about: bytes | None = None, **evidence: Any) -> None:
        base: dict[str, Any] = {"subject": hex_of(self.graph.root.subject)}
        if about is not None and about != self.graph.root.subject:
            base["ancestor"] = hex_of(about)
            base["via"] = [hex_of(s) for s in self.graph.via.get(about, (about,))]
        base.update({k: v for k, v in evidence.items() if v is not None})
        self.checks.append(Check(self.check, status, code, cap(message), base))

    def done(self, ok_message: str, **evidence: Any) -> list[Check]:
        """The findings; led by one OK line when there are none (``info`` lines are no findings)."""
        if all(c.status is Status.INFO for c in self.checks):
            info, self.checks = self.checks, []
            self.add(Status.PASS, Code.OK, ok_message, **evidence)
            self.checks += info
        return self.checks


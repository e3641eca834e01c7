"""One breadth-first walk over an artifact's parents, for every caller that follows a lineage.

The verifier follows ancestors through its sources, the rules through the
facts they were given, the service's ``/v1/lineage`` route through the index;
they differ only in how a subject is looked up and what its parents are, so
they share :func:`walk`::

    found = walk(root, look_up, parents_of, max_depth=16, max_nodes=2_000)
    found.order        # every subject reached, breadth first, the root first
    found.found        # subject -> what look_up gave, for those it knew
    found.unknown      # the subjects look_up did not know (None)
    found.edges        # (child, parent) between reached subjects, in the order named
    found.truncated    # a limit left some parent out

Each subject is looked up once, when the walk reaches it, so a cycle ends
where it closes (its closing edge is still listed). ``max_depth`` counts
generations (the root is depth 0); ``max_nodes`` counts every subject reached,
known or not. A parent left out by a limit is neither in ``order`` nor in
``edges``, and ``truncated`` says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from provenance.errors import UsageError

__all__ = ["walk", "Walk"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Walk(Generic[K, V]):
    """What :func:`walk` reached from ``root``."""

    root: K
    order: tuple[K, ...]  # every subject reached, breadth first, the root first
    found: Mapping[K, V]  # the subjects look_up knew, in walk order
    depth: Mapping[K, int]  # generations from the root, for every subject reached
    edges: tuple[tuple[K, K], ...]  # (child, parent) between reached subjects, in the order named
    reached_from: Mapping[K, K]  # every reached subject but the root -> the child that first named it
    truncated: bool  # a depth or node limit left a parent out

    @property
    def unknown(self) -> tuple[K, ...]:
        """The reached subjects look_up did not know, in walk order."""
        return tuple(k for k in self.order if k not in self.found)

    def path(self, key: K) -> tuple[K, ...]:
        """The first path found from the root to ``key`` (a shortest one), both included."""
        path = [key]
        while path[-1] != self.root:
            path.append(self.reached_from[path[-1]])
        return tuple(reversed(path))


def walk(
    root: K,
    look_up: Callable[[K], V | None],
    parents_of: Callable[[K, V], Iterable[K]],
    *,
    max_depth: int | None = None,
    max_nodes: int | None = None,
) -> Walk[K, V]:
    """Breadth-first from ``root`` over ``parents_of(subject, look_up(subject))``.

    ``look_up`` gives None for a subject it does not know; such a subject is
    reached (and listed) but has no parents. A parent named twice by one child
    counts once.
    """
    if max_depth is not None and max_depth < 0:
        raise UsageError(f"max_depth must be >= 0, got {max_depth}")
    if max_nodes is not None and max_nodes < 1:
        raise UsageError(f"max_nodes must be >= 1, got {max_nodes}")
    depth: dict[K, int] = {root: 0}
    reached_from: dict[K, K] = {}
    order: list[K] = []
    found: dict[K, V] = {}
    edges: list[tuple[K, K]] = []
    truncated = False
    queue: deque[K] = deque([root])
    while queue:
        subject = queue.popleft()
        order.append(subject)
        value = look_up(subject)
        if value is None:
            continue
        found[subject] = value
        level = depth[subject] + 1
        for parent in dict.fromkeys(parents_of(subject, value)):
            if parent not in depth:
                if (max_depth is not None and level > max_depth) or (
                    max_nodes is not None and len(depth) >= max_nodes
                ):
                    truncated = True
                    continue
                depth[parent] = level
                reached_from[parent] = subject
                queue.append(parent)
            edges.append((subject, parent))
    return Walk(root, tuple(order), found, depth, tuple(edges), reached_from, truncated)

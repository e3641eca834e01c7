"""The shared breadth-first walk over parents (provenance.lineage.walk): cycles, limits, unknown parents."""

from __future__ import annotations

import pytest

from provenance.errors import UsageError
from provenance.lineage import walk


def _walk(graph: dict[str, list[str]], root: str = "a", **limits):
    """Walk a graph given as child -> parents; a name absent from it is unknown."""
    calls: list[str] = []

    def look_up(subject: str) -> list[str] | None:
        calls.append(subject)
        return graph.get(subject)

    return walk(root, look_up, lambda _, parents: parents, **limits), calls


def test_breadth_first_order_depths_edges_and_paths():
    graph = {"a": ["b", "c"], "b": ["d"], "c": ["d", "e"], "d": [], "e": ["f"], "f": []}
    walked, calls = _walk(graph)
    assert walked.order == ("a", "b", "c", "d", "e", "f") and calls == list(walked.order)
    assert dict(walked.depth) == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3}
    assert walked.edges == (("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("c", "e"), ("e", "f"))
    assert walked.path("a") == ("a",) and walked.path("d") == ("a", "b", "d")
    assert walked.path("f") == ("a", "c", "e", "f")
    assert walked.unknown == () and walked.truncated is False
    assert list(walked.found) == list(walked.order) and walked.found["c"] == ["d", "e"]


def test_a_cycle_is_walked_once_and_its_closing_edge_kept():
    walked, calls = _walk({"a": ["b"], "b": ["c"], "c": ["a", "b"]})
    assert walked.order == ("a", "b", "c") and calls == ["a", "b", "c"]
    assert walked.edges == (("a", "b"), ("b", "c"), ("c", "a"), ("c", "b"))
    assert walked.truncated is False  # a cycle is not a cut

    self_parent, _ = _walk({"a": ["a"]})
    assert self_parent.order == ("a",) and self_parent.edges == (("a", "a"),)


def test_unknown_parents_are_reached_listed_and_not_followed():
    walked, calls = _walk({"a": ["x", "b"], "b": ["x", "y"]})
    assert walked.order == ("a", "x", "b", "y") and calls == ["a", "x", "b", "y"]
    assert walked.unknown == ("x", "y") and set(walked.found) == {"a", "b"}
    assert walked.depth["y"] == 2 and walked.path("y") == ("a", "b", "y")
    assert ("b", "x") in walked.edges and ("b", "y") in walked.edges

    nothing, _ = _walk({}, root="z")
    assert nothing.order == ("z",) and nothing.found == {} and nothing.unknown == ("z",)


def test_a_parent_named_twice_by_one_child_counts_once():
    walked, _ = _walk({"a": ["b", "b", "c", "b"], "b": [], "c": []})
    assert walked.edges == (("a", "b"), ("a", "c"))


def test_the_depth_limit_cuts_and_says_so():
    graph = {"a": ["b"], "b": ["c"], "c": ["d"], "d": []}
    walked, calls = _walk(graph, max_depth=2)
    assert walked.order == ("a", "b", "c") and calls == ["a", "b", "c"]
    assert walked.edges == (("a", "b"), ("b", "c")) and walked.truncated is True  # no edge to the cut parent

    exact, _ = _walk(graph, max_depth=3)
    assert exact.order == ("a", "b", "c", "d") and exact.truncated is False

    only_root, _ = _walk(graph, max_depth=0)
    assert only_root.order == ("a",) and only_root.edges == () and only_root.truncated is True

    # at the last generation, an edge to a subject already reached is no cut
    back, _ = _walk({"a": ["b"], "b": ["a"]}, max_depth=1)
    assert back.edges == (("a", "b"), ("b", "a")) and back.truncated is False


def test_the_node_limit_counts_every_subject_reached_known_or_not():
    graph = {"a": ["x", "b", "c"], "b": ["d"], "c": [], "d": []}  # x unknown
    walked, calls = _walk(graph, max_nodes=3)
    assert walked.order == ("a", "x", "b") and calls == ["a", "x", "b"]
    assert walked.truncated is True and walked.edges == (("a", "x"), ("a", "b"))
    assert len(walked.order) <= 3

    roomy, _ = _walk(graph, max_nodes=5)
    assert roomy.order == ("a", "x", "b", "c", "d") and roomy.truncated is False

    with pytest.raises(UsageError):
        _walk(graph, max_nodes=0)
    with pytest.raises(UsageError):
        _walk(graph, max_depth=-1)


def test_a_long_chain_is_walked_without_recursion():
    graph = {str(i): [str(i + 1)] for i in range(5_000)}
    graph["5000"] = []
    walked, _ = _walk(graph, root="0")
    assert len(walked.order) == 5_001 and walked.depth["5000"] == 5_000
    assert len(walked.path("5000")) == 5_001

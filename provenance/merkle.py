"""The one Merkle construction used everywhere: OpenZeppelin's StandardMerkleTree.

A leaf is ``keccak256(keccak256(abi.encode(values)))`` and an inner node is the
keccak256 of its two children in sorted order, so every root and proof built
here is checked as is by OpenZeppelin's ``MerkleProof`` on chain and by
``@openzeppelin/merkle-tree`` off chain. Leaves are sorted by hash before the
tree is built (the library's default), which makes the root independent of the
order the leaves were given in.

Three leaf shapes are used:

* manifests: ``(string path, uint256 size, bytes32 sha256)`` — :func:`file_leaf`
* claims: ``(string field, bytes32 salt, bytes value)`` — :func:`claim_leaf`
* batches: ``(bytes32 recordId)`` — :func:`record_leaf`

The ABI encoding of these three fixed shapes is written out here rather than
taken from ``eth_abi``: importing ``eth_abi`` costs about 0.3 s, paid by every
``provenance hash``; the test vectors from ``@openzeppelin/merkle-tree`` keep the
two in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, islice

from provenance._keccak import keccak256
from provenance.errors import InvalidValue

__all__ = [
    "MerkleTree",
    "keccak256",
    "root_of_sorted",
    "file_leaf",
    "claim_leaf",
    "record_leaf",
    "verify",
]


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _dynamic(data: bytes) -> bytes:
    """ABI tail of a ``string`` or ``bytes``: length word then the data padded to 32 bytes."""
    padding = (-len(data)) % 32
    return _word(len(data)) + data + b"\0" * padding


def _bytes32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise InvalidValue(f"{what} must be 32 bytes, got {len(value)}")
    return value


def _leaf(encoded: bytes) -> bytes:
    return keccak256(keccak256(encoded))


def file_leaf(path: str, size: int, sha256: bytes) -> bytes:
    """Leaf of one manifest entry: ``abi.encode(string path, uint256 size, bytes32 sha256)``."""
    if size < 0:
        raise InvalidValue(f"file size must be >= 0, got {size}")
    encoded = _word(0x60) + _word(size) + _bytes32(sha256, "sha256") + _dynamic(path.encode("utf-8"))
    return _leaf(encoded)


def claim_leaf(field: str, salt: bytes, value: bytes) -> bytes:
    """Leaf of one salted claim: ``abi.encode(string field, bytes32 salt, bytes value)``."""
    field_tail = _dynamic(field.encode("utf-8"))
    head = _word(0x60) + _bytes32(salt, "salt") + _word(0x60 + len(field_tail))
    return _leaf(head + field_tail + _dynamic(value))


def record_leaf(record_id: bytes) -> bytes:
    """Leaf of one record in a batch: ``abi.encode(bytes32 recordId)``."""
    return _leaf(_bytes32(record_id, "recordId"))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak256(a + b if a < b else b + a)


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True when ``proof`` places ``leaf`` under ``root`` (OpenZeppelin ``MerkleProof.verify``)."""
    node = leaf
    for sibling in proof:
        node = _hash_pair(node, sibling)
    return node == root


_FOLD_CHUNK = 4096
"""Nodes folded at a time by :func:`root_of_sorted` (a list per level, rather than a call per node)."""


def root_of_sorted(leaves: Iterable[bytes], count: int) -> bytes:
    """``MerkleTree.from_leaves(leaves).root`` for ``count`` leaves given in sorted order, without the tree.

    Memory is a quarter of the leaves' at most, rather than every node: what a
    summary of 10^6 files needs. The layout is the tree's: in a heap of
    ``2n - 1`` nodes the last level holds the ``2n - 2^D`` smallest leaves,
    hashed in pairs; the level above holds the other leaves, then those pairs,
    ``2^(D-1)`` nodes in all, which fold pairwise up to the root.
    """
    if count < 1:
        raise InvalidValue("a Merkle tree needs at least one leaf")
    it = iter(leaves)
    if count == 1:
        return next(it)
    k = keccak256
    depth = (2 * count - 1).bit_length() - 1
    paired = 2 * count - (1 << depth)  # even
    pairs = bytearray()
    for start in range(0, paired, 2 * _FOLD_CHUNK):
        head = islice(it, min(2 * _FOLD_CHUNK, paired - start))
        pairs += b"".join([k(a + b if a < b else b + a) for a, b in zip(head, head, strict=True)])
    level = chain(islice(it, count - paired), (bytes(pairs[i : i + 32]) for i in range(0, len(pairs), 32)))
    width = 1 << (depth - 1)  # nodes on the level above the last: a power of two
    chunk = min(width, _FOLD_CHUNK)
    stack: list[tuple[int, bytes]] = []  # (height, root of a folded chunk or of several)
    for _ in range(width // chunk):
        nodes = list(islice(level, chunk))
        height = 0
        while len(nodes) > 1:
            pairwise = iter(nodes)
            nodes = [k(a + b if a < b else b + a) for a, b in zip(pairwise, pairwise, strict=True)]
            height += 1
        node = nodes[0]
        while stack and stack[-1][0] == height:
            node = _hash_pair(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
    if len(stack) != 1 or next(it, None) is not None:  # pragma: no cover - the count was wrong
        raise InvalidValue(f"root_of_sorted: expected {count} leaves")
    return stack[0][1]


@dataclass(frozen=True, eq=False)
class MerkleTree:
    """A built tree, laid out as StandardMerkleTree does: root at 0, leaves at the end.

    Build it with :meth:`from_leaves`; a tree needs at least one leaf.
    """

    nodes: tuple[bytes, ...]
    _positions: dict[bytes, int]

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MerkleTree:
        ordered = sorted(leaves)
        if not ordered:
            raise InvalidValue("a Merkle tree needs at least one leaf")
        count = len(ordered)
        nodes: list[bytes] = [b""] * (2 * count - 1)
        positions: dict[bytes, int] = {}
        for i, leaf in enumerate(ordered):
            index = len(nodes) - 1 - i
            nodes[index] = leaf
            positions.setdefault(leaf, index)
        for index in range(len(nodes) - 1 - count, -1, -1):
            nodes[index] = _hash_pair(nodes[2 * index + 1], nodes[2 * index + 2])
        return cls(tuple(nodes), positions)

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    @property
    def leaf_count(self) -> int:
        return (len(self.nodes) + 1) // 2

    def __contains__(self, leaf: object) -> bool:
        return leaf in self._positions

    def proof(self, leaf: bytes) -> list[bytes]:
        """The sibling hashes from ``leaf`` up to the root."""
        try:
            index = self._positions[leaf]
        except KeyError:
            raise InvalidValue(f"leaf 0x{leaf.hex()} is not in this tree") from None
        proof = []
        while index > 0:
            sibling = index + 1 if index % 2 else index - 1
            proof.append(self.nodes[sibling])
            index = (index - 1) // 2
        return proof

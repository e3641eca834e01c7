"""provenance.merkle against @openzeppelin/merkle-tree (StandardMerkleTree) vectors.

The vectors are produced on the fly by ``node tests/vectors/merkle_vectors.js``
for the three leaf shapes (file, claim, record), with single-leaf trees, odd
counts and awkward values (unicode, empty, long, big numbers).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from provenance.errors import ProvenanceError
from provenance.merkle import MerkleTree, claim_leaf, file_leaf, record_leaf, verify

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "vectors" / "merkle_vectors.js"

FILE = ["string", "uint256", "bytes32"]
CLAIM = ["string", "bytes32", "bytes"]
RECORD = ["bytes32"]


def h(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def file_values(n: int) -> list[tuple[str, int, bytes]]:
    names = ["model.safetensors", "config.json", "ünïcödé/名前.bin", "dir with space/a b", "empty", "a-b", "a/b"]
    out = []
    for i in range(n):
        name = names[i % len(names)] + ("" if i < len(names) else f".{i}")
        size = [0, 1, 31, 32, 33, 2**40, 2**64 + 1][i % 7]
        out.append((name, size, h(f"file{i}")))
    return out


def claim_values(n: int) -> list[tuple[str, bytes, bytes]]:
    fields = ["license", "copyright.holder", "privacy.pii", "training.data", "ünïcode.field"]
    blobs = [b"", b"Apache-2.0", b"x" * 32, b"y" * 33, "créé".encode() * 20]
    return [
        (fields[i % len(fields)] + (f".{i}" if i >= len(fields) else ""), h(f"salt{i}"), blobs[i % len(blobs)])
        for i in range(n)
    ]


def record_values(n: int) -> list[tuple[bytes]]:
    return [(h(f"record{i}"),) for i in range(n)]


def js_value(v):
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, int):
        return str(v)
    return v


GOLDEN_MANIFESTS = ("manifest_sample.json", "manifest_sharded.json")


def golden_manifest_values(name: str) -> list[tuple[str, int, bytes]]:
    data = json.loads((ROOT / "tests" / "golden" / name).read_text(encoding="utf-8"))
    out = []
    for f in data["files"]:
        path = f["path"] if "offset" not in f else f"{f['path']}:{f['offset']}:{f['offset'] + f['size']}"
        out.append((path, f["size"], bytes.fromhex(f["sha256"])))
    return out


CASES = []
for name in GOLDEN_MANIFESTS:
    CASES.append((name, FILE, golden_manifest_values(name), lambda v: file_leaf(*v)))
for n in (1, 2, 3, 4, 5, 7, 8, 13):
    CASES.append((f"file-{n}", FILE, file_values(n), lambda v: file_leaf(*v)))
    CASES.append((f"claim-{n}", CLAIM, claim_values(n), lambda v: claim_leaf(*v)))
    CASES.append((f"record-{n}", RECORD, record_values(n), lambda v: record_leaf(*v)))


@pytest.fixture(scope="module")
def vectors() -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    payload = {
        "cases": [
            {"name": name, "encoding": enc, "values": [[js_value(x) for x in v] for v in values]}
            for name, enc, values, _ in CASES
        ]
    }
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def hexs(items) -> list[str]:
    return ["0x" + x.hex() for x in items]


@pytest.mark.parametrize("name,encoding,values,leaf_of", CASES, ids=[c[0] for c in CASES])
def test_root_leaves_and_proofs_match_openzeppelin(vectors, name, encoding, values, leaf_of):
    expected = vectors[name]
    leaves = [leaf_of(v) for v in values]
    assert hexs(leaves) == expected["leaves"]
    tree = MerkleTree.from_leaves(leaves)
    assert "0x" + tree.root.hex() == expected["root"]
    assert tree.leaf_count == len(values)
    for leaf, proof in zip(leaves, expected["proofs"], strict=True):
        assert hexs(tree.proof(leaf)) == proof
        assert verify(tree.root, leaf, tree.proof(leaf))


@pytest.mark.parametrize("name", GOLDEN_MANIFESTS)
def test_golden_manifest_subjects_are_openzeppelin_roots(vectors, name):
    data = json.loads((ROOT / "tests" / "golden" / name).read_text(encoding="utf-8"))
    assert data["subject"] == vectors[name]["root"]


def test_root_does_not_depend_on_leaf_order():
    leaves = [file_leaf(*v) for v in file_values(9)]
    assert MerkleTree.from_leaves(leaves).root == MerkleTree.from_leaves(reversed(leaves)).root


def test_single_leaf_tree_root_is_the_leaf_and_proof_is_empty():
    leaf = record_leaf(h("only"))
    tree = MerkleTree.from_leaves([leaf])
    assert tree.root == leaf
    assert tree.proof(leaf) == []
    assert verify(tree.root, leaf, [])


def test_verify_rejects_wrong_proofs():
    leaves = [file_leaf(*v) for v in file_values(7)]
    tree = MerkleTree.from_leaves(leaves)
    leaf = leaves[3]
    proof = tree.proof(leaf)
    assert verify(tree.root, leaf, proof)
    # a tampered sibling, a missing step, an extra step, another leaf, another root
    tampered = list(proof)
    tampered[0] = bytes(32)
    assert not verify(tree.root, leaf, tampered)
    assert not verify(tree.root, leaf, proof[:-1])
    assert not verify(tree.root, leaf, proof + [bytes(32)])
    assert not verify(tree.root, file_leaf("other", 1, h("other")), proof)
    assert not verify(leaves[0], leaf, proof)
    assert not verify(tree.root, leaf, [])
    # the proof of another leaf does not prove this one
    assert not verify(tree.root, leaf, tree.proof(leaves[4]))


def test_tree_refuses_empty_and_unknown_leaves():
    with pytest.raises(ProvenanceError):
        MerkleTree.from_leaves([])
    tree = MerkleTree.from_leaves([record_leaf(h("a"))])
    with pytest.raises(ProvenanceError):
        tree.proof(record_leaf(h("b")))


def test_leaf_inputs_are_checked():
    with pytest.raises(ProvenanceError):
        file_leaf("a", -1, h("a"))
    with pytest.raises(ProvenanceError):
        file_leaf("a", 1, b"short")
    with pytest.raises(ProvenanceError):
        record_leaf(b"\0" * 31)

"""provenance.manifest: walking, hashing, refusals, shards, JSON, comparison.

Golden manifests live in tests/golden/; regenerate them on purpose with
``PROVENANCE_REGEN_GOLDEN=1 pytest tests/test_manifest.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
from pathlib import Path

import pytest

from provenance import _hashing, _hashworker
from provenance.errors import ManifestError, ProvenanceError
from provenance.manifest import DEFAULT_IGNORES, Manifest, ManifestEntry
from provenance.merkle import MerkleTree, file_leaf, verify

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("PROVENANCE_REGEN_GOLDEN") == "1"

SAMPLE = {
    "config.json": b'{"hidden_size": 8}\n',
    "model.safetensors": bytes(range(256)) * 1200,  # 300 KiB: the large-file path
    "empty": b"",
    "dir with space/file name.txt": b"spaces\n",
    "ünïcödé/名前.bin": "données\n".encode(),
    "nested/a/b/c/deep.txt": b"deep\n",
    "a-b": b"dash\n",
    "a/b": b"slash\n",
    "sub/provenance.json": b"not at the root: kept\n",
    ".cache/other/kept.txt": b"kept\n",
    # ignored by default
    ".git/HEAD": b"ref: refs/heads/main\n",
    ".cache/huggingface/download/x.lock": b"",
    "provenance.json": b"{}\n",
}


def make_sample(root: Path, files: dict[str, bytes] = SAMPLE) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with PROVENANCE_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file (PROVENANCE_REGEN_GOLDEN=1 to update)"
    )


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return make_sample(tmp_path / "artifact")


# ----------------------------------------------------------------- contents


def test_golden_manifest(sample):
    manifest = Manifest.from_path(sample)
    golden("manifest_sample.json", manifest.to_json())


def test_entries_are_sha256sum_of_each_file_sorted_by_utf8_path(sample):
    manifest = Manifest.from_path(sample)
    expected = {
        rel: data
        for rel, data in SAMPLE.items()
        if not any(rel == i or rel.startswith(i + "/") for i in DEFAULT_IGNORES)
    }
    assert [e.path for e in manifest.entries] == sorted(expected, key=lambda p: p.encode("utf-8"))
    for entry in manifest.entries:
        assert entry.sha256 == hashlib.sha256(expected[entry.path]).digest()
        assert entry.size == len(expected[entry.path])
        assert entry.offset is None
    assert manifest.file_count == len(expected)
    assert manifest.total_size == sum(len(d) for d in expected.values())
    # "a-b" sorts before "a/b" by bytes ('-' < '/')
    paths = [e.path for e in manifest.entries]
    assert paths.index("a-b") < paths.index("a/b")


def test_subject_is_the_merkle_root_of_file_leaves(sample):
    manifest = Manifest.from_path(sample)
    leaves = [file_leaf(e.path, e.size, e.sha256) for e in manifest.entries]
    assert manifest.subject == MerkleTree.from_leaves(leaves).root
    assert manifest.subject_hex == "0x" + manifest.subject.hex()


def test_inclusion_proof_of_one_file(sample):
    manifest = Manifest.from_path(sample)
    entry = manifest.entry("ünïcödé/名前.bin")
    proof = manifest.proof(entry.path)
    digest = hashlib.sha256("données\n".encode()).digest()
    assert verify(manifest.subject, file_leaf(entry.path, entry.size, digest), proof)
    assert not verify(manifest.subject, file_leaf(entry.path, entry.size, bytes(32)), proof)
    with pytest.raises(ManifestError, match="not in this manifest"):
        manifest.proof("nope")


def test_single_file_artifact_uses_the_file_name(sample):
    manifest = Manifest.from_path(sample / "config.json")
    assert [e.path for e in manifest.entries] == ["config.json"]
    assert manifest.entries[0].sha256 == hashlib.sha256(SAMPLE["config.json"]).digest()


def test_same_result_on_one_or_many_threads_and_many_small_files(tmp_path):
    files = {f"d{i % 7}/f{i:04d}": os.urandom(i % 300) for i in range(700)}
    files["big1"] = os.urandom(700_000)
    files["big2"] = os.urandom(300_000)
    root = make_sample(tmp_path / "many", files)
    one = Manifest.from_path(root, workers=1)
    many = Manifest.from_path(root, workers=4)
    assert one == many and one.subject == many.subject
    for entry in one.entries:
        assert entry.sha256 == hashlib.sha256(files[entry.path]).digest()


def test_custom_ignores_and_no_ignores(sample):
    everything = Manifest.from_path(sample, ignore=())
    assert "provenance.json" in everything and ".git/HEAD" in everything
    fewer = Manifest.from_path(sample, ignore=(*DEFAULT_IGNORES, "nested", "a/b"))
    assert "nested/a/b/c/deep.txt" not in fewer and "a/b" not in fewer and "a-b" in fewer


def test_progress_is_reported(sample):
    calls = {"start": None, "files": 0, "bytes": 0}

    class Recorder:
        def start(self, files, total_bytes):
            calls["start"] = (files, total_bytes)

        def advance(self, files, nbytes):
            calls["files"] += files
            calls["bytes"] += nbytes

    manifest = Manifest.from_path(sample, progress=Recorder())
    assert calls["start"] == (manifest.file_count, manifest.total_size)
    assert (calls["files"], calls["bytes"]) == calls["start"]


# ----------------------------------------------------------------- refusals


def test_empty_directory_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="contains no files"):
        Manifest.from_path(tmp_path / "empty")


def test_only_ignored_files_is_refused(tmp_path):
    root = make_sample(tmp_path / "a", {".git/HEAD": b"x", "provenance.json": b"{}"})
    with pytest.raises(ManifestError, match="contains no files"):
        Manifest.from_path(root)


def test_missing_path_is_named(tmp_path):
    with pytest.raises(ManifestError, match="nope: no such file or directory"):
        Manifest.from_path(tmp_path / "nope")


def test_symlinks_are_refused_by_name(sample):
    os.symlink("config.json", sample / "link.json")
    with pytest.raises(ManifestError, match=r"link\.json: is a symbolic link; refused") as err:
        Manifest.from_path(sample)
    assert err.value.hint


def test_symlinked_directory_is_refused(sample):
    os.symlink("nested", sample / "nested-link")
    with pytest.raises(ManifestError, match="nested-link: is a symbolic link"):
        Manifest.from_path(sample)


def test_symlinks_inside_the_root_are_followed_when_allowed(sample):
    os.symlink("config.json", sample / "link.json")
    os.symlink("nested/a", sample / "alias")
    manifest = Manifest.from_path(sample, allow_symlinks=True)
    assert manifest.entry("link.json").sha256 == manifest.entry("config.json").sha256
    assert manifest.entry("alias/b/c/deep.txt").sha256 == manifest.entry("nested/a/b/c/deep.txt").sha256


def test_symlinks_escaping_the_root_are_refused_even_when_allowed(sample, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    os.symlink(outside, sample / "escape")
    with pytest.raises(ManifestError, match="escape: is a symbolic link to .*outside the artifact"):
        Manifest.from_path(sample, allow_symlinks=True)


def test_symlink_loops_are_refused(sample):
    os.symlink("..", sample / "nested" / "up")
    with pytest.raises(ManifestError, match="nested/up: .*loop"):
        Manifest.from_path(sample, allow_symlinks=True)


def test_symlinked_root_is_refused_unless_allowed(sample, tmp_path):
    link = tmp_path / "root-link"
    os.symlink(sample, link)
    with pytest.raises(ManifestError, match="root-link: is a symbolic link"):
        Manifest.from_path(link)
    assert Manifest.from_path(link, allow_symlinks=True) == Manifest.from_path(sample)


def test_fifo_and_socket_are_refused_by_name(sample):
    os.mkfifo(sample / "pipe")
    with pytest.raises(ManifestError, match="pipe: is a FIFO"):
        Manifest.from_path(sample)
    os.unlink(sample / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sample / "sock"))
        with pytest.raises(ManifestError, match="sock: is a socket"):
            Manifest.from_path(sample)
    finally:
        sock.close()


def test_device_is_refused():
    with pytest.raises(ManifestError, match="/dev/null: is a device"):
        Manifest.from_path("/dev/null")


def test_non_utf8_name_is_refused(sample):
    fd = os.open(os.fsencode(sample) + b"/bad\xff.bin", os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    with pytest.raises(ManifestError, match="not valid UTF-8"):
        Manifest.from_path(sample)


def test_unreadable_file_is_named(sample, monkeypatch):
    target = str(sample / "config.json")
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if os.fspath(path) == target:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(_hashing.os, "open", refuse)
    with pytest.raises(ManifestError, match=r"config\.json: cannot be read \(Permission denied\)"):
        Manifest.from_path(sample)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_named_for_real(sample):
    path = sample / "config.json"
    path.chmod(0)
    try:
        with pytest.raises(ManifestError, match=r"config\.json: cannot be read"):
            Manifest.from_path(sample)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.parametrize("victim", ["config.json", "model.safetensors"])  # small and large paths
def test_file_changing_while_hashed_is_detected(sample, monkeypatch, victim):
    appended: list[bool] = []

    def append_once():
        if not appended:
            appended.append(True)
            with open(sample / victim, "ab") as f:
                f.write(b"appended while hashing")

    if victim == "config.json":  # the small files' path: after the read, before the check
        real_check = _hashing._check_after

        def write_then_check(fd, ref, read, expected):
            if ref.rel == victim:
                append_once()
            return real_check(fd, ref, read, expected)

        monkeypatch.setattr(_hashing, "_check_after", write_then_check)
    else:  # the large files' path (_hashworker.hash_piece, on a thread here): after the first read
        real_readv = os.readv

        def read_then_append(fd, buffers):
            n = real_readv(fd, buffers)
            append_once()
            return n

        monkeypatch.setattr(_hashworker.os, "readv", read_then_append)
    with pytest.raises(ManifestError, match=f"{victim}: changed while it was being hashed") as err:
        Manifest.from_path(sample)
    assert "again" in err.value.hint


def test_file_rewritten_in_place_with_same_size_is_detected(sample, monkeypatch):
    real_check = _hashing._check_after

    def rewrite_then_check(fd, ref, read, expected):
        if ref.rel == "config.json":
            path = sample / "config.json"
            data = path.read_bytes()
            path.write_bytes(data.upper())
            st = os.stat(path)
            os.utime(path, ns=(st.st_atime_ns, ref.mtime_ns + 1_000_000_000))
        return real_check(fd, ref, read, expected)

    monkeypatch.setattr(_hashing, "_check_after", rewrite_then_check)
    with pytest.raises(ManifestError, match="config.json: changed while it was being hashed.*modification time"):
        Manifest.from_path(sample)


def test_file_changed_between_listing_and_hashing_is_detected(sample, monkeypatch):
    real_walk = _hashing.walk

    def walk_then_truncate(*args, **kwargs):
        refs = real_walk(*args, **kwargs)
        (sample / "model.safetensors").write_bytes(b"short")
        return refs

    monkeypatch.setattr(_hashing, "walk", walk_then_truncate)
    with pytest.raises(ManifestError, match="model.safetensors: changed"):
        Manifest.from_path(sample)


def test_file_deleted_between_listing_and_hashing_is_named(sample, monkeypatch):
    real_walk = _hashing.walk

    def walk_then_delete(*args, **kwargs):
        refs = real_walk(*args, **kwargs)
        (sample / "a-b").unlink()
        return refs

    monkeypatch.setattr(_hashing, "walk", walk_then_delete)
    with pytest.raises(ManifestError, match="a-b: disappeared"):
        Manifest.from_path(sample)


# -------------------------------------------------------------------- shards


def test_shards_of_a_large_file(tmp_path):
    data = os.urandom(2500)
    root = make_sample(tmp_path / "s", {"big.bin": data, "small.txt": b"0123456789"})
    manifest = Manifest.from_path(root, shard_size=1000)
    assert manifest.shard_size == 1000
    assert [(e.path, e.offset, e.size) for e in manifest.entries] == [
        ("big.bin", 0, 1000),
        ("big.bin", 1000, 1000),
        ("big.bin", 2000, 500),
        ("small.txt", None, 10),
    ]
    assert [e.name for e in manifest.entries] == [
        "big.bin:0:1000",
        "big.bin:1000:2000",
        "big.bin:2000:2500",
        "small.txt",
    ]
    for e in manifest.entries[:3]:
        assert e.sha256 == hashlib.sha256(data[e.offset : e.offset + e.size]).digest()
    assert manifest.file_count == 2 and manifest.total_size == 2510
    leaf = file_leaf("big.bin:1000:2000", 1000, manifest.entries[1].sha256)
    assert verify(manifest.subject, leaf, manifest.proof("big.bin:1000:2000"))
    assert Manifest.from_json(manifest.to_json()) == manifest
    # another shard size, another subject; no file above it, no shards recorded
    assert Manifest.from_path(root, shard_size=999).subject != manifest.subject
    assert Manifest.from_path(root, shard_size=4096).shard_size is None
    golden_root = make_sample(tmp_path / "g", {"big.bin": bytes(range(250)) * 10, "small.txt": b"0123456789"})
    golden("manifest_sharded.json", Manifest.from_path(golden_root, shard_size=1000).to_json())


def test_shard_name_colliding_with_a_file_is_refused(tmp_path):
    root = make_sample(tmp_path / "c", {"big.bin": b"x" * 20, "big.bin:0:10": b"y"})
    with pytest.raises(ManifestError, match="appears twice"):
        Manifest.from_path(root, shard_size=10)


def test_bad_shard_size_is_refused(sample):
    with pytest.raises(ManifestError, match="shard size"):
        Manifest.from_path(sample, shard_size=0)


def test_invalid_shard_layouts_are_refused():
    d = hashlib.sha256(b"x").digest()
    with pytest.raises(ManifestError, match="shard_size"):
        Manifest.from_entries([ManifestEntry("a", 5, d, 0), ManifestEntry("a", 5, d, 5)])
    with pytest.raises(ManifestError, match="contiguous"):
        Manifest.from_entries([ManifestEntry("a", 5, d, 0), ManifestEntry("a", 5, d, 6)], shard_size=5)
    with pytest.raises(ManifestError, match="must be 5 bytes"):
        Manifest.from_entries([ManifestEntry("a", 4, d, 0), ManifestEntry("a", 5, d, 4)], shard_size=5)
    with pytest.raises(ManifestError, match="at least two shards"):
        Manifest.from_entries([ManifestEntry("a", 5, d, 0)], shard_size=5)


# ---------------------------------------------------------------------- JSON


def test_json_round_trip_and_format(sample):
    manifest = Manifest.from_path(sample)
    data = json.loads(manifest.to_json())
    assert list(data) == ["version", "subject", "file_count", "total_size", "shard_size", "files"]
    assert data["version"] == 1 and data["subject"] == manifest.subject_hex and data["shard_size"] is None
    first = manifest.entries[0]
    assert data["files"][0] == {"path": first.path, "size": first.size, "sha256": first.sha256.hex()}
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest and again.subject == manifest.subject
    assert Manifest.from_json(manifest.to_json().encode()) == manifest


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.update(version=2), "unsupported manifest version"),
        (lambda d: d.update(subject="0x" + "00" * 32), "does not match its files"),
        (lambda d: d.update(total_size=1), "total_size"),
        (lambda d: d["files"].reverse(), "sorted"),
        (lambda d: d["files"][0].update(sha256="zz" * 32), "not hex"),
        (lambda d: d["files"][0].update(sha256="ab"), "64 hex"),
        (lambda d: d["files"][0].update(size=-1), "size"),
        (lambda d: d["files"][0].update(path="../escape"), "normalized"),
        (lambda d: d["files"][0].update(path="/abs"), "normalized"),
        (lambda d: d["files"][0].update(extra=1), "unknown keys"),
        (lambda d: d.update(files=[]), "at least one file"),
        (lambda d: d["files"].append(dict(d["files"][-1])), "sorted"),
    ],
)
def test_from_json_refuses_invalid_manifests(sample, mutate, message):
    data = json.loads(Manifest.from_path(sample).to_json())
    mutate(data)
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(json.dumps(data))


def test_from_json_refuses_non_json():
    with pytest.raises(ManifestError, match="not valid JSON"):
        Manifest.from_json("{")
    with pytest.raises(ProvenanceError):
        Manifest.from_json("[]")


# ---------------------------------------------------------------- comparison


def test_check_lists_changed_missing_and_extra_files_in_hex(sample):
    manifest = Manifest.from_path(sample)
    assert manifest.check(sample).ok
    (sample / "config.json").write_bytes(b"{}")
    (sample / "a-b").unlink()
    (sample / "new.txt").write_text("new")
    diff = manifest.check(sample)
    assert not diff.ok
    assert [c.name for c in diff.changed] == ["config.json"]
    changed = diff.changed[0]
    assert changed.expected_sha256 == hashlib.sha256(SAMPLE["config.json"]).digest()
    assert changed.actual_sha256 == hashlib.sha256(b"{}").digest()
    assert diff.missing == ("a-b",) and diff.extra == ("new.txt",)
    lines = diff.lines()
    assert lines[0] == (
        f"changed config.json: expected sha256 {changed.expected_sha256.hex()}, "
        f"found {changed.actual_sha256.hex()} (size {len(SAMPLE['config.json'])} -> 2)"
    )
    assert "missing a-b" in lines and "extra new.txt" in lines
    assert diff.summary() == "1 changed, 1 missing, 1 extra"
    assert diff.to_dict()["changed"][0]["expected"]["sha256"] == changed.expected_sha256.hex()


def test_check_uses_the_manifest_shard_size(tmp_path):
    root = make_sample(tmp_path / "s", {"big.bin": os.urandom(3000)})
    manifest = Manifest.from_path(root, shard_size=1000)
    assert manifest.check(root).ok
    with open(root / "big.bin", "r+b") as f:
        f.seek(1500)
        f.write(b"!")
    diff = manifest.check(root)
    assert [c.name for c in diff.changed] == ["big.bin:1000:2000"]


# ------------------------------------------------------------ fast leaves


def test_fast_file_leaves_equal_merkle_file_leaf():
    import random

    rng = random.Random(7)
    items = []
    for i in range(_hashing.FAST_LEAVES_FROM + 200):
        name = "".join(rng.choice("abé名/ -_.") for _ in range(rng.randrange(1, 90)))
        size = rng.choice([0, 1, 31, 32, 33, 2**64 + 5, 2**256 - 1, rng.randrange(2**40)])
        items.append((name, size, hashlib.sha256(str(i).encode()).digest()))
    assert _hashing._load_keccak(), "the fast path should load here"
    assert _hashing.file_leaves(items) == [file_leaf(*item) for item in items]
    assert _hashing.file_leaves(items[:3]) == [file_leaf(*item) for item in items[:3]]
    assert _hashing.file_leaves([]) == []


def test_fast_file_leaves_fall_back_to_file_leaf(monkeypatch):
    import provenance._keccak

    monkeypatch.setattr(provenance._keccak, "_keccak_lib", False)
    items = [("a", i, hashlib.sha256(b"a").digest()) for i in range(_hashing.FAST_LEAVES_FROM)]
    assert _hashing.file_leaves(items) == [file_leaf(*item) for item in items]
    with pytest.raises(ProvenanceError):
        _hashing.file_leaves([("a", -1, bytes(32))])

"""Many small files (issue 14): worker processes hash them, with every check of the threads' path.

``_hashing.MANY_FILES`` is lowered so that small trees take the workers' path;
each test says which path it expects (``used_workers``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pty
import stat
import sys
import threading
import time
from pathlib import Path

import pytest

from provenance import _hashing, _hashworker
from provenance.errors import ManifestError
from provenance.manifest import Manifest, summarize
from provenance.merkle import MerkleTree, file_leaf, root_of_sorted

GOLDEN = Path(__file__).parent / "golden"

# the input of tests/golden/manifest_sample.json (tests/test_manifest.py SAMPLE)
SAMPLE = {
    "config.json": b'{"hidden_size": 8}\n',
    "model.safetensors": bytes(range(256)) * 1200,  # 300 KiB: handed back to the threads
    "empty": b"",
    "dir with space/file name.txt": b"spaces\n",
    "ünïcödé/名前.bin": "données\n".encode(),
    "nested/a/b/c/deep.txt": b"deep\n",
    "a-b": b"dash\n",
    "a/b": b"slash\n",
    "sub/provenance.json": b"not at the root: kept\n",
    ".cache/other/kept.txt": b"kept\n",
    ".git/HEAD": b"ref: refs/heads/main\n",
    ".cache/huggingface/download/x.lock": b"",
    "provenance.json": b"{}\n",
}


def make(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def many(n: int, *, seed: int = 0) -> dict[str, bytes]:
    rng = __import__("random").Random(seed)
    return {f"d{i % 13}/sub{i % 3}/f{i:05d}.txt": rng.randbytes(rng.randrange(0, 3000)) for i in range(n)}


@pytest.fixture
def workers_from_one(monkeypatch):
    """Every tree of a file or more takes the workers' path; records whether it did (None: it raised)."""
    monkeypatch.setattr(_hashing, "MANY_FILES", 1)
    used: list[bool] = []
    real = _hashing._ManyFiles.run

    def run(self, *args, **kwargs):
        used.append(None)  # entered; True or False once it returns (an error leaves None)
        used[-1] = done = real(self, *args, **kwargs)
        return done

    monkeypatch.setattr(_hashing._ManyFiles, "run", run)
    return used


def classic(root: Path, **kwargs) -> Manifest:
    return Manifest.from_path(root, workers=1, **kwargs)


# --------------------------------------------------------- the same output


def test_golden_sample_through_the_workers(tmp_path, workers_from_one):
    root = make(tmp_path / "artifact", SAMPLE)
    manifest = Manifest.from_path(root)
    assert workers_from_one == [True]
    assert manifest.to_json() == (GOLDEN / "manifest_sample.json").read_text(encoding="utf-8")
    summary = summarize(root)
    assert summary.subject == manifest.subject and workers_from_one == [True, True]
    assert (summary.file_count, summary.total_size, summary.entry_count, summary.shard_size) == (
        manifest.file_count, manifest.total_size, len(manifest.entries), None,
    )


def test_golden_sharded_through_the_workers(tmp_path, workers_from_one):
    root = make(tmp_path / "g", {"big.bin": bytes(range(250)) * 10, "small.txt": b"0123456789"})
    manifest = Manifest.from_path(root, shard_size=1000)
    assert workers_from_one == [True]
    assert manifest.to_json() == (GOLDEN / "manifest_sharded.json").read_text(encoding="utf-8")
    summary = summarize(root, shard_size=1000)
    assert (summary.subject, summary.entry_count, summary.shard_size) == (manifest.subject, 4, 1000)
    assert summarize(root, shard_size=4096).shard_size is None


def test_many_files_same_manifest_as_the_threads(tmp_path, monkeypatch):
    files = many(5000)
    files["big/one.bin"] = os.urandom(700_000)  # handed back by a worker, hashed by a thread
    files[".git/objects/x"] = b"ignored"
    files["keep/.git"] = b"not at the root: kept"
    root = make(tmp_path / "many", files)
    monkeypatch.setattr(_hashing, "MANY_FILES", 4096)
    expected = classic(root)
    assert len(expected.entries) == 5002
    fast = Manifest.from_path(root)
    assert fast == expected and fast.subject == expected.subject
    assert fast.tree.root == MerkleTree.from_leaves(e.leaf for e in fast.entries).root
    assert fast.proof("keep/.git") == expected.proof("keep/.git")
    for entry in fast.entries[:50]:
        assert entry.sha256 == hashlib.sha256(files[entry.path]).digest()
    summary = summarize(root)
    assert (summary.subject, summary.file_count, summary.total_size) == (
        expected.subject, expected.file_count, expected.total_size,
    )
    sharded = classic(root, shard_size=100_000)
    assert Manifest.from_path(root, shard_size=100_000) == sharded
    assert summarize(root, shard_size=100_000).subject == sharded.subject


def test_below_the_threshold_the_threads_hash(tmp_path):
    root = make(tmp_path / "few", many(50))
    assert _hashing.hash_many(
        str(root), ignore=(), shard_size=None, workers=None, progress=None, entry=lambda *a: a
    ) is None
    assert _hashing.hash_many(
        str(root), ignore=(), shard_size=None, workers=1, progress=None, entry=lambda *a: a
    ) is None


def test_progress_counts_every_file_and_byte(tmp_path, workers_from_one):
    files = many(600)
    files["big.bin"] = os.urandom(400_000)
    root = make(tmp_path / "p", files)
    seen = {"start": None, "files": 0, "bytes": 0}

    class Recorder:
        def start(self, files, total_bytes):
            assert seen["start"] is None, "start is called once"
            seen["start"] = (files, total_bytes)

        def advance(self, files, nbytes):
            assert seen["start"] is not None, "advance comes after start"
            seen["files"] += files
            seen["bytes"] += nbytes

    summary = summarize(root, progress=Recorder())
    assert workers_from_one == [True]
    assert seen["start"] == (601, -1)  # the bytes are not known before the files are read
    assert (seen["files"], seen["bytes"]) == (601, summary.total_size)


def test_root_of_sorted_is_the_tree_root():
    import provenance.merkle as merkle

    for count in [*range(1, 130), 1000, 4095, 4096, 4097, 9000]:
        leaves = [os.urandom(32) for _ in range(count)]
        assert root_of_sorted(sorted(leaves), count) == MerkleTree.from_leaves(leaves).root, count
    small_chunk = merkle._FOLD_CHUNK
    try:
        merkle._FOLD_CHUNK = 2
        for count in range(1, 70):
            leaves = [os.urandom(32) for _ in range(count)]
            assert root_of_sorted(sorted(leaves), count) == MerkleTree.from_leaves(leaves).root, count
    finally:
        merkle._FOLD_CHUNK = small_chunk


def test_workers_leaf_is_file_leaf():
    keccak = _hashworker.load_keccak(os.path.dirname(sys.modules["sha3"].__file__))
    assert keccak is not None
    for name in ["a", "ünï/名前.bin", "x" * 31, "y" * 32, "z" * 33, "d/" + "w" * 200]:
        for size in (0, 1, 255, 2**40):
            digest = os.urandom(32)
            path = name.encode("utf-8")
            n = len(path)
            encoded = _hashworker._HEAD + size.to_bytes(32, "big") + digest + n.to_bytes(32, "big") + path
            encoded += _hashworker._PADS[n & 31]
            assert keccak(keccak(encoded).digest()).digest() == file_leaf(name, size, digest)


# ---------------------------------- what the workers' path hands to walk


@pytest.mark.parametrize(
    ("setup", "message", "kwargs"),
    [
        (lambda r: os.symlink("d0/sub0/f00000.txt", r / "link.txt"), r"link\.txt: is a symbolic link; refused", {}),
        (lambda r: os.symlink("d0", r / "dlink"), "dlink: is a symbolic link", {}),
        (lambda r: os.mkfifo(r / "d1" / "pipe"), "pipe: is a FIFO", {}),
        (lambda r: os.close(os.open(os.fsencode(r) + b"/bad\xff.bin", os.O_CREAT | os.O_WRONLY, 0o644)),
         "not valid UTF-8", {}),
        (lambda r: os.symlink("/etc/hostname", r / "escape"), "escape: is a symbolic link to .*outside",
         {"allow_symlinks": True}),
    ],
)
def test_what_walk_refuses_is_refused_with_its_message(tmp_path, workers_from_one, setup, message, kwargs):
    root = make(tmp_path / "t", many(40))
    setup(root)
    with pytest.raises(ManifestError, match=message):
        Manifest.from_path(root, **kwargs)
    with pytest.raises(ManifestError, match=message):
        summarize(root, **kwargs)
    assert workers_from_one and not any(workers_from_one)  # given up: walk decided


def test_links_inside_are_followed_by_walk_when_allowed(tmp_path, workers_from_one):
    root = make(tmp_path / "t", many(40))
    os.symlink("d0/sub0/f00000.txt", root / "link.txt")
    manifest = Manifest.from_path(root, allow_symlinks=True)
    assert manifest.entry("link.txt").sha256 == manifest.entry("d0/sub0/f00000.txt").sha256
    assert summarize(root, allow_symlinks=True).subject == manifest.subject
    assert workers_from_one and not any(workers_from_one)


# ------------------------------------------- changes the workers detect
#
# The listing is wrapped so that a file changes after it was listed and before a
# worker opens it: the real worker processes see the change.


def _after_listing(monkeypatch, change) -> list:
    """``change()`` runs once the tree is listed, before any batch is sent; the batches listed (in the order
    they are sent) are returned, filled by then."""
    real = _hashing._plain_listing
    listed: list = []

    def listing(*args):
        batches = list(real(*args))
        if not listed:
            listed.extend(batches)
            change()
        yield from batches

    monkeypatch.setattr(_hashing, "_plain_listing", listing)
    return listed


def test_file_deleted_after_listing_is_named(tmp_path, workers_from_one, monkeypatch):
    root = make(tmp_path / "t", many(40))
    _after_listing(monkeypatch, lambda: (root / "d5/sub2/f00005.txt").unlink())
    with pytest.raises(ManifestError, match=r"d5/sub2/f00005\.txt: disappeared before it could be hashed"):
        summarize(root)
    assert workers_from_one == [None]  # the error came from the workers' path


def test_a_failure_that_leaves_nothing_in_flight_ends_the_run(tmp_path, monkeypatch):
    # one worker, one batch at a time: the failing batch's answer is the last in flight while batches wait
    # (with two workers this happens when both answers come in one read: a hang seen 1 run in 12)
    root = make(tmp_path / "t", many(40))
    # the first file of the first batch sent goes (the order of directories is the filesystem's)
    listed = _after_listing(monkeypatch, lambda: os.unlink(os.path.join(listed[0][0], listed[0][3][0])))
    monkeypatch.setattr(_hashing, "WORKER_QUEUE", 1)
    monkeypatch.setattr(_hashing, "MANY_FILES", 1)
    st = os.lstat(root)
    run = _hashing._ManyFiles("manifest", _hashing._limit(None), 1, None)
    outcome: list[BaseException | bool] = []

    def hash_it() -> None:
        try:
            outcome.append(run.run(str(root), (st.st_dev, st.st_ino), frozenset(), lambda *args: 0))
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=hash_it, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the run waited for an answer no worker owed"
    assert len(run.batches) > 1  # batches were still queued when the failure came
    assert isinstance(outcome[0], ManifestError) and listed[0][3][0] in str(outcome[0])


def test_file_replaced_by_a_fifo_after_listing_is_named_and_nothing_blocks(tmp_path, workers_from_one, monkeypatch):
    root = make(tmp_path / "t", many(40))
    victim = root / "d5/sub2/f00005.txt"

    def to_fifo():
        victim.unlink()
        os.mkfifo(victim)

    _after_listing(monkeypatch, to_fifo)
    with pytest.raises(ManifestError, match=r"f00005\.txt: changed while it was being hashed \(it was replaced"):
        Manifest.from_path(root)


def test_file_replaced_by_a_link_after_listing_is_not_followed(tmp_path, workers_from_one, monkeypatch):
    root = make(tmp_path / "t", many(40))
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside")
    victim = root / "d5/sub2/f00005.txt"

    def to_link():
        victim.unlink()
        os.symlink(secret, victim)

    _after_listing(monkeypatch, to_link)
    with pytest.raises(ManifestError, match=r"f00005\.txt: cannot be read \(Too many levels of symbolic links\)"):
        summarize(root)


def test_directory_replaced_after_listing_is_named(tmp_path, workers_from_one, monkeypatch):
    root = make(tmp_path / "t", many(40))
    other = make(tmp_path / "other", {f"sub{i}/f{j:05d}.txt": b"other" for i in range(3) for j in range(40)})

    def swap():
        (root / "d5").rename(tmp_path / "old-d5")
        os.symlink(other, root / "d5")  # the same names, elsewhere

    _after_listing(monkeypatch, swap)
    with pytest.raises(ManifestError, match="d5/sub.: changed while it was being hashed .*another directory"):
        Manifest.from_path(root)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_named(tmp_path, workers_from_one):
    root = make(tmp_path / "t", many(40))
    (root / "d5/sub2/f00005.txt").chmod(0)
    try:
        with pytest.raises(ManifestError, match=r"f00005\.txt: cannot be read"):
            summarize(root)
    finally:
        (root / "d5/sub2/f00005.txt").chmod(stat.S_IRUSR | stat.S_IWUSR)


# In the worker itself (in this process), where a test can act between its system calls.


def _batch(root: Path, directory: str) -> tuple[bytes, tuple[int, int], bytes, list[bytes]]:
    path = root / directory
    st = os.lstat(path)
    names = sorted(os.listdir(path))
    return os.fsencode(path), (st.st_dev, st.st_ino), (directory + "/").encode(), [n.encode() for n in names]


def test_worker_detects_a_file_growing_while_read(tmp_path, monkeypatch):
    root = make(tmp_path / "t", {"d/a.txt": b"a" * 100, "d/b.txt": b"b" * 100})
    real_read = os.read

    def read_then_append(fd, n):
        data = real_read(fd, n)
        if data.startswith(b"b"):
            with open(root / "d/b.txt", "ab") as f:
                f.write(b"more")
        return data

    monkeypatch.setattr(_hashworker.os, "read", read_then_append)
    with pytest.raises(_hashworker.Failure) as err:
        _hashworker.hash_batch(*_batch(root, "d"), 1 << 18, None)
    assert (err.value.index, err.value.kind, err.value.text) == (1, "changed", "size 100 became 104")


def test_worker_detects_a_same_size_rewrite(tmp_path, monkeypatch):
    root = make(tmp_path / "t", {"d/a.txt": b"a" * 100})
    real_read = os.read

    def read_then_rewrite(fd, n):
        data = real_read(fd, n)
        path = root / "d/a.txt"
        before = os.stat(path)
        path.write_bytes(b"A" * 100)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        return data

    monkeypatch.setattr(_hashworker.os, "read", read_then_rewrite)
    with pytest.raises(_hashworker.Failure) as err:
        _hashworker.hash_batch(*_batch(root, "d"), 1 << 18, None)
    assert (err.value.kind, err.value.text) == ("changed", "its modification time changed")


def test_worker_reads_on_after_a_short_read(tmp_path, monkeypatch):
    root = make(tmp_path / "t", {"d/a.txt": b"0123456789" * 10})
    real_read = os.read
    monkeypatch.setattr(_hashworker.os, "read", lambda fd, n: real_read(fd, min(n, 7)))
    sizes, digests, _leaves, back = _hashworker.hash_batch(*_batch(root, "d"), 1 << 18, None)
    assert sizes == [100] and back == []
    assert digests == hashlib.sha256(b"0123456789" * 10).digest()


def test_worker_hands_back_large_files_with_what_fstat_said(tmp_path):
    root = make(tmp_path / "t", {"d/big": b"x" * 5000, "d/small": b"y"})
    sizes, digests, _leaves, back = _hashworker.hash_batch(*_batch(root, "d"), 4096, None)
    st = os.stat(root / "d/big")
    assert back == [(0, 5000, st.st_mtime_ns, st.st_ino, st.st_dev)]
    assert sizes == [1] and digests == hashlib.sha256(b"y").digest()


def test_a_worker_that_dies_is_an_error_or_a_fresh_start_never_a_wrong_subject(tmp_path, monkeypatch):
    root = make(tmp_path / "t", many(300))
    expected = classic(root).subject
    fake = tmp_path / "dies.py"
    fake.write_text("import sys\nsys.stdout.buffer.write(b'L')\nsys.stdout.flush()\nsys.stdin.buffer.read(10)\n")
    monkeypatch.setattr(_hashing, "_WORKER", (str(fake),))
    monkeypatch.setattr(_hashing, "MANY_FILES", 1)
    try:
        assert summarize(root).subject == expected  # died while listing: walk and the threads started over
    except ManifestError as err:
        assert "ended unexpectedly" in str(err)


def test_the_workers_error_wording_is_the_threads(tmp_path):
    assert str(_hashing._failure("a/b", "gone")) == "a/b: disappeared before it could be hashed"
    assert _hashing._failure("a/b", "open", "Permission denied").hint == "check its permissions"
    changed = _hashing._failure("a/b", "changed", "size 1 became 2")
    assert str(changed) == "a/b: changed while it was being hashed (size 1 became 2)"


# ---------------------------------------------------------------- progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_shows_files_bytes_rate_and_time_left(monkeypatch):
    from cli.terminal import ProgressBar

    bar = ProgressBar(stream=FakeTTY(), delay=0.0)
    bar.start(1000, -1)  # many small files: bytes unknown before reading
    monkeypatch.setattr(bar, "_started", time.monotonic() - 2.0)
    bar.advance(250, 5 << 20)
    line = bar.line()
    assert "25.0%" in line and "250/1000 files" in line and "5.00 MiB" in line
    assert "files/s" in line and "/s" in line
    assert "0:06 left" in line  # 2 s for a quarter: 6 s more
    bar = ProgressBar(stream=FakeTTY(), delay=0.0)
    bar.start(2, 4 << 30)
    monkeypatch.setattr(bar, "_started", time.monotonic() - 10.0)
    bar.advance(1, 1 << 30)
    line = bar.line()
    assert "25.0%" in line and "1.00 GiB/4.00 GiB" in line and "0:30 left" in line


def test_command_bar_needs_both_terminals_and_no_json(monkeypatch):
    from cli import terminal

    monkeypatch.setattr(terminal.sys, "stdout", FakeTTY())
    monkeypatch.setattr(terminal.sys, "stderr", FakeTTY())
    assert terminal.ProgressBar.for_command("hashing").enabled
    assert not terminal.ProgressBar.for_command("hashing", json=True).enabled
    monkeypatch.setattr(terminal.sys, "stdout", io.StringIO())  # output to a pipe or a file
    assert not terminal.ProgressBar.for_command("hashing").enabled
    monkeypatch.setattr(terminal.sys, "stdout", FakeTTY())
    monkeypatch.setattr(terminal.sys, "stderr", io.StringIO())
    assert not terminal.ProgressBar.for_command("hashing").enabled


def _on_a_pty(monkeypatch, argv: list[str]) -> tuple[int, str]:
    """Run the CLI in this process with stdout and stderr on a real pseudo-terminal; what it showed."""
    from cli import terminal
    from cli.main import main

    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read_all() -> None:  # until every copy of the slave side is closed (EIO)
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    out = os.fdopen(os.dup(slave), "w", buffering=1, encoding="utf-8")
    err = os.fdopen(os.dup(slave), "w", buffering=1, encoding="utf-8")
    os.close(slave)
    real_init = terminal.ProgressBar.__init__

    def no_delay(self, *args, **kwargs):
        real_init(self, *args, **{**kwargs, "delay": 0.0})

    monkeypatch.setattr(terminal.ProgressBar, "__init__", no_delay)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    try:
        code = main(argv)
    finally:
        out.flush()
        err.flush()
        out.close()
        err.close()
    reader.join(timeout=10)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def _slow_hashing(monkeypatch):
    """Hashing that lasts long enough for the bar to be drawn (0.1 s between frames)."""
    real = _hashing.hash_files

    def slow(refs, **kwargs):
        progress = kwargs.get("progress")
        if progress is not None:
            progress(0, 1)
        time.sleep(0.35)
        return real(refs, **kwargs)

    monkeypatch.setattr(_hashing, "hash_files", slow)


def test_hash_on_a_terminal_draws_the_bar_and_json_does_not(tmp_path, monkeypatch):
    root = make(tmp_path / "t", many(30))
    _slow_hashing(monkeypatch)
    code, shown = _on_a_pty(monkeypatch, ["hash", str(root)])
    assert code == 0
    assert "hashing [" in shown and "files" in shown and "left" in shown
    assert "\r\x1b[K" in shown  # cleared before the result
    assert "subject  0x" in shown
    code, shown = _on_a_pty(monkeypatch, ["hash", str(root), "--json"])
    assert code == 0
    assert "hashing [" not in shown and "\x1b[K" not in shown
    assert json.loads(shown.replace("\r\n", "\n"))["file_count"] == 30


def test_hash_in_pipes_shows_no_bar(tmp_path):
    root = make(tmp_path / "t", many(30))
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "hash", str(root)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=60, check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("subject  0x")


def test_verify_path_hands_its_progress_to_the_hashing(tmp_path, monkeypatch):
    from provenance import verifier as verifier_module

    root = make(tmp_path / "t", many(5))
    seen = []

    class Stop(Exception):
        pass

    def from_path(path, **kwargs):
        seen.append(kwargs.get("progress"))
        raise Stop

    monkeypatch.setattr(verifier_module.Manifest, "from_path", staticmethod(from_path))
    verifier = verifier_module.Verifier(None, None, None, sync=False, head=0)
    marker = object()
    with pytest.raises(Stop):
        verifier.verify_path(root, progress=marker)
    assert seen == [marker]


class _InProcessTail:
    """``_hashing._Tail`` with the workers' fold run here, on the parts it would have sent them."""

    def __init__(self, count: int, leaves: list[bytes]):
        self.count = count
        self.parts: list[list[bytes]] = [[] for _ in range(count)]
        self.by_first = {first: sorted(leaf for leaf in leaves if leaf[0] == first) for first in range(256)}

    def group(self, first):
        return [b"".join(self.by_first[first])]

    def send(self, index, kind, data=b""):
        self.parts[index].append(_hashworker.FOLD_HEAD.pack(kind, len(data)) + data)

    def roots(self):
        keccak = _hashworker.load_keccak(os.path.dirname(sys.modules["sha3"].__file__))
        return [_hashworker._fold_segment(io.BytesIO(b"".join(parts)), keccak) for parts in self.parts]


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_fold_shared_out_between_workers_is_the_tree_root(monkeypatch, workers):
    monkeypatch.setattr(_hashworker, "FOLD_CHUNK", 4)  # many chunks per segment
    for count in [2, 3, 5, 8, 9, 31, 64, 65, 100, 257, 1000]:
        leaves = [os.urandom(32) for _ in range(count)]
        tail = _InProcessTail(workers, leaves)

        def merged(first, tail=tail):
            return [run[i : i + 32] for run in tail.group(first) for i in range(0, len(run), 32)]

        assert _hashing._fold_in_workers(tail, merged, count) == MerkleTree.from_leaves(leaves).root, count

"""Large files hashed by ``_hashworker`` processes (mode ``pieces``): the same manifest as the threads, the
same checks and wording, and no process left behind whatever happens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance import _hashing, _hashworker
from provenance.errors import ManifestError
from provenance.manifest import Manifest

BIG = 3 * _hashing.SMALL_FILE  # above SMALL_FILE: a task for the workers


@pytest.fixture
def in_processes(monkeypatch):
    """Large files go to the worker processes whatever their total; records every worker started."""
    monkeypatch.setattr(_hashing, "PROCESSES_FROM", 0)
    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    class Recorded(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "pieces" in args[0]:
                started.append(self)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    return started


def in_threads(monkeypatch) -> None:
    monkeypatch.setattr(_hashing, "PROCESSES_FROM", 1 << 62)


def tree(root: Path, sizes: dict[str, int]) -> Path:
    root.mkdir()
    for name, size in sizes.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    return root


SHRUNK = 2 * BIG + 1
SIZES = {"a.bin": BIG, "b/c.bin": BIG + 12345, "b/d.bin": SHRUNK, "small.txt": 100, "e.json": 5000}


@pytest.mark.parametrize("shard_size", [None, BIG // 2 + 7])
def test_the_same_manifest_as_the_threads(tmp_path, monkeypatch, in_processes, shard_size):
    root = tree(tmp_path / "m", SIZES)
    by_processes = Manifest.from_path(root, shard_size=shard_size)
    assert len(in_processes) == _hashing.usable_cores() + 1 and all(p.returncode == 0 for p in in_processes)
    in_threads(monkeypatch)
    by_threads = Manifest.from_path(root, shard_size=shard_size)
    assert by_processes.entries == by_threads.entries and by_processes.subject == by_threads.subject
    assert len(by_processes.entries) > len(SIZES) if shard_size else len(by_processes.entries) == len(SIZES)


def test_progress_counts_every_file_and_byte(tmp_path, in_processes):
    root = tree(tmp_path / "m", {**SIZES, "huge.bin": 20 << 20})  # one progress step (16 MiB) within the file

    class Count:
        files = nbytes = calls = 0

        def start(self, files, total):
            self.total = (files, total)

        def advance(self, files, nbytes):
            self.files += files
            self.nbytes += nbytes
            self.calls += 1

    count = Count()
    Manifest.from_path(root, progress=count)
    assert (count.files, count.nbytes) == count.total == (len(SIZES) + 1, sum(SIZES.values()) + (20 << 20))
    # the small files once, each large file at its end, and the huge one at its step too
    assert count.calls == 1 + 4 + 1


SWAPS = [
    ("shrunk", "b/d.bin", lambda p: os.truncate(p, 10),
     rf"b/d.bin: changed while it was being hashed \(size {SHRUNK} became 10\)"),
    ("deleted", "a.bin", lambda p: p.unlink(), "a.bin: disappeared before it could be hashed"),
    ("link", "a.bin", lambda p: (p.unlink(), p.symlink_to(p.with_name("b"))), r"a.bin: cannot be read \("),
    ("fifo", "a.bin", lambda p: (p.unlink(), os.mkfifo(p)), r"a.bin: changed while it was being hashed \("),
]


@pytest.mark.parametrize("hashed_by", ["processes", "threads"])  # one message whoever hashed
@pytest.mark.parametrize(("victim", "swap", "message"), [s[1:] for s in SWAPS], ids=[s[0] for s in SWAPS])
def test_a_file_changed_after_the_listing_is_named_and_nothing_blocks(tmp_path, monkeypatch, in_processes,
                                                                      hashed_by, victim, swap, message):
    if hashed_by == "threads":
        in_threads(monkeypatch)
    root = tree(tmp_path / "m", SIZES)
    real_walk = _hashing.walk

    def walk_then_swap(*args, **kwargs):
        refs = real_walk(*args, **kwargs)
        swap(root / victim)
        return refs

    monkeypatch.setattr(_hashing, "walk", walk_then_swap)
    with pytest.raises(ManifestError, match=message):
        Manifest.from_path(root)
    if hashed_by == "processes":
        assert in_processes and all(p.returncode is not None for p in in_processes)  # every worker ended
    else:
        assert in_processes == []


def test_a_file_growing_while_read_is_seen_by_the_worker(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(BIG))
    st = path.stat()
    real_readv = os.readv
    appended = []

    def read_then_append(fd, buffers):
        n = real_readv(fd, buffers)
        if not appended:
            appended.append(True)
            with open(path, "ab") as handle:
                handle.write(b"more")
        return n

    monkeypatch.setattr(_hashworker.os, "readv", read_then_append)
    with pytest.raises(_hashworker.Failure) as err:
        _hashworker.hash_piece(os.fsencode(path), _hashworker.WHOLE, st.st_size,
                               (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev), lambda nbytes: None)
    assert err.value.kind == "changed" and "became" in err.value.text


def test_a_piece_is_the_sha256_of_its_bytes(tmp_path):
    import hashlib

    data = os.urandom(BIG)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    st = path.stat()
    seen = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
    reported: list[int] = []
    digest, pending = _hashworker.hash_piece(os.fsencode(path), 1000, 5000, seen, reported.append)
    assert (digest, pending, reported) == (hashlib.sha256(data[1000:6000]).digest(), 5000, [])


def test_a_worker_runs_the_packages_own_module_from_its_cached_bytecode():
    # a script is compiled afresh at every start; a module imported is read from __pycache__
    import importlib.util
    import py_compile

    cached = py_compile.compile(_hashworker.__file__, doraise=True)  # as an import by the parent leaves it
    assert cached == importlib.util.cache_from_source(_hashworker.__file__)
    done = subprocess.run([*_hashing._python(), "-v", *_hashing._WORKER, "pieces"], input=b"",
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"code object from '{cached}'".encode() in done.stderr


def test_a_worker_writes_no_bytecode_where_its_parent_would_not(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert "-B" in _hashing._python()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert "-B" not in _hashing._python()


def test_a_worker_that_dies_mid_file_is_an_error_naming_the_file(tmp_path, monkeypatch, in_processes):
    dying = tmp_path / "dying.py"
    dying.write_text("import sys\nsys.stdin.buffer.read(8)\nsys.exit(7)\n")
    monkeypatch.setattr(_hashing, "_WORKER", (str(dying),))
    root = tree(tmp_path / "m", {"only.bin": BIG})
    with pytest.raises(ManifestError, match=r"only.bin: cannot be read \(its hashing process ended \(exit status 7\)"):
        Manifest.from_path(root)


def test_without_an_interpreter_to_start_the_threads_hash(tmp_path, monkeypatch, in_processes):
    root = tree(tmp_path / "m", SIZES)
    in_threads(monkeypatch)
    expected = Manifest.from_path(root)
    monkeypatch.setattr(_hashing, "PROCESSES_FROM", 0)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    assert Manifest.from_path(root).subject == expected.subject
    assert in_processes == []


def test_small_work_stays_on_the_threads(tmp_path, in_processes, monkeypatch):
    monkeypatch.setattr(_hashing, "PROCESSES_FROM", 64 << 20)
    Manifest.from_path(tree(tmp_path / "m", SIZES))
    assert in_processes == []


def test_workers_started_early_are_taken_by_the_next_hashing(tmp_path, in_processes, monkeypatch):
    root = tree(tmp_path / "m", {"one.bin": BIG, "two.bin": BIG + 1, "small.txt": 10})  # two large files
    _hashing.start_workers()
    early = list(in_processes)
    assert len(early) == _hashing.usable_cores() + 1
    manifest = Manifest.from_path(root)
    assert in_processes == early  # no other worker was started
    assert all(p.returncode is not None for p in early)  # the one not needed was ended too
    assert _hashing._early == []
    in_threads(monkeypatch)
    assert Manifest.from_path(root).subject == manifest.subject


def test_workers_started_early_end_when_the_threads_hash(tmp_path, in_processes, monkeypatch):
    _hashing.start_workers()
    early = list(in_processes)
    in_threads(monkeypatch)
    Manifest.from_path(tree(tmp_path / "m", SIZES))
    assert early and all(p.returncode is not None for p in early) and _hashing._early == []


def test_workers_started_early_end_when_a_tree_of_many_files_takes_its_own(tmp_path, in_processes, monkeypatch):
    monkeypatch.setattr(_hashing, "MANY_FILES", 2)
    _hashing.start_workers()
    early = list(in_processes)
    Manifest.from_path(tree(tmp_path / "m", {"a.txt": 10, "b.txt": 20, "c.txt": 30}))
    assert early and all(p.returncode is not None for p in early) and _hashing._early == []

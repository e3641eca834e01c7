"""Private machinery behind :meth:`provenance.manifest.Manifest.from_path`.

Two steps:

1. :func:`walk` lists the regular files of an artifact with one ``lstat`` each
   (``os.scandir``), refusing symlinks (unless allowed and inside the root),
   devices, FIFOs, sockets and names that are not UTF-8, and skipping ignored
   paths.
2. :func:`hash_files` computes SHA-256 digests on a thread pool sized to the
   usable cores. ``hashlib`` and ``os.readv`` release the GIL, so large files
   hash in parallel at the speed of the CPU's SHA-256. Work is ordered largest
   first (so two 1 GiB files on two cores finish together), small files are
   batched per task (per-file overhead dominates a tree of many small files).

Reads go through a reused 64 KiB buffer per thread: larger buffers fall out of
the CPU cache between the kernel's copy and the hash, which measured slower
here; ``mmap`` would avoid the copy but a file truncated while mapped kills the
process with SIGBUS instead of giving an error naming the file. Memory is flat:
one buffer per thread whatever the file sizes.

A file is checked against the size, mtime and inode seen by the walk after it
has been read: a file that changed between listing and hashing, or while it was
hashed, raises :class:`~provenance.errors.ManifestError` naming it.
"""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from hashlib import sha256
from typing import Callable, Iterable, Sequence

from provenance.errors import ManifestError

READ_SIZE = 64 * 1024
"""Bytes per read: the buffer stays in the CPU cache between copy and hash."""

SMALL_FILE = 256 * 1024
"""Files up to this size are read with a single ``read`` and batched per task."""

BATCH_FILES = 256
BATCH_BYTES = 16 * 1024 * 1024
PROGRESS_STEP = 16 * 1024 * 1024

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True, slots=True)
class FileRef:
    """One regular file found by the walk: where it is and what ``lstat`` said."""

    rel: str  # POSIX path relative to the root (the file's name for a single file)
    path: str  # path to open (the link's resolved target when a symlink is followed)
    size: int
    mtime_ns: int
    ino: int
    dev: int


@dataclass(frozen=True, slots=True)
class Piece:
    """A hashed piece: a whole file (``offset is None``) or one shard of it."""

    ref: FileRef
    offset: int | None
    size: int
    sha256: bytes


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------
# walking


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file or directory"


def _check_name(rel: str, where: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise ManifestError(
            f"{where!r}: the name is not valid UTF-8; manifests record UTF-8 paths",
            hint="rename the file",
        ) from None


def _ref(rel: str, path: str, st: os.stat_result) -> FileRef:
    return FileRef(rel, path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def walk(root: str, *, allow_symlinks: bool, ignore: Iterable[str]) -> list[FileRef]:
    """List the regular files of ``root`` (a file or a directory)."""
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        raise ManifestError(f"{root}: no such file or directory") from None
    except OSError as err:
        raise ManifestError(f"{root}: cannot read it ({err.strerror})") from None

    real_root = os.path.realpath(root)
    if stat.S_ISLNK(st.st_mode):
        if not allow_symlinks:
            raise ManifestError(
                f"{root}: is a symbolic link; refused",
                hint=f"hash the target ({real_root}) or allow symlinks",
            )
        try:
            st = os.stat(root)
        except OSError as err:
            raise ManifestError(f"{root}: broken symbolic link ({err.strerror})") from None

    if stat.S_ISREG(st.st_mode):
        name = os.path.basename(os.path.normpath(root))
        _check_name(name, root)
        return [_ref(name, real_root, st)]
    if not stat.S_ISDIR(st.st_mode):
        raise ManifestError(f"{root}: is {_kind(st.st_mode)}; only regular files and directories can be hashed")

    ignored = frozenset(p.strip("/") for p in ignore)
    out: list[FileRef] = []
    # directories on the way down, by (dev, inode): a followed link back up is a loop
    stack: list[tuple[int, int]] = [(st.st_dev, st.st_ino)]

    def visit(directory: str, prefix: str) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as err:
            raise ManifestError(f"{prefix or root}: cannot list the directory ({err.strerror})") from None
        for entry in entries:
            rel = prefix + entry.name
            if rel in ignored:
                continue
            _check_name(rel, os.path.join(root, rel))
            try:
                if entry.is_dir(follow_symlinks=False):
                    est = entry.stat(follow_symlinks=False)
                    stack.append((est.st_dev, est.st_ino))
                    visit(entry.path, rel + "/")
                    stack.pop()
                    continue
                if entry.is_file(follow_symlinks=False):
                    out.append(_ref(rel, entry.path, entry.stat(follow_symlinks=False)))
                    continue
                est = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                raise ManifestError(f"{rel}: disappeared while the directory was listed") from None
            except OSError as err:
                raise ManifestError(f"{rel}: cannot read it ({err.strerror})") from None
            if stat.S_ISLNK(est.st_mode):
                follow_link(entry.path, rel)
            else:
                raise ManifestError(f"{rel}: is {_kind(est.st_mode)}; only regular files can be hashed")

    def follow_link(path: str, rel: str) -> None:
        if not allow_symlinks:
            raise ManifestError(
                f"{rel}: is a symbolic link; refused",
                hint="replace it by the file, or allow symlinks that stay inside the artifact",
            )
        target = os.path.realpath(path)
        if not _is_within(target, real_root):
            raise ManifestError(f"{rel}: is a symbolic link to {target}, outside the artifact; refused")
        try:
            tst = os.stat(target)
        except OSError as err:
            raise ManifestError(f"{rel}: broken symbolic link ({err.strerror})") from None
        if stat.S_ISREG(tst.st_mode):
            out.append(_ref(rel, target, tst))
        elif stat.S_ISDIR(tst.st_mode):
            key = (tst.st_dev, tst.st_ino)
            if key in stack:
                raise ManifestError(f"{rel}: is a symbolic link to a directory that contains it (a loop); refused")
            stack.append(key)
            visit(target, rel + "/")
            stack.pop()
        else:
            raise ManifestError(f"{rel}: is a symbolic link to {_kind(tst.st_mode)}; refused")

    visit(root, "")
    return out


# ---------------------------------------------------------------------------
# hashing


def _changed(ref: FileRef, what: str) -> ManifestError:
    return ManifestError(
        f"{ref.rel}: changed while it was being hashed ({what})",
        hint="hash it again once nothing writes to it",
    )


def _check_after(fd: int, ref: FileRef, read: int, expected: int) -> None:
    after = os.fstat(fd)
    if after.st_ino != ref.ino or after.st_dev != ref.dev:
        raise _changed(ref, "it was replaced by another file")
    if after.st_size != ref.size:
        raise _changed(ref, f"size {ref.size} became {after.st_size}")
    if after.st_mtime_ns != ref.mtime_ns:
        raise _changed(ref, "its modification time changed")
    if read != expected:
        raise _changed(ref, f"read {read} bytes, expected {expected}")


def _open(ref: FileRef) -> int:
    try:
        return os.open(ref.path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise ManifestError(f"{ref.rel}: disappeared before it could be hashed") from None
    except OSError as err:
        raise ManifestError(f"{ref.rel}: cannot be read ({err.strerror})", hint="check its permissions") from None


class _Worker(threading.local):
    def __init__(self) -> None:
        self.buf = bytearray(READ_SIZE)
        self.view = memoryview(self.buf)


def _hash_range(fd: int, ref: FileRef, offset: int, length: int, local: _Worker, tick: Callable[[int], None]) -> tuple[bytes, int]:
    """SHA-256 of ``length`` bytes at ``offset``; returns the digest and the bytes read."""
    h = sha256()
    buf, view = local.buf, local.view
    read = 0
    pending = 0
    if offset == 0 and length == ref.size:
        # whole file: read to EOF (one byte more than expected shows growth)
        readv = os.readv
        while n := readv(fd, [buf]):
            h.update(view[:n])
            read += n
            pending += n
            if pending >= PROGRESS_STEP:
                tick(pending)
                pending = 0
    else:
        preadv = os.preadv
        pos = offset
        end = offset + length
        while pos < end:
            want = min(len(buf), end - pos)
            n = preadv(fd, [view[:want]], pos)
            if not n:
                break
            h.update(view[:n])
            pos += n
            read += n
            pending += n
            if pending >= PROGRESS_STEP:
                tick(pending)
                pending = 0
    if pending:
        tick(pending)
    return h.digest(), read


def _hash_small(refs: Sequence[FileRef], tick: Callable[[int, int], None]) -> list[bytes]:
    digests = []
    read_ = os.read
    total = 0
    for ref in refs:
        fd = _open(ref)
        try:
            try:
                data = read_(fd, ref.size + 1)
            except OSError as err:
                raise ManifestError(f"{ref.rel}: cannot be read ({err.strerror})") from None
            _check_after(fd, ref, len(data), ref.size)
        finally:
            os.close(fd)
        digests.append(sha256(data).digest())
        total += ref.size
    tick(len(refs), total)
    return digests


def _hash_piece(ref: FileRef, offset: int | None, length: int, local: _Worker, tick: Callable[[int, int], None]) -> bytes:
    fd = _open(ref)
    try:
        if offset is None:
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except (AttributeError, OSError):  # pragma: no cover - advisory only
                pass
        start = 0 if offset is None else offset
        try:
            digest, read = _hash_range(fd, ref, start, length, local, lambda n: tick(0, n))
        except OSError as err:
            raise ManifestError(f"{ref.rel}: cannot be read ({err.strerror})") from None
        _check_after(fd, ref, read, length)
    finally:
        os.close(fd)
    if offset is None or offset + length >= ref.size:
        tick(1, 0)
    return digest


def hash_files(
    refs: Sequence[FileRef],
    *,
    shard_size: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Piece]:
    """Hash every file; a file larger than ``shard_size`` is hashed as shards.

    ``progress(files, nbytes)`` is called from worker threads as work completes.
    The pieces come back in the order of ``refs`` (shards in offset order).
    """
    tick = progress or (lambda files, nbytes: None)
    # tasks: (cost in bytes, callable returning a list of Piece)
    local = _Worker()
    tasks: list[tuple[int, Callable[[], list[Piece]]]] = []

    def add_small_batch(batch: list[FileRef]) -> None:
        cost = sum(r.size for r in batch) + 8192 * len(batch)  # a file costs syscalls even when empty

        def run(batch=batch) -> list[Piece]:
            return [Piece(r, None, r.size, d) for r, d in zip(batch, _hash_small(batch, tick))]

        tasks.append((cost, run))

    batch: list[FileRef] = []
    batch_bytes = 0
    for ref in refs:
        if shard_size is not None and ref.size > shard_size:
            for start in range(0, ref.size, shard_size):
                length = min(shard_size, ref.size - start)
                tasks.append(
                    (length, lambda ref=ref, start=start, length=length: [Piece(ref, start, length, _hash_piece(ref, start, length, local, tick))])
                )
        elif ref.size > SMALL_FILE:
            tasks.append((ref.size, lambda ref=ref: [Piece(ref, None, ref.size, _hash_piece(ref, None, ref.size, local, tick))]))
        else:
            batch.append(ref)
            batch_bytes += ref.size
            if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                add_small_batch(batch)
                batch, batch_bytes = [], 0
    if batch:
        add_small_batch(batch)

    # largest first: the longest task starts first, so the cores finish together
    tasks.sort(key=lambda t: t[0], reverse=True)
    count = min(workers or usable_cores(), len(tasks)) or 1

    if count == 1:
        results = [run() for _cost, run in tasks]
    else:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="provenance-hash") as pool:
            futures = [pool.submit(run) for _cost, run in tasks]
            done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
            for f in not_done:
                f.cancel()
            for f in futures:
                if f.done() and not f.cancelled() and f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
            results = [f.result() for f in futures]

    pieces = [p for r in results for p in r]
    order = {id(ref): i for i, ref in enumerate(refs)}
    pieces.sort(key=lambda p: (order[id(p.ref)], p.offset or 0))
    return pieces

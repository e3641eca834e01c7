"""Private machinery behind :meth:`provenance.manifest.Manifest.from_path`.

Two steps:

1. :func:`walk` lists the regular files of an artifact with one ``lstat`` each
   (``os.scandir``), refusing symlinks (unless allowed and inside the root),
   devices, FIFOs, sockets and names that are not UTF-8, and skipping ignored
   paths.
2. :func:`hash_files` computes SHA-256 digests. Large files (and shards) go
   to threads, one more than the usable cores, largest first; ``hashlib`` and
   ``os.readv`` release the GIL, so they hash in parallel at the speed of the
   CPU's SHA-256. Small files are read one after the other by the calling
   thread meanwhile: their cost is system calls and interpreter work, and a
   second thread only adds GIL contention (measured slower).

Reads go through a reused 120 KiB buffer per thread (``os.readv``). Whole
``provenance hash`` runs on the reference machine measured it fastest: 64 KiB
costs more system calls, and a buffer of 128 KiB or more is one that glibc's
``malloc`` maps on its own, which the kernel's copy into it measured about 25%
slower on (1 MiB: 1.7 s instead of 1.3 s for the 2.2 GiB benchmark model).
``mmap`` of the files would avoid the copy, but a file truncated while mapped
kills the process with SIGBUS instead of giving an error naming the file.
Memory is flat: one buffer per thread whatever the file sizes.

A file is checked against the size, mtime and inode seen by the walk after it
has been read: a file that changed between listing and hashing, or while it was
hashed, raises :class:`~provenance.errors.ManifestError` naming it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from hashlib import sha256
from typing import TypeVar

from provenance.errors import ManifestError
from provenance.merkle import file_leaf

_T = TypeVar("_T")

Shard = tuple[int, int, bytes]
"""``(offset, length, sha256)`` of one shard of a large file."""

READ_SIZE = 120 * 1024
"""Bytes per read: just under glibc's 128 KiB mmap threshold (see the module docstring)."""

SMALL_FILE = 256 * 1024
"""Files up to this size are read with a single ``read`` on the calling thread."""

BATCH_FILES = 256
BATCH_BYTES = 16 * 1024 * 1024
"""Small files report progress (and check for an abort) every so many files or bytes."""

PROGRESS_STEP = 16 * 1024 * 1024
"""Large files report progress (and check for an abort) every so many bytes."""

MAX_DEPTH = 256
"""Directories nested deeper than this are refused (a walk of a hostile tree ends with an error)."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


class FileRef:
    """One regular file found by the walk: where it is and what ``lstat`` said.

    A plain slotted class rather than a dataclass: a tree of 100,000 files
    makes 100,000 of them, and construction time shows.
    """

    __slots__ = ("rel", "path", "size", "mtime_ns", "ino", "dev")

    def __init__(self, rel: str, path: str, size: int, mtime_ns: int, ino: int, dev: int) -> None:
        self.rel = rel  # POSIX path relative to the root (the file's name for a single file)
        self.path = path  # path to open (the link's resolved target when a symlink is followed)
        self.size = size
        self.mtime_ns = mtime_ns
        self.ino = ino
        self.dev = dev


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


def walk(
    root: str,
    *,
    allow_symlinks: bool,
    ignore: Iterable[str],
    follow: Callable[[str, str], tuple[str, os.stat_result] | None] | None = None,
) -> list[FileRef]:
    """List the regular files of ``root`` (a file or a directory).

    ``follow(link, rel)``, when given, is asked first about each symbolic link (the root too): the file to
    read and its ``lstat`` for a link it vouches for (a Hugging Face cache blob: provenance.hfcache), None
    to leave the link to the rules above; it may refuse the link itself (``ManifestError``).
    """
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        raise ManifestError(f"{root}: no such file or directory") from None
    except OSError as err:
        raise ManifestError(f"{root}: cannot read it ({err.strerror})") from None

    real_root = os.path.realpath(root)
    if stat.S_ISLNK(st.st_mode) and follow is not None:
        name = os.path.basename(os.path.normpath(root))
        vouched = follow(root, name)
        if vouched is not None:
            _check_name(name, root)
            return [_ref(name, *vouched)]
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
    # The directories being listed, outermost first: (entries left, prefix, (dev, inode)). A loop over
    # this stack rather than recursion, so that a tree 1,000 levels deep is walked like any other; the
    # (dev, inode) on it tell a followed link back up (a loop).
    frames: list[tuple[Iterator[os.DirEntry[str]], str, tuple[int, int]]] = []

    def enter(directory: str, prefix: str, key: tuple[int, int]) -> None:
        if len(frames) > MAX_DEPTH:
            raise ManifestError(
                f"{prefix[:200]}...: directories nested more than {MAX_DEPTH} levels deep; refused",
                hint="no artifact needs such a tree; hash a shallower copy",
            )
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as err:
            raise ManifestError(f"{prefix or root}: cannot list the directory ({err.strerror})") from None
        frames.append((iter(entries), prefix, key))

    def follow_link(path: str, rel: str) -> bool:
        """Add the link's target; True when it is a directory, entered (its listing is next)."""
        vouched = follow(path, rel) if follow is not None else None
        if vouched is not None:
            out.append(_ref(rel, *vouched))
            return False
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
            return False
        if stat.S_ISDIR(tst.st_mode):
            key = (tst.st_dev, tst.st_ino)
            if any(frame[2] == key for frame in frames):
                raise ManifestError(f"{rel}: is a symbolic link to a directory that contains it (a loop); refused")
            enter(target, rel + "/", key)
            return True
        raise ManifestError(f"{rel}: is a symbolic link to {_kind(tst.st_mode)}; refused")

    enter(root, "", (st.st_dev, st.st_ino))
    append = out.append
    while frames:
        entries, prefix, _ = frames[-1]
        for entry in entries:  # resumes where the listing was left to enter a subdirectory
            name = entry.name
            rel = prefix + name
            if rel in ignored:
                continue
            if not name.isascii():
                _check_name(rel, os.path.join(root, rel))
            try:
                if entry.is_file(follow_symlinks=False):
                    est = entry.stat(follow_symlinks=False)
                    append(FileRef(rel, entry.path, est.st_size, est.st_mtime_ns, est.st_ino, est.st_dev))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    est = entry.stat(follow_symlinks=False)
                    enter(entry.path, rel + "/", (est.st_dev, est.st_ino))
                    break
                est = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                raise ManifestError(f"{rel}: disappeared while the directory was listed") from None
            except OSError as err:
                raise ManifestError(f"{rel}: cannot read it ({err.strerror})") from None
            if not stat.S_ISLNK(est.st_mode):
                raise ManifestError(f"{rel}: is {_kind(est.st_mode)}; only regular files can be hashed")
            if follow_link(entry.path, rel):
                break
        else:
            frames.pop()
    return out


# ---------------------------------------------------------------------------
# hashing


def _changed(ref: FileRef, what: str) -> ManifestError:
    return ManifestError(
        f"{ref.rel}: changed while it was being hashed ({what})",
        hint="hash it again once nothing writes to it",
    )


def _check_after(fd: int, ref: FileRef, read: int, expected: int) -> None:
    """After reading: the file must still be the one the walk saw, unchanged."""
    after = os.fstat(fd)
    if after.st_size == ref.size and after.st_mtime_ns == ref.mtime_ns and after.st_ino == ref.ino and read == expected:
        return
    if after.st_ino != ref.ino or after.st_dev != ref.dev:
        raise _changed(ref, "it was replaced by another file")
    if after.st_size != ref.size:
        raise _changed(ref, f"size {ref.size} became {after.st_size}")
    if after.st_mtime_ns != ref.mtime_ns:
        raise _changed(ref, "its modification time changed")
    raise _changed(ref, f"read {read} bytes, expected {expected}")


def _open(ref: FileRef) -> int:
    try:
        return os.open(ref.path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise ManifestError(f"{ref.rel}: disappeared before it could be hashed") from None
    except OSError as err:
        raise ManifestError(f"{ref.rel}: cannot be read ({err.strerror})", hint="check its permissions") from None


def _read_error(ref: FileRef, err: OSError) -> ManifestError:
    return ManifestError(f"{ref.rel}: cannot be read ({err.strerror})")


class _Aborted(Exception):
    """Another task failed: stop reading."""


def _hash_small(refs: Sequence[FileRef], tick: Callable[[int, int], None], abort: threading.Event) -> list[bytes]:
    """One ``read`` per file; digests in the order of ``refs``."""
    digests: list[bytes] = []
    append = digests.append
    read_, close_ = os.read, os.close
    done_files = done_bytes = 0
    for ref in refs:
        fd = _open(ref)
        try:
            data = read_(fd, ref.size + 1)  # one byte more than expected shows growth
            while len(data) < ref.size:  # a short read (rare for regular files): read on
                more = read_(fd, ref.size + 1 - len(data))
                if not more:
                    break
                data += more
            _check_after(fd, ref, len(data), ref.size)
        except OSError as err:
            raise _read_error(ref, err) from None
        finally:
            close_(fd)
        append(sha256(data).digest())
        done_files += 1
        done_bytes += ref.size
        if done_files == BATCH_FILES or done_bytes >= BATCH_BYTES:
            if abort.is_set():
                raise _Aborted
            tick(done_files, done_bytes)
            done_files = done_bytes = 0
    if done_files:
        tick(done_files, done_bytes)
    return digests


class _Buffer(threading.local):
    def __init__(self) -> None:
        self.buf = bytearray(READ_SIZE)
        self.view = memoryview(self.buf)


def _hash_piece(
    ref: FileRef,
    offset: int | None,
    length: int,
    local: _Buffer,
    tick: Callable[[int, int], None],
    abort: threading.Event,
) -> bytes:
    """SHA-256 of a whole file (``offset is None``) or of ``length`` bytes at ``offset``."""
    fd = _open(ref)
    h = sha256()
    update = h.update
    buf, view = local.buf, local.view
    read = pending = 0
    try:
        try:
            if offset is None:
                with contextlib.suppress(AttributeError, OSError):  # advisory only
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
                readv = os.readv
                # read to EOF: a file that grew reads more than its size
                while n := readv(fd, [buf]):
                    update(view[:n])
                    read += n
                    pending += n
                    if pending >= PROGRESS_STEP:
                        if abort.is_set():
                            raise _Aborted
                        tick(0, pending)
                        pending = 0
            else:
                preadv = os.preadv
                pos, end = offset, offset + length
                while pos < end:
                    n = preadv(fd, [view[: min(READ_SIZE, end - pos)]], pos)
                    if not n:
                        break
                    update(view[:n])
                    pos += n
                    read += n
                    pending += n
                    if pending >= PROGRESS_STEP:
                        if abort.is_set():
                            raise _Aborted
                        tick(0, pending)
                        pending = 0
            _check_after(fd, ref, read, length)
        except OSError as err:
            raise _read_error(ref, err) from None
    finally:
        os.close(fd)
    last = offset is None or offset + length >= ref.size
    tick(1 if last else 0, pending)
    return h.digest()


def _run_pool(
    tasks: Sequence[tuple[int, int | None, int]],
    count: int,
    run: Callable[[tuple[int, int | None, int]], bytes],
    abort: threading.Event,
    own_share: Callable[[], _T],
) -> tuple[list[bytes], _T]:
    """Run ``tasks`` in order on ``count`` threads while this thread does ``own_share()``.

    Returns the task results in order, and ``own_share()``'s result. The
    first error stops every thread (at its next progress step) and is raised.
    A few lines of ``threading`` rather than ``concurrent.futures``, whose
    import (with ``logging``) costs more than this command's whole walk of a
    model directory.
    """
    results: list[bytes] = [b""] * len(tasks)  # every slot is filled unless an error is raised
    errors: list[BaseException] = []
    lock = threading.Lock()
    pending = iter(range(len(tasks)))

    def worker() -> None:
        while not abort.is_set():
            with lock:
                i = next(pending, None)
            if i is None:
                return
            try:
                results[i] = run(tasks[i])
            except BaseException as err:  # handed to the calling thread, which raises it
                errors.append(err)
                abort.set()
                return

    threads = [threading.Thread(target=worker, name=f"provenance-hash-{n}", daemon=True) for n in range(count)]
    for t in threads:
        t.start()
    try:
        mine = own_share()
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # a timeout keeps Ctrl-C responsive
    except BaseException:
        abort.set()
        for t in threads:
            t.join()
        raise
    real = [e for e in errors if not isinstance(e, _Aborted)]
    if real:
        raise real[0]
    return results, mine


def hash_files(
    refs: Sequence[FileRef],
    *,
    shard_size: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[bytes | list[Shard]]:
    """Hash every file; a file larger than ``shard_size`` is hashed as shards.

    Returns, for each of ``refs`` in order, its SHA-256 or, for a sharded file,
    a list of ``(offset, length, sha256)`` by offset. ``progress(files,
    nbytes)`` is called from worker threads as work completes.

    Large files and shards go to a thread pool, largest first. Small files are
    hashed by the calling thread meanwhile, one after the other: for them the
    cost is system calls and interpreter work, which a second thread only slows
    down by contending for the GIL (measured).
    """
    tick = progress or (lambda files, nbytes: None)
    abort = threading.Event()
    local = _Buffer()
    big: list[tuple[int, int | None, int]] = []  # (index in refs, offset, length)
    small: list[int] = []
    for i, ref in enumerate(refs):
        if shard_size is not None and ref.size > shard_size:
            big.extend((i, start, min(shard_size, ref.size - start)) for start in range(0, ref.size, shard_size))
        elif ref.size > SMALL_FILE:
            big.append((i, None, ref.size))
        else:
            small.append(i)
    # largest first: the longest task starts first, so the cores finish together
    big.sort(key=lambda t: t[2], reverse=True)

    def run_big(task: tuple[int, int | None, int]) -> bytes:
        i, offset, length = task
        return _hash_piece(refs[i], offset, length, local, tick, abort)

    # one thread more than cores: when files do not split evenly (two 1 GiB files
    # and a 200 MiB one on two cores), the OS shares the cores among all three
    # instead of leaving one idle at the end (makespan 1.1 GiB instead of 1.2)
    count = min(workers or usable_cores() + 1, len(big))
    small_refs = [refs[i] for i in small]
    if count <= 1 or (workers or 0) == 1:
        big_digests = [run_big(t) for t in big]
        small_digests = _hash_small(small_refs, tick, abort)
    else:
        big_digests, small_digests = _run_pool(
            big, count, run_big, abort, lambda: _hash_small(small_refs, tick, abort)
        )

    # results in the order of refs: a digest, or (offset, length, digest) per shard
    results: list[bytes | list[Shard] | None] = [None] * len(refs)
    for i, d in zip(small, small_digests, strict=True):
        results[i] = d
    for (i, offset, length), d in zip(big, big_digests, strict=True):
        if offset is None:
            results[i] = d
        else:
            shards = results[i]
            if shards is None:
                shards = results[i] = []
            assert isinstance(shards, list)  # a file is whole or sharded, never both
            shards.append((offset, length, d))
    done: list[bytes | list[Shard]] = []
    for r in results:
        assert r is not None  # every file is small, whole or sharded
        if type(r) is list:
            r.sort()
        done.append(r)
    return done


# ---------------------------------------------------------------------------
# Merkle leaves of manifest entries, fast
#
# ``provenance.merkle.file_leaf`` is the definition; this computes the same
# bytes for many entries at once. keccak256 through pycryptodome's Python
# wrapper costs about 10 µs a call on the reference machine, and a tree of
# 100,000 files needs 200,000 of them for its leaves; calling the same C
# library through ctypes with one reused state costs about a quarter of that.
# If that library cannot be loaded, or gives a wrong answer on a known
# vector, ``file_leaf`` itself is used. Tests compare both on many inputs.

from provenance._keccak import load_c_keccak as _load_keccak  # noqa: E402 - after the pure-Python fallback it replaces

FAST_LEAVES_FROM = 1000
"""Below this many leaves, loading ctypes costs more than it saves."""


def file_leaves(items: Iterable[tuple[str, int, bytes]]) -> list[bytes]:
    """``[file_leaf(name, size, sha256) for ...]``, computed faster."""
    items = list(items)
    lib = _load_keccak() if len(items) >= FAST_LEAVES_FROM else False
    if lib is False:
        return [file_leaf(name, size, digest) for name, size, digest in items]
    import ctypes  # loaded already by _load_keccak

    state = ctypes.c_void_p()
    if lib.keccak_init(ctypes.byref(state), 64, 24):  # pragma: no cover
        raise MemoryError("keccak_init failed")
    out = ctypes.create_string_buffer(32)
    reset, absorb, digest_ = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    head = (0x60).to_bytes(32, "big")
    leaves: list[bytes] = []
    append = leaves.append
    try:
        for name, size, digest in items:
            if size < 0 or len(digest) != 32:
                append(file_leaf(name, size, digest))  # raises the library's error
                continue
            path = name.encode("utf-8")
            # abi.encode(string, uint256, bytes32): head (offset, size, digest) then the string
            encoded = (
                head
                + size.to_bytes(32, "big")
                + digest
                + len(path).to_bytes(32, "big")
                + path
                + b"\0" * (-len(path) % 32)
            )
            reset(state)
            absorb(state, encoded, len(encoded))
            digest_(state, out, 32, 1)
            inner = out.raw
            reset(state)
            absorb(state, inner, 32)
            digest_(state, out, 32, 1)
            append(out.raw)
    finally:
        lib.keccak_destroy(state)
    return leaves

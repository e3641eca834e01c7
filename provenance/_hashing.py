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

**Many small files** (:func:`hash_many`, :func:`summarize_many`): a plain tree
of ``MANY_FILES`` files or more (no link, device, FIFO or bad name: anything
else goes through the two steps above) is listed without a stat per file and
hashed by worker processes (:mod:`provenance._hashworker`), one per usable
core, which also compute the Merkle leaves. Per small file the work is an
``open``, two ``fstat``, a ``read`` and a ``close`` plus the interpreter's
bookkeeping; processes share that out where threads cannot (the GIL). The
checks are the same: O_NOFOLLOW, a regular file, unchanged size, mtime and
inode across the read, and each directory the one the listing saw.
:func:`summarize_many` keeps no entries: the workers keep their leaves grouped
by first byte and send them sorted at the end, group after group, as the root
is folded from them (:func:`provenance.merkle.root_of_sorted`): 10^6 files
take about 32 MiB of leaves in all.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from provenance._hashworker import (
    BATCH_HEAD,
    BUCKETS,
    DONE,
    END_OF_BATCHES,
    ERROR,
    ERROR_HEAD,
    FAILED,
    FOLD_END,
    FOLD_HEAD,
    FOLD_PAIRED,
    FOLD_RAW,
    HANDED_BACK,
    OK_HEAD,
    PIECE,
    PROGRESS,
    READ_SIZE,
    REPLY,
    RESULT_HEAD,
    ROOT,
    U64,
    WHOLE,
    Failure,
    change_reason,
    hash_piece,
)
from provenance.errors import ManifestError
from provenance.merkle import file_leaf, keccak256, root_of_sorted

if TYPE_CHECKING:
    import subprocess

_T = TypeVar("_T")


class _Progress(Protocol):
    """``provenance.manifest.Progress`` (defined there; that module imports this one)."""

    def start(self, files: int, total_bytes: int) -> None: ...

    def advance(self, files: int, nbytes: int) -> None: ...


Shard = tuple[int, int, bytes]
"""``(offset, length, sha256)`` of one shard of a large file."""

SMALL_FILE = 256 * 1024
"""Files up to this size are read with a single ``read`` on the calling thread."""

BATCH_FILES = 256
BATCH_BYTES = 16 * 1024 * 1024
"""Small files report progress (and check for an abort) every so many files or bytes."""

PROCESSES_FROM = 64 * 1024 * 1024
"""Large files (and shards) of this many bytes in all or more are hashed by worker processes, not threads.

Threads share the GIL with whatever else the process runs meanwhile (see
``_hashworker``); below this size the ~10 ms start of a process costs more
than the hashing it would free."""

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


def _failure(rel: str, kind: str, text: str = "") -> ManifestError:
    """The error for a file that could not be hashed, in both paths (threads here, worker processes)."""
    if kind == "gone":
        return ManifestError(f"{rel}: disappeared before it could be hashed")
    if kind == "open":
        return ManifestError(f"{rel}: cannot be read ({text})", hint="check its permissions")
    if kind == "read":
        return ManifestError(f"{rel}: cannot be read ({text})")
    return ManifestError(
        f"{rel}: changed while it was being hashed ({text})", hint="hash it again once nothing writes to it"
    )


def _check_after(fd: int, ref: FileRef, read: int, expected: int) -> None:
    """After reading: the file must still be the one the walk saw, unchanged."""
    why = change_reason(ref.size, ref.mtime_ns, ref.ino, ref.dev, os.fstat(fd), read, expected)
    if why is not None:
        raise _failure(ref.rel, "changed", why)


def _open(ref: FileRef) -> int:
    try:
        return os.open(ref.path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise _failure(ref.rel, "gone") from None
    except OSError as err:
        raise _failure(ref.rel, "open", str(err.strerror)) from None


def _read_error(ref: FileRef, err: OSError) -> ManifestError:
    return _failure(ref.rel, "read", str(err.strerror))


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


def _hash_piece(
    ref: FileRef,
    offset: int | None,
    length: int,
    local: _Buffer,
    tick: Callable[[int, int], None],
    abort: threading.Event,
) -> bytes:
    """SHA-256 of a whole file (``offset is None``) or of ``length`` bytes at ``offset``, on this thread."""

    def report(nbytes: int) -> None:
        if abort.is_set():
            raise _Aborted
        tick(0, nbytes)

    seen = (ref.size, ref.mtime_ns, ref.ino, ref.dev)
    try:
        digest, pending = hash_piece(os.fsencode(ref.path), WHOLE if offset is None else offset, length, seen,
                                     report, local.buf)
    except Failure as failure:
        raise _failure(ref.rel, failure.kind, failure.text) from None
    last = offset is None or offset + length >= ref.size
    tick(1 if last else 0, pending)
    return digest


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


_early: list[subprocess.Popen[bytes]] = []
"""Piece workers started before their tasks were known (:func:`start_workers`); the next hashing takes them."""
_early_lock = threading.Lock()


def _piece_worker() -> subprocess.Popen[bytes]:
    import subprocess

    return subprocess.Popen(  # a group of its own: a terminal's Ctrl-C is this process's
        [*_python(), *_WORKER, "pieces"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
        close_fds=True, process_group=0)


def start_workers() -> None:
    """Start the processes that hash large files (one more than the usable cores) now, before the files are
    listed: their interpreters start while the caller goes on (``provenance verify`` imports the rest of
    itself). The next hashing in processes takes them and ends those it does not need; a hashing on
    threads ends them all. Nothing is started where no interpreter can be."""
    started = []
    try:
        for _ in range(usable_cores() + 1):
            started.append(_piece_worker())
    except OSError:
        pass
    with _early_lock:
        _early.extend(started)


def _take_early(count: int) -> list[subprocess.Popen[bytes]]:
    """Up to ``count`` of the workers :func:`start_workers` started; the others are ended."""
    with _early_lock:
        taken, rest = _early[:count], _early[count:]
        _early.clear()
    for proc in rest:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait()
        proc.stdout.close()
    return taken


def _hash_in_processes(
    refs: Sequence[FileRef],
    tasks: Sequence[tuple[int, int | None, int]],
    count: int,
    tick: Callable[[int, int], None],
    own_share: Callable[[], _T],
) -> tuple[list[bytes], _T] | None:
    """As :func:`_run_pool`, with ``count`` ``_hashworker`` processes (mode ``pieces``) hashing ``tasks``.

    Each worker hashes one task at a time, the next one given as it answers;
    this thread does ``own_share()`` first, then relays progress. None when
    no worker can be started (nothing was hashed); the first file that cannot
    be hashed raises its error, and every worker is ended however this
    returns.
    """
    import selectors

    procs = _take_early(count)
    results: list[bytes] = [b""] * len(tasks)  # every slot is filled unless an error is raised
    pending = iter(range(len(tasks)))
    running: dict[int, tuple[subprocess.Popen[bytes], int, bytearray]] = {}  # stdout fd: (worker, task, unread)

    def give(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None  # both are pipes
        i = next(pending, None)
        if i is None:
            proc.stdin.close()  # the worker ends
            return
        index, offset, length = tasks[i]
        ref = refs[index]
        path = os.fsencode(ref.path)
        head = PIECE.pack(WHOLE if offset is None else offset, length, ref.size, ref.mtime_ns, ref.ino, ref.dev,
                          len(path))
        try:
            proc.stdin.write(head + path)  # a few bytes to an idle worker: the pipe takes them at once
        except BrokenPipeError:
            raise _failure(ref.rel, "read", "its hashing process ended") from None
        running[proc.stdout.fileno()] = (proc, i, bytearray())

    selector = selectors.DefaultSelector()
    try:
        try:
            while len(procs) < count:
                procs.append(_piece_worker())
        except OSError:  # no interpreter to start (an embedded Python)
            return None
        for proc in procs:
            give(proc)
        mine = own_share()
        for fd in running:
            selector.register(fd, selectors.EVENT_READ)
        while running:
            for key, _mask in selector.select(0.2):  # a timeout keeps Ctrl-C responsive
                proc, i, unread = running[key.fd]
                index, offset, length = tasks[i]
                ref = refs[index]
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    raise _failure(ref.rel, "read", f"its hashing process ended (exit status {proc.wait()})")
                unread += chunk
                while len(unread) >= REPLY.size:
                    kind, value = REPLY.unpack_from(unread)
                    if kind == PROGRESS:
                        del unread[: REPLY.size]
                        tick(0, value)
                        continue
                    if kind == FAILED:
                        if len(unread) < REPLY.size + value:
                            break
                        reply = bytes(unread[REPLY.size : REPLY.size + value]).decode("utf-8", "replace")
                        failure, _, text = reply.partition("\0")
                        raise _failure(ref.rel, failure, text)
                    if kind != DONE:
                        raise _failure(ref.rel, "read", f"its hashing process answered {kind}, not a digest")
                    if len(unread) < REPLY.size + 32:  # the digest follows
                        break
                    results[i] = bytes(unread[REPLY.size : REPLY.size + 32])
                    del unread[: REPLY.size + 32]
                    last = offset is None or offset + length >= ref.size
                    tick(1 if last else 0, value)
                    del running[key.fd]
                    give(proc)
                    if key.fd in running:
                        running[key.fd][2][:] = unread  # nothing more was sent before the new task
                    else:
                        selector.unregister(key.fd)
                    break
    finally:
        selector.close()
        for proc in procs:
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()
            if proc.returncode is None and proc.stdout is not None and proc.stdout.fileno() in running:
                proc.kill()  # an error ended this early: the worker would hash on for nothing
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
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
    in_processes = None
    if (workers or 0) != 1 and sum(t[2] for t in big) >= PROCESSES_FROM:
        in_processes = _hash_in_processes(refs, big, count, tick, lambda: _hash_small(small_refs, tick, abort))
    if in_processes is not None:
        big_digests, small_digests = in_processes
    else:  # small work, one thread asked for, or no interpreter to start: threads
        _take_early(0)
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


# ---------------------------------------------------------------------------
# many small files: worker processes
#
# A tree of thousands of small files costs system calls and interpreter work
# per file, which threads cannot share out (the GIL). Such a tree is listed
# here without a stat per file (``os.scandir`` says which entries are regular
# files) and hashed by ``_hashworker`` processes, one per usable core, which
# open each file relative to its directory, fstat, read, fstat and hash it, and
# compute its Merkle leaf. Anything the listing is not sure of (a link, a
# device, a FIFO, a name that is not UTF-8, a directory too deep, an error)
# makes it give up: ``walk`` and ``hash_files`` then do the whole job, with
# their policy and their messages. Files larger than ``SMALL_FILE`` (or than the
# shard size) are handed back by the workers and hashed by ``hash_files``.

MANY_FILES = 4096
"""From this many files on, a plain tree is hashed by worker processes (fewer: starting them costs more)."""

WORKER_BATCH = 256
"""Files per message to a worker: few enough that both workers finish together and progress moves."""

WORKER_QUEUE = 8
"""Batches sent ahead to each worker (about 15 ms of work), so that it does not wait for the next one while
this process is not scheduled (other jobs on the machine)."""

_WORKER = (
    "-c", "import sys\nsys.path.append(sys.argv.pop(1))\nfrom _hashworker import main\nsys.exit(main(sys.argv[1:]))",
    os.path.dirname(os.path.abspath(__file__)),
)
"""How a worker is started, after :func:`_python`: its module imported (from its cached bytecode, as
``provenance._hashworker`` is) rather than run as a script, which Python compiles afresh at every start
(about 4 ms of each worker's 17). The folder is appended to the path: the standard library comes first."""


def _python() -> list[str]:
    """A fresh interpreter that reads no environment and no site-packages (``-I -S``), writing no bytecode
    where this process does not (``-I`` ignores ``PYTHONDONTWRITEBYTECODE``)."""
    return [sys.executable, "-I", "-S", *(("-B",) if sys.dont_write_bytecode else ())]


class _GiveUp(Exception):
    """The plain listing met something only ``walk`` decides on, or worker processes cannot run here."""


class _WorkerDied(Exception):
    """A worker process ended before it answered."""


def _plain_listing(
    root: str, ignored: frozenset[str], key: tuple[int, int]
) -> Iterator[tuple[str, tuple[int, int], str, list[str]]]:
    """``(directory, (dev, inode), prefix, names)`` of up to ``WORKER_BATCH`` regular files at a time.

    No stat per file: the directory entry's type says it is a regular file
    (the worker checks it again on the open file). Raises :class:`_GiveUp`
    where ``walk`` has a policy or a message to apply.
    """
    stack = [(root, "", key, 0)]
    while stack:
        directory, prefix, dkey, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise _GiveUp
        names: list[str] = []
        try:
            with os.scandir(directory) as it:
                for entry in it:  # not list(it): a folder of 10^6 files would hold 10^6 DirEntry objects
                    name = entry.name
                    rel = prefix + name
                    if rel in ignored:
                        continue
                    if not name.isascii():
                        try:
                            name.encode("utf-8")
                        except UnicodeEncodeError:
                            raise _GiveUp from None
                    if entry.is_file(follow_symlinks=False):
                        names.append(name)
                        if len(names) == WORKER_BATCH:
                            yield directory, dkey, prefix, names
                            names = []
                    elif entry.is_dir(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        stack.append((entry.path, rel + "/", (st.st_dev, st.st_ino), depth + 1))
                    else:  # a link, a device, a FIFO, a socket: walk's to decide on
                        raise _GiveUp
        except OSError:
            raise _GiveUp from None
        if names:
            yield directory, dkey, prefix, names


def _pysha3_folder() -> str:
    """Where safe-pysha3 is, for the workers to compute leaves with; "" without it."""
    from provenance import _keccak

    module = sys.modules.get("sha3")
    if _keccak._pysha3 is None or module is None or not module.__file__:
        return ""
    return os.path.dirname(module.__file__)


class _Worker:
    __slots__ = (
        "proc", "in_fd", "out_fd", "outbuf", "inbuf", "inflight", "leaves", "closing", "eof", "groups", "root"
    )

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None  # both are pipes
        self.proc = proc
        self.in_fd, self.out_fd = proc.stdin.fileno(), proc.stdout.fileno()
        self.outbuf = bytearray()
        self.inbuf = bytearray()
        self.inflight = 0
        self.leaves: bool | None = None  # from the worker's first byte
        self.closing = self.eof = False
        self.groups = 0  # subject mode: groups of sorted leaves received (256 in all)
        self.root: bytes | None = None  # subject mode: the root of its segment of the tree


class _Workers:
    """The worker processes and what is in flight to them: the parent's side of ``_hashworker``'s protocol.

    One thread, no blocking write: ``pump`` writes what each worker can take
    and reads what it answered, so a worker never waits on a parent that
    waits on it.
    """

    def __init__(self, count: int, mode: str, limit: int) -> None:
        import selectors
        import subprocess

        self._read, self._write = selectors.EVENT_READ, selectors.EVENT_WRITE
        self.selector = selectors.DefaultSelector()
        self.workers: list[_Worker] = []
        self.results: list[tuple[int, int, bytes]] = []  # (batch, kind, payload)
        self.mode = mode
        command = [*_python(), *_WORKER, mode, str(limit), _pysha3_folder()]
        try:
            for _ in range(count):
                proc = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, close_fds=True
                )
                worker = _Worker(proc)
                self.workers.append(worker)
                os.set_blocking(worker.in_fd, False)
                os.set_blocking(worker.out_fd, False)
                self.selector.register(worker.out_fd, self._read, worker)
        except OSError:  # no interpreter to start (an embedded Python): the threads' path
            self.close()
            raise _GiveUp from None

    def idle(self) -> _Worker | None:
        """The worker with the fewest batches in flight, if it can take one more."""
        live = [w for w in self.workers if not w.closing]
        best = min(live, key=lambda w: w.inflight, default=None)
        return best if best is not None and best.inflight < WORKER_QUEUE else None

    def send(self, worker: _Worker, message: bytes, *, batch: bool = True) -> None:
        if not worker.outbuf:
            self.selector.register(worker.in_fd, self._write, worker)
        worker.outbuf += message
        if batch:
            worker.inflight += 1

    def flush(self, worker: _Worker) -> None:
        """Write what the worker's pipe takes now, without waiting and without reading."""
        try:
            n = os.write(worker.in_fd, worker.outbuf)
        except BlockingIOError:
            return
        except BrokenPipeError:
            raise _WorkerDied from None
        del worker.outbuf[:n]
        if not worker.outbuf:
            self.selector.unregister(worker.in_fd)

    def end_batches(self) -> None:
        """Subject mode: no more batches; each worker sends its sorted leaves and waits for its segment."""
        for worker in self.workers:
            self.send(worker, BATCH_HEAD.pack(0, END_OF_BATCHES, 0, 0, 0, 0), batch=False)

    def finish(self) -> None:
        """No more batches: each worker's input ends once what is queued for it is written."""
        for worker in self.workers:
            worker.closing = True
            if not worker.outbuf:
                self._close_input(worker)

    def _close_input(self, worker: _Worker) -> None:
        if worker.proc.stdin is not None and not worker.proc.stdin.closed:
            worker.proc.stdin.close()

    @property
    def done(self) -> bool:
        return all(w.eof for w in self.workers)

    def pump(self, timeout: float | None) -> None:
        """Write and read what can be, waiting up to ``timeout`` seconds (None: until something happens)."""
        for key, _mask in self.selector.select(timeout):
            worker: _Worker = key.data
            if key.fd == worker.in_fd:
                try:
                    n = os.write(worker.in_fd, worker.outbuf)
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise _WorkerDied from None
                del worker.outbuf[:n]
                if not worker.outbuf:
                    self.selector.unregister(worker.in_fd)
                    if worker.closing:
                        self._close_input(worker)
                continue
            try:
                chunk = os.read(worker.out_fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                self.selector.unregister(worker.out_fd)
                worker.eof = True
                if worker.inflight or not worker.closing or (self.mode == "subject" and worker.root is None):
                    raise _WorkerDied
                continue
            worker.inbuf += chunk
            self._parse(worker)

    def _parse(self, worker: _Worker) -> None:
        buf = worker.inbuf
        pos = 0
        if worker.leaves is None:
            worker.leaves = buf[:1] == b"L"
            pos = 1
            if self.mode == "subject" and not worker.leaves:  # it could not load safe-pysha3: no leaves
                raise _WorkerDied
        head = RESULT_HEAD.size
        while len(buf) - pos >= head:
            batch, kind, length = RESULT_HEAD.unpack_from(buf, pos)
            if len(buf) - pos - head < length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            if kind == ROOT:
                worker.root = payload
                continue
            self.results.append((batch, kind, payload))
            if kind == BUCKETS:
                worker.groups += 1
            else:
                worker.inflight -= 1
        del buf[:pos]

    def close(self) -> None:
        """Stop every worker (on success they have ended already) and reap it."""
        for worker in self.workers:
            if worker.proc.poll() is None and not worker.eof:
                worker.proc.kill()
            for stream in (worker.proc.stdin, worker.proc.stdout):
                if stream is not None and not stream.closed:
                    stream.close()
            worker.proc.wait()
        self.selector.close()


class _Batch:
    __slots__ = ("directory", "key", "prefix", "names")

    def __init__(self, directory: str, key: tuple[int, int], prefix: str, names: bytes) -> None:
        self.directory, self.key, self.prefix = directory, key, prefix
        self.names = names  # UTF-8, NUL-separated: a tenth of the memory of a list of str

    def name_list(self) -> list[str]:
        return self.names.decode("utf-8").split("\0")

    def message(self, batch_id: int) -> bytes:
        directory, prefix = os.fsencode(self.directory), self.prefix.encode("utf-8")
        head = BATCH_HEAD.pack(batch_id, len(directory), len(prefix), len(self.names), *self.key)
        return b"".join((head, directory, prefix, self.names))

    def ref(self, index: int, size: int, mtime_ns: int, ino: int, dev: int) -> FileRef:
        name = self.name_list()[index]
        return FileRef(self.prefix + name, os.path.join(self.directory, name), size, mtime_ns, ino, dev)

    def error(self, index: int, kind: str, text: str) -> ManifestError:
        rel = self.prefix.rstrip("/") or "." if index < 0 else self.prefix + self.name_list()[index]
        return _failure(rel, kind, text)


OnBatch = Callable[[_Batch, int, set[int], bytes], int]
"""Receives a batch's answer: (batch, files hashed, indices handed back, the rest of the payload); returns its bytes."""


class _ManyFiles:
    """One run over a plain tree of many files: list it, hand batches to the workers, take their answers.

    ``on_batch`` receives each batch's answer as it arrives; files handed back
    are collected as :class:`FileRef` in ``handed_back``, for ``hash_files``.
    """

    def __init__(self, mode: str, limit: int, count: int, progress: _Progress | None) -> None:
        self.mode, self.limit, self.count, self.progress = mode, limit, count, progress
        self.batches: dict[int, _Batch] = {}
        self.handed_back: list[FileRef] = []
        self.failures: list[tuple[int, ManifestError]] = []  # (batch, error)
        self.groups: dict[int, list[bytes]] = {}  # subject mode: first byte -> each worker's sorted leaves
        self.files = 0
        self._listed = False  # progress is reported once the listing is done (``start`` needs the total)
        self._unreported = [0, 0]

    def run(
        self,
        root: str,
        root_key: tuple[int, int],
        ignored: frozenset[str],
        on_batch: OnBatch,
        at_end: Callable[[_Tail], None] | None = None,
    ) -> bool:
        """Hash the tree; False when it is not one for workers (too few files, or walk's to handle).

        Subject mode: ``at_end`` is called once every batch is hashed, while
        the workers send their sorted leaves and wait for their segments of
        the tree (:class:`_Tail`).
        """
        from collections import deque

        queue: deque[int] = deque()
        pool: _Workers | None = None
        try:
            try:
                for batch_id, (directory, dkey, prefix, names) in enumerate(_plain_listing(root, ignored, root_key)):
                    self.batches[batch_id] = _Batch(directory, dkey, prefix, "\0".join(names).encode("utf-8"))
                    queue.append(batch_id)
                    self.files += len(names)
                    if pool is None:
                        if self.files < MANY_FILES:
                            continue
                        pool = _Workers(self.count, self.mode, self.limit)
                    self._dispatch(pool, queue)
                    pool.pump(0)
                    self._take(pool, on_batch)
            except (_GiveUp, _WorkerDied):
                return False  # nothing was reported yet: walk and hash_files start over
            if pool is None:
                return False
            self._listed = True
            if self.progress is not None:
                self.progress.start(self.files, -1)  # the bytes are known once read
                self.progress.advance(*self._unreported)
            try:
                # after a failure nothing more is sent (_dispatch), only what is in flight is awaited: a wait
                # with nothing in flight would be for ever
                while (queue and not self.failures) or any(w.inflight for w in pool.workers):
                    self._dispatch(pool, queue)
                    pool.pump(None)
                    self._take(pool, on_batch)
                if not self.failures:  # else the workers are stopped: nothing they send matters
                    if self.mode == "subject":
                        assert at_end is not None  # the subject is folded by it
                        pool.end_batches()
                        at_end(_Tail(self, pool, on_batch))
                    pool.finish()
                    while not pool.done:
                        pool.pump(None)
                        self._take(pool, on_batch)
            except _WorkerDied:
                codes = [w.proc.poll() for w in pool.workers]
                raise ManifestError(
                    f"{root}: a hashing process ended unexpectedly (exit codes {codes})",
                    hint="hash it again; if it happens again, report it",
                ) from None
        finally:
            if pool is not None:
                pool.close()
        if self.failures:
            raise min(self.failures, key=lambda f: f[0])[1]  # the first batch's: as the threads' path would
        return True

    def _dispatch(self, pool: _Workers, queue: Any) -> None:
        while queue and not self.failures:
            worker = pool.idle()
            if worker is None:
                return
            batch_id = queue.popleft()
            pool.send(worker, self.batches[batch_id].message(batch_id))

    def _take(self, pool: _Workers, on_batch: OnBatch) -> None:
        results, pool.results = pool.results, []
        for batch_id, kind, payload in results:
            if kind == BUCKETS:
                self.groups.setdefault(batch_id, []).append(payload)
                continue
            batch = self.batches.pop(batch_id)
            if kind == ERROR:
                (index,) = ERROR_HEAD.unpack_from(payload)
                what, _, text = payload[ERROR_HEAD.size :].decode("utf-8", "replace").partition("\0")
                self.failures.append((batch_id, batch.error(index, what, text)))
                continue
            hashed, back = OK_HEAD.unpack_from(payload)
            pos = OK_HEAD.size
            indices: set[int] = set()
            for _ in range(back):
                index, size, mtime_ns, ino, dev = HANDED_BACK.unpack_from(payload, pos)
                self.handed_back.append(batch.ref(index, size, mtime_ns, ino, dev))
                indices.add(index)
                pos += HANDED_BACK.size
            nbytes = on_batch(batch, hashed, indices, payload[pos:])
            if not self._listed:
                self._unreported[0] += hashed
                self._unreported[1] += nbytes
            elif self.progress is not None:
                self.progress.advance(hashed, nbytes)


class _Tail:
    """The end of a subject-mode run: the workers' sorted leaves in, their segments of the tree out."""

    def __init__(self, run: _ManyFiles, pool: _Workers, on_batch: OnBatch) -> None:
        self.run, self.pool, self.on_batch = run, pool, on_batch
        self.count = len(pool.workers)

    def _until(self, done: Callable[[], bool]) -> None:
        """Take what the workers sent (a ``pump`` may have read it already), and wait for more until ``done()``."""
        self.run._take(self.pool, self.on_batch)
        while not done():
            self.pool.pump(None)
            self.run._take(self.pool, self.on_batch)

    def group(self, first: int) -> list[bytes]:
        """Each worker's sorted leaves whose first byte is ``first`` (waits for them)."""
        self._until(lambda: len(self.run.groups.get(first, ())) == self.count)
        return self.run.groups.pop(first)

    def send(self, index: int, kind: int, data: bytes = b"") -> None:
        """A part of worker ``index``'s segment (``FOLD_PAIRED``, ``FOLD_RAW``) or its end (``FOLD_END``)."""
        worker = self.pool.workers[index]
        self.pool.send(worker, FOLD_HEAD.pack(kind, len(data)) + data, batch=False)
        self.pool.flush(worker)  # written, not read: leaves sent ahead wait in the workers, not here
        # a worker behind: wait rather than queue its leaves here
        self._until(lambda: len(worker.outbuf) <= 1 << 22)

    def roots(self) -> list[bytes]:
        """Each worker's root of its segment, once it sent it."""
        self._until(lambda: all(w.root is not None for w in self.pool.workers))
        return [w.root or b"" for w in self.pool.workers]


def _plain_root(root: str, workers: int | None) -> tuple[tuple[int, int], int] | None:
    """((dev, inode), worker count) when ``root`` is a directory worth trying with workers; None otherwise."""
    count = workers or usable_cores()
    if count < 2 or not sys.executable:
        return None
    try:
        st = os.lstat(root)
    except OSError:
        return None  # walk says why
    if not stat.S_ISDIR(st.st_mode):
        return None
    return (st.st_dev, st.st_ino), count


def _limit(shard_size: int | None) -> int:
    """Largest file a worker hashes: larger ones go to threads (and shards)."""
    return SMALL_FILE if shard_size is None else min(SMALL_FILE, shard_size)


def hash_many(
    root: str,
    *,
    ignore: Iterable[str],
    shard_size: int | None,
    workers: int | None,
    progress: _Progress | None,
    entry: Callable[[str, int, bytes, int | None], _T],
) -> tuple[list[_T], list[bytes], bool] | None:
    """A plain tree of many files hashed by worker processes: (entries, their leaves, whether shards were used).

    ``entry(path, size, sha256, offset)`` makes each entry. None when the tree
    is not one for workers (fewer than ``MANY_FILES`` files, or anything
    ``walk`` has a policy for): then call ``walk`` and ``hash_files``.
    """
    plain = _plain_root(root, workers)
    if plain is None:
        return None
    key, count = plain
    entries: list[_T] = []
    leaves: list[bytes] = []
    unleaved: list[tuple[str, int, bytes]] = []  # files whose leaves the workers did not compute
    add_entry = entries.append

    def on_batch(batch: _Batch, hashed: int, back: set[int], rest: bytes) -> int:
        sizes = struct.unpack_from(f"<{hashed}Q", rest)
        digests = rest[8 * hashed : 40 * hashed]
        computed = rest[40 * hashed :]
        names = batch.name_list()
        if back:
            names = [n for i, n in enumerate(names) if i not in back]
        prefix = batch.prefix
        for i, (name, size) in enumerate(zip(names, sizes, strict=True)):
            digest = digests[32 * i : 32 * i + 32]
            add_entry(entry(prefix + name, size, digest, None))
            if not computed:
                unleaved.append((prefix + name, size, digest))
        leaves.extend(computed[i : i + 32] for i in range(0, len(computed), 32))
        return sum(sizes)

    run = _ManyFiles("manifest", _limit(shard_size), count, progress)
    if not run.run(root, key, frozenset(p.strip("/") for p in ignore), on_batch):
        return None
    _take_early(0)  # the tree had workers of its own (a large file handed back starts others)
    used_shards = False
    if run.handed_back:
        for rel, size, digest, offset in _hash_handed_back(run.handed_back, shard_size, workers, progress):
            used_shards = used_shards or offset is not None
            add_entry(entry(rel, size, digest, offset))
            unleaved.append((rel if offset is None else f"{rel}:{offset}:{offset + size}", size, digest))
    leaves.extend(file_leaves(unleaved))
    return entries, leaves, used_shards


def _hash_handed_back(
    refs: list[FileRef], shard_size: int | None, workers: int | None, progress: _Progress | None
) -> Iterator[tuple[str, int, bytes, int | None]]:
    """(path, size, sha256, offset) of the files the workers handed back, hashed by ``hash_files``'s threads."""
    results = hash_files(refs, shard_size=shard_size, workers=workers, progress=progress.advance if progress else None)
    for ref, result in zip(refs, results, strict=True):
        if isinstance(result, bytes):
            yield ref.rel, ref.size, result, None
        else:
            for offset, length, digest in result:
                yield ref.rel, length, digest, offset


def summarize_many(
    root: str,
    *,
    ignore: Iterable[str],
    shard_size: int | None,
    workers: int | None,
    progress: _Progress | None,
) -> tuple[bytes, int, int, int, bool] | None:
    """(subject, files, bytes, entries, whether shards were used) of a plain tree of many files.

    The entries are not kept: the workers keep their leaves, grouped by first
    byte, and send each group sorted once every file is hashed; the root is
    folded group after group (:func:`provenance.merkle.root_of_sorted`) as they
    arrive, so this process holds one group at a time and the workers 32 bytes
    a file between them. None when the tree is not one for workers, as
    :func:`hash_many`.
    """
    if _pysha3_folder() == "":
        return None  # workers compute leaves with safe-pysha3 only
    plain = _plain_root(root, workers)
    if plain is None:
        return None
    key, count = plain
    totals = [0, 0]  # bytes, entries

    def on_batch(batch: _Batch, hashed: int, back: set[int], rest: bytes) -> int:
        (nbytes,) = U64.unpack_from(rest)
        totals[0] += nbytes
        totals[1] += hashed
        return int(nbytes)

    subject = b""
    used_shards = False

    def at_end(tail: _Tail) -> None:
        nonlocal subject, used_shards
        extra: list[tuple[str, int, bytes]] = []  # files handed back: hashed here meanwhile
        for rel, size, digest, offset in _hash_handed_back(run.handed_back, shard_size, workers, progress):
            used_shards = used_shards or offset is not None
            extra.append((rel if offset is None else f"{rel}:{offset}:{offset + size}", size, digest))
            totals[0] += size
        totals[1] += len(extra)
        groups: list[list[bytes]] = [[] for _ in range(256)]
        for leaf in file_leaves(extra):
            groups[leaf[0]].append(leaf)

        def merged(first: int) -> list[bytes]:
            leaves = groups[first]
            groups[first] = []
            for run_of in tail.group(first):
                leaves += [run_of[i : i + 32] for i in range(0, len(run_of), 32)]
            leaves.sort()  # sorted runs, one per worker: a merge
            return leaves

        subject = _fold_in_workers(tail, merged, totals[1])

    run = _ManyFiles("subject", _limit(shard_size), count, progress)
    if not run.run(root, key, frozenset(p.strip("/") for p in ignore), on_batch, at_end):
        return None
    return subject, run.files, totals[0], totals[1], used_shards


def _fold_in_workers(tail: _Tail, merged: Callable[[int], list[bytes]], count: int) -> bytes:
    """The root over ``count`` leaves, sorted group after group by ``merged(first)``, folded by the workers.

    The tree's level above the last (:func:`provenance.merkle.root_of_sorted`)
    has ``W = 2^(D-1)`` nodes: the ``n - c`` largest leaves, then the hashes of
    pairs of the ``c = 2n - 2W`` smallest. Cut into ``k`` aligned segments of
    ``W/k`` nodes (k a power of two, one per worker), each is a perfect subtree:
    a segment is at most a range of raw leaves and a range of leaves to pair,
    each contiguous in sorted order. The leaves are sent to their segment's
    worker as they are merged; the k roots fold to the tree's root here.
    """
    depth = (2 * count - 1).bit_length() - 1
    width = 1 << (depth - 1) if count > 1 else 1
    k = 1 << (tail.count.bit_length() - 1)  # the largest power of two of at most the workers
    while k > width:
        k //= 2
    if k < 2:  # a tree too small to share out
        for index in range(tail.count):
            tail.send(index, FOLD_END)
        return root_of_sorted((leaf for first in range(256) for leaf in merged(first)), count)
    paired = 2 * count - 2 * width  # c: the smallest leaves, hashed in pairs
    raw = count - paired  # the largest, as they are; they come first on the level
    segment = width // k
    ranges: list[tuple[int, int, int, int]] = []  # (first rank, end rank, worker, kind)
    for j in range(k):
        start, end = j * segment, (j + 1) * segment  # positions on the level
        if end > raw:
            ranges.append((2 * (max(start, raw) - raw), 2 * (end - raw), j, FOLD_PAIRED))
        if start < raw:
            ranges.append((paired + start, paired + min(end, raw), j, FOLD_RAW))
    ranges.sort()
    pending = iter(ranges)
    _, end_rank, index, kind = next(pending)
    rank = 0
    for first in range(256):
        leaves = merged(first)
        pos = 0
        while pos < len(leaves):
            take = min(len(leaves) - pos, end_rank - rank)
            tail.send(index, kind, b"".join(leaves[pos : pos + take]))
            pos += take
            rank += take
            if rank == end_rank and rank < count:
                _, end_rank, index, kind = next(pending)
    for index in range(tail.count):
        tail.send(index, FOLD_END)
    level = tail.roots()[:k]
    while len(level) > 1:
        level = [_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak256(a + b if a < b else b + a)

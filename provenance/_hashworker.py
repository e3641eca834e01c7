"""A process that hashes for :mod:`provenance._hashing`: many small files, or large files one at a time.

Why a process: a small file costs an ``open``, an ``fstat``, a ``read``, an
``fstat`` and a ``close`` plus interpreter work, and the interpreter work holds
the GIL, so threads do not run it in parallel (measured: two threads are slower
than one). :mod:`provenance._hashing` starts one of these per usable core with
``python -I -S`` (a fresh interpreter of about 12 MiB: nothing of the parent's
memory is shared or copied, and nothing is forked from a process that may run
threads), sends it directories and file names, and reads digests back.

Large files (mode ``pieces``) go to processes too, for another reason:
threads hash them at the CPU's SHA-256 speed only while nothing else in the
process wants the GIL. Each 120 KiB read and each digest update takes the GIL
back for a moment, so a thread running Python code meanwhile (``provenance
verify`` imports its rules and reads the chain while the model is hashed)
stalls every hashing thread for up to the interpreter's switch interval, read
after read (measured: verify's 0.12 s of set-up overlapped with the hashing
made the hashing 0.15 s slower). A process of its own shares the cores, not
the GIL.

This module imports only the standard library (and safe-pysha3's keccak, when
the parent passes its folder) so that it starts in about 15 ms.

Checks on every file, the same as the threads' path in ``_hashing``:

* the directory is opened with ``O_NOFOLLOW | O_DIRECTORY`` and must be the
  directory the listing saw (device and inode), so a directory swapped for a
  link after the listing is detected; files are opened relative to it
  (``openat``) with ``O_NOFOLLOW`` (a file swapped for a link is refused) and
  ``O_NONBLOCK`` (a file swapped for a FIFO does not block the open);
* the opened file must be a regular file; a file larger than the limit is
  handed back with what ``fstat`` said, for the parent's threads to hash;
* after one ``read`` of one byte more than its size, ``fstat`` must show the
  same size, modification time and inode, and the bytes read must be its size:
  a file written while it was hashed is reported, naming it.

Protocol (little-endian; the parent is ``_hashing._Workers``):

* start: the worker writes ``b"L"`` (it computes Merkle leaves) or ``b"N"``;
* parent to worker, per batch: ``<IIIIQQ`` (batch id, length of the directory
  path, of the prefix, of the names, the directory's device and inode), then
  the directory path, the prefix (the directory's path relative to the root,
  ``/``-terminated, UTF-8) and the file names joined by NUL. End of input ends
  the worker.
* worker to parent, per batch: ``<III`` (batch id, kind, payload length), then
  the payload. Kind ``OK``: ``<II`` (files hashed, files handed back), the
  handed-back files as ``<IQqQQ`` (index in the batch, size, mtime_ns, inode,
  device), then, in ``manifest`` mode, the sizes (``Q`` each), the SHA-256
  digests and the leaves (32 bytes each) of the hashed files in batch order;
  in ``subject`` mode the bytes hashed (``Q``): the leaves stay in the worker,
  grouped by their first byte. Kind ``ERROR``: ``<i`` (index in the batch, -1
  for the directory), then ``kind NUL text`` (UTF-8).
* subject mode, after the batches: the parent sends a batch header whose
  directory length is ``END_OF_BATCHES``; the worker sends its leaves as 256
  ``BUCKETS`` messages (the batch id is the first byte), each group sorted;
  the parent merges them group after group (a pipe's worth in flight, the rest
  waits here) and sends each worker its segment of the tree's level above the
  last, in ``<II`` (kind, length) parts: ``FOLD_PAIRED`` leaves to hash in
  pairs, ``FOLD_RAW`` leaves as they are, ``FOLD_END``; the worker answers
  ``ROOT`` with the segment's root (32 bytes). See ``_hashing.summarize_many``.

Protocol of mode ``pieces`` (the parent is ``_hashing._hash_in_processes``),
one task at a time, each hashed by :func:`hash_piece` as ``_hashing``'s threads
hash theirs (the file opened with the flags above; after the read, what
``fstat`` says and the bytes read must be what the walk saw; a whole file is
read to its end, so growth shows):

* parent to worker: ``PIECE`` (offset, or ``WHOLE`` for the whole file; length;
  the walk's size, mtime_ns, inode and device; length of the path), then the
  path. End of input ends the worker.
* worker to parent: ``REPLY`` (kind, value). ``PROGRESS``: ``value`` more bytes
  were hashed. ``DONE``: the last ``value`` bytes of the task were hashed, and
  its SHA-256 (32 bytes) follows. ``FAILED``: ``value`` bytes of
  ``kind NUL text`` (UTF-8, the kinds of ``_hashing._failure``) follow.

A worker in this mode also ends, mid-file, once its parent has gone (killed,
or stopped listening): its next progress reply finds the pipe closed.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
from hashlib import sha256

TYPE_CHECKING = False  # typing itself would cost 6 ms of this process's ~20 ms start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO, Protocol

    class _Digest(Protocol):
        def digest(self) -> bytes: ...

    Keccak = Callable[[bytes], _Digest]
    """safe-pysha3's ``keccak_256`` as used here (the package ships no types)."""

OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
DIR_FLAGS = (
    os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_DIRECTORY", 0)
)

BATCH_HEAD = struct.Struct("<IIIIQQ")
RESULT_HEAD = struct.Struct("<III")
OK_HEAD = struct.Struct("<II")
HANDED_BACK = struct.Struct("<IQqQQ")
ERROR_HEAD = struct.Struct("<i")
U64 = struct.Struct("<Q")
FOLD_HEAD = struct.Struct("<II")
OK, ERROR, BUCKETS, ROOT = 0, 1, 2, 3
PIECE = struct.Struct("<qQQqQQI")
REPLY = struct.Struct("<BQ")
PROGRESS, DONE, FAILED = 0, 1, 2
WHOLE = -1
"""A piece's offset when the whole file is hashed (read to its end)."""
READ_SIZE = 120 * 1024
"""Bytes per read of a large file, into a reused buffer: just under glibc's 128 KiB mmap threshold
(``_hashing``'s module docstring says why)."""
PROGRESS_STEP = 16 * 1024 * 1024
"""Large files report progress (and the threads check for an abort) every so many bytes."""
FOLD_PAIRED, FOLD_RAW, FOLD_END = 0, 1, 2
END_OF_BATCHES = 0xFFFFFFFF
"""In a batch header's directory length: no more batches (subject mode: send the leaves, then fold)."""

_KECCAK_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
_HEAD = (0x60).to_bytes(32, "big")
_PADS = [b"\0" * (-k % 32) for k in range(32)]





def change_reason(
    size: int, mtime_ns: int, ino: int, dev: int, after: os.stat_result, read: int, expected: int
) -> str | None:
    """Why a file read is not the file seen before (None: it is). The one wording of both paths."""
    if after.st_size == size and after.st_mtime_ns == mtime_ns and after.st_ino == ino and read == expected:
        return None
    if after.st_ino != ino or after.st_dev != dev:
        return "it was replaced by another file"
    if after.st_size != size:
        return f"size {size} became {after.st_size}"
    if after.st_mtime_ns != mtime_ns:
        return "its modification time changed"
    return f"read {read} bytes, expected {expected}"


class Failure(Exception):
    """One file (or the directory: index -1) could not be hashed; ``kind`` says how (see ``_hashing``)."""

    def __init__(self, index: int, kind: str, text: str = "") -> None:
        super().__init__(index, kind, text)
        self.index, self.kind, self.text = index, kind, text


def load_keccak(folder: str) -> Keccak | None:
    """safe-pysha3's keccak_256 from ``folder``, checked on the empty input; None without it."""
    if not folder:
        return None
    sys.path.append(folder)
    try:
        from sha3 import keccak_256
    except ImportError:
        return None
    constructor: Keccak = keccak_256
    return constructor if keccak_256(b"").digest() == _KECCAK_EMPTY else None


def hash_batch(
    directory: bytes,
    key: tuple[int, int],
    prefix: bytes,
    names: list[bytes],
    limit: int,
    keccak: Keccak | None,
    buckets: list[bytearray] | None = None,
) -> tuple[list[int], bytes, bytes, list[tuple[int, int, int, int, int]]]:
    """Hash ``names`` in ``directory``: (sizes, digests, leaves, handed back) of the files up to ``limit`` bytes.

    Digests and leaves are 32 bytes a file, in the order of ``names`` (files
    handed back left out); with ``buckets`` the leaves go to the bucket of
    their first byte instead. Raises :class:`Failure` at the first file that
    cannot be hashed.
    """
    open_, fstat, read_, close = os.open, os.fstat, os.read, os.close
    is_reg = stat.S_ISREG
    sizes: list[int] = []
    digests = bytearray()
    leaves = bytearray()
    back: list[tuple[int, int, int, int, int]] = []
    try:
        dfd = open_(directory, DIR_FLAGS)
    except FileNotFoundError:
        raise Failure(-1, "gone") from None
    except OSError as err:
        raise Failure(-1, "open", err.strerror or str(err)) from None
    try:
        dst = fstat(dfd)
        if (dst.st_dev, dst.st_ino) != key:
            raise Failure(-1, "changed", "it was replaced by another directory")
        for i, name in enumerate(names):
            try:
                fd = open_(name, OPEN_FLAGS, dir_fd=dfd)
            except FileNotFoundError:
                raise Failure(i, "gone") from None
            except OSError as err:
                raise Failure(i, "open", err.strerror or str(err)) from None
            try:
                st = fstat(fd)
                if not is_reg(st.st_mode):
                    raise Failure(i, "changed", "it was replaced by another file")
                size = st.st_size
                if size > limit:
                    back.append((i, size, st.st_mtime_ns, st.st_ino, st.st_dev))
                    continue
                data = read_(fd, size + 1)  # one byte more than expected shows growth
                while len(data) < size:  # a short read (rare for regular files): read on
                    more = read_(fd, size + 1 - len(data))
                    if not more:
                        break
                    data += more
                after = fstat(fd)
                if after.st_size != size or after.st_mtime_ns != st.st_mtime_ns or len(data) != size:
                    why = change_reason(size, st.st_mtime_ns, st.st_ino, st.st_dev, after, len(data), size)
                    raise Failure(i, "changed", why or "")
            except OSError as err:
                raise Failure(i, "read", err.strerror or str(err)) from None
            finally:
                close(fd)
            digest = sha256(data).digest()
            sizes.append(size)
            digests += digest
            if keccak is not None:
                path = prefix + name
                n = len(path)
                encoded = _HEAD + size.to_bytes(32, "big") + digest + n.to_bytes(32, "big") + path + _PADS[n & 31]
                leaf = keccak(keccak(encoded).digest()).digest()
                if buckets is None:
                    leaves += leaf
                else:  # subject mode: straight to its group (a batch that fails ends the whole run)
                    buckets[leaf[0]] += leaf
    finally:
        close(dfd)
    return sizes, bytes(digests), bytes(leaves), back


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    data = stream.read(n)
    if len(data) != n:
        return None
    return data


def _pair(keccak: Keccak, a: bytes, b: bytes) -> bytes:
    return keccak(a + b if a < b else b + a).digest()


FOLD_CHUNK = 4096
"""Nodes folded at a time: a list per level of a chunk, not of the whole segment."""


def fold(parts: list[bytes | bytearray], keccak: Keccak) -> bytes:
    """Root of a perfect tree over the nodes of ``parts`` in order (32 bytes each, a power of two of them).

    Consecutive pairs are hashed, a chunk of ``FOLD_CHUNK`` nodes at a time; the
    chunks' roots fold on a stack (as a binary counter does).
    """
    total = sum(len(p) for p in parts) // 32
    chunk = min(total, FOLD_CHUNK)
    stack: list[tuple[int, bytes]] = []
    nodes = (p[i : i + 32] for p in parts for i in range(0, len(p), 32))
    for _ in range(total // chunk):
        level = [bytes(next(nodes)) for _ in range(chunk)]
        height = 0
        while len(level) > 1:
            it = iter(level)
            level = [keccak(a + b if a < b else b + a).digest() for a, b in zip(it, it, strict=True)]
            height += 1
        node = level[0]
        while stack and stack[-1][0] == height:
            node = _pair(keccak, stack.pop()[1], node)
            height += 1
        stack.append((height, node))
    return stack[0][1]


def _fold_segment(stream_in: BinaryIO, keccak: Keccak) -> bytes | None:
    """Read FOLD parts until ``FOLD_END``: the root of this segment (None if the input ended)."""
    pairs = bytearray()  # hashes of consecutive leaves, as they come
    raw = bytearray()  # leaves that are not paired
    carry = b""  # a leaf whose partner is in the next part
    while True:
        head = _read_exactly(stream_in, FOLD_HEAD.size)
        if head is None:
            return None
        kind, length = FOLD_HEAD.unpack(head)
        data = _read_exactly(stream_in, length) if length else b""
        if data is None:
            return None
        if kind == FOLD_PAIRED:
            data = carry + data
            even = len(data) - len(data) % 64
            pairs += b"".join(_pair(keccak, data[i : i + 32], data[i + 32 : i + 64]) for i in range(0, even, 64))
            carry = data[even:]
        elif kind == FOLD_RAW:
            raw += data
        else:  # the segment is the raw leaves then the pairs (their order on the level above the last)
            return fold([raw, pairs], keccak) if raw or pairs else bytes(32)  # no segment: no root


def serve(stream_in: BinaryIO, stream_out: BinaryIO, mode: str, limit: int, keccak: Keccak | None) -> None:
    """Answer batches from ``stream_in`` on ``stream_out`` until the input ends."""
    write = stream_out.write
    write(b"L" if keccak is not None else b"N")
    stream_out.flush()
    subject = mode == "subject"
    buckets = [bytearray() for _ in range(256)]
    while True:
        head = _read_exactly(stream_in, BATCH_HEAD.size)
        if head is None:
            break
        batch, n_dir, n_prefix, n_names, dev, ino = BATCH_HEAD.unpack(head)
        if n_dir == END_OF_BATCHES:
            if subject and keccak is not None:
                _send_groups(buckets, stream_out)
                root = _fold_segment(stream_in, keccak)
                if root is None:
                    break
                write(RESULT_HEAD.pack(0, ROOT, 32) + root)
                stream_out.flush()
            continue
        body = _read_exactly(stream_in, n_dir + n_prefix + n_names)
        if body is None:
            break
        directory, prefix = body[:n_dir], body[n_dir : n_dir + n_prefix]
        names = body[n_dir + n_prefix :].split(b"\0")
        try:
            sizes, digests, leaves, back = hash_batch(
                directory, (dev, ino), prefix, names, limit, keccak, buckets if subject else None
            )
        except Failure as failure:
            payload = ERROR_HEAD.pack(failure.index) + f"{failure.kind}\0{failure.text}".encode()
            write(RESULT_HEAD.pack(batch, ERROR, len(payload)) + payload)
            stream_out.flush()
            continue
        parts = [OK_HEAD.pack(len(sizes), len(back))]
        parts += [HANDED_BACK.pack(*b) for b in back]
        if subject:
            parts.append(U64.pack(sum(sizes)))
        else:
            parts += [struct.pack(f"<{len(sizes)}Q", *sizes), digests, leaves]
        payload = b"".join(parts)
        write(RESULT_HEAD.pack(batch, OK, len(payload)) + payload)
        stream_out.flush()


def _send_groups(buckets: list[bytearray], stream_out: BinaryIO) -> None:
    """Each group of leaves sorted here, in parallel, and sent on its own: the parent merges sorted runs."""
    for first in range(256):
        group = buckets[first]
        payload = b"".join(sorted(group[i : i + 32] for i in range(0, len(group), 32)))
        buckets[first] = bytearray()  # its memory goes as it is sent
        stream_out.write(RESULT_HEAD.pack(first, BUCKETS, len(payload)) + payload)
    stream_out.flush()


def hash_piece(
    path: bytes, offset: int, length: int, seen: tuple[int, int, int, int], report: Callable[[int], None],
    buf: bytearray | None = None,
) -> tuple[bytes, int]:
    """SHA-256 of the file at ``path`` (``offset == WHOLE``) or of its ``length`` bytes at ``offset``, and
    the bytes hashed since the last ``report``.

    ``seen`` is the walk's (size, mtime_ns, inode, device); ``report(n)`` is
    told every ``PROGRESS_STEP`` bytes (it may raise, to stop); ``buf`` the
    buffer to read into (``READ_SIZE`` bytes). Raises :class:`Failure`
    (index 0) when the file cannot be read or is not the one the walk saw.
    Both paths hash large files with it: these workers, and
    ``_hashing``'s threads.
    """
    size, mtime_ns, ino, dev = seen
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        raise Failure(0, "gone") from None
    except OSError as err:
        raise Failure(0, "open", err.strerror or str(err)) from None
    h = sha256()
    update = h.update
    if buf is None:
        buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    read = pending = 0
    try:
        if offset == WHOLE:
            expected = size
            try:  # noqa: SIM105 - contextlib would cost this process an import
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except (AttributeError, OSError):  # advisory only
                pass
            readv = os.readv
            while n := readv(fd, [buf]):  # to the end: a file that grew reads more than its size
                update(view[:n])
                read += n
                pending += n
                if pending >= PROGRESS_STEP:
                    report(pending)
                    pending = 0
        else:
            expected = length
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
                    report(pending)
                    pending = 0
        why = change_reason(size, mtime_ns, ino, dev, os.fstat(fd), read, expected)
    except OSError as err:
        raise Failure(0, "read", err.strerror or str(err)) from None
    finally:
        os.close(fd)
    if why is not None:
        raise Failure(0, "changed", why)
    return h.digest(), pending


def serve_pieces(stream_in: BinaryIO, stream_out: BinaryIO) -> None:
    """Answer ``PIECE`` tasks from ``stream_in`` on ``stream_out``, one at a time, until the input ends."""

    def progress(nbytes: int) -> None:  # BrokenPipeError once the parent has gone: this worker ends
        stream_out.write(REPLY.pack(PROGRESS, nbytes))
        stream_out.flush()

    while (head := _read_exactly(stream_in, PIECE.size)) is not None:
        offset, length, size, mtime_ns, ino, dev, n_path = PIECE.unpack(head)
        path = _read_exactly(stream_in, n_path)
        if path is None:
            break
        try:
            digest, pending = hash_piece(path, offset, length, (size, mtime_ns, ino, dev), progress)
            reply = REPLY.pack(DONE, pending) + digest
        except Failure as failure:
            payload = f"{failure.kind}\0{failure.text}".encode()
            reply = REPLY.pack(FAILED, len(payload)) + payload
        stream_out.write(reply)
        stream_out.flush()


def main(argv: list[str]) -> int:
    """``_hashworker.py MODE LIMIT [PYSHA3_FOLDER]``: MODE is ``manifest``, ``subject`` or ``pieces``."""
    if argv[0] == "pieces":  # started in a process group of its own: a terminal's Ctrl-C is the parent's
        try:
            serve_pieces(sys.stdin.buffer, sys.stdout.buffer)
        except BrokenPipeError:  # the parent stopped listening (an error elsewhere, or it ended)
            return 1
        return 0
    import signal  # (not in mode pieces: with enum, 4 ms of its start)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends the workers
    mode, limit = argv[0], int(argv[1])
    keccak = load_keccak(argv[2] if len(argv) > 2 else "")
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer, mode, limit, keccak)
    except BrokenPipeError:  # the parent stopped listening (an error elsewhere, or it ended)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

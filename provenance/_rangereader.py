"""An indexer's block ranges read in a process of its own.

A long sync in one process is bound by one core: decoding a range's logs and
storing the one before need the same GIL, and the storing thread waits for it
at every row (sqlite3 lets the GIL go around each row's step, and takes it back
only when the decoding thread yields it, up to the switch interval later). Here
a second process asks the node, decodes the logs and makes the index rows
(:class:`provenance.indexer.RangeReader`, the code the indexer runs in its own
process otherwise); the indexer's process only stores them. Rows cross as
``marshal`` (100,000 rows load in about 0.07 s; pickled events took 0.87 s).

The child gets the parent's ``sys.path`` and the ledger's reading settings
through its stdin (the RPC URL may carry a provider's key: it is never on a
command line); its log records come back with each answer and are logged here;
an error it meets is raised here as it was raised there (pickled), so a refused
range shrinks and a node that is down fails the sync just as in one process.
If the process ends, or cannot hand over a range, :meth:`ReaderProcess.read`
says so and the indexer reads on by itself: nothing is lost or stored twice.

Frames are an 8-byte little-endian length and a ``marshal`` payload: the
parent's ``sys.path``, then (url, chain id, registry, timeout, retry fields, log
level), then requests ``(start, end)``, each answered with ``(status, payload,
log records)``. The child ends at the end of its input.
"""

from __future__ import annotations

import dataclasses
import logging
import marshal
import pickle
import struct
import subprocess
import sys
import threading
import traceback
from typing import IO, TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # pragma: no cover
    from provenance.indexer import RangeRead
    from provenance.ledger import Ledger

__all__ = ["ReaderProcess", "ReaderGone"]

log = logging.getLogger("provenance.indexer")

_LENGTH = struct.Struct("<Q")
_READ, _FAILED, _HERE = 0, 1, 2  # answer statuses: the range; an error to raise; read it yourself
_BOOT = (
    "import sys, marshal, struct\n"
    "n, = struct.unpack('<Q', sys.stdin.buffer.read(8))\n"
    "sys.path[:] = marshal.loads(sys.stdin.buffer.read(n))\n"
    "from provenance._rangereader import serve\n"
    "serve(sys.stdin.buffer, sys.stdout.buffer)\n"
)
CLOSE_WAIT = 2.0
"""Seconds a reading process is given to end at the end of its input before it is killed."""


class ReaderGone(Exception):
    """The reading process has ended: the caller reads on by itself."""


def _send(stream: IO[bytes], value: Any) -> None:
    _write(stream, marshal.dumps(value))


def _write(stream: IO[bytes], data: bytes) -> None:
    """One frame of ``data`` (a marshal payload)."""
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next frame's value; None at the end of the input (or a frame cut short)."""
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) != size:
        return None
    return marshal.loads(data)


class ReaderProcess:
    """The parent's side: one process reading ranges for one :meth:`Indexer.sync <provenance.indexer.Indexer.sync>`
    (one range at a time; any thread)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._lock = threading.Lock()
        self._gone: str | None = None

    @property
    def gone(self) -> bool:
        """Whether the process has ended (or was closed): :meth:`read` would raise :class:`ReaderGone`."""
        return self._gone is not None

    @classmethod
    def start(cls, ledger: Ledger, chain_id: int, registry: str) -> ReaderProcess | None:
        """A process reading ``ledger``'s chain as ``ledger`` does; None where none can start, or where the
        ledger cannot be rebuilt in another process (an object that only looks like a
        :class:`~provenance.ledger.Ledger`)."""
        settings = getattr(ledger, "reading_settings", None)
        if settings is None or not sys.executable:
            return None
        url, _chain, _registry, timeout, retry = settings()
        try:
            proc = subprocess.Popen(  # a group of its own: a terminal's Ctrl-C is the indexer's to handle
                [sys.executable, "-I", "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
                process_group=0)
        except OSError:
            return None
        reader = cls(proc)
        level = logging.getLogger("provenance").getEffectiveLevel()
        try:
            assert proc.stdin is not None
            _send(proc.stdin, list(sys.path))
            _send(proc.stdin, (url, chain_id, registry, timeout, dataclasses.asdict(retry), level))
        except OSError:
            reader.close()
            return None
        return reader

    def read(self, start: int, end: int) -> RangeRead | None:
        """Blocks [start, end] as :meth:`RangeReader.read <provenance.indexer.RangeReader.read>` reads them,
        or None when this range must be read by the caller; raises what reading them raised, or
        :class:`ReaderGone` once the process has ended."""
        from provenance._logs import LogAnomaly
        from provenance.indexer import RangeRead

        with self._lock:
            if self._gone is not None:
                raise ReaderGone(self._gone)
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                _send(self._proc.stdin, (start, end))
                answer = _receive(self._proc.stdout)
            except (OSError, ValueError, EOFError):  # a broken pipe; a frame that does not load
                answer = None
            if answer is None:
                self._end()
                self._gone = f"the process reading blocks {start}-{end} ended (exit status {self._proc.returncode})"
                raise ReaderGone(self._gone)
        status, payload, records = answer
        for name, level, message in records:
            logging.getLogger(name).log(level, "%s", message)
        if status == _FAILED:
            raise _rebuilt(payload)
        if status == _HERE:
            log.info("the reading process cannot hand over blocks %s-%s (%s): they are read here", start, end, payload)
            return None
        end_, rows, links, blocks, anomalies = payload
        return RangeRead(end_, rows, links, blocks, [LogAnomaly(*a) for a in anomalies])

    def close(self) -> None:
        """End the process (at the end of its input; killed if it does not end within ``CLOSE_WAIT``)."""
        with self._lock:
            self._gone = self._gone or "closed"
            self._end()

    def _end(self) -> None:
        proc = self._proc
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(CLOSE_WAIT)
        except subprocess.TimeoutExpired:  # still asking the node: nothing of it is needed any more
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- the child's side


class _Kept(logging.Handler):
    """The child's log records, handed to the parent with the next answer."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))

    def take(self) -> list[tuple[str, int, str]]:
        records, self.records = self.records, []
        return records


def _pickled(err: BaseException) -> bytes:
    """``err`` as the parent will raise it (:func:`_rebuilt`), with where it was raised here as a note; an
    error that does not come back the same becomes a ProvenanceError naming it.

    Not ``pickle.dumps(err)``: pickle rebuilds an exception by calling its class with ``err.args``, and a
    class whose ``__init__`` makes its message from other arguments (``LedgerUnavailable(url, detail)``)
    would say something else."""
    err.add_note("raised in the indexer's reading process:\n" + "".join(traceback.format_exception(err)))
    try:
        data = pickle.dumps((type(err), err.args, vars(err)))
        again = _rebuilt(data)
        if type(again) is type(err) and str(again) == str(err):
            return data
    except Exception:  # noqa: BLE001, S110 - any error of any class: named below instead
        pass
    from provenance.errors import ProvenanceError

    return pickle.dumps((ProvenanceError, (f"reading blocks failed: {type(err).__name__}: {err}",), {}))


def _rebuilt(data: bytes) -> BaseException:
    """The error :func:`_pickled` wrote, made without calling its class's ``__init__``: its arguments and
    attributes as they were."""
    cls, args, state = pickle.loads(data)  # noqa: S301 - written by this process's own child
    err: BaseException = cls.__new__(cls, *args)
    err.args = args
    err.__dict__.update(state)
    return err


def _answer(read: RangeRead, records: list[tuple[str, int, str]]) -> bytes:
    """The frame's payload answering a range read: the read, or "read it yourself" when a value in it is one
    marshal cannot carry (it takes exact str, int, bytes...: a subclass would need pickle, and its cost)."""
    anomalies = [(a.block_number, a.tx_hash, a.log_index, a.event, a.error) for a in read.anomalies]
    try:
        return marshal.dumps((_READ, (read.end, read.rows, read.links, read.blocks, anomalies), records))
    except ValueError as err:
        return marshal.dumps((_HERE, str(err), records))


def serve(stream_in: BinaryIO, stream_out: BinaryIO) -> None:
    """Read the ranges asked on ``stream_in`` and answer them on ``stream_out`` until the input ends."""
    sys.stdout = sys.stderr  # a stray print must not land in the answers
    settings = _receive(stream_in)
    if settings is None:
        return
    url, chain_id, registry, timeout, retry, level = settings
    kept = _Kept(level)
    root = logging.getLogger()
    root.handlers[:] = [kept]
    root.setLevel(level)

    from provenance._rpc import Retry
    from provenance.indexer import RangeReader, _collector_paused
    from provenance.ledger import Ledger

    reader = RangeReader(Ledger(None, url, chain_id, registry, timeout=timeout, retry=Retry(**retry)),
                         chain_id, registry)
    while (request := _receive(stream_in)) is not None:
        start, end = request
        try:
            with _collector_paused():
                read = reader.read(start, end)
        except Exception as err:  # noqa: BLE001 - every error of the read is the parent's to raise
            data = marshal.dumps((_FAILED, _pickled(err), kept.take()))
        else:
            data = _answer(read, kept.take())
        try:
            _write(stream_out, data)
        except BrokenPipeError:  # the parent has gone
            return

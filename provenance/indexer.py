"""Follows one registry's events into an :class:`~provenance.index.Index`.

::

    index = Index.open(Path("index.sqlite"))
    indexer = Indexer(index, ledger, confirmations=12)
    result = indexer.sync()             # follow the chain up to head - 12

Each block range is read with one ``eth_getLogs`` and stored in one SQLite
transaction together with the cursor, so a killed process resumes where it
committed. Hosted providers refuse ranges (:class:`~provenance.errors.LogRangeRefused`),
and the range the indexer asks for follows what they say (:class:`RangeSize`):

- too many blocks: the range shrinks to the limit the node named, else to half,
  and never grows past that again (the limit is the node's, not the blocks');
- too many logs (:class:`~provenance.errors.ResultCapExceeded`): the range
  shrinks to the one the node suggested, else to half; it may grow again over
  quieter blocks;
- after each range served, it grows (doubling, up to ``batch_size`` and the known
  block limit), and where the node named its result cap, no further than the
  last range's logs per block say would stay under it.

The first range is short (``FIRST_RANGE`` blocks) and the ranges grow from
there: the next range is read while one is stored, but the first one is read
before anything can overlap it (measured on 100,000 events over 4,200 blocks:
26,000-27,600 events/s instead of 24,700-25,500 with 2,000 blocks at once).

A sync over more than ``PROCESS_FROM_BLOCKS`` blocks reads every range but
the first (read here while it starts) in a process of its own
(:mod:`provenance._rangereader`): decoding a range and storing the one before
otherwise share one GIL, and SQLite's storing thread waits for it at every row,
so that one process runs them one after the other. The other process asks the
node and makes the rows (:class:`RangeReader`, as this one would); this one
only stores them (100,000 events: about 34,000 events/s instead of 27,000).

Transient faults (HTTP 429, dropped connections, timeouts) are retried below,
in :mod:`provenance._rpc`; any other node error propagates, and the caller tries
again later (the service's loop does so every poll interval).

One log never stops the indexer: a registry log that does not fit the ABI
is skipped, logged with its transaction hash and log index, and counted
(:attr:`SyncResult.anomalies`, :attr:`Indexer.anomalies`); the range is stored
without it and the cursor moves on. (A Solidity string that is not UTF-8 is
no anomaly: it is decoded losslessly, see :mod:`provenance._logs`.)

Before advancing, :meth:`Indexer.sync` checks that the stored hash of the last
synced block is still the chain's. If it is not (a reorg), it walks back over
the stored blocks to the newest one whose hash still matches, deletes every
event and block above it in one transaction, and replays from there.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provenance._logs import LogAnomaly
from provenance.errors import LogRangeRefused, ResultCapExceeded, UsageError
from provenance.index import Index, event_rows

if TYPE_CHECKING:  # pragma: no cover
    from provenance._rangereader import ReaderProcess
    from provenance.ledger import Ledger

__all__ = ["Indexer", "SyncResult", "RangeSize", "DEFAULT_BATCH_SIZE"]

#: Blocks per ``eth_getLogs`` range unless the node refuses that many.
DEFAULT_BATCH_SIZE = 2_000
#: Blocks of an indexer's first range (the module docstring says why).
FIRST_RANGE = 256
#: A sync over more blocks than this reads its ranges in a process of its own (the module docstring says why).
PROCESS_FROM_BLOCKS = 1_024
_TIMESTAMPS_KEPT = 10_000  # block timestamps cached by hash; the cache is emptied beyond this

log = logging.getLogger("provenance.indexer")

_collector = threading.Lock()
_paused = [0, False]  # ranges being read now (every indexer of the process); whether the collector was on


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a range is read, decoded and stored.

    A range's answer is tens of thousands of small dicts, lists and events, all alive until
    stored: the collector kept walking them and took ~13% of a sync's CPU (~1.27x wall time measured
    with it off, bench/RESULTS.md). They hold no cycles (reference counting frees them); the
    collector is switched back on (if it was on) once no indexer of the process is inside a range.
    """
    with _collector:
        if _paused[0] == 0:
            _paused[1] = gc.isenabled()
            gc.disable()
        _paused[0] += 1
    try:
        yield
    finally:
        with _collector:
            _paused[0] -= 1
            if _paused[0] == 0 and _paused[1]:
                gc.enable()


@dataclass(frozen=True)
class SyncResult:
    """What one :meth:`Indexer.sync` did."""

    from_block: int
    to_block: int  # the cursor after the sync
    head: int
    events: int  # events written
    reorged_from: int | None = None  # first block rolled back, when a reorg was found
    anomalies: int = 0  # logs skipped because they do not fit the ABI (logged one by one)

    @property
    def lag(self) -> int:
        return max(self.head - self.to_block, 0)


@dataclass(frozen=True)
class RangeRead:
    """One block range as read from the node, ready to store (:meth:`Index.store_rows`): its events as rows
    and parent links, and its blocks (number -> hash, timestamp); ``blocks`` None when the chain changed
    while it was read (nothing of it may be stored)."""

    end: int
    rows: list[tuple[Any, ...]]
    links: list[tuple[Any, ...]]
    blocks: dict[int, tuple[str, int | None]] | None
    anomalies: list[LogAnomaly]


def _hex(value: bytes | None) -> str | None:
    return None if value is None else "0x" + bytes(value).hex()


# Where the node named its result cap, a range is sized to fill this share of it: the next blocks
# may be busier than the last ones.
_CAP_SHARE = 0.8


class RangeSize:
    """How many blocks the next ``eth_getLogs`` range spans (see the module docstring).

    ``size``: the next range's span; ``limit``: the most it may grow to (``batch_size``, lowered by
    the node's block limit); ``cap``: the result cap the node named, if it did.
    """

    def __init__(self, batch_size: int, *, first: int | None = None) -> None:
        self.limit = batch_size
        self.size = min(batch_size, first or batch_size)
        self.cap: int | None = None

    def refused(self, err: LogRangeRefused, start: int, span: int) -> None:
        """The node refused ``span`` blocks from ``start``: shrink as it says, else by half."""
        half = max(span // 2, 1)
        suggested = err.suggested
        hinted = None
        if suggested is not None and suggested[0] == start and suggested[1] - start + 1 < span:
            hinted = suggested[1] - start + 1
        if isinstance(err, ResultCapExceeded):
            self.cap = err.cap or self.cap
            self.size = hinted or half
            return
        named = None if err.limit is None else max(min(err.limit, span - 1), 1)  # refused at the limit: below it
        self.limit = min(self.limit, named or hinted or half)
        self.size = min(self.size, self.limit)

    def served(self, span: int, logs: int) -> None:
        """A range of ``span`` blocks holding ``logs`` logs was served: grow (see the module docstring)."""
        if span < self.size:  # cut short by the head: says nothing about a larger range
            return
        size = min(span * 2, self.limit)
        if self.cap is not None and logs:
            size = min(size, max(int(span * self.cap * _CAP_SHARE / logs), 1))
        self.size = max(size, 1)


class RangeReader:
    """Reads block ranges from the node, ready to store: the logs decoded into index rows, with their
    blocks' hashes and timestamps (any thread: only the node is asked). The indexer reads with one in its
    own process, and :mod:`provenance._rangereader` with one in another."""

    def __init__(self, ledger: Ledger, chain_id: int, registry: str) -> None:
        self.ledger = ledger
        self.chain_id = chain_id
        self.registry = registry
        self._timestamps: dict[str, int] = {}

    def forget_timestamps(self) -> None:
        """Drop the cached block timestamps (after a reorg: the blocks they belong to may be gone)."""
        self._timestamps.clear()

    def read(self, start: int, end: int) -> RangeRead:
        """The events of blocks [start, end] as the node gives them."""
        end_hash = _hex(self.ledger.block_hash(end))
        anomalies: list[LogAnomaly] = []
        events = self.ledger.events(start, end, anomalies=anomalies)
        if end_hash is None or _hex(self.ledger.block_hash(end)) != end_hash:
            return RangeRead(end, [], [], None, anomalies)
        hashes: dict[int, str] = {}
        for event in events:
            hashes.setdefault(event.block_number, _hex(event.block_hash))  # type: ignore[arg-type]
        stamps = self._timestamps_of(list(hashes.values()))
        if stamps is None:
            return RangeRead(end, [], [], None, anomalies)
        blocks: dict[int, tuple[str, int | None]] = {
            number: (hash_, stamps[hash_]) for number, hash_ in hashes.items()}
        blocks.setdefault(end, (end_hash, None))
        rows, links = event_rows(events, self.chain_id, self.registry)
        return RangeRead(end, rows, links, blocks, anomalies)

    def _timestamps_of(self, block_hashes: list[str]) -> dict[str, int] | None:
        """The timestamps of blocks by hash (cached; those not cached asked in one JSON-RPC batch); None when
        the node no longer has one of them."""
        missing = [h for h in block_hashes if h not in self._timestamps]
        if missing:
            if len(self._timestamps) + len(missing) > _TIMESTAMPS_KEPT:
                self._timestamps.clear()
                missing = list(dict.fromkeys(block_hashes))
            answers = self.ledger.rpc_each("eth_getBlockByHash", [[h, False] for h in missing])
            for hash_, block in zip(missing, answers, strict=True):
                if isinstance(block, Exception):
                    raise block
                if not block:
                    return None
                self._timestamps[hash_] = int(block["timestamp"], 16)
        return {h: self._timestamps[h] for h in block_hashes}


class Indexer:
    """Follows one registry's events into an :class:`~provenance.index.Index`.

    ``confirmations``: blocks newer than ``head - confirmations`` are left for
    a later sync. ``batch_size``: the most blocks per ``eth_getLogs`` range
    (fewer where the node refuses as many: :attr:`range`, a :class:`RangeSize`).
    ``start_block``: the first block to read; None (the default): the block the
    registry was created in, the ledger's :attr:`~provenance.ledger.Ledger.deploy_block`
    when the caller recorded it, else found on the chain
    (:func:`provenance.deployment.find_deploy_block`, about log2(head) calls, 0
    where the node keeps no old state) before an empty index's first sync.
    """

    def __init__(
        self,
        index: Index,
        ledger: Ledger,
        *,
        confirmations: int = 0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        start_block: int | None = None,
    ) -> None:
        if confirmations < 0 or batch_size < 1 or (start_block is not None and start_block < 0):
            raise UsageError("confirmations and start_block must be >= 0, batch_size >= 1")
        if ledger.registry is None:
            raise UsageError("the indexer needs a ledger with a registry address")
        self.index = index
        self.ledger = ledger
        self.confirmations = confirmations
        self.batch_size = batch_size
        self.range = RangeSize(batch_size, first=FIRST_RANGE)  # kept from one sync to the next: the node's limits stay
        self.start_block = start_block
        self.chain_id = ledger.chain_id
        self.registry: str = ledger.registry
        self._reading = RangeReader(ledger, self.chain_id, self.registry)
        self.anomalies = 0  # logs this indexer skipped (each one is logged by the decoder)

    # ------------------------------------------------------------ public

    def sync(self, *, max_ranges: int | None = None) -> SyncResult:
        """Follow the chain up to ``head - confirmations`` (or ``max_ranges`` ranges)."""
        head = self.ledger.block_number()
        reorged_from = self._check_reorg()
        cursor = self.index.cursor(self.chain_id, self.registry)
        start = self._first_block() if cursor is None else cursor + 1
        first = start
        target = head - self.confirmations
        written = 0
        skipped = self.anomalies
        ranges = 0
        # the next range is read (its logs fetched and decoded, by a thread here, or by another process when
        # the sync is long) while this one is stored: the node's work, the decoding and SQLite's overlap. The
        # thread is done with the process before the process is ended.
        with self._reading_process(target - start + 1, max_ranges) as remote, \
                ThreadPoolExecutor(1, thread_name_prefix="provenance-indexer-read") as reader:
            ahead: tuple[int, int, Future[RangeRead]] | None = None
            while start <= target and (max_ranges is None or ranges < max_ranges):
                if ahead is not None and ahead[0] == start:
                    _, end, reading = ahead
                else:
                    end, reading = min(start + self.range.size - 1, target), None
                ahead = None
                try:
                    with _collector_paused():
                        # read here while the reading process starts; the ranges read ahead are its own
                        read = self._read_range(start, end) if reading is None else reading.result()
                        if end < target and (max_ranges is None or ranges + 1 < max_ranges):
                            following = min(end + self.range.size, target)
                            ahead = (end + 1, following,
                                     reader.submit(self._read_range, end + 1, following, remote))
                        done = self._apply_range(read)
                except LogRangeRefused as err:
                    if end == start:  # one block cannot be split further
                        raise
                    self.range.refused(err, start, end - start + 1)
                    continue
                if done is None:  # the chain changed under us: stop, the next sync repairs it
                    break
                stored, logs = done
                self.range.served(end - start + 1, logs)
                written += stored
                ranges += 1
                start = end + 1
        final = self.index.cursor(self.chain_id, self.registry)
        # nothing stored yet (the first block is not confirmed): synced as far as the confirmations allow
        reached = min(start - 1, target) if final is None else final
        return SyncResult(first, reached, head, written, reorged_from, self.anomalies - skipped)

    @contextmanager
    def _reading_process(self, blocks: int, max_ranges: int | None) -> Iterator[ReaderProcess | None]:
        """A :class:`~provenance._rangereader.ReaderProcess` reading this sync's ranges when it spans more than
        ``PROCESS_FROM_BLOCKS`` blocks (and more than one range); None otherwise, or where none starts."""
        if blocks <= PROCESS_FROM_BLOCKS or max_ranges == 1:
            yield None
            return
        from provenance._rangereader import ReaderProcess  # lazy: only a long sync starts one

        remote = ReaderProcess.start(self.ledger, self.chain_id, self.registry)
        try:
            yield remote
        finally:
            if remote is not None:
                remote.close()

    def _first_block(self) -> int:
        """:attr:`start_block`, found (once) when the caller gave none."""
        if self.start_block is None:
            if self.ledger.deploy_block is not None and (self.ledger.registry or "").lower() == self.registry.lower():
                self.start_block = self.ledger.deploy_block
            else:
                from provenance.deployment import find_deploy_block  # lazy: only an empty index needs it

                self.start_block = find_deploy_block(self.ledger, self.registry)
        return self.start_block

    def lag(self) -> int | None:
        return self.index.lag(self.chain_id, self.registry, self.ledger.block_number())

    # ------------------------------------------------------------ reorgs

    def _check_reorg(self) -> int | None:
        """Roll back to the newest stored block still on the chain; the first removed block, or None."""
        cursor = self.index.cursor(self.chain_id, self.registry)
        if cursor is None:
            return None
        stored = self.index.stored_hash(self.chain_id, self.registry, cursor)
        if stored is not None and stored == _hex(self.ledger.block_hash(cursor)):
            return None
        floor = self.start_block or 0  # unknown: nothing stored below it is kept either way
        keep = floor - 1
        for number, hash_ in self.index.stored_blocks(self.chain_id, self.registry, cursor):
            if hash_ == _hex(self.ledger.block_hash(number)):
                keep = number
                break
        self.index.roll_back(self.chain_id, self.registry, keep, floor)
        self._reading.forget_timestamps()
        return keep + 1

    # ------------------------------------------------------------ one range

    def _read_range(self, start: int, end: int, remote: ReaderProcess | None = None) -> RangeRead:
        """Blocks [start, end] read by ``remote``, the reading process, or (without one, or once it has
        ended, or where it cannot hand the range over) here."""
        if remote is not None and not remote.gone:
            from provenance._rangereader import ReaderGone

            try:
                read = remote.read(start, end)
            except ReaderGone as gone:
                log.warning("%s: this process reads on", gone)
            else:
                if read is not None:
                    return read
        return self._reading.read(start, end)

    def _apply_range(self, read: RangeRead) -> tuple[int, int] | None:
        """Store a range read: (events stored, logs read); None if the chain moved while it was read."""
        if read.blocks is None:
            return None
        stored = self.index.store_rows(
            self.chain_id, self.registry, read.rows, read.links, read.blocks, synced_to=read.end)
        self.anomalies += len(read.anomalies)  # counted once the range is stored (a range read again is not)
        return stored, len(read.rows) + len(read.anomalies)

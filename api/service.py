"""What one service process holds: the index, a read-only link to the chain, the indexer loop.

:class:`ChainLink` connects lazily (the node may be down when the service
starts, or go down later) and gives :class:`~provenance.ledger.Ledger` objects
without any key. :class:`IndexerLoop` is a daemon thread that, every
``poll_interval`` seconds, reads the chain head and, in the one process that
holds the index's lock file, runs :meth:`Indexer.sync`. A node that does not
answer is recorded (:attr:`ChainState.reachable` false) and retried at the
next tick; the index keeps answering meanwhile. A PostgreSQL index that does
not answer (:class:`~provenance.errors.IndexUnavailable`: routes answer 503) is
retried with backoff (the poll interval, doubled up to ``_INDEX_RETRY_MAX``):
each range is written in one transaction with its cursor, so the indexer
resumes from the last one committed, no event lost or doubled.

Answers that need the chain (verifications, proofs read from a transaction)
go through :meth:`Service.ledger`, which refuses them (503 with
``Retry-After``, problem ``index-behind``) while the index trails the node's
head by more than ``confirmations + max_index_lag`` blocks: a verdict from an
index that stopped (or has not caught up) could miss a later revocation.

The node's URL may carry a provider's API key: logs name it by
:func:`provenance._rpc.redact_url` only (so do the library's errors).

Several uvicorn workers share one index file, and several ``provenance serve``
replicas one PostgreSQL index: the first to take the index's indexer lock
(:meth:`Index.indexer_lock`: an exclusive ``flock`` on ``<index>.indexer.lock``,
or a PostgreSQL advisory lock) indexes; the others read and keep trying the
lock at every tick, so another takes over within a poll interval or two when
the indexing one dies. All of them answer from the one index, and each one's
``/readyz`` reports the shared index's lag.

What records' uris name is fetched (:mod:`api.documents`): the Statement of a
record no one posted, when a verdict needs it (:attr:`Service.fetching`, passed
to every verifier the routes build), and, in a second thread of the indexing
process, the document of every anchored batch (:attr:`Service.documents`);
what verifies is kept in the index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from api.documents import BatchDocuments, Fetching
from api.problems import ApiProblem
from provenance._rpc import Retry, redact_url
from provenance.errors import IndexUnavailable, LedgerUnavailable, ProvenanceError
from provenance.index import Index
from provenance.indexer import Indexer

if TYPE_CHECKING:  # pragma: no cover
    from api.settings import ServiceSettings
    from provenance._sql import IndexerLock
    from provenance.ledger import Ledger, Settled
    from provenance.verifier import ChainReads, Verifier

__all__ = ["Service", "ChainLink", "ChainState", "IndexerLoop"]

log = logging.getLogger("provenance.api")

# Ranges per sync call: a long catch-up updates the head and lag between calls.
_RANGES_PER_STEP = 8
# How long one call may retry a rate-limiting or flaky node (provenance._rpc) before a request is answered
# 503 with Retry-After: a client waits better than a worker thread does.
_CALL_BUDGET = 3.0
# Answers remembered per process between two changes of the index (least recently used out), with the URLs
# that lead to them (api.answers.Shortcut): a bound on their number; _CACHE_BYTES bounds their size.
_CACHE_SIZE = 65_536
_CACHE_BYTES = 64 << 20  # answers are kept as JSON bytes: a bound on their total size
# The longest wait between two tries of an index database that does not answer (seconds).
_INDEX_RETRY_MAX = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class ChainState:
    """What the process last learned from the node (head is the last head seen, even if stale)."""

    reachable: bool = False
    chain_id: int | None = None
    head: int | None = None
    checked_at: float | None = None  # unix time of the last successful contact
    error: str | None = None  # why the last attempt failed
    indexing: bool = False  # this process runs the indexer


class ChainLink:
    """Read-only connections to the node, made when first needed and kept."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._ledger: Ledger | None = None
        self._probe: Ledger | None = None
        self._heard: tuple[int, float] | None = None  # the last head the probe read, and when (monotonic)

    def ledger(self) -> Ledger:
        """A Ledger on the configured registry; raises LedgerUnavailable while the node is down."""
        with self._lock:
            if self._ledger is None:
                from provenance.ledger import Ledger

                self._ledger = Ledger.connect(
                    self.settings.rpc_url,
                    self.settings.registry,
                    timeout=self.settings.rpc_timeout,
                    retry=Retry(budget=_CALL_BUDGET),
                )
            return self._ledger

    def fresh_head(self) -> int | None:
        """The head read less than :data:`HEAD_FRESH` seconds ago, or None (without asking the node)."""
        heard = self._heard
        if heard is not None and time.monotonic() - heard[1] < HEAD_FRESH:
            return heard[0]
        return None

    def head(self) -> int:
        """The node's block number through a connection with the short readiness timeout; the one read
        less than :data:`HEAD_FRESH` seconds ago when there is one (probes at a high rate share a call)."""
        fresh = self.fresh_head()
        if fresh is not None:
            return fresh
        with self._lock:
            if self._probe is None:
                from provenance.ledger import Ledger

                # retried within the probe's own time only: a readiness probe must answer promptly
                ready = self.settings.ready_timeout
                retry = Retry(budget=ready, timeouts=0)
                self._probe = Ledger.connect(self.settings.rpc_url, timeout=ready, retry=retry)
            probe = self._probe
        head = probe.block_number()  # a failure is not remembered: the next probe asks again
        self._heard = (head, time.monotonic())
        return head


#: Seconds a head read for /readyz answers the probes that follow (a load balancer's, or many at once).
HEAD_FRESH = 0.25


class IndexerLoop:
    """The background thread that keeps the index in step and the chain state fresh."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._indexer: Indexer | None = None
        self._lock: IndexerLock | None = None
        self._index_retry: float | None = None  # seconds to the next try while the index database is down

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="provenance-indexer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def wake(self) -> None:
        """Run the next step now (tests, and after a Statement changes what is known)."""
        self._wake.set()

    @property
    def indexing(self) -> bool:
        """This process runs the indexer (it holds the index's indexer lock)."""
        return self._indexer is not None

    def _run(self) -> None:
        interval = self.service.settings.poll_interval
        while not self._stop.is_set():
            again = False
            try:
                again = self.step()
            except Exception:  # the thread must outlive any one failure; the error is logged
                log.exception("indexer step failed")
                self.service._set_state(reachable=False, error="internal error in the indexer (logged)")
            if not again:
                self._wake.wait(interval if self._index_retry is None else self._index_retry)
                self._wake.clear()

    def _holds_lock(self) -> bool:
        """Take the index's indexer lock when free (:meth:`Index.indexer_lock`); False once lost."""
        if self._lock is None:
            self._lock = self.service.index.indexer_lock()
        held = self._lock.held()
        if not held and self._indexer is not None:  # its database session ended: another replica may index now
            log.warning("this process lost the index's indexer lock; it stops indexing")
            self._indexer = None
        return held

    def step(self) -> bool:
        """One tick; True when the indexer has more to read right away."""
        service = self.service
        try:
            ledger = service.link.ledger()
            if self._holds_lock() and self._indexer is None:
                settings = service.settings
                self._indexer = Indexer(
                    service.index, ledger, confirmations=settings.confirmations, start_block=settings.start_block
                )
                log.info("this process indexes %s on chain %s", ledger.registry, ledger.chain_id)
            if self._indexer is not None:
                result = self._indexer.sync(max_ranges=_RANGES_PER_STEP)
                head = result.head
                behind = result.to_block < head - service.settings.confirmations
            else:
                head, behind = ledger.block_number(), False
        except LedgerUnavailable as err:
            if service.state.reachable or service.state.error is None:
                log.warning("%s; retrying every %.1f s", err, service.settings.poll_interval)
            service._set_state(reachable=False, error=str(err))
            return False
        except IndexUnavailable as err:  # the node may be fine: its state stays; the index is tried with backoff
            interval = service.settings.poll_interval
            first = self._index_retry is None
            self._index_retry = min(interval if first else 2 * (self._index_retry or interval),
                                    max(_INDEX_RETRY_MAX, interval))
            if first:
                log.warning("%s; retrying with backoff (up to every %.0f s)", err, max(_INDEX_RETRY_MAX, interval))
            service._set_state(error=str(err))
            return False
        except ProvenanceError as err:
            log.warning("indexer: %s", err)
            service._set_state(reachable=False, error=str(err))
            return False
        if self._index_retry is not None:
            self._index_retry = None
            log.info("the index database %s answers again", service.index.location)
        if not service.state.reachable and service.state.error is not None:
            log.info("the node at %s answers again (head %d)", redact_url(service.settings.rpc_url), head)
        service._set_state(
            reachable=True,
            chain_id=ledger.chain_id,
            head=head,
            checked_at=time.time(),
            error=None,
            indexing=self._indexer is not None,
        )
        return behind


@dataclass(frozen=True)
class _Latest:
    """The newest verdict of a URL computed in this content generation, and how to compute it again."""

    head: int
    body: bytes
    refresh: Callable[[], object]


def _size(value: object) -> int:
    if isinstance(value, _Latest):
        return len(value.body)
    return len(value) if isinstance(value, (bytes, str)) else 0


class Service:
    """The state shared by the routes of one app: settings, index, chain link, loop."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.index = Index.open(settings.index_path, pool_size=settings.index_pool_size)
        self.link = ChainLink(settings)
        self.loop = IndexerLoop(self)
        self.fetching = Fetching(self)
        self.documents = BatchDocuments(self)
        self._state = ChainState()
        self._state_lock = threading.Lock()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_bytes = 0
        self._cache_generation: int | None = None
        self._cache_lock = threading.Lock()
        self._cursor: tuple[tuple[tuple[int, int], int | None], int | None] | None = None  # ((commits, chain), cursor)
        self._verifications = threading.BoundedSemaphore(settings.max_verifications)
        self._reads: tuple[tuple[int, int], ChainReads] | None = None  # (head, content generation) -> reads
        self._reads_lock = threading.Lock()  # one thread asks for a new head's settled block; the others wait
        self._refreshing: set[Hashable] = set()  # verdicts computed again in the background (earlier_verdict)
        self._refresh_lock = threading.Lock()
        self._refresher: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def state(self) -> ChainState:
        return self._state

    def _set_state(self, **changes: Any) -> None:
        with self._state_lock:
            self._state = replace(self._state, **changes)

    def synced_to(self, commits: tuple[int, int] | None = None) -> int | None:
        """The index's cursor for the configured registry (whichever process wrote it), read again after
        any commit (:meth:`Index.generation`, ``commits`` when the caller just read it: a sync that found
        no event moves the cursor alone)."""
        key = (self.index.generation() if commits is None else commits, self._state.chain_id)
        kept = self._cursor
        if kept is not None and kept[0] == key:
            return kept[1]
        cursor = self._read_cursor()  # read after the generation: a commit in between is seen at the next look
        self._cursor = (key, cursor)
        return cursor

    def remembered_cursor(self, commits: tuple[int, int] | None = None) -> int | None:
        """:meth:`synced_to` when it is remembered for the index's current generation (``commits``, read
        here unless the caller just did), else None (not read)."""
        kept = self._cursor
        if kept is None:
            return None
        key = (self.index.generation() if commits is None else commits, self._state.chain_id)
        return kept[1] if kept[0] == key else None

    def _read_cursor(self) -> int | None:
        state = self._state
        if state.chain_id is not None:
            return self.index.cursor(state.chain_id, self.settings.registry)
        for _chain, registry, block in self.index.cursors():
            if registry == self.settings.registry:
                return block
        return None

    def cached(self, key: Hashable, compute: Callable[[], T], generation: int | None = None) -> T:
        """``compute()``, remembered until the index's content changes (any process's commit but one that
        only moved a cursor; see :meth:`Index.content_generation`, read here unless the caller just did).
        Index-backed answers are a function of the index's content, so a look-up repeated between two
        syncs that found events costs one ``PRAGMA``; what depends on the cursor carries it in its key.
        Values must be treated as read-only by callers; an exception is not remembered."""
        if generation is None:
            generation = self.index.content_generation()
        with self._cache_lock:
            if generation != self._cache_generation:
                self._cache.clear()
                self._cache_bytes = 0
                self._cache_generation = generation
            elif key in self._cache:
                self._cache.move_to_end(key)
                hit: T = self._cache[key]  # stored by compute() under this key
                return hit
        value = compute()
        with self._cache_lock:
            if generation == self._cache_generation and key not in self._cache:
                self._put(key, value)
        return value

    def _put(self, key: Hashable, value: Any) -> None:
        """Under the cache's lock: ``value`` remembered under ``key`` (replacing one), least recently used out."""
        dropped = self._cache.pop(key, None)
        if dropped is not None:
            self._cache_bytes -= _size(dropped)
        self._cache[key] = value
        self._cache_bytes += _size(value)
        while len(self._cache) > _CACHE_SIZE or self._cache_bytes > _CACHE_BYTES:
            _, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= _size(dropped)

    def keep_latest_verdict(
        self, key: tuple[Any, ...], head: int, body: bytes, refresh: Callable[[], object], generation: int
    ) -> None:
        """``body`` is the verdict of ``key`` at chain head ``head`` (remembered under ``key + (head,)``),
        computed in content generation ``generation``; ``refresh()`` computes it at the current head (and
        keeps it so). Kept unless a verdict at a later head is, for :meth:`earlier_verdict`; the one of
        the earlier head it replaces is forgotten (the head only moves on: no URL leads to it again)."""
        with self._cache_lock:
            if generation != self._cache_generation:
                return
            kept = self._cache.get(("latest", key))
            if kept is None or kept.head < head:
                self._put(("latest", key), _Latest(head, body, refresh))
                if kept is not None:
                    dropped = self._cache.pop((*key, kept.head), None)
                    self._cache_bytes -= _size(dropped)

    def earlier_verdict(self, key: tuple[Any, ...], head: int, generation: int | None = None) -> bytes | None:
        """The verdict of ``key`` at an earlier head than ``head``, of this content generation and at most
        ``max_index_lag`` blocks back, while the one at ``head`` is computed once, in the background; None
        when there is none (the caller computes it, and waits).

        Only while the index is in step with the head as :meth:`require_fresh_index` asks. A new block on
        a quiet chain changes nothing a verdict reads from the index (:meth:`cached` keeps it), only the
        confirmations counted against the head, which the earlier verdict under-counts: it
        may say ``unconfirmed`` where the next says ``pass``, never the reverse. An event indexed since
        (a revocation, a dispute) is a new content generation, which no earlier verdict outlives. Without
        this, every block made each worker compute each verdict asked for again while requests waited."""
        settings = self.settings
        kept = self.peek(("latest", key), generation)
        if kept is None or not head - settings.max_index_lag <= kept.head < head:
            return None
        synced = self.synced_to()  # an index that fell behind is refused as require_fresh_index does
        if synced is None or head - synced > settings.confirmations + settings.max_index_lag:
            return None
        self._refresh(("latest", key), kept.refresh)
        return kept.body  # type: ignore[no-any-return]

    def _refresh(self, key: Hashable, refresh: Callable[[], object]) -> None:
        """``refresh()`` in the service's one refreshing thread, unless one for ``key`` is already waiting or
        running. One thread: verdicts computed back to back by as many threads as may verify took the GIL
        from the event loop answering meanwhile (measured at 2-s blocks: p99 25-65 ms with 8, 15-20 ms
        with one)."""
        with self._refresh_lock:
            if key in self._refreshing or self._closed:
                return
            self._refreshing.add(key)
            if self._refresher is None:
                self._refresher = ThreadPoolExecutor(1, thread_name_prefix="provenance-verdicts")
            refresher = self._refresher

        def run() -> None:
            try:
                refresh()
            except Exception:  # too busy, node or index down: the earlier verdict stays, the next request retries
                log.debug("a verdict was not computed again in the background", exc_info=True)
            finally:
                with self._refresh_lock:
                    self._refreshing.discard(key)

        refresher.submit(run)

    def peek(self, key: Hashable, generation: int | None = None) -> Any:
        """What :meth:`cached` holds for ``key`` in this content generation, or None (nothing computed)."""
        if generation is None:
            generation = self.index.content_generation()
        with self._cache_lock:
            if generation != self._cache_generation:
                return None
            return self._cache.get(key)

    @contextmanager
    def verification(self) -> Iterator[bool]:
        """One of the ``max_verifications`` this process runs at once, waited for at most
        ``verification_wait`` seconds (in a worker thread, never on the event loop): yields False (and
        runs nothing more) when none frees in time, so a flood of verifications is refused, not queued."""
        if not self._verifications.acquire(timeout=self.settings.verification_wait):
            yield False
            return
        try:
            yield True
        finally:
            self._verifications.release()

    def ledger(self) -> Ledger:
        """For chain-dependent answers: raises LedgerUnavailable (503) while the node is down, and
        ApiProblem 503 while the index is not in step with the chain (:meth:`require_fresh_index`)."""
        ledger = self.link.ledger()
        self.require_fresh_index(ledger)
        return ledger

    def require_fresh_index(self, ledger: Ledger) -> None:
        """Refuse (503, ``Retry-After``) while the index trails the head by more than ``confirmations +
        max_index_lag`` blocks, or has never synced: the answer would be from an index that may miss
        later events (a revocation: a false pass). The head is the one the indexer loop saw at its last
        tick when that is recent (two poll intervals), else the node's own (no loop, or a loop that stalls)."""
        settings = self.settings
        state = self._state
        recent = state.checked_at is not None and time.time() - state.checked_at <= 2 * settings.poll_interval
        head = state.head if state.reachable and recent and state.head is not None else ledger.block_number()
        synced = self.synced_to()
        retry = {"Retry-After": str(settings.retry_after)}
        if synced is None:
            raise ApiProblem(
                503, "index-not-ready",
                "the index has not completed its first sync; this answer needs it in step with the chain. "
                "Answers from the index keep working.",
                title="Index not ready", headers=retry, head=head,
            )
        lag = max(head - synced, 0)
        allowed = settings.confirmations + settings.max_index_lag
        if lag > allowed:
            raise ApiProblem(
                503, "index-behind",
                f"the index is {lag} blocks behind the chain head {head} (synced to block {synced}; this "
                f"answer needs it within {allowed}: confirmations {settings.confirmations} + max_index_lag "
                f"{settings.max_index_lag}). Answers from the index keep working.",
                title="Index catching up", headers=retry, head=head, syncedTo=synced, lag=lag, maxLag=allowed,
            )

    def verifier(self, reads: ChainReads | None = None) -> Verifier:
        """A verifier under the service's policy that fetches nothing, for deciding what may be kept
        (:meth:`Verifier.accept_statement`); the chain head is the one the indexer last saw. ``reads``:
        shared with other verifiers (a batch document's chunks); default: those of the head."""
        from provenance.verifier import Verifier

        ledger = self.link.ledger()
        state = self._state
        head = state.head if state.reachable and state.head is not None else ledger.block_number()
        return Verifier(ledger, self.index, self.settings.policy, [self.index], sync=False, head=head,
                        reads=self.chain_reads(head) if reads is None else reads)

    def chain_reads(self, head: int) -> ChainReads:
        """What the verdicts at chain head ``head`` (and this content generation) read of the registry's
        storage, shared: the settled block asked once per head, not once per verdict, and each record's
        state once (a popular dataset's, an ancestor of many models, is read once, not by every verdict).

        A new head or index content asks the node for its settled block again. When that is the
        ``finalized`` block the kept states were read at, they carry over: a finalized block's storage
        never changes. So they do at a later finalized block where the registry's storage is the same
        (:meth:`_reads_at`: one ``eth_getProof`` instead of an ``eth_call`` per state): a
        registry written to less often than the node's finalized block moves (anvil's moves with every
        block) is not read again state by state. Either way the verdicts recomputed at each new
        head (they count confirmations against it) do not read every state again. Any other settled
        block (``safe`` or ``latest``, which a reorganization can replace) or a changed registry starts
        afresh, as does a full one (:data:`READS_KEPT`)."""
        from provenance.verifier import ChainReads

        key = (head, self.index.content_generation())
        kept = self._reads
        if kept is not None and kept[0] == key and not kept[1].full():
            return kept[1]
        with self._reads_lock:  # not the cache's lock: a node call is made under it
            kept = self._reads
            if kept is not None and kept[0] == key and not kept[1].full():
                return kept[1]  # another thread asked meanwhile
            ledger = self.link.ledger()
            settled = ledger.settled()
            usable = kept[1] if kept is not None and not kept[1].full() else None
            if settled.tag != "finalized":
                reads = ChainReads(settled=settled)
            elif usable is not None and usable.settled == settled:
                reads = usable  # the same finalized block: its states carry over
            else:
                reads = self._reads_at(ledger, settled, usable)
            self._reads = (key, reads)
            return reads

    @staticmethod
    def _reads_at(ledger: Ledger, settled: Settled, kept: ChainReads | None) -> ChainReads:
        """Reads at the finalized block ``settled``: ``kept``'s states where the registry's storage there
        is the one they were read at (a finalized block too: same storage root, same storage; no event the
        index holds, or lacks, decides it), else none yet. Either way its fingerprint is kept, for the next."""
        from provenance.verifier import ChainReads

        fingerprint = ledger.registry_fingerprint(settled.number)
        if fingerprint is not None and kept is not None and kept.settled is not None \
                and kept.settled.tag == "finalized":
            if kept.fingerprint is None:
                kept.fingerprint = ledger.registry_fingerprint(kept.settled.number)
            if kept.fingerprint == fingerprint:
                return kept.moved_to(settled, fingerprint)
        return ChainReads(settled=settled, fingerprint=fingerprint)

    def start(self) -> None:
        self.loop.start()
        self.documents.start()

    def close(self) -> None:
        with self._refresh_lock:
            self._closed = True
            refresher = self._refresher
        if refresher is not None:
            refresher.shutdown(wait=True, cancel_futures=True)
        self.documents.stop()
        self.loop.stop()
        self.index.close()

"""Where the index's two databases differ: SQLite (embedded, the default) and PostgreSQL (shared).

:class:`~provenance.index.Index` writes each query once, in SQL both accept
(``?`` placeholders, ``INSERT ... ON CONFLICT``, ``excluded.``); a backend runs
it. What differs is here and nowhere else:

- placeholders: psycopg takes ``%s`` (translated once per query text);
- column types: SQLite's ``INTEGER`` is 64 bits, PostgreSQL's ``BIGINT``; text
  compares byte by byte (``COLLATE "C"``, as SQLite does) so that every
  ``ORDER BY`` is the same; the registry's ``nonce`` (a uint256, 0x-hex text
  past 2**63 in either) is text; ``BLOB`` is ``BYTEA``;
- connections: SQLite one connection under a lock (WAL: other processes read
  meanwhile); PostgreSQL a pool (psycopg_pool), each read on any connection;
- writers: one at a time. SQLite's ``BEGIN IMMEDIATE`` takes the file's write
  lock; PostgreSQL's write transaction first bumps the ``generation`` row of
  ``meta``, whose row lock every other writer then waits for, and whose value
  tells every replica that something was committed (:meth:`Backend.generations`;
  SQLite has ``PRAGMA data_version`` for that);
- what was committed: a write transaction that may change what answers are
  made of also bumps the ``content`` row of ``meta``, in both; one that only
  moves the indexer's cursor (a sync that found no event, each new block on a
  quiet chain) does not, so what was remembered of the content outlives it;
- migrating: under SQLite's write lock, or PostgreSQL's transaction-level
  advisory lock, so that replicas starting together migrate once;
- who indexes (:meth:`Backend.indexer_lock`): an exclusive ``flock`` on
  ``<index>.indexer.lock``, or ``pg_try_advisory_lock`` on a session of its own
  (its ``application_name`` names the process), freed by the server when the
  holder's session ends, however the holder died.

JSON (the ``parents`` lists) is kept as text in both; only SQLite's old files
are migrated with ``json_each``, and a PostgreSQL index starts at schema 7.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from provenance.errors import IndexFileError, IndexUnavailable, InvalidValue

if TYPE_CHECKING:  # pragma: no cover
    import psycopg
    import psycopg_pool

__all__ = [
    "Backend", "Cursor", "Db", "IndexerLock", "POOL_SIZE", "is_database_url", "redact_database_url", "open_backend",
]

#: Connections each PostgreSQL index keeps at most by default (reads wait for one beyond; ``provenance serve
#: --index-pool-size``): each uvicorn worker of each replica has its own pool, so the database's
#: ``max_connections`` must cover replicas x workers x (this + 1 listener), plus one indexer session per replica.
POOL_SIZE = 16
# Seconds a query waits for a pooled connection before the database is said not to answer (503): a client
# told to retry is better off than a worker thread stuck for psycopg_pool's default 30 s.
_POOL_WAIT = 5.0
# ... and while the last query found the database not answering: a request then fails in well under a second.
_DOWN_WAIT = 0.5
# Seconds the pool keeps trying (with backoff: 1, 2, 4 s ...) to replace connections it lost, before it gives up
# until a query asks for one again: a database back after a long outage is found within seconds, not after
# psycopg_pool's default backoff of up to five minutes.
_RECONNECT = 10.0
_CONNECT_TIMEOUT = 10  # seconds
# pg_advisory_lock keys (64-bit): who indexes, who migrates. Fixed: one index per database.
_INDEXER_KEY = 0x70726F76_696E6478  # "provindx"
_MIGRATE_KEY = 0x70726F76_6D696772  # "provmigr"
# The channel every write transaction announces the index's new generation on (_GenerationListener), and how long
# its listener waits for an announcement before it reads the generation itself (a session dead without a word).
_CHANNEL = "provenance_index_generation"
_LISTEN_WAIT = 1.0
# A write transaction that may change the content moves this counter (both databases; its payload in the
# channel is "<commits> <content>").
_BUMP_CONTENT = "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'content'"


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Db(Protocol):
    """What a query runs on: ``execute`` and ``executemany`` (whose cursor's ``rowcount`` sums the rows changed)."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


class IndexerLock(Protocol):
    def held(self) -> bool:
        """Take the lock when it is free; True while this process holds it (False once it lost it)."""

    def release(self) -> None: ...


def is_database_url(target: object) -> bool:
    """A ``postgresql://`` (or ``postgres://``) URL, not a file path."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in ("postgresql", "postgres")


def redact_database_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class Backend:
    """One database of the index: where queries run, and the few things said differently."""

    name: str
    location: str  # shown in messages: the file, or the URL without its password

    def ddl(self, statement: str) -> str:
        """A schema statement as this database says it."""
        return statement

    def has_table(self, db: Db, name: str) -> bool:
        raise NotImplementedError

    def migrating(self) -> Any:
        """``with backend.migrating() as db:`` one transaction, no other replica migrating meanwhile."""
        raise NotImplementedError

    def reading(self) -> Any:
        """``with backend.reading() as db:`` a connection for reads (each statement its own snapshot)."""
        raise NotImplementedError

    def writing(self, content: bool = True) -> Any:
        """``with backend.writing() as db:`` one write transaction; writers of every process one at a time.
        ``content=False``: the transaction writes nothing an answer is made of (the indexer's cursor and the
        blocks it checks for reorganizations), so the content generation stays."""
        raise NotImplementedError

    def generations(self) -> tuple[tuple[int, int], int]:
        """``(commits, content)``: the first changes with every commit by any process, the second with
        every commit that may have changed the content (see :meth:`writing`)."""
        raise NotImplementedError

    def indexer_lock(self) -> IndexerLock:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_backend(target: Path | str, *, pool_size: int = POOL_SIZE) -> Backend:
    """The backend of ``target``: a PostgreSQL URL (a pool of at most ``pool_size`` connections), else a SQLite
    file path (``pool_size`` unused: one connection)."""
    if is_database_url(target):
        return PostgresBackend(str(target), pool_size=pool_size)
    return SQLiteBackend(Path(target))


# ---------------------------------------------------------------- SQLite


#: WAL pages past which the checkpointer copies them back (SQLite's own automatic threshold).
CHECKPOINT_PAGES = 1000
#: WAL pages past which a commit checkpoints by itself (the checkpointer has fallen behind, or is gone).
CHECKPOINT_BACKSTOP_PAGES = 16 * CHECKPOINT_PAGES


class _Checkpointer:
    """Copies the WAL back into the database file on a thread and connection of its own.

    SQLite checkpoints at the commit that finds the WAL past 1,000 pages: the
    committing thread copies the pages and waits for two fsyncs, about a fifth
    of the indexer's time storing a range. Here the commit only wakes this thread,
    whose ``PRAGMA wal_checkpoint(PASSIVE)`` copies what is committed without
    blocking the writer (and without the GIL: it is all SQLite's C code). The
    thread starts at the first commit that leaves the WAL past the threshold, so
    a command that writes little never starts it. SQLite reuses a WAL file from
    its start without shrinking it, so once grown every commit wakes the thread;
    a checkpoint with little new to copy costs little. The writer's own automatic
    checkpoint stays on at :data:`CHECKPOINT_BACKSTOP_PAGES`, should this thread
    fall behind.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wal = f"{path}-wal"
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self, page_size: int) -> None:
        """A transaction was committed: wake the thread when the WAL is past the threshold."""
        try:
            if os.stat(self._wal).st_size < CHECKPOINT_PAGES * page_size:
                return
        except OSError:
            return
        with self._lock:
            if self._closing:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="provenance-index-checkpoint", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=0.1)
        except sqlite3.Error:
            return  # the writer's own checkpoint (the backstop) does the work
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closing:
                    return
                with suppress(sqlite3.Error):  # busy (another process checkpoints): the next commit wakes it again
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            db.close()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()


class SQLiteBackend(Backend):
    """A SQLite file (WAL): one connection under a lock; safe to share between threads. The WAL is copied
    back into the file by a :class:`_Checkpointer`."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._lock = threading.RLock()
        self._writes = 0  # transactions committed through this object
        self._content: tuple[tuple[int, int], int] | None = None  # (commits, content) last read
        try:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # a 64 MiB page cache (default 2 MiB): a range's inserts land at random places in the events
            # indexes, which then stay in memory rather than spill to the WAL and be read back (measured: 26%
            # less CPU storing 120,000 events in three ranges)
            db.execute("PRAGMA cache_size=-65536")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_BACKSTOP_PAGES}")
            self._page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        except sqlite3.DatabaseError as err:
            raise IndexFileError(f"cannot open the index {path}: {err}") from None
        self._db = db
        self._checkpointer = _Checkpointer(path)

    def has_table(self, db: Db, name: str) -> bool:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        return found is not None

    @contextmanager
    def migrating(self) -> Iterator[Db]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # one process creates or migrates; the others wait (busy timeout)
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def reading(self) -> Iterator[Db]:
        with self._lock:
            yield self._db

    @contextmanager
    def writing(self, content: bool = True) -> Iterator[Db]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                if content:
                    self._db.execute(_BUMP_CONTENT)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._writes += 1
        self._checkpointer.committed(self._page_size)

    def generations(self) -> tuple[tuple[int, int], int]:
        # PRAGMA data_version moves on other connections' commits, _writes on this one's; the content row is
        # read only when either moved (read after them: a commit in between is seen at the next look)
        with self._lock:
            commits = int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._writes
            kept = self._content
            if kept is not None and kept[0] == commits:
                return kept
            row = self._db.execute("SELECT value FROM meta WHERE key = 'content'").fetchone()
            self._content = commits, int(row[0])
            return self._content

    def indexer_lock(self) -> IndexerLock:
        return _FileLock(Path(f"{self.path}.indexer.lock"))

    def close(self) -> None:
        self._checkpointer.close()
        with self._lock:
            self._db.close()


class _FileLock:
    """An exclusive flock on a file beside the index: the kernel frees it when the process dies."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._held = False

    def held(self) -> bool:
        if not self._held:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self._held = True
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd, self._held = None, False


# ---------------------------------------------------------------- PostgreSQL

_TYPES = ((re.compile(r"\bnonce\s+INTEGER\b"), "nonce TEXT"), (re.compile(r"\bINTEGER\b"), "BIGINT"),
          (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'), (re.compile(r"\bBLOB\b"), "BYTEA"))


class _PgDb:
    """A psycopg connection taking the index's ``?`` queries."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self._conn.execute(_placeholders(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cursor = self._conn.cursor()
        cursor.executemany(_placeholders(sql), parameters)  # rowcount: the rows changed, summed
        return cursor


_TRANSLATED: dict[str, Any] = {}


def _placeholders(sql: str) -> Any:
    """``?`` as psycopg's ``%s`` (no query of the index has ``?`` or ``%`` in a literal)."""
    translated = _TRANSLATED.get(sql)
    if translated is None:
        translated = _TRANSLATED[sql] = sql.replace("%", "%%").replace("?", "%s")
    return translated


class PostgresBackend(Backend):
    """A PostgreSQL database through a psycopg connection pool; shared by every replica."""

    name = "postgresql"

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        if type(pool_size) is not int or pool_size < 1:
            raise InvalidValue(f"an index's connection pool holds at least 1 connection, got {pool_size!r}")
        self.url = url
        self.location = redact_database_url(url)
        self._errors: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError)
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT):
                pass  # a URL that cannot connect is refused here, not by the pool's retries
        except psycopg.Error as err:
            raise IndexFileError(f"cannot open the index {self.location}: {_first_line(err)}") from None
        self._pool: psycopg_pool.ConnectionPool[Any] = ConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT},
            open=True, name="provenance-index", timeout=_POOL_WAIT, reconnect_timeout=_RECONNECT,
        )
        self._down = False  # the last query found the database not answering (set and read without a lock: a hint)
        self._listener = _GenerationListener(url, self._errors)

    def ddl(self, statement: str) -> str:
        for pattern, replacement in _TYPES:
            statement = pattern.sub(replacement, statement)
        return statement

    def has_table(self, db: Db, name: str) -> bool:
        return db.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0] is True

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection(timeout=_DOWN_WAIT if self._down else None) as conn:
                yield conn
        except self._errors as err:
            self._down = True
            raise IndexUnavailable(self.location, _first_line(err),
                                   hint="answers resume once it does") from None
        self._down = False

    @contextmanager
    def migrating(self) -> Iterator[Db]:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_KEY,))
            yield _PgDb(conn)
            conn.execute("INSERT INTO meta (key, value) VALUES ('generation', '0') ON CONFLICT DO NOTHING")

    @contextmanager
    def reading(self) -> Iterator[Db]:
        with self._connection() as conn:
            yield _PgDb(conn)

    @contextmanager
    def writing(self, content: bool = True) -> Iterator[Db]:
        with self._connection() as conn, conn.transaction():
            # the row lock orders writers as BEGIN IMMEDIATE does; the new values tell every replica, announced
            # to their listeners at the commit (a rolled-back transaction announces nothing)
            row = conn.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT)"
                               " WHERE key = 'generation' RETURNING value").fetchone()
            value: tuple[int, int] | None = None  # None only before the migration wrote the rows
            if row is not None:
                kept = conn.execute(_BUMP_CONTENT.replace("INTEGER", "BIGINT") + " RETURNING value" if content
                                    else "SELECT value FROM meta WHERE key = 'content'").fetchone()
                value = int(row[0]), int(kept[0]) if kept is not None else -int(row[0])  # not migrated: every commit
                conn.execute("SELECT pg_notify(%s, %s)", (_CHANNEL, f"{value[0]} {value[1]}"))
            yield _PgDb(conn)
        if value is not None:
            self._listener.saw(value)  # committed: this process reads its own write at once

    def generations(self) -> tuple[tuple[int, int], int]:
        heard = self._listener.current()
        if heard is None:
            with self.reading() as db:  # not listening (starting, or its session was lost): asked
                heard = _read_generations(db)
        return (heard[0], 0), heard[1]

    def indexer_lock(self) -> IndexerLock:
        return _AdvisoryLock(self.url, self._errors)

    def close(self) -> None:
        self._listener.stop()
        self._pool.close()


class _GenerationListener:
    """The index's generation as the database announces it (``LISTEN``, on a session of its own, in a thread).

    A remembered answer is served after one look at the generation; asking the database each time was
    about half of such an answer's time on PostgreSQL. Every write transaction announces its new value
    with ``pg_notify`` (delivered at its commit); after (re)connecting the listener reads the value
    itself, and again after each :data:`_LISTEN_WAIT` seconds of listening (a session that died silently is
    found so). While it is not listening :meth:`current` is None and the generation is asked.
    """

    def __init__(self, url: str, errors: tuple[type[Exception], ...]) -> None:
        self._url = url
        self._lost: tuple[type[Exception], ...] = (*errors, ValueError, TypeError)
        self._value: tuple[int, int] | None = None  # (commits, content)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> tuple[int, int] | None:
        if self._thread is None and not self._stopped.is_set():
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="provenance-index-listener",
                                                    daemon=True)
                    self._thread.start()
        return self._value

    def saw(self, value: tuple[int, int]) -> None:
        with self._lock:
            if self._value is not None:
                self._value = max(self._value, value)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * _LISTEN_WAIT)

    def _run(self) -> None:
        import psycopg

        delay = 0.05
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT,
                                     application_name=f"provenance-listener-{os.getpid()}") as conn:
                    conn.execute(f"LISTEN {_CHANNEL}")  # before reading: nothing committed after it is missed
                    delay = 0.05
                    while not self._stopped.is_set():
                        self._heard(_read_generations(_PgDb(conn)))
                        for note in conn.notifies(timeout=_LISTEN_WAIT, stop_after=None):
                            commits, content = note.payload.split(" ")  # anything else: lost, read again
                            self._heard((int(commits), int(content)))
                            if self._stopped.is_set():
                                break
            except self._lost:  # the session is lost (or nonsense was heard): asked until it is back
                pass
            finally:
                with self._lock:
                    self._value = None
            self._stopped.wait(delay)
            delay = min(delay * 2, 5.0)

    def _heard(self, value: tuple[int, int]) -> None:
        with self._lock:
            self._value = value if self._value is None else max(self._value, value)


def _read_generations(db: Db) -> tuple[int, int]:
    rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('generation', 'content')").fetchall())
    return int(rows.get("generation", 0)), int(rows.get("content", 0))


class _AdvisoryLock:
    """``pg_try_advisory_lock`` on a session of its own: the server frees it when that session ends (the
    process died, or lost its connection), and the next replica to try takes it."""

    def __init__(self, url: str, errors: tuple[type[Exception], ...]) -> None:
        self._url = url
        self._errors = errors
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False

    def held(self) -> bool:
        """As :meth:`IndexerLock.held`; raises :class:`IndexUnavailable` when no session can be had at all
        (the lock it held, if any, already reported lost by a False)."""
        import psycopg

        failure: Exception | None = None
        for _ in range(2):  # a session found dead is replaced once: a lock not held may be free now
            try:
                if self._conn is None or self._conn.closed:
                    self._held = False
                    self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT,
                                                 application_name=f"provenance-indexer-{os.getpid()}")
                if self._held:
                    self._conn.execute("SELECT 1")  # still the session that holds it
                    return True
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (_INDEXER_KEY,)).fetchone()
                self._held = bool(row and row[0])
                return self._held
            except self._errors as err:
                was_held, failure = self._held, err
                self.release()  # the session is gone, and the lock with it
                if was_held:
                    return False  # lost: the caller stops indexing before it may take the lock again
        assert failure is not None  # each try returned or failed
        raise IndexUnavailable(redact_database_url(self._url), _first_line(failure),
                               hint="this process indexes again, or another replica does, once it answers")

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            if self._held:
                with suppress(*self._errors):  # at once, not when the server notices the session ended
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (_INDEXER_KEY,))  # (gone: so is the lock)
            self._conn.close()
        self._conn, self._held = None, False


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]

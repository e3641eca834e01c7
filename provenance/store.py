"""The publisher's local store: one SQLite file under PROVENANCE_HOME, mode 0600.

It keeps what only the publisher has and what must survive a crash:

- every record it signed, with its Statement and its claims commitment (the
  salts and values of every field, so undisclosed fields can be shown to an
  auditor later; this is why the file is private);
- the state of each record: ``queued`` for the next batch, ``sending`` (a
  direct register journaled, maybe sent), ``batching`` (in a batch whose
  anchor is journaled), ``anchored``, or ``failed`` (the chain refused it);
- batches and their anchor transaction, under the address that anchored them
  (``submitter``: the registry keys a batch by (submitter, root));
- the SHA-256 of every file of every registered artifact, so a user holding
  one file can find the artifact it belongs to;
- the transaction journal (:mod:`provenance.journal`) in the same database, so
  a record's state change and the transaction that causes it commit together.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provenance.commitments import Commitment
from provenance.errors import NotInStore, StoreError
from provenance.journal import Journal
from provenance.record import hex32
from provenance.statement import Statement
from provenance.vocabulary import resolve_fields

__all__ = ["Store", "StoredRecord", "StoredBatch", "EncodedRecord", "STORE_FILE"]

#: A record ready for :meth:`Store.add_encoded`: (record id, chain id, registry, publisher, subject, kind,
#: Statement compact JSON, commitment JSON).
EncodedRecord = tuple[str, int, str, str, str, int, str, str]
#: An encoded record with its Statement path and transaction hash, as ``_insert`` writes it.
_Row = tuple[str, int, str, str, str, int, str, str, str | None, str | None]

STORE_FILE = "store.db"
RECORD_STATES = ("queued", "sending", "batching", "anchored", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id      TEXT PRIMARY KEY,
    chain_id       INTEGER NOT NULL,
    registry       TEXT NOT NULL,
    publisher      TEXT NOT NULL,
    subject        TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'batching', 'anchored', 'failed')),
    anchor         TEXT,                   -- a batched record's anchor (JSON); joined to its Statement on reading
    statement_path TEXT,                   -- where the Statement file is written
    tx_hash        TEXT,                   -- the register or anchorBatch transaction
    batch_root     TEXT,
    error          TEXT,
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL
);
-- The large texts apart from the small, often-updated record rows: SQLite rewrites a whole row on any
-- update, and a Statement with its disclosures and proofs is ~8 KB.
CREATE TABLE IF NOT EXISTS documents (
    record_id  TEXT PRIMARY KEY,
    statement  TEXT NOT NULL,             -- the public Statement (compact JSON), as signed and queued
    commitment TEXT NOT NULL              -- secret: every claim field's salt and value
);
CREATE INDEX IF NOT EXISTS records_subject ON records (subject);
CREATE INDEX IF NOT EXISTS records_queue ON records (chain_id, registry, publisher, state);
CREATE INDEX IF NOT EXISTS records_batch ON records (batch_root);
CREATE TABLE IF NOT EXISTS batches (
    root        TEXT PRIMARY KEY,
    chain_id    INTEGER NOT NULL,
    registry    TEXT NOT NULL,
    submitter   TEXT NOT NULL,             -- the account that anchors it: its records' publisher
    count       INTEGER NOT NULL,
    uri         TEXT NOT NULL,
    tx_hash     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('sending', 'anchored', 'failed')),
    block_number INTEGER,
    created_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    sha256  TEXT NOT NULL,
    subject TEXT NOT NULL,
    path    TEXT NOT NULL,
    PRIMARY KEY (sha256, subject, path)
);
"""


@dataclass(frozen=True)
class StoredRecord:
    record_id: str
    chain_id: int
    registry: str
    publisher: str
    subject: str
    state: str
    statement: Statement
    statement_path: Path | None
    tx_hash: str | None
    batch_root: str | None
    error: str | None


@dataclass(frozen=True)
class StoredBatch:
    """A batch this store anchored: ``submitter`` sent ``anchorBatch`` (its records' publisher)."""

    root: str
    chain_id: int
    registry: str
    submitter: str
    count: int
    uri: str
    tx_hash: str
    state: str
    block_number: int | None


class Store:
    """The local store. Open with :meth:`open`; writes that belong together go in :meth:`transaction`."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self.journal = Journal.attach(connection)

    @classmethod
    def open(cls, home: Path) -> Store:
        path = Path(home) / STORE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # created 0600 before SQLite writes a byte: it holds the claim salts
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            _migrate(db)
        except sqlite3.DatabaseError as err:
            raise StoreError(f"the local store {path} cannot be used: {err}") from None
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)
        return cls(path, db)

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: the rows written inside commit together (journal rows included)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------ records

    def add_record(
        self,
        statement: Statement,
        commitment: Commitment,
        *,
        state: str,
        statement_path: Path | None,
        tx_hash: bytes | None = None,
    ) -> None:
        if state not in RECORD_STATES:
            raise ValueError(state)
        self._insert([_encoded(statement, commitment, statement_path, tx_hash)], state=state)
        self._add_files(statement)

    def add_records(self, items: list[tuple[Statement, Commitment, Path | None]], *, state: str) -> None:
        """Many records at once (a batch being queued); one executemany per table, for speed."""
        self._insert([_encoded(s, c, p) for s, c, p in items], state=state)
        self._add_files(*(statement for statement, _, _ in items))

    def add_encoded(self, rows: list[EncodedRecord], *, state: str) -> None:
        """Records already encoded, as (record id, chain id, registry, publisher, subject, kind, Statement
        compact JSON, commitment JSON): bulk queueing prepares them in worker processes."""
        self._insert([(*row, None, None) for row in rows], state=state)

    def _insert(self, rows: list[_Row], *, state: str) -> None:
        """Rows of (record id, chain id, registry, publisher, subject, kind, Statement JSON, commitment JSON,
        Statement path, tx hash) into ``records`` and ``documents``."""
        now = time.time()
        self._db.executemany(
            "INSERT INTO records (record_id, chain_id, registry, publisher, subject, kind, state,"
            " statement_path, tx_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row[:6], state, row[8], row[9], now, now) for row in rows],
        )
        self._db.executemany(
            "INSERT INTO documents (record_id, statement, commitment) VALUES (?, ?, ?)",
            [(row[0], row[6], row[7]) for row in rows],
        )

    def _add_files(self, *statements: Statement) -> None:
        rows = [
            (f["sha256"].lower(), hex32(statement.subject), f["path"])
            for statement in statements
            for f in (statement.manifest or {}).get("files") or []
            if "sha256" in f and "path" in f
        ]
        if rows:
            self._db.executemany("INSERT OR IGNORE INTO files (sha256, subject, path) VALUES (?, ?, ?)", rows)

    def update_record(
        self,
        record_id: bytes | str,
        *,
        state: str,
        statement: Statement | None = None,
        tx_hash: bytes | None = None,
        batch_root: bytes | None = None,
        error: str | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE records SET state = ?, tx_hash = COALESCE(?, tx_hash),"
            " batch_root = COALESCE(?, batch_root), error = ?, updated_at = ? WHERE record_id = ?",
            (
                state, hex32(tx_hash) if tx_hash else None,
                hex32(batch_root) if batch_root else None, error, time.time(), _key(record_id),
            ),
        )
        if statement is not None:  # a whole Statement replaces any anchor kept apart
            self._db.execute("UPDATE records SET anchor = NULL WHERE record_id = ?", (_key(record_id),))
            self._db.execute(
                "UPDATE documents SET statement = ? WHERE record_id = ?", (statement.dumps_compact(), _key(record_id))
            )

    def set_batching(self, record_ids: list[bytes], tx_hash: bytes, batch_root: bytes) -> None:
        """Put records in a batch whose anchor is being journaled (one executemany)."""
        now, tx, root = time.time(), hex32(tx_hash), hex32(batch_root)
        self._db.executemany(
            "UPDATE records SET state = 'batching', tx_hash = ?, batch_root = ?, error = NULL, updated_at = ?"
            " WHERE record_id = ?",
            [(tx, root, now, hex32(r)) for r in record_ids],
        )

    def set_anchored(self, anchors: list[tuple[bytes, str]]) -> None:
        """Mark batched records anchored, as (record id, the anchor's compact JSON) (one executemany).

        Only the anchor is written (a few hundred bytes, not the whole Statement again):
        readers join it to the stored Statement (:meth:`Statement.with_anchor_text`).
        """
        now = time.time()
        self._db.executemany(
            "UPDATE records SET state = 'anchored', anchor = ?, error = NULL, updated_at = ? WHERE record_id = ?",
            [(anchor, now, hex32(record_id)) for record_id, anchor in anchors],
        )

    def record_ids(
        self, *, state: str, chain_id: int, registry: str, publisher: str
    ) -> list[bytes]:
        """The ids of a publisher's records in ``state``, in the order of :meth:`records`, without parsing them."""
        rows = self._db.execute(
            "SELECT record_id FROM records WHERE state = ? AND chain_id = ? AND registry = ? AND publisher = ?"
            " ORDER BY created_at, record_id",
            (state, chain_id, registry, publisher),
        ).fetchall()
        return [bytes.fromhex(row[0][2:]) for row in rows]

    def record(self, record_id: bytes | str) -> StoredRecord | None:
        row = self._db.execute(_SELECT + " WHERE r.record_id = ?", (_key(record_id),)).fetchone()
        return _stored(row) if row else None

    def records(
        self,
        *,
        state: str | None = None,
        chain_id: int | None = None,
        registry: str | None = None,
        publisher: str | None = None,
        batch_root: bytes | str | None = None,
    ) -> list[StoredRecord]:
        clauses, values = [], []
        for column, value in (
            ("state", state), ("chain_id", chain_id), ("registry", registry),
            ("publisher", publisher), ("batch_root", _key(batch_root) if batch_root else None),
        ):
            if value is not None:
                clauses.append(f"r.{column} = ?")
                values.append(value)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._db.execute(_SELECT + where + " ORDER BY r.created_at, r.record_id", values).fetchall()
        return [_stored(row) for row in rows]

    def statement_texts(self, *, batch_root: bytes | str) -> list[tuple[str, str, Path | None]]:
        """(record id, Statement as stored, Statement path) of a batch's members, unparsed, in queue order."""
        rows = self._db.execute(
            "SELECT r.record_id, d.statement, r.anchor, r.statement_path FROM records r"
            " JOIN documents d ON d.record_id = r.record_id WHERE r.batch_root = ?"
            " ORDER BY r.created_at, r.record_id",
            (_key(batch_root),),
        ).fetchall()
        return [(row[0], _joined(row[1], row[2]), Path(row[3]) if row[3] else None) for row in rows]

    def commitment(self, record_id: bytes | str) -> Commitment:
        row = self._db.execute("SELECT commitment FROM documents WHERE record_id = ?", (_key(record_id),)).fetchone()
        if row is None:
            raise NotInStore(f"record {_key(record_id)} is not in the local store {self.path}")
        return Commitment.from_json(row[0])

    def disclosing(self, record_id: bytes | str, fields: Iterable[str]) -> Statement:
        """The record's stored Statement, revealing ``fields`` too (a section stands for all its fields).

        What it disclosed already stays disclosed; each field comes with its salt
        and Merkle proof against the signed claimsRoot. The stored Statement is
        taken, not a file: it is the freshest (it has the anchor even when the
        file beside the artifact is older).
        """
        stored = self.record(record_id)
        if stored is None:
            raise NotInStore(
                f"record {_key(record_id)} is not in the local store {self.path}",
                hint="run this where the record was registered (same PROVENANCE_HOME)",
            )
        wanted = {d["field"] for d in stored.statement.disclosures} | set(resolve_fields(fields))
        disclosures = self.commitment(record_id).disclose(sorted(wanted))
        return replace(stored.statement, disclosures=tuple(d.to_dict() for d in disclosures))

    def records_of_subject(self, subject: bytes) -> list[StoredRecord]:
        rows = self._db.execute(_SELECT + " WHERE r.subject = ? ORDER BY r.created_at", (hex32(subject),)).fetchall()
        return [_stored(row) for row in rows]

    def known_subject(self, subject: bytes, chain_id: int, registry: str) -> bool:
        """True when this store holds a record of ``subject`` for that registry (queued ones included)."""
        row = self._db.execute(
            "SELECT 1 FROM records WHERE subject = ? AND chain_id = ? AND registry = ? AND state != 'failed' LIMIT 1",
            (hex32(subject), chain_id, registry),
        ).fetchone()
        return row is not None

    def unfinished(self) -> tuple[dict[str, int], int]:
        """What waits for the chain: record counts by state (queued, sending, batching) and open transactions."""
        rows = self._db.execute(
            "SELECT state, COUNT(*) FROM records WHERE state IN ('queued', 'sending', 'batching') GROUP BY state"
        ).fetchall()
        open_txs = self._db.execute("SELECT COUNT(*) FROM txs WHERE status IN ('signed', 'sent')").fetchone()[0]
        return dict(rows), open_txs

    # ------------------------------------------------------------ the look-ups a verifier needs

    def statements_for(self, subject: bytes) -> list[Statement]:
        rows = self._db.execute(
            "SELECT d.statement, r.anchor FROM records r JOIN documents d ON d.record_id = r.record_id"
            " WHERE r.subject = ? AND r.state != 'failed' ORDER BY r.created_at",
            (hex32(subject),),
        ).fetchall()
        return [Statement.from_json(_loads(_joined(*row)), source=f"the local store {self.path}") for row in rows]

    def statement(self, record_id: bytes | str) -> Statement | None:
        stored = self.record(record_id)
        return stored.statement if stored else None

    def files(self, sha256_hex: str) -> list[tuple[str, str]]:
        """(subject, path) of every stored artifact holding a file with this SHA-256."""
        rows = self._db.execute(
            "SELECT subject, path FROM files WHERE sha256 = ? ORDER BY subject, path", (sha256_hex.lower(),)
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    # ------------------------------------------------------------ batches

    def add_batch(self, root: bytes, chain_id: int, registry: str, submitter: str, count: int, uri: str,
                  tx_hash: bytes) -> None:
        # the same records queued again after their batch failed (or was abandoned) give the same root: a new try
        self._db.execute("DELETE FROM batches WHERE root = ? AND state = 'failed'", (hex32(root),))
        self._db.execute(
            "INSERT INTO batches (root, chain_id, registry, submitter, count, uri, tx_hash, state, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?)",
            (hex32(root), chain_id, registry, submitter, count, uri, hex32(tx_hash), time.time()),
        )

    def set_batch_state(self, root: bytes | str, state: str, block_number: int | None = None) -> None:
        self._db.execute(
            "UPDATE batches SET state = ?, block_number = COALESCE(?, block_number) WHERE root = ?",
            (state, block_number, _key(root)),
        )

    def requeue_batch(self, root: bytes | str) -> None:
        """A batch the chain refused: mark it failed and put its records back in the queue."""
        self.set_batch_state(root, "failed")
        self._db.execute(
            "UPDATE records SET state = 'queued', batch_root = NULL, tx_hash = NULL, updated_at = ?"
            " WHERE batch_root = ?",
            (time.time(), _key(root)),
        )

    def batches(self, *, state: str | None = None, chain_id: int | None = None) -> list[StoredBatch]:
        clauses: list[str] = []
        values: list[str | int] = []
        if state is not None:
            clauses.append("state = ?")
            values.append(state)
        if chain_id is not None:
            clauses.append("chain_id = ?")
            values.append(chain_id)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._db.execute(
            "SELECT root, chain_id, registry, submitter, count, uri, tx_hash, state, block_number FROM batches"
            + where + " ORDER BY created_at",
            values,
        ).fetchall()
        return [StoredBatch(*row) for row in rows]


_SELECT = (
    "SELECT r.record_id, r.chain_id, r.registry, r.publisher, r.subject, r.state, d.statement, r.statement_path,"
    " r.tx_hash, r.batch_root, r.error, r.anchor FROM records r JOIN documents d ON d.record_id = r.record_id"
)


def _encoded(statement: Statement, commitment: Commitment, path: Path | None, tx_hash: bytes | None = None) -> _Row:
    return (
        hex32(statement.record_id), statement.chain_id, statement.registry, statement.publisher,
        hex32(statement.subject), int(statement.record.kind), statement.dumps_compact(), commitment.to_json(),
        str(path) if path else None, hex32(tx_hash) if tx_hash else None,
    )


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store made by an earlier version to this layout (anchors apart, texts in ``documents``,
    a batch's anchoring account named ``submitter``)."""
    batch_columns = {row[1] for row in db.execute("PRAGMA table_info(batches)")}
    if "publisher" in batch_columns:
        db.execute("ALTER TABLE batches RENAME COLUMN publisher TO submitter")
    columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    if "anchor" not in columns:
        db.execute("ALTER TABLE records ADD COLUMN anchor TEXT")
    if "statement" in columns:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT OR IGNORE INTO documents (record_id, statement, commitment)"
            " SELECT record_id, statement, commitment FROM records"
        )
        db.execute("ALTER TABLE records DROP COLUMN statement")
        db.execute("ALTER TABLE records DROP COLUMN commitment")
        db.execute("COMMIT")


def _joined(statement: str, anchor: str | None) -> str:
    return statement if anchor is None else Statement.with_anchor_text(statement, anchor)


def _key(value: bytes | str) -> str:
    return hex32(value) if isinstance(value, bytes) else value.lower()


def _loads(text: str) -> Any:
    return json.loads(text)


def _stored(row: tuple[Any, ...]) -> StoredRecord:
    return StoredRecord(
        record_id=row[0], chain_id=row[1], registry=row[2], publisher=row[3], subject=row[4], state=row[5],
        statement=Statement.from_json(_loads(_joined(row[6], row[11])), source="the local store"),
        statement_path=Path(row[7]) if row[7] else None, tx_hash=row[8], batch_root=row[9], error=row[10],
    )

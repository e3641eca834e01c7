"""The registry's events in SQLite or PostgreSQL, and the queries over them.

:class:`Index` is the SQLite file (WAL mode, schema versioned), or a PostgreSQL
database shared by several service replicas (``Index.open("postgresql://...")``),
and its queries, written once for both (:mod:`provenance._sql` holds what the
two databases say differently);
:class:`~provenance.indexer.Indexer` fills it from a
:class:`~provenance.ledger.Ledger`::

    index = Index.open(Path("index.sqlite"))
    Indexer(index, ledger, confirmations=12).sync()
    index.records_by_subject(subject)   # plain frozen dataclasses, 0x-hex strings

One ``events`` table holds every event with typed columns (the columns an
event does not have are NULL), unique on (chain, registry, tx hash, log index),
so that replaying a range never duplicates. ``blocks`` keeps the hash (and,
for blocks with events, the timestamp) of every block with events and of the
last block of each synced range; ``cursors`` the last synced block per
(chain id, registry). Each block range is stored in one SQLite transaction
together with its cursor (:meth:`Index.store_rows`), and a reorg is rolled
back in one (:meth:`Index.roll_back`), so a killed process resumes where it
committed.

Besides the chain's events the index keeps what only Statements tell
(schema version 2): ``statements`` (one Statement per record id, as posted to
the verifier service or read from a batch document) and ``files`` (the
SHA-256 of every whole file in their manifests, with its subject and path), so
that a file's digest leads to the artifacts that hold it
(:meth:`Index.add_statement`, :meth:`Index.statement`,
:meth:`Index.statements_for`, :meth:`Index.files`).

Schema version 3 follows registry version 2: a batch is (submitter, root), so
``BatchAnchored`` and ``BatchedRecordProven`` rows carry the ``submitter``
(:meth:`Index.batch` takes both; :meth:`Index.batches` lists a root's
anchors by every submitter), revocations and supersessions their
``reason_code``, and ``NonceUsed`` its ``nonce``.

Schema version 4 keeps strings exactly: a Solidity ``string`` is any bytes
(anyone may endorse with uri ``hex"ff"``); when a uri or reason is not UTF-8,
``uri``/``reason`` hold it with the odd bytes backslash-escaped and
``uri_hex``/``reason_hex`` its exact bytes (0x-hex; NULL when the text is
exact), which histories show as ``details["uri_hex"]``/``details["reason_hex"]``.

Schema version 5 says who handed each Statement over: ``added_by`` (the
service: the client's address) beside ``added_at`` for the latest copy, and
``first_added_at``/``first_added_by`` for the first (NULL and ``unknown`` for
Statements kept before version 5, whose first copy is not known).

Schema version 6 keeps what batch documents tell: ``batch_documents`` says,
per anchored batch (submitter, root), what became of the document its
``BatchAnchored`` uri names (read, with how many members were indexed and
refused; or why not, and when to try again: :meth:`Index.batches_to_read`,
:meth:`Index.record_batch_document`, :meth:`Index.batch_document`), and
``batch_members`` the members of a document that verified against the
anchored root and whose Statements verified (:meth:`Index.add_batch_members`).
A member is a record of its subject like one registered directly:
:meth:`Index.record`, :meth:`Index.records_by_subject` and
:meth:`Index.history` know it (with the ``BatchAnchored`` event as its
registration), and revocations and supersessions, which the registry takes
only once a batched record is proven on chain, join it by its record id.

Schema version 7 links records to their parents: ``record_parents`` holds one
row per (record, parent subject) of every record registered directly
(``RecordRegistered``) or kept as a batch member, with the record's kind, so
that the records naming a subject as a parent are found without reading
every registration: :meth:`Index.records_with_parent`, and
:meth:`Index.evaluations_of` (the evaluation records of a subject, issue 16).
Migrating to it fills the table from the rows already kept.

Schema version 8 keeps each Statement deflated (zlib, :func:`_deflated`): the
``statements`` column is most of an index's bytes (a batch member's Statement
carries its disclosures with their salts and Merkle proofs, 9.7 KB of JSON,
3.6 KB deflated). Migrating leaves the rows already kept as they are (SQLite:
JSON text; PostgreSQL: the column becomes ``BYTEA``, each row its JSON's
UTF-8 bytes); :func:`_statement` reads all three, and a record's next copy is
written deflated.

An older file is brought forward on open; a file of a newer version is refused.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from provenance._logs import AbiText
from provenance._sql import POOL_SIZE, Backend, Db, IndexerLock, SQLiteBackend, open_backend
from provenance.errors import IndexFileError, IndexUnavailable, InvalidValue, UsageError
from provenance.record import Kind, ReasonCode, parse_address

if TYPE_CHECKING:  # pragma: no cover
    from provenance.ledger import ChainEvent
    from provenance.statement import Statement

__all__ = [
    "Index",
    "IndexedRecord",
    "HistoryEntry",
    "Batch",
    "BatchDocument",
    "DOCUMENT_STATES",
    "Publisher",
    "IndexFileError",
    "IndexUnavailable",
    "SCHEMA_VERSION",
    "EVENT_NAMES",
    "event_rows",
]

SCHEMA_VERSION = 9
# A PostgreSQL index was first made at this version: older ones are SQLite files only (their migrations read
# with SQLite's json_each).
_FIRST_DATABASE_VERSION = 7

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    chain_id  INTEGER NOT NULL,
    registry  TEXT    NOT NULL,
    synced_to INTEGER NOT NULL,          -- last block whose events are all in `events`
    PRIMARY KEY (chain_id, registry)
);
CREATE TABLE IF NOT EXISTS blocks (
    chain_id  INTEGER NOT NULL,
    registry  TEXT    NOT NULL,
    number    INTEGER NOT NULL,
    hash      TEXT    NOT NULL,
    timestamp INTEGER,                   -- only for blocks with events
    PRIMARY KEY (chain_id, registry, number)
);
CREATE TABLE IF NOT EXISTS events (
    chain_id     INTEGER NOT NULL,
    registry     TEXT    NOT NULL,
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    tx_hash      TEXT    NOT NULL,
    name         TEXT    NOT NULL,       -- the Solidity event name
    record_id    TEXT,                   -- every event but BatchAnchored and NonceUsed
    actor        TEXT,                   -- publisher (of registered, proven, revoked, superseded records and
                                         -- of NonceUsed), submitter (BatchAnchored), endorser or disputer
    subject      TEXT,                   -- RecordRegistered
    kind         INTEGER,                -- RecordRegistered: 0 model, 1 dataset, 2 other, 3 evaluation
    claims_root  TEXT,                   -- RecordRegistered
    parents      TEXT,                   -- RecordRegistered: JSON list of 0x subjects
    uri          TEXT,                   -- RecordRegistered, BatchAnchored, endorse, dispute
    root         TEXT,                   -- BatchAnchored, BatchedRecordProven
    count        INTEGER,                -- BatchAnchored
    successor    TEXT,                   -- RecordSuperseded
    digest       TEXT,                   -- RecordEndorsed, RecordDisputed: statement digest
    reason       TEXT,                   -- RecordRevoked, RecordSuperseded
    submitter    TEXT,                   -- BatchAnchored, BatchedRecordProven: who anchored the batch
    struct_hash  TEXT,                   -- BatchedRecordProven
    reason_code  INTEGER,                -- RecordRevoked, RecordSuperseded: 0 other, 1 erasure, ...
    nonce        INTEGER,                -- NonceUsed
    uri_hex      TEXT,                   -- the uri's exact bytes (0x-hex) when they are not UTF-8
    reason_hex   TEXT,                   -- the reason's exact bytes (0x-hex) when they are not UTF-8
    UNIQUE (chain_id, registry, tx_hash, log_index)
);
CREATE INDEX IF NOT EXISTS events_record  ON events (record_id);
CREATE INDEX IF NOT EXISTS events_subject ON events (subject);
CREATE INDEX IF NOT EXISTS events_actor   ON events (actor);
CREATE INDEX IF NOT EXISTS events_root    ON events (root);
CREATE INDEX IF NOT EXISTS events_block   ON events (chain_id, registry, block_number);
""" + """
CREATE TABLE IF NOT EXISTS statements (
    record_id TEXT PRIMARY KEY,          -- 0x-hex, lowercase
    subject   TEXT NOT NULL,
    publisher TEXT NOT NULL,             -- checksummed
    statement BLOB NOT NULL,             -- the Statement's JSON, deflated (zlib); before version 8 the JSON
    added_at  INTEGER NOT NULL,          -- unix time it was (last) stored
    added_by  TEXT NOT NULL DEFAULT 'unknown',        -- who handed over the latest copy
    first_added_at INTEGER,                           -- unix time of the first copy (NULL: before version 5)
    first_added_by TEXT NOT NULL DEFAULT 'unknown'    -- who handed over the first copy
);
CREATE INDEX IF NOT EXISTS statements_subject ON statements (subject);
CREATE INDEX IF NOT EXISTS statements_publisher ON statements (publisher);
CREATE TABLE IF NOT EXISTS files (
    sha256  TEXT NOT NULL,               -- 64 hex digits, lowercase, no 0x: the whole file's SHA-256
    subject TEXT NOT NULL,               -- 0x-hex subject of the artifact that lists it
    path    TEXT NOT NULL,               -- its POSIX path in that artifact
    PRIMARY KEY (sha256, subject, path)
);
""" + """
CREATE TABLE IF NOT EXISTS batch_documents (
    chain_id     INTEGER NOT NULL,
    registry     TEXT    NOT NULL,
    root         TEXT    NOT NULL,       -- 0x-hex, lowercase: the anchored root
    submitter    TEXT    NOT NULL,       -- checksummed: who anchored it (a batch is (submitter, root))
    block_number INTEGER NOT NULL,       -- of its BatchAnchored event (a reorg above it forgets the row)
    uri          TEXT    NOT NULL,       -- where the document was sought
    state        TEXT    NOT NULL,       -- 'done'; 'unreachable' (not fetched); 'invalid' (does not verify)
    members      INTEGER NOT NULL,       -- members the document lists (0 unless done)
    accepted     INTEGER NOT NULL,       -- members whose Statements verified: indexed as records
    refused      INTEGER NOT NULL,       -- members whose Statements did not verify: not indexed
    reason       TEXT,                   -- why not done, or why the first refused member was refused
    attempts     INTEGER NOT NULL,       -- failed attempts in a row (0 once done)
    retry_at     INTEGER,                -- unix time of the next attempt (NULL once done)
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (chain_id, registry, root, submitter)
);
CREATE TABLE IF NOT EXISTS batch_members (
    chain_id     INTEGER NOT NULL,
    registry     TEXT    NOT NULL,
    root         TEXT    NOT NULL,       -- the batch that anchors it (with submitter)
    submitter    TEXT    NOT NULL,
    block_number INTEGER NOT NULL,       -- of the batch's BatchAnchored event
    position     INTEGER NOT NULL,       -- its place in the document
    record_id    TEXT    NOT NULL,
    publisher    TEXT    NOT NULL,       -- checksummed: who signed it
    subject      TEXT    NOT NULL,
    kind         INTEGER NOT NULL,
    claims_root  TEXT    NOT NULL,
    parents      TEXT    NOT NULL,       -- JSON list of 0x subjects
    uri          TEXT    NOT NULL,
    PRIMARY KEY (chain_id, registry, root, submitter, record_id)
);
CREATE INDEX IF NOT EXISTS batch_members_record  ON batch_members (record_id);
CREATE INDEX IF NOT EXISTS batch_members_subject ON batch_members (subject);
CREATE INDEX IF NOT EXISTS batch_members_publisher ON batch_members (publisher);
""" + """
CREATE TABLE IF NOT EXISTS record_parents (
    chain_id     INTEGER NOT NULL,
    registry     TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,       -- a record registered directly or kept as a batch member
    parent       TEXT    NOT NULL,       -- 0x-hex, lowercase: one of its on-chain parents' subjects
    kind         INTEGER NOT NULL,       -- the record's kind (3: an evaluation of the parent)
    block_number INTEGER NOT NULL,       -- of its RecordRegistered, or its batch's BatchAnchored (reorgs)
    PRIMARY KEY (chain_id, registry, record_id, parent, block_number)
);
CREATE INDEX IF NOT EXISTS record_parents_parent ON record_parents (parent, kind);
"""

# What each schema version adds to the one before; an older file is brought forward on open.
_MIGRATIONS: dict[int, str] = {
    # 1 -> 2: Statements posted to the service and the file digests of their manifests (the statements
    # table as version 2 made it, which 5 alters; files and the indexes come from _SCHEMA).
    2: """
CREATE TABLE IF NOT EXISTS statements (
    record_id TEXT PRIMARY KEY,
    subject   TEXT NOT NULL,
    publisher TEXT NOT NULL,
    statement TEXT NOT NULL,
    added_at  INTEGER NOT NULL
);
""",
    # 2 -> 3: the columns of registry version 2's events (rows of a version 1 registry keep them NULL).
    3: """
ALTER TABLE events ADD COLUMN submitter TEXT;
ALTER TABLE events ADD COLUMN struct_hash TEXT;
ALTER TABLE events ADD COLUMN reason_code INTEGER;
ALTER TABLE events ADD COLUMN nonce INTEGER;
""",
    # 3 -> 4: the exact bytes of strings that are not UTF-8 (a file of version 3 holds none: such a
    # string stopped its indexer)
    4: """
ALTER TABLE events ADD COLUMN uri_hex TEXT;
ALTER TABLE events ADD COLUMN reason_hex TEXT;
""",
    # 4 -> 5: who handed each Statement over, the first copy's poster and time beside the latest's (not
    # known for the Statements already kept: 'unknown' and NULL)
    5: """
ALTER TABLE statements ADD COLUMN added_by TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE statements ADD COLUMN first_added_at INTEGER;
ALTER TABLE statements ADD COLUMN first_added_by TEXT NOT NULL DEFAULT 'unknown';
""",
    # 5 -> 6: batch documents read and their members (batch_documents, batch_members and their indexes:
    # new tables, made by _SCHEMA)
    6: "",
    # 6 -> 7: record_parents (a new table, made by _SCHEMA; filled by _FILLS[7])
    7: "",
    # 7 -> 8: Statements kept deflated. SQLite stores a BLOB in the TEXT column as it is; PostgreSQL changes
    # the column's type (_DATABASE_MIGRATIONS[8]). The rows already kept are read as they are (_statement).
    8: "",
    # 8 -> 9: meta's `content` counter, which every write transaction but a cursor-only one moves (_sql); a
    # program of version 8 would write without moving it, so it must not open the index once migrated
    9: "",
}

# What a version changes in a PostgreSQL database beyond _MIGRATIONS (a type: SQLite's columns take any value).
# ALTER ... TYPE rewrites the table under an exclusive lock: replicas wait for the one migrating.
_DATABASE_MIGRATIONS: dict[int, str] = {
    8: "ALTER TABLE statements ALTER COLUMN statement TYPE BYTEA USING convert_to(statement, 'UTF8');",
}

# What a version derives from the rows kept before it, run once the schema is complete (after _SCHEMA, so
# that every table it reads exists whatever version the file had).
_FILLS: dict[int, str] = {
    7: """
INSERT OR IGNORE INTO record_parents (chain_id, registry, record_id, parent, kind, block_number)
    SELECT e.chain_id, e.registry, e.record_id, lower(j.value), e.kind, e.block_number
    FROM events e, json_each(e.parents) j
    WHERE e.name = 'RecordRegistered' AND e.parents IS NOT NULL AND e.kind IS NOT NULL;
INSERT OR IGNORE INTO record_parents (chain_id, registry, record_id, parent, kind, block_number)
    SELECT m.chain_id, m.registry, m.record_id, lower(j.value), m.kind, m.block_number
    FROM batch_members m, json_each(m.parents) j;
""",
}

#: The registry's event names, as stored in ``events.name``.
EVENT_NAMES = (
    "RecordRegistered",
    "BatchAnchored",
    "BatchedRecordProven",
    "RecordRevoked",
    "RecordSuperseded",
    "RecordEndorsed",
    "RecordDisputed",
    "NonceUsed",
)

_RECORD_EVENTS = ("RecordRegistered", "BatchedRecordProven")


# ---------------------------------------------------------------- result types


@dataclass(frozen=True)
class IndexedRecord:
    """A record as the index knows it; ``subject`` etc. are None for a batched record proven on chain
    whose batch's document was not read.

    A batched record has ``batch_root`` and ``batch_submitter``: the batch it was
    proven into, or (``from_document``) the batch whose document lists it, its
    block, time and transaction those of the ``BatchAnchored`` event. Reason codes
    are labels (``erasure``, ...).
    """

    record_id: str
    publisher: str
    subject: str | None
    kind: int | None
    claims_root: str | None
    parents: tuple[str, ...]
    uri: str | None
    batch_root: str | None
    block_number: int
    block_time: int | None
    tx_hash: str
    chain_id: int
    registry: str
    revoked: bool
    revoke_reason: str | None
    successor: str | None
    endorsements: int
    disputes: int
    batch_submitter: str | None = None
    revoke_code: str | None = None
    supersede_code: str | None = None
    supersede_reason: str | None = None
    uri_hex: str | None = None  # the uri's exact bytes when they are not UTF-8 (``uri`` shows them escaped)
    # known only as a member of its batch's document (checked against the anchored root), neither registered
    # nor proven on chain: the registry's storage does not hold it
    from_document: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One event in a history, newest first; ``details`` holds the event-specific fields."""

    event: str
    block_number: int
    block_time: int | None
    tx_hash: str
    log_index: int
    record_id: str | None
    actor: str | None
    details: dict[str, Any]
    chain_id: int
    registry: str


@dataclass(frozen=True)
class Batch:
    """One anchor of a root: the registry's batch (``submitter``, ``root``)."""

    root: str
    submitter: str
    count: int
    uri: str
    block_number: int
    block_time: int | None
    tx_hash: str
    uri_hex: str | None = None  # the uri's exact bytes when they are not UTF-8 (``uri`` shows them escaped)


@dataclass(frozen=True)
class BatchDocument:
    """What became of the document of the batch (``submitter``, ``root``) its ``BatchAnchored`` uri names.

    ``state``: ``done`` (read: ``members`` listed, ``accepted`` indexed as records,
    ``refused`` not, ``reason`` the first refusal), ``unreachable`` (could not be
    fetched: tried again at ``retry_at``, later after each failure) or
    ``invalid`` (does not verify against the anchored batch: nothing indexed, tried
    again only at ``retry_at``, long after). ``attempts``: failures in a row.
    """

    root: str
    submitter: str
    uri: str
    state: str
    members: int
    accepted: int
    refused: int
    reason: str | None
    attempts: int
    retry_at: int | None
    updated_at: int


#: The states of a batch document (:class:`BatchDocument`).
DOCUMENT_STATES = ("done", "unreachable", "invalid")


@dataclass(frozen=True)
class Publisher:
    address: str
    records: int
    revoked: int
    first_block: int
    last_block: int


# ---------------------------------------------------------------- helpers


def _pooled(earlier: Statement, later: Statement) -> Statement:
    """One record's two Statement copies as one: every disclosed field, the anchor and manifest kept."""
    from dataclasses import replace

    have = {d.get("field") for d in later.disclosures if isinstance(d, dict)}
    extra = tuple(d for d in earlier.disclosures if isinstance(d, dict) and d.get("field") not in have)
    return replace(
        later,
        disclosures=later.disclosures + extra,
        anchor=later.anchor or earlier.anchor,
        manifest=later.manifest if later.manifest is not None else earlier.manifest,
    )


def _hex(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def _norm(value: str | bytes) -> str:
    """A 0x-hex key in the form stored: lowercase for hashes, as given for addresses."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value if value.startswith("0x") else "0x" + value


def _escaped(text: str) -> str:
    """Text from outside (a member's uri, a poster, a failure's reason) as stored: a NUL as ``\\x00``, as in
    :func:`_text` (PostgreSQL's text cannot hold it; SQLite's the same, so both answer alike). A Statement's
    JSON needs nothing: ``json.dumps`` writes a NUL as ``\\u0000``, and it keeps the exact text."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def _text(value: str | None) -> tuple[str | None, str | None]:
    """A decoded string as stored: (its text, escaped if need be; its exact bytes in 0x-hex, or None when
    the text is exact). A NUL is escaped too (``\\x00``; PostgreSQL's text cannot hold it)."""
    if value is None:
        return None, None
    text = str(value)
    if isinstance(value, AbiText):
        return text.replace("\x00", "\\x00"), "0x" + value.raw.hex()
    if "\x00" in text:
        return text.replace("\x00", "\\x00"), "0x" + text.encode().hex()
    return text, None


def _row(event: ChainEvent, chain_id: int, registry: str) -> tuple[Any, ...]:
    # called once per event of a sync: the arguments an event lacks are not looked at twice
    a = event.args
    get = a.get
    record_id = get("recordId")
    actor = get("publisher") or get("submitter") or get("endorser") or get("disputer")
    subject = get("subject")
    claims_root = get("claimsRoot")
    parents = get("parents")
    root = get("root")
    successor = get("successor")
    digest = get("statementDigest")
    struct_hash = get("structHash")
    nonce = get("nonce")
    uri, uri_hex = _text(get("uri"))
    reason, reason_hex = _text(get("reason"))
    return (
        chain_id,
        registry,
        event.block_number,
        event.log_index,
        "0x" + event.tx_hash.hex(),
        event.name,
        None if record_id is None else "0x" + record_id.hex(),
        actor,
        None if subject is None else "0x" + subject.hex(),
        get("kind"),
        None if claims_root is None else "0x" + claims_root.hex(),
        # json.dumps of the 0x-hex list, written out (hex needs no escaping): the same text, ~4x faster
        None if parents is None else "[" + ", ".join(['"0x' + p.hex() + '"' for p in parents]) + "]",
        uri,
        None if root is None else "0x" + root.hex(),
        get("count"),
        None if successor is None else "0x" + successor.hex(),
        None if digest is None else "0x" + digest.hex(),
        reason,
        get("submitter"),
        None if struct_hash is None else "0x" + struct_hash.hex(),
        get("reasonCode"),
        # a nonce counts one by one from 0; one past SQLite's integers is kept as 0x-hex text (SQLite would
        # turn decimal digits into a float)
        None if nonce is None else (nonce if nonce < 2**63 else hex(nonce)),
        uri_hex,
        reason_hex,
    )


def event_rows(
    events: Sequence[ChainEvent], chain_id: int, registry: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``events`` as :meth:`Index.store_rows` stores them: their ``events`` rows, and the ``record_parents``
    rows of the registered ones (plain tuples of str, int and None: marshal carries them between
    processes, see :mod:`provenance._rangereader`)."""
    rows = [_row(e, chain_id, registry) for e in events]
    links = [(chain_id, registry, row[6], _hex(parent), row[9], row[2])
             for event, row in zip(events, rows, strict=True)
             if row[5] == "RecordRegistered" and row[11] is not None and row[9] is not None
             for parent in event.args["parents"]]  # row[11] is their JSON: not parsed back
    return rows, links


_INSERT = (
    "INSERT INTO events (chain_id, registry, block_number, log_index, tx_hash, name, record_id,"
    " actor, subject, kind, claims_root, parents, uri, root, count, successor, digest, reason,"
    " submitter, struct_hash, reason_code, nonce, uri_hex, reason_hex)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)

_INSERT_PARENT = (
    "INSERT INTO record_parents (chain_id, registry, record_id, parent, kind, block_number)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)

_EVENT_COLUMNS = (
    "e.chain_id, e.registry, e.block_number, e.log_index, e.tx_hash, e.name, e.record_id, e.actor,"
    " e.subject, e.kind, e.claims_root, e.parents, e.uri, e.root, e.count, e.successor, e.digest, e.reason,"
    " e.submitter, e.struct_hash, e.reason_code, e.nonce, e.uri_hex, e.reason_hex, b.timestamp"
)
_EVENT_FROM = (
    "FROM events e LEFT JOIN blocks b"
    " ON b.chain_id = e.chain_id AND b.registry = e.registry AND b.number = e.block_number"
)
_DETAIL_FIELDS = {
    "RecordRegistered": ("subject", "kind", "claims_root", "parents", "uri"),
    "BatchAnchored": ("root", "count", "uri"),
    "BatchedRecordProven": ("root", "submitter", "struct_hash"),
    "RecordRevoked": ("reason_code", "reason"),
    "RecordSuperseded": ("successor", "reason_code", "reason"),
    "RecordEndorsed": ("digest", "uri"),
    "RecordDisputed": ("digest", "uri"),
    "NonceUsed": ("nonce",),
}
_COLUMN_NAMES = (
    "chain_id", "registry", "block_number", "log_index", "tx_hash", "name", "record_id", "actor",
    "subject", "kind", "claims_root", "parents", "uri", "root", "count", "successor", "digest", "reason",
    "submitter", "struct_hash", "reason_code", "nonce", "uri_hex", "reason_hex", "timestamp",
)  # fmt: skip
# Shown in details only when set: the exact bytes of a string that is not UTF-8.
_EXACT_FIELDS = {"uri": "uri_hex", "reason": "reason_hex"}

# A batch member (m) with its batch's anchor (e, b), named as an event row's columns so that a member folds
# like a registering event (_fold_record).
_MEMBER = "BatchMember"  # not an event name: what a member row is folded as
_MEMBER_ANCHOR = (
    "e.chain_id = m.chain_id AND e.registry = m.registry AND e.name = 'BatchAnchored' AND e.root = m.root"
    " AND e.actor = m.submitter"
)
_MEMBER_COLUMNS = (
    "m.record_id, m.publisher, m.subject, m.kind, m.claims_root, m.parents, m.uri, m.root, m.submitter,"
    " m.position, e.block_number, e.log_index, e.tx_hash, b.timestamp, m.chain_id, m.registry"
)
_MEMBER_NAMES = (
    "record_id", "actor", "subject", "kind", "claims_root", "parents", "uri", "root", "submitter",
    "position", "block_number", "log_index", "tx_hash", "timestamp", "chain_id", "registry",
)  # fmt: skip


# ---------------------------------------------------------------- the index


class Index:
    """The registry's events in a SQLite file or a PostgreSQL database; safe to share between threads
    (SQLite: one connection under a lock; PostgreSQL: a connection pool)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.path = backend.path if isinstance(backend, SQLiteBackend) else None  # None: a database
        self.location = backend.location  # the file, or the database's URL without its password

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._backend.name

    def generation(self) -> tuple[int, int]:
        """A value that changes with every commit by any process.

        SQLite: ``PRAGMA data_version`` (other connections' commits) and this
        object's commits; PostgreSQL: a counter every write transaction moves.
        What the indexer's cursor says is remembered while it stays the same.
        """
        return self._backend.generations()[0]

    def content_generation(self) -> int:
        """A value that changes whenever the index's content may have: any process's commit except one
        that only moved a cursor (a sync that found no event: every block of a quiet chain).

        Answers made of the content are remembered while it stays the same; the cursor, which moves on,
        is not part of it (:meth:`generation`). Read after :meth:`generation` in :meth:`generations`.
        """
        return self._backend.generations()[1]

    def generations(self) -> tuple[tuple[int, int], int]:
        """``(generation(), content_generation())`` at one look (SQLite: one ``PRAGMA``; PostgreSQL: what
        the listener heard)."""
        return self._backend.generations()

    @classmethod
    def open(cls, target: Path | str, *, pool_size: int = POOL_SIZE) -> Index:
        """Create or open the index at ``target``: a SQLite file path, or a ``postgresql://`` URL (psycopg's
        connection string: user, password, host, port, database, ``?host=/socket/dir``), read and written
        through a pool of at most ``pool_size`` connections. Refuses an index of another schema version;
        migrates an older one, one process at a time. While a database does not answer, its reads and
        writes raise :class:`IndexUnavailable` (each write is one transaction: none is half kept)."""
        backend = open_backend(target, pool_size=pool_size)
        try:
            with backend.migrating() as db:
                _create_or_migrate(db, backend)
        except sqlite3.DatabaseError as err:
            backend.close()
            raise IndexFileError(f"cannot open the index {backend.location}: {err}") from None
        except BaseException:
            backend.close()
            raise
        return cls(backend)

    def close(self) -> None:
        self._backend.close()

    def indexer_lock(self) -> IndexerLock:
        """The lock its one indexing process holds (:meth:`IndexerLock.held` takes it when free): an
        exclusive ``flock`` on ``<file>.indexer.lock``, or a PostgreSQL advisory lock on a session of its own.
        Either is freed when the holder dies, so another process takes over."""
        return self._backend.indexer_lock()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ the chain's side (used by the Indexer)

    def _transaction(self, content: bool = True) -> AbstractContextManager[Db]:
        """``with index._transaction() as db:`` one write transaction; writers of every process one at a time.
        ``content=False`` only for one that writes nothing an answer reads (:meth:`content_generation`)."""
        return cast("AbstractContextManager[Db]", self._backend.writing(content))

    def cursor(self, chain_id: int, registry: str) -> int | None:
        """The last synced block for (chain, registry), or None before the first sync."""
        with self._backend.reading() as db:
            row = db.execute(
                "SELECT synced_to FROM cursors WHERE chain_id = ? AND registry = ?", (chain_id, registry)
            ).fetchone()
        return None if row is None else int(row[0])

    def stored_hash(self, chain_id: int, registry: str, number: int) -> str | None:
        with self._backend.reading() as db:
            row = db.execute(
                "SELECT hash FROM blocks WHERE chain_id = ? AND registry = ? AND number = ?",
                (chain_id, registry, number),
            ).fetchone()
        return None if row is None else row[0]

    def stored_blocks(self, chain_id: int, registry: str, up_to: int) -> Iterator[tuple[int, str]]:
        """``(number, hash)`` of the stored blocks numbered ``up_to`` or less, newest first."""
        with self._backend.reading() as db:
            rows = db.execute(
                "SELECT number, hash FROM blocks WHERE chain_id = ? AND registry = ? AND number <= ?"
                " ORDER BY number DESC",
                (chain_id, registry, up_to),
            ).fetchall()
        yield from ((int(n), h) for n, h in rows)

    def store_rows(
        self,
        chain_id: int,
        registry: str,
        rows: Sequence[tuple[Any, ...]],
        links: Sequence[tuple[Any, ...]],
        blocks: Mapping[int, tuple[str, int | None]],
        *,
        synced_to: int,
    ) -> int:
        """Store one block range's events (``rows``, ``links``: :func:`event_rows` of them), its blocks
        (number -> hash, timestamp) and the cursor, in one transaction; the number of events written (an
        event already stored is not written again). A range without events leaves the content generation as
        it was: its blocks are read only by the indexer's reorganization check, never by an answer (an event's
        time is its own block's)."""
        key = (chain_id, registry)
        with self._transaction(content=bool(rows or links)) as db:
            db.executemany(
                "INSERT INTO blocks (chain_id, registry, number, hash, timestamp) VALUES (?,?,?,?,?)"
                " ON CONFLICT (chain_id, registry, number) DO UPDATE SET hash = excluded.hash,"
                " timestamp = excluded.timestamp",
                [(*key, n, h, t) for n, (h, t) in blocks.items()],
            )
            written = db.executemany(_INSERT, rows).rowcount  # an event already stored is not written
            db.executemany(_INSERT_PARENT, links)
            db.execute(
                "INSERT INTO cursors (chain_id, registry, synced_to) VALUES (?,?,?)"
                " ON CONFLICT (chain_id, registry) DO UPDATE SET synced_to = excluded.synced_to",
                (*key, synced_to),
            )
        return written

    def roll_back(self, chain_id: int, registry: str, keep: int, start_block: int) -> None:
        """Forget every event and block above block ``keep`` in one transaction (a reorg); the cursor
        moves back to ``keep``, or is removed when ``keep`` is before ``start_block``."""
        key = (chain_id, registry)
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE chain_id = ? AND registry = ? AND block_number > ?", (*key, keep))
            db.execute("DELETE FROM blocks WHERE chain_id = ? AND registry = ? AND number > ?", (*key, keep))
            db.execute("DELETE FROM record_parents WHERE chain_id = ? AND registry = ? AND block_number > ?",
                       (*key, keep))
            for table in ("batch_documents", "batch_members"):  # read from batches anchored in those blocks
                db.execute(f"DELETE FROM {table} WHERE chain_id = ? AND registry = ? AND block_number > ?",
                           (*key, keep))
            if keep < start_block:
                db.execute("DELETE FROM cursors WHERE chain_id = ? AND registry = ?", key)
            else:
                db.execute("UPDATE cursors SET synced_to = ? WHERE chain_id = ? AND registry = ?", (keep, *key))

    # ------------------------------------------------------------ queries

    def _events(
        self, where: str, params: tuple[Any, ...], order: str = "DESC", limit: int | None = None
    ) -> list[dict[str, Any]]:
        sql = (
            f"SELECT {_EVENT_COLUMNS} {_EVENT_FROM} WHERE {where}"
            f" ORDER BY e.block_number {order}, e.log_index {order}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._backend.reading() as db:
            rows = db.execute(sql, params).fetchall()
        return [dict(zip(_COLUMN_NAMES, r, strict=True)) for r in rows]

    def record(self, record_id: str | bytes) -> IndexedRecord | None:
        """The record with this id, with its revocation, successor and counts; None if unknown.

        A record is known from its registering event (``RecordRegistered``, or
        ``BatchedRecordProven``), or as a member of a batch's verified document.
        """
        rid = _norm(record_id).lower()
        rows = self._events("e.record_id = ?", (rid,), order="ASC")
        return _fold_record(rows, self._members("m.record_id = ?", (rid,)).get(rid))

    def unknown_records(self, record_ids: Sequence[str | bytes]) -> list[bytes]:
        """Those of ``record_ids`` the index has no event and no batch member of (one query): their
        :meth:`record` is None and their :meth:`history` empty."""
        if not record_ids:
            return []
        keys = {_norm(r).lower(): r for r in record_ids}
        marks = ",".join("?" * len(keys))
        with self._backend.reading() as db:
            known = {row[0] for row in db.execute(
                f"SELECT record_id FROM events WHERE record_id IN ({marks})"
                f" UNION SELECT record_id FROM batch_members WHERE record_id IN ({marks})", (*keys, *keys)).fetchall()}
        return [bytes.fromhex(key[2:]) for key in keys if key not in known]

    def records_by_subject(self, subject: str | bytes) -> list[IndexedRecord]:
        """Every record registered for ``subject``, directly or in a batch whose document was read (oldest first)."""
        key = _norm(subject).lower()
        return self._records("subject = ? AND name = 'RecordRegistered'", (key,), "m.subject = ?", (key,))

    def records_with_parent(self, subject: str | bytes, *, kind: int | None = None) -> list[IndexedRecord]:
        """Every record (registered directly, or a member of a batch whose document was read) whose on-chain
        parents include ``subject``, of ``kind`` if given, oldest first."""
        key = _norm(subject).lower()
        link = "SELECT l.record_id FROM record_parents l WHERE l.parent = ?" + (" AND l.kind = ?" if kind is not None
                                                                                 else "")
        params: tuple[Any, ...] = (key,) if kind is None else (key, int(kind))
        return self._records(f"record_id IN ({link}) AND name = 'RecordRegistered'", params,
                             f"m.record_id IN ({link})", params)

    def evaluations_of(self, subject: str | bytes) -> list[IndexedRecord]:
        """The evaluation records (kind 3) naming ``subject`` as a parent, oldest first. A record says which
        parent it evaluated in its claims (``evaluation.model``), which the verifier reads: this is every
        candidate, not every evaluation *of* ``subject``."""
        return self.records_with_parent(subject, kind=Kind.EVALUATION)

    def evaluations(self, *, publisher: str | None = None) -> list[IndexedRecord]:
        """Every evaluation record (kind 3, registered directly or a member of a batch whose document was
        read), of ``publisher`` if given, oldest first (the service's ``/v1/evaluations``)."""
        kind = int(Kind.EVALUATION)
        if publisher is None:
            return self._records("kind = ? AND name = 'RecordRegistered'", (kind,), "m.kind = ?", (kind,))
        address = parse_address(publisher, "evaluator address")
        return self._records("kind = ? AND actor = ? AND name = 'RecordRegistered'", (kind, address),
                             "m.kind = ? AND m.publisher = ?", (kind, address))

    def records_by_publisher(self, publisher: str) -> list[IndexedRecord]:
        address = parse_address(publisher, "publisher address")
        return self._records(f"actor = ? AND name IN {_RECORD_EVENTS!r}", (address,), "m.publisher = ?", (address,))

    def _records(
        self, where: str, params: tuple[Any, ...], member_where: str, member_params: tuple[Any, ...]
    ) -> list[IndexedRecord]:
        """The records whose ids the events matching ``where`` or the batch members matching ``member_where``
        name, in order of registration (a member's: its batch's anchor, then its place in the document)."""
        members = self._members(member_where, member_params)
        rows = self._events(
            f"e.record_id IN (SELECT record_id FROM events WHERE {where}"
            f" UNION SELECT m.record_id FROM batch_members m WHERE {member_where})",
            (*params, *member_params), order="ASC",
        )
        by_id: dict[str, list[dict[str, Any]]] = {rid: [] for rid in members}
        for row in rows:
            by_id.setdefault(row["record_id"], []).append(row)
        found = []
        for rid, group in by_id.items():
            record = _fold_record(group, members.get(rid))
            if record is not None:
                found.append((_registered_at(group, members.get(rid)), record))
        return [record for _, record in sorted(found, key=lambda pair: pair[0])]

    def _members(self, where: str, params: tuple[Any, ...]) -> dict[str, dict[str, Any]]:
        """Batch members matching ``where`` (over ``m``) by record id, each with its batch's anchor (block,
        log index, transaction, time); a record listed by several documents: the first anchored."""
        sql = (
            f"SELECT {_MEMBER_COLUMNS} FROM batch_members m JOIN events e ON {_MEMBER_ANCHOR}"
            " LEFT JOIN blocks b ON b.chain_id = e.chain_id AND b.registry = e.registry AND b.number = e.block_number"
            f" WHERE {where} ORDER BY e.block_number, e.log_index, m.position"
        )
        with self._backend.reading() as db:
            rows = db.execute(sql, params).fetchall()
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            member = dict(zip(_MEMBER_NAMES, row, strict=True))
            found.setdefault(member["record_id"], {**member, "name": _MEMBER, "uri_hex": None})
        return found

    def _anchors_of_members(self, where: str, params: tuple[Any, ...], limit: int | None) -> list[dict[str, Any]]:
        """The ``BatchAnchored`` events of the batches whose read documents list members matching ``where``."""
        sql = (
            f"SELECT DISTINCT {_EVENT_COLUMNS} FROM batch_members m JOIN events e ON {_MEMBER_ANCHOR}"
            " LEFT JOIN blocks b ON b.chain_id = e.chain_id AND b.registry = e.registry AND b.number = e.block_number"
            f" WHERE {where} ORDER BY e.block_number DESC, e.log_index DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._backend.reading() as db:
            rows = db.execute(sql, params).fetchall()
        return [dict(zip(_COLUMN_NAMES, r, strict=True)) for r in rows]

    def history(
        self,
        *,
        subject: str | bytes | None = None,
        record_id: str | bytes | None = None,
        publisher: str | None = None,
        limit: int | None = None,
    ) -> list[HistoryEntry]:
        """Events about a subject, a record or a publisher address, newest first.

        For a subject: every event of every record registered for it, and the
        ``BatchAnchored`` event of each batch whose read document lists a record
        of it. For a record: its events, and the anchor of a batch whose read
        document lists it. For a publisher: the events it sent (registrations,
        batches, revocations, supersessions, and its endorsements or disputes of
        others' records) and the endorsements and disputes others made of its records.
        """
        if sum(x is not None for x in (subject, record_id, publisher)) != 1:
            raise UsageError("history needs exactly one of subject, record_id or publisher")
        anchors: list[dict[str, Any]] = []
        if subject is not None:
            key = _norm(subject).lower()
            where = (
                "e.record_id IN (SELECT record_id FROM events WHERE subject = ? AND name = 'RecordRegistered'"
                " UNION SELECT record_id FROM batch_members WHERE subject = ?)"
            )
            params: tuple[Any, ...] = (key, key)
            anchors = self._anchors_of_members("m.subject = ?", (key,), limit)
        elif record_id is not None:
            where, params = "e.record_id = ?", (_norm(record_id).lower(),)
            anchors = self._anchors_of_members("m.record_id = ?", params, limit)
        else:
            address = parse_address(publisher, "publisher address")  # type: ignore[arg-type]
            where = (
                "e.actor = ? OR e.record_id IN (SELECT record_id FROM events WHERE actor = ?"
                f" AND name IN {_RECORD_EVENTS!r})"
            )
            params = (address, address)
        rows = self._events(f"({where})", params, limit=limit)
        if anchors:  # newest first, as the events are
            rows = sorted(rows + anchors, key=lambda r: (r["block_number"], r["log_index"]), reverse=True)[:limit]
        return [_entry(r) for r in rows]

    def events(self, *, name: str | None = None, offset: int = 0, limit: int = 100) -> list[HistoryEntry]:
        """All indexed events, newest first, optionally of one kind; paginated for audit views."""
        where, params = ("e.name = ?", (name,)) if name else ("1 = 1", ())
        sql = (
            f"SELECT {_EVENT_COLUMNS} {_EVENT_FROM} WHERE {where}"
            " ORDER BY e.block_number DESC, e.log_index DESC LIMIT ? OFFSET ?"
        )
        with self._backend.reading() as db:
            rows = db.execute(sql, (*params, int(limit), int(offset))).fetchall()
        return [_entry(dict(zip(_COLUMN_NAMES, r, strict=True))) for r in rows]

    def events_page(
        self,
        *,
        name: str | None = None,
        actor: str | None = None,
        since: int | None = None,
        until: int | None = None,
        before: tuple[int, int] | None = None,
        limit: int = 100,
    ) -> list[HistoryEntry]:
        """Events newest first, filtered, for keyset pagination.

        ``name``: one of :data:`EVENT_NAMES`; ``actor``: the address that sent
        the event (publisher, submitter, endorser or disputer); ``since`` and
        ``until``: block time bounds in unix seconds, inclusive; ``before``:
        the ``(block_number, log_index)`` of the last event of the previous
        page, whose successors come next.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if name is not None:
            if name not in EVENT_NAMES:
                raise InvalidValue(f"unknown event name {name!r}; accepted: {', '.join(EVENT_NAMES)}")
            clauses.append("e.name = ?")
            params.append(name)
        if actor is not None:
            clauses.append("e.actor = ?")
            params.append(parse_address(actor, "actor address"))
        if since is not None:
            clauses.append("b.timestamp >= ?")
            params.append(int(since))
        if until is not None:
            clauses.append("b.timestamp <= ?")
            params.append(int(until))
        if before is not None:
            clauses.append("(e.block_number < ? OR (e.block_number = ? AND e.log_index < ?))")
            params.extend((int(before[0]), int(before[0]), int(before[1])))
        where = " AND ".join(clauses) or "1 = 1"
        rows = self._events(where, tuple(params), limit=max(int(limit), 0))
        return [_entry(r) for r in rows]

    def batch(self, root: str | bytes, submitter: str) -> Batch | None:
        """The batch ``root`` as ``submitter`` anchored it, or None (another submitter's anchor of the same
        root is another batch: it says nothing about this one)."""
        address = parse_address(submitter, "submitter address")
        rows = self._events(
            "e.root = ? AND e.name = 'BatchAnchored' AND e.actor = ?", (_norm(root).lower(), address), order="ASC"
        )
        return _batch(rows[0]) if rows else None

    def batches(self, root: str | bytes) -> list[Batch]:
        """Every anchor of ``root``, by any submitter, oldest first."""
        rows = self._events("e.root = ? AND e.name = 'BatchAnchored'", (_norm(root).lower(),), order="ASC")
        return [_batch(r) for r in rows]

    def publishers(self) -> list[Publisher]:
        """Every address that registered or proved a record, by address."""
        sql = f"""
            SELECT r.actor, COUNT(DISTINCT r.record_id),
                   COUNT(DISTINCT v.record_id), MIN(r.block_number), MAX(r.block_number)
            FROM events r LEFT JOIN events v ON v.record_id = r.record_id AND v.name = 'RecordRevoked'
            WHERE r.name IN {_RECORD_EVENTS!r}
            GROUP BY r.actor ORDER BY r.actor
        """
        with self._backend.reading() as db:
            rows = db.execute(sql).fetchall()
        return [Publisher(a, int(n), int(rv), int(lo), int(hi)) for a, n, rv, lo, hi in rows]

    def count(self, name: str | None = None) -> int:
        with self._backend.reading() as db:
            if name is None:
                return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            return int(db.execute("SELECT COUNT(*) FROM events WHERE name = ?", (name,)).fetchone()[0])

    def cursors(self) -> list[tuple[int, str, int]]:
        """Every (chain id, registry, last synced block) this index follows."""
        with self._backend.reading() as db:
            rows = db.execute("SELECT chain_id, registry, synced_to FROM cursors ORDER BY chain_id").fetchall()
        return [(int(c), r, int(n)) for c, r, n in rows]

    # ------------------------------------------------------------ statements and file digests

    def add_statement(self, statement: Statement, *, posted_by: str = "unknown", quota: int | None = None) -> bool:
        """Keep a Statement and its manifest's file digests; copies of one record are pooled.

        Disclosure is selective, so two copies of one record's Statement may
        reveal different fields: a later copy never drops a field an earlier
        one disclosed (else anyone could post a copy hiding an opt-out), nor
        an anchor or a manifest the earlier copy had. The earlier copy is read,
        pooled and written in one transaction that takes SQLite's write lock
        first (``BEGIN IMMEDIATE``), so two processes storing copies at once
        cannot drop a field one of them disclosed.

        ``posted_by`` says who handed it over (the service: the client's
        address); the first copy's poster and time are kept beside the latest's.
        ``quota``: a new record is not kept (False) when its publisher already
        has that many Statements here; a copy of a kept record always is (True).

        Only whole files are indexed by digest (a sharded file's shards are not
        files a user holds). The manifest must give the Statement's subject.
        The caller decides whether the Statement is worth keeping (the
        verifier checks it first); this only stores it.
        """
        import time

        from provenance.errors import StatementError
        from provenance.manifest import Manifest

        files: list[tuple[str, str, str]] = []
        subject = _norm(statement.subject)
        if statement.manifest is not None:
            manifest = Manifest.from_dict(statement.manifest)
            if manifest.subject != statement.subject:
                raise StatementError(
                    f"the Statement's manifest gives subject {manifest.subject_hex}, its record says {subject}"
                )
            files = [(e.sha256.hex(), subject, e.path) for e in manifest.entries if e.offset is None]
        now = int(time.time())
        with self._transaction() as db:  # BEGIN IMMEDIATE: no other writer between the read and the write
            if not self._keep(db, statement, now, posted_by, quota):
                return False
            db.executemany("INSERT INTO files (sha256, subject, path) VALUES (?,?,?) ON CONFLICT DO NOTHING", files)
        return True

    def _keep(self, db: Db, statement: Statement, now: int, posted_by: str,
              quota: int | None) -> bool:
        """Inside a write transaction: store ``statement``, pooled with the copy kept before (False: a new
        record over ``quota``, not stored)."""
        record_id = _norm(statement.record_id)
        row = db.execute("SELECT statement FROM statements WHERE record_id = ?", (record_id,)).fetchone()
        if row is None:
            if quota is not None and self._kept(db, statement.publisher) >= quota:
                return False
            db.execute(
                "INSERT INTO statements (record_id, subject, publisher, statement, added_at, added_by,"
                " first_added_at, first_added_by) VALUES (?,?,?,?,?,?,?,?)",
                (record_id, _norm(statement.subject), statement.publisher, _deflated(statement), now,
                 _escaped(posted_by), now, _escaped(posted_by)),
            )
        else:
            pooled = _pooled(_statement(row[0]), statement)
            db.execute(
                "UPDATE statements SET statement = ?, added_at = ?, added_by = ? WHERE record_id = ?",
                (_deflated(pooled), now, _escaped(posted_by), record_id),
            )
        return True

    def _keep_all(self, db: Db, statements: Sequence[Statement], now: int, posted_by: str) -> None:
        """:meth:`_keep` of many, without a quota: the copies kept before read in one query, the new ones
        written in one ``executemany`` (a chunk of a batch document's members: on PostgreSQL a round trip
        each was most of keeping them)."""
        by_id: dict[str, Statement] = {}
        for statement in statements:  # one record twice in a chunk: pooled like a later posting
            rid = _norm(statement.record_id)
            by_id[rid] = statement if rid not in by_id else _pooled(by_id[rid], statement)
        if not by_id:
            return
        marks = ",".join("?" * len(by_id))
        kept = dict(db.execute(f"SELECT record_id, statement FROM statements WHERE record_id IN ({marks})",
                               tuple(by_id)).fetchall())
        by = _escaped(posted_by)
        db.executemany(
            "INSERT INTO statements (record_id, subject, publisher, statement, added_at, added_by,"
            " first_added_at, first_added_by) VALUES (?,?,?,?,?,?,?,?)",
            [(rid, _norm(s.subject), s.publisher, _deflated(s), now, by, now, by)
             for rid, s in by_id.items() if rid not in kept],
        )
        db.executemany(
            "UPDATE statements SET statement = ?, added_at = ?, added_by = ? WHERE record_id = ?",
            [(_deflated(_pooled(_statement(kept[rid]), s)), now, by, rid)
             for rid, s in by_id.items() if rid in kept],
        )

    # ------------------------------------------------------------ batch documents (schema version 6)

    def batches_to_read(self, chain_id: int, registry: str, now: int, limit: int = 1) -> list[Batch]:
        """Anchored batches of ``registry`` on ``chain_id`` whose document is to be read: those whose last
        attempt failed and is due again at ``now`` (unix time), first; then those with a uri never read,
        oldest first (read in chain order, so only anchors at or after the newest one read are looked at)."""
        due = (
            f"SELECT {_EVENT_COLUMNS} FROM batch_documents d JOIN events e ON e.chain_id = d.chain_id"
            " AND e.registry = d.registry AND e.name = 'BatchAnchored' AND e.root = d.root AND e.actor = d.submitter"
            " LEFT JOIN blocks b ON b.chain_id = e.chain_id AND b.registry = e.registry AND b.number = e.block_number"
            " WHERE d.chain_id = ? AND d.registry = ? AND d.state != 'done' AND d.retry_at <= ?"
            " ORDER BY d.retry_at LIMIT ?"
        )
        unread = (
            f"SELECT {_EVENT_COLUMNS} {_EVENT_FROM} WHERE e.chain_id = ? AND e.registry = ?"
            " AND e.block_number >= COALESCE((SELECT MAX(block_number) FROM batch_documents"
            " WHERE chain_id = ? AND registry = ?), 0)"
            " AND e.name = 'BatchAnchored' AND e.uri != '' AND NOT EXISTS (SELECT 1 FROM batch_documents d"
            " WHERE d.chain_id = e.chain_id AND d.registry = e.registry AND d.root = e.root AND d.submitter = e.actor)"
            " ORDER BY e.block_number, e.log_index LIMIT ?"
        )
        with self._backend.reading() as db:
            rows = db.execute(due, (chain_id, registry, int(now), int(limit))).fetchall()
            if len(rows) < limit:
                rows += db.execute(
                    unread, (chain_id, registry, chain_id, registry, int(limit) - len(rows))
                ).fetchall()
        return [_batch(dict(zip(_COLUMN_NAMES, r, strict=True))) for r in rows]

    def add_batch_members(
        self, chain_id: int, registry: str, batch: Batch, members: Sequence[tuple[int, Statement]], *,
        posted_by: str,
    ) -> None:
        """Keep members of ``batch`` (of ``registry`` on ``chain_id``) as records of their subjects, and their
        Statements (pooled with copies kept before), in one transaction; ``members`` are (place in the
        document, Statement). The caller vouches for them: the document verified against the batch's
        anchored root and each Statement verified (signature, claims); callers keep a chunk at a time."""
        import time

        now = int(time.time())
        rows = [
            (chain_id, registry, _norm(batch.root).lower(), batch.submitter, batch.block_number, position,
             _norm(s.record_id), s.publisher, _norm(s.subject), int(s.record.kind), _norm(s.record.claims_root),
             json.dumps([_norm(p) for p in s.record.parents]), _escaped(s.record.uri))
            for position, s in members
        ]
        links = [(chain_id, registry, _norm(s.record_id), _norm(p), int(s.record.kind), batch.block_number)
                 for _, s in members for p in s.record.parents]
        with self._transaction() as db:
            self._keep_all(db, [s for _, s in members], now, posted_by)
            db.executemany(
                "INSERT INTO batch_members (chain_id, registry, root, submitter, block_number, position,"
                " record_id, publisher, subject, kind, claims_root, parents, uri) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (chain_id, registry, root, submitter, record_id) DO UPDATE SET"
                " block_number = excluded.block_number, position = excluded.position, publisher = excluded.publisher,"
                " subject = excluded.subject, kind = excluded.kind, claims_root = excluded.claims_root,"
                " parents = excluded.parents, uri = excluded.uri",
                rows,
            )
            db.executemany(_INSERT_PARENT, links)

    def record_batch_document(
        self, chain_id: int, registry: str, batch: Batch, state: str, *, members: int = 0, accepted: int = 0,
        refused: int = 0, reason: str | None = None, retry_at: int | None = None,
    ) -> BatchDocument:
        """Say what became of ``batch``'s document (:class:`BatchDocument`); failures in a row are counted."""
        import time

        if state not in DOCUMENT_STATES:
            raise InvalidValue(f"a batch document's state is one of {', '.join(DOCUMENT_STATES)}, got {state!r}")
        if (state == "done") != (retry_at is None):
            raise InvalidValue("a batch document is tried again (retry_at) exactly when it is not done")
        root = _norm(batch.root).lower()
        key = (chain_id, registry, root, batch.submitter)
        uri, why = _escaped(batch.uri), None if reason is None else _escaped(reason)  # as stored
        now = int(time.time())
        with self._transaction() as db:
            row = db.execute(
                "SELECT attempts FROM batch_documents WHERE chain_id = ? AND registry = ? AND root = ?"
                " AND submitter = ?", key,
            ).fetchone()
            attempts = 0 if state == "done" else (0 if row is None else int(row[0])) + 1
            db.execute(
                "INSERT INTO batch_documents (chain_id, registry, root, submitter, block_number, uri,"
                " state, members, accepted, refused, reason, attempts, retry_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (chain_id, registry, root, submitter) DO UPDATE"
                " SET block_number = excluded.block_number, uri = excluded.uri, state = excluded.state,"
                " members = excluded.members, accepted = excluded.accepted, refused = excluded.refused,"
                " reason = excluded.reason, attempts = excluded.attempts, retry_at = excluded.retry_at,"
                " updated_at = excluded.updated_at",
                (*key, batch.block_number, uri, state, members, accepted, refused, why, attempts, retry_at, now),
            )
        return BatchDocument(root, batch.submitter, uri, state, members, accepted, refused, why, attempts, retry_at,
                             now)

    def batch_document(self, root: str | bytes, submitter: str) -> BatchDocument | None:
        """What became of the document of the batch ``root`` that ``submitter`` anchored; None before a try."""
        address = parse_address(submitter, "submitter address")
        with self._backend.reading() as db:
            row = db.execute(
                "SELECT root, submitter, uri, state, members, accepted, refused, reason, attempts, retry_at,"
                " updated_at FROM batch_documents WHERE root = ? AND submitter = ?",
                (_norm(root).lower(), address),
            ).fetchone()
        return None if row is None else BatchDocument(*row)

    def batch_members(self, root: str | bytes, submitter: str) -> list[str]:
        """The record ids kept as members of the batch ``root`` that ``submitter`` anchored, in document order."""
        address = parse_address(submitter, "submitter address")
        with self._backend.reading() as db:
            rows = db.execute(
                "SELECT record_id FROM batch_members WHERE root = ? AND submitter = ? ORDER BY position",
                (_norm(root).lower(), address),
            ).fetchall()
        return [r[0] for r in rows]

    def statements_kept(self, publisher: str) -> int:
        """How many Statements of ``publisher``'s records are kept (what a quota counts)."""
        with self._backend.reading() as db:
            return self._kept(db, publisher)

    @staticmethod
    def _kept(db: Db, publisher: str) -> int:
        address = parse_address(publisher, "publisher")
        return int(db.execute("SELECT COUNT(*) FROM statements WHERE publisher = ?", (address,)).fetchone()[0])

    def statement(self, record_id: str | bytes) -> Statement | None:
        """The stored Statement of a record, or None."""
        with self._backend.reading() as db:
            row = db.execute(
                "SELECT statement FROM statements WHERE record_id = ?", (_norm(record_id).lower(),)
            ).fetchone()
        return None if row is None else _statement(row[0])

    def statements_for(self, subject: str | bytes) -> list[Statement]:
        """Every stored Statement about ``subject``, oldest first."""
        with self._backend.reading() as db:
            rows = db.execute(
                "SELECT statement FROM statements WHERE subject = ? ORDER BY added_at, record_id",
                (_norm(subject).lower(),),
            ).fetchall()
        return [_statement(r[0]) for r in rows]

    def statement_count(self, subject: str | bytes) -> int:
        """How many Statements about ``subject`` are stored (``len(statements_for(subject))``, none parsed)."""
        with self._backend.reading() as db:
            row = db.execute("SELECT COUNT(*) FROM statements WHERE subject = ?", (_norm(subject).lower(),)).fetchone()
        return int(row[0])

    def files(self, sha256_hex: str) -> list[tuple[str, str]]:
        """``(subject, path)`` of every stored artifact holding a file with this SHA-256 (64 hex digits)."""
        digest = sha256_hex[2:] if sha256_hex[:2].lower() == "0x" else sha256_hex
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise InvalidValue(f"a SHA-256 must be 64 hex digits, got {sha256_hex!r}")
        with self._backend.reading() as db:
            rows = db.execute(
                "SELECT subject, path FROM files WHERE sha256 = ? ORDER BY subject, path", (digest.lower(),)
            ).fetchall()
        return [(s, p) for s, p in rows]

    def lag(self, chain_id: int, registry: str, head: int) -> int | None:
        """How many blocks the index is behind ``head``; None before the first sync."""
        cursor = self.cursor(chain_id, registry)
        return None if cursor is None else max(head - cursor, 0)


def _deflated(statement: Statement) -> bytes:
    """What ``statements.statement`` keeps (schema version 8): the Statement's JSON, deflated. Level 1: 3.6 KB
    for a batch member's 9.7 KB in about 0.1 ms, where level 6 saves 5% more in twice the time."""
    return zlib.compress(json.dumps(statement.to_json()).encode(), 1)


def _statement(kept: str | bytes) -> Statement:
    """The Statement a ``statements.statement`` value holds: deflated JSON, or JSON kept before schema version
    8 (text in SQLite, its UTF-8 bytes in PostgreSQL, whose migration changed the column's type). A JSON text
    starts with ``{``, a zlib stream never does (its first byte is 0x78 at every level)."""
    from provenance.statement import Statement

    if isinstance(kept, (bytes, bytearray, memoryview)):
        kept = bytes(kept)
        kept = kept if kept[:1] == b"{" else zlib.decompress(kept)
    return Statement.from_json(json.loads(kept), source="stored statement")


def _create_or_migrate(db: Db, backend: Backend) -> None:
    """Inside a transaction: create the schema, or bring an older index forward, or refuse a newer one."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() \
        if backend.has_table(db, "meta") else None
    if row is not None:
        try:
            version = int(row[0])
        except ValueError:
            version = -1
        oldest = 1 if backend.name == "sqlite" else _FIRST_DATABASE_VERSION
        if version != SCHEMA_VERSION and not oldest <= version < SCHEMA_VERSION:
            raise IndexFileError(
                f"the index {backend.location} has schema version {row[0]}, this program reads {SCHEMA_VERSION}",
                hint="delete it; it is rebuilt from the chain",
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            script = _MIGRATIONS[step] + (_DATABASE_MIGRATIONS.get(step, "") if backend.name != "sqlite" else "")
            for statement in _statements(script):
                db.execute(backend.ddl(statement))
    for statement in _statements(_SCHEMA):  # IF NOT EXISTS throughout: a no-op on a current index
        db.execute(backend.ddl(statement))
    if row is not None:
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _statements(_FILLS.get(step, "")):
                db.execute(statement)
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
               " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
    db.execute("INSERT INTO meta (key, value) VALUES ('content', '0') ON CONFLICT (key) DO NOTHING")
    if row is not None and version < SCHEMA_VERSION:  # migrated: what other processes remembered is gone
        db.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'content'")


def _statements(script: str) -> list[str]:
    """The statements of a DDL script (no ';' inside its comments), without comments."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _batch(r: dict[str, Any]) -> Batch:
    return Batch(
        r["root"], r["actor"], r["count"], r["uri"], r["block_number"], r["timestamp"], r["tx_hash"], r["uri_hex"]
    )


def _entry(r: dict[str, Any]) -> HistoryEntry:
    details = {}
    for field in _DETAIL_FIELDS.get(r["name"], ()):
        value = r[field]
        if field == "parents" and value is not None:
            value = json.loads(value)
        elif field == "reason_code":
            value = ReasonCode.label_of(value)
        elif field == "nonce" and value is not None:  # 0x-hex past SQLite's integers; PostgreSQL keeps text
            value = int(value, 0) if isinstance(value, str) else int(value)
        details[field] = value
        exact = _EXACT_FIELDS.get(field)
        if exact is not None and r[exact] is not None:
            details[exact] = r[exact]
    return HistoryEntry(
        event=r["name"],
        block_number=r["block_number"],
        block_time=r["timestamp"],
        tx_hash=r["tx_hash"],
        log_index=r["log_index"],
        record_id=r["record_id"],
        actor=r["actor"],
        details=details,
        chain_id=r["chain_id"],
        registry=r["registry"],
    )


def _registered_at(rows: list[dict[str, Any]], member: dict[str, Any] | None) -> tuple[int, int, int]:
    """Where a record was registered, to order records by: its registering event's block and log index,
    else its batch anchor's and its place in the batch's document."""
    base = next((r for r in rows if r["name"] in _RECORD_EVENTS), None)
    if base is not None:
        return base["block_number"], base["log_index"], 0
    if member is not None:
        return member["block_number"], member["log_index"], member["position"]
    return 0, 0, 0


def _fold_record(rows: list[dict[str, Any]], member: dict[str, Any] | None = None) -> IndexedRecord | None:
    """Build a record's view from its events in chain order, and its row in a batch's read document
    (``member``, as :meth:`Index._members` gives it), which says what a batched record is."""
    base = next((r for r in rows if r["name"] in _RECORD_EVENTS), None)
    if base is None:
        if member is None:
            return None
        base = member  # known from its batch's document only
    elif member is not None and base["name"] == "BatchedRecordProven":  # the chain has no more of it than that
        base = {**base, **{k: member[k] for k in ("subject", "kind", "claims_root", "parents", "uri")}}
    revoked = next((r for r in rows if r["name"] == "RecordRevoked"), None)
    superseded = next((r for r in rows if r["name"] == "RecordSuperseded"), None)
    return IndexedRecord(
        record_id=base["record_id"],
        publisher=base["actor"],
        subject=base["subject"],
        kind=base["kind"],
        claims_root=base["claims_root"],
        parents=tuple(json.loads(base["parents"])) if base["parents"] else (),
        uri=base["uri"],  # NULL in a BatchedRecordProven row
        batch_root=base["root"],
        block_number=base["block_number"],
        block_time=base["timestamp"],
        tx_hash=base["tx_hash"],
        chain_id=base["chain_id"],
        registry=base["registry"],
        revoked=revoked is not None,
        revoke_reason=None if revoked is None else revoked["reason"],
        successor=None if superseded is None else superseded["successor"],
        endorsements=sum(r["name"] == "RecordEndorsed" for r in rows),
        disputes=sum(r["name"] == "RecordDisputed" for r in rows),
        batch_submitter=base["submitter"] if base["name"] != "RecordRegistered" else None,
        revoke_code=None if revoked is None else ReasonCode.label_of(revoked["reason_code"]),
        supersede_code=None if superseded is None else ReasonCode.label_of(superseded["reason_code"]),
        supersede_reason=None if superseded is None else superseded["reason"],
        uri_hex=base["uri_hex"] if base["name"] == "RecordRegistered" else None,
        from_document=base["name"] == _MEMBER,
    )

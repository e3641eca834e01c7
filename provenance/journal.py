"""The transaction journal: every signed transaction is written down before it is sent.

A row holds the signed raw transaction, its hash, sender, nonce and purpose,
committed to SQLite before the transaction leaves the process. After a crash
(kill -9 at any point) :meth:`Journal.resume` finds the rows that were not
confirmed and, for each, looks up its receipt or broadcasts the very same raw
transaction again: same hash, same nonce, so it can never be mined twice.

States: ``signed`` (written, maybe not sent) → ``sent`` → ``mined`` or
``failed`` (reverted on chain).

``mined`` means final: the transaction's block has the ledger's
:attr:`~provenance.ledger.Ledger.confirmations` blocks on top of it and is
still the chain's block at that height. Until then the row stays ``sent``; a
receipt that a reorganisation took away (the transaction dropped, or mined
again elsewhere) is followed: the very same raw transaction is broadcast
again, so the record is never left "anchored" in an orphaned block.

How long a drive waits is the ledger's :attr:`~provenance.ledger.Ledger.wait_timeout`
(``--timeout``): one deadline for being mined and confirmed, after which
:class:`~provenance.errors.WaitTimedOut` leaves the row ``sent`` for a later
resume (``provenance journal retry``); 0 (``--no-wait``) returns right after the
broadcast. While it waits, :attr:`~provenance.ledger.Ledger.watch` is told where
it is (a progress line), and the node is asked less and less often
(:meth:`~provenance.ledger.Ledger.poll_delays`).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.errors import Conflict, NotInStore, ProvenanceError, RpcError, StoreCorrupted, WaitTimedOut

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

    from provenance.ledger import Ledger, Receipt, SignedTx

__all__ = ["Journal", "JournalEntry", "NonceTaken"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS txs (
    tx_hash      TEXT PRIMARY KEY,
    chain_id     INTEGER NOT NULL,
    sender       TEXT NOT NULL,
    nonce        INTEGER NOT NULL,
    purpose      TEXT NOT NULL,
    ref          TEXT NOT NULL DEFAULT '',
    raw          BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('signed', 'sent', 'mined', 'failed')),
    block_number INTEGER,
    error        TEXT,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    UNIQUE (chain_id, sender, nonce)
);
CREATE INDEX IF NOT EXISTS txs_open ON txs (chain_id, status);
CREATE TABLE IF NOT EXISTS tx_replacements (
    tx_hash    TEXT PRIMARY KEY,
    original   TEXT NOT NULL REFERENCES txs (tx_hash),
    raw        BLOB NOT NULL,
    mined      INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_replacements_original ON tx_replacements (original);
"""


class NonceTaken(Conflict):
    """A journaled transaction's nonce was used by another transaction: it can never be mined."""


@dataclass(frozen=True)
class JournalEntry:
    tx_hash: bytes
    chain_id: int
    sender: str
    nonce: int
    purpose: str
    ref: str
    status: str
    block_number: int | None


class Journal:
    """The journal in one SQLite file (WAL mode, so a kill never corrupts it)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        #: what :meth:`resume` could not finish because the nonce was taken (NonceTaken's message), by tx hash
        self.blocked: dict[bytes, str] = {}
        #: what :meth:`resume` left waiting because the ledger's wait is 0 (``--no-wait``), by tx hash
        self.pending: dict[bytes, str] = {}

    @classmethod
    def open(cls, path: Path) -> Journal:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return cls.attach(db)

    @classmethod
    def attach(cls, connection: sqlite3.Connection) -> Journal:
        """A journal inside another store's database, so its rows commit with that store's rows."""
        connection.executescript(_SCHEMA)
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ writing

    def next_nonce(self, ledger: Ledger, sender: str) -> int:
        """The chain's pending nonce, or one past the journal's open transactions if higher."""
        row = self._db.execute(
            "SELECT MAX(nonce) FROM txs WHERE chain_id = ? AND sender = ? AND status IN ('signed', 'sent')",
            (ledger.chain_id, sender),
        ).fetchone()
        chain_nonce = ledger.pending_nonce(sender)
        return max(chain_nonce, (row[0] + 1) if row[0] is not None else 0)

    def has_nonce(self, chain_id: int, sender: str, nonce: int) -> bool:
        """Whether a row holds this nonce of ``sender`` (it is UNIQUE: another one is refused)."""
        return self._db.execute(
            "SELECT 1 FROM txs WHERE chain_id = ? AND sender = ? AND nonce = ?", (chain_id, sender, nonce)
        ).fetchone() is not None

    def record(self, tx: SignedTx, chain_id: int, ref: str = "") -> None:
        """Write a signed transaction down; call inside the caller's transaction to tie it to other rows."""
        now = time.time()
        self._db.execute(
            "INSERT INTO txs (tx_hash, chain_id, sender, nonce, purpose, ref, raw, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'signed', ?, ?)",
            ("0x" + tx.tx_hash.hex(), chain_id, tx.sender, tx.nonce, tx.function, ref, tx.raw, now, now),
        )

    def submit(self, ledger: Ledger, account: LocalAccount, function: str, *args: Any, ref: str = "") -> Receipt:
        """Prepare, journal, send and confirm one call of the registry."""
        tx = ledger.prepare(account, function, *args, nonce=self.next_nonce(ledger, account.address))
        self.record(tx, ledger.chain_id, ref)
        return self.drive(ledger, tx)

    def drive(self, ledger: Ledger, tx: SignedTx, signer: LocalAccount | None = None) -> Receipt:
        """Send a recorded transaction (unless the node has it) and wait until it is final.

        ``signer``: the sender's account. With it, a transaction still unmined after
        ``ledger.replace_after`` seconds is replaced (same nonce, fees bumped:
        :func:`provenance.fees.bumped`), the replacement journaled before it is sent.
        """
        return self._drive(ledger, tx.tx_hash, tx.raw, signer)

    def mined_hash(self, tx_hash: bytes) -> bytes:
        """The version of a journaled transaction that was mined: itself, or one of its replacements."""
        row = self._db.execute(
            "SELECT tx_hash FROM tx_replacements WHERE original = ? AND mined = 1", ("0x" + tx_hash.hex(),)
        ).fetchone()
        return bytes.fromhex(row[0][2:]) if row else tx_hash

    def replacements(self, tx_hash: bytes) -> list[bytes]:
        """The hashes of the replacements of a journaled transaction, oldest first."""
        return [h for h, _ in self._versions(tx_hash, b"")[1:]]

    # ------------------------------------------------------------ resuming

    def open_entries(self, chain_id: int) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT tx_hash, chain_id, sender, nonce, purpose, ref, status, block_number FROM txs"
            " WHERE chain_id = ? AND status IN ('signed', 'sent') ORDER BY sender, nonce",
            (chain_id,),
        ).fetchall()
        return [_entry(row) for row in rows]

    def entry(self, tx_hash: bytes) -> JournalEntry | None:
        row = self._db.execute(
            "SELECT tx_hash, chain_id, sender, nonce, purpose, ref, status, block_number FROM txs WHERE tx_hash = ?",
            ("0x" + tx_hash.hex(),),
        ).fetchone()
        return _entry(row) if row else None

    def entries(self, *, open_only: bool = False) -> list[JournalEntry]:
        """Every row of every chain (``open_only``: those not yet final), oldest first."""
        where = " WHERE status IN ('signed', 'sent')" if open_only else ""
        rows = self._db.execute(
            "SELECT tx_hash, chain_id, sender, nonce, purpose, ref, status, block_number FROM txs" + where
            + " ORDER BY created_at, rowid"
        ).fetchall()
        return [_entry(row) for row in rows]

    def error(self, tx_hash: bytes) -> str | None:
        row = self._db.execute("SELECT error FROM txs WHERE tx_hash = ?", ("0x" + tx_hash.hex(),)).fetchone()
        return row[0] if row else None

    def retry(self, ledger: Ledger, tx_hash: bytes) -> JournalEntry:
        """Send an open transaction of this chain again (its newest version) and wait until it is final."""
        entry = self._open_entry(ledger, tx_hash)
        self._drive(ledger, tx_hash, self._raw(tx_hash))
        self.blocked.pop(tx_hash, None)
        return self._existing(entry.tx_hash)

    def abandon(self, ledger: Ledger, tx_hash: bytes) -> JournalEntry:
        """Give up an open transaction that can never be mined (its nonce was used by another); Conflict
        while it still can be."""
        entry = self._open_entry(ledger, tx_hash)
        versions = self._versions(tx_hash, self._raw(tx_hash))
        if self._receipt_of(ledger, versions) is not None or not self._nonce_used(ledger, entry):
            raise Conflict(
                f"transaction 0x{tx_hash.hex()} can still be mined (nonce {entry.nonce} of {entry.sender} is not "
                f"used on chain {entry.chain_id}), so it is not abandoned",
                hint=f"run `provenance journal retry 0x{tx_hash.hex()}` to send it again and wait",
            )
        self._set(tx_hash, "failed", None, f"abandoned: nonce {entry.nonce} was used by another transaction")
        self.blocked.pop(tx_hash, None)
        return self._existing(tx_hash)

    def _open_entry(self, ledger: Ledger, tx_hash: bytes) -> JournalEntry:
        entry = self.entry(tx_hash)
        if entry is None:
            raise NotInStore(f"no journaled transaction 0x{tx_hash.hex()}", hint="`provenance journal list` shows them")
        if entry.status not in ("signed", "sent"):
            raise Conflict(f"transaction 0x{tx_hash.hex()} is {entry.status} already: nothing to do")
        if entry.chain_id != ledger.chain_id:
            raise Conflict(f"transaction 0x{tx_hash.hex()} is for chain {entry.chain_id}, the node is chain "
                           f"{ledger.chain_id}", hint="pass the --network / --rpc-url of that chain")
        return entry

    def _raw(self, tx_hash: bytes) -> bytes:
        return bytes(self._db.execute("SELECT raw FROM txs WHERE tx_hash = ?", ("0x" + tx_hash.hex(),)).fetchone()[0])

    @staticmethod
    def _nonce_used(ledger: Ledger, entry: JournalEntry) -> bool:
        """Whether the chain counts a mined transaction of ``entry``'s sender at ``entry``'s nonce."""
        mined = ledger.rpc("eth_getTransactionCount", [entry.sender, "latest"])
        return isinstance(mined, str) and int(mined, 16) > entry.nonce

    def resume(self, ledger: Ledger) -> list[JournalEntry]:
        """Confirm or re-broadcast every open transaction of this chain; returns them as they end.

        One whose nonce another transaction used is left open and named in :attr:`blocked` (it can never
        be mined: ``provenance journal abandon`` gives it up); the others go on. With a ledger that does not
        wait (``wait_timeout`` 0: ``--no-wait``) one not yet final is left open and named in :attr:`pending`.
        """
        done = []
        for entry in self.open_entries(ledger.chain_id):
            try:
                self._drive(ledger, entry.tx_hash, self._raw(entry.tx_hash))
            except NonceTaken as err:
                self.blocked[entry.tx_hash] = str(err)
                continue
            except WaitTimedOut as err:
                if ledger.wait_timeout != 0:
                    raise  # waited as long as the command may: the row stays open for the next resume
                self.pending[entry.tx_hash] = "not mined yet" if err.block_number is None else (
                    f"mined in block {err.block_number}, {err.confirmations} of {err.needed} confirmations")
                continue
            except ProvenanceError:
                if self._existing(entry.tx_hash).status != "failed":
                    raise  # the node is down or slow: the row stays open for the next resume
            done.append(self._existing(entry.tx_hash))
        return done

    def _existing(self, tx_hash: bytes) -> JournalEntry:
        """The row of a transaction this journal wrote; gone only if someone altered the file."""
        entry = self.entry(tx_hash)
        if entry is None:
            raise StoreCorrupted(f"the journal lost transaction 0x{tx_hash.hex()}; it was altered")
        return entry

    def _drive(self, ledger: Ledger, tx_hash: bytes, raw: bytes, signer: LocalAccount | None = None) -> Receipt:
        versions = self._versions(tx_hash, raw)
        if self._receipt_of(ledger, versions) is None:
            self._send(ledger, versions)
            self._set(tx_hash, "sent")
        wait = _Wait(ledger, self, tx_hash, versions)
        try:
            while True:
                try:
                    receipt = ledger.wait(self._await(ledger, tx_hash, versions, signer, wait))
                except ProvenanceError as err:
                    mined = self._receipt_of(ledger, versions)
                    if mined is not None and not mined.succeeded:
                        self._set(tx_hash, "failed", mined.block_number, str(err))
                    raise
                if ledger.confirmations == 0 or _settles(ledger, receipt, wait):
                    break
                if self._receipt_of(ledger, versions) is None:  # a reorganisation dropped it: the same bytes again
                    self._send(ledger, versions)
                    self._set(tx_hash, "sent")
        finally:
            ledger.tell(None)
        if receipt.tx_hash != tx_hash:
            self._db.execute("UPDATE tx_replacements SET mined = 1 WHERE tx_hash = ?", ("0x" + receipt.tx_hash.hex(),))
        self._set(tx_hash, "mined", receipt.block_number)
        return receipt

    def _versions(self, tx_hash: bytes, raw: bytes) -> list[tuple[bytes, bytes]]:
        """(hash, raw) of a transaction and of its replacements, oldest first: one nonce, at most one mined."""
        rows = self._db.execute(
            "SELECT tx_hash, raw FROM tx_replacements WHERE original = ? ORDER BY created_at, rowid",
            ("0x" + tx_hash.hex(),),
        ).fetchall()
        return [(tx_hash, raw), *((bytes.fromhex(h[2:]), bytes(r)) for h, r in rows)]

    @staticmethod
    def _receipt_of(ledger: Ledger, versions: list[tuple[bytes, bytes]]) -> Receipt | None:
        for tx_hash, _ in reversed(versions):
            receipt = ledger.receipt(tx_hash)
            if receipt is not None:
                return receipt
        return None

    def _send(self, ledger: Ledger, versions: list[tuple[bytes, bytes]]) -> None:
        """Broadcast the newest version; a refusal because another version was mined meanwhile is no error."""
        from provenance.ledger import SignedTx  # lazy: the ledger's imports (~50 ms) only when a tx is driven

        tx_hash, raw = versions[-1]
        try:
            ledger.broadcast(SignedTx(tx_hash, raw, "", 0, ""))
        except RpcError as err:
            if self._receipt_of(ledger, versions) is not None:
                return
            entry = self._existing(versions[0][0])
            if "nonce" in str(err).lower() and self._nonce_used(ledger, entry):
                shown = "0x" + entry.tx_hash.hex()
                raise NonceTaken(
                    f"nonce {entry.nonce} of {entry.sender} was used on chain {entry.chain_id} by another transaction "
                    f"(another wallet or program holding the same key?), so journaled transaction {shown} "
                    f"({entry.purpose} {entry.ref}) can never be mined",
                    hint=f"run `provenance journal abandon {shown}` to give it up (a record it registers is marked "
                    "failed, a batch's records are queued again for the next anchor)",
                ) from None
            raise

    def _await(
        self, ledger: Ledger, tx_hash: bytes, versions: list[tuple[bytes, bytes]], signer: LocalAccount | None,
        wait: _Wait,
    ) -> bytes:
        """Wait until a version has a receipt (its hash, for :meth:`Ledger.wait` to read and explain);
        broadcast the newest again whenever the node no longer holds it (dropped from its pool, or by a
        reorganisation); replace it when ``signer`` is given and it waited ``ledger.replace_after`` seconds.

        WaitTimedOut when none is mined in time (the row stays open); FeeCapExceeded when the replacement
        would offer more than ``ledger.max_fee`` (nothing new signed; the waiting version stays).
        """
        replace_after = ledger.replace_after if signer is not None else None
        if wait.deadline is None:  # the library's own default
            wait.deadline = wait.started + (60.0 if replace_after is None else max(60.0, 3 * replace_after + 10))
        now = time.monotonic()
        asked, sent_at = now, now
        delays = ledger.poll_delays()
        while (found := self._receipt_of(ledger, versions)) is None:
            now = time.monotonic()
            if now >= wait.deadline:
                raise wait.timed_out(None)
            if signer is not None and replace_after is not None and now - sent_at > replace_after:
                self._replace(ledger, tx_hash, versions, signer)
                sent_at = asked = time.monotonic()
                continue
            if now - asked > PRESENCE_POLL:
                asked = now
                newest = "0x" + versions[-1][0].hex()
                if ledger.rpc("eth_getTransactionByHash", [newest]) is None:
                    self._send(ledger, versions)
            wait.tell(None)
            time.sleep(min(next(delays), max(wait.deadline - time.monotonic(), 0.0)))
        return found.tx_hash

    def _replace(
        self, ledger: Ledger, tx_hash: bytes, versions: list[tuple[bytes, bytes]], signer: LocalAccount
    ) -> None:
        """Sign the newest version again with bumped fees, journal it (committed), then send it."""
        from provenance.fees import bumped, of_raw

        offered = of_raw(versions[-1][1])
        if offered is None:  # not a type-2 transaction: nothing to bump, it is only broadcast again
            return
        tx = ledger.replacement(signer, versions[-1][1], bumped(ledger, offered, ledger.max_fee))
        self._db.execute(
            "INSERT INTO tx_replacements (tx_hash, original, raw, mined, created_at) VALUES (?, ?, ?, 0, ?)",
            ("0x" + tx.tx_hash.hex(), "0x" + tx_hash.hex(), tx.raw, time.time()),
        )
        versions.append((tx.tx_hash, tx.raw))
        _crash_point("after-replacement-journal")
        self._send(ledger, versions)
        _crash_point("after-replacement")

    def _set(self, tx_hash: bytes, status: str, block: int | None = None, error: str | None = None) -> None:
        self._db.execute(
            "UPDATE txs SET status = ?, block_number = COALESCE(?, block_number), error = ?, updated_at = ?"
            " WHERE tx_hash = ?",
            (status, block, error, time.time(), "0x" + tx_hash.hex()),
        )


#: Seconds between asking the node whether it still holds a transaction that is not mined yet.
PRESENCE_POLL = 1.0
#: Seconds the journal waits, without a ledger's ``wait_timeout``, for a mined transaction's confirmations.
CONFIRMATIONS_TIMEOUT = 600.0


class _Wait:
    """One drive's wait: when it began, its deadline (None until the first look sets the library's default),
    and what the ledger's watcher is told."""

    def __init__(self, ledger: Ledger, journal: Journal, tx_hash: bytes, versions: list[tuple[bytes, bytes]]) -> None:
        self.ledger, self.journal, self.tx_hash, self.versions = ledger, journal, tx_hash, versions
        self.started = time.monotonic()
        budget = ledger.wait_timeout
        self.deadline: float | None = None if budget is None else self.started + budget

    def tell(self, receipt: Receipt | None, head: int | None = None) -> None:
        from provenance.ledger import Waiting  # lazy, as the ledger's other imports here

        elapsed = time.monotonic() - self.started
        if receipt is None or head is None:
            self.ledger.tell(Waiting(self.versions[-1][0], elapsed))
        else:
            have = max(head - receipt.block_number, 0)
            self.ledger.tell(Waiting(receipt.tx_hash, elapsed, receipt.block_number, have, self.ledger.confirmations))

    def timed_out(self, receipt: Receipt | None, head: int | None = None) -> WaitTimedOut:
        """The error of a wait that ran out: what was sent, where it is, the command that finishes it."""
        entry = self.journal._existing(self.tx_hash)
        waited = time.monotonic() - self.started
        shown, sent = "0x" + self.tx_hash.hex(), self.versions[-1][0]
        what = f"{entry.purpose} transaction {shown}" + (f" ({entry.ref})" if entry.ref else "")
        if sent != self.tx_hash:
            what += f", last sent as replacement 0x{sent.hex()},"
        if receipt is None:
            where, have = "was sent but not mined", 0
        else:
            have = max((head or receipt.block_number) - receipt.block_number, 0)
            where = (f"was mined in block {receipt.block_number} but has {have} of the "
                     f"{self.ledger.confirmations} confirmations it needs")
        return WaitTimedOut(
            f"{what} {where} after {waited:.0f} s on {self.ledger.rpc_url}; it is kept in the journal "
            "(nothing is lost, nothing will be sent twice)",
            tx_hash=self.tx_hash, sent=sent, block_number=None if receipt is None else receipt.block_number,
            confirmations=have, needed=self.ledger.confirmations, url=self.ledger.rpc_url,
            hint=f"finish it later with `provenance journal retry {shown}` (any chain command finishes it too); "
            "`provenance journal list` shows it",
        )


def _settles(ledger: Ledger, receipt: Receipt, wait: _Wait) -> bool:
    """Wait until ``receipt``'s block has ``ledger.confirmations`` blocks on top and is still canonical.

    False as soon as the transaction's receipt changes or goes (a reorganisation:
    the caller waits for it to be mined again, re-sending it if it was dropped);
    WaitTimedOut when the confirmations do not come by the wait's deadline
    (:data:`CONFIRMATIONS_TIMEOUT` from now without one; the row stays open: the
    next resume waits again).
    """
    deadline = time.monotonic() + CONFIRMATIONS_TIMEOUT if wait.ledger.wait_timeout is None else wait.deadline
    assert deadline is not None
    needed = receipt.block_number + ledger.confirmations
    delays = ledger.poll_delays()
    while True:
        current = ledger.receipt(receipt.tx_hash)
        if current is None or current.block_hash != receipt.block_hash:
            return False
        head = ledger.block_number()
        # the receipt can lag the canonical chain on some nodes: its block must still be the one at its height
        if head >= needed and ledger.block_hash(receipt.block_number) == receipt.block_hash:
            return True
        if time.monotonic() >= deadline:
            raise wait.timed_out(receipt, head)
        wait.tell(receipt, head)
        time.sleep(min(next(delays), max(deadline - time.monotonic(), 0.0)))


def _crash_point(name: str) -> None:
    """The fault injection of the kill tests (``PROVENANCE_CRASH_AT``, as in :mod:`provenance.publish`)."""
    if os.environ.get("PROVENANCE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    return JournalEntry(bytes.fromhex(row[0][2:]), row[1], row[2], row[3], row[4], row[5], row[6], row[7])

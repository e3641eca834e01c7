"""The publisher's path: prepare a signed record, register it or queue it, anchor batches, resume.

Order of work, so that a crash (kill -9) at any point loses nothing and sends
nothing twice:

1. :func:`prepare` validates, hashes, commits and signs in memory: nothing is
   written, so bad input leaves no trace.
2. A direct register writes the record (state ``sending``) and the signed raw
   transaction into the store in one SQLite transaction, then sends it.
   A batched record is written ``queued``.
3. :meth:`Publisher.anchor` takes every queued record, builds the batch tree,
   signs one ``anchorBatch`` and, in one SQLite transaction, marks the records
   ``batching`` under that root and journals the transaction; only then sends.
   The next ``anchor`` after a crash resumes that very transaction (same raw
   bytes, same hash) instead of building a second batch.
4. Once mined, each Statement gets its anchor (the tx, or the batch's
   submitter and root + proof), is written beside its artifact, and the
   record becomes ``anchored``.

:func:`resume` runs at the start of every chain command: it confirms or
re-broadcasts journaled transactions and finishes steps 4 that a crash cut.

``PROVENANCE_CRASH_AT`` names a point (``after-journal``, ``after-broadcast``,
``after-mined``; the journal's ``after-replacement-journal`` and
``after-replacement`` when a transaction that waited too long is replaced)
where the process kills itself with SIGKILL: the fault injection the crash
tests use. It is read only at those points.

A replacement (same nonce, bumped fees) is journaled beside the transaction
it replaces, never in place of it: records and batches keep naming the first
hash, and whichever version was mined (:meth:`Journal.mined_hash
<provenance.journal.Journal.mined_hash>`) is what their anchors carry.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance import batchdoc, merkle
from provenance._files import write_atomic
from provenance.claims import Claims, pin_fields, resolve_fields
from provenance.commitments import Commitment, commit
from provenance.errors import Conflict, ContractRejected, InvalidValue, NotFound, StoreCorrupted
from provenance.manifest import Manifest
from provenance.record import Domain, Kind, ReasonCode, Record, hex32
from provenance.signing import sign_record
from provenance.statement import Anchor, Statement
from provenance.store import EncodedRecord, Store

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

    from provenance.index import Index
    from provenance.ledger import Ledger, Receipt, SignedTx

__all__ = [
    "Prepared", "Publisher", "BatchResult", "prepare", "resume", "unknown_parents",
]


@dataclass(frozen=True)
class Prepared:
    """A signed record with its secret commitment, not yet written anywhere."""

    statement: Statement
    commitment: Commitment
    statement_path: Path | None


@dataclass(frozen=True)
class BatchResult:
    root: bytes
    count: int
    tx_hash: bytes
    block_number: int
    gas_used: int | None
    texts: tuple[str, ...] = field(repr=False)  # each member's anchored Statement, compact JSON

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The anchored Statements, parsed on demand (a 10,000-record batch need not be)."""
        return tuple(Statement.from_json(json.loads(text), source="the batch") for text in self.texts)


def prepare(
    *,
    account: LocalAccount,
    domain: Domain,
    claims: Claims,
    manifest: Manifest | None = None,
    subject: bytes | None = None,
    kind: Kind | None = None,
    extra_parents: Iterable[bytes] = (),
    uri: str = "",
    name: str = "",
    statement_path: Path | None = None,
) -> Prepared:
    """Commit to ``claims`` and sign the record of an artifact (its manifest, or a bare subject).

    The claims are committed as given: parents named by a plain subject stay
    unpinned (:func:`provenance.pins.pin_parents` pins them first). Claims that
    pin a parent record disclose their pins (:func:`~provenance.claims.pin_fields`) whatever
    their ``disclose`` says: the parents are public on chain anyway, and a
    verifier needs to know which parent record the publisher relied on.
    """
    if manifest is not None:
        subject = manifest.subject
    if subject is None:
        raise InvalidValue("a record needs the artifact's manifest or its subject")
    claimed = Kind.parse(claims.kind)
    if kind is not None and kind != claimed:
        raise InvalidValue(
            f"--kind {kind.name.lower()} differs from the claims file's kind {claims.kind}",
            hint="make them agree: the kind is part of the signed record",
        )
    commitment = commit(claims)
    if claims.pins():
        commitment = replace(
            commitment, defaults=resolve_fields((*commitment.defaults, *pin_fields(claims.kind)), kind=claims.kind)
        )
    parents = tuple(sorted({*claims.parents(), *extra_parents}))
    record = Record.create(subject, claimed, commitment.claims_root, parents, uri)
    statement = Statement.create(
        name=name or claims.name or hex32(subject),
        record=record,
        publisher=account.address,
        signature=sign_record(account, record, domain),
        chain_id=domain.chain_id,
        registry=domain.verifying_contract,
        manifest=manifest.to_dict() if manifest is not None else None,
        disclosures=[d.to_dict() for d in commitment.disclose()],
    )
    return Prepared(statement, commitment, statement_path)


_CHUNK = 250  # records per task of queue_subjects' workers


def _encoded_rows(
    account: LocalAccount, domain: Domain, claims: Claims, uri: str, lineage: tuple[Statement, ...],
    subjects: Sequence[bytes],
) -> list[EncodedRecord]:
    """Prepare and encode records for :meth:`Store.add_encoded`, each carrying ``lineage``."""
    rows: list[EncodedRecord] = []
    with _gc_paused():
        for subject in subjects:
            prepared = prepare(account=account, domain=domain, claims=claims, subject=subject, uri=uri)
            statement = prepared.statement.with_lineage(lineage) if lineage else prepared.statement
            rows.append((
                hex32(statement.record_id), statement.chain_id, statement.registry, statement.publisher,
                hex32(statement.subject), int(statement.record.kind), statement.dumps_compact(),
                prepared.commitment.to_json(),
            ))
    return rows


# bound by _start_worker in each worker, never in the parent
_worker_job: tuple[LocalAccount, Domain, Claims, str, tuple[Statement, ...]]


def _start_worker(account: LocalAccount, domain: Domain, claims: Claims, uri: str,
                  lineage: tuple[Statement, ...]) -> None:
    """Pool initializer: keep what every task of this worker shares.

    With the fork start method the arguments reach the child in its copy of the
    parent's memory, never pickled: the account's key crosses no pipe.
    """
    global _worker_job
    _worker_job = (account, domain, claims, uri, lineage)


def _worker_rows(subjects: Sequence[bytes]) -> list[EncodedRecord]:
    """A worker's task: one chunk of subjects, with the job :func:`_start_worker` kept."""
    return _encoded_rows(*_worker_job, subjects)


def unknown_parents(
    parents: Sequence[bytes], *, store: Store, ledger: Ledger, home: Path, index: Index | None = None
) -> list[bytes]:
    """The parents that neither the local store nor the registry's events know.

    ``index``: an index of this registry's events the caller has synced; without
    one, ``home``'s ``index.db`` is synced and read.
    """
    registry = ledger.domain.verifying_contract
    missing = [p for p in parents if not store.known_subject(p, ledger.chain_id, registry)]
    if not missing:
        return []
    if index is not None:
        return [p for p in missing if not index.records_by_subject(p)]
    from provenance.index import Index
    from provenance.indexer import Indexer

    index = Index.open(Path(home) / "index.db")
    try:
        Indexer(index, ledger).sync()
        return [p for p in missing if not index.records_by_subject(p)]
    finally:
        index.close()


def _crash_point(name: str) -> None:
    if os.environ.get("PROVENANCE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _write_statement(statement: Statement, path: Path | None) -> None:
    if path is None:
        return
    hint = "it is kept in the local store; write it out with `provenance export SUBJECT --format in-toto`"
    try:
        statement.write(path)
    except OSError as err:
        raise InvalidValue(f"the Statement could not be written to {path}: {err.strerror}", hint=hint) from None
    except InvalidValue as err:  # a symbolic link where the Statement goes: refused, not followed
        raise InvalidValue(str(err), hint=hint) from None


class Publisher:
    """One publisher's account acting on one registry, with the local store as its memory."""

    def __init__(self, store: Store, ledger: Ledger, account: LocalAccount) -> None:
        self.store = store
        self.ledger = ledger
        self.account = account

    # ------------------------------------------------------------ direct

    def register(self, prepared: Prepared) -> Statement:
        """Register one record in its own transaction; returns its anchored Statement."""
        record = prepared.statement.record

        def rows(tx: SignedTx) -> None:
            self._refuse_in_flight(prepared.statement)  # in the write transaction: two at once cannot both pass
            self.store.add_record(
                prepared.statement, prepared.commitment, state="sending",
                statement_path=prepared.statement_path, tx_hash=tx.tx_hash,
            )

        tx = self._journaled(rows, hex32(prepared.statement.record_id), "register", record.as_tuple())
        _write_statement(prepared.statement, prepared.statement_path)
        receipt = self._drive(tx)
        return _finish_direct(self.store, prepared.statement.record_id, receipt.tx_hash, receipt.block_number)

    def _refuse_in_flight(self, statement: Statement) -> None:
        """Refuse a second record of a subject whose record by this publisher is still being sent here.

        ``register`` run again while the first is in flight (a slow node, a wait that timed out) would
        otherwise sign and send a second record of the same artifact; the first is finished by any chain
        command (or `provenance journal retry`), which the message names.
        """
        for stored in self.store.records_of_subject(statement.subject):
            if (stored.state in ("sending", "batching") and stored.publisher == statement.publisher
                    and stored.chain_id == statement.chain_id and stored.registry == statement.registry):
                how = f"transaction {stored.tx_hash}" if stored.tx_hash else "its batch"
                raise Conflict(
                    f"record {stored.record_id} of subject {hex32(statement.subject)} by {statement.publisher} is "
                    f"still being sent ({how}); a second record of it is not signed",
                    hint=f"wait for it: run `provenance journal retry {stored.tx_hash}`" if stored.tx_hash and
                    stored.state == "sending" else "wait for it: run `provenance anchor` (or any chain command)",
                )

    # ------------------------------------------------------------ batches

    def queue(self, prepared: Sequence[Prepared]) -> None:
        """Queue records for the next batch; their Statements are written without an anchor yet."""
        with _gc_paused(), self.store.transaction():
            self.store.add_records(
                [(p.statement, p.commitment, p.statement_path) for p in prepared], state="queued"
            )
        for item in prepared:
            _write_statement(item.statement, item.statement_path)

    def queue_subjects(
        self, claims: Claims, subjects: Sequence[bytes], *, uri: str = "", workers: int | None = None,
        lineage: Sequence[Statement] = (),
    ) -> int:
        """The bulk API: queue records of many pre-hashed artifacts under one Claims; returns how many.

        For thousands of records (a dataset's shards registered one by one, say)
        use this rather than :func:`prepare` and :meth:`queue` in a loop: it makes
        the same records (fresh salts, a signature each), but prepares and
        encodes them in ``workers`` forked processes (default: the usable cores)
        while this one writes them to the store, all in one store transaction
        (a failure queues nothing). :meth:`anchor` then anchors them in one
        batch. The children inherit the account by fork (the pool initializer's
        arguments, not pickled); nothing secret crosses a pipe but the encoded
        commitments, which go straight into the store. ``lineage``: the parents'
        Statements every record carries (:mod:`provenance.bundle`; claims that
        pin parents). ``bench/register_bench.py`` measures it.
        """
        workers = workers or len(os.sched_getaffinity(0))
        job = (self.account, self.ledger.domain, claims, uri, tuple(lineage))
        chunks = [subjects[i : i + _CHUNK] for i in range(0, len(subjects), _CHUNK)]
        pool = None
        results: Iterator[list[EncodedRecord]]
        try:
            if workers <= 1 or len(chunks) <= 1:
                results = (_encoded_rows(*job, chunk) for chunk in chunks)
            else:
                pool = multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker, initargs=job)
                results = pool.imap(_worker_rows, chunks)
            count = 0
            # one store transaction: a failure in any worker queues nothing
            with _gc_paused(), self.store.transaction():
                for rows in results:
                    self.store.add_encoded(rows, state="queued")
                    count += len(rows)
        finally:
            if pool is not None:
                pool.terminate()  # all results are in (or it failed): no worker is left behind
                pool.join()
        return count

    def anchor(self, uri: str = "") -> BatchResult | None:
        """Anchor every queued record of this publisher in one transaction; None when nothing is queued."""
        # the queue is read and the transaction signed outside the store's write lock (signing asks the node);
        # the queue is read again, and the batch journaled, in one write transaction: two `anchor` commands at
        # once neither batch the same records twice nor sign with the same nonce (see _journaled)
        registry = self.ledger.domain.verifying_contract
        while True:
            ids = self._queued(registry)
            if not ids:
                return None
            tree = merkle.MerkleTree.from_leaves(merkle.record_leaf(i) for i in ids)

            def rows(tx: SignedTx, ids: list[bytes] = ids, root: bytes = tree.root) -> None:
                if self._queued(registry) != ids:
                    raise _QueueChanged
                self.store.add_batch(root, self.ledger.chain_id, registry, self.account.address, len(ids), uri,
                                     tx.tx_hash)
                self.store.set_batching(ids, tx.tx_hash, root)

            try:
                tx = self._journaled(rows, hex32(tree.root), "anchorBatch", tree.root, len(ids), uri)
            except _QueueChanged:  # another command queued or batched records meanwhile: read the queue again
                continue
            except ContractRejected:
                # the node refused the estimate: if another `anchor` anchored (or batched) these very records
                # between our reading the queue and signing, the registry says "already anchored"; read again
                if self._queued(registry) != ids:
                    continue
                raise
            break
        receipt = self._drive(tx)
        statements = _finish_batch(self.store, tree.root, self.account.address, receipt.tx_hash, receipt.block_number)
        return BatchResult(tree.root, len(ids), receipt.tx_hash, receipt.block_number, receipt.gas_used, statements)

    def _queued(self, registry: str) -> list[bytes]:
        """The ids of this publisher's records queued for the next batch on this chain and registry."""
        return self.store.record_ids(
            state="queued", chain_id=self.ledger.chain_id, registry=registry, publisher=self.account.address,
        )

    # ------------------------------------------------------------ status changes

    def revoke(self, record_id: bytes, reason: str, code: ReasonCode = ReasonCode.OTHER) -> Receipt:
        """Revoke a record of this publisher, with a reason code (``erasure``, ...) and text for people."""
        self.prove_if_batched(record_id)
        return self.submit("revoke", record_id, int(code), reason, ref=hex32(record_id))

    def supersede(
        self, record_id: bytes, successor: bytes, code: ReasonCode = ReasonCode.OTHER, reason: str = ""
    ) -> Receipt:
        """Point a record of this publisher at its successor (any publisher's stored record), with a reason."""
        self.prove_if_batched(record_id)
        self.prove_if_batched(successor)
        return self.submit("supersede", record_id, successor, int(code), reason, ref=hex32(record_id))

    def prove_if_batched(self, record_id: bytes) -> Receipt | None:
        """Make a batched record of the local store known to the registry (``proveBatched``), if it is not yet.

        The registry knows a batched record only by its batch (submitter, root)
        until someone proves it; revoking, superseding, endorsing or disputing
        it (or pointing at it as a successor) needs it proven first. Journaled
        like every other transaction; None when nothing was needed or nothing
        can be done here (a direct record, one already proven, one this store
        does not hold, or one in another's batch that only its publisher may
        prove): the registry then says what is wrong.
        """
        stored = self.store.record(record_id)
        if stored is None or stored.state != "anchored":
            return None
        statement = stored.statement
        anchor = statement.anchor
        if anchor is None or anchor.type != "batch" or anchor.batch_root is None:
            return None
        submitter = anchor.submitter or statement.publisher  # a Statement of registry version 1 names none
        if submitter != statement.publisher and self.account.address != statement.publisher:
            return None  # the registry lets only the publisher prove a record into someone else's batch
        if self.ledger.record_state(record_id).known:
            return None
        return self.submit(
            "proveBatched", statement.publisher, statement.record.struct_hash(), submitter, anchor.batch_root,
            list(anchor.proof), ref=hex32(record_id),
        )

    def endorse(self, record_id: bytes, statement_digest: bytes, uri: str = "") -> Receipt:
        """Endorse a stored record (a batched one this store holds is proven first)."""
        self._require_stored(record_id, "endorse")
        return self.submit("endorse", record_id, statement_digest, uri, ref=hex32(record_id))

    def dispute(self, record_id: bytes, statement_digest: bytes, uri: str = "") -> Receipt:
        """Dispute a stored record (a batched one this store holds is proven first)."""
        self._require_stored(record_id, "dispute")
        return self.submit("dispute", record_id, statement_digest, uri, ref=hex32(record_id))

    def _require_stored(self, record_id: bytes, action: str) -> None:
        """Prove the record if this store can; else refuse, before paying for a transaction that would revert."""
        self.prove_if_batched(record_id)
        if self.ledger.record_state(record_id).known:
            return
        raise NotFound(
            f"record {hex32(record_id)} is not stored in registry {self.ledger.registry} on chain "
            f"{self.ledger.chain_id}, so it cannot be {action}d: the registry takes endorsements and disputes of "
            "stored records only, and a batched record is stored once it is proven (proveBatched), which this "
            "store cannot do (it does not hold the record's Statement, or only the record's publisher may prove "
            "it into the batch that holds it)",
            hint="check the record id; for a batched record, run this where its Statement is in the local store, "
            "or ask its publisher to prove it",
        )

    def submit(self, function: str, *args: Any, ref: str = "") -> Receipt:
        """Any other registry call, journaled like the rest."""
        return self._drive(self._journaled(lambda tx: None, ref, function, *args))

    def _journaled(self, rows: Callable[[SignedTx], None], ref: str, function: str, *args: Any) -> SignedTx:
        """Sign a call outside the store's write lock, then journal it with ``rows(tx)`` in one write transaction.

        Signing asks the node (nonce, gas, fees), which may be slow: holding the lock across it made other
        commands fail with SQLite's "database is locked". Two commands of one publisher may then sign with
        the same nonce: the journal's UNIQUE (chain, sender, nonce) lets one of them write it, and the other
        signs again with the next nonce.
        """
        journal, sender = self.store.journal, self.account.address
        for _ in range(_NONCE_TRIES):
            tx = self.ledger.prepare(self.account, function, *args, nonce=journal.next_nonce(self.ledger, sender))
            try:
                with self.store.transaction():
                    rows(tx)
                    journal.record(tx, self.ledger.chain_id, ref=ref)
            except sqlite3.IntegrityError:
                if not journal.has_nonce(self.ledger.chain_id, sender, tx.nonce):
                    raise  # another constraint (a record stored twice): not a race for the nonce
                continue
            return tx
        raise Conflict(
            f"{_NONCE_TRIES} tries to journal a transaction of {sender} each found its nonce taken by another "
            "command of this publisher", hint="run the command again once the others are done",
        )

    def _drive(self, tx: SignedTx) -> Receipt:
        _crash_point("after-journal")
        receipt = self.ledger.receipt(tx.tx_hash)
        if receipt is None:
            self.ledger.broadcast(tx)
            _crash_point("after-broadcast")
        receipt = self.store.journal.drive(self.ledger, tx, self.account)  # replaced if it waits too long
        _crash_point("after-mined")
        return receipt


# ---------------------------------------------------------------- finishing and resuming


#: How many times a command signs again when another command of the publisher took the nonce it signed with.
_NONCE_TRIES = 20


class _QueueChanged(Exception):
    """The queue :meth:`Publisher.anchor` read changed before the batch was journaled (never leaves publish)."""


def _finish_direct(store: Store, record_id: bytes | str, tx_hash: bytes, block: int) -> Statement:
    stored = store.record(record_id)
    if stored is None:
        raise StoreCorrupted(f"the local store lost record {record_id!r} while it was being registered; it was altered")
    statement = stored.statement.with_anchor(Anchor("direct", tx_hash, block))
    _write_statement(statement, stored.statement_path)
    with store.transaction():
        store.update_record(record_id, state="anchored", statement=statement)
    return statement


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while thousands of records are handled at once.

    Parsing and building Statements allocates many small containers; with a
    large heap the collector's full passes then cost more than the work
    (measured: about 3/4 of the time spent parsing a 2,000-record batch back
    from the store). Nothing here makes reference cycles; memory is freed by
    reference counting as usual, and the collector runs again afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _anchor_json(anchor: Anchor) -> str:
    return json.dumps(anchor.to_json(), separators=(",", ":"))


def _finish_batch(store: Store, root: bytes, submitter: str, tx_hash: bytes, block: int) -> tuple[str, ...]:
    with _gc_paused():
        members = store.statement_texts(batch_root=root)
        leaves = [merkle.record_leaf(bytes.fromhex(record_id[2:])) for record_id, _, _ in members]
        tree = merkle.MerkleTree.from_leaves(leaves)
        if tree.root != root:
            raise StoreCorrupted(f"the local store's batch {hex32(root)} no longer gives its root; it was altered")
        texts, anchors, statements = [], [], []
        for (_, text, path), leaf in zip(members, leaves, strict=True):
            anchor = _anchor_json(Anchor("batch", tx_hash, block, root, tuple(tree.proof(leaf)), submitter))
            anchored = Statement.with_anchor_text(text, anchor)
            data = json.loads(anchored)
            if path is None:  # the document leaves the lineage out: not parsed for it (10,000 copies of one)
                data["predicate"].pop("lineage", None)
            statement = Statement.from_json(data, source="the local store")
            if path is not None:
                _write_statement(statement, path)
            anchors.append(anchor)
            texts.append(anchored)
            statements.append(statement)
        # the document before the commit: once the batch is 'anchored' no resume would write it again
        first = statements[0]
        _write_batch_document(store, root, batchdoc.build(root, submitter, first.chain_id, first.registry, statements))
        with store.transaction():
            # only the anchors are written: the store joins them to the Statements it holds on reading
            anchored_ids = [bytes.fromhex(rid[2:]) for rid, _, _ in members]
            store.set_anchored(list(zip(anchored_ids, anchors, strict=True)))
            store.set_batch_state(root, "anchored", block)
    return tuple(texts)


def _write_batch_document(store: Store, root: bytes, document: bytes) -> Path:
    """The document a batch's uri names (:func:`provenance.batchdoc.build`), under the store's home."""
    path = batch_document_path(store, root)
    write_atomic(path, document)
    return path


def batch_document_path(store: Store, root: bytes) -> Path:
    return store.path.parent / "batches" / f"{hex32(root)}.json"


def resume(store: Store, ledger: Ledger) -> list[str]:
    """Finish what a crash interrupted on this chain; returns one line per thing finished."""
    done = []
    for entry in store.journal.resume(ledger):
        done.append(f"{entry.purpose} 0x{entry.tx_hash.hex()}: {entry.status}")
    for tx_hash, why in store.journal.blocked.items():  # never mined: left to `provenance journal abandon`
        done.append(f"0x{tx_hash.hex()} cannot be sent: {why}; run `provenance journal abandon 0x{tx_hash.hex()}`")
    for tx_hash, why in store.journal.pending.items():  # not waited for (--no-wait): finished by a later command
        done.append(f"0x{tx_hash.hex()} is sent, {why}; the next chain command that waits finishes it "
                    f"(or `provenance journal retry 0x{tx_hash.hex()}`)")
    for stored in store.records(state="sending", chain_id=ledger.chain_id):
        if stored.tx_hash is None:  # never: a record is written 'sending' together with its transaction
            continue
        tx_hash = bytes.fromhex(stored.tx_hash[2:])
        found = store.journal.entry(tx_hash)
        if found is not None and found.status == "mined" and found.block_number is not None:
            _finish_direct(store, stored.record_id, store.journal.mined_hash(tx_hash), found.block_number)
            done.append(f"registered {stored.record_id}")
        elif found is None or found.status == "failed":
            with store.transaction():
                store.update_record(stored.record_id, state="failed", error="the register transaction failed")
            done.append(f"register of {stored.record_id} failed on chain")
    for batch in store.batches(state="sending", chain_id=ledger.chain_id):
        tx_hash = bytes.fromhex(batch.tx_hash[2:])
        found = store.journal.entry(tx_hash)
        root = bytes.fromhex(batch.root[2:])
        if found is not None and found.status == "mined" and found.block_number is not None:
            _finish_batch(store, root, batch.submitter, store.journal.mined_hash(tx_hash), found.block_number)
            done.append(f"anchored batch {batch.root} ({batch.count} records)")
        elif found is None or found.status == "failed":
            with store.transaction():
                store.requeue_batch(root)
            done.append(f"batch {batch.root} failed on chain; its {batch.count} records are queued again")
    return done

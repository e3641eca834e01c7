"""The event index against a real anvil node: every event kind, confirmations, resume, reorgs.

The tests taking ``index`` or ``index_target`` run on both backends, a SQLite
file and a PostgreSQL database (``tests/postgres.py``).
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from provenance.index import Index, IndexFileError
from provenance.indexer import Indexer
from provenance.ledger import Ledger
from provenance.merkle import MerkleTree, record_leaf
from provenance.record import Kind, ReasonCode, Record, parse_address
from tests.helpers import free_port, start_anvil

pytestmark = pytest.mark.chain


def _record(seed: int, subject: bytes | None = None, uri: str = "ipfs://bafy-index") -> Record:
    return Record.create(
        subject=subject or bytes([seed]) * 32,
        kind=Kind.DATASET,
        claims_root=bytes([seed + 1]) * 32,
        parents=[bytes([seed + 2]) * 32],
        uri=uri,
    )


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


@pytest.fixture
def index(index_target):
    with Index.open(index_target) as index:
        yield index


def test_every_event_kind_is_indexed_and_queried(ledger, make_account, index):
    publisher, auditor, relayer = make_account(), make_account(), make_account()
    subject = b"\x77" * 32
    old, new = _record(10, subject), _record(20, subject, uri="ipfs://v2")
    registered = ledger.register(publisher, old)
    ledger.register(publisher, new)
    old_id, new_id = old.record_id(publisher.address), new.record_id(publisher.address)
    ledger.supersede(publisher, old_id, new_id, code=ReasonCode.WRONG_CLAIMS, reason="licence corrected")
    ledger.endorse(auditor, new_id, b"\x01" * 32, "https://audit.example/ok")
    ledger.dispute(auditor, old_id, b"\x02" * 32)

    batched = [_record(30 + 3 * i) for i in range(3)]
    ids = [r.record_id(publisher.address) for r in batched]
    tree = MerkleTree.from_leaves(record_leaf(i) for i in ids)
    ledger.anchor_batch(relayer, tree.root, 3, "ipfs://batch")
    ledger.anchor_batch(auditor, tree.root, 3, "")  # the same root by another submitter: another batch
    proof = tree.proof(record_leaf(ids[1]))
    ledger.prove_batched(publisher, publisher.address, batched[1].struct_hash(), relayer.address, tree.root, proof)
    ledger.revoke(publisher, ids[1], "withdrawn", code=ReasonCode.WITHDRAWN)
    ledger.use_nonce(publisher)

    result = Indexer(index, ledger).sync()

    assert result.events == 10 and result.lag == 0 and result.reorged_from is None
    assert index.count() == 10

    record = index.record(old_id)
    assert record is not None
    assert record.publisher == publisher.address
    assert (record.subject, record.kind, record.uri) == (_hex(subject), int(Kind.DATASET), old.uri)
    assert record.claims_root == _hex(old.claims_root)
    assert record.parents == tuple(_hex(p) for p in old.parents)
    assert record.successor == _hex(new_id)
    assert (record.supersede_code, record.supersede_reason) == ("wrong_claims", "licence corrected")
    assert (record.disputes, record.endorsements, record.revoked) == (1, 0, False)
    assert record.batch_submitter is None
    assert record.block_number == registered.block_number
    assert record.tx_hash == _hex(registered.tx_hash)
    assert record.block_time == ledger.block_timestamp(registered.block_number)
    assert index.record(bytes.fromhex(old_id.hex())) == record  # bytes or hex both accepted

    assert [r.record_id for r in index.records_by_subject(subject)] == [_hex(old_id), _hex(new_id)]
    assert index.records_by_subject(b"\x00" * 32) == []
    assert index.record(b"\x99" * 32) is None
    # what a batch reader asks once per chunk: records the index knows nothing of (not proven, not a member)
    assert index.unknown_records([old_id, ids[0], _hex(ids[1]), b"\x99" * 32]) == [ids[0], b"\x99" * 32]
    assert index.unknown_records([]) == []

    proven = index.record(ids[1])
    assert proven is not None
    assert (proven.subject, proven.batch_root, proven.revoked) == (None, _hex(tree.root), True)
    assert (proven.batch_submitter, proven.revoke_code, proven.revoke_reason) == (
        relayer.address, "withdrawn", "withdrawn"
    )

    batch = index.batch(tree.root, relayer.address)
    assert batch is not None
    assert (batch.submitter, batch.count, batch.uri) == (relayer.address, 3, "ipfs://batch")
    other = index.batch(tree.root, auditor.address.lower())
    assert other is not None and (other.submitter, other.uri) == (auditor.address, "")
    assert index.batch(tree.root, publisher.address) is None  # the publisher anchored no batch of this root
    assert [b.submitter for b in index.batches(tree.root)] == [relayer.address, auditor.address]
    assert index.batches(b"\x00" * 32) == []

    history = index.history(subject=subject)
    assert [h.event for h in history] == [
        "RecordDisputed",
        "RecordEndorsed",
        "RecordSuperseded",
        "RecordRegistered",
        "RecordRegistered",
    ]
    assert [h.block_number for h in history] == sorted((h.block_number for h in history), reverse=True)
    assert history[0].actor == auditor.address and history[0].details["digest"] == _hex(b"\x02" * 32)
    assert history[-1].details["parents"] == [_hex(p) for p in old.parents]
    assert all(h.tx_hash.startswith("0x") and h.block_time for h in history)

    by_record = index.history(record_id=ids[1])
    assert [h.event for h in by_record] == ["RecordRevoked", "BatchedRecordProven"]
    assert by_record[0].details == {"reason_code": "withdrawn", "reason": "withdrawn"}
    assert by_record[1].details == {"root": _hex(tree.root), "submitter": relayer.address,
                                    "struct_hash": _hex(batched[1].struct_hash())}
    assert index.history(record_id=old_id)[-2].details == {
        "successor": _hex(new_id), "reason_code": "wrong_claims", "reason": "licence corrected",
    }
    by_publisher = [h.event for h in index.history(publisher=publisher.address.lower())]
    assert by_publisher == [
        "NonceUsed",
        "RecordRevoked",
        "BatchedRecordProven",
        "RecordDisputed",
        "RecordEndorsed",
        "RecordSuperseded",
        "RecordRegistered",
        "RecordRegistered",
    ]
    assert len(index.history(publisher=publisher.address, limit=2)) == 2
    assert [h.event for h in index.history(publisher=relayer.address)] == ["BatchAnchored"]
    (used,) = index.events(name="NonceUsed")
    assert (used.actor, used.details, used.record_id) == (publisher.address, {"nonce": 0}, None)

    (summary,) = index.publishers()
    assert (summary.address, summary.records, summary.revoked) == (publisher.address, 3, 1)
    assert [e.event for e in index.events(name="RecordEndorsed")] == ["RecordEndorsed"]
    assert len(index.events(limit=3, offset=8)) == 2


def test_confirmations_hold_back_recent_blocks(ledger, make_account, index):
    publisher = make_account()
    receipt = ledger.register(publisher, _record(60))
    indexer = Indexer(index, ledger, confirmations=3)

    first = indexer.sync()
    assert first.to_block == ledger.block_number() - 3 == receipt.block_number - 3
    assert index.count() == 0 and first.lag == 3

    ledger.rpc("anvil_mine", [hex(2)])
    assert indexer.sync().events == 0
    ledger.rpc("anvil_mine", [hex(1)])
    second = indexer.sync()
    assert second.events == 1 and second.to_block == receipt.block_number
    assert indexer.lag() == 3


def _heard(reader: Index, writer: Index) -> tuple[tuple[int, int], int]:
    """The reader's generations once they are the writer's (a PostgreSQL replica hears of a commit within
    moments, through its listener; a SQLite handle at once)."""
    deadline = time.monotonic() + 5
    same_commits = writer.backend == "postgresql"  # SQLite's count is each connection's own
    while reader.content_generation() != writer.content_generation() or \
            same_commits and reader.generation() != writer.generation():
        assert time.monotonic() < deadline, (reader.generations(), writer.generations())
        time.sleep(0.01)
    return reader.generations()


def test_a_sync_that_finds_no_event_moves_the_cursor_but_not_the_content_generation(
    ledger, make_account, index_target
):
    """Answers are remembered per content generation, the cursor per commit: a quiet chain's blocks move
    the cursor (every commit's generation) and leave the content generation, seen alike by another handle
    (another process, replica); a sync that stores an event, a reorganization's roll-back and any other
    write move both."""
    publisher = make_account()
    with Index.open(index_target) as writer, Index.open(index_target) as reader:
        indexer = Indexer(writer, ledger)
        indexer.sync()
        commits, content = _heard(reader, writer)
        assert (commits, content) == (reader.generation(), reader.content_generation())

        ledger.rpc("anvil_mine", [hex(3)])
        quiet = indexer.sync()
        assert quiet.events == 0 and quiet.to_block == ledger.block_number()
        assert writer.generation() != commits and writer.content_generation() == content
        after_quiet = _heard(reader, writer)
        assert after_quiet[0] != commits and after_quiet[1] == content
        assert reader.cursor(ledger.chain_id, ledger.registry) == quiet.to_block

        ledger.register(publisher, _record(90))
        busy = indexer.sync()
        assert busy.events == 1
        moved = _heard(reader, writer)
        assert moved[0] != commits and moved[1] > content
        content = moved[1]

        with writer._transaction() as db:  # any other write: content, whatever it wrote
            db.execute("UPDATE cursors SET synced_to = synced_to")
        assert _heard(reader, writer)[1] > content
        content = reader.content_generation()
        writer.roll_back(ledger.chain_id, ledger.registry, busy.to_block - 1, ledger.deploy_block)
        assert _heard(reader, writer)[1] > content


def test_resume_after_reopening_without_duplicates(ledger, make_account, index_target):
    publisher = make_account()
    for seed in range(3):
        ledger.register(publisher, _record(70 + 3 * seed))
    head = ledger.block_number()
    path = index_target
    half = max((head - ledger.deploy_block) // 2, 1)  # the index starts at the registry's deployment block

    with Index.open(path) as index:
        partial = Indexer(index, ledger, batch_size=half).sync(max_ranges=1)
        assert partial.to_block < head
    with Index.open(path) as index:
        rest = Indexer(index, ledger, batch_size=half).sync()
        assert rest.from_block == partial.to_block + 1 and rest.to_block == head
        assert index.count("RecordRegistered") == 3
        # A crash that lost the cursor but not the rows (impossible by design, simulated): no duplicates.
        with index._transaction() as db:
            db.execute("UPDATE cursors SET synced_to = ?", (partial.to_block,))
        again = Indexer(index, ledger).sync()
        assert again.events == 0 and index.count() == 3


def test_schema_version_is_checked(tmp_path):
    path = tmp_path / "old.sqlite"
    Index.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(IndexFileError, match="schema version 99"):
        Index.open(path)


# The events table of schema versions 1 and 2 (registry version 1's events), as those versions created it.
_EVENTS_V1 = """
CREATE TABLE events (
    chain_id INTEGER NOT NULL, registry TEXT NOT NULL, block_number INTEGER NOT NULL, log_index INTEGER NOT NULL,
    tx_hash TEXT NOT NULL, name TEXT NOT NULL, record_id TEXT, actor TEXT, subject TEXT, kind INTEGER,
    claims_root TEXT, parents TEXT, uri TEXT, root TEXT, count INTEGER, successor TEXT, digest TEXT, reason TEXT,
    UNIQUE (chain_id, registry, tx_hash, log_index)
)"""


def _old_index(path, version: int) -> None:
    """An index file as schema ``version`` (1 or 2) left it, with one event of a version 1 registry."""
    from provenance.index import _MIGRATIONS, _SCHEMA, _statements

    with sqlite3.connect(path) as db:
        # version 1: everything before the statements table; version 2 adds statements and files
        end = "CREATE TABLE IF NOT EXISTS statements" if version == 1 else None
        script = _SCHEMA if end is None else _SCHEMA[: _SCHEMA.index(end)]
        for statement in _statements(script):
            if statement.startswith("CREATE TABLE IF NOT EXISTS events"):
                statement = _EVENTS_V1
            if statement.startswith("CREATE TABLE IF NOT EXISTS statements"):  # as version 2 made it
                (statement,) = _statements(_MIGRATIONS[2])
            if "statements_publisher" in statement:  # version 5's
                continue
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(version),))
        db.execute("INSERT INTO cursors VALUES (1, '0xabc', 41)")
        db.execute(
            "INSERT INTO events (chain_id, registry, block_number, log_index, tx_hash, name, record_id, actor, reason)"
            " VALUES (1, '0xabc', 40, 0, '0x' || hex(randomblob(32)), 'RecordRevoked', ?, ?, 'old')",
            ("0x" + "01" * 32, "0x" + "22" * 20),
        )
    db.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_file_is_migrated_in_place(tmp_path, version):
    from provenance.index import SCHEMA_VERSION

    path = tmp_path / f"v{version}.sqlite"
    _old_index(path, version)
    with Index.open(path) as index:
        assert index.cursor(1, "0xabc") == 41
        assert index.statements_for(b"\x01" * 32) == [] and index.files("00" * 32) == []
        (old,) = index.history(record_id=b"\x01" * 32)  # a version 1 registry's revocation: no reason code
        assert (old.event, old.details) == ("RecordRevoked", {"reason_code": None, "reason": "old"})
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
        columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
        assert {"submitter", "struct_hash", "reason_code", "nonce"} <= columns
    db.close()
    with Index.open(path) as index:  # opening a current file again changes nothing
        assert index.cursor(1, "0xabc") == 41


@pytest.fixture
def fresh_chain():
    """A node of its own: snapshot and revert would disturb the shared one."""
    process = start_anvil(free_port_ := free_port())
    try:
        node = Ledger.connect(f"http://127.0.0.1:{free_port_}")
        node.deploy(parse_address(node.rpc("eth_accounts")[0]))
        yield node
    finally:
        process.terminate()
        process.wait(timeout=10)


def _funded(node: Ledger):
    from eth_account import Account

    account = Account.create()
    node.rpc("anvil_setBalance", [account.address, hex(10**21)])
    return account


@pytest.mark.parametrize("shorter", [False, True], ids=["same-height", "shorter-fork"])
def test_reorg_is_rolled_back_and_replayed(fresh_chain, index_target, shorter):
    node = fresh_chain
    publisher = _funded(node)
    node.register(publisher, _record(100))
    index = Index.open(index_target)
    indexer = Indexer(index, node)
    indexer.sync()

    snapshot = node.rpc("evm_snapshot")
    doomed = [_record(110), _record(120), _record(130)]
    doomed_receipts = [node.register(publisher, r) for r in doomed]
    node.endorse(publisher, _record(100).record_id(publisher.address), b"\x05" * 32)
    assert indexer.sync().events == 4
    assert index.record(doomed[0].record_id(publisher.address)) is not None

    assert node.rpc("evm_revert", [snapshot]) is True
    fresh = _record(140)
    fresh_receipt = node.register(publisher, fresh)
    if not shorter:
        node.rpc("anvil_mine", [hex(5)])
    assert fresh_receipt.block_number == doomed_receipts[0].block_number
    assert fresh_receipt.block_hash != doomed_receipts[0].block_hash

    result = indexer.sync()

    assert result.reorged_from is not None and result.reorged_from <= fresh_receipt.block_number
    assert result.to_block == node.block_number()
    for record in doomed:
        assert index.record(record.record_id(publisher.address)) is None
    assert index.record(fresh.record_id(publisher.address)) is not None
    assert index.record(_record(100).record_id(publisher.address)) is not None
    assert index.count() == 2
    assert index.stored_hash(node.chain_id, node.registry, fresh_receipt.block_number) == _hex(
        fresh_receipt.block_hash
    )
    assert indexer.sync().events == 0 and indexer.sync().reorged_from is None
    index.close()


def test_hand_decoding_of_logs_equals_eth_abi(ledger, make_account):
    from eth_abi import decode

    publisher, auditor = make_account(), make_account()
    record = _record(150, uri="ipfs://ünïcode")
    ledger.register(publisher, record)
    record_id = record.record_id(publisher.address)
    ledger.endorse(auditor, record_id, b"\x03" * 32, "https://x.example")
    ledger.revoke(publisher, record_id, "")

    fast = ledger.events(0)
    raw = ledger.rpc("eth_getLogs", [{"address": ledger.registry, "fromBlock": "0x0", "toBlock": "latest"}])
    assert [e.name for e in fast] == ["RecordRegistered", "RecordEndorsed", "RecordRevoked"]
    for event, log in zip(fast, raw, strict=True):
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        spec = ledger._events[topics[0]]
        expected = {n: decode([k], t)[0] for (n, k), t in zip(spec.indexed, topics[1:], strict=True)}
        data = decode(list(spec.data_types), bytes.fromhex(log["data"][2:]))
        expected.update(zip(spec.data_names, data, strict=True))
        for name, value in expected.items():
            got = event.args[name]
            if isinstance(value, str):  # addresses: eth_abi gives lowercase, the ledger checksums
                got = got.lower() if got.startswith("0x") and len(got) == 42 else got
            assert got == (list(value) if isinstance(value, tuple) else value), name
    assert fast[0].args["uri"] == "ipfs://ünïcode" and fast[2].args["reason"] == ""


class _FakeLedger:
    """Just enough of a Ledger for the indexer: a chain of `height` blocks, one event per block."""

    chain_id = 1
    registry = "0x" + "11" * 20
    deploy_block = 0  # the registry was created in the first block: the indexer reads from there

    def __init__(self, height: int, fork: str = "a", max_range: int = 4) -> None:
        self.height, self.fork, self.max_range, self.calls = height, fork, max_range, []

    def _hash(self, number: int) -> bytes:
        return bytes([number % 256]) + self.fork.encode() * 31

    def block_number(self) -> int:
        return self.height

    def block_hash(self, number: int) -> bytes | None:
        return self._hash(number) if 0 <= number <= self.height else None

    def rpc(self, method: str, params: list) -> dict:
        assert method == "eth_getBlockByHash"
        return {"timestamp": hex(1_700_000_000)}

    def rpc_each(self, method: str, params_list: list) -> list:
        return [self.rpc(method, params) for params in params_list]

    def events(self, start: int, end: int, *, anomalies: list | None = None) -> list:
        from provenance.errors import LogRangeRefused
        from provenance.ledger import ChainEvent

        self.calls.append((start, end))
        if end - start + 1 > self.max_range:
            raise LogRangeRefused("query returned more than 10000 results")
        return [
            ChainEvent(
                "RecordRevoked",
                {"recordId": bytes([n % 256]) * 32, "publisher": "0x" + "22" * 20, "reason": self.fork},
                n,
                self._hash(n),
                self._hash(n),  # one transaction per block is enough here
                0,
            )
            for n in range(max(start, 1), end + 1)
        ]


def test_the_next_range_is_read_while_one_is_stored(index):
    """The indexer reads range k+1 from the node (in a thread) while it stores range k."""
    import threading

    node = _FakeLedger(40, max_range=100)
    requested: dict[int, threading.Event] = {start: threading.Event() for start in range(0, 41, 10)}
    real_events, real_store = node.events, index.store_rows
    seen_ahead = []

    def events(start, end, *, anomalies=None):
        requested[start].set()
        return real_events(start, end, anomalies=anomalies)

    def store_rows(chain_id, registry, rows, links, blocks, *, synced_to):
        if synced_to < 40:  # the next range was asked for before this one is stored
            seen_ahead.append(requested[synced_to + 1].wait(timeout=5))
        return real_store(chain_id, registry, rows, links, blocks, synced_to=synced_to)

    node.events, index.store_rows = events, store_rows
    result = Indexer(index, node, batch_size=10).sync()
    assert (result.to_block, result.events, index.count()) == (40, 40, 40)
    assert seen_ahead == [True] * 4
    assert [start for start, _ in node.calls] == [0, 10, 20, 30, 40]  # each range read once


def test_refused_ranges_are_halved_and_deep_reorgs_roll_back_to_the_start(index):
    node = _FakeLedger(20)
    result = Indexer(index, node, batch_size=16).sync()
    assert (result.to_block, result.events, index.count()) == (20, 20, 20)
    assert node.calls[:3] == [(0, 15), (0, 7), (0, 3)]

    forked = _FakeLedger(18, fork="b", max_range=100)  # every block differs: nothing stored matches
    again = Indexer(index, forked).sync()
    assert again.reorged_from == 0 and (again.to_block, index.count()) == (18, 18)
    assert {h.details["reason"] for h in index.events(limit=100)} == {"b"}


class _FailingLedger(_FakeLedger):
    """A node that answers eth_getLogs with an error other than a refused range."""

    def events(self, start: int, end: int, *, anomalies: list | None = None) -> list:
        from provenance.errors import RpcError

        self.calls.append((start, end))
        raise RpcError("internal error", code=-32603)


def test_only_a_refused_range_is_halved_other_node_errors_propagate(index):
    from provenance.errors import LogRangeRefused, RpcError

    node = _FailingLedger(20)
    with pytest.raises(RpcError, match="internal error"):
        Indexer(index, node, batch_size=16).sync()
    assert node.calls == [(0, 15)] and index.cursor(node.chain_id, node.registry) is None

    one_block = _FakeLedger(20, max_range=0)  # refuses even a single block: nothing left to halve
    with pytest.raises(LogRangeRefused):
        Indexer(index, one_block, batch_size=4).sync()
    assert one_block.calls == [(0, 3), (0, 1), (0, 0)]


# ---------------------------------------------------------------- records by parent (schema version 7)


def _kind_record(seed: int, kind: Kind, parents: list[bytes]) -> Record:
    return Record.create(subject=bytes([seed]) * 32, kind=kind, claims_root=bytes([seed + 1]) * 32,
                         parents=parents, uri=f"ipfs://bafy-{seed}")


def test_evaluations_of_a_subject_are_found_by_parent(ledger, make_account, index):
    evaluator, publisher = make_account(), make_account()
    model, other_model, bench = b"\x51" * 32, b"\x52" * 32, b"\x53" * 32
    evaluation = _kind_record(0x60, Kind.EVALUATION, [model, bench])
    of_other = _kind_record(0x62, Kind.EVALUATION, [other_model])
    derived = _kind_record(0x64, Kind.MODEL, [model])  # a fine-tune names the model as a parent too
    for account, record in ((evaluator, evaluation), (evaluator, of_other), (publisher, derived)):
        ledger.register(account, record)
    Indexer(index, ledger).sync()
    eval_id = _hex(evaluation.record_id(evaluator.address))
    assert [r.record_id for r in index.evaluations_of(model)] == [eval_id]
    assert [r.record_id for r in index.evaluations_of("0x" + bench.hex().upper())] == [eval_id]  # any case
    assert [r.record_id for r in index.evaluations_of(other_model)] == [_hex(of_other.record_id(evaluator.address))]
    (found,) = index.evaluations_of(model)
    assert (found.kind, found.publisher, found.subject) == (3, evaluator.address, _hex(evaluation.subject))
    assert {r.record_id for r in index.records_with_parent(model)} == {
        eval_id, _hex(derived.record_id(publisher.address))}
    assert [r.kind for r in index.records_with_parent(model, kind=Kind.MODEL)] == [int(Kind.MODEL)]
    assert index.evaluations_of(b"\x54" * 32) == []
    # a reorg forgets the links of the blocks it rolls back
    cursor = index.cursor(ledger.chain_id, ledger.registry)
    index.roll_back(ledger.chain_id, ledger.registry, found.block_number - 1, 0)
    assert index.evaluations_of(model) == [] and index.records_with_parent(model) == []
    assert cursor is not None


def test_migration_to_version_7_links_records_already_kept(tmp_path):
    """A version 6 file: its registrations and batch members are linked to their parents on open."""
    from provenance.index import _MIGRATIONS, _SCHEMA, _statements

    path = tmp_path / "v6.sqlite"
    model = "0x" + "51" * 32
    direct, member = "0x" + "0d" * 32, "0x" + "0e" * 32
    submitter, evaluator = "0x" + "22" * 20, "0x" + "33" * 20
    assert _MIGRATIONS[7] == ""
    with sqlite3.connect(path) as db:
        for statement in _statements(_SCHEMA):
            if "record_parents" not in statement:  # version 7's
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '6')")
        db.execute(
            "INSERT INTO events (chain_id, registry, block_number, log_index, tx_hash, name, record_id, actor,"
            " subject, kind, claims_root, parents, uri) VALUES (1, '0xabc', 40, 0, '0x01', 'RecordRegistered',"
            " ?, ?, ?, 3, ?, ?, 'ipfs://e')",
            (direct, evaluator, "0x" + "aa" * 32, "0x" + "bb" * 32, f'["{model}"]'),
        )
        db.execute(
            "INSERT INTO events (chain_id, registry, block_number, log_index, tx_hash, name, actor, root, count, uri)"
            " VALUES (1, '0xabc', 41, 0, '0x02', 'BatchAnchored', ?, ?, 1, 'ipfs://batch')",
            (submitter, "0x" + "cc" * 32),
        )
        db.execute(
            "INSERT INTO batch_members VALUES (1, '0xabc', ?, ?, 41, 0, ?, ?, ?, 3, ?, ?, 'ipfs://m')",
            ("0x" + "cc" * 32, submitter, member, evaluator, "0x" + "dd" * 32, "0x" + "ee" * 32, f'["{model}"]'),
        )
    db.close()
    with Index.open(path) as index:
        found = index.evaluations_of(model)
        assert [r.record_id for r in found] == [direct, member]
        assert found[1].batch_root == "0x" + "cc" * 32 and found[1].from_document
    with Index.open(path) as index:  # opening a current file again adds nothing
        assert len(index.evaluations_of(model)) == 2


# ---------------------------------------------------------------- both backends: values, versions, replicas


class _OddLedger(_FakeLedger):
    """Events whose values test a database's types: a uint256 nonce, a NUL and bytes that are not UTF-8."""

    def events(self, start: int, end: int, *, anomalies: list | None = None) -> list:
        from provenance._logs import AbiText
        from provenance.ledger import ChainEvent

        odd = [("NonceUsed", {"publisher": "0x" + "22" * 20, "nonce": 2**256 - 1}),
               ("NonceUsed", {"publisher": "0x" + "22" * 20, "nonce": 7}),
               ("RecordRevoked", {"recordId": b"\x01" * 32, "publisher": "0x" + "22" * 20, "reason": "a\x00b"}),
               ("RecordRevoked", {"recordId": b"\x02" * 32, "publisher": "0x" + "22" * 20,
                                  "reason": AbiText(b"\xff\x00")})]
        return [ChainEvent(name, args, n, self._hash(n), self._hash(n), 0)
                for n, (name, args) in enumerate(odd, 1) if start <= n <= end]


def test_values_survive_either_database(index):
    Indexer(index, _OddLedger(4, max_range=100)).sync()
    entries = {(e.event, e.block_number): e.details for e in index.events(limit=10)}
    assert entries[("NonceUsed", 1)] == {"nonce": 2**256 - 1}
    assert entries[("NonceUsed", 2)] == {"nonce": 7}
    assert entries[("RecordRevoked", 3)] == {"reason_code": None, "reason": "a\\x00b", "reason_hex": "0x610062"}
    assert entries[("RecordRevoked", 4)]["reason_hex"] == "0xff00"
    assert [p.address for p in index.publishers()] == []  # revocations alone register nothing


def test_a_database_of_another_schema_version_is_refused(postgres_server):
    url = postgres_server.new_database()
    Index.open(url).close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(IndexFileError, match="schema version 99"):
        Index.open(url)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")  # never made in a database
    with pytest.raises(IndexFileError, match="schema version 6"):
        Index.open(url)


def test_replicas_opening_one_new_database_at_once_create_it_once(postgres_server):
    """Schema creation runs under an advisory lock: replicas starting together do not collide."""
    from concurrent.futures import ThreadPoolExecutor

    url = postgres_server.new_database()
    with ThreadPoolExecutor(6) as pool:
        indexes = list(pool.map(lambda _: Index.open(url), range(6)))
    try:
        with indexes[0]._transaction() as db:
            db.execute("INSERT INTO cursors (chain_id, registry, synced_to) VALUES (?,?,?)", (1, "0xabc", 9))
        assert all(i.cursor(1, "0xabc") == 9 for i in indexes)  # one database, seen by every replica
        assert len({i.generation() for i in indexes}) == 1
    finally:
        for index in indexes:
            index.close()


def test_replicas_hear_each_others_writes_and_ask_while_their_listener_is_lost(postgres_server):
    """A PostgreSQL index's generation comes from LISTEN/NOTIFY (no query per remembered answer): a writer
    sees its own write at once, another replica within moments, and one whose listening session was
    killed asks the database until it listens again, never answering with a generation it missed."""
    import psycopg

    url = postgres_server.new_database()

    def write(index, n):
        with index._transaction() as db:
            db.execute("INSERT INTO cursors (chain_id, registry, synced_to) VALUES (?,?,?) "
                       "ON CONFLICT (chain_id, registry) DO UPDATE SET synced_to = excluded.synced_to", (1, "0xabc", n))

    def heard(index, expected):
        deadline = time.monotonic() + 5
        while (index._backend._listener.current() or (None,))[0] != expected[0]:
            assert time.monotonic() < deadline, (index._backend._listener.current(), expected)
            time.sleep(0.01)

    with Index.open(url) as writer, Index.open(url) as reader:
        before = reader.generation()
        heard(reader, before)  # listening now
        write(writer, 1)
        after = writer.generation()
        assert after[0] > before[0]  # the writer's own write, at once
        heard(reader, after)
        assert reader.generation() == after
        with psycopg.connect(url, autocommit=True) as admin:  # the listeners' sessions die
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name LIKE 'provenance-listener-%'")
        write(writer, 2)  # while nobody may be listening: its announcement may be lost
        latest = writer.generation()
        heard(reader, latest)  # listening again, it read the generation itself
        reader._backend._listener.stop()  # not listening: each look asks the database
        assert reader._backend._listener.current() is None
        write(writer, 3)
        assert reader.generation() == writer.generation() and reader.generation()[0] > latest[0]


def test_one_replica_holds_the_indexer_lock_until_its_session_ends(postgres_server):
    url = postgres_server.new_database()
    with Index.open(url) as first, Index.open(url) as second:
        a, b = first.indexer_lock(), second.indexer_lock()
        assert a.held() and not b.held()
        assert a.held()  # still its own
        import psycopg

        with psycopg.connect(url, autocommit=True) as admin:  # the holder's session dies (as when it is killed)
            (killed,) = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks"
                                      " WHERE locktype = 'advisory' AND granted").fetchall()
            assert killed == (True,)
        assert not a.held()  # it notices at its next check, and lets go
        assert b.held()
        assert not a.held()
        b.release()
        assert a.held()
        a.release()


def test_the_sqlite_indexer_lock_is_a_file_lock(tmp_path):
    with Index.open(tmp_path / "i.sqlite") as first, Index.open(tmp_path / "i.sqlite") as second:
        a, b = first.indexer_lock(), second.indexer_lock()
        assert a.held() and not b.held()
        a.release()
        assert b.held()
        b.release()
    assert (tmp_path / "i.sqlite.indexer.lock").exists()

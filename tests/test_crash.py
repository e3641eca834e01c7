"""Kill tests: the `provenance` command killed with SIGKILL at several points, then resumed.

After any kill, the next chain command must finish what was cut: exactly one
RecordRegistered / BatchAnchored event per record or batch (the publisher's
nonce counts every transaction it ever sent, so a second anchor that reverted
would show too), every record of the store ``anchored`` with an anchor that
the registry accepts, every Statement file beside its artifact carrying that
anchor, and no queued record lost.

The kills come from ``PROVENANCE_CRASH_AT`` (the command kills itself at a
named point), from a real ``kill -9`` at moments read from the store, or at a
random moment; and from the node going away (exit 2 naming the URL and what
was kept, then a resume once it is back).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from provenance import merkle
from provenance.claims import Claims
from provenance.ledger import Ledger
from provenance.manifest import Manifest
from provenance.publish import Publisher, batch_document_path, prepare
from provenance.record import parse_address
from provenance.statement import Statement, statement_path_for
from provenance.store import STORE_FILE
from tests.helpers import ROOT, free_port, start_anvil
from tests.publisher_home import EXAMPLES, Home, db_rows, make_artifact, make_home

pytestmark = pytest.mark.chain

CRASH_POINTS = ("after-journal", "after-broadcast", "after-mined")
KILLED = -signal.SIGKILL


@pytest.fixture
def home(tmp_path, ledger) -> Home:
    return make_home(tmp_path / "home", ledger.rpc_url, ledger.registry)


def queue_files(home: Home, parent: Path, count: int, prefix: str) -> list[Path]:
    """Queue ``count`` one-file artifacts through the library (what `register --batch` does, faster)."""
    account = home.account()
    ledger = home.ledger()
    claims = Claims.from_file(EXAMPLES / "dataset.yaml")
    parent.mkdir(parents=True, exist_ok=True)
    prepared, paths = [], []
    for i in range(count):
        path = parent / f"{prefix}-{i:04d}.parquet"
        path.write_bytes(f"{prefix} rows {i}".encode() * 4)
        prepared.append(prepare(
            account=account, domain=ledger.domain, claims=claims, manifest=Manifest.from_path(path),
            name=path.name, statement_path=statement_path_for(path),
        ))
        paths.append(path)
    store = home.store()
    try:
        Publisher(store, ledger, account).queue(prepared)
    finally:
        store.close()
    return paths


def assert_all_anchored(home: Home, *, records: int, batches: int, direct: int = 0) -> None:
    """The invariants after a resume: everything anchored once, proofs accepted, files up to date."""
    ledger = home.ledger()
    events = ledger.events(0)
    registered = Counter(e.args["recordId"] for e in events if e.name == "RecordRegistered")
    anchored = {e.args["root"]: e for e in events if e.name == "BatchAnchored"}
    assert Counter(e.args["root"] for e in events if e.name == "BatchAnchored") == Counter(set(anchored))
    assert set(registered.values()) <= {1}, registered
    assert (len(registered), len(anchored)) == (direct, batches)
    # every transaction the publisher ever sent is one of those events: nothing sent twice, nothing reverted
    assert ledger.pending_nonce(home.addresses["pub"]) == direct + batches

    store = home.store()
    try:
        stored = store.records()
        assert len(stored) == records
        assert Counter(r.state for r in stored) == Counter({"anchored": records})
        assert store.journal.open_entries(ledger.chain_id) == []
        in_batches = Counter()
        for record in stored:
            statement = record.statement
            anchor = statement.anchor
            assert anchor is not None, record.record_id
            if anchor.type == "direct":
                assert registered[statement.record_id] == 1
                assert ledger.record_state(statement.record_id).publisher == statement.publisher
            else:
                event = anchored[anchor.batch_root]
                assert (event.tx_hash, event.block_number) == (anchor.tx_hash, anchor.block_number)
                assert ledger.verify_inclusion(anchor.batch_root, merkle.record_leaf(statement.record_id), anchor.proof)
                in_batches[anchor.batch_root] += 1
            assert Statement.from_file(record.statement_path) == statement
        for root, count in in_batches.items():
            assert anchored[root].args["count"] == count
            assert batch_document_path(store, root).exists()
        assert {b.state for b in store.batches()} <= {"anchored"}
    finally:
        store.close()


# ---------------------------------------------------------------- the command kills itself at a named point


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_direct_register_killed_then_resumed_registers_once(tmp_path, home, ledger, point):
    artifact = make_artifact(tmp_path, "data")
    killed = home.run("register", str(artifact), "--claims", str(EXAMPLES / "dataset.yaml"),
                      env={"PROVENANCE_CRASH_AT": point})
    assert killed.returncode == KILLED, killed.stderr
    records, txs = db_rows(home.path)
    assert [state for _, state in records] == ["sending"]
    assert [status for _, status in txs] == (["mined"] if point == "after-mined" else ["signed"])
    assert Statement.from_file(artifact / "provenance.json").anchor is None
    assert len(ledger.events(0)) == (0 if point == "after-journal" else 1)

    resumed = home.run("anchor")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed: registered 0x" in resumed.stderr
    assert "nothing queued" in resumed.stdout
    assert_all_anchored(home, records=1, batches=0, direct=1)
    assert Statement.from_file(artifact / "provenance.json").anchor.type == "direct"


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_anchor_killed_then_resumed_anchors_the_same_batch_once(tmp_path, home, ledger, point):
    first = queue_files(home, tmp_path / "files", 3, "first")
    killed = home.run("anchor", env={"PROVENANCE_CRASH_AT": point})
    assert killed.returncode == KILLED, killed.stderr
    records, txs = db_rows(home.path)
    assert Counter(state for _, state in records) == Counter({"batching": 3})
    assert len(txs) == 1
    # a record queued while the batch is in flight is neither lost nor slipped into that batch
    later = queue_files(home, tmp_path / "files", 1, "later")

    resumed = home.run("anchor", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed: anchored batch 0x" in resumed.stderr and "(3 records)" in resumed.stderr
    assert '"anchored": 1' in resumed.stdout  # the later record, in a batch of its own
    assert_all_anchored(home, records=4, batches=2)
    roots = {Statement.from_file(statement_path_for(p)).anchor.batch_root for p in first}
    assert len(roots) == 1
    assert Statement.from_file(statement_path_for(later[0])).anchor.batch_root not in roots


# ---------------------------------------------------------------- a real kill -9 from outside


def _tx_statuses(home: Path) -> list[str]:
    path = home / STORE_FILE
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return [row[0] for row in db.execute("SELECT status FROM txs ORDER BY created_at")]
        finally:
            db.close()
    except sqlite3.Error:  # being created or locked for a moment: try again on the next poll
        return []


def _popen_cli(home: Home, *args: str, output=subprocess.DEVNULL) -> subprocess.Popen:
    """The `provenance` command started in the background, as conftest.run_cli runs it."""
    script = Path(sys.executable).parent / "provenance"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    return subprocess.Popen(
        [*command, *args], env={**os.environ, **home.env}, cwd=ROOT, text=True, stdout=output, stderr=output,
    )


def test_anchor_killed_from_outside_at_random_moments_loses_and_repeats_nothing(tmp_path, home):
    """Three rounds: queue records, start `provenance anchor`, kill -9 it; then one anchor resumes all."""
    rng = random.Random()
    per_round = 40
    # when to kill: as the transaction is journaled, as it is mined (statements being written), at random
    # within the command's usual run time (start-up included); the seed is in the failure message
    seed = rng.randrange(2**32)
    moments = ["journaled", "mined", random.Random(seed).uniform(0.8, 3.5)]
    outcomes = []
    for number, moment in enumerate(moments):
        queue_files(home, tmp_path / "files", per_round, f"round{number}")
        before = len(_tx_statuses(home.path))
        process = _popen_cli(home, "anchor")
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            statuses = _tx_statuses(home.path)[before:]
            if isinstance(moment, float):
                time.sleep(moment)
                break
            if moment == "journaled" and statuses:
                break
            if moment == "mined" and "mined" in statuses:
                break
            time.sleep(0.002)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        outcomes.append((moment, process.wait(timeout=30)))
    print(f"kill moments and exit codes (seed {seed}): {outcomes}")
    assert any(code == KILLED for _, code in outcomes), outcomes

    resumed = home.run("anchor")
    assert resumed.returncode == 0, (outcomes, resumed.stderr)
    store = home.store()
    try:
        batches = len(store.batches())
    finally:
        store.close()
    assert_all_anchored(home, records=per_round * len(moments), batches=batches)
    assert batches >= 1
    assert home.run("anchor").stdout.startswith("nothing queued")


# ---------------------------------------------------------------- the node goes away


class Node:
    """A private anvil that keeps its state in a file, so it can stop and come back with the same chain."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = state
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = start_anvil(self.port, "--state", str(self.state))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # anvil writes its state file on SIGTERM
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def node(tmp_path):
    node = Node(tmp_path / "anvil-state.json")
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def node_home(tmp_path, node) -> Home:
    ledger = Ledger.connect(node.url)
    ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
    return make_home(tmp_path / "home", node.url, ledger.registry)


def test_node_down_exits_2_naming_the_url_and_what_was_kept_then_anchors_everything(tmp_path, node, node_home):
    queue_files(node_home, tmp_path / "files", 3, "queued")
    node.stop()

    down = node_home.run("anchor")
    assert down.returncode == 2, down.stderr
    assert node.url in down.stderr and "does not answer" in down.stderr
    assert "3 queued records" in down.stderr and "nothing is lost" in down.stderr
    # a registration while the node is down is refused before anything is written
    artifact = make_artifact(tmp_path, "late")
    refused = node_home.run("register", str(artifact), "--claims", str(EXAMPLES / "dataset.yaml"), "--batch")
    assert refused.returncode == 2 and node.url in refused.stderr and "3 queued records" in refused.stderr
    revoke = node_home.run("revoke", "0x" + "ee" * 32, "--reason", "test")
    assert revoke.returncode == 2 and node.url in revoke.stderr and "3 queued records" in revoke.stderr
    assert Counter(state for _, state in db_rows(node_home.path)[0]) == Counter({"queued": 3})
    assert db_rows(node_home.path)[1] == []

    node.start()
    up = node_home.run("anchor", "--json")
    assert up.returncode == 0, up.stderr
    assert '"anchored": 3' in up.stdout
    assert_all_anchored(node_home, records=3, batches=1)


@pytest.mark.parametrize(("command", "point"), [("anchor", "after-journal"), ("register", "after-broadcast")])
def test_node_stops_after_the_transaction_was_journaled_then_resume_sends_it_once(tmp_path, node, node_home,
                                                                                   command, point):
    if command == "anchor":
        queue_files(node_home, tmp_path / "files", 2, "queued")
        args = ["anchor"]
        kept, direct, batches = "2 batching records", 0, 1
    else:
        args = ["register", str(make_artifact(tmp_path, "data")), "--claims", str(EXAMPLES / "dataset.yaml")]
        kept, direct, batches = "1 sending record", 1, 0
    killed = node_home.run(*args, env={"PROVENANCE_CRASH_AT": point})
    assert killed.returncode == KILLED, killed.stderr
    node.stop()

    down = node_home.run("anchor")
    assert down.returncode == 2, down.stderr
    assert node.url in down.stderr
    assert kept in down.stderr and "1 journaled transaction not yet confirmed" in down.stderr
    assert [status for _, status in db_rows(node_home.path)[1]] == ["signed"]

    node.start()
    resumed = node_home.run("anchor")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed:" in resumed.stderr
    assert_all_anchored(node_home, records=2 if command == "anchor" else 1, batches=batches, direct=direct)


# ---------------------------------------------------------------- two commands of one publisher at once


def test_commands_of_one_publisher_running_at_once_take_turns_for_nonces_and_batches(tmp_path, home):
    """Nonce, signature and journal row are taken in one store transaction: no clash, no batch built twice."""
    queue_files(home, tmp_path / "files", 5, "queued")
    claims = str(EXAMPLES / "dataset.yaml")
    commands = [
        ("anchor",), ("anchor",),
        ("register", str(make_artifact(tmp_path, "direct-a")), "--claims", claims),
        ("register", str(make_artifact(tmp_path, "direct-b")), "--claims", claims),
    ]
    processes = [_popen_cli(home, *args, output=subprocess.PIPE) for args in commands]
    results = [(p.communicate(timeout=120), p.returncode) for p in processes]
    assert [code for _, code in results] == [0, 0, 0, 0], results
    outputs = [out for (out, _), _ in results[:2]]
    assert sorted("nothing queued" in out for out in outputs) == [False, True], outputs
    assert_all_anchored(home, records=7, batches=1, direct=2)


# ---------------------------------------------------------------- the fee-bump path: killed around a replacement

REPLACEMENT_POINTS = ("after-broadcast", "after-replacement-journal", "after-replacement", "after-mined")


@pytest.fixture
def stalled(tmp_path):
    """An anvil that mines only when told (evm_setAutomine false): a transaction waits in its pool, and the
    command replaces it after PROVENANCE_REPLACE_AFTER seconds."""
    from tests.helpers import fresh_registry

    port = free_port()
    process = start_anvil(port)
    try:
        ledger = fresh_registry(f"http://127.0.0.1:{port}")
        ledger.rpc("evm_setAutomine", [False])
        yield ledger
    finally:
        process.terminate()
        process.wait(timeout=20)


def _replacements(home: Path) -> int:
    db = sqlite3.connect(home / STORE_FILE)
    try:
        return db.execute("SELECT COUNT(*) FROM tx_replacements").fetchone()[0]
    except sqlite3.OperationalError:  # the command has created the file but not its tables yet
        return 0
    finally:
        db.close()


def _mine_once_replaced(ledger: Ledger, home: Path) -> None:
    """Mine a block as soon as the command has sent a replacement (for the after-mined kill)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (home / STORE_FILE).exists() and _replacements(home) >= 1:
            time.sleep(0.3)  # the replacement reaches the node just after it is journaled
            ledger.rpc("evm_mine")
            return
        time.sleep(0.05)


@pytest.mark.parametrize("command", ["register", "anchor"])
@pytest.mark.parametrize("point", REPLACEMENT_POINTS)
def test_fee_bump_killed_then_resumed_gives_one_record_and_one_batch(tmp_path, stalled, command, point):
    import threading

    home = make_home(tmp_path / "home", stalled.rpc_url, stalled.registry)
    artifact = make_artifact(tmp_path, "data")
    register = ("register", str(artifact), "--claims", str(EXAMPLES / "dataset.yaml"))
    if command == "anchor":
        queued = home.run(*register, "--batch")
        assert queued.returncode == 0, queued.stderr
    miner = threading.Thread(target=_mine_once_replaced, args=(stalled, home.path), daemon=True)
    if point == "after-mined":
        miner.start()
    args = register if command == "register" else ("anchor",)
    killed = home.run(*args, env={"PROVENANCE_REPLACE_AFTER": "1", "PROVENANCE_CRASH_AT": point})
    assert killed.returncode == KILLED, killed.stderr
    assert _replacements(home.path) == (0 if point == "after-broadcast" else 1)
    if point == "after-mined":
        miner.join(timeout=10)
    _, txs = db_rows(home.path)
    assert len(txs) == 1  # one journaled transaction; its replacement is a version of it, not another

    stalled.rpc("evm_mine")  # whichever version the node holds is mined now
    resumed = home.run("anchor")
    assert resumed.returncode == 0, resumed.stderr
    assert_all_anchored(home, records=1, batches=int(command == "anchor"), direct=int(command == "register"))
    events = stalled.events(0)
    assert len(events) == 1
    anchor = Statement.from_file(artifact / "provenance.json").anchor
    assert (anchor.tx_hash, anchor.block_number) == (events[0].tx_hash, events[0].block_number)

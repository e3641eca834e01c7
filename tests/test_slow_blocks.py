"""Slow blocks (issue 15, item 5): chain commands wait with a progress line and --timeout, or return after the
broadcast with --no-wait; the journal finishes what they left, once; verify --network honours the network's
confirmations; an index starts at the registry's deployment block.

Each chain test runs its own anvil: they switch its mining off (evm_setAutomine false), which would stall the
shared node under other tests.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance.errors import RpcError
from provenance.ledger import Ledger
from tests.helpers import ROOT, free_port, fresh_registry, start_anvil
from tests.publisher_home import EXAMPLES, Home, db_rows, make_artifact, make_home

CLAIMS = str(EXAMPLES / "dataset.yaml")


@pytest.fixture
def node():
    port = free_port()
    process = start_anvil(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def home(tmp_path, node) -> Home:
    ledger = fresh_registry(node)
    return make_home(tmp_path / "home", node, ledger.registry)


def _mining(url: str, on: bool) -> None:
    Ledger.connect(url).rpc("evm_setAutomine", [on])


def _journal(home: Home) -> list[dict]:
    listed = home.run("journal", "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def _sent_from(home: Home) -> int:
    """Transactions of the publisher mined on chain."""
    return int(home.ledger().rpc("eth_getTransactionCount", [home.addresses["pub"], "latest"]), 16)


@pytest.mark.chain
def test_timeout_on_a_chain_that_does_not_mine_keeps_the_transaction_and_journal_retry_finishes_it_once(
    tmp_path, home, node
):
    artifact = make_artifact(tmp_path, "data")
    _mining(node, False)
    started = time.monotonic()
    waited = home.run("register", str(artifact), "--claims", CLAIMS, "--timeout", "2")
    assert waited.returncode == 3, (waited.stdout, waited.stderr)
    assert time.monotonic() - started < 60
    (row,) = _journal(home)
    tx = row["txHash"]
    assert row["status"] == "sent" and row["purpose"] == "register"
    assert f"register transaction {tx}" in waited.stderr and "was sent but not mined after 2 s" in waited.stderr
    assert "nothing is lost, nothing will be sent twice" in waited.stderr
    assert f"provenance journal retry {tx}" in waited.stderr
    records, _ = db_rows(home.path)
    assert [state for _, state in records] == ["sending"]

    refused = home.run("register", str(artifact), "--claims", CLAIMS, "--timeout", "0")
    assert refused.returncode == 2 and "--timeout must be a number of seconds above 0" in refused.stderr

    _mining(node, True)
    home.ledger().rpc("evm_mine")  # automine on again mines what comes next; this mines what waits
    retried = home.run("journal", "retry", tx)
    assert retried.returncode == 0, retried.stderr
    assert f"{tx}: mined in block" in retried.stdout and "resumed: registered 0x" in retried.stdout
    records, txs = db_rows(home.path)
    assert [state for _, state in records] == ["anchored"] and [status for _, status in txs] == ["mined"]
    assert _sent_from(home) == 1  # one transaction, never two
    assert tx in (artifact / "provenance.json").read_text()  # the Statement beside it has its anchor now


@pytest.mark.chain
def test_no_wait_returns_after_the_broadcast_and_a_later_command_finishes_it_once(tmp_path, home, node):
    first, second = make_artifact(tmp_path, "first"), make_artifact(tmp_path, "second")
    _mining(node, False)
    sent = home.run("register", str(first), "--claims", CLAIMS, "--no-wait", "--json")
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["state"] == "sending" and answer["blockNumber"] is None
    assert answer["finish"] == f"provenance journal retry {answer['txHash']}"
    text = home.run("register", str(second), "--claims", CLAIMS, "--no-wait")
    assert text.returncode == 0, text.stderr
    assert "sent:      tx 0x" in text.stdout and "not yet mined" in text.stdout
    assert "provenance journal retry 0x" in text.stdout
    # the first is left to the journal, not waited for, by the second's resume
    assert f"resumed: {answer['txHash']} is sent, not mined yet" in text.stderr
    rows = _journal(home)
    assert [row["status"] for row in rows] == ["sent", "sent"] and [row["nonce"] for row in rows] == [0, 1]
    listed = home.run("journal", "list")
    assert answer["txHash"] in listed.stdout and "sent" in listed.stdout
    records, _ = db_rows(home.path)
    assert sorted(state for _, state in records) == ["sending", "sending"]

    home.ledger().rpc("evm_mine")  # both are mined in one block
    _mining(node, True)
    later = home.run("anchor")  # any chain command finishes them first
    assert later.returncode == 0, later.stderr
    assert later.stderr.count("resumed: registered 0x") == 2
    records, txs = db_rows(home.path)
    assert [state for _, state in records] == ["anchored", "anchored"]
    assert [status for _, status in txs] == ["mined", "mined"]
    assert _sent_from(home) == 2
    again = home.run("anchor")
    assert again.returncode == 0 and "resumed" not in again.stderr  # finished once


def _on_a_terminal(args: list[str], env: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; its exit code and everything it wrote."""
    script = Path(sys.executable).parent / "provenance"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    main, child = pty.openpty()
    process = subprocess.Popen([*command, *args], stdin=subprocess.DEVNULL, stdout=child, stderr=child,
                               env={**os.environ, **env}, cwd=ROOT)
    os.close(child)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(main)
    return process.wait(timeout=10), b"".join(chunks).decode(errors="replace")


@pytest.mark.chain
def test_the_wait_shows_a_progress_line_on_a_terminal_and_none_in_a_pipe(tmp_path, home, node):
    _mining(node, False)
    code, shown = _on_a_terminal(["register", str(make_artifact(tmp_path, "tty")), "--claims", CLAIMS,
                                  "--timeout", "4"], home.env)
    assert code == 3, shown
    assert "\rwaiting for 0x" in shown and "to be mined (2 s)" in shown
    assert "\r\x1b[K" in shown  # the line is cleared before the error is printed
    piped = home.run("register", str(make_artifact(tmp_path, "pipe")), "--claims", CLAIMS, "--timeout", "2")
    assert piped.returncode == 3
    assert "waiting for" not in piped.stderr and "\r" not in piped.stderr


@pytest.mark.chain
def test_verify_with_a_network_is_unconfirmed_until_its_confirmations(tmp_path, home, node):
    (home.path / "networks.yaml").write_text("devnet:\n  chainId: 31337\n  confirmations: 3\n")
    artifact = make_artifact(tmp_path, "data")
    registered = home.run("register", str(artifact), "--claims", CLAIMS, "--json")
    assert registered.returncode == 0, registered.stderr
    named = {"PROVENANCE_DEVNET_RPC_URL": node}

    def anchoring(*args: str, env: dict | None = None) -> str:
        done = home.run("verify", str(artifact), "--json", *args, env=env)
        assert done.returncode == 0, (done.stdout, done.stderr)  # UNCONFIRMED warns under the default policy
        (check,) = [c for c in json.loads(done.stdout)["checks"] if c["check"] == "anchoring"]
        return check["code"]

    assert anchoring() == "OK"  # without --network: as before
    assert anchoring(env={"PROVENANCE_NETWORK": "devnet", **named}) == "UNCONFIRMED"
    explicit = tmp_path / "policy.yaml"
    explicit.write_text("confirmations: 1\n")
    assert anchoring("--policy", str(explicit), env={"PROVENANCE_NETWORK": "devnet", **named}) == "OK"
    home.ledger().rpc("anvil_mine", [hex(3)])
    assert anchoring(env={"PROVENANCE_NETWORK": "devnet", **named}) == "OK"


@pytest.mark.chain
def test_the_deployment_block_is_found_by_binary_search_and_an_index_starts_there(tmp_path, node):
    from provenance.deployment import find_deploy_block
    from provenance.index import Index
    from provenance.indexer import Indexer

    ledger = Ledger.connect(node)
    ledger.rpc("anvil_mine", [hex(300)])
    deployed = fresh_registry(node)
    created = deployed.deploy_block
    assert created is not None and created > 300
    ledger.rpc("anvil_mine", [hex(200)])

    stranger = Ledger.connect(node, deployed.registry)  # a fresh home: nothing recorded the block
    assert stranger.deploy_block is None
    calls: list[tuple[str, list]] = []
    ask = stranger.rpc

    def counted(method, params=()):
        calls.append((method, list(params)))
        return ask(method, params)

    stranger.rpc = counted
    assert find_deploy_block(stranger, deployed.registry) == created
    head = stranger.block_number()
    assert len([c for c in calls if c[0] == "eth_getCode"]) <= head.bit_length() + 2

    calls.clear()
    index = Index.open(tmp_path / "index.db")
    try:
        result = Indexer(index, stranger).sync()
    finally:
        index.close()
    assert result.from_block == created
    logs = [params[0] for method, params in calls if method == "eth_getLogs"]
    assert logs and int(logs[0]["fromBlock"], 16) == created

    # a node that keeps no state of old blocks: 0, no error (the logs from 0 find the same events)
    def pruned(method, params=()):
        if method == "eth_getCode" and params[1] != hex(head) and params[1] != "latest":
            raise RpcError("missing trie node", url=node, code=-32000)
        return ask(method, params)

    stranger.rpc = pruned
    assert find_deploy_block(stranger, deployed.registry) == 0


@pytest.mark.chain
def test_chain_deploy_records_the_block_and_serve_starts_there(tmp_path, node, monkeypatch):
    from cli.commands import serve
    from cli.main import build_parser
    from provenance.deployment import registry_address
    from provenance.keys import Keystore
    from tests.publisher_home import PASSWORD

    ledger = Ledger.connect(node)
    ledger.rpc("anvil_mine", [hex(40)])
    home = tmp_path / "home"
    address = Keystore(home).create("pub", PASSWORD, scrypt_n=2**10).address
    ledger.rpc("anvil_setBalance", [address, hex(10**20)])
    env = {"PROVENANCE_HOME": str(home), "PROVENANCE_KEY_PASSWORD": PASSWORD}
    from tests.helpers import run_cli

    first = run_cli("--rpc-url", node, "chain", "deploy", "--json", env=env)
    assert first.returncode == 0, first.stderr
    block = json.loads(first.stdout)["blockNumber"]
    assert block > 40 and json.loads(first.stdout)["deployBlock"] == block
    ledger.rpc("anvil_mine", [hex(40)])

    # another home finds it there already: the block is found on the chain and recorded all the same
    other = tmp_path / "other"
    Keystore(other).create("pub", PASSWORD, scrypt_n=2**10)
    again = run_cli("--rpc-url", node, "chain", "deploy", "--json", env={**env, "PROVENANCE_HOME": str(other)})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sent"] is False and json.loads(again.stdout)["deployBlock"] == block
    assert json.loads((other / "networks.json").read_text())["31337"]["deployBlock"] == block

    args = build_parser().parse_args(["--home", str(other), "--rpc-url", node, "serve"])
    assert serve.resolve(args).start_block == block
    told = build_parser().parse_args(["--home", str(other), "--rpc-url", node, "serve", "--start-block", "7"])
    assert serve.resolve(told).start_block == 7
    # a stranger's home without a record: the service finds it before the first sync
    bare = build_parser().parse_args(["--home", str(tmp_path / "bare"), "--rpc-url", node, "serve"])
    assert serve.resolve(bare).start_block is None
    assert registry_address()  # the deterministic registry is what every home found


def test_polls_start_fast_and_grow_to_a_quarter_of_the_block_interval():
    from itertools import islice

    from provenance.ledger import MAX_POLL

    def delays(interval: float, n: int = 40) -> list[float]:
        ledger = Ledger(None, "http://127.0.0.1:1", 1, None)  # no node is asked: the interval is given
        ledger._block_interval = interval
        return list(islice(ledger.poll_delays(), n))

    sepolia = delays(12.0)
    assert sepolia[0] == 0.05 and sepolia == sorted(sepolia) and sepolia[-1] == MAX_POLL == 2.0
    assert sum(sepolia[:6]) < 1.1  # a local node that mines at once is asked often at first
    assert delays(2.0)[-1] == 0.5  # a quarter of Base Sepolia's 2-second blocks
    assert delays(0.0)[-1] == 0.05  # anvil's instant blocks: as fast as before
    # 60 s on a chain of 12-second blocks: tens of looks at the node, not the 1,200 of a fixed 50 ms
    waited, looks = 0.0, 0
    for pause in delays(12.0, 1000):
        if waited >= 60:
            break
        waited, looks = waited + pause, looks + 1
    assert looks < 50

"""Shared fixtures: a real anvil node from node_modules and fresh registries on it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_anvil(port: int, *extra: str) -> subprocess.Popen:
    """Start anvil on 127.0.0.1:port and wait until it answers."""
    from provenance.localchain import spawn_anvil

    return spawn_anvil(port, "--silent", *extra)


@pytest.fixture(scope="session")
def anvil_url():
    """One anvil node for the whole session; tests deploy their own registry on it."""
    port = free_port()
    process = start_anvil(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def fresh_registry(url: str):
    """A Ledger on the node at ``url`` pointing at a registry deployed just now (by anvil's unlocked account)."""
    from provenance.ledger import Ledger
    from provenance.record import parse_address

    ledger = Ledger.connect(url)
    ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
    return ledger


def account_factory(node):
    """A function making fresh accounts funded on ``node`` (keys generated here, never written anywhere)."""
    from eth_account import Account

    def make():
        account = Account.create()
        node.rpc("anvil_setBalance", [account.address, hex(10**21)])
        return account

    return make


@pytest.fixture
def ledger(anvil_url):
    """A Ledger pointing at a registry deployed for this test alone."""
    return fresh_registry(anvil_url)


@pytest.fixture
def make_account(anvil_url):
    """Factory of fresh funded accounts."""
    from provenance.ledger import Ledger

    return account_factory(Ledger.connect(anvil_url))


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed `provenance` command as a user would."""
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    script = Path(sys.executable).parent / "provenance"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )

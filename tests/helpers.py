"""Helpers shared by several test modules: ports, anvil, fresh registries, funded accounts, the CLI.

Fixtures live in ``conftest.py``; plain functions and constants live here, so
that test modules import them by name (``from tests.helpers import run_cli``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provenance.statement import Statement

__all__ = ["ROOT", "free_port", "start_anvil", "fresh_registry", "account_factory", "run_cli"]

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_anvil(port: int, *extra: str) -> subprocess.Popen:
    """Start anvil on 127.0.0.1:port and wait until it answers."""
    # lazy: conftest imports this module in every run; web3 (through localchain) only for chain tests
    from provenance.localchain import spawn_anvil

    return spawn_anvil(port, "--silent", *extra)


def fresh_registry(url: str):
    """A Ledger on the node at ``url`` pointing at a registry deployed just now (by anvil's unlocked account)."""
    # lazy: web3 only for chain tests
    from provenance.ledger import Ledger
    from provenance.record import parse_address

    ledger = Ledger.connect(url)
    ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
    return ledger


def account_factory(node):
    """A function making fresh accounts funded on ``node`` (keys generated here, never written anywhere)."""
    # lazy: eth-account only for chain tests
    from eth_account import Account

    def make():
        account = Account.create()
        node.rpc("anvil_setBalance", [account.address, hex(10**21)])
        return account

    return make


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed `provenance` command as a user would."""
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


def sample_statement() -> Statement:
    """A signed-looking dataset Statement (fixed bytes, not a real signature) for tests that need one."""
    from provenance.record import Kind, Record  # lazy: conftest imports this module in every run
    from provenance.statement import Statement

    record = Record.create(b"\x01" * 32, Kind.DATASET, b"\x02" * 32, [b"\x03" * 32], "ipfs://x")
    return Statement.create(
        name="sample-dataset", record=record, publisher="0x" + "11" * 20, signature=b"\x05" * 65,
        chain_id=31337, registry="0x" + "22" * 20,
        manifest={"version": 1, "files": []},
        disclosures=[{"field": "copyright.license", "value": "CC-BY-4.0"}],
    )


def deep_tree(root, levels: int) -> None:
    """``root/d/d/.../d/f.txt``, made level by level (os.makedirs recurses, and so would a long path)."""
    os.mkdir(root)
    here = os.getcwd()
    try:
        os.chdir(root)
        for _ in range(levels):
            os.mkdir("d")
            os.chdir("d")
        with open("f.txt", "w") as handle:
            handle.write("deep")
    finally:
        os.chdir(here)


def remove_deep_tree(root) -> None:
    """Remove a ``deep_tree`` tree: shutil.rmtree (and so pytest's clean-up of tmp_path) recurses per level."""
    here = os.getcwd()
    try:
        os.chdir(root)
        depth = 0
        while True:
            if os.path.exists("f.txt"):
                os.unlink("f.txt")
            if os.path.isdir("d"):
                os.chdir("d")
                depth += 1
                continue
            if depth == 0:
                break
            os.chdir("..")
            os.rmdir("d")
            depth -= 1
    finally:
        os.chdir(here)
    os.rmdir(root)

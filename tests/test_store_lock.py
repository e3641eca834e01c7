"""The store's write lock is not held across calls to the node (issue 15, item 3).

Signing a transaction asks the node for the nonce, the gas and the fees; behind a slow node, holding the store's
write transaction across those calls kept every other command out (SQLite's "database is locked" once it waited
longer than its busy timeout). Two `register` commands of one publisher run at once behind a proxy that adds
latency to every answer, while the test keeps taking the write lock with a short timeout.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance.store import STORE_FILE
from tests.helpers import ROOT
from tests.publisher_home import EXAMPLES, Home, make_artifact, make_home
from tests.rpc_proxy import Faults, RpcProxy

pytestmark = pytest.mark.chain

LATENCY = 0.3  # seconds added to every answer: signing makes several calls


def _popen(home: Home, *args: str) -> subprocess.Popen:
    script = Path(sys.executable).parent / "provenance"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    return subprocess.Popen([*command, *args], env={**os.environ, **home.env}, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lock_waits(path: Path, processes: list[subprocess.Popen]) -> list[float]:
    """How long each BEGIN IMMEDIATE waited while the commands ran (a write lock held by them delays it)."""
    waits = []
    while any(p.poll() is None for p in processes):
        if path.exists():
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
            try:
                start = time.monotonic()
                db.execute("BEGIN IMMEDIATE")
                waits.append(time.monotonic() - start)
                db.execute("ROLLBACK")
            finally:
                db.close()
        time.sleep(0.02)
    return waits


def test_two_registers_behind_a_slow_node_neither_hold_the_lock_across_its_calls(tmp_path, ledger):
    with RpcProxy(ledger.rpc_url, Faults()) as proxy:
        home = make_home(tmp_path / "home", proxy.url, ledger.registry)
        claims = str(EXAMPLES / "dataset.yaml")
        first, second, third = (make_artifact(tmp_path, name) for name in ("first", "second", "third"))
        prepared = home.run("register", str(third), "--claims", claims, "--batch")  # the store exists
        assert prepared.returncode == 0, prepared.stderr
        proxy.set(latency=LATENCY)
        processes = [_popen(home, "register", str(first), "--claims", claims, "--json"),
                     _popen(home, "register", str(second), "--claims", claims, "--json")]
        waits = _lock_waits(home.path / STORE_FILE, processes)
        outcomes = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outcomes
    assert not any("database is locked" in err for _, err in outcomes)
    assert waits and max(waits) < LATENCY, sorted(waits)[-5:]  # never waited as long as one call to the node
    assert ledger.pending_nonce(home.addresses["pub"]) == 2  # one nonce each, none signed twice

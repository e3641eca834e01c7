"""Publisher homes for the CLI tests: a PROVENANCE_HOME with funded keys, artifacts, and a read of its store.

Shared by test_cli_publish and test_crash. Keys are created through the library with a
small scrypt cost (speed) and funded with ``anvil_setBalance``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from provenance.keys import Keystore
from provenance.ledger import Ledger
from provenance.store import STORE_FILE, Store
from tests.helpers import ROOT, run_cli

EXAMPLES = ROOT / "examples" / "claims"
PASSWORD = "correct horse battery staple"


@dataclass
class Home:
    """A PROVENANCE_HOME with funded keys, pointed at one registry through the environment."""

    path: Path
    url: str
    registry: str
    addresses: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        return {
            "PROVENANCE_HOME": str(self.path),
            "PROVENANCE_RPC_URL": self.url,
            "PROVENANCE_REGISTRY": self.registry,
            "PROVENANCE_KEY_PASSWORD": PASSWORD,
        }

    def run(self, *args: str, env: dict | None = None, timeout: float = 120):
        return run_cli(*args, env={**self.env, **(env or {})}, timeout=timeout)

    def add_key(self, name: str) -> str:
        info = Keystore(self.path).create(name, PASSWORD, scrypt_n=2**10)
        Ledger.connect(self.url).rpc("anvil_setBalance", [info.address, hex(10**20)])
        self.addresses[name] = info.address
        return info.address

    def account(self, name: str = "pub"):
        return Keystore(self.path).unlock(name, PASSWORD)

    def store(self) -> Store:
        return Store.open(self.path)

    def ledger(self) -> Ledger:
        return Ledger.connect(self.url, self.registry)


def make_home(path: Path, url: str, registry: str, *keys: str) -> Home:
    home = Home(path, url, registry, {})
    for name in keys or ("pub",):
        home.add_key(name)
    return home


def make_artifact(parent: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    root = parent / name
    root.mkdir(parents=True)
    for rel, content in (files or {"part-0.bin": name.encode() * 8, "README.md": b"card of " + name.encode()}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


def db_rows(home: Path) -> tuple[list[tuple], list[tuple]]:
    """(records, journal txs) of a store, read without opening it for writing; empty if there is none."""
    path = home / STORE_FILE
    if not path.exists():
        return [], []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        records = db.execute("SELECT record_id, state FROM records").fetchall() if "records" in tables else []
        txs = db.execute("SELECT tx_hash, status FROM txs").fetchall() if "txs" in tables else []
        return records, txs
    finally:
        db.close()

"""`provenance serve`: what its worker processes inherit (no chain, uvicorn replaced)."""

from __future__ import annotations

import os
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from cli.commands import serve


@dataclass
class _Settings:
    rpc_url: str = "http://127.0.0.1:1"
    registry: str = "0x" + "ab" * 20
    index_path: Path = Path("/nonexistent/index.sqlite")

    def to_json(self) -> str:
        return "{}"


def test_workers_inherit_no_key_password(monkeypatch):
    seen: dict[str, str] = {}
    monkeypatch.setenv("PROVENANCE_KEY_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("PROVENANCE_SERVICE_SETTINGS", "")  # run() sets it: restored after the test
    monkeypatch.setattr(serve, "resolve", lambda args: _Settings())
    # uvicorn starts its workers from inside run(): they get the environment as it is then
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(os.environ))
    args = Namespace(host="127.0.0.1", port=8000, workers=2, log_level="info")
    assert serve.run(args) == 0
    assert seen and "PROVENANCE_KEY_PASSWORD" not in seen
    assert "PROVENANCE_SERVICE_SETTINGS" in seen

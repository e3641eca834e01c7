"""The verifier service as users run it: `provenance serve` (uvicorn, 2 workers) over `provenance chain up`.

End to end over HTTP on 127.0.0.1, then the fault: the node stops while the
service runs (index-backed answers stay 200 and say the chain is unreachable;
chain-dependent ones are 503 with Retry-After), then starts again on the same
port with the same state, and the service recovers without a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from provenance.ledger import Ledger
from provenance.localchain import load_networks
from tests.api_helpers import PROBLEM, populate
from tests.helpers import ROOT, account_factory, free_port, run_cli

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.TransportError as err:
            last = err
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    env = {"PROVENANCE_HOME": str(home)}
    up = run_cli("chain", "up", "--port", str(free_port()), env=env)
    assert up.returncode == 0, up.stderr
    yield home, env
    run_cli("chain", "down", env=env)


@pytest.fixture
def server(home):
    home_dir, env = home
    port = free_port()
    script = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "provenance"
    if not script.exists():
        script = ROOT / ".venv" / "bin" / "provenance"
    with open(home_dir / "serve.log", "wb") as log:  # the child holds its own copy of the descriptor
        process = subprocess.Popen(
            [str(script), "serve", "--port", str(port), "--workers", "2", "--poll-interval", "0.2"],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_for(lambda: client.get("/healthz").status_code == 200, what="the service to start")
            yield client, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if process.returncode not in (0, -signal.SIGTERM):
            print((home_dir / "serve.log").read_text(errors="replace")[-4000:])


def _ledger(home_dir: Path) -> Ledger:
    (entry,) = load_networks(home_dir).values()
    return Ledger.connect(entry["rpcUrl"], entry["registry"])


def test_end_to_end_and_node_restart(home, server):
    home_dir, env = home
    client, process = server
    ledger = _ledger(home_dir)
    make = account_factory(ledger)
    s = populate(ledger, make)
    from provenance.index import Index

    with Index.open(home_dir / "index.sqlite") as index:  # as POST /v1/statements will: into the shared index
        for statement in s.statements:
            index.add_statement(statement)

    head = ledger.block_number()
    ready = wait_for(
        lambda: (r := client.get("/readyz")).status_code == 200 and r.json()["syncedTo"] >= head and r.json(),
        what="the index to catch up",
    )
    assert ready["lag"] == 0 and ready["chainId"] == ledger.chain_id

    artifact = client.get(f"/v1/artifacts/{_hex(s.base)}")
    assert artifact.status_code == 200 and len(artifact.json()["records"]) == 2
    assert client.get(f"/v1/files/{s.shared_sha}").json()["artifacts"]
    assert [i["event"] for i in client.get(f"/v1/history/{_hex(s.tuned_id)}").json()["items"]] == [
        "RecordEndorsed", "RecordRegistered"
    ]
    lineage = client.get(f"/v1/lineage/{_hex(s.tuned)}").json()
    assert len(lineage["nodes"]) == 4 and len(lineage["edges"]) == 4
    # (the proof read from the chain is asked first while the node is down: once read, a worker remembers
    # it until the index changes, as a mined transaction's calldata changes only with a reorg)
    assert client.get("/v1/events?kind=Nope").headers["content-type"] == PROBLEM
    page = client.get("/v1/events?limit=5").json()
    assert len(page["items"]) == 5 and page["nextCursor"]
    # Both workers answer from the one index; only one of them indexes.
    log_text = (home_dir / "serve.log").read_text(errors="replace")
    assert log_text.count("this process indexes") == 1, log_text[-3000:]

    for _ in range(4):  # a verdict computed and remembered by both workers while the node is up
        assert client.get(f"/v1/verify/{_hex(s.base)}").status_code == 200

    # ---- the node stops while the service runs
    down = run_cli("chain", "down", env=env)
    assert down.returncode == 0, down.stderr
    not_ready = wait_for(lambda: (r := client.get("/readyz")).status_code == 503 and r, what="readyz to fail")
    assert not_ready.headers["content-type"] == PROBLEM and int(not_ready.headers["retry-after"]) > 0
    assert not_ready.json()["type"].endswith("/ledger-unavailable")

    def index_answers_unreachable():
        answers = [client.get(f"/v1/artifacts/{_hex(s.base)}") for _ in range(6)]  # reach both workers
        return all(a.status_code == 200 and a.json()["index"]["chainReachable"] is False for a in answers) and answers

    answers = wait_for(index_answers_unreachable, what="index answers to show the chain unreachable")
    assert all(a.json()["index"]["lag"] is not None for a in answers)
    chain_answer = client.get(f"/v1/proofs/{_hex(s.batched_ids[1])}")
    assert chain_answer.status_code == 503 and chain_answer.headers["retry-after"]
    assert chain_answer.headers["content-type"] == PROBLEM
    assert client.get(f"/v1/proofs/{_hex(s.tuned_id)}").status_code == 200  # direct: from the index
    assert client.get("/healthz").status_code == 200
    for _ in range(4):  # a remembered verdict is not served while the chain cannot be read
        verdict = client.get(f"/v1/verify/{_hex(s.base)}")
        assert verdict.status_code == 503 and verdict.headers["retry-after"], verdict.text

    # ---- the node comes back on the same port with the same state; the service recovers by itself
    up = run_cli("chain", "up", env=env)
    assert up.returncode == 0, up.stderr
    wait_for(lambda: client.get("/readyz").status_code == 200, what="readyz to recover")
    wait_for(lambda: all(client.get(f"/v1/verify/{_hex(s.base)}").status_code == 200 for _ in range(4)),
             what="verify to answer again")
    ledger = _ledger(home_dir)
    from provenance.record import Kind, Record

    late = Record.create(b"\x5a" * 32, Kind.OTHER, b"\x06" * 32, [s.tuned], "ipfs://after-restart")
    publisher = account_factory(ledger)()
    ledger.register(publisher, late)
    found = wait_for(
        lambda: (r := client.get(f"/v1/artifacts/{_hex(late.subject)}")).status_code == 200 and r.json(),
        what="a record registered after the restart to be indexed",
    )
    assert found["records"][0]["recordId"] == _hex(late.record_id(publisher.address))
    assert found["index"]["chainReachable"] is True
    assert client.get(f"/v1/artifacts/{_hex(s.base)}").status_code == 200  # nothing lost across the restart
    assert client.get(f"/v1/proofs/{_hex(s.batched_ids[1])}").json()["proofSource"] == "chain"
    assert process.poll() is None  # the same service process throughout

"""`provenance chain up|down|status` through the real command, a real anvil and a temp home."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.helpers import free_port, run_cli

pytestmark = pytest.mark.chain


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    yield home
    run_cli("chain", "down", env={"PROVENANCE_HOME": str(home)})


def _cli(home, *args):
    return run_cli(*args, env={"PROVENANCE_HOME": str(home)})


def _status(home):
    result = _cli(home, "chain", "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_up_is_idempotent_and_state_survives_down_and_up(home):
    from eth_account import Account

    from provenance.ledger import Ledger
    from provenance.record import Kind, Record

    port = free_port()
    first = _cli(home, "chain", "up", "--port", str(port), "--json")
    assert first.returncode == 0, first.stderr
    status = json.loads(first.stdout)
    assert status["running"] and status["chainId"] == 31337
    assert status["rpcUrl"] == f"http://127.0.0.1:{port}"
    registry = status["registry"]
    assert registry.startswith("0x")

    again = _cli(home, "chain", "up", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["registry"] == registry
    assert json.loads(again.stdout)["pid"] == status["pid"]

    # Register a record, then restart the chain: the registry and the record are still there.
    ledger = Ledger.connect(status["rpcUrl"], registry)
    publisher = Account.create()
    ledger.rpc("anvil_setBalance", [publisher.address, hex(10**20)])
    record = Record.create(b"\x42" * 32, Kind.DATASET, b"\x43" * 32, [], "file://sample")
    ledger.register(publisher, record)

    text = _cli(home, "chain", "status")
    assert f"http://127.0.0.1:{port}" in text.stdout and registry in text.stdout
    assert "chain id:     31337" in text.stdout

    down = _cli(home, "chain", "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not _status(home)["running"]

    up = _cli(home, "chain", "up", "--json")
    assert up.returncode == 0, up.stderr
    restarted = json.loads(up.stdout)
    assert restarted["registry"] == registry and restarted["rpcUrl"] == status["rpcUrl"]
    assert restarted["blockNumber"] >= 2
    state = Ledger.connect(restarted["rpcUrl"], registry).record_state(record.record_id(publisher.address))
    assert state.publisher == publisher.address


def test_up_on_a_port_taken_by_another_program_fails_fast_naming_it(home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = _cli(home, "chain", "up", "--port", str(port))
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 10


def test_status_of_an_rpc_url_that_does_not_answer_exits_2_naming_it(home):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = _cli(home, "--rpc-url", url, "chain", "status")
    assert result.returncode == 2
    assert url in result.stderr and "does not answer" in result.stderr
    assert time.monotonic() - started < 10


def test_registry_without_code_is_a_clear_error(home, anvil_url):
    result = _cli(home, "--rpc-url", anvil_url, "--registry", "0x" + "ab" * 20, "chain", "status")
    assert result.returncode == 2
    assert "no contract at 0x" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_of_a_stopped_chain(home):
    status = _status(home)
    assert status["running"] is False and status["registry"] is None


def _cross_origin_answers(url):
    """The headers anvil answers a web page's preflight and its JSON-RPC POST with."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    answers = []
    for method, headers, body in (
        ("OPTIONS", {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, None),
        ("POST", {"Content-Type": "application/json"}, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'),
    ):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.request(method, "/", body=body, headers={"Origin": "http://evil.example", **headers})
            response = connection.getresponse()
            response.read()
            answers.append({name.lower(): value for name, value in response.getheaders()})
        finally:
            connection.close()
    return answers


def test_local_chain_allows_no_web_page_and_never_sees_the_key_password(home):
    port = free_port()
    env = {"PROVENANCE_HOME": str(home), "PROVENANCE_KEY_PASSWORD": "hunter2-secret"}
    up = run_cli("chain", "up", "--port", str(port), "--json", env=env)
    assert up.returncode == 0, up.stderr
    status = json.loads(up.stdout)
    environ = Path(f"/proc/{status['pid']}/environ").read_bytes().split(b"\0")
    assert f"PROVENANCE_HOME={home}".encode() in environ  # the right process, its environment read
    assert not [v for v in environ if v.startswith(b"PROVENANCE_KEY_PASSWORD=") or b"hunter2-secret" in v]
    for answer in _cross_origin_answers(status["rpcUrl"]):
        assert "access-control-allow-origin" not in answer


def test_every_anvil_the_project_starts_refuses_web_pages(anvil_url):
    # the tests' own node comes from tests.helpers.start_anvil, through provenance.localchain.spawn_anvil
    for answer in _cross_origin_answers(anvil_url):
        assert "access-control-allow-origin" not in answer

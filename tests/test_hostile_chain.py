"""What anyone can put on chain, or in a URL, does not freeze the indexer nor leak a key.

1. A Solidity ``string`` is any bytes: ``endorse(record, digest, hex"ff")`` (anyone may send it)
   is indexed losslessly (shown escaped, exact bytes kept) and a later revocation is still seen;
   a log that does not fit the ABI at all is skipped and counted, never stopping a range; a
   service whose index trails the head refuses verdicts (503) while its index answers.
2. An RPC URL with an API key (path, user info, query) never shows in a message, a problem,
   a log line or a banner: only scheme, host and port do.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from provenance.errors import BadNodeAnswer, LedgerUnavailable, RpcError
from provenance.index import Index
from provenance.indexer import Indexer
from provenance.record import Kind, Record, parse_address
from tests.api_helpers import PROBLEM, catch_up, settings_for
from tests.helpers import ROOT, free_port, run_cli

# ---------------------------------------------------------------- 1. hostile strings and logs


def _endorse_raw(ledger, record_id: bytes, digest: bytes, uri: bytes) -> dict:
    """``endorse(recordId, digest, uri)`` with ``uri`` as raw bytes (not UTF-8), from anvil's unlocked
    account: a transaction any web3 library would refuse to encode as a string."""
    from eth_abi import encode

    from provenance._keccak import keccak256

    selector = keccak256(b"endorse(bytes32,bytes32,string)")[:4]
    # a string is ABI-encoded exactly as bytes are: encode the bytes, call the string function
    data = selector + encode(["bytes32", "bytes32", "bytes"], [record_id, digest, uri])
    sender = parse_address(ledger.rpc("eth_accounts")[0])
    tx = ledger.rpc("eth_sendTransaction", [{"from": sender, "to": ledger.registry, "data": "0x" + data.hex()}])
    deadline = time.monotonic() + 10
    while (receipt := ledger.rpc("eth_getTransactionReceipt", [tx])) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receipt is not None and receipt["status"] == "0x1", receipt
    return receipt


@pytest.fixture
def hostile(ledger, make_account):
    """A record, endorsed by a stranger with uri bytes 0xff (and 'ok' + 0xfe 0xff, text and odd bytes)."""
    publisher = make_account()
    record = Record.create(b"\x5a" * 32, Kind.DATASET, b"\x01" * 32, [], "ipfs://fine")
    ledger.register(publisher, record)
    record_id = record.record_id(publisher.address)
    _endorse_raw(ledger, record_id, b"\x0e" * 32, b"\xff")
    _endorse_raw(ledger, record_id, b"\x0f" * 32, b"ok\xfe\xff")
    return ledger, publisher, record, record_id


@pytest.mark.chain
def test_a_non_utf8_endorsement_is_indexed_losslessly_and_a_later_revocation_is_seen(hostile, tmp_path):
    ledger, publisher, record, record_id = hostile
    with Index.open(tmp_path / "index.sqlite") as index:
        indexer = Indexer(index, ledger)
        first = indexer.sync()
        assert first.to_block == ledger.block_number() and first.anomalies == 0

        endorsements = [e for e in index.history(record_id=record_id) if e.event == "RecordEndorsed"]
        assert [(e.details["uri"], e.details["uri_hex"]) for e in reversed(endorsements)] == [
            ("\\xff", "0xff"), ("ok\\xfe\\xff", "0x6f6bfeff"),
        ]
        (registered,) = index.history(subject=record.subject)[-1:]
        assert registered.details["uri"] == "ipfs://fine" and "uri_hex" not in registered.details  # exact text

        ledger.revoke(publisher, record_id, "bad \xff reason is fine: valid UTF-8")
        indexer.sync()
        known = index.record(record_id)
        assert known is not None and known.revoked and known.endorsements == 2

    from provenance._logs import AbiText, raw_bytes

    events = [e for e in ledger.events(0) if e.name == "RecordEndorsed"]
    assert isinstance(events[0].args["uri"], AbiText) and raw_bytes(events[0].args["uri"]) == b"\xff"


@pytest.fixture
def plain(ledger, make_account):
    """A record with nothing odd about it."""
    publisher = make_account()
    record = Record.create(b"\x5b" * 32, Kind.DATASET, b"\x02" * 32, [], "ipfs://plain")
    ledger.register(publisher, record)
    return ledger, publisher, record, record.record_id(publisher.address)


@pytest.mark.chain
def test_the_service_still_sees_a_revocation_after_a_non_utf8_endorsement(hostile, tmp_path):
    ledger, publisher, record, record_id = hostile
    app = create_app(settings_for(ledger, tmp_path / "service.sqlite"), start_indexer=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        catch_up(app)
        service = app.state.service
        assert service.synced_to() == ledger.block_number() and service.state.error is None
        history = client.get(f"/v1/history/0x{record_id.hex()}").json()["items"]
        assert {i["details"].get("uri_hex") for i in history if i["event"] == "RecordEndorsed"} == {
            "0xff", "0x6f6bfeff"
        }
        before = client.get(f"/v1/verify/0x{record.subject.hex()}")
        assert before.status_code == 200, before.text
        assert "REVOKED" not in {c["code"] for c in before.json()["checks"]}

        ledger.revoke(publisher, record_id, "withdrawn")
        catch_up(app)
        after = client.get(f"/v1/verify/0x{record.subject.hex()}")
        assert after.status_code == 200, after.text
        assert after.json()["overall"] == "fail" and "REVOKED" in {c["code"] for c in after.json()["checks"]}


@pytest.mark.chain
def test_the_cli_verifies_and_lists_history_past_a_non_utf8_endorsement(hostile, tmp_path):
    ledger, _, record, record_id = hostile
    env = {"PROVENANCE_HOME": str(tmp_path / "home"), "PROVENANCE_RPC_URL": ledger.rpc_url,
           "PROVENANCE_REGISTRY": ledger.registry}
    history = run_cli("history", f"0x{record_id.hex()}", "--json", env=env)
    assert history.returncode == 0, history.stderr
    uris = [e["details"].get("uri_hex") for e in json.loads(history.stdout)["events"]]
    assert "0xff" in uris and "0x6f6bfeff" in uris
    table = run_cli("history", f"0x{record_id.hex()}", env=env)
    assert table.returncode == 0 and "RecordEndorsed" in table.stdout, table.stderr
    verify = run_cli("verify", f"0x{record.subject.hex()}", "--json", env=env)
    # a verdict (no Statement is known, so claims cannot pass: exit 2 with the verdict printed), never a crash
    assert json.loads(verify.stdout)["subject"] == "0x" + record.subject.hex(), verify.stderr
    assert "Traceback" not in verify.stderr


def _log(topics, data, log_index=0):
    return {
        "address": "0x" + "11" * 20, "topics": topics, "data": data, "blockNumber": "0x5",
        "blockHash": "0x" + "ab" * 32, "transactionHash": "0x" + "cd" * 32, "logIndex": hex(log_index),
    }


def _revoked_topic() -> str:
    from provenance.ledger import Ledger

    ledger = Ledger(None, "http://127.0.0.1:9", 1, "0x" + "11" * 20)
    return "0x" + next(t for t, spec in ledger._events.items() if spec.name == "RecordRevoked").hex()


def test_a_log_that_does_not_fit_the_abi_is_an_anomaly_when_asked_not_an_abort(caplog):
    from provenance._logs import LogAnomaly
    from provenance.ledger import Ledger

    decoder = Ledger(None, "http://127.0.0.1:9", 1, "0x" + "11" * 20)._decoder
    topic = _revoked_topic()
    word = lambda n: n.to_bytes(32, "big").hex()  # noqa: E731  # a one-line helper
    broken = _log([topic, "0x" + "01" * 32], "0x", log_index=3)  # a topic short
    good = _log([topic, "0x" + "02" * 32, "0x" + "00" * 12 + "22" * 20],
                "0x" + word(1) + word(64) + word(2) + "6f6b" + "00" * 30, log_index=4)
    with pytest.raises(BadNodeAnswer):  # strict by default, as Ledger.events callers expect
        decoder.decode_logs([broken, good])
    found: list[LogAnomaly] = []
    with caplog.at_level(logging.WARNING, logger="provenance.logs"):
        (event,) = decoder.decode_logs([broken, good], anomalies=found)
    assert event.args["reason"] == "ok" and event.log_index == 4
    assert [(a.event, a.log_index, a.tx_hash) for a in found] == [("RecordRevoked", 3, b"\xcd" * 32)]
    assert "0x" + "cd" * 32 in caplog.text and "log index 3" in caplog.text
    with pytest.raises(BadNodeAnswer):  # a log that cannot even be placed is the node's answer refused
        decoder.decode_logs(["0x1234"], anomalies=found)


class _OddNode:
    """Just enough of a Ledger: 10 blocks, one good event per block and one anomaly in block 3."""

    chain_id, registry = 1, "0x" + "11" * 20
    deploy_block = 0  # the registry's deployment block, known: no search

    def block_number(self) -> int:
        return 10

    def block_hash(self, number: int) -> bytes | None:
        return bytes([number]) * 32 if 0 <= number <= 10 else None

    def rpc(self, method: str, params: list) -> dict:
        return {"timestamp": hex(1_700_000_000)}

    def rpc_each(self, method: str, params_list: list) -> list:
        return [self.rpc(method, params) for params in params_list]

    def events(self, start: int, end: int, *, anomalies: list | None = None) -> list:
        from provenance._logs import LogAnomaly
        from provenance.ledger import ChainEvent

        if start <= 3 <= end:
            assert anomalies is not None, "the indexer must ask for anomalies rather than a failed range"
            anomalies.append(LogAnomaly(3, b"\x33" * 32, 1, "RecordRevoked", "RecordRevoked has 2 indexed ..."))
        return [
            ChainEvent("RecordRevoked", {"recordId": bytes([n]) * 32, "publisher": "0x" + "22" * 20, "reason": "r"},
                       n, bytes([n]) * 32, bytes([n]) * 32, 0)
            for n in range(max(start, 1), end + 1)
        ]


def test_the_indexer_counts_an_anomaly_and_moves_on(tmp_path):
    with Index.open(tmp_path / "i.sqlite") as index:
        indexer = Indexer(index, _OddNode(), batch_size=4)
        result = indexer.sync()
        assert (result.to_block, result.events, result.anomalies, indexer.anomalies) == (10, 10, 1, 1)
        assert indexer.sync().anomalies == 0  # nothing read twice


@pytest.mark.chain
def test_a_service_whose_index_trails_the_head_refuses_verdicts_but_answers_from_its_index(plain, tmp_path):
    ledger, _, record, record_id = plain
    path = tmp_path / "replica.sqlite"
    with Index.open(path) as index:  # synced by someone else, once
        Indexer(index, ledger).sync()
    ledger.rpc("anvil_mine", [hex(100)])
    app = create_app(settings_for(ledger, path, retry_after=9), start_indexer=False)  # a replica: no sync
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = client.get(f"/v1/verify/0x{record.subject.hex()}")
        assert refused.status_code == 503 and refused.headers["content-type"] == PROBLEM
        assert refused.headers["retry-after"] == "9"
        problem = refused.json()
        assert problem["type"].endswith("/index-behind") and problem["lag"] >= 100 and problem["maxLag"] == 64
        assert "100" in problem["detail"] or str(problem["lag"]) in problem["detail"]
        statement = client.post("/v1/verify/statement", content=b'{"_type": "x"}')
        assert statement.status_code in (422, 503)  # malformed first, as before: never a verdict

        artifact = client.get(f"/v1/artifacts/0x{record.subject.hex()}")
        assert artifact.status_code == 200 and artifact.json()["index"]["syncedTo"] is not None
        assert client.get(f"/v1/history/0x{record_id.hex()}").status_code == 200

        catch_up(app)  # the index catches up: verdicts again
        assert client.get(f"/v1/verify/0x{record.subject.hex()}").status_code == 200


@pytest.mark.chain
def test_a_lag_within_the_bound_is_served(plain, tmp_path):
    ledger, _, record, _ = plain
    path = tmp_path / "near.sqlite"
    with Index.open(path) as index:
        Indexer(index, ledger).sync()
    ledger.rpc("anvil_mine", [hex(3)])
    app = create_app(settings_for(ledger, path, max_index_lag=5), start_indexer=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(f"/v1/verify/0x{record.subject.hex()}").status_code == 200
    never = create_app(settings_for(ledger, tmp_path / "empty.sqlite"), start_indexer=False)
    with TestClient(never, raise_server_exceptions=False) as client:
        first = client.get(f"/v1/verify/0x{record.subject.hex()}")
        assert first.status_code == 503 and first.json()["type"].endswith("/index-not-ready")


# ---------------------------------------------------------------- 2. no API key in any message

SECRET = "s3cr3tK3y"


def _secret_url(port: int) -> str:
    return f"http://alice:{SECRET}pw@127.0.0.1:{port}/v3/{SECRET}?apikey={SECRET}&x=1#{SECRET}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://mainnet.infura.io/v3/abc123", "https://mainnet.infura.io"),
        ("https://user:key@node.example:8545/path?apikey=k", "https://node.example:8545"),
        ("http://[::1]:8545/KEY", "http://[::1]:8545"),
        ("HTTPS://Node.Example/KEY", "https://node.example"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://host:notaport/KEY", "<RPC URL>"),
        ("not a url KEY", "<RPC URL>"),
    ],
)
def test_redact_url_keeps_scheme_host_and_port_only(url, shown):
    from provenance._rpc import redact_url

    assert redact_url(url) == shown
    assert redact_url(shown) == shown or shown == "<RPC URL>"


def test_node_errors_never_quote_the_key():
    port = free_port()
    url = _secret_url(port)
    from provenance.ledger import Ledger

    with pytest.raises(LedgerUnavailable) as down:
        Ledger.connect(url, timeout=2)
    assert SECRET not in str(down.value) and SECRET not in down.value.url
    assert f"http://127.0.0.1:{port}" in str(down.value)
    built = RpcError(f"eth_call failed on {url}: nope", url=url)
    assert SECRET not in str(built) and SECRET not in built.url
    with pytest.raises(Exception) as bad:
        Ledger.connect(f"ws://127.0.0.1:{port}/{SECRET}")
    assert SECRET not in str(bad.value)


def test_the_cli_never_prints_the_key_while_the_node_is_down(tmp_path):
    url = _secret_url(free_port())
    env = {"PROVENANCE_HOME": str(tmp_path / "home")}
    registry = "0x" + "11" * 20
    subject = "0x" + "ab" * 32
    runs = [
        run_cli("--rpc-url", url, "--registry", registry, "verify", subject, env=env),
        run_cli("--rpc-url", url, "verify", subject, "--json", env=env),
        run_cli("--rpc-url", url, "history", subject, env=env),
        run_cli("--rpc-url", url, "--registry", registry, "history", subject, "--json", env=env),
        run_cli("--rpc-url", url, "chain", "status", env=env),
        run_cli("--rpc-url", url, "chain", "status", "--json", env=env),
        run_cli("verify", subject, env={**env, "PROVENANCE_RPC_URL": url, "PROVENANCE_REGISTRY": registry}),
        run_cli("--rpc-url", url, "-v", "history", subject, env=env),
        run_cli("--rpc-url", f"ws://127.0.0.1:1/{SECRET}", "history", subject, env=env),
    ]
    for done in runs:
        assert done.returncode == 2, (done.args, done.stdout, done.stderr)
        assert SECRET not in done.stdout and SECRET not in done.stderr, (done.args, done.stdout, done.stderr)
        assert "error:" in done.stderr and "Traceback (most recent call last)" not in done.stderr.split("error:")[-1]
    assert "http://127.0.0.1:" in runs[0].stderr and "does not answer" in runs[0].stderr


def test_the_service_never_shows_the_key_in_answers_or_logs(tmp_path, caplog):
    url = _secret_url(free_port())
    from api.settings import ServiceSettings

    settings = ServiceSettings(rpc_url=url, registry="0x" + "11" * 20, index_path=tmp_path / "i.sqlite",
                               poll_interval=0.1, ready_timeout=0.5, rpc_timeout=0.5)
    with caplog.at_level(logging.DEBUG):
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            deadline = time.monotonic() + 5
            while app.state.service.state.error is None and time.monotonic() < deadline:
                time.sleep(0.05)
            answers = [
                client.get("/readyz"),
                client.get("/v1/verify/0x" + "ab" * 32),
                client.post("/v1/verify/statement", content=b"{}"),
                client.get("/v1/proofs/0x" + "cd" * 32),
                client.get("/v1/artifacts/0x" + "ab" * 32),
            ]
    assert answers[0].status_code == 503 and answers[1].status_code == 503
    for answer in answers:
        assert SECRET not in answer.text, answer.text
    assert "127.0.0.1" in answers[0].text
    assert caplog.records and SECRET not in caplog.text
    assert SECRET not in str(app.state.service.state)


@pytest.mark.slow
def test_provenance_serve_never_shows_the_key(tmp_path):
    """The banner, the workers' logs, /readyz and a verification of `provenance serve` itself."""
    url = _secret_url(free_port())
    port = free_port()
    script = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "provenance"
    if not script.exists():
        script = ROOT / ".venv" / "bin" / "provenance"
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "PROVENANCE_HOME": str(tmp_path / "home")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(script), "--rpc-url", url, "--registry", "0x" + "11" * 20, "serve", "--port", str(port),
             "--poll-interval", "0.2", "--log-level", "debug"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.1)
            time.sleep(0.5)  # a few indexer ticks against the dead node: their log lines
            answers = [client.get("/readyz"), client.get("/v1/verify/0x" + "ab" * 32)]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    output = log_path.read_text(errors="replace")
    assert "serving on" in output and "chain http://127.0.0.1:" in output and "does not answer" in output, output
    assert SECRET not in output, output
    for answer in answers:
        assert answer.status_code == 503 and SECRET not in answer.text, answer.text

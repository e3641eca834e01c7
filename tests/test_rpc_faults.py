"""RPC providers as they are (issue 15, item 4): rate limits, dropped connections, log-range caps.

- the transport (provenance._rpc) against canned answers: a 429 or a dropped connection retried,
  ``Retry-After`` honoured within a budget, a send the node may have acted on not sent twice (unless it
  is the same signed bytes), what the node answered said in the error, never the URL's key; the
  providers' ``eth_getLogs`` refusals read as typed errors with the limit, cap or range they name;
- the indexer's range (provenance.indexer.RangeSize) shrinking to what a node serves and growing back;
- through tests/rpc_proxy.py in front of anvil: register (direct and batched), anchor, verify and
  history through the CLI behind 5% HTTP 429, 2% dropped connections, latency, a 1,000-block log
  range limit and a 10,000-result cap, all succeeding; behind 100% 429, exit 2 saying so, never "not
  a ProvenanceRegistry"; a signed transaction whose answer is lost re-sent as the same bytes, once
  mined; the indexer under a result cap; the service answering 503 with ``Retry-After`` and what it
  waits for.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from provenance._rpc import NO_RETRY, Retry, RpcClient, error_answer
from provenance.errors import (
    LedgerUnavailable,
    LogRangeRefused,
    RateLimited,
    RegistryNotFound,
    ResultCapExceeded,
    RpcError,
)
from provenance.index import Index
from provenance.indexer import FIRST_RANGE, Indexer, RangeSize
from tests.helpers import free_port, start_anvil
from tests.rpc_proxy import Faults, RpcProxy

SECRET = "k3y-0f-the-pr0vider"


# ---------------------------------------------------------------- a canned node


@contextlib.contextmanager
def canned(answers):
    """A node on 127.0.0.1 answering POST n with ``answers(n, request)``: (status, headers, body bytes), or
    None to close the connection without an answer. Yields (url, requests seen)."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(request)
            answer = answers(len(seen), request)
            if answer is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers, body = answer
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def ok(request, result="0x10"):
    return 200, {}, json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()


def too_many(retry_after="0"):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "rate limited"}}).encode()
    return 429, ({} if retry_after is None else {"Retry-After": retry_after}), body


FAST = Retry(base=0.01, cap=0.05)


# ---------------------------------------------------------------- retries


def test_a_429_and_a_dropped_connection_are_retried_and_the_call_succeeds():
    script = {1: too_many(), 2: None, 3: (503, {}, b"upstream down")}
    with canned(lambda n, request: script.get(n, ok(request))) as (url, seen):
        assert RpcClient(url, 2.0, FAST).call("eth_blockNumber") == "0x10"
    assert len(seen) == 4 and len({r["id"] for r in seen}) == 1  # the same request each time


def test_retry_after_is_honoured():
    script = {1: too_many("1")}
    with canned(lambda n, request: script.get(n, ok(request))) as (url, seen):
        began = time.monotonic()
        RpcClient(url, 2.0, FAST).call("eth_chainId")
        assert time.monotonic() - began >= 1.0 and len(seen) == 2


def test_still_rate_limited_after_the_retries_says_what_the_node_answered():
    with canned(lambda n, request: too_many()) as (url, seen), pytest.raises(RateLimited) as err:
        RpcClient(url, 2.0, FAST).call("eth_call", [{}, "latest"])
    message = str(err.value)
    assert len(seen) == FAST.attempts and f"{FAST.attempts} attempts" in message
    assert "HTTP 429 Too Many Requests" in message and "Retry-After 0" in message and "-32005" in message
    assert "rate limited" in message and isinstance(err.value, LedgerUnavailable) and err.value.exit_code == 2


def test_a_retry_after_beyond_the_budget_ends_the_call_at_once():
    with canned(lambda n, request: too_many("60")) as (url, seen), pytest.raises(RateLimited) as err:
        RpcClient(url, 2.0, Retry(budget=5)).call("eth_blockNumber")
    assert len(seen) == 1 and err.value.retry_after == 60
    assert "asks to wait 60 s" in str(err.value)


def test_a_send_the_node_may_have_acted_on_is_not_sent_again_but_a_signed_one_is():
    with canned(lambda n, request: None if n == 1 else ok(request, "0x" + "ab" * 32)) as (url, seen):
        with pytest.raises(LedgerUnavailable, match="not sent again") as err:
            RpcClient(url, 2.0, FAST).call("eth_sendTransaction", [{}])
        assert len(seen) == 1 and "closed without an answer" in str(err.value)
        # the same signed bytes are safe to send again: the node takes them or already has them
        assert RpcClient(url, 2.0, FAST).call("eth_sendRawTransaction", ["0x02"]) == "0x" + "ab" * 32
        assert [r["method"] for r in seen[1:]] == ["eth_sendRawTransaction"]  # the second try answered


def test_a_429_is_retried_for_any_method_the_node_did_not_act_on():
    script = {1: too_many()}
    with canned(lambda n, request: script.get(n, ok(request))) as (url, seen):
        RpcClient(url, 2.0, FAST).call("anvil_mine", ["0x1"])
    assert len(seen) == 2


def test_no_retry_means_one_attempt_and_a_refused_connection_is_not_retried():
    with canned(lambda n, request: too_many()) as (url, seen), pytest.raises(RateLimited, match="1 attempt"):
        RpcClient(url, 2.0, NO_RETRY).call("eth_blockNumber")
    assert len(seen) == 1
    began = time.monotonic()
    with pytest.raises(LedgerUnavailable, match="connection refused"):
        RpcClient(f"http://127.0.0.1:{free_port()}", 2.0).call("eth_blockNumber")
    assert time.monotonic() - began < 1


def test_an_answer_quoted_in_an_error_never_carries_the_urls_key():
    echo = json.dumps({"error": f"unknown project /v3/{SECRET}"}).encode()
    with canned(lambda n, request: (503, {}, echo)) as (url, _), pytest.raises(LedgerUnavailable) as err:
        RpcClient(f"{url}/v3/{SECRET}?apikey={SECRET}", 2.0, FAST).call("eth_blockNumber")
    assert SECRET not in str(err.value) and "HTTP 503" in str(err.value) and "unknown project" in str(err.value)


# ---------------------------------------------------------------- what providers' refusals say


@pytest.mark.parametrize(
    ("code", "message", "data", "kind", "limit", "cap", "suggested"),
    [
        (-32005, "block range is too large", None, LogRangeRefused, None, None, None),
        (-32602, "range 5000 exceeds limit of 1000", None, LogRangeRefused, 1000, None, None),  # Infura
        (-32000, "exceed maximum block range: 5000", None, LogRangeRefused, 5000, None, None),  # geth
        (-32614, "eth_getLogs is limited to a 10,000 range", None, LogRangeRefused, 10_000, None, None),  # QuickNode
        (-32602, "invalid params", {"payload": "range 9009594 is bigger than range limit 2000"}, LogRangeRefused,
         2000, None, None),  # Tenderly
        (-32005, "query returned more than 10000 results. Try with this block range [0x10, 0x1f].", None,
         ResultCapExceeded, None, 10_000, (16, 31)),  # Infura
        (-32005, "query returned more than 10000 results", {"from": "0x0", "to": "0x1f4", "limit": 10000},
         ResultCapExceeded, None, 10_000, (0, 500)),
        (-32602, "query exceeds max results 20000, retry with the range 25766988-25775072", None, ResultCapExceeded,
         None, 20_000, (25766988, 25775072)),  # reth
        (-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no "
         "limit on the response size, or you can request any block range with a cap of 10K logs in the response. "
         "Based on your parameters, this block range should work: [0x0, 0x7cf]", None, ResultCapExceeded, None,
         10_000, (0, 1999)),  # Alchemy
        (-32000, "logs matched by query exceeds limit of 10000", None, ResultCapExceeded, None, 10_000, None),
    ],
)
def test_providers_log_refusals_are_typed_with_what_they_name(code, message, data, kind, limit, cap, suggested):
    error = {"code": code, "message": message} | ({} if data is None else {"data": data})
    refused = error_answer("http://127.0.0.1:1", "eth_getLogs", error)
    assert type(refused) is kind and refused.code == code and message in str(refused)
    assert refused.suggested == suggested
    if kind is ResultCapExceeded:
        assert refused.cap == cap
    else:
        assert refused.limit == limit


def test_other_errors_are_not_log_refusals():
    for method, code, message in (
        ("eth_getLogs", -32602, "invalid argument 0: hex string without 0x prefix"),
        ("eth_getLogs", -32005, "daily request count exceeded, request rate limited"),
        ("eth_call", -32005, "query returned more than 10000 results"),
    ):
        refused = error_answer("http://127.0.0.1:1", method, {"code": code, "message": message})
        assert type(refused) is RpcError, message


# ---------------------------------------------------------------- the indexer's range


def _refusal(kind, **named):
    return kind("refused", **named)


def test_range_size_shrinks_to_what_the_node_says_and_grows_back():
    size = RangeSize(2000)
    size.refused(_refusal(LogRangeRefused), 0, 2000)  # names no limit: half, and never more than that again
    assert (size.size, size.limit) == (1000, 1000)
    size.served(1000, 5)
    assert size.size == 1000
    size.refused(_refusal(ResultCapExceeded, cap=10_000, suggested=(1000, 1019)), 1000, 1000)
    assert (size.size, size.limit, size.cap) == (20, 1000, 10_000)  # the suggestion; the limit stays
    size.served(20, 9_000)  # busy blocks: sized to fill 80% of the cap
    assert size.size == 17
    size.served(17, 10)  # quiet blocks: doubles
    assert size.size == 34
    for _ in range(10):
        size.served(size.size, 10)
    assert size.size == 1000  # back to the node's block limit, not past it

    named = RangeSize(2000)
    named.refused(_refusal(LogRangeRefused, limit=500), 0, 2000)
    assert (named.size, named.limit) == (500, 500)
    named.refused(_refusal(LogRangeRefused, limit=500), 0, 500)  # refused at its own limit: counts differently
    assert named.size == 499
    cap = RangeSize(64)
    cap.refused(_refusal(ResultCapExceeded), 0, 64)  # no cap, no suggestion: half, and may grow again
    assert (cap.size, cap.limit) == (32, 64)
    cap.served(32, 3)
    assert cap.size == 64


class _Provider:
    """A fake ledger over ``height`` blocks holding ``logs[n]`` logs each, that refuses like a provider:
    more than ``limit`` blocks, or more than ``cap`` logs (with Infura's suggested range if ``hint``)."""

    chain_id, registry = 1, "0x" + "11" * 20
    deploy_block = 0  # the registry was created in the first block: the indexer reads from there

    def __init__(self, logs: list[int], limit: int, cap: int, hint: bool) -> None:
        self.logs, self.limit, self.cap, self.hint = logs, limit, cap, hint
        self.calls: list[tuple[int, int, str]] = []

    def block_number(self) -> int:
        return len(self.logs) - 1

    def block_hash(self, number: int) -> bytes | None:
        return number.to_bytes(32, "big") if 0 <= number < len(self.logs) else None

    def rpc(self, method: str, params: list) -> dict:
        assert method == "eth_getBlockByHash"
        return {"timestamp": hex(1_700_000_000)}

    def rpc_each(self, method: str, params_list: list) -> list:
        return [self.rpc(method, params) for params in params_list]

    def events(self, start: int, end: int, *, anomalies: list | None = None) -> list:
        from provenance.ledger import ChainEvent

        if end - start + 1 > self.limit:
            self.calls.append((start, end, "blocks"))
            raise LogRangeRefused("block range is too large")
        if sum(self.logs[start : end + 1]) > self.cap:
            self.calls.append((start, end, "results"))
            last, total = start, self.logs[start]
            while last + 1 <= end and total + self.logs[last + 1] <= self.cap:
                last += 1
                total += self.logs[last]
            raise ResultCapExceeded(
                f"query returned more than {self.cap} results", cap=self.cap,
                suggested=(start, last) if self.hint else None,
            )
        self.calls.append((start, end, "served"))
        return [
            ChainEvent("RecordRevoked", {"recordId": n.to_bytes(32, "big"), "publisher": "0x" + "22" * 20,
                                         "reason": str(i)}, n, self.block_hash(n), n.to_bytes(32, "big"), i)
            for n in range(start, end + 1)
            for i in range(self.logs[n])
        ]


@pytest.mark.parametrize("hint", [True, False], ids=["suggested-range", "no-suggestion"])
def test_the_indexer_shrinks_in_busy_blocks_and_grows_back_in_quiet_ones(tmp_path, hint):
    # 3,000 quiet blocks, 40 busy ones (50 logs each), 3,000 quiet: a 400-block limit and a 100-log cap
    logs = [0] * 3000 + [50] * 40 + [0] * 3000
    node = _Provider(logs, limit=400, cap=100, hint=hint)
    with Index.open(tmp_path / "i.sqlite") as index:
        result = Indexer(index, node).sync()
        assert (result.to_block, result.events, index.count()) == (len(logs) - 1, 2000, 2000)
    served = [(start, end) for start, end, what in node.calls if what == "served"]
    spans = [end - start + 1 for start, end in served]
    # the first range is FIRST_RANGE (256) blocks (the next one, read meanwhile, too); doubled to 512 it is
    # refused, naming no number: the limit is found by halving, to 256
    assert FIRST_RANGE == 256 and spans[:2] == [256, 256] and node.calls[2] == (512, 1023, "blocks")
    assert max(spans) == 256 and all(sum(logs[s : e + 1]) <= 100 for s, e in served)
    busy = [span for (start, _), span in zip(served, spans, strict=True) if 3000 <= start < 3040]
    assert busy and max(busy) <= 2
    after = [span for (start, _), span in zip(served, spans, strict=True) if start > 3040]
    assert max(after) == 256 and after[-2] == 256  # grown back to the limit over the quiet blocks
    refusals = [what for _, _, what in node.calls if what != "served"]
    assert refusals.count("blocks") == 1 and node.calls[3][2] == "served"  # the block limit is learned once
    assert len(refusals) <= (8 if hint else 16), node.calls


# ---------------------------------------------------------------- through the fault proxy, in front of anvil


@pytest.fixture(scope="module")
def chain():
    """An anvil of this module's own with a registry and 4,000 blocks above it (an index starts at the registry's
    deployment block: so that a 1,000-block log limit bites)."""
    from provenance.ledger import Ledger
    from provenance.record import parse_address

    port = free_port()
    node = start_anvil(port)
    url = f"http://127.0.0.1:{port}"
    try:
        ledger = Ledger.connect(url)
        ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
        Ledger.connect(url, timeout=120).rpc("anvil_mine", [hex(4_000)])  # seconds on a loaded machine
        yield ledger
    finally:
        node.terminate()
        node.wait(timeout=20)


FLAKY = Faults(rate_limit=0.05, drop=0.02, latency=0.005, max_block_range=1_000, max_results=10_000, seed=15)


@pytest.mark.chain
def test_register_anchor_verify_and_history_through_a_flaky_limited_provider(tmp_path, chain):
    from tests.publisher_home import EXAMPLES, make_artifact, make_home

    home = make_home(tmp_path / "home", chain.rpc_url, chain.registry, "pub")
    dataset = make_artifact(tmp_path, "chats", {"train.jsonl": b'{"q": "hi"}\n' * 20, "README.md": b"chats"})
    model = make_artifact(tmp_path, "model-7b", {"model.safetensors": b"\x00\x01" * 512, "config.json": b"{}"})
    with RpcProxy(chain.rpc_url, FLAKY) as proxy:
        env = {"PROVENANCE_RPC_URL": proxy.url}
        steps = [
            ("register", str(dataset), "--kind", "dataset", "--claims", str(EXAMPLES / "dataset.yaml"), "--key",
             "pub", "--json"),
            ("register", str(model), "--kind", "model", "--claims", str(EXAMPLES / "model.yaml"), "--batch",
             "--key", "pub", "--json"),
            ("anchor", "--key", "pub", "--json"),
            ("verify", str(dataset), "--json"),
            ("verify", str(model), "--json"),
        ]
        outputs = []
        for args in steps:
            done = home.run(*args, env=env)
            assert done.returncode == 0, f"{args[0]}: {done.stderr}"
            outputs.append(json.loads(done.stdout))
        subject = outputs[0]["subject"]
        history = home.run("history", subject, "--json", env=env)
        assert history.returncode == 0, history.stderr
        counts = dict(proxy.counts)
    assert outputs[0]["state"] == "anchored" and outputs[2]["anchored"] == 1
    for verdict in outputs[3:]:  # the same verdict as without faults: anchored, only the publisher unknown
        checks = {c["check"]: (c["status"], c["code"]) for c in verdict["checks"]}
        assert verdict["overall"] == "warn" and checks["anchoring"] == ("pass", "OK"), verdict
        assert [c for c in verdict["checks"] if c["status"] not in ("pass", "info")] == [
            c for c in verdict["checks"] if c["code"] == "UNTRUSTED_PUBLISHER"
        ]
    registered = [e for e in json.loads(history.stdout)["events"] if e["event"] == "RecordRegistered"]
    assert [e["recordId"] for e in registered] == [outputs[0]["recordId"]]
    # the faults were met, and got through: rate limits, dropped connections, a refused log range
    assert counts["429"] >= 2 and counts["dropped"] + counts["dropped after"] >= 1, counts
    assert counts["range refused"] >= 1, counts


@pytest.mark.chain
def test_behind_a_provider_that_only_rate_limits_the_cli_says_so_and_exits_2(tmp_path, chain):
    from tests.publisher_home import make_home

    home = make_home(tmp_path / "home", chain.rpc_url, chain.registry, "pub")
    with RpcProxy(chain.rpc_url, Faults(rate_limit=1.0, retry_after=None)) as proxy:
        done = home.run("history", "0x" + "ab" * 32, env={"PROVENANCE_RPC_URL": proxy.url})
    assert done.returncode == 2, done.stderr
    assert "HTTP 429 Too Many Requests" in done.stderr and "refuses requests for now" in done.stderr
    assert "attempts" in done.stderr and "not a ProvenanceRegistry" not in done.stderr


@pytest.mark.chain
def test_a_rate_limited_version_call_is_not_a_missing_registry(chain):
    from provenance.ledger import Ledger

    with RpcProxy(chain.rpc_url, Faults(retry_after=None)) as proxy:
        proxy.force("eth_call", "429", times=FAST.attempts)  # every try of version()
        with pytest.raises(RateLimited) as err:
            Ledger.connect(proxy.url, chain.registry, retry=FAST)
        assert not isinstance(err.value, RegistryNotFound) and "eth_call" in str(err.value)
        assert "HTTP 429" in str(err.value) and "not a ProvenanceRegistry" not in str(err.value)
        assert Ledger.connect(proxy.url, chain.registry).registry == chain.registry  # the limit lifted


@pytest.mark.chain
def test_a_signed_transaction_whose_answer_is_lost_is_sent_again_as_the_same_bytes(chain):
    from eth_account import Account

    from provenance.ledger import Ledger

    account = Account.create()
    chain.rpc("anvil_setBalance", [account.address, hex(10**20)])
    with RpcProxy(chain.rpc_url) as proxy:
        ledger = Ledger.connect(proxy.url, chain.registry)
        before = ledger.nonce(account.address)
        for fault in ("drop-after", "drop", "429"):  # taken then lost; lost on the way; refused
            proxy.force("eth_sendRawTransaction", fault)
            ledger.use_nonce(account)
        assert ledger.nonce(account.address) == before + 3  # each sent once: three nonces used, not more
        assert proxy.counts["eth_sendRawTransaction"] == 6 and proxy.counts["dropped after"] == 1


@pytest.mark.chain
def test_the_indexer_meets_a_result_cap_through_the_proxy_and_grows_back(tmp_path, chain, make_account):
    from provenance.ledger import Ledger
    from provenance.record import Kind, Record

    publisher = make_account()
    ledger = Ledger.connect(chain.rpc_url, chain.registry)
    first = ledger.block_number() + 1
    for n in range(12):  # 12 registrations in 12 blocks, then quiet blocks
        ledger.register(publisher, Record.create(bytes([n + 1]) * 32, Kind.DATASET, b"\x01" * 32, [], ""))
    ledger.rpc("anvil_mine", [hex(300)])
    faults = Faults(max_block_range=100, range_style="infura", max_results=3, result_hint=False)
    with RpcProxy(chain.rpc_url, faults) as proxy, Index.open(tmp_path / "i.sqlite") as index:
        indexer = Indexer(index, Ledger.connect(proxy.url, chain.registry), start_block=first)
        result = indexer.sync()
        assert result.events == 12 and index.count() == 12
        assert indexer.range.limit == 100 and indexer.range.cap == 3  # "range N exceeds limit of 100"
        assert indexer.range.size == 100  # grown back over the quiet blocks
        assert proxy.counts["results refused"] >= 1 and proxy.counts["range refused"] >= 1


@pytest.fixture
def make_account(chain):
    from tests.helpers import account_factory

    return account_factory(chain)


# ---------------------------------------------------------------- the service behind a rate-limiting provider


@pytest.mark.chain
def test_the_service_answers_503_with_retry_after_and_what_it_waits_for(tmp_path, chain, make_account):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.service import HEAD_FRESH
    from provenance.ledger import Ledger
    from provenance.record import Kind, Record
    from tests.api_helpers import PROBLEM, catch_up, settings_for

    record = Record.create(b"\x5a" * 32, Kind.DATASET, b"\x01" * 32, [], "")
    Ledger.connect(chain.rpc_url, chain.registry).register(make_account(), record)
    with RpcProxy(chain.rpc_url) as proxy:
        behind = Ledger(None, proxy.url, chain.chain_id, chain.registry)
        app = create_app(settings_for(behind, tmp_path / "i.sqlite", retry_after=2), start_indexer=False)
        with TestClient(app, raise_server_exceptions=False) as client:
            catch_up(app)
            assert client.get("/readyz").status_code == 200
            proxy.set(rate_limit=1.0, retry_after="4")
            time.sleep(HEAD_FRESH)  # the head read for the last probe answers the probes of the next moment
            for path in ("/readyz", f"/v1/verify/0x{record.subject.hex()}"):
                began = time.monotonic()
                answer = client.get(path)
                assert time.monotonic() - began < 5, path  # the service does not wait out the limit itself
                assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM, answer.text
                assert answer.headers["retry-after"] == "4"  # what the node asked, above the service's own 2
                problem = answer.json()
                assert problem["type"].endswith("/ledger-unavailable") and "HTTP 429" in problem["detail"]
                assert "rate limit" in problem["waitingFor"] and "4 s" in problem["waitingFor"]
            index_backed = client.get(f"/v1/artifacts/0x{record.subject.hex()}")
            assert index_backed.status_code == 200 and index_backed.json()["index"]["syncedTo"] is not None
            proxy.set(rate_limit=0.0)
            assert client.get("/readyz").status_code == 200

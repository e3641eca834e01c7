"""A JSON-RPC fault proxy for tests and benches: answers like a hosted provider in front of a real node.

::

    with RpcProxy("http://127.0.0.1:8545", Faults(rate_limit=0.05, drop=0.02, max_block_range=1000)) as proxy:
        Ledger.connect(proxy.url)  # ... every call goes through the proxy

Each POST is forwarded to ``upstream`` (a new connection each) unless a fault is drawn for it:

- HTTP 429 with ``Retry-After`` (``rate_limit``, a probability), the body a JSON-RPC error as
  providers send it;
- a dropped connection (``drop``): the socket is closed without an answer, before the request is
  forwarded or, with probability ``drop_after``, after (the node acted; the answer is lost);
- ``latency`` seconds added to every answer (with ``latency_max``, a uniform draw between the two, from
  a random source of its own: the faults' draws stay those of the seed);
- ``eth_getLogs`` over more than ``max_block_range`` blocks refused without asking the node, with one
  of the providers' error shapes (:data:`RANGE_STYLES`);
- ``eth_getLogs`` whose answer holds more than ``max_results`` logs refused (Infura's -32005 "query
  returned more than N results"; with ``result_hint``, its suggestion "Try with this block range
  [0x.., 0x..]": the longest range from the same first block that fits).

Faults are drawn from one ``random.Random(seed)`` in the order requests arrive, so a run that sends
its requests one after another (a CLI command, an indexer) meets the same faults every time.
:meth:`RpcProxy.force` queues a fault for the next request of one method (a test's exact case);
:meth:`RpcProxy.set` changes the faults while it runs; :attr:`RpcProxy.counts` says what it did.

Also runnable: ``python -m tests.rpc_proxy UPSTREAM --port 8546 --rate-limit 0.05 ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Faults", "RpcProxy", "RANGE_STYLES"]

#: How providers refuse a block range (code, message, data), ``{span}`` and ``{limit}`` filled in.
RANGE_STYLES: dict[str, tuple[int, str, Any]] = {
    "plain": (-32005, "block range is too large", None),  # names no limit
    "infura": (-32602, "range {span} exceeds limit of {limit}", None),
    "geth": (-32000, "exceed maximum block range: {limit}", None),
    "quicknode": (-32614, "eth_getLogs is limited to a {limit} range", None),
    "tenderly": (-32602, "invalid params", {"payload": "range {span} is bigger than range limit {limit}"}),
}

_BLOCK_NUMBER = re.compile(rb'"blockNumber"\s*:\s*"0x([0-9a-fA-F]+)"')


@dataclass
class Faults:
    """What the proxy does to requests (see the module docstring); the defaults do nothing."""

    rate_limit: float = 0.0
    retry_after: str | None = "1"
    drop: float = 0.0
    drop_after: float = 0.5
    latency: float = 0.0
    latency_max: float | None = None
    max_block_range: int | None = None
    range_style: str = "plain"
    max_results: int | None = None
    result_hint: bool = True
    seed: int = 0


class RpcProxy:
    """A threaded HTTP server on 127.0.0.1 in front of ``upstream``; a context manager (started on enter)."""

    def __init__(self, upstream: str, faults: Faults | None = None, *, port: int = 0) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/")
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._jitter = random.Random(self.faults.seed + 1)
        self._lock = threading.Lock()
        self._forced: dict[str, deque[str]] = {}
        self.counts: Counter[str] = Counter()  # "requests", "429", "dropped", "range refused", ... and per method
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> RpcProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set(self, **changes: Any) -> None:
        """Change some faults from now on (a new ``seed`` restarts the draws)."""
        with self._lock:
            self.faults = dataclasses.replace(self.faults, **changes)
            if "seed" in changes:
                self._rng = random.Random(self.faults.seed)

    def force(self, method: str, fault: str, times: int = 1) -> None:
        """The next ``times`` requests for ``method`` meet ``fault``: "429", "drop" (before the node sees
        it), "drop-after" (after it acted) or "pass" (no random fault)."""
        if fault not in ("429", "drop", "drop-after", "pass"):
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._forced.setdefault(method, deque()).extend([fault] * times)

    # ------------------------------------------------------------ one request

    def _draw(self, method: str) -> tuple[str | None, Faults]:
        """The fault for this request (None, "429", "drop", "drop-after") and the faults in force."""
        with self._lock:
            faults = self.faults
            self.counts["requests"] += 1
            self.counts[method] += 1
            # always three draws, so that a forced fault does not shift the later ones
            limited, dropped, after = self._rng.random(), self._rng.random(), self._rng.random()
            queue = self._forced.get(method)
            if queue:
                forced = queue.popleft()
                return (None if forced == "pass" else forced), faults
        if limited < faults.rate_limit:
            return "429", faults
        if dropped < faults.drop:
            return ("drop-after" if after < faults.drop_after else "drop"), faults
        return None, faults

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        single = isinstance(request, dict)
        method = str(request.get("method")) if single else "batch"
        fault, faults = self._draw(method)
        if faults.latency_max is not None:
            with self._lock:
                delay = self._jitter.uniform(faults.latency, faults.latency_max)
            time.sleep(delay)
        elif faults.latency:
            time.sleep(faults.latency)
        if fault == "429":
            self._count("429")
            error = {"code": -32005, "message": "Too Many Requests: request rate limited, retry later"}
            headers = {} if faults.retry_after is None else {"Retry-After": faults.retry_after}
            return self._answer(handler, 429, _error(request if single else None, error), headers)
        if fault == "drop":
            self._count("dropped")
            return self._drop(handler)
        if single and method == "eth_getLogs" and faults.max_block_range is not None:
            refusal = self._range_refusal(request, faults)
            if refusal is not None:
                self._count("range refused")
                return self._answer(handler, 200, refusal)
        try:
            status, headers, payload = self._forward(body)
        except OSError:
            return self._answer(handler, 502, b"upstream unreachable")
        if fault == "drop-after":
            self._count("dropped after")
            return self._drop(handler)
        if single and method == "eth_getLogs" and faults.max_results is not None and status == 200:
            refusal = self._cap_refusal(request, payload, faults)
            if refusal is not None:
                self._count("results refused")
                return self._answer(handler, 200, refusal)
        return self._answer(handler, status, payload, headers)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        host, port, path = self._upstream
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            payload = answer.read()
        finally:
            connection.close()
        headers = {k: v for k, v in answer.getheaders() if k.lower() == "content-type"}
        return answer.status, headers, payload

    def _head(self) -> int:
        _, _, payload = self._forward(b'{"jsonrpc":"2.0","id":0,"method":"eth_blockNumber","params":[]}')
        return int(json.loads(payload)["result"], 16)

    def _block(self, tag: Any, default: str) -> int | None:
        """A filter's block as a number; None for a block hash filter."""
        tag = default if tag is None else tag
        if tag in ("latest", "safe", "finalized", "pending"):
            return self._head()
        if tag == "earliest":
            return 0
        return int(tag, 16)

    def _range_refusal(self, request: dict[str, Any], faults: Faults) -> bytes | None:
        query = (request.get("params") or [{}])[0]
        if not isinstance(query, dict) or "blockHash" in query:
            return None
        first, last = self._block(query.get("fromBlock"), "latest"), self._block(query.get("toBlock"), "latest")
        if first is None or last is None or faults.max_block_range is None:
            return None
        span = last - first + 1
        if span <= faults.max_block_range:
            return None
        code, message, data = RANGE_STYLES[faults.range_style]
        fill = {"span": span, "limit": faults.max_block_range}
        error: dict[str, Any] = {"code": code, "message": message.format(**fill)}
        if data is not None:
            error["data"] = {k: v.format(**fill) for k, v in data.items()}
        return _error(request, error)

    def _cap_refusal(self, request: dict[str, Any], payload: bytes, faults: Faults) -> bytes | None:
        cap = faults.max_results
        if cap is None or payload.count(b'"logIndex"') <= cap:
            return None
        message = f"query returned more than {cap} results"
        error: dict[str, Any] = {"code": -32005, "message": message}
        if faults.result_hint:
            blocks = [int(b, 16) for b in _BLOCK_NUMBER.findall(payload)]
            query = request["params"][0]
            first = self._block(query.get("fromBlock"), "latest") or 0
            over = blocks[cap]  # the block of the first log past the cap: the range ends before it
            last = over - 1 if over > first else first
            error["message"] = f"{message}. Try with this block range [{hex(first)}, {hex(last)}]."
            error["data"] = {"from": hex(first), "to": hex(last), "limit": cap}
        return _error(request, error)

    def _answer(
        self, handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        with contextlib.suppress(OSError):  # the client left
            handler.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(2)  # SHUT_RDWR: the client reads an empty answer


def _error(request: dict[str, Any] | None, error: dict[str, Any]) -> bytes:
    ident = request.get("id") if request else None
    return json.dumps({"jsonrpc": "2.0", "id": ident, "error": error}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream")
    parser.add_argument("--port", type=int, default=8546)
    for field in dataclasses.fields(Faults):
        flag = "--" + field.name.replace("_", "-")
        if field.type in ("bool",):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            kind = {"float": float, "float | None": float, "int": int, "int | None": int}.get(str(field.type), str)
            parser.add_argument(flag, type=kind, default=field.default)
    args = vars(parser.parse_args())
    upstream, port = args.pop("upstream"), args.pop("port")
    with RpcProxy(upstream, Faults(**args), port=port) as proxy:
        print(f"proxy on {proxy.url} -> {upstream}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()

"""JSON-RPC over plain HTTP, and what a node's answers mean (private: the ledger adapter's transport).

:class:`RpcClient` sends one call per HTTP POST and turns every way it can go
wrong into the project's errors: a node that does not answer (refused,
timed out, dropped the connection, a gateway saying the node behind it is down)
becomes :class:`LedgerUnavailable`, one that rate-limits (HTTP 429)
:class:`RateLimited`; a JSON-RPC ``error`` member becomes :class:`RpcError`
with the node's code, or :class:`LogRangeRefused` / :class:`ResultCapExceeded`
when it is an ``eth_getLogs`` range the node will not serve; an answer that is
not JSON-RPC becomes :class:`BadNodeAnswer`. Every message says what the node
answered: the HTTP status and ``Retry-After``, the JSON-RPC code and message.

Hosted providers rate-limit, drop connections and time out now and then, so a
call is tried again (:class:`Retry`: a few attempts, exponential backoff with
jitter, ``Retry-After`` honoured, a bound on the total wait) when that is safe:

- a read (:data:`IDEMPOTENT`) after any transient fault: HTTP 429, 408, 500
  without a JSON-RPC error, 502, 503, 504, a dropped connection, a timeout
  (once only: a node that times out twice is hung, not busy);
- ``eth_sendRawTransaction`` likewise, with the same signed bytes: the node
  either takes it or already has it ("already known", or "nonce too low" once
  it is mined, which :meth:`provenance.ledger.Ledger.broadcast` accepts for a
  transaction the node knows by hash);
- any other method (``eth_sendTransaction``, ``anvil_*``, ...) only when the node
  certainly did not act on it: HTTP 429.

A refused connection is never retried: nothing listens there.

An RPC URL often carries a provider's API key (``https://host/v3/KEY``,
``https://user:key@host``, ``?apikey=KEY``): :func:`redact_url` keeps only its
scheme, host and port, and every message, log line and banner shows that; the
key's parts are also cut from whatever the node's answer is quoted.

http.client rather than urllib.request or requests: it is what urllib uses
underneath, and importing it alone keeps a short command's start-up short.
Calls that are safe to send again (:data:`IDEMPOTENT` and raw transactions)
reuse one kept-alive connection per thread: a service asks the node a few
times per answer and a batch reader once per member, where a new TCP
connection each time cost about a third of the call. A kept connection the
node closed while idle fails before any answer and is replaced at once; any
other method gets a connection of its own, closed after its answer.
web3, where the ledger uses it, sends through the same client
(:func:`web3_provider`), so its calls are retried alike.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from provenance.errors import (
    BadNodeAnswer,
    LedgerUnavailable,
    LogRangeRefused,
    RateLimited,
    ResultCapExceeded,
    RpcError,
)

__all__ = [
    "BATCH_MAX",
    "IDEMPOTENT",
    "NO_RETRY",
    "Retry",
    "RpcClient",
    "error_answer",
    "is_range_refusal",
    "redact_url",
    "retry_after_seconds",
    "web3_provider",
]


def redact_url(url: str) -> str:
    """``url`` as messages may show it: scheme, host and port only (no user, password, path, query or
    fragment, where providers put API keys); ``<RPC URL>`` when it has no recognisable host."""
    from urllib.parse import urlsplit  # lazy, as in RpcClient

    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 host: show neither
        return "<RPC URL>"
    if not parts.scheme or not host:
        return "<RPC URL>"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")


# ------------------------------------------------------------------ retries


@dataclass(frozen=True)
class Retry:
    """How hard :class:`RpcClient` tries one call.

    ``attempts`` in all; before attempt n+1 it waits ``base * 2**(n-1)`` seconds (at most ``cap``,
    scaled by a random factor in [0.5, 1] so that clients do not retry in step), or what the node
    asked in ``Retry-After`` if that is longer. No wait ends later than ``budget`` seconds after the
    first attempt began: a ``Retry-After`` beyond it ends the call at once. ``timeouts``: how many
    times a call that timed out is tried again.
    """

    attempts: int = 6
    budget: float = 30.0
    base: float = 0.1
    cap: float = 4.0
    timeouts: int = 1

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The backoff after failed attempt ``attempt`` (1-based)."""
        return float(min(self.cap, self.base * 2.0 ** (attempt - 1)) * rng.uniform(0.5, 1.0))


#: One attempt, no retry.
NO_RETRY = Retry(attempts=1)

#: Methods that change nothing on the node: sent again after any transient fault.
IDEMPOTENT = frozenset(
    {
        "eth_blockNumber",
        "eth_call",
        "eth_chainId",
        "eth_estimateGas",
        "eth_feeHistory",
        "eth_gasPrice",
        "eth_getBalance",
        "eth_getBlockByHash",
        "eth_getBlockByNumber",
        "eth_getCode",
        "eth_getLogs",
        "eth_getStorageAt",
        "eth_getTransactionByHash",
        "eth_getTransactionCount",
        "eth_getTransactionReceipt",
        "eth_maxPriorityFeePerGas",
        "eth_accounts",
        "eth_syncing",
        "net_version",
        "web3_clientVersion",
    }
)

#: Calls sent in one JSON-RPC batch at most (:meth:`RpcClient.call_each`): hosted providers cap a batch's
#: length (100 to 1,000 calls); a longer list goes as several batches.
BATCH_MAX = 100

# The same signed bytes again: the node takes the transaction or says it has it (see the module docstring).
_RESENDABLE = IDEMPOTENT | {"eth_sendRawTransaction"}

# What a provider's gateway answers while the node behind it is down or overloaded: asking again later
# is the remedy. 500 only when it carries no JSON-RPC error (with one, it is the node's answer).
_TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header's wait in seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # lazy: dates are rare here

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


@dataclass(frozen=True)
class _Fault:
    """One failed attempt: what happened, and whether the node may have acted on the request."""

    detail: str
    reached: bool  # the request may have reached the node (a dropped connection, a timeout, a 5xx)
    rate_limited: bool = False
    timed_out: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class _Stale:
    """A kept connection that failed before any answer: the node closed it while it was idle."""

    error: str


# ------------------------------------------------------------------ eth_getLogs refusals

# Rate limits read like range limits ("request rate limited", "too many requests") but halving the
# range would only send more requests.
_RATE_LIMIT = ("rate limit", "rate-limit", "too many requests", "request count", "requests per", "compute units")

# How providers word an eth_getLogs refusal, e.g. Infura (-32005) "query returned more than 10000
# results", geth-style "exceed maximum block range: 5000", Alchemy "Log response size exceeded ...
# up to a 2K block range", QuickNode "eth_getLogs is limited to a 10,000 range", Ankr "block range
# is too wide", Erigon "logs matched by query exceeds limit of 10000".
_RANGE_PHRASES = (
    "range",
    "more than",
    "too many",
    "response size",
    "max results",
    "result limit",
    "results limit",
    "exceeds limit",
    "exceeds the limit",
    "limit exceeded",
    "too large",
)

# EIP-1474 "limit exceeded" and "invalid params": a refusal when the message speaks of a limit.
_LIMIT_CODES = frozenset({-32005, -32602})

# A refusal for the count or size of the logs, not the blocks: it depends on how busy the blocks are.
_CAP_PHRASES = ("result", "response size", "response too large", "logs matched", "too many logs", "log response")

_NUMBER = r"(\d[\d,.]*k?)"
# Where providers name the most blocks a range may span (Infura -32602, geth, QuickNode, Alchemy,
# publicnode, Cloudflare, thirdweb, Avalanche, Coinbase, Ankr, Tenderly, ...).
_BLOCK_LIMITS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"range \d+ exceeds limit of {_NUMBER}",
        rf"range limit {_NUMBER}",
        rf"maximum block range:? {_NUMBER}",
        rf"max(?:imum)? block range (?:of |is )?{_NUMBER}",
        rf"limited to an? {_NUMBER}",
        rf"limited to {_NUMBER} block",
        rf"at most {_NUMBER} blocks",
        rf"maximum is (?:set to )?{_NUMBER}",
        rf"max range:? {_NUMBER}",
        rf"number of requested blocks is {_NUMBER}",
        rf"block range greater than {_NUMBER}",
        rf"block range exceeds {_NUMBER}",
        rf"up to an? {_NUMBER} block range",
        rf"\(maximum {_NUMBER}\)",
        rf"blocks distance:? {_NUMBER}",
    )
)
# Where they name the most logs an answer may hold.
_RESULT_CAPS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"more than {_NUMBER} results",
        rf"max results:? {_NUMBER}",
        rf"exceeds limit of {_NUMBER}",
        rf"cap of {_NUMBER} logs",
    )
)
# Where they suggest a range to ask for instead: Infura "Try with this block range [0x.., 0x..]",
# Alchemy "this block range should work: [0x.., 0x..]", reth "retry with the range 100-200".
_SUGGESTED = (
    re.compile(r"\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]"),
    re.compile(r"retry with the range (\d+)\s*-\s*(\d+)"),
)


def is_range_refusal(code: int | None, text: str) -> bool:
    """Whether an ``eth_getLogs`` error (its code, its message and data) refuses the range or result count."""
    text = text.lower()
    if any(phrase in text for phrase in _RATE_LIMIT):
        return False
    if any(phrase in text for phrase in _RANGE_PHRASES):
        return True
    return code in _LIMIT_CODES and ("limit" in text or "exceed" in text)


def _count(text: str) -> int | None:
    """``2K`` -> 2000, ``10,000`` -> 10000; None for what is not a count."""
    scale = 1000 if text.endswith("k") else 1
    digits = text.rstrip("k").replace(",", "").replace(".", "")
    return int(digits) * scale if digits.isdigit() and int(digits) > 0 else None


def _first_count(patterns: Sequence[re.Pattern[str]], text: str) -> int | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found is not None and (count := _count(found.group(1))) is not None:
            return count
    return None


def _suggested(text: str, data: Any) -> tuple[int, int] | None:
    """The range a refusal suggests, from its data (``{"from": "0x..", "to": "0x.."}``) or its message."""
    if isinstance(data, dict) and isinstance(data.get("from"), str) and isinstance(data.get("to"), str):
        try:
            first, last = int(data["from"], 16), int(data["to"], 16)
        except ValueError:
            pass
        else:
            return (first, last) if first <= last else None
    for pattern in _SUGGESTED:
        found = pattern.search(text)
        if found is not None:
            first, last = (int(g, 0) for g in found.groups())
            return (first, last) if first <= last else None
    return None


def error_answer(url: str, method: str, error: Any) -> RpcError:
    """The project's error for a JSON-RPC ``error`` member (``{code, message, data}``) answering ``method``."""
    if isinstance(error, dict):
        code, message, data = error.get("code"), error.get("message"), error.get("data")
    else:
        code, message, data = None, error, None
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    text = "no message" if message is None else str(message)
    url = redact_url(url)
    detail = f"{method} failed on {url}: {text}" + ("" if code is None else f" (code {code})")
    whole = (text if data is None else f"{text} {json.dumps(data, default=str)}").lower()
    if method == "eth_getLogs" and is_range_refusal(code, whole):
        suggested = _suggested(whole, data)
        if any(phrase in whole for phrase in _CAP_PHRASES):
            return ResultCapExceeded(
                detail, url=url, code=code, hint="ask for a smaller block range",
                cap=_first_count(_RESULT_CAPS, whole), suggested=suggested,
            )
        return LogRangeRefused(
            detail, url=url, code=code, hint="ask for a smaller block range",
            limit=_first_count(_BLOCK_LIMITS, whole), suggested=suggested,
        )
    return RpcError(detail, url=url, code=code)


# ------------------------------------------------------------------ the client


class RpcClient:
    """One node's JSON-RPC endpoint; each call is one POST, bounded by ``timeout`` per attempt and tried
    again as ``retry`` says, on the thread's kept connection when it may be sent again (see the module
    docstring)."""

    def __init__(self, url: str, timeout: float, retry: Retry | None = None) -> None:
        from urllib.parse import urlsplit  # lazy: only a command that calls a node pays

        self.url = url
        self.shown = redact_url(url)  # what messages name: no API key
        self.timeout = timeout
        self.retry = Retry() if retry is None else retry
        self._rng = random.Random()
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "User-Agent": "provenance"}
        # what an answer must not be quoted with: the parts of the URL that may hold a key
        self._secrets = sorted(
            {s for s in (parts.username, parts.password, *re.split(r"[/?&=;]", self._path)) if s and len(s) >= 6},
            key=len,
            reverse=True,
        )
        if parts.username or parts.password:  # https://user:key@node/... as some providers give them
            import base64  # lazy: only for URLs that carry credentials

            token = base64.b64encode(f"{parts.username or ''}:{parts.password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._ids = itertools.count(1)
        self._kept = threading.local()  # per thread: (pid, connection), the pid so a forked child opens its own

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The ``result`` of one call; raises the project's errors (see the module docstring)."""
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        response = self.exchange(method, body.encode())
        if not isinstance(response, dict):  # a list: the answer to a batch, not to this call
            raise BadNodeAnswer(f"the node at {self.shown} did not answer JSON-RPC to {method}", url=self.shown)
        if "error" in response:
            raise error_answer(self.shown, method, response["error"])
        if "result" not in response:
            raise BadNodeAnswer(f"the node at {self.shown} did not answer JSON-RPC to {method}", url=self.shown)
        return response["result"]

    def call_each(self, method: str, params_list: Sequence[Sequence[Any]]) -> list[Any]:
        """The results of several calls of one read (:data:`IDEMPOTENT`), in order, sent as one JSON-RPC
        batch: a batch reader asks the registry about every member of a chunk in one exchange instead of
        one each. An item the node answered with an error is that error (an :class:`RpcError`, not raised);
        a node or gateway that does not take batches is asked one call at a time."""
        if method not in IDEMPOTENT:
            raise ValueError(f"only reads are sent as a batch, not {method}")
        if len(params_list) > BATCH_MAX:
            return [result for start in range(0, len(params_list), BATCH_MAX)
                    for result in self.call_each(method, params_list[start : start + BATCH_MAX])]
        if not params_list:
            return []
        ids = [next(self._ids) for _ in params_list]
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": method, "params": list(p)}
                           for i, p in zip(ids, params_list, strict=True)])
        try:
            response: Any = self.exchange(method, body.encode())
        except RpcError:  # an HTTP error answer to the batch itself: batches are not taken there
            response = None
        if isinstance(response, list):
            by_id = {item.get("id"): item for item in response if isinstance(item, dict)}
            if all(i in by_id and ("result" in by_id[i] or "error" in by_id[i]) for i in ids):
                return [error_answer(self.shown, method, by_id[i]["error"]) if "error" in by_id[i]
                        else by_id[i]["result"] for i in ids]
        results: list[Any] = []
        for params in params_list:  # refused, or answered in part: one at a time
            try:
                results.append(self.call(method, params))
            except RpcError as err:
                results.append(err)
        return results

    def exchange(self, method: str, body: bytes) -> dict[str, Any] | list[Any]:
        """The node's JSON-RPC response object to ``body`` (a request for ``method``), which may carry an
        ``error`` member; transient faults are retried, and raise once the retries are spent."""
        retry = self.retry
        began = time.monotonic()
        timeouts = 0
        for attempt in itertools.count(1):
            outcome = self._attempt(method, body)
            if not isinstance(outcome, _Fault):
                return outcome
            fault = outcome
            timeouts += fault.timed_out
            safe = not fault.reached or method in _RESENDABLE
            waited = time.monotonic() - began
            delay = max(retry.delay(attempt, self._rng), fault.retry_after or 0.0)
            if (
                not safe
                or attempt >= retry.attempts
                or timeouts > retry.timeouts
                or waited + delay > retry.budget
            ):
                raise self._gave_up(method, fault, attempt, waited, delay if safe else None)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ one attempt

    def _attempt(self, method: str, body: bytes) -> dict[str, Any] | list[Any] | _Fault:
        import http.client  # lazy: a short command that never calls the node does not pay for it

        reusable = method in _RESENDABLE
        kept = getattr(self._kept, "connection", None) if reusable else None
        if kept is not None and kept[0] == os.getpid():
            self._kept.connection = None  # taken: put back only after a whole answer was read
            answer = self._post(kept[1], body, http.client)
            if not isinstance(answer, _Stale):
                return self._answered(method, answer, kept[1], keep=True)
            kept[1].close()  # closed by the node while idle: nothing was read, so a new connection at once
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.timeout)
        try:
            connection.connect()
        except ConnectionRefusedError:
            raise LedgerUnavailable(self.shown, "connection refused") from None
        except TimeoutError:
            return _Fault(f"no connection within {self.timeout:g} s", reached=False, timed_out=True)
        except OSError as err:  # no route, name not found, TLS refused: nothing to try again
            raise LedgerUnavailable(self.shown, type(err).__name__) from None
        answer = self._post(connection, body, http.client)
        if isinstance(answer, _Stale):
            answer = _Fault(f"the connection was closed without an answer ({answer.error})", reached=True)
        return self._answered(method, answer, connection, keep=reusable)

    def _post(self, connection: Any, body: bytes, http_client: Any) -> tuple[Any, bytes] | _Fault | _Stale:
        """The HTTP answer and its whole body, or what went wrong (the connection is then closed)."""
        try:
            connection.request("POST", self._path, body, self._headers)
            answer = connection.getresponse()
            return answer, answer.read()
        except TimeoutError:
            connection.close()
            return _Fault(f"no answer within {self.timeout:g} s", reached=True, timed_out=True)
        except (http_client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as err:
            connection.close()
            return _Stale(type(err).__name__)
        except (OSError, http_client.HTTPException) as err:
            connection.close()
            return _Fault(f"the connection was closed without an answer ({type(err).__name__})", reached=True)

    def _answered(
        self, method: str, answer: tuple[Any, bytes] | _Fault, connection: Any, keep: bool
    ) -> dict[str, Any] | list[Any] | _Fault:
        """The response (or fault) of a complete exchange; ``connection`` kept for this thread's next call
        when ``keep`` and the node did not ask to close it, else closed."""
        if isinstance(answer, _Fault):  # _post closed the connection
            return answer
        response, payload = answer
        if keep and not response.will_close:
            self._kept.connection = (os.getpid(), connection)
        else:
            connection.close()
        return self._read(method, response.status, response.reason, response.getheader("Retry-After"), payload)

    def _read(
        self, method: str, status: int, reason: str, retry_after: str | None, payload: bytes
    ) -> dict[str, Any] | list[Any] | _Fault:
        """The response object of a complete HTTP answer, or the fault it is."""
        try:
            response = json.loads(payload)
        except ValueError:
            response = None
        error = response.get("error") if isinstance(response, dict) else None
        said = f"HTTP {status} {reason}".rstrip()
        if retry_after is not None:
            said += f", Retry-After {self._scrub(retry_after)[:40]}"
        wait = retry_after_seconds(retry_after)
        if error is not None:
            said += f": {self._quote_error(error)}"
        elif status != 200 and payload:
            said += f": {self._quote(payload.decode('utf-8', 'replace'))}"
        if status == 429:  # the gateway refused it: the node did not act on it
            return _Fault(said, reached=False, rate_limited=True, retry_after=wait)
        if status in _TRANSIENT_STATUSES and not (status == 500 and error is not None):
            return _Fault(said, reached=status != 503, retry_after=wait)
        if not isinstance(response, (dict, list)):  # a list answers a batch (call_each)
            if status != 200:
                raise RpcError(f"{method} failed on {self.shown}: {said}", url=self.shown)
            raise BadNodeAnswer(f"the node at {self.shown} did not answer JSON-RPC to {method}", url=self.shown)
        if status != 200 and error is None:
            raise RpcError(f"{method} failed on {self.shown}: {said}", url=self.shown)
        return response

    def _gave_up(self, method: str, fault: _Fault, attempts: int, waited: float, delay: float | None) -> Exception:
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts over {waited:.1f} s"
        detail = f"{method}: {fault.detail}; {tries}"
        if delay is None:
            detail += ", not sent again: the node may have acted on it"
        elif fault.retry_after is not None and waited + delay > self.retry.budget:
            detail += f"; it asks to wait {fault.retry_after:g} s, past the {self.retry.budget:g} s a call may take"
        if fault.rate_limited:
            return RateLimited(self.shown, detail, retry_after=fault.retry_after, hint="try again later, or use an "
                               "RPC provider plan with a higher request rate")
        return LedgerUnavailable(self.shown, detail)

    # ------------------------------------------------------------ quoting the node

    def _scrub(self, text: str) -> str:
        """``text`` without the URL's parts that may hold an API key (a node may echo the request)."""
        for secret in self._secrets:
            text = text.replace(secret, "…")
        return text.replace(self.url, self.shown)

    def _quote(self, text: str, limit: int = 160) -> str:
        text = " ".join(self._scrub(text).split())
        return repr(text if len(text) <= limit else text[:limit] + "…")

    def _quote_error(self, error: Any) -> str:
        if not isinstance(error, dict):
            return f"JSON-RPC error {self._quote(str(error))}"
        code = error.get("code")
        return f"JSON-RPC error {code} {self._quote(str(error.get('message', '')))}"


def web3_provider(client: RpcClient) -> Any:
    """A web3 provider sending through ``client``: web3's calls get the same retries and errors."""
    from provenance._imports import recursion_limit_kept

    with recursion_limit_kept():  # web3 (py_ecc) raises the recursion limit on import
        from web3.providers.base import JSONBaseProvider  # lazy: only the write path imports web3
        from web3.types import RPCEndpoint, RPCResponse

    class ClientProvider(JSONBaseProvider):
        def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
            return cast(RPCResponse, client.exchange(str(method), self.encode_rpc_request(method, params)))

    return ClientProvider()

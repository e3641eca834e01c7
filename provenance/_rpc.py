"""JSON-RPC over plain HTTP, and what a node's answers mean (private: the ledger adapter's transport).

:class:`RpcClient` sends one call per HTTP POST and turns every way it can go
wrong into the project's errors: a node that does not answer (refused,
timed out, a gateway saying the node behind it is down or rate limiting)
becomes :class:`LedgerUnavailable`; a JSON-RPC ``error`` member becomes
:class:`RpcError` with the node's code, or :class:`LogRangeRefused` when it is
an ``eth_getLogs`` range the node will not serve; an answer that is not
JSON-RPC becomes :class:`BadNodeAnswer`.

An RPC URL often carries a provider's API key (``https://host/v3/KEY``,
``https://user:key@host``, ``?apikey=KEY``): :func:`redact_url` keeps only its
scheme, host and port, and every message, log line and banner shows that.

http.client rather than urllib.request or requests: it is what urllib uses
underneath, and importing it alone keeps a short command's start-up short.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from provenance.errors import BadNodeAnswer, LedgerUnavailable, LogRangeRefused, RpcError

__all__ = ["RpcClient", "error_answer", "is_range_refusal", "redact_url"]


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

# What a provider's gateway answers while the node behind it is down, overloaded or rate limiting:
# the node did not do the work, and asking again later is the remedy.
_UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})

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


def is_range_refusal(code: int | None, text: str) -> bool:
    """Whether an ``eth_getLogs`` error (its code, its message and data) refuses the range or result count."""
    text = text.lower()
    if any(phrase in text for phrase in _RATE_LIMIT):
        return False
    if any(phrase in text for phrase in _RANGE_PHRASES):
        return True
    return code in _LIMIT_CODES and ("limit" in text or "exceed" in text)


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
    if method == "eth_getLogs" and is_range_refusal(code, text if data is None else f"{text} {data}"):
        return LogRangeRefused(detail, url=url, code=code, hint="ask for a smaller block range")
    return RpcError(detail, url=url, code=code)


class RpcClient:
    """One node's JSON-RPC endpoint; each call is one POST on its own connection, bounded by ``timeout``."""

    def __init__(self, url: str, timeout: float) -> None:
        from urllib.parse import urlsplit  # lazy, as http.client below: only a command that calls a node pays

        self.url = url
        self.shown = redact_url(url)  # what messages name: no API key
        self.timeout = timeout
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "User-Agent": "provenance"}
        if parts.username or parts.password:  # https://user:key@node/... as some providers give them
            import base64  # lazy: only for URLs that carry credentials

            token = base64.b64encode(f"{parts.username or ''}:{parts.password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._ids = itertools.count(1)

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The ``result`` of one call; raises the project's errors (see the module docstring)."""
        import http.client  # lazy: a short command that never calls the node does not pay for it

        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.timeout)
        try:
            connection.request("POST", self._path, body.encode(), self._headers)
            answer = connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as err:
            raise LedgerUnavailable(self.shown, type(err).__name__) from None
        finally:
            connection.close()
        try:
            response = json.loads(payload)
        except ValueError:
            response = None
        if isinstance(response, dict) and "error" in response:
            raise error_answer(self.shown, method, response["error"])
        if answer.status != 200:
            if answer.status in _UNAVAILABLE_STATUSES:
                raise LedgerUnavailable(self.shown, f"HTTP {answer.status}")
            raise RpcError(f"{method} failed on {self.shown}: HTTP {answer.status}", url=self.shown)
        if not isinstance(response, dict) or "result" not in response:
            raise BadNodeAnswer(f"the node at {self.shown} did not answer JSON-RPC to {method}", url=self.shown)
        return response["result"]

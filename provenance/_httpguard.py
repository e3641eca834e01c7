"""The connection layer of :mod:`provenance.fetch` (httpcore and httpx), imported on its first download only.

:class:`Guard` checks every address a host resolves to against the fetcher's
rule before connecting; :class:`GuardedTransport` is httpx's transport over a
connection pool that connects through it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from provenance.fetch import _AddressRule, _Refused

__all__ = ["Guard", "GuardedTransport"]


class Guard(httpcore.NetworkBackend):
    """httpcore's network layer with the address check between resolving a host and connecting to it.

    httpcore hands ``connect_tcp`` the URL's host; this resolves it once
    (``socket.getaddrinfo``), refuses the connection if any address is not
    allowed, then connects to a checked address by its IP. So a host that
    answers DNS with a public address for a check and a private one for the
    connection (DNS rebinding) gains nothing: there is one resolution. The
    request keeps the host name, so the ``Host`` header, TLS SNI and the
    certificate check are those of the name. Every hop of a redirect opens its
    connection here (a connection reused from the pool was checked when opened).
    Not covered: the time ``getaddrinfo`` itself takes (the system resolver's
    own timeout), and proxies (none is used).
    """

    def __init__(self, rule: _AddressRule) -> None:
        self._inner = httpcore.SyncBackend()
        self._rule = rule

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as err:
            raise httpcore.ConnectError(f"{host} does not resolve ({err})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            reason = self._rule.refusal(address)
            if reason is not None:
                raise _Refused(host, address, reason)
        failure: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                failure = err
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never fetched from")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that connects through :class:`Guard`.

    httpx 0.28 has no argument for httpcore's ``network_backend``; its pool
    (``_pool``, the one thing ``HTTPTransport`` holds) is replaced by one built
    with it. Pinned versions (requirements.lock); tests/test_fetch.py fails if
    the guard is bypassed.
    """

    def __init__(self, guard: Guard, ssl_context: Any) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=guard, max_connections=4)

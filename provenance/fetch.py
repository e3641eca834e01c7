"""Fetching a Statement or a batch document named by a record's ``uri``, safely.

A record's ``uri`` (signed, on chain) says where its Statement, or a batch's
document, is published. The CLI and the service fetch it here, and only here.
What a uri may be (:func:`parse_location`)::

    https://HOST/PATH                     as is
    http://HOST/PATH                      only with private addresses allowed (tests, local nodes)
    ipfs://CID[/PATH]                     GATEWAY/ipfs/CID[/PATH]   (PROVENANCE_IPFS_GATEWAY, https://ipfs.io)
    hf://ORG/NAME@REVISION/PATH           ENDPOINT/ORG/NAME/resolve/REVISION/PATH            (a model repo)
    hf://datasets/ORG/NAME@REVISION/PATH  ENDPOINT/datasets/ORG/NAME/resolve/REVISION/PATH   (HF_ENDPOINT,
                                          https://huggingface.co)
    file:///ABSOLUTE/PATH                 only where the caller allows it (the CLI)

Nothing fetched is trusted: the bytes go to the verifier, which checks them
against the chain. What this module guards is the fetching itself, since a
uri is written by whoever registered the record (:class:`Fetcher`): a size
limit read as the body streams in, timeouts and a total deadline, retries with
exponential backoff on connection errors, timeouts, 5xx and 429 only, redirects
followed by hand (at most :data:`MAX_REDIRECTS`) with the scheme and the
address checked again at each hop, and no loopback, private, link-local,
multicast, reserved or unspecified address unless allowed (one setting:
``PROVENANCE_FETCH_PRIVATE`` or ``provenance serve --fetch-private``).

The client is httpx (a maintained client with timeouts, streaming and
redirect control); the address check sits in its connection layer (see
:class:`provenance._httpguard.Guard`), so the address checked is the address
connected to. httpx is imported on the first download, not with this module:
a command that fetches nothing does not pay for it (about 70 ms).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import re
import stat
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from provenance._files import write_atomic
from provenance.errors import FetchError, InvalidValue

if TYPE_CHECKING:  # pragma: no cover
    import httpx

__all__ = [
    "Location",
    "Fetcher",
    "parse_location",
    "check_uri",
    "address_refusal",
    "env_allows_private",
    "cache_dir_for",
    "SCHEMES",
    "MAX_STATEMENT_BYTES",
    "MAX_BATCH_DOCUMENT_BYTES",
    "MAX_REDIRECTS",
    "PRIVATE_ENV",
    "IPFS_GATEWAY_ENV",
    "HF_ENDPOINT_ENV",
    "DEFAULT_IPFS_GATEWAY",
    "DEFAULT_HF_ENDPOINT",
]

#: What a uri may start with, as shown in messages and help texts.
SCHEMES = (
    "https://…",
    "ipfs://CID[/PATH]",
    "hf://ORG/NAME@REVISION/PATH",
    "hf://datasets/ORG/NAME@REVISION/PATH",
    "file:///PATH (command line only)",
    "http://… (only with PROVENANCE_FETCH_PRIVATE)",
)

#: The default size limit: a Statement.
MAX_STATEMENT_BYTES = 4 << 20
#: The limit callers pass for a batch document.
MAX_BATCH_DOCUMENT_BYTES = 64 << 20
#: Redirects followed, at most, from the first URL.
MAX_REDIRECTS = 5

#: "1" or "true": fetch from loopback, private and link-local addresses, and over plain http.
PRIVATE_ENV = "PROVENANCE_FETCH_PRIVATE"
#: The IPFS gateway ``ipfs://`` uris are fetched through (its root URL).
IPFS_GATEWAY_ENV = "PROVENANCE_IPFS_GATEWAY"
#: The Hugging Face Hub endpoint, Hugging Face's own variable (mirrors set it too).
HF_ENDPOINT_ENV = "HF_ENDPOINT"
DEFAULT_IPFS_GATEWAY = "https://ipfs.io"
DEFAULT_HF_ENDPOINT = "https://huggingface.co"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = "provenance-ledger (+https://provenance-ledger.dev)"
# one path segment of RFC 3986 (unreserved, percent-encoded, sub-delims, ':' and '@'); no '?' or '#'
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%-]+", re.ASCII)
_CID = re.compile(r"[A-Za-z0-9]{10,128}", re.ASCII)
_HF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}", re.ASCII)
_HF_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%-]{0,254}", re.ASCII)
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Location:
    """Where a uri points, parsed (:func:`parse_location`); :meth:`http_url` is what is fetched.

    ``scheme`` is ``https``, ``http``, ``ipfs``, ``hf`` or ``file``. ``url``: the
    URL of ``https``/``http``. ``cid`` and ``path`` (no leading ``/``, may be
    empty): ``ipfs``. ``repo`` (``ORG/NAME`` or ``datasets/ORG/NAME``),
    ``revision`` and ``path``: ``hf``. ``path``: the absolute local path of ``file``.
    """

    uri: str
    scheme: str
    url: str = ""
    cid: str = ""
    repo: str = ""
    revision: str = ""
    path: str = ""

    def http_url(self, *, ipfs_gateway: str = DEFAULT_IPFS_GATEWAY, hf_endpoint: str = DEFAULT_HF_ENDPOINT) -> str:
        """The URL fetched for this location (``file`` has none: :class:`InvalidValue`)."""
        if self.scheme in ("https", "http"):
            return self.url
        if self.scheme == "ipfs":
            tail = f"/{self.path}" if self.path else ""
            return f"{_base_url(ipfs_gateway, IPFS_GATEWAY_ENV)}/ipfs/{self.cid}{tail}"
        if self.scheme == "hf":
            return f"{_base_url(hf_endpoint, HF_ENDPOINT_ENV)}/{self.repo}/resolve/{self.revision}/{self.path}"
        raise InvalidValue(f"{self.uri} is a local file, not fetched over HTTP")


def parse_location(uri: str, *, allow_file: bool) -> Location:
    """Parse a record's ``uri``; :class:`InvalidValue` naming it and the accepted forms when it is none of them.

    Plain ``http://`` parses (whether it may be fetched is the fetcher's
    setting); ``file://`` only with ``allow_file``.
    """
    if not isinstance(uri, str) or not uri:
        raise _not_accepted(uri, "it is empty")
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("https", "http", "ipfs", "hf", "file"):
        raise _not_accepted(uri, f"the scheme {scheme + '://' if sep else '(none)'} is not one of them")
    if scheme == "file":
        return _parse_file(uri, allow_file)
    if any(not 0x21 <= ord(c) <= 0x7E or c == "\\" for c in uri):
        raise _not_accepted(uri, "it holds spaces, control or non-ASCII characters (percent-encode them)")
    if scheme in ("https", "http"):
        return _parse_http(uri, scheme)
    if scheme == "ipfs":
        cid, _, path = rest.partition("/")
        if not _CID.fullmatch(cid):
            raise _not_accepted(uri, f"{cid!r} is not a CID (letters and digits)")
        return Location(uri, "ipfs", cid=cid, path=_check_path(uri, path, optional=True))
    return _parse_hf(uri, rest)


def check_uri(uri: str, *, allow_file: bool = True) -> str:
    """``uri`` when it is one a record may carry (the empty string: no uri); :class:`InvalidValue` otherwise.

    For ``register --uri`` and ``anchor --uri``: the uri is checked before
    anything is signed, so a record never carries one no fetcher accepts.
    """
    if uri != "":
        parse_location(uri, allow_file=allow_file)
    return uri


def env_allows_private(environ: Mapping[str, str] | None = None) -> bool:
    """Whether :data:`PRIVATE_ENV` allows private addresses: ``1``/``true``/``yes``/``on``; unset or ``0``... not.

    Any other value is an :class:`InvalidValue` naming the variable: a typo must
    not silently leave the guard on or off.
    """
    value = (os.environ if environ is None else environ).get(PRIVATE_ENV, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise InvalidValue(f"{PRIVATE_ENV} must be 1/true or 0/false, got {value!r}")


def cache_dir_for(home: Path) -> Path:
    """Where fetched documents are kept under a ``PROVENANCE_HOME``: ``HOME/cache/fetched``."""
    return Path(home) / "cache" / "fetched"


class Fetcher:
    """Fetches what a uri names: bounded in size and time, from public addresses only unless allowed.

    ``allow_private``: False (the default) refuses plain ``http://`` and any
    host that resolves to a loopback, private, link-local, multicast, reserved,
    unspecified or otherwise non-global address (IPv4-mapped IPv6 included);
    True allows them all (a local node, tests); a sequence of networks (e.g.
    ``["127.0.0.0/8"]``) allows those addresses only, and plain http. ``cache_dir``:
    fetched bytes are kept there by SHA-256 (None: nothing kept). ``max_bytes``:
    the largest body accepted (:data:`MAX_STATEMENT_BYTES`; pass
    :data:`MAX_BATCH_DOCUMENT_BYTES` for a batch document). ``timeout``: seconds
    to connect and between two reads; ``deadline``: seconds for the whole fetch,
    redirects and retries included. ``retries``: further attempts after a
    connection error, a timeout, a 5xx or a 429 (never after another 4xx),
    ``backoff`` seconds before the first, doubling each time (at least what a
    ``Retry-After`` asks). ``allow_file``: ``file://`` is read (the CLI only).
    ``ipfs_gateway`` and ``hf_endpoint``: see :class:`Location`.

    Safe to share between threads. A client without a proxy: the address check
    needs to see the address connected to.
    """

    def __init__(
        self,
        *,
        allow_private: bool | Sequence[str] = False,
        cache_dir: Path | None = None,
        max_bytes: int = MAX_STATEMENT_BYTES,
        timeout: float = 10.0,
        deadline: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        allow_file: bool = False,
        ipfs_gateway: str = DEFAULT_IPFS_GATEWAY,
        hf_endpoint: str = DEFAULT_HF_ENDPOINT,
    ) -> None:
        if type(max_bytes) is not int or max_bytes < 1:
            raise InvalidValue(f"max_bytes must be an integer >= 1, got {max_bytes!r}")
        if type(retries) is not int or retries < 0:
            raise InvalidValue(f"retries must be an integer >= 0, got {retries!r}")
        if not (timeout > 0 and deadline > 0 and backoff >= 0):
            raise InvalidValue("timeout and deadline must be > 0 seconds, backoff >= 0")
        self.allow_private = allow_private if isinstance(allow_private, bool) else tuple(allow_private)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.max_bytes = max_bytes
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self.retries = retries
        self.backoff = float(backoff)
        self.allow_file = allow_file
        self.ipfs_gateway = _base_url(ipfs_gateway, IPFS_GATEWAY_ENV)
        self.hf_endpoint = _base_url(hf_endpoint, HF_ENDPOINT_ENV)
        self._rule = _AddressRule(self.allow_private)
        self._index: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ssl: Any = None  # the TLS context, made on first use (loading the CA bundle takes a while)

    @classmethod
    def from_environment(
        cls,
        home: Path | None,
        *,
        allow_private: bool | None = None,
        allow_file: bool = False,
        max_bytes: int = MAX_STATEMENT_BYTES,
        environ: Mapping[str, str] | None = None,
    ) -> Fetcher:
        """A fetcher set from the environment (:data:`PRIVATE_ENV`, :data:`IPFS_GATEWAY_ENV`,
        :data:`HF_ENDPOINT_ENV`), caching under :func:`cache_dir_for` ``home`` (None: no cache).

        ``allow_private`` given (e.g. ``serve --fetch-private``) wins over the variable.
        """
        env = os.environ if environ is None else environ
        return cls(
            allow_private=env_allows_private(env) if allow_private is None else allow_private,
            cache_dir=None if home is None else cache_dir_for(home),
            max_bytes=max_bytes,
            allow_file=allow_file,
            ipfs_gateway=env.get(IPFS_GATEWAY_ENV) or DEFAULT_IPFS_GATEWAY,
            hf_endpoint=env.get(HF_ENDPOINT_ENV) or DEFAULT_HF_ENDPOINT,
        )

    # ------------------------------------------------------------------ fetching

    def fetch(self, uri: str) -> bytes:
        """The bytes ``uri`` names; :class:`FetchError` naming the uri, the URL last asked and why not.

        A uri fetched before by this fetcher is served from the cache when its
        entry still has the digest it was stored under.
        """
        try:
            location = parse_location(uri, allow_file=True)
        except InvalidValue as err:
            raise FetchError(f"could not fetch {uri!r}: {err}", uri=uri, hint=err.hint) from None
        if location.scheme == "file":
            if not self.allow_file:
                raise FetchError(f"could not fetch {uri}: file:// is read on the command line only", uri=uri)
            return self._read_file(location)
        with self._lock:
            known = self._index.get(uri)
        if known is not None:
            data = self.cached(known)
            if data is not None:
                return data
        url = location.http_url(ipfs_gateway=self.ipfs_gateway, hf_endpoint=self.hf_endpoint)
        data = self._download(uri, url)
        digest = self._keep(data)
        if digest is not None:
            with self._lock:
                self._index[uri] = digest
        return data

    def cached(self, sha256: str | bytes) -> bytes | None:
        """The cached bytes whose SHA-256 is ``sha256`` (hex or 32 bytes), or None.

        An entry whose content no longer has that digest (or is larger than
        ``max_bytes``) is removed and None returned.
        """
        if self.cache_dir is None:
            return None
        digest = sha256.hex() if isinstance(sha256, bytes) else sha256.lower().removeprefix("0x")
        if not _SHA256.fullmatch(digest):
            raise InvalidValue(f"a SHA-256 digest is 64 hex digits, got {sha256!r}")
        path = self.cache_dir / digest
        try:
            data = _read_limited(path, self.max_bytes, follow=False)
        except OSError:
            return None
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return data

    def _keep(self, data: bytes) -> str | None:
        """Store ``data`` under its digest; None when there is no cache or it cannot be written (not an error)."""
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        if self.cached(digest) is None:
            try:
                write_atomic(self.cache_dir / digest, data, mode=0o600)
            except (OSError, InvalidValue):  # a read-only home, a full disk, a planted link: fetch without caching
                return None
        return digest

    def _read_file(self, location: Location) -> bytes:
        try:
            data = _read_limited(Path(location.path), self.max_bytes, follow=True)
        except OSError as err:
            raise FetchError(
                f"could not read {location.uri}: {err.strerror or err}", uri=location.uri, url=location.path
            ) from None
        if data is None:
            raise FetchError(
                f"could not read {location.uri}: not a regular file, or more than {self.max_bytes} bytes",
                uri=location.uri, url=location.path,
            )
        return data

    def _download(self, uri: str, url: str) -> bytes:
        """GET ``url``, following redirects by hand: each hop's scheme checked here, its address by the guard."""
        import httpx

        from provenance._httpguard import Guard, GuardedTransport

        deadline = time.monotonic() + self.deadline
        transport = GuardedTransport(Guard(self._rule), self._ssl_context())
        with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                self._check_scheme(uri, url)
                outcome = self._get(client, uri, url, deadline)
                if isinstance(outcome, bytes):
                    return outcome
                url = outcome
        raise FetchError(f"could not fetch {uri}: more than {MAX_REDIRECTS} redirects (the last to {url})",
                         uri=uri, url=url)

    def _check_scheme(self, uri: str, url: str) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https" or (scheme == "http" and self.allow_private is not False):
            return
        why = (
            "plain http is refused: only https is fetched"
            if scheme == "http"
            else f"the scheme {scheme}:// is refused: only https is fetched"
        )
        raise FetchError(
            f"could not fetch {uri}{_via(uri, url)}: {why}", uri=uri, url=url,
            hint=f"publish over https; plain http only for a local node or tests ({PRIVATE_ENV}=1 or "
            "`provenance serve --fetch-private`)" if scheme == "http" else None,
        )

    def _get(self, client: httpx.Client, uri: str, url: str, deadline: float) -> bytes | str:
        """One hop: the body (200) or the next URL (a redirect), with retries."""
        import httpx

        attempts = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._error(uri, url, f"the deadline of {self.deadline:g} s passed")
            timeout = min(self.timeout, remaining)
            attempts += 1
            wait = 0.0
            last_status: int | None = None
            try:
                with client.stream("GET", url, headers=_HEADERS, timeout=httpx.Timeout(timeout)) as response:
                    status = response.status_code
                    if status in _REDIRECTS:
                        return self._next_hop(uri, url, response)
                    if status == 200:
                        return self._read_body(uri, url, response, deadline)
                    failure = f"HTTP {status} {response.reason_phrase}".rstrip()
                    if status != 429 and not 500 <= status <= 599:
                        raise self._error(uri, url, failure, status=status)
                    wait = _retry_after(response.headers.get("retry-after"))
                    last_status = status
            except _Refused as err:
                raise self._error(
                    uri, url, f"refused address: {err.host} resolves to {err.address} ({err.reason})",
                    hint=f"only public addresses are fetched; for a local node or tests set {PRIVATE_ENV}=1 "
                    "(or `provenance serve --fetch-private`)",
                ) from None
            except httpx.TimeoutException:
                failure = f"timeout: no answer within {timeout:g} s"
            except (httpx.NetworkError, httpx.RemoteProtocolError) as err:
                failure = f"connection failed ({err or type(err).__name__})"
            except httpx.HTTPError as err:  # a local protocol error, an unsupported URL: retrying cannot help
                raise self._error(uri, url, f"{type(err).__name__}: {err}") from None
            if attempts > self.retries:
                tries = f"{attempts} attempts" if attempts > 1 else "no retry"
                raise self._error(uri, url, f"{failure} ({tries})", status=last_status)
            pause = max(self.backoff * 2 ** (attempts - 1), wait)
            if time.monotonic() + pause >= deadline:
                raise self._error(
                    uri, url, f"{failure} ({attempts} attempts; the deadline of {self.deadline:g} s allows no more)",
                    status=last_status,
                )
            time.sleep(pause)

    def _next_hop(self, uri: str, url: str, response: httpx.Response) -> str:
        import httpx

        target = response.headers.get("location")
        if not target:
            raise self._error(uri, url, f"HTTP {response.status_code} redirect without a Location",
                              status=response.status_code)
        try:
            return str(response.url.join(target))
        except httpx.InvalidURL as err:
            raise self._error(uri, url, f"a redirect to an unusable URL {target!r} ({err})") from None

    def _read_body(self, uri: str, url: str, response: httpx.Response, deadline: float) -> bytes:
        """The body, read as it streams in and dropped at ``max_bytes + 1``; never decompressed."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":  # asked for identity: a compressed body could expand past any limit
            raise self._error(uri, url, f"the body is {encoding}-encoded although identity was asked for")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._error(uri, url, f"more than {self.max_bytes} bytes (Content-Length {declared})")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > self.max_bytes:
                raise self._error(uri, url, f"more than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise self._error(uri, url, f"the deadline of {self.deadline:g} s passed while reading")
            chunks.append(chunk)
        return b"".join(chunks)

    def _error(self, uri: str, url: str, why: str, *, status: int | None = None, hint: str | None = None) -> FetchError:
        return FetchError(f"could not fetch {uri}{_via(uri, url)}: {why}", uri=uri, url=url, status=status, hint=hint)

    def _ssl_context(self) -> Any:
        with self._lock:
            if self._ssl is None:
                import httpx

                self._ssl = httpx.create_ssl_context()
            return self._ssl


# ---------------------------------------------------------------------- the address guard


class _Refused(Exception):
    """Raised inside the connection layer; :meth:`Fetcher._get` turns it into a FetchError naming the uri."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {address} ({reason})")
        self.host, self.address, self.reason = host, address, reason


class _AddressRule:
    """Which addresses may be connected to (``allow_private``: all, none, or these networks), checked by the
    connection layer of :mod:`provenance._httpguard` between resolving a host and connecting to it."""

    def __init__(self, allow_private: bool | tuple[str, ...]) -> None:
        self._all = allow_private is True
        networks: list[_Network] = []
        for network in () if isinstance(allow_private, bool) else allow_private:
            try:
                networks.append(ipaddress.ip_network(network, strict=False))
            except ValueError:
                raise InvalidValue(f"allow_private: {network!r} is not an IP network") from None
        self._networks = tuple(networks)

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be connected to, or None."""
        if self._all:
            return None
        reason = address_refusal(address)
        if reason is None:
            return None
        ip = ipaddress.ip_address(address.partition("%")[0])
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if any(ip in net or (mapped is not None and mapped in net) for net in self._networks):
            return None
        return reason


def address_refusal(address: str) -> str | None:
    """Why an IP address is not public (``loopback``, ``private``, ...), or None when it is."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    prefix = ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip, prefix = ip.ipv4_mapped, "IPv4-mapped "
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("not global", not ip.is_global),
    ):
        if flag:
            return prefix + reason
    return None


# ---------------------------------------------------------------------- parsing


def _parse_http(uri: str, scheme: str) -> Location:
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as err:
        raise _not_accepted(uri, f"it is not a URL ({err})") from None
    if not parts.hostname:
        raise _not_accepted(uri, "it names no host")
    if "@" in parts.netloc:
        raise _not_accepted(uri, "it carries a user name or password")
    if port == 0:
        raise _not_accepted(uri, "port 0")
    return Location(uri, scheme, url=uri)


def _parse_hf(uri: str, rest: str) -> Location:
    kind = ""
    if rest.startswith("datasets/"):
        kind, rest = "datasets/", rest.removeprefix("datasets/")
    org, _, rest = rest.partition("/")
    name_rev, _, path = rest.partition("/")
    name, at, revision = name_rev.partition("@")
    form = f"hf://{kind}ORG/NAME@REVISION/PATH"
    if not at:
        raise _not_accepted(
            uri, f"a Hugging Face uri names its revision: {form}, the revision the commit hash "
            "(the record never changes; a branch does)",
        )
    for part, what, pattern in ((org, "organisation", _HF_NAME), (name, "repository", _HF_NAME),
                                (revision, "revision", _HF_REVISION)):
        if not pattern.fullmatch(part) or ".." in part:
            raise _not_accepted(uri, f"{part!r} is not a Hugging Face {what} name ({form})")
    if not path:
        raise _not_accepted(uri, f"it names no file in the repository ({form})")
    return Location(uri, "hf", repo=f"{kind}{org}/{name}", revision=revision, path=_check_path(uri, path))


def _parse_file(uri: str, allow_file: bool) -> Location:
    if not allow_file:
        raise _not_accepted(uri, "file:// is accepted on the command line only", schemes=SCHEMES[:4])
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        raise _not_accepted(uri, "it holds control characters")
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise _not_accepted(uri, "a file uri is file:///ABSOLUTE/PATH")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise _not_accepted(uri, "a file uri is file:///ABSOLUTE/PATH")
    return Location(uri, "file", path=path)


def _check_path(uri: str, path: str, *, optional: bool = False) -> str:
    if not path and optional:
        return ""
    for segment in path.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise _not_accepted(uri, f"its path {path!r} has an empty, '.', '..' or unusual segment")
    return path


def _not_accepted(uri: object, why: str, *, schemes: Sequence[str] = SCHEMES) -> InvalidValue:
    return InvalidValue(
        f"uri {uri!r} is not accepted: {why}; accepted: " + ", ".join(schemes),
        hint="see docs/fetching.md",
    )


def _base_url(url: str, name: str) -> str:
    """A gateway or endpoint root: an http(s) URL with a host and no query, without its trailing slash."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidValue(f"{name} must be an http(s) URL such as https://host, got {url!r}")
    return url.rstrip("/")


# ---------------------------------------------------------------------- small helpers

_HEADERS = {"accept-encoding": "identity", "user-agent": _USER_AGENT}


def _via(uri: str, url: str) -> str:
    return "" if url == uri else f" (from {url})"


def _retry_after(value: str | None) -> float:
    """The seconds a ``Retry-After`` asks for (its date form is ignored), at most a minute."""
    if value is None or not value.strip().isdigit():
        return 0.0
    return min(float(value.strip()), 60.0)


def _read_limited(path: Path, limit: int, *, follow: bool) -> bytes | None:
    """A regular file's bytes, or None when it is not one or holds more than ``limit`` bytes."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    return None if len(data) > limit else data

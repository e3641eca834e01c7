"""provenance.fetch: uris parsed, fetched from real local HTTP servers, guarded, retried, cached. No internet."""

from __future__ import annotations

import datetime
import hashlib
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli.main import build_parser
from cli.main import main as cli_main
from provenance.errors import FetchError, InvalidValue
from provenance.fetch import (
    MAX_REDIRECTS,
    Fetcher,
    address_refusal,
    cache_dir_for,
    check_uri,
    env_allows_private,
    parse_location,
)

BODY = b'{"statement": "a Statement, as published"}'
CID = "bafybeigdyrztktx5b5m2o6wqrfpyq2i7jbzvhrbamrdxptkq6zmexq3ftq"
REV = "0123456789abcdef0123456789abcdef01234567"

Route = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """A real HTTP server on 127.0.0.1 (a free port), in a thread; ``hits`` counts requests per path."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits[self.path] += 1
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def body(data: bytes = BODY, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def sequence(*routes: Route) -> Route:
    """Each request the next route; the last one repeats."""
    calls = iter(routes)
    last = [routes[-1]]

    def route(handler: BaseHTTPRequestHandler) -> None:
        last[0] = next(calls, last[0])
        last[0](handler)

    return route


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def second_server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Host names answered by this map; every other name by the system."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def local_fetcher(**kwargs: object) -> Fetcher:
    """A fetcher allowed to reach the test servers (loopback and plain http), quick to give up."""
    options: dict[str, object] = {"allow_private": True, "timeout": 2.0, "backoff": 0.01}
    options.update(kwargs)
    return Fetcher(**options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- fetching


def test_fetch_ok(server: Server) -> None:
    server.routes["/statement.json"] = body()
    assert local_fetcher().fetch(server.url("/statement.json")) == BODY
    assert server.hits["/statement.json"] == 1


def test_404_names_the_status_and_is_not_retried(server: Server) -> None:
    uri = server.url("/missing.json")
    with pytest.raises(FetchError) as caught:
        local_fetcher(retries=3).fetch(uri)
    assert f"could not fetch {uri}: HTTP 404" in str(caught.value)
    assert caught.value.status == 404 and caught.value.uri == uri and caught.value.url == uri
    assert caught.value.exit_code == 2
    assert server.hits["/missing.json"] == 1


@pytest.mark.parametrize("status", [400, 403, 410, 451])
def test_other_4xx_are_not_retried(server: Server, status: int) -> None:
    server.routes["/x"] = body(b"no", status=status)
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        local_fetcher(retries=3).fetch(server.url("/x"))
    assert server.hits["/x"] == 1


def test_slow_server_times_out_after_the_retries(server: Server) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)
        body()(handler)

    server.routes["/slow"] = slow
    uri = server.url("/slow")
    with pytest.raises(FetchError) as caught:
        local_fetcher(timeout=0.5, retries=2).fetch(uri)
    assert "timeout: no answer within 0.5 s (3 attempts)" in str(caught.value)
    assert uri in str(caught.value)
    assert server.hits["/slow"] == 3


def test_a_dripping_body_stops_at_the_deadline(server: Server) -> None:
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        for _ in range(100):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)

    server.routes["/drip"] = drip
    start = time.monotonic()
    with pytest.raises(FetchError, match="the deadline of 1 s passed"):
        local_fetcher(timeout=0.5, deadline=1.0).fetch(server.url("/drip"))
    assert time.monotonic() - start < 3


def test_a_declared_oversized_body_is_refused_unread(server: Server) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10 << 20))
        handler.end_headers()
        handler.wfile.write(b"x" * 1000)  # and then nothing: a reader waiting for the rest would time out

    server.routes["/huge"] = huge
    with pytest.raises(FetchError, match=r"more than 1024 bytes \(Content-Length 10485760\)"):
        local_fetcher(max_bytes=1024, retries=3).fetch(server.url("/huge"))
    assert server.hits["/huge"] == 1  # too large is not retried


def test_an_endless_body_is_cut_at_the_limit(server: Server) -> None:
    written = [0]

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the body runs until the connection closes
        chunk = b"x" * 65536
        try:
            while written[0] < 1 << 30:
                handler.wfile.write(chunk)
                written[0] += len(chunk)
        except OSError:
            pass

    server.routes["/endless"] = endless
    start = time.monotonic()
    with pytest.raises(FetchError, match="more than 1024 bytes$"):
        local_fetcher(max_bytes=1024).fetch(server.url("/endless"))
    assert time.monotonic() - start < 5
    assert written[0] < 1 << 30


def test_5xx_then_200_is_retried(server: Server) -> None:
    server.routes["/flaky"] = sequence(body(b"down", 503), body(b"oops", 500), body())
    assert local_fetcher(retries=3).fetch(server.url("/flaky")) == BODY
    assert server.hits["/flaky"] == 3


def test_429_is_retried_and_gives_up_naming_it(server: Server) -> None:
    server.routes["/busy"] = body(b"slow down", 429, {"Retry-After": "0"})
    with pytest.raises(FetchError, match=r"HTTP 429 Too Many Requests \(3 attempts\)") as caught:
        local_fetcher(retries=2).fetch(server.url("/busy"))
    assert caught.value.status == 429
    assert server.hits["/busy"] == 3


def test_a_compressed_body_is_refused(server: Server) -> None:
    server.routes["/gz"] = body(b"\x1f\x8b...", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="gzip-encoded although identity was asked for"):
        local_fetcher().fetch(server.url("/gz"))


def test_connection_refused_is_retried_then_named(server: Server) -> None:
    port = server.port
    server.close()
    with pytest.raises(FetchError, match=r"connection failed .*\(2 attempts\)"):
        local_fetcher(retries=1).fetch(f"http://127.0.0.1:{port}/gone")


# ---------------------------------------------------------------------- addresses and redirects


def test_plain_http_is_refused_by_default_naming_https(server: Server) -> None:
    server.routes["/statement.json"] = body()
    with pytest.raises(FetchError, match="plain http is refused: only https is fetched") as caught:
        Fetcher().fetch(server.url("/statement.json"))
    assert "PROVENANCE_FETCH_PRIVATE" in (caught.value.hint or "")
    assert server.hits["/statement.json"] == 0


@pytest.mark.parametrize(("host", "address"), [("127.0.0.1", "127.0.0.1"), ("localhost", "")])
def test_loopback_is_refused_by_default_naming_the_address(host: str, address: str) -> None:
    uri = f"https://{host}:1/statement.json"  # port 1: were anything connected to, it would be refused anyway
    with pytest.raises(FetchError, match=f"refused address: {host} resolves to {address}") as caught:
        Fetcher(retries=0).fetch(uri)
    assert "(loopback)" in str(caught.value)


@pytest.mark.parametrize(
    ("address", "reason"),
    [("169.254.169.254", "link-local"), ("10.0.0.1", "private"), ("::ffff:10.0.0.1", "IPv4-mapped private"),
     ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("100.64.0.1", "not global"), ("fe80::1", "link-local")],
)
def test_a_host_resolving_to_a_private_address_is_refused_before_connecting(
    resolver: dict[str, str], address: str, reason: str
) -> None:
    resolver["metadata.example"] = address
    with pytest.raises(FetchError, match=f"metadata.example resolves to {address} \\({reason}\\)"):
        Fetcher(retries=3, timeout=0.2).fetch("https://metadata.example/latest/meta-data/")


def test_every_address_of_a_host_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    def two(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two)
    with pytest.raises(FetchError, match=r"resolves to 10.1.2.3 \(private\)"):
        Fetcher(retries=0).fetch("https://mixed.example/statement.json")


@pytest.mark.parametrize(
    ("address", "reason"),
    [("8.8.8.8", None), ("2606:4700::1111", None), ("127.0.0.2", "loopback"), ("::1", "loopback"),
     ("192.168.1.1", "private"), ("fc00::1", "private"), ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
     ("::ffff:8.8.8.8", None), ("240.0.0.1", "reserved"), ("::", "unspecified")],
)
def test_address_refusal(address: str, reason: str | None) -> None:
    assert address_refusal(address) == reason


def test_a_redirect_chain_is_followed_and_each_hop_connects_to_its_checked_address(
    server: Server, resolver: dict[str, str]
) -> None:
    # hop2.test and hop3.test exist in no DNS: reaching them proves the connection went to the address checked
    resolver["hop2.test"] = "127.0.0.1"
    resolver["hop3.test"] = "127.0.0.1"
    server.routes["/start"] = redirect(server.url("/next", host="hop2.test"))
    server.routes["/next"] = redirect("/middle", status=307)  # relative
    server.routes["/middle"] = redirect(server.url("/final", host="hop3.test"), status=301)
    server.routes["/final"] = body()
    for allowed in (True, ["127.0.0.0/8"]):
        assert local_fetcher(allow_private=allowed).fetch(server.url("/start")) == BODY
    assert server.hits["/final"] == 2


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1"])
def test_a_redirect_to_a_private_address_is_refused(server: Server, resolver: dict[str, str], address: str) -> None:
    resolver["internal.test"] = address
    server.routes["/start"] = redirect(server.url("/next", host="hop2.test"))
    server.routes["/next"] = redirect(f"http://internal.test:{server.port}/secret")
    resolver["hop2.test"] = "127.0.0.1"
    uri = server.url("/start")
    # only loopback allowed: the first two hops pass, the third is refused before any connection
    with pytest.raises(FetchError) as caught:
        local_fetcher(allow_private=["127.0.0.0/8"], retries=3).fetch(uri)
    message = str(caught.value)
    assert f"could not fetch {uri} (from http://internal.test:{server.port}/secret)" in message
    assert f"refused address: internal.test resolves to {address}" in message
    assert caught.value.url == f"http://internal.test:{server.port}/secret"
    assert server.hits["/start"] == server.hits["/next"] == 1


def test_a_redirect_to_a_literal_private_address_is_refused(server: Server) -> None:
    server.routes["/start"] = redirect("http://10.0.0.1/latest")
    with pytest.raises(FetchError, match=r"10.0.0.1 resolves to 10.0.0.1 \(private\)"):
        local_fetcher(allow_private=["127.0.0.1/32"]).fetch(server.url("/start"))


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.org/x", "gopher://127.0.0.1:70/x"])
def test_a_redirect_to_another_scheme_is_refused(server: Server, target: str) -> None:
    server.routes["/start"] = redirect(target)
    scheme = target.partition(":")[0]
    with pytest.raises(FetchError, match=f"the scheme {scheme}:// is refused: only https is fetched"):
        local_fetcher().fetch(server.url("/start"))


def test_a_redirect_from_https_to_plain_http_is_refused_by_default(server: Server) -> None:
    fetcher = Fetcher()
    with pytest.raises(FetchError, match="plain http is refused"):
        fetcher._check_scheme("https://example.org/a", server.url("/b"))  # the check each hop goes through


def test_redirects_are_limited(server: Server) -> None:
    server.routes["/loop"] = redirect("/loop")
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        local_fetcher().fetch(server.url("/loop"))
    assert server.hits["/loop"] == MAX_REDIRECTS + 1


# ---------------------------------------------------------------------- ipfs, hf, file


def test_ipfs_through_the_configured_gateway(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server.routes[f"/ipfs/{CID}/provenance.json"] = body()
    server.routes[f"/ipfs/{CID}"] = body(b"the root")
    monkeypatch.setenv("PROVENANCE_IPFS_GATEWAY", server.url("/"))
    monkeypatch.setenv("PROVENANCE_FETCH_PRIVATE", "1")
    fetcher = Fetcher.from_environment(tmp_path)
    assert fetcher.fetch(f"ipfs://{CID}/provenance.json") == BODY
    assert fetcher.fetch(f"ipfs://{CID}") == b"the root"
    assert server.hits[f"/ipfs/{CID}/provenance.json"] == 1
    assert fetcher.cache_dir == tmp_path / "cache" / "fetched"


def test_ipfs_gateway_over_plain_http_needs_the_private_setting(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_IPFS_GATEWAY", server.url(""))
    monkeypatch.delenv("PROVENANCE_FETCH_PRIVATE", raising=False)
    with pytest.raises(FetchError, match=f"could not fetch ipfs://{CID} \\(from {server.url('')}/ipfs/{CID}\\)"):
        Fetcher.from_environment(None).fetch(f"ipfs://{CID}")


def test_hf_through_the_configured_endpoint(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # like the Hub: the resolve URL redirects to where the file's bytes are served
    server.routes[f"/acme/model/resolve/{REV}/provenance.json"] = redirect(f"/cdn/{REV}/model")
    server.routes[f"/cdn/{REV}/model"] = body()
    server.routes[f"/datasets/acme/data/resolve/{REV}/meta/provenance.json"] = body(b"dataset")
    monkeypatch.setenv("HF_ENDPOINT", server.url(""))
    monkeypatch.setenv("PROVENANCE_FETCH_PRIVATE", "true")
    fetcher = Fetcher.from_environment(None)
    assert fetcher.fetch(f"hf://acme/model@{REV}/provenance.json") == BODY
    assert fetcher.fetch(f"hf://datasets/acme/data@{REV}/meta/provenance.json") == b"dataset"
    with pytest.raises(FetchError, match=f"from {server.url('')}/acme/model/resolve/main/x.json\\): HTTP 404"):
        fetcher.fetch("hf://acme/model@main/x.json")


def test_file_uris(tmp_path: Path) -> None:
    statement = tmp_path / "my statement.json"
    statement.write_bytes(BODY)
    uri = "file://" + str(statement).replace(" ", "%20")
    assert Fetcher(allow_file=True).fetch(uri) == BODY
    assert Fetcher(allow_file=True).fetch("file://localhost" + str(statement)) == BODY
    with pytest.raises(FetchError, match="file:// is read on the command line only"):
        Fetcher().fetch(uri)
    with pytest.raises(FetchError, match="not a regular file, or more than 10 bytes"):
        Fetcher(allow_file=True, max_bytes=10).fetch(uri)
    with pytest.raises(FetchError, match="could not read file://.*No such file"):
        Fetcher(allow_file=True).fetch(f"file://{tmp_path}/absent.json")
    with pytest.raises(FetchError, match="not a regular file"):
        Fetcher(allow_file=True).fetch(f"file://{tmp_path}")


# ---------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("https://example.org/s/provenance.json", "https://example.org/s/provenance.json"),
        ("HTTPS://example.org/x", "HTTPS://example.org/x"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        (f"ipfs://{CID}", f"https://ipfs.io/ipfs/{CID}"),
        (f"ipfs://{CID}/dir/provenance.json", f"https://ipfs.io/ipfs/{CID}/dir/provenance.json"),
        (f"hf://acme/model-1@{REV}/provenance.json",
         f"https://huggingface.co/acme/model-1/resolve/{REV}/provenance.json"),
        (f"hf://datasets/acme/data.v2@{REV}/a/b.json",
         f"https://huggingface.co/datasets/acme/data.v2/resolve/{REV}/a/b.json"),
        ("hf://acme/model@v1.0/provenance.json", "https://huggingface.co/acme/model/resolve/v1.0/provenance.json"),
    ],
)
def test_accepted_uris(uri: str, url: str) -> None:
    assert parse_location(uri, allow_file=False).http_url() == url
    assert check_uri(uri, allow_file=False) == uri


def test_gateway_and_endpoint_are_configurable() -> None:
    location = parse_location(f"ipfs://{CID}/x", allow_file=False)
    assert location.http_url(ipfs_gateway="https://gw.example/") == f"https://gw.example/ipfs/{CID}/x"
    location = parse_location(f"hf://datasets/o/n@{REV}/p", allow_file=False)
    assert location.repo == "datasets/o/n" and location.revision == REV and location.path == "p"
    assert location.http_url(hf_endpoint="https://hf-mirror.example") == (
        f"https://hf-mirror.example/datasets/o/n/resolve/{REV}/p"
    )
    with pytest.raises(InvalidValue, match="PROVENANCE_IPFS_GATEWAY must be an http"):
        Fetcher(ipfs_gateway="ipfs.io")
    with pytest.raises(InvalidValue, match="HF_ENDPOINT must be an http"):
        Fetcher.from_environment(None, environ={"HF_ENDPOINT": "ftp://hf.example"})


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("ftp://example.org/statement.json", "the scheme ftp:// is not one of them"),
        ("s3://bucket/key", "the scheme s3:// is not one of them"),
        ("example.org/statement.json", "the scheme (none) is not one of them"),
        ("/tmp/statement.json", "the scheme (none)"),
        ("hf://acme/model/provenance.json", "a Hugging Face uri names its revision: hf://ORG/NAME@REVISION/PATH"),
        ("hf://datasets/acme/data/x.json", "hf://datasets/ORG/NAME@REVISION/PATH"),
        ("hf://acme/model@/provenance.json", "'' is not a Hugging Face revision name"),
        (f"hf://acme/model@{REV}", "it names no file in the repository"),
        (f"hf://acme/model@{REV}/", "it names no file in the repository"),
        (f"hf://model@{REV}/x.json", "a Hugging Face uri names its revision"),
        (f"hf://acme/../x@{REV}/p", "names its revision"),
        (f"hf://acme/m@{REV}/../../etc/passwd", "'.', '..' or unusual segment"),
        ("ipfs://", "'' is not a CID"),
        ("ipfs://not-a-cid!/x", "is not a CID"),
        (f"ipfs://{CID}/a?b=c", "unusual segment"),
        (f"ipfs://{CID}//x", "empty"),
        ("https://user:secret@example.org/x", "it carries a user name or password"),
        ("https:///statement.json", "it names no host"),
        ("https://example.org:99999/x", "it is not a URL"),
        ("https://example.org/a b", "it holds spaces"),
        ("https://exämple.org/x", "non-ASCII"),
        ("https://example.org\\@evil.test/", "it holds spaces, control or non-ASCII characters"),
        ("file:///tmp/statement.json", "file:// is accepted on the command line only"),
        ("", "it is empty"),
    ],
)
def test_refused_uris(uri: str, why: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_location(uri, allow_file=False)
    message = str(caught.value)
    assert why in message
    assert f"uri {uri!r} is not accepted" in message
    assert "accepted: https://…, ipfs://CID[/PATH], hf://ORG/NAME@REVISION/PATH" in message


def test_check_uri() -> None:
    assert check_uri("") == ""
    assert check_uri("file:///srv/statement.json") == "file:///srv/statement.json"
    with pytest.raises(InvalidValue, match="command line only"):
        check_uri("file:///srv/statement.json", allow_file=False)
    for uri in ("file://relative/x.json", "file:///x?y=1"):
        with pytest.raises(InvalidValue, match="file:///ABSOLUTE/PATH"):
            check_uri(uri)


def test_an_unparseable_uri_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="could not fetch 'ftp://example.org/x': uri 'ftp://example.org/x' is not"):
        Fetcher().fetch("ftp://example.org/x")


@pytest.mark.parametrize(("value", "allowed"), [("1", True), ("true", True), ("TRUE", True), ("0", False),
                                                 ("false", False), ("", False)])
def test_env_allows_private(value: str, allowed: bool) -> None:
    assert env_allows_private({"PROVENANCE_FETCH_PRIVATE": value}) is allowed
    assert Fetcher.from_environment(None, environ={"PROVENANCE_FETCH_PRIVATE": value}).allow_private is allowed


def test_env_allows_private_refuses_typos() -> None:
    assert env_allows_private({}) is False
    with pytest.raises(InvalidValue, match="PROVENANCE_FETCH_PRIVATE must be 1/true or 0/false, got 'ture'"):
        env_allows_private({"PROVENANCE_FETCH_PRIVATE": "ture"})
    assert Fetcher.from_environment(None, allow_private=True, environ={}).allow_private is True


# ---------------------------------------------------------------------- cache


def test_a_second_fetch_is_served_from_the_cache(server: Server, tmp_path: Path) -> None:
    server.routes["/statement.json"] = body()
    cache = cache_dir_for(tmp_path)
    fetcher = local_fetcher(cache_dir=cache)
    uri = server.url("/statement.json")
    assert fetcher.fetch(uri) == BODY
    assert fetcher.fetch(uri) == BODY
    assert server.hits["/statement.json"] == 1
    digest = hashlib.sha256(BODY).hexdigest()
    assert (cache / digest).read_bytes() == BODY
    assert (cache / digest).stat().st_mode & 0o777 == 0o600
    # content-addressed: another fetcher (another process) finds it by digest
    other = local_fetcher(cache_dir=cache)
    assert other.cached(digest) == BODY
    assert other.cached(bytes.fromhex(digest)) == BODY
    assert other.cached("0x" + digest.upper()) == BODY
    assert other.cached("00" * 32) is None
    with pytest.raises(InvalidValue, match="64 hex digits"):
        other.cached("abc")


def test_a_corrupted_cache_entry_is_ignored_and_refetched(server: Server, tmp_path: Path) -> None:
    server.routes["/statement.json"] = body()
    fetcher = local_fetcher(cache_dir=tmp_path)
    uri = server.url("/statement.json")
    digest = hashlib.sha256(BODY).hexdigest()
    fetcher.fetch(uri)
    (tmp_path / digest).write_bytes(b'{"statement": "changed on disk"}')
    assert fetcher.cached(digest) is None
    assert fetcher.fetch(uri) == BODY
    assert server.hits["/statement.json"] == 2
    (tmp_path / digest).write_bytes(b"tampered again")
    assert fetcher.fetch(uri) == BODY
    assert server.hits["/statement.json"] == 3
    assert (tmp_path / digest).read_bytes() == BODY


def test_no_cache_dir_means_every_fetch_asks(server: Server) -> None:
    server.routes["/statement.json"] = body()
    fetcher = local_fetcher()
    fetcher.fetch(server.url("/statement.json"))
    fetcher.fetch(server.url("/statement.json"))
    assert server.hits["/statement.json"] == 2
    assert fetcher.cached(hashlib.sha256(BODY).hexdigest()) is None


# ---------------------------------------------------------------------- the command line


@pytest.mark.parametrize("command", [["register", "model-dir", "--claims", "claims.yaml"], ["anchor"]])
def test_cli_refuses_a_bad_uri_before_doing_anything(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["--home", str(tmp_path / "home"), *command, "--uri", f"hf://acme/model/{REV}/p.json"])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: uri 'hf://acme/model/" in err and "names its revision" in err
    assert "accepted: https://…" in err
    assert not (tmp_path / "home").exists()


def test_serve_fetch_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cli.commands import serve

    base = ["--home", str(tmp_path), "--rpc-url", "http://127.0.0.1:1", "--registry", "0x" + "ab" * 20, "serve"]
    monkeypatch.delenv("PROVENANCE_FETCH_PRIVATE", raising=False)
    assert serve.resolve(build_parser().parse_args(base)).fetch_private is False
    assert serve.resolve(build_parser().parse_args([*base, "--fetch-private"])).fetch_private is True
    monkeypatch.setenv("PROVENANCE_FETCH_PRIVATE", "1")
    settings = serve.resolve(build_parser().parse_args(base))
    assert settings.fetch_private is True
    assert type(settings).from_json(settings.to_json()).fetch_private is True


def test_a_host_is_resolved_once_per_connection_and_connected_to_by_that_address(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the first answer passes the check, a later one would not; the connection must use the first
    answers = iter(["127.0.0.1"])
    asked: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "10.9.9.9"), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    server.routes["/statement.json"] = body()
    fetcher = local_fetcher(allow_private=["127.0.0.0/8"])
    assert fetcher.fetch(server.url("/statement.json", host="rebind.test")) == BODY
    assert asked == ["rebind.test"]
    with pytest.raises(FetchError, match=r"rebind.test resolves to 10.9.9.9 \(private\)"):
        fetcher.fetch(server.url("/statement.json", host="rebind.test"))


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (its own CA), and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return cert_file, key_file


def test_https_connects_to_the_checked_address_with_the_name_for_sni_and_the_certificate(
    tmp_path: Path, resolver: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    cert, key = _certificate(tmp_path, "statements.test")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    tls.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    srv = Server(tls)
    try:
        srv.routes["/statement.json"] = body()
        # the test's certificate is trusted in place of the system's
        monkeypatch.setattr(httpx, "create_ssl_context", lambda: ssl.create_default_context(cafile=str(cert)))
        resolver["statements.test"] = "127.0.0.1"
        resolver["impostor.test"] = "127.0.0.1"
        fetcher = Fetcher(allow_private=["127.0.0.0/8"], retries=0)
        assert fetcher.fetch(f"https://statements.test:{srv.port}/statement.json") == BODY
        assert names == ["statements.test"]
        # the certificate is checked against the name asked for, not the address connected to
        with pytest.raises(FetchError, match="connection failed.*certificate"):
            fetcher.fetch(f"https://impostor.test:{srv.port}/statement.json")
        assert srv.hits["/statement.json"] == 1
    finally:
        srv.close()

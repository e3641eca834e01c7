"""provenance._rpc.RpcClient's connections and batches, against small HTTP/1.1 nodes of the test's own."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from provenance._rpc import RpcClient
from provenance.errors import RpcError


@contextmanager
def http11_node(answer, *, close_after_answer=False):
    """A JSON-RPC node speaking HTTP/1.1 (connections kept alive) that counts the connections it accepted;
    ``close_after_answer``: it drops each connection right after answering, without saying so (as a node
    closes an idle kept connection)."""
    connections: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            connections.append(1)

        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(answer(request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if close_after_answer:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", connections
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _result(request, value="0x10"):
    return {"jsonrpc": "2.0", "id": request["id"], "result": value}


def _answer_each(request):
    """Answers a call or a batch: eth_call's result echoes its data, an eth_call of data 0xbad is an error."""
    if isinstance(request, list):
        return [_answer_each(item) for item in request]
    if request["method"] == "eth_call" and request["params"][0]["data"] == "0xbad":
        return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": 3, "message": "execution reverted"}}
    if request["method"] == "eth_call":
        return _result(request, request["params"][0]["data"])
    return _result(request)


def test_reads_share_one_kept_connection_per_thread():
    with http11_node(_answer_each) as (url, connections):
        client = RpcClient(url, timeout=2.0)
        assert [client.call("eth_blockNumber") for _ in range(20)] == ["0x10"] * 20
        assert len(connections) == 1
        other = threading.Thread(target=lambda: client.call("eth_blockNumber"))
        other.start()
        other.join()
        assert len(connections) == 2  # another thread: a connection of its own
        client.call("eth_blockNumber")
        assert len(connections) == 2


def test_a_method_not_safe_to_send_again_gets_a_connection_of_its_own():
    with http11_node(_answer_each) as (url, connections):
        client = RpcClient(url, timeout=2.0)
        for _ in range(3):
            client.call("anvil_mine", ["0x1"])
        assert len(connections) == 3
        client.call("eth_blockNumber")
        client.call("eth_blockNumber")
        assert len(connections) == 4


def test_a_kept_connection_the_node_closed_is_replaced_at_once():
    with http11_node(_answer_each, close_after_answer=True) as (url, connections):
        client = RpcClient(url, timeout=2.0)
        began = time.monotonic()
        assert [client.call("eth_blockNumber") for _ in range(10)] == ["0x10"] * 10
        assert len(connections) == 10
        assert time.monotonic() - began < 2.0  # no retry's backoff: the stale connection is simply replaced


def test_call_each_sends_one_batch_and_gives_each_items_error_in_place():
    bodies: list[object] = []

    def answer(request):
        bodies.append(request)
        return _answer_each(request)

    with http11_node(answer) as (url, _):
        client = RpcClient(url, timeout=2.0)
        calls = [[{"to": "0x" + "11" * 20, "data": data}, "latest"] for data in ("0x01", "0xbad", "0x03")]
        first, failed, third = client.call_each("eth_call", calls)
        assert (first, third) == ("0x01", "0x03")
        assert isinstance(failed, RpcError) and "execution reverted" in str(failed)
        assert len(bodies) == 1 and isinstance(bodies[0], list) and len(bodies[0]) == 3
        assert client.call_each("eth_call", []) == []
        with pytest.raises(ValueError, match="only reads"):
            client.call_each("eth_sendRawTransaction", [["0x00"]])


@pytest.mark.parametrize("refusal", ["error object", "partial"])
def test_call_each_asks_one_at_a_time_where_batches_are_not_taken(refusal):
    def answer(request):
        if isinstance(request, list):
            if refusal == "partial":  # some gateways answer only the first items of a batch
                return [_answer_each(request[0])]
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch requests disabled"}}
        return _answer_each(request)

    with http11_node(answer) as (url, _):
        client = RpcClient(url, timeout=2.0)
        calls = [[{"to": "0x" + "11" * 20, "data": data}, "latest"] for data in ("0x01", "0xbad", "0x03")]
        first, failed, third = client.call_each("eth_call", calls)
        assert (first, third) == ("0x01", "0x03") and isinstance(failed, RpcError)


def test_call_each_sends_a_long_list_as_batches_of_at_most_batch_max():
    from provenance._rpc import BATCH_MAX

    lengths: list[int] = []

    def answer(request):
        lengths.append(len(request))
        return _answer_each(request)

    with http11_node(answer) as (url, _):
        client = RpcClient(url, timeout=2.0)
        datas = [f"0x{i:04x}" for i in range(2 * BATCH_MAX + 5)]
        results = client.call_each("eth_call", [[{"to": "0x" + "11" * 20, "data": d}, "latest"] for d in datas])
        assert results == datas and lengths == [BATCH_MAX, BATCH_MAX, 5]

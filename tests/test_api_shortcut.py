"""api.answers.Shortcut: a repeated GET answered from what its route remembered, byte for byte, until the index
changes; errors and new URLs go through FastAPI."""

from __future__ import annotations

import dataclasses
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api_helpers import _hex, catch_up, populate, settings_for, verdict_computed
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    scenario = populate(ledger, account_factory(ledger))
    app = create_app(settings_for(ledger, tmp_path_factory.mktemp("shortcut") / "index.sqlite"), start_indexer=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        catch_up(app)
        yield scenario, app, client


def _remembered(app, url: str) -> bool:
    path, _, query = url.partition("?")
    return app.state.service.peek(("url", path, query.encode())) is not None


def _same(first, second) -> None:
    assert (second.status_code, second.headers.raw, second.content) == (
        first.status_code, first.headers.raw, first.content)


@pytest.mark.parametrize("url", [
    "/v1/artifacts/{base}", "/v1/history/{base}", "/v1/history/{publisher}?limit=3", "/v1/records/{tuned_id}",
    "/v1/lineage/{tuned}", "/v1/events?limit=5", "/v1/publishers", "/v1/proofs/{tuned_id}",
])
def test_a_repeated_get_is_answered_from_memory_byte_for_byte(world, url):
    s, app, client = world
    url = url.format(base=_hex(s.base), publisher=s.publisher.address, tuned_id=_hex(s.tuned_id),
                     tuned=_hex(s.tuned))
    first = client.get(url)
    assert first.status_code == 200, first.text
    assert _remembered(app, url)
    _same(first, client.get(url))
    _same(first, client.get(url))


def test_errors_are_never_remembered(world):
    s, app, client = world
    for url in ("/v1/artifacts/0x12", "/v1/artifacts/0x" + "ee" * 32, "/v1/history/0x" + "ee" * 32,
                "/v1/events?limit=0"):
        first = client.get(url)
        assert first.status_code in (404, 422)
        assert not _remembered(app, url)
        _same(first, client.get(url))


def test_a_change_of_the_index_is_seen_at_once(world):
    s, app, client = world
    url = f"/v1/statements/by-subject/{_hex(s.tuned)}"
    before = client.get(url)
    assert before.status_code == 200 and before.json()["statements"] == []
    assert _remembered(app, url)
    app.state.service.index.add_statement(s.statements[0])  # the tuned model's Statement
    after = client.get(url)
    assert after.status_code == 200 and len(after.json()["statements"]) == 1


def test_answers_not_remembered_are_the_same_bytes(world, tmp_path):
    """``remember_answers=False`` (bench/api_bench.py --mode cold): no Shortcut, every answer built anew, and
    each is byte for byte what the remembering service answers."""
    s, app, client = world
    service = app.state.service
    cold_app = create_app(dataclasses.replace(service.settings, remember_answers=False), start_indexer=False)
    with TestClient(cold_app, raise_server_exceptions=False) as cold:
        catch_up(cold_app)
        urls = [f"/v1/artifacts/{_hex(s.base)}", f"/v1/history/{s.publisher.address}?limit=3",
                f"/v1/records/{_hex(s.tuned_id)}", f"/v1/lineage/{_hex(s.tuned)}", "/v1/events?limit=5",
                "/v1/publishers", f"/v1/proofs/{_hex(s.tuned_id)}", f"/v1/verify/{_hex(s.tuned)}",
                "/v1/artifacts/0x" + "ee" * 32]
        for url in urls:
            warm = client.get(url)
            for answer in (cold.get(url), cold.get(url)):  # `index` (the lag, checked when) is each service's own
                assert (answer.status_code, answer.headers["content-type"], _without_index(answer.content)) == (
                    warm.status_code, warm.headers["content-type"], _without_index(warm.content)), url
        kept = cold_app.state.service._cache  # what the service remembers: no answer, verdict or URL
        assert not [key for key in kept if key[0] in ("answer", "url", "verify")]


def _without_index(body: bytes) -> bytes:
    return body.partition(b',"index":')[0]


def _confirmations(answer) -> int:
    (anchoring,) = [c for c in answer.json()["checks"] if c["check"] == "anchoring"]
    return anchoring["evidence"]["confirmations"]


def test_a_new_block_answers_the_earlier_verdict_until_an_event_changes_the_index(world, monkeypatch):
    """At a new head of a quiet chain (the index's content unchanged) the previous head's verdict is answered
    at once while this head's is computed in the background, then that one; once an event is indexed (a
    revocation) no earlier verdict is answered; nor while the index trails the head beyond what
    require_fresh_index allows."""
    s, app, client = world
    service = app.state.service
    ledger = service.link.ledger()
    url, key = f"/v1/verify/{_hex(s.tuned)}", ("verify", _hex(s.tuned), None, False)
    first = client.get(url)
    assert first.status_code == 200, first.text
    head, content = service.state.head, service.index.content_generation()

    ledger.rpc("evm_mine")
    catch_up(app)
    assert service.state.head == head + 1 and service.index.content_generation() == content  # a quiet block
    refreshes = []
    monkeypatch.setattr(service, "_refresh", lambda key, refresh: refreshes.append(key))  # held back
    _same(first, client.get(url))  # through the Shortcut (the URL was answered before)
    _same(first, client.get(url + "?strict=false"))  # a new URL of the same verdict: through the route
    assert refreshes == [("latest", key)] * 2
    monkeypatch.undo()
    _same(first, client.get(url))
    verdict_computed(app, key, head + 1)
    deadline = time.monotonic() + 5  # the earlier head's is forgotten as the new one is kept: no URL leads to it
    while service.peek((*key, head)) is not None:
        assert time.monotonic() < deadline, "the earlier head's verdict is still remembered"
        time.sleep(0.01)
    later = client.get(url)
    assert _confirmations(later) == _confirmations(first) + 1 and later.json()["overall"] == first.json()["overall"]

    monkeypatch.setattr(service, "synced_to", lambda: head - 200)  # the index far behind
    assert service.earlier_verdict(key, head + 2) is None
    monkeypatch.undo()
    assert service.earlier_verdict(key, head + 2) == later.content
    assert service.earlier_verdict(key, head + 2 + service.settings.max_index_lag) is None  # too far back

    ledger.revoke(s.other, s.tuned_id, "withdrawn")
    catch_up(app)
    assert service.index.content_generation() != content
    revoked = client.get(url)
    assert revoked.status_code == 200 and revoked.content != later.content
    (status,) = [c for c in revoked.json()["checks"] if c["check"] == "status"]
    assert status["status"] == "fail" and revoked.json()["overall"] == "fail"

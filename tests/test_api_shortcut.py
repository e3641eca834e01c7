"""api.answers.Shortcut: a repeated GET answered from what its route remembered, byte for byte, until the index
changes; errors and new URLs go through FastAPI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api_helpers import _hex, catch_up, populate, settings_for
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

"""The local store: revealing more claim fields later (Store.disclosing)."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from provenance.claims import Claims
from provenance.commitments import Disclosure, disclosed_view
from provenance.errors import ClaimsError, NotInStore
from provenance.manifest import Manifest
from provenance.publish import prepare
from provenance.record import Domain
from provenance.statement import Anchor
from provenance.store import Store

DOMAIN = Domain(31337, "0x" + "22" * 20)
CLAIMS = {
    "kind": "dataset",
    "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": False, "holders": ["Acme Corp"]},
    "privacy": {"personal_data": "present", "retention_until": "2030-01-01"},
    "disclose": ["copyright.license"],
}


@pytest.fixture
def stored(tmp_path):
    """A store holding one record disclosing only copyright.license."""
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    prepared = prepare(account=Account.create(), domain=DOMAIN, claims=Claims.from_mapping(CLAIMS),
                       manifest=Manifest.from_path(tmp_path / "rows.csv"))
    store = Store.open(tmp_path / "home")
    store.add_record(prepared.statement, prepared.commitment, state="queued", statement_path=None)
    return store, prepared.statement


def _fields(statement) -> list[str]:
    return [d["field"] for d in statement.disclosures]


def test_disclosing_adds_fields_and_keeps_what_was_disclosed(stored):
    store, statement = stored
    out = store.disclosing(statement.record_id, ["privacy.retention_until"])
    assert _fields(out) == ["copyright.license", "privacy.retention_until"]
    view = disclosed_view(statement.record.claims_root, [Disclosure.from_dict(d) for d in out.disclosures])
    assert view == {"copyright.license": "CC-BY-NC-4.0", "privacy.retention_until": "2030-01-01"}
    assert out.record == statement.record and out.signature == statement.signature
    assert "Acme Corp" not in out.dumps()  # what was not asked for stays hidden


def test_a_section_stands_for_all_its_fields(stored):
    store, statement = stored
    out = store.disclosing(statement.record_id, ["privacy"])
    assert set(_fields(out)) >= {"copyright.license", "privacy.personal_data", "privacy.retention_until"}
    assert not any(f.startswith("copyright.") and f != "copyright.license" for f in _fields(out))


def test_the_stored_statement_is_taken_with_its_anchor(stored):
    store, statement = stored
    anchor = Anchor("batch", b"\x07" * 32, 9, b"\x08" * 32, (b"\x09" * 32,))
    store.set_anchored([(statement.record_id, json.dumps(anchor.to_json(), separators=(",", ":")))])
    out = store.disclosing(statement.record_id, [])
    assert out.anchor == anchor and _fields(out) == ["copyright.license"]


def test_unknown_fields_and_records_are_refused(stored, tmp_path):
    store, statement = stored
    with pytest.raises(ClaimsError, match="unknown claim field 'privacy.pii'"):
        store.disclosing(statement.record_id, ["privacy.pii"])
    with pytest.raises(NotInStore, match="is not in the local store") as caught:
        store.disclosing(b"\x01" * 32, ["privacy"])
    assert caught.value.hint and caught.value.exit_code == 2

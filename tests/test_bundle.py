"""A Statement's lineage bundle (provenance.bundle, Statement.lineage), offline: real signed Statements.

The bundle is flat (each Statement once, no manifests, no nested lineage), bounded, and gathered
by walking the pins each Statement discloses; what is carried survives a JSON round trip and the
anchor splice a store does, and a Statement found under another record's id is not taken.
"""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from provenance.bundle import gather, pinned_records
from provenance.claims import Claims
from provenance.errors import StatementError
from provenance.manifest import Manifest
from provenance.publish import prepare
from provenance.record import Domain, hex32
from provenance.statement import MAX_LINEAGE_STATEMENTS, Anchor, Statement

DOMAIN = Domain(31337, "0x" + "22" * 20)
ALICE = Account.from_key(b"\x01" * 32)
BOB = Account.from_key(b"\x02" * 32)


def _statement(tmp_path, name: str, account, parents: list[Statement] = ()) -> Statement:
    root = tmp_path / name
    root.mkdir()
    (root / "data.bin").write_bytes(name.encode() * 10)
    spec = {"kind": "dataset" if not parents else "model", "name": name,
            "copyright": {"license": "CC-BY-4.0"}, "disclose": ["copyright"]}
    if parents:
        spec["lineage"] = {"trained_on": [{"subject": hex32(p.subject), "record": hex32(p.record_id)}
                                          for p in parents]}
    return prepare(account=account, domain=DOMAIN, claims=Claims.from_mapping(spec),
                   manifest=Manifest.from_path(root)).statement


@pytest.fixture
def chain_of_three(tmp_path):
    """A dataset, a model trained on it, a fine-tune of that model (pinned at each step)."""
    data = _statement(tmp_path, "data", ALICE)
    model = _statement(tmp_path, "model", BOB, [data])
    tune = _statement(tmp_path, "tune", BOB, [model])
    return data, model, tune


def test_pins_are_read_from_the_signed_disclosures(chain_of_three):
    data, model, tune = chain_of_three
    assert pinned_records(model) == [data.record_id]
    assert pinned_records(tune) == [model.record_id]
    assert pinned_records(data) == []
    forged = model.to_json()
    forged["predicate"]["disclosures"] = [dict(d, salt="0x" + "00" * 32) for d in forged["predicate"]["disclosures"]]
    assert pinned_records(Statement.from_json(forged)) == []  # a pin that is not signed pins nothing


def test_gather_walks_the_pins_up_through_the_ancestors(chain_of_three):
    data, model, tune = chain_of_three
    known = {s.record_id: s for s in (data, model)}
    gathered = gather(pinned_records(tune), known.get)
    assert [s.record_id for s in gathered.statements] == [model.record_id, data.record_id]
    assert all(s.manifest is None and s.lineage == () for s in gathered.statements)
    assert gathered.missing == ()


def test_gather_uses_what_a_parent_carries_and_names_what_it_cannot_find(chain_of_three):
    data, model, tune = chain_of_three
    carrying = model.with_lineage((data,))
    gathered = gather(pinned_records(tune), lambda rid: None, carried=[carrying])
    assert [s.record_id for s in gathered.statements] == [model.record_id, data.record_id]
    alone = gather(pinned_records(tune), {model.record_id: model}.get)
    assert [s.record_id for s in alone.statements] == [model.record_id]
    assert alone.missing == (data.record_id,)


def test_a_statement_found_under_another_records_id_is_not_taken(chain_of_three):
    data, model, tune = chain_of_three
    gathered = gather(pinned_records(tune), lambda rid: data)  # the wrong Statement for the model's record
    assert gathered.statements == () and gathered.missing == (model.record_id,)


def test_the_bundle_is_flat_once_per_record_and_survives_json_and_the_anchor_splice(chain_of_three):
    data, model, tune = chain_of_three
    carrying = tune.with_lineage((model, data, model, tune))
    assert [s.record_id for s in carrying.lineage] == [model.record_id, data.record_id]  # once, not itself
    again = Statement.loads(carrying.dumps())
    assert again == carrying and again.record_id == tune.record_id
    anchor = Anchor("direct", b"\x07" * 32, 12)
    spliced = Statement.with_anchor_text(carrying.dumps_compact(), json.dumps(anchor.to_json()))
    assert Statement.loads(spliced).lineage == carrying.lineage
    assert Statement.loads(spliced).anchor == anchor
    assert "lineage" not in json.loads(data.dumps())["predicate"]  # a Statement without one is as before


def test_a_carried_statement_carrying_a_lineage_is_refused(chain_of_three):
    data, model, tune = chain_of_three
    nested = tune.to_json()
    inner = model.with_lineage((data,)).to_json()
    nested["predicate"]["lineage"] = [inner]
    with pytest.raises(StatementError, match="carries no lineage of its own"):
        Statement.from_json(nested)


def test_the_bundle_is_bounded(chain_of_three):
    data, model, tune = chain_of_three
    document = tune.to_json()
    document["predicate"]["lineage"] = [data.carried().to_json()] * (MAX_LINEAGE_STATEMENTS + 1)
    with pytest.raises(StatementError, match=f"at most {MAX_LINEAGE_STATEMENTS}"):
        Statement.from_json(document)
    document["predicate"]["lineage"] = {"not": "a list"}
    with pytest.raises(StatementError, match="must be a list"):
        Statement.from_json(document)

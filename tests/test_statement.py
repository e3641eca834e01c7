"""Statements: round trip, refusal of what is not ours, atomic writes."""

from __future__ import annotations

import json

import pytest

from provenance.errors import StatementError
from provenance.statement import Anchor, Statement, statement_path_for
from tests.helpers import sample_statement

PUBLISHER = "0x" + "11" * 20
REGISTRY = "0x" + "22" * 20


def test_round_trip_with_a_batch_anchor(tmp_path):
    anchor = Anchor("batch", b"\x07" * 32, 12, b"\x08" * 32, (b"\x09" * 32,))
    statement = sample_statement().with_anchor(anchor)
    path = tmp_path / "provenance.json"
    statement.write(path)
    data = json.loads(path.read_text())
    assert data["_type"] == "https://in-toto.io/Statement/v1"
    assert data["subject"][0]["digest"]["provenanceMerkleRoot"] == "01" * 32
    assert data["predicate"]["recordId"] == "0x" + statement.record_id.hex()
    again = Statement.from_file(path)
    assert again == statement
    assert [p.name for p in tmp_path.iterdir()] == ["provenance.json"]


def test_a_batch_anchor_names_its_submitter():
    """A batch of registry version 2 is (submitter, root); a version 1 anchor named none and still reads."""
    submitter = "0x" + "ab" * 20
    anchor = Anchor("batch", b"\x07" * 32, 12, b"\x08" * 32, (b"\x09" * 32,), submitter)
    data = sample_statement().with_anchor(anchor).to_json()
    assert data["predicate"]["anchor"]["submitter"].lower() == submitter
    again = Statement.from_json(data).anchor
    assert again is not None and again.submitter is not None and again.submitter.lower() == submitter
    del data["predicate"]["anchor"]["submitter"]
    assert Statement.from_json(data).anchor.submitter is None
    data["predicate"]["anchor"]["submitter"] = "0x1234"
    with pytest.raises(StatementError, match="anchor.submitter"):
        Statement.from_json(data)
    direct = Anchor("direct", b"\x07" * 32, 12).to_json()
    assert "submitter" not in direct and "batchRoot" not in direct


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"), "not an in-toto Statement v1"),
        (lambda d: d.update(predicateType="https://slsa.dev/provenance/v1"), "not a provenance record"),
        (lambda d: d["subject"][0]["digest"].update(provenanceMerkleRoot="ff" * 32), "subject digest differs"),
        (lambda d: d["predicate"].update(recordId="0x" + "00" * 32), "recordId does not match"),
        (lambda d: d["predicate"]["record"].update(subject="0x12"), "64 hex digits"),
        (lambda d: d["predicate"].pop("chain"), "not a valid provenance Statement"),
    ],
)
def test_refuses_what_is_not_ours(mutate, message):
    data = sample_statement().to_json()
    mutate(data)
    with pytest.raises(StatementError, match=message):
        Statement.from_json(data)


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    with pytest.raises(StatementError, match="bad.json is not JSON"):
        Statement.from_file(path)


def test_statement_path_beside_file_and_directory(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "data.parquet").write_bytes(b"x")
    assert statement_path_for(tmp_path / "model") == tmp_path / "model" / "provenance.json"
    assert statement_path_for(tmp_path / "data.parquet") == tmp_path / "data.parquet.provenance.json"

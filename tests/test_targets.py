"""Command-line targets (provenance.targets): a Statement file, an artifact, a subject, the local store."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from provenance.claims import Claims
from provenance.errors import InvalidValue, NotFound, StatementError
from provenance.manifest import Manifest
from provenance.publish import prepare
from provenance.record import Domain, hex32
from provenance.statement import Anchor, statement_path_for
from provenance.store import Store
from provenance.targets import ArtifactTarget, StatementTarget, SubjectTarget, resolve_target, statement_for

DOMAIN = Domain(31337, "0x" + "22" * 20)
CLAIMS = {"kind": "dataset", "copyright": {"license": "CC-BY-4.0"}, "disclose": ["copyright"]}


@pytest.fixture
def artifact(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "rows.csv").write_text("a,b\n1,2\n")
    return root


def _prepared(path, account=None):
    return prepare(account=account or Account.create(), domain=DOMAIN, claims=Claims.from_mapping(CLAIMS),
                   manifest=Manifest.from_path(path))


def test_a_statement_file_is_read_when_resolved(artifact, tmp_path):
    statement = _prepared(artifact).statement
    path = tmp_path / "receipt.json"
    statement.write(path)
    target = resolve_target(str(path))
    assert target == StatementTarget(path, statement)
    assert statement_for(target, None) == statement


def test_a_json_file_that_is_no_statement_is_an_artifact(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"hidden_size": 8}')
    assert resolve_target(str(path)) == ArtifactTarget(path, None)


def test_a_broken_statement_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "provenance.json"
    path.write_text('{"_type": "https://in-toto.io/Statement/v1", "predicate": {')
    with pytest.raises(StatementError, match="not JSON"):
        resolve_target(str(path))


def test_an_artifact_with_its_statement_beside_it(artifact):
    statement = _prepared(artifact).statement
    statement.write(statement_path_for(artifact))
    target = resolve_target(str(artifact))
    assert target == ArtifactTarget(artifact, artifact / "provenance.json")
    assert statement_for(target, None) == statement  # no store needed


def test_an_artifact_without_a_statement_is_found_in_the_store_by_its_subject(artifact, tmp_path):
    store = Store.open(tmp_path / "home")
    account = Account.create()
    older, newer = _prepared(artifact, account), _prepared(artifact, Account.create())
    store.add_record(older.statement, older.commitment, state="queued", statement_path=None)
    store.add_record(newer.statement, newer.commitment, state="queued", statement_path=None)
    target = resolve_target(str(artifact))
    assert target == ArtifactTarget(artifact, None)
    assert statement_for(target, store) == newer.statement  # none anchored: the newest
    anchored = older.statement.with_anchor(Anchor("direct", b"\x07" * 32, 5))
    store.update_record(older.statement.record_id, state="anchored", statement=anchored)
    assert statement_for(target, store) == anchored  # an anchored one wins over a newer queued one


def test_a_subject_is_looked_up_in_the_store(artifact, tmp_path):
    prepared = _prepared(artifact)
    subject = hex32(prepared.statement.subject)
    target = resolve_target(subject)
    assert target == SubjectTarget(prepared.statement.subject)
    with pytest.raises(NotFound, match=f"no Statement of subject {subject}.*there is no local store"):
        statement_for(target, None)
    store = Store.open(tmp_path / "home")
    with pytest.raises(NotFound, match=f"no Statement of subject {subject} is known locally \\(the local store"):
        statement_for(target, store)
    store.add_record(prepared.statement, prepared.commitment, state="queued", statement_path=None)
    assert statement_for(target, store) == prepared.statement


def test_an_existing_path_wins_over_a_subject(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "0x" + "ab" * 32
    (tmp_path / name).write_bytes(b"a file named like a subject")
    assert resolve_target(name) == ArtifactTarget(Path(name), None)


@pytest.mark.parametrize(
    "text, message",
    [
        ("./missing-model", "./missing-model does not exist"),
        ("nowhere/model", "nowhere/model does not exist"),
        ("receipt.json", "receipt.json does not exist"),
        ("0x1234", "'0x1234' is neither an existing path nor a subject"),
        ("0x" + "g" * 64, "is neither an existing path nor a subject"),
        ("0x" + "ab" * 33, "is neither an existing path nor a subject"),
        ("0x" + "ab" * 32 + "\n", "is neither an existing path nor a subject"),
    ],
)
def test_what_names_nothing_is_refused(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidValue, match=message) as caught:
        resolve_target(text)
    assert caught.value.exit_code == 2 and caught.value.hint

"""`provenance verify` and `history` as a user without the publisher's store runs them."""

from __future__ import annotations

import json

import pytest

from provenance.claims import Claims
from provenance.manifest import Manifest
from provenance.publish import Publisher, prepare
from provenance.store import Store
from tests.helpers import run_cli

pytestmark = pytest.mark.chain

CLAIMS = {
    "kind": "dataset",
    "copyright": {"license": "CC0-1.0"},
    "privacy": {"personal_data": "absent"},
    "disclose": ["copyright", "privacy"],
}


@pytest.fixture
def published(tmp_path, ledger, make_account):
    account = make_account()
    artifact = tmp_path / "dataset"
    artifact.mkdir()
    (artifact / "part-0.parquet").write_bytes(b"rows of part zero")
    (artifact / "part-1.parquet").write_bytes(b"rows of part one")
    store = Store.open(tmp_path / "publisher-home")
    statement_file = tmp_path / "dataset.provenance.json"
    statement = Publisher(store, ledger, account).register(prepare(
        account=account, domain=ledger.domain, claims=Claims.from_mapping(CLAIMS),
        manifest=Manifest.from_path(artifact), statement_path=statement_file,
    ))
    env = {
        "PROVENANCE_HOME": str(tmp_path / "user-home"),
        "PROVENANCE_RPC_URL": ledger.rpc_url,
        "PROVENANCE_REGISTRY": ledger.registry,
    }
    return artifact, statement, statement_file, env


def test_one_file_with_the_artifacts_statement_is_found_and_proven(published):
    artifact, statement, statement_file, env = published
    done = run_cli("verify", str(artifact / "part-1.parquet"), "--statement", str(statement_file), "--json", env=env)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    integrity = next(c for c in verdict["checks"] if c["check"] == "integrity")
    assert integrity["code"] == "OK" and integrity["evidence"]["path"] == "part-1.parquet"
    assert verdict["subject"] == "0x" + statement.subject.hex()

    # a changed file with the artifact's Statement: that file is named as changed (issue 13), exit 1
    (artifact / "part-1.parquet").write_bytes(b"changed")
    changed = run_cli("verify", str(artifact / "part-1.parquet"), "--statement", str(statement_file), "--json",
                      env=env)
    assert changed.returncode == 1, changed.stderr
    tampered = next(c for c in json.loads(changed.stdout)["checks"] if c["check"] == "integrity")
    assert tampered["code"] == "TAMPERED" and tampered["evidence"]["changed"] == ["part-1.parquet"]
    # without it, nothing knows the file: exit 2 (could not verify)
    (artifact / "unknown.bin").write_bytes(b"not part of anything")
    missing = run_cli("verify", str(artifact / "unknown.bin"), "--statement", str(statement_file), env=env)
    assert missing.returncode == 2 and "no registered artifact is known to contain" in missing.stderr


def test_history_lists_the_registration_newest_first(published, make_account, ledger):
    _, statement, _, env = published
    done = run_cli("history", "0x" + statement.subject.hex(), "--json", env=env)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["events"]
    assert [e["event"] for e in events] == ["RecordRegistered"]
    assert events[0]["recordId"] == "0x" + statement.record_id.hex() and events[0]["blockTime"]
    by_address = json.loads(run_cli("history", statement.publisher, "--json", env=env).stdout)["events"]
    assert by_address and by_address[0]["actor"] == statement.publisher
    bad = run_cli("history", "0x1234", env=env)
    assert bad.returncode == 2 and "not a subject, record id or address" in bad.stderr

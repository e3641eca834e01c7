"""`provenance verify` and `history` as a user without the publisher's store runs them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from provenance.claims import Claims
from provenance.manifest import Manifest
from provenance.publish import Publisher, prepare
from provenance.store import Store
from tests.helpers import ROOT, run_cli

pytestmark = pytest.mark.chain

CLI = [str(Path(sys.executable).parent / "provenance")] if (Path(sys.executable).parent / "provenance").exists() \
    else [sys.executable, "-m", "cli.main"]

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


def test_verify_in_a_callers_process_leaves_its_garbage_collector_as_it_found_it(published, monkeypatch, capsys):
    """The command sets the cycle collector aside while it imports itself (a saving for the executable): a
    program that calls it in its own process gets its collector back as it was, nothing frozen or thawed."""
    import gc

    from cli.main import main

    artifact, statement, statement_file, env = published
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    assert main(["verify", str(artifact), "--statement", str(statement_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["subject"] == "0x" + statement.subject.hex()
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    # failing midway (a policy file that does not exist: exit 2) changes nothing either
    assert main(["verify", str(artifact), "--policy", str(artifact / "no-such-policy.yaml")]) == 2
    assert "no-such-policy.yaml" in capsys.readouterr().err
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    # nor does it turn on a collector its caller had turned off
    gc.disable()
    try:
        assert main(["verify", str(artifact), "--statement", str(statement_file)]) == 0
        assert not gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.enable()
    # nor thaw what its caller had frozen
    gc.freeze()
    try:
        callers = gc.get_freeze_count()
        assert callers > 0
        assert main(["verify", str(artifact), "--statement", str(statement_file)]) == 0
        assert gc.isenabled() and gc.get_freeze_count() == callers
    finally:
        gc.unfreeze()


def test_a_verification_imports_neither_pydantic_nor_the_claims_loader(published):
    """pydantic and the claims' models cost a verification CPU that the hashing beside it wants: the policy
    is read by its own validator, the rules read the words and field names of provenance.vocabulary, and
    the claims loader is left unimported (DP parameters aside), which a program running the command in its
    own process can see."""
    import subprocess

    artifact, statement, statement_file, env = published
    program = ("import sys; from cli.main import main; code = main(sys.argv[1:]); "
               "print(sorted({'pydantic', 'provenance.claims'} & set(sys.modules))); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", program, "verify", str(artifact), "--statement",
                           str(statement_file), "--json"], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    verdict, _, imported = done.stdout.rpartition("\n}\n")
    checks = {c["check"]: c["code"] for c in json.loads(verdict + "\n}")["checks"]}
    assert checks["copyright"] == "OK" and checks["privacy"] == "OK"  # the rules read the disclosed words
    assert imported.strip() == "[]"


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


def _holding(path) -> list[int]:
    """Processes that have ``path`` open (their /proc/PID/fd links)."""
    import os

    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:  # gone, or not ours to read
            continue
        if str(path) in links:
            pids.append(int(pid))
    return pids


def test_a_large_artifact_hashed_by_processes_passes_and_a_changed_byte_is_named(tmp_path, ledger, make_account):
    """Files of 64 MiB and more are hashed by worker processes while the command reads the chain."""
    import os
    import subprocess
    import time

    account = make_account()
    artifact = tmp_path / "model"
    artifact.mkdir()
    with open(artifact / "weights.bin", "wb") as handle:  # 80 MiB, mostly a hole: quick to make and to read
        handle.truncate(80 << 20)
        handle.seek(40 << 20)
        handle.write(os.urandom(4096))
    (artifact / "config.json").write_text('{"layers": 2}')
    store = Store.open(tmp_path / "publisher-home")
    statement_file = tmp_path / "model.provenance.json"
    Publisher(store, ledger, account).register(prepare(
        account=account, domain=ledger.domain, claims=Claims.from_mapping(CLAIMS),
        manifest=Manifest.from_path(artifact), statement_path=statement_file,
    ))
    env = {"PROVENANCE_HOME": str(tmp_path / "user-home"), "PROVENANCE_RPC_URL": ledger.rpc_url,
           "PROVENANCE_REGISTRY": ledger.registry}
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\ntrusted_publishers: ['{account.address}']\n")
    done = run_cli("verify", str(artifact), "--statement", str(statement_file), "--policy", str(policy), "--json",
                   env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["checks"][0]["code"] == "OK"

    with open(artifact / "weights.bin", "r+b") as handle:  # one byte, in the middle
        handle.seek(60 << 20)
        handle.write(b"\x01")
    changed = run_cli("verify", str(artifact), "--statement", str(statement_file), "--policy", str(policy),
                      "--json", env=env)
    assert changed.returncode == 1, changed.stderr
    integrity = json.loads(changed.stdout)["checks"][0]
    assert integrity["code"] == "TAMPERED" and [c["path"] for c in integrity["evidence"]["changed"]] == ["weights.bin"]

    # a bad policy ends the command while its hashing has begun: no hashing process outlives it (each finds
    # the pipe to its parent closed at its next progress step, 16 MiB on)
    (artifact / "weights.bin").unlink()
    with open(artifact / "weights.bin", "wb") as handle:
        handle.truncate(32 << 30)  # 32 GiB of hole: many seconds of hashing, were it not stopped
    policy.write_text("version: 1\ntrusted_publishers: [not-an-address]\n")
    with open(tmp_path / "err", "w+") as err:  # a file, not a pipe: a worker holding it would not be waited for
        bad = subprocess.run([*CLI, "verify", str(artifact), "--policy", str(policy)], env={**os.environ, **env},
                             stdout=subprocess.DEVNULL, stderr=err, timeout=60, cwd=ROOT)
        err.seek(0)
        assert bad.returncode == 2 and "trusted_publishers" in err.read()
    deadline = time.monotonic() + 3
    while _holding(artifact / "weights.bin") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _holding(artifact / "weights.bin") == []


def test_hashing_processes_start_early_only_for_a_folder_whose_own_files_are_large(tmp_path):
    """``verify DIR`` starts its hashing processes before the walk only when the folder's own files add up to
    what processes hash (a model's weights); a small artifact's walk decides (threads: no process started)."""
    from cli.commands.verify import own_bytes
    from provenance._hashing import PROCESSES_FROM

    small = tmp_path / "small"
    (small / "sub").mkdir(parents=True)
    (small / "a.txt").write_bytes(b"x" * 10)
    (small / "sub" / "deep.bin").write_bytes(b"y" * 100)  # below the top: not counted
    (small / "dangling").symlink_to(tmp_path / "nowhere")
    assert own_bytes(str(small)) == 10 < PROCESSES_FROM

    large = tmp_path / "large"
    large.mkdir()
    with open(large / "weights.safetensors", "wb") as f:  # sparse: no disk used
        f.truncate(PROCESSES_FROM)
    (large / "linked.bin").symlink_to(small / "a.txt")
    assert own_bytes(str(large)) == PROCESSES_FROM + 10
    assert own_bytes(str(tmp_path / "missing")) == 0

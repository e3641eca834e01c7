"""Issue 13 through anvil and the CLI: a stranger with only the download gets the publisher's verdict.

Publisher A registers a dataset, publisher B a model trained on it (pinned), each with `provenance
register` in their own home. The stranger has a FRESH home (no store, no keys) and the model
directory as downloaded; the Statements are published where the records' uris say, on a local HTTP
server (loopback: PROVENANCE_FETCH_PRIVATE=1, the documented setting). The stranger's verdict must
have the checks and codes of the publisher's own.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from provenance.statement import Statement
from tests.api_helpers import serving_app
from tests.helpers import free_port, fresh_registry
from tests.publisher_home import Home, make_artifact, make_home

pytestmark = pytest.mark.chain

NC_DATA = {
    "kind": "dataset", "name": "travels/data",
    "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": False,
                  "training_mining": {"ai_training": "allowed", "data_mining": "allowed"}},
    "privacy": {"personal_data": "absent", "confidentiality": "clear"},
    "disclose": ["copyright", "privacy"],
}


def model_claims(dataset_subject: str) -> dict:
    return {
        "kind": "model", "name": "travels/model",
        "copyright": {"license": "Apache-2.0"},
        "privacy": {"personal_data": "absent", "confidentiality": "clear"},
        "lineage": {"trained_on": [dataset_subject]},
        "disclose": ["copyright", "privacy", "lineage"],
    }


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A local HTTP server publishing the files of a directory: (base URL, directory)."""
    root = tmp_path_factory.mktemp("published")
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", root
    server.shutdown()


@dataclass
class Case:
    a: Home
    b: Home
    stranger: Home
    dataset: Statement
    model_dir: Path
    model: Statement
    web_root: Path
    base: str


def _json(result) -> dict:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def _register(home: Home, path: Path, claims: dict, tmp: Path, *extra: str) -> dict:
    claims_file = tmp / f"{path.name}.claims.json"
    claims_file.write_text(json.dumps(claims))
    done = home.run("register", str(path), "--claims", str(claims_file), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _publish(case_root: Path, name: str, statement_file: Path) -> None:
    shutil.copy(statement_file, case_root / name)


def _setup(anvil_url: str, tmp_path: Path, web: tuple[str, Path], *, batched: bool,
           data_batched: bool = False) -> Case:
    base, root = web
    ledger = fresh_registry(anvil_url)
    registry = ledger.registry
    a = make_home(tmp_path / "a", anvil_url, registry, "pub")
    b = make_home(tmp_path / "b", anvil_url, registry, "pub")
    stranger = Home(tmp_path / "stranger", anvil_url, registry, {})
    tag = tmp_path.name
    data_dir = make_artifact(tmp_path, "data", {"rows.csv": f"data {tag}".encode() * 20})
    if data_batched:
        _register(a, data_dir, NC_DATA, tmp_path, "--batch")
        anchored = a.run("anchor", "--uri", f"{base}/{tag}-data-batch.json")
        assert anchored.returncode == 0, anchored.stderr
        shutil.copy(next((a.path / "batches").glob("*.json")), root / f"{tag}-data-batch.json")
    else:
        _register(a, data_dir, NC_DATA, tmp_path, "--uri", f"{base}/{tag}-data.json")
        _publish(root, f"{tag}-data.json", data_dir / "provenance.json")
    dataset = Statement.from_file(data_dir / "provenance.json")
    model_dir = make_artifact(tmp_path, "model", {"weights.bin": f"weights {tag}".encode() * 50})
    if batched:
        # B has the dataset's Statement as a file (downloaded with the data): carried in the model's
        _register(b, model_dir, model_claims("0x" + dataset.subject.hex()), tmp_path, "--batch",
                  "--parent-statement", str(data_dir / "provenance.json"))
        anchored = b.run("anchor", "--uri", f"{base}/{tag}-batch.json")
        assert anchored.returncode == 0, anchored.stderr
        shutil.copy(next((b.path / "batches").glob("*.json")), root / f"{tag}-batch.json")
    else:
        _register(b, model_dir, model_claims("0x" + dataset.subject.hex()), tmp_path,
                  "--uri", f"{base}/{tag}-model.json", "--parent-statement", str(data_dir / "provenance.json"))
        _publish(root, f"{tag}-model.json", model_dir / "provenance.json")
    model = Statement.from_file(model_dir / "provenance.json")
    return Case(a, b, stranger, dataset, model_dir, model, root, base)


FETCH = {"PROVENANCE_FETCH_PRIVATE": "1"}


def _codes(document: dict) -> set[tuple[str, str, str]]:
    return {(c["check"], c["status"], c["code"]) for c in document["checks"]}


def _publishers_verdict(case: Case) -> dict:
    return _json(case.b.run("verify", str(case.model_dir), "--json"))


@pytest.mark.parametrize(("data_batched", "batched"), [(False, False), (False, True), (True, False)],
                         ids=["both-direct", "model-batched", "dataset-batched"])
def test_a_stranger_with_only_the_model_directory_gets_the_publishers_verdict(anvil_url, tmp_path, web, batched,
                                                                              data_batched):
    case = _setup(anvil_url, tmp_path, web, batched=batched, data_batched=data_batched)
    assert [s.record_id for s in case.model.lineage] == [case.dataset.record_id]
    assert case.model.lineage[0].manifest is None  # ancestors' manifests are left out
    publisher = _publishers_verdict(case)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    stranger = case.stranger.run("verify", str(download), "--json", env=FETCH)
    assert stranger.returncode == 1, stranger.stderr  # non-commercial data under a commercial default use
    seen = _json(stranger)
    assert _codes(seen) == _codes(publisher)
    assert not [c for c in seen["checks"] if "not disclosed" in c["message"] or "could not be obtained" in c["message"]]
    assert any(c["code"] == "USE_NOT_PERMITTED" for c in seen["checks"])


def test_the_lineage_is_fetched_from_the_parents_uri_when_the_statement_carries_none(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=False)
    publisher = _publishers_verdict(case)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    bare = case.model.with_lineage(())
    bare.write(download / "provenance.json")
    seen = _json(case.stranger.run("verify", str(download), "--json", env=FETCH))
    assert _codes(seen) == _codes(publisher)


def test_a_directory_without_its_statement_is_found_by_its_records_uri(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=False)
    publisher = _publishers_verdict(case)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download, ignore=shutil.ignore_patterns("provenance.json"))
    seen = _json(case.stranger.run("verify", str(download), "--json", env=FETCH))
    assert _codes(seen) == _codes(publisher)


def _tampered(text: str) -> str:
    document = json.loads(text)
    for disclosure in document["predicate"]["disclosures"]:
        if disclosure.get("field") == "copyright.license":
            disclosure["value"] = "CC-BY-4.0"
    return json.dumps(document)


@pytest.mark.parametrize(("published", "reason"), [
    (lambda text: "this is not JSON {", "not JSON"),
    (lambda text: " " * (4 * 1024 * 1024 + 1), "more than"),
    (_tampered, None),
], ids=["not-json", "oversized", "tampered"])
def test_a_bad_publication_of_the_parents_statement_is_reported_never_a_pass(anvil_url, tmp_path, web, published,
                                                                             reason):
    """The dataset's uri serves something that is not its Statement: the stranger is told, and the model
    never passes (a tampered Statement's disclosures do not match its signed claimsRoot)."""
    case = _setup(anvil_url, tmp_path, web, batched=False)
    target = case.web_root / f"{tmp_path.name}-data.json"
    target.write_text(published(target.read_text()))
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    case.model.with_lineage(()).write(download / "provenance.json")
    done = case.stranger.run("verify", str(download), "--json", "--use", "research", env=FETCH)
    seen = _json(done)
    assert seen["overall"] != "pass", seen
    if reason is not None:
        missing = [c for c in seen["checks"] if "could not be obtained" in c["message"]]
        assert missing and all(reason in c["message"] for c in missing), seen["checks"]
    else:
        assert done.returncode == 1 and any(c["code"] == "PARENT_FAILED" and c["status"] == "fail"
                                            for c in seen["checks"])


def test_a_loopback_uri_is_refused_without_the_private_address_setting(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=False)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    case.model.with_lineage(()).write(download / "provenance.json")
    seen = _json(case.stranger.run("verify", str(download), "--json", env={"PROVENANCE_FETCH_PRIVATE": "0"}))
    missing = [c for c in seen["checks"] if "could not be obtained" in c["message"]]
    assert missing and all("PROVENANCE_FETCH_PRIVATE" in c["message"] or "http" in c["message"] for c in missing)
    assert seen["overall"] != "pass"


def test_unreachable_statements_are_told_apart_from_undisclosed_claims(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=False)
    (case.web_root / f"{tmp_path.name}-data.json").unlink()  # the dataset's uri now answers 404
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    case.model.with_lineage(()).write(download / "provenance.json")
    seen = _json(case.stranger.run("verify", str(download), "--json", env=FETCH))
    missing = [c for c in seen["checks"] if "could not be obtained" in c["message"]]
    assert missing and all(f"{tmp_path.name}-data.json" in c["message"] and "404" in c["message"] for c in missing)
    assert seen["overall"] != "pass"


def test_an_unregistered_directory_is_not_registered_exit_1_with_a_hint(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=True)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download, ignore=shutil.ignore_patterns("provenance.json"))
    done = case.stranger.run("verify", str(download), "--json", env=FETCH)
    assert done.returncode == 1, done.stderr
    line = _json(done)["checks"][0]
    assert (line["status"], line["code"]) == ("fail", "NOT_REGISTERED")
    assert "--statement" in line["message"] and "--service" in line["message"]


def test_a_changed_file_against_a_given_statement_is_tampered_exit_1(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=False)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download, ignore=shutil.ignore_patterns("provenance.json"))
    (download / "weights.bin").write_bytes(b"changed")
    done = case.stranger.run("verify", str(download), "--statement", str(case.model_dir / "provenance.json"),
                             "--json", env=FETCH)
    assert done.returncode == 1, done.stderr
    tampered = [c for c in _json(done)["checks"] if c["code"] == "TAMPERED"]
    assert tampered and "weights.bin" in tampered[0]["message"]


def test_a_forged_bundle_does_not_pass(anvil_url, tmp_path, web):
    """The model's Statement carries a dataset Statement whose license was changed to a permissive one:
    its disclosures no longer match the signed claimsRoot, so it is no evidence of anything."""
    case = _setup(anvil_url, tmp_path, web, batched=False)
    carried = case.model.lineage[0].to_json()
    for disclosure in carried["predicate"]["disclosures"]:
        if disclosure.get("field") == "copyright.license":
            disclosure["value"] = "CC-BY-4.0"
        if disclosure.get("field") == "copyright.commercial_use":
            disclosure["value"] = True
    forged = case.model.with_lineage((Statement.from_json(carried),))
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    forged.write(download / "provenance.json")
    done = case.stranger.run("verify", str(download), "--json", "--use", "research", env=FETCH)
    seen = _json(done)
    assert done.returncode == 1 and seen["overall"] == "fail", seen
    assert any(c["code"] == "PARENT_FAILED" and c["status"] == "fail" for c in seen["checks"])


def test_a_bundle_carrying_a_revoked_parents_old_statement_does_not_pass(anvil_url, tmp_path, web):
    """Revocations are read from the chain, never from the bundle."""
    case = _setup(anvil_url, tmp_path, web, batched=False)
    revoked = case.a.run("revoke", "0x" + case.dataset.record_id.hex(), "--reason", "wrong license",
                         "--reason-code", "wrong_claims")
    assert revoked.returncode == 0, revoked.stderr
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download)
    done = case.stranger.run("verify", str(download), "--json", "--use", "research", env=FETCH)
    seen = _json(done)
    assert done.returncode == 1 and seen["overall"] == "fail", seen


# --------------------------------------------------------------------------- asking a service (--service URL)


def test_a_batched_model_without_its_statement_is_found_through_a_service(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=True)
    publisher = _publishers_verdict(case)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download, ignore=shutil.ignore_patterns("provenance.json"))
    with serving_app(anvil_url, case.b.registry, tmp_path / "service.sqlite") as url:
        posted = httpx.post(f"{url}/v1/statements", content=case.model.dumps(), timeout=30)
        assert posted.status_code == 201, posted.text
        kept = httpx.get(f"{url}/v1/statements/0x{case.model.record_id.hex()}", timeout=30).json()
        assert Statement.from_json(kept["statement"]).record_id == case.model.record_id
        listed = httpx.get(f"{url}/v1/statements/by-subject/0x{case.model.subject.hex()}", timeout=30).json()
        assert [Statement.from_json(s).record_id for s in listed["statements"]] == [case.model.record_id]
        done = case.stranger.run("verify", str(download), "--json", "--service", url, env=FETCH)
    seen = _json(done)
    assert _codes(seen) == _codes(publisher), done.stderr


def test_an_unreachable_service_is_a_warning_not_a_crash(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=True)
    download = tmp_path / "download"
    shutil.copytree(case.model_dir, download, ignore=shutil.ignore_patterns("provenance.json"))
    done = case.stranger.run("verify", str(download), "--json", "--service", f"http://127.0.0.1:{free_port()}",
                             env=FETCH)
    assert done.returncode == 1 and _json(done)["checks"][0]["code"] == "NOT_REGISTERED"
    assert "warning:" in done.stderr and "127.0.0.1" in done.stderr


def test_a_parent_statement_that_does_not_verify_is_refused_at_registration(anvil_url, tmp_path, web):
    case = _setup(anvil_url, tmp_path, web, batched=False)
    forged = tmp_path / "forged-data.json"
    forged.write_text(_tampered(case.dataset.dumps()))
    other = make_artifact(tmp_path, "other-model", {"weights.bin": b"other weights" * 10})
    claims = tmp_path / "other.claims.json"
    claims.write_text(json.dumps(model_claims("0x" + case.dataset.subject.hex())))
    done = case.b.run("register", str(other), "--claims", str(claims), "--parent-statement", str(forged))
    assert done.returncode == 2 and "--parent-statement" in done.stderr and "DISCLOSURE_MISMATCH" in done.stderr
    assert not (other / "provenance.json").exists()

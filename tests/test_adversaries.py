"""Issue 12's adversaries, tried through a real registry on anvil, the CLI and the HTTP service.

The registry is permissionless: anyone may register a record of any subject,
revoke their own records and dispute anyone's. Each test below is one item of
the issue ("What is wrong now"), named after it, and asserts the exact codes,
statuses and exit codes the verdict gives now (docs/trust.md tells the same
scenarios for people).

Publishers act through the library (:class:`provenance.publish.Publisher`:
what `provenance register`, `revoke`, `supersede` and `dispute` run); verdicts
come from `provenance verify --json` in a subprocess, or from a real uvicorn
server of the service where the issue names the API. A home with a store that
holds every Statement (strangers' included) is the strongest verifier: it
reads everything a stranger says. A FRESH home holds only what a downloader
has. One registry serves the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from provenance.claims import Claims
from provenance.commitments import Commitment, Opening, commit
from provenance.index import Index
from provenance.ledger import Ledger
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.publish import Prepared, Publisher, prepare
from provenance.record import Kind, ReasonCode, Record, hex32
from provenance.signing import sign_record
from provenance.statement import Statement
from provenance.store import Store
from provenance.verifier import Verifier
from tests.helpers import account_factory, free_port, fresh_registry, run_cli

pytestmark = pytest.mark.chain

CLEAN = {"model": "Apache-2.0", "dataset": "CC-BY-4.0", "other": "CC-BY-4.0"}
NON_COMMERCIAL = {"copyright.license": "CC-BY-NC-4.0", "copyright.commercial_use": False}
#: The ImageNet terms of access: a research-only data agreement the custom license table knows by its URL
RESEARCH_ONLY_URL = "https://www.image-net.org/download.php"


def claims_for(kind: str, changes: dict | None = None) -> dict:
    """Clean, fully disclosed claims of ``kind`` with dotted-path ``changes`` applied (None removes a field)."""
    data: dict = {
        "kind": kind,
        "name": f"adversary/{kind}",
        "copyright": {
            "license": CLEAN[kind],
            "training_mining": {"ai_training": "allowed", "ai_generative_training": "allowed",
                                "data_mining": "allowed", "ai_inference": "allowed"},
        },
        "privacy": {"personal_data": "absent", "confidentiality": "clear"},
        "lineage": {},
        "disclose": ["copyright", "privacy", "lineage"],
    }
    for path, value in (changes or {}).items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def pinned(parent: Statement) -> dict:
    """A ``lineage.trained_on`` entry pinning ``parent``'s record (the record the child relied on)."""
    return {"subject": hex32(parent.subject), "record": hex32(parent.record_id)}


def artifact(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, content in files.items():
        (root / name).write_bytes(content)
    return root


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """One registry, funded accounts by name, and one publishers' store every publisher (strangers too) uses."""

    anvil_url: str
    ledger: Ledger
    home: Path
    store: Store
    index: Index
    accounts: dict = field(default_factory=dict)

    def account(self, name: str):
        if name not in self.accounts:
            self.accounts[name] = account_factory(self.ledger)()
        return self.accounts[name]

    def address(self, name: str) -> str:
        return self.account(name).address

    def publisher(self, name: str) -> Publisher:
        return Publisher(self.store, self.ledger, self.account(name))

    def register(self, who: str, spec: dict, *, path: Path | None = None, subject: bytes | None = None,
                 extra_parents=(), uri: str = "") -> Statement:
        """A direct registration (its own transaction); with ``path`` its Statement is written beside it."""
        manifest = Manifest.from_path(path) if path is not None else None
        if manifest is None and subject is None:
            subject = os.urandom(32)
        prepared = prepare(
            account=self.account(who), domain=self.ledger.domain, claims=Claims.from_mapping(spec),
            manifest=manifest, subject=subject, extra_parents=extra_parents, uri=uri,
            statement_path=(path / "provenance.json") if path is not None else None,
        )
        return self.publisher(who).register(prepared)

    def policy(self, *trusted: str, auditors=()) -> Policy:
        return Policy.from_mapping({"trusted_publishers": [self.address(n) for n in trusted],
                                    "trusted_auditors": [self.address(n) for n in auditors]})

    def policy_file(self, directory: Path, *trusted: str) -> Path:
        path = directory / f"trusting-{'-'.join(trusted) or 'nobody'}.yaml"
        path.write_text("version: 1\ntrusted_publishers:\n"
                        + "".join(f"  - {self.address(n)}\n" for n in trusted))
        return path

    def env(self, home: Path | None = None) -> dict:
        return {"PROVENANCE_HOME": str(home or self.home), "PROVENANCE_RPC_URL": self.anvil_url,
                "PROVENANCE_REGISTRY": self.ledger.registry}


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    home = tmp_path_factory.mktemp("adversaries-home")
    store = Store.open(home)
    index = Index.open(home / "library-index.db")
    yield World(anvil_url, ledger, home, store, index)
    index.close()
    store.close()


@dataclass
class ModelOnData:
    """Model M by P, with files, trained on dataset D by Q (subject only) and pinning D's record."""

    dataset: Statement
    model: Statement
    path: Path


def model_on_data(world: World, tmp_path: Path, dataset_changes: dict | None = None, *,
                  data_pub: str = "Q", model_pub: str = "P", dataset_files: bool = False) -> ModelOnData:
    """``dataset_files``: D has files too (a service keeps posted Statements only when a manifest gives
    their subject)."""
    data_path = artifact(tmp_path / "dataset", {"train.jsonl": os.urandom(64)}) if dataset_files else None
    dataset = world.register(data_pub, claims_for("dataset", dataset_changes), path=data_path)
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64), "config.json": b"{}"})
    model = world.register(model_pub, claims_for("model", {"lineage.trained_on": [pinned(dataset)]}), path=path)
    return ModelOnData(dataset, model, path)


def committed_as(world: World, who: str, spec: dict, replace: dict) -> Prepared:
    """Claims committed by another publisher's tooling: ``replace`` gives field values our claims loader
    refuses (a subject-only record; its Statement discloses them, signed like any other)."""
    claims = Claims.from_mapping(spec)
    honest = commit(claims)
    openings = [Opening.of(o.field, o.salt, replace[o.field]) if o.field in replace else o for o in honest.openings]
    commitment = Commitment.from_openings(openings, claims.disclose)
    account = world.account(who)
    record = Record.create(os.urandom(32), Kind.parse(claims.kind), commitment.claims_root, claims.parents(), "")
    statement = Statement.create(
        name="other-tooling", record=record, publisher=account.address,
        signature=sign_record(account, record, world.ledger.domain), chain_id=world.ledger.chain_id,
        registry=world.ledger.registry, disclosures=[d.to_dict() for d in commitment.disclose()],
    )
    return Prepared(statement, commitment, None)


# --------------------------------------------------------------------------- reading verdicts


def verify(world: World, target, *args: str, exit_code: int, home: Path | None = None) -> dict:
    """`provenance verify TARGET ARGS --json` as a user runs it; its exit code must be ``exit_code``."""
    result = run_cli("verify", str(target), *args, "--json", env=world.env(home))
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    assert document["exitCode"] == exit_code
    return document


def lines(document: dict, code: str | None = None, status: str | None = None, check: str | None = None) -> list:
    return [c for c in document["checks"] if (code is None or c["code"] == code)
            and (status is None or c["status"] == status) and (check is None or c["check"] == check)]


def line(document: dict, code: str, status: str, check: str) -> dict:
    """The one line with this code, status and check (the first, when several)."""
    found = lines(document, code, status, check)
    assert found, f"no {check} {code} {status} in:\n{json.dumps(document['checks'], indent=1)}"
    return found[0]


def weighing(document: dict) -> set[tuple[str, str, str]]:
    """What decides a verdict: its lines other than information, as (check, code, status)."""
    return {(c["check"], c["code"], c["status"]) for c in document["checks"] if c["status"] != "info"}


def all_pass(document: dict) -> None:
    """Every line that weighs passes, and the verdict with it."""
    assert document["overall"] == "pass", json.dumps(document["checks"], indent=1)
    assert {status for _, _, status in weighing(document)} == {"pass"}


def record_of(document: dict, record_id: bytes) -> dict:
    (seen,) = [r for r in document["records"] if r["recordId"] == hex32(record_id)]
    return seen


def library_verdict(world: World, path: Path, policy: Policy | None = None) -> dict:
    """The same verdict in process (for a baseline before a stranger acts), from the publishers' store."""
    verifier = Verifier(world.ledger, world.index, policy or Policy.default(), [world.store])
    return verifier.verify_path(path).to_json()


# --------------------------------------------------------------------------- a real HTTP service


class _Server:
    """The service app under uvicorn on a free loopback port, in a thread (its indexer runs)."""

    def __init__(self, world: World, index_path: Path, policy_path: Path | None) -> None:
        import uvicorn

        from api.app import create_app
        from api.settings import ServiceSettings

        settings = ServiceSettings(rpc_url=world.anvil_url, registry=world.ledger.registry, index_path=index_path,
                                   poll_interval=0.1, policy_path=policy_path)
        self.port = free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-adversaries", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def serving(world: World, directory: Path, policy_path: Path | None) -> Iterator[httpx.Client]:
    server = _Server(world, directory / f"service-{free_port()}.sqlite", policy_path)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            head = world.ledger.block_number()
            deadline = time.monotonic() + 30
            while (ready := client.get("/readyz")).status_code != 200 or ready.json()["syncedTo"] < head:
                assert time.monotonic() < deadline, f"the service did not catch up: {ready.text}"
                time.sleep(0.1)
            yield client
    finally:
        server.stop()


def post_statement(client: httpx.Client, statement: Statement) -> None:
    """A publisher posts its Statement (accepted only if it verifies: signed, anchored here, disclosures)."""
    answer = client.post("/v1/statements", json=statement.to_json())
    assert answer.status_code == 201, answer.text


def answered(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------- 1. record substitution


def _substitution_fails(document: dict, world: World, model: Statement, impostor: Statement, *,
                        trusting_p: bool) -> None:
    """The model's revocation and its non-commercial lineage decide, whoever else registered its subject."""
    assert document["overall"] == "fail" and document["exitCode"] == 1
    assert document["subject"] == hex32(model.subject)
    line(document, "REVOKED", "fail", "status")
    noncommercial = line(document, "USE_NOT_PERMITTED", "fail", "copyright")
    assert noncommercial["evidence"]["intendedUse"] == "commercial"
    ours, theirs = record_of(document, model.record_id), record_of(document, impostor.record_id)
    assert (ours["publisher"], ours["state"], ours["relied"]) == (world.address("P"), "revoked", True)
    assert (theirs["publisher"], theirs["state"], theirs["trusted"]) == (world.address("stranger"), "registered",
                                                                         False)
    if trusting_p:
        assert ours["trusted"] is True and theirs["relied"] is False
        shown = line(document, "UNTRUSTED_PUBLISHER", "info", "authenticity")
        assert shown["evidence"]["recordId"] == hex32(impostor.record_id)
        assert shown["evidence"]["publisher"] == world.address("stranger")
        assert "is not relied on" in shown["message"]
        assert {c["status"] for c in lines(document, "UNTRUSTED_PUBLISHER", check="authenticity")} == {"info"}
    else:  # trusting nobody: every record counts, the most restrictive decides, the verdict says who claims what
        assert ours["trusted"] is False and theirs["relied"] is True
        (said,) = [c for c in lines(document, "UNTRUSTED_PUBLISHER", "warn", "authenticity")
                   if "publishers" in c["evidence"]]
        assert said["evidence"]["records"] == [hex32(model.record_id), hex32(impostor.record_id)] or \
            said["evidence"]["records"] == [hex32(impostor.record_id), hex32(model.record_id)]
        assert set(said["evidence"]["publishers"]) == {world.address("P"), world.address("stranger")}
        assert "disagree" in said["message"] and "most restrictive" in said["message"]


def test_record_substitution_a_strangers_record_with_a_copied_manifest_decides_nothing(world, tmp_path):
    """Issue 12, item 1: a stranger registers the model's subject again (its files copied, clean claims, no
    parents) and posts that Statement. The service by subject, by one file, under a caller's policy, and a
    mirror shipping the stranger's Statement all still fail the revoked, non-commercial model."""
    original = model_on_data(world, tmp_path, NON_COMMERCIAL, dataset_files=True)
    world.publisher("P").revoke(original.model.record_id, "trained on non-commercial data", ReasonCode.WITHDRAWN)
    mirror = tmp_path / "mirror"
    shutil.copytree(original.path, mirror, ignore=shutil.ignore_patterns("provenance.json"))
    impostor = world.register("stranger", claims_for("model"), path=mirror)  # mirror/provenance.json: its Statement
    assert impostor.subject == original.model.subject and impostor.record.parents == ()
    assert impostor.manifest == original.model.manifest
    # and another artifact of its own that holds the model's weights beside a file of its own (a file hit twice)
    bundle = artifact(tmp_path / "bundle", {"weights.bin": (original.path / "weights.bin").read_bytes(),
                                            "README.md": b"totally clean"})
    repack = world.register("stranger", claims_for("model"), path=bundle)

    trusting = world.policy_file(tmp_path, "P")
    for policy_path, trusting_p in ((trusting, True), (None, False)):
        with serving(world, tmp_path, policy_path) as service:
            post_statement(service, original.dataset)  # Q and P publish theirs
            post_statement(service, original.model)
            post_statement(service, impostor)  # the stranger posts its own
            post_statement(service, repack)
            subject = hex32(original.model.subject)
            # (a) by subject, under the server's policy
            document = answered(service.get(f"/v1/verify/{subject}"))
            _substitution_fails(document, world, original.model, impostor, trusting_p=trusting_p)
            # (b) one file of the model
            weights = (original.path / "weights.bin").read_bytes()
            document = answered(service.post("/v1/verify/file", files={"file": ("weights.bin", weights)}))
            assert line(document, "OK", "pass", "integrity")["evidence"]["path"] == "weights.bin"
            _substitution_fails(document, world, original.model, impostor, trusting_p=trusting_p)
            also = line(document, "UNTRUSTED_PUBLISHER", "info", "integrity")  # the stranger's repack: information
            assert also["evidence"]["alsoIn"] == [hex32(repack.subject)]
            # the stranger's Statement posted for verification is one record among the subject's
            document = answered(service.post("/v1/verify/statement", json=impostor.to_json()))
            _substitution_fails(document, world, original.model, impostor, trusting_p=trusting_p)
            if not trusting_p:  # a caller's own policy, on the server that trusts nobody
                for policy, trusts_p in (({"trusted_publishers": [world.address("P")]}, True), ({}, False)):
                    document = answered(service.post("/v1/verify", json={"subject": subject, "policy": policy}))
                    _substitution_fails(document, world, original.model, impostor, trusting_p=trusts_p)

    # (c) a mirror ships the stranger's Statement as provenance.json; a downloader verifies from a fresh home
    fresh = tmp_path / "downloader"
    for args, trusting_p in (((), False), (("--policy", str(trusting)), True)):
        document = verify(world, mirror, *args, exit_code=1, home=fresh)
        line(document, "REVOKED", "fail", "status")
        assert record_of(document, original.model.record_id)["relied"] is True
        assert record_of(document, impostor.record_id)["relied"] is not trusting_p


def test_record_substitution_a_mirrors_unregistered_statement_decides_nothing_under_a_trusting_policy(
        world, tmp_path):
    """Issue 12, item 1 (a mirror): the mirror ships a Statement of its own for the model's subject, signed
    but never registered, claiming the model is non-commercial. Possession decides nothing: under a policy
    trusting P and Q the verdict rests on P's record, which passes; the mirror's Statement is not relied on
    and says nothing that fails the model (for people it is shown; it weighs nothing)."""
    case = model_on_data(world, tmp_path)
    mirror = tmp_path / "mirror"
    shutil.copytree(case.path, mirror, ignore=shutil.ignore_patterns("provenance.json"))
    forged = prepare(account=world.account("stranger"), domain=world.ledger.domain,
                     claims=Claims.from_mapping(claims_for("model", {"copyright.commercial_use": False})),
                     manifest=Manifest.from_path(mirror)).statement
    assert forged.subject == case.model.subject
    forged.write(mirror / "provenance.json")
    policy = str(world.policy_file(tmp_path, "P", "Q"))
    all_pass(verify(world, case.path, "--policy", policy, exit_code=0))  # P's own copy
    document = verify(world, mirror, "--policy", policy, exit_code=0)
    assert not lines(document, status="fail"), [c["message"] for c in lines(document, status="fail")]
    assert record_of(document, case.model.record_id)["relied"] is True
    assert record_of(document, forged.record_id)["relied"] is False
    assert not [c for c in document["checks"] if "trusts none" in c["message"]]


# --------------------------------------------------------------------------- 2. griefing


def _griefing_changes_nothing(world: World, case: ModelOnData, tmp_path: Path, act) -> tuple[dict, dict]:
    """The model's verdicts before and after ``act`` (a stranger's): under a policy trusting P and Q it still
    passes, --strict included; under the default policy its weighing lines are those it had before and none
    fails. Returns the two verdicts after the act (trusting P and Q under --strict, default)."""
    trusting = world.policy_file(tmp_path, "P", "Q")
    before = library_verdict(world, case.path)
    assert before["overall"] == "warn" and not [c for c in before["checks"] if c["status"] == "fail"]
    act()
    trusted = verify(world, case.path, "--policy", str(trusting), "--strict", exit_code=0)
    all_pass(trusted)
    default = verify(world, case.path, exit_code=0)
    assert weighing(default) == weighing(before), (weighing(default) ^ weighing(before))
    assert default["overall"] == "warn" and not lines(default, status="fail")
    return trusted, default


def test_griefing_a_strangers_record_of_the_dataset_listing_itself_as_parent(world, tmp_path):
    """Issue 12, item 2: one transaction by anyone (a record of D's subject whose parent is D itself, a
    cycle) no longer fails every descendant of D."""
    case = model_on_data(world, tmp_path)
    grief: list[Statement] = []

    def act():
        grief.append(world.register("stranger", claims_for("dataset"), subject=case.dataset.subject,
                                    extra_parents=[case.dataset.subject]))
        assert grief[0].record.parents == (case.dataset.subject,)

    trusted, default = _griefing_changes_nothing(world, case, tmp_path, act)
    assert line(trusted, "OK", "pass", "lineage")["evidence"]["records"] == [hex32(case.dataset.record_id)]
    for document in (trusted, default):
        assert not [c for c in lines(document, "PARENT_FAILED") if c["status"] != "info"]
        shown = line(document, "PARENT_FAILED", "info", "lineage")
        assert shown["evidence"]["recordId"] == hex32(grief[0].record_id) and shown["evidence"]["wouldBe"] == "fail"
        assert "cycle" in shown["message"] and shown["message"].startswith("Not relied on: record ")


def test_griefing_a_strangers_record_of_the_dataset_revoked_for_erasure(world, tmp_path):
    """Issue 12, item 2: a stranger registers D's subject and revokes that record with reason code erasure;
    only D's own publisher can erase D, so no descendant is ERASURE_AFFECTED."""
    case = model_on_data(world, tmp_path)

    def act():
        grief = world.register("stranger", claims_for("dataset"), subject=case.dataset.subject)
        world.publisher("stranger").revoke(grief.record_id, "erasure request 2026-1 (GDPR Art. 17)",
                                           ReasonCode.ERASURE)

    trusted, default = _griefing_changes_nothing(world, case, tmp_path, act)
    for document in (trusted, default):
        assert not [c for c in lines(document, "ERASURE_AFFECTED") + lines(document, "PARENT_FAILED")
                    if c["status"] != "info"]
        assert line(document, "PARENT_FAILED", "info", "lineage")["evidence"]["wouldBe"] == "fail"
        shown = line(document, "ERASURE_AFFECTED", "info", "privacy")
        assert shown["evidence"]["publisher"] == world.address("stranger") and shown["evidence"]["wouldBe"] == "fail"
        assert shown["message"].startswith("Not relied on: record ")


def test_griefing_a_strangers_record_of_the_dataset_claiming_no_derivatives(world, tmp_path):
    """Issue 12, item 2: a stranger's record of D's subject claiming CC-BY-ND-4.0 is information
    (NO_DERIVATIVES, info, wouldBe fail), never a failure of the model P trained on D."""
    case = model_on_data(world, tmp_path)

    def act():
        world.register("stranger", claims_for("dataset", {"copyright.license": "CC-BY-ND-4.0"}),
                       subject=case.dataset.subject)

    trusted, default = _griefing_changes_nothing(world, case, tmp_path, act)
    for document in (trusted, default):
        assert not lines(document, "NO_DERIVATIVES", "fail")
        shown = line(document, "NO_DERIVATIVES", "info", "copyright")
        assert shown["evidence"]["publisher"] == world.address("stranger") and shown["evidence"]["wouldBe"] == "fail"
        assert shown["evidence"]["ancestor"] == hex32(case.dataset.subject)


def test_griefing_a_strangers_dispute_does_not_fail_a_strict_pipeline(world, tmp_path):
    """Issue 12, item 2: anyone may dispute any record; under `provenance verify --strict` a stranger's
    dispute of the model or of its dataset is an info line (DISPUTED, info): exit 0. Disputes by parties the
    policy trusts count: a trusted auditor's of the dataset warns, a trusted publisher's of the model fails."""
    case = model_on_data(world, tmp_path)

    def act():
        world.publisher("stranger").dispute(case.model.record_id, b"\x66" * 32, "https://grief.example/dispute")

    trusted, default = _griefing_changes_nothing(world, case, tmp_path, act)
    for document in (trusted, default):
        shown = line(document, "DISPUTED", "info", "endorsements")
        assert world.address("stranger") in shown["evidence"]["disputers"]
    # a dispute of the dataset it relied on, by the same stranger: information too
    world.publisher("stranger").dispute(case.dataset.record_id, b"\x68" * 32, "https://grief.example/dataset")
    all_pass(verify(world, case.path, "--policy", str(world.policy_file(tmp_path, "P", "Q")), "--strict",
                    exit_code=0))
    # the parties a policy trusts count: an auditor's dispute of an ancestor warns, a trusted publisher's
    # dispute of the verified record fails (as an auditor's would)
    policy = tmp_path / "auditor.yaml"
    policy.write_text(f"trusted_publishers: [{world.address('P')}, {world.address('Q')}]\n"
                      f"trusted_auditors: [{world.address('auditor')}]\n")
    world.publisher("auditor").dispute(case.dataset.record_id, b"\x69" * 32, "https://audit.example/dataset")
    document = verify(world, case.path, "--policy", str(policy), exit_code=0)
    assert world.address("auditor") in line(document, "DISPUTED", "warn", "endorsements")["evidence"]["disputers"]
    world.publisher("Q").dispute(case.model.record_id, b"\x67" * 32, "https://q.example/misuse")
    document = verify(world, case.path, "--policy", str(policy), exit_code=1)
    assert world.address("Q") in line(document, "DISPUTED", "fail", "endorsements")["evidence"]["disputers"]


# --------------------------------------------------------------------------- 3. ancestors vs policy


def test_ancestors_are_checked_against_the_policy_a_sock_puppets_dataset(world, tmp_path):
    """Issue 12, item 3: a sock-puppet S registers a "scraped" dataset with clean claims and P's model pins
    it. A policy trusting only P names S on the lineage line (UNTRUSTED_PUBLISHER, fail); trusting S too
    passes; a policy trusting nobody warns."""
    scraped = {"name": "scraped/web-crawl-2026", "copyright.license": "CC0-1.0"}
    case = model_on_data(world, tmp_path, scraped, data_pub="S")
    document = verify(world, case.path, "--policy", str(world.policy_file(tmp_path, "P")), exit_code=1)
    assert document["overall"] == "fail"
    named = line(document, "UNTRUSTED_PUBLISHER", "fail", "lineage")
    assert named["evidence"]["publisher"] == world.address("S")
    assert named["evidence"]["recordId"] == hex32(case.dataset.record_id)
    assert world.address("S") in named["message"] and "not among the policy's trusted publishers" in named["message"]
    assert weighing(document) - {("lineage", "UNTRUSTED_PUBLISHER", "fail")} == {
        (check, "OK", "pass") for check in ("integrity", "authenticity", "anchoring", "status", "claims",
                                            "copyright", "privacy", "endorsements", "evaluations")}
    all_pass(verify(world, case.path, "--policy", str(world.policy_file(tmp_path, "P", "S")), "--strict",
                    exit_code=0))
    document = verify(world, case.path, exit_code=0)
    assert line(document, "UNTRUSTED_PUBLISHER", "warn", "lineage")["evidence"]["publisher"] == world.address("S")


# --------------------------------------------------------------------------- 4. honest corrections


def test_honest_corrections_a_dataset_superseded_by_its_publisher(world, tmp_path):
    """Issue 12, item 4: Q supersedes D by D2 (reason wrong_claims): the model that pinned D passes, relying
    on D2, and its lineage line says so."""
    case = model_on_data(world, tmp_path)
    corrected = world.register("Q", claims_for("dataset", {"copyright.license": "CC-BY-4.0"}))
    world.publisher("Q").supersede(case.dataset.record_id, corrected.record_id, ReasonCode.WRONG_CLAIMS,
                                   "row counts were wrong")
    document = verify(world, case.path, "--policy", str(world.policy_file(tmp_path, "P", "Q")), "--strict",
                      exit_code=0)
    all_pass(document)
    ok = line(document, "OK", "pass", "lineage")
    assert ok["evidence"]["records"] == [hex32(corrected.record_id)]
    assert ok["evidence"]["replaced"] == {hex32(case.dataset.subject): [hex32(case.dataset.record_id)]}
    assert "relied on through their publisher's correction" in ok["message"]


def test_honest_corrections_a_dataset_revoked_for_a_typo_and_registered_again(world, tmp_path):
    """Issue 12, item 4: Q revokes D (wrong_claims, "typo") and registers the same subject again: the model
    relies on the new record and passes. A stranger's record of the subject in between replaces nothing."""
    case = model_on_data(world, tmp_path)
    policy = str(world.policy_file(tmp_path, "P", "Q"))
    world.publisher("Q").revoke(case.dataset.record_id, "typo", ReasonCode.WRONG_CLAIMS)
    # meanwhile a stranger registers the subject: only D's own publisher's record replaces D
    world.register("stranger", claims_for("dataset"), subject=case.dataset.subject)
    document = verify(world, case.path, "--policy", policy, exit_code=1)
    failed = line(document, "PARENT_FAILED", "fail", "lineage")
    assert (failed["evidence"]["recordId"], failed["evidence"]["reasonCode"]) == (hex32(case.dataset.record_id),
                                                                                  "wrong_claims")
    again = world.register("Q", claims_for("dataset"), subject=case.dataset.subject)
    document = verify(world, case.path, "--policy", policy, "--strict", exit_code=0)
    all_pass(document)
    ok = line(document, "OK", "pass", "lineage")
    assert ok["evidence"]["records"] == [hex32(again.record_id)]
    assert ok["evidence"]["replaced"] == {hex32(case.dataset.subject): [hex32(case.dataset.record_id)]}


def test_honest_corrections_never_after_a_key_compromise(world, tmp_path):
    """Issue 12, item 4: a record revoked for key_compromise is not replaced by anything its key signs
    after: registering the subject again does not save the model (PARENT_FAILED, fail)."""
    case = model_on_data(world, tmp_path)
    world.publisher("Q").revoke(case.dataset.record_id, "signing key leaked", ReasonCode.KEY_COMPROMISE)
    world.register("Q", claims_for("dataset"), subject=case.dataset.subject)
    document = verify(world, case.path, "--policy", str(world.policy_file(tmp_path, "P", "Q")), exit_code=1)
    failed = line(document, "PARENT_FAILED", "fail", "lineage")
    assert failed["evidence"]["ancestor"] == hex32(case.dataset.subject)
    assert failed["evidence"]["recordId"] == hex32(case.dataset.record_id)
    assert failed["evidence"]["reasonCode"] == "key_compromise"


def test_honest_corrections_a_supersession_for_erasure_reaches_the_model(world, tmp_path):
    """Issue 12, item 4 (and privacy 5): Q supersedes D with reason erasure: the model is relied on D2 and
    still ERASURE_AFFECTED (fail), since it was trained on the erased data."""
    case = model_on_data(world, tmp_path)
    successor = world.register("Q", claims_for("dataset"))
    world.publisher("Q").supersede(case.dataset.record_id, successor.record_id, ReasonCode.ERASURE,
                                   "erasure request 2026-7")
    document = verify(world, case.path, "--policy", str(world.policy_file(tmp_path, "P", "Q")), exit_code=1)
    erased = line(document, "ERASURE_AFFECTED", "fail", "privacy")
    assert erased["evidence"]["ancestor"] == hex32(case.dataset.subject)
    assert erased["evidence"]["reasonCode"] == "erasure"


# --------------------------------------------------------------------------- 5-10: the items without a scenario


def test_license_table_holes_standard_and_custom_licenses_reach_the_verdict(world, tmp_path):
    """Issue 12, item 5, through the chain: non-commercial SPDX ids once "unspecified", an AND keeping its
    classified non-commercial part, and a known research-only data agreement (LicenseRef + its URL) fail
    commercial use of a model trained on them; an OR with an unknown option or with twenty-one options takes
    the classified permissive one; C-UDA terms stop at the trained model."""
    policy = str(world.policy_file(tmp_path, "P", "Q"))
    for i, license_ in enumerate(("CC-BY-NC-ND-2.0", "PolyForm-Noncommercial-1.0.0", "CC-BY-NC-SA-3.0-IGO",
                                  "unknown AND CC-BY-NC-SA-4.0")):
        case = model_on_data(world, tmp_path / f"nc{i}", {"copyright.license": license_})
        document = verify(world, case.path, "--policy", policy, exit_code=1)
        refused = line(document, "USE_NOT_PERMITTED", "fail", "copyright")
        assert refused["evidence"]["ancestor"] == hex32(case.dataset.subject), license_
        assert not lines(document, "LICENSE_UNSPECIFIED", "warn", "copyright") or "unknown" in license_
    agreement = {"copyright.license": "LicenseRef-research-only",
                 "copyright.license_url": RESEARCH_ONLY_URL}
    case = model_on_data(world, tmp_path / "agreement", agreement)
    line(verify(world, case.path, "--policy", policy, exit_code=1), "USE_NOT_PERMITTED", "fail", "copyright")
    # an OR takes the least restrictive classified option (never the unknown one), however many there are;
    # C-UDA's terms stop at the trained model (its "Results")
    many = " OR ".join([f"CC-BY-NC-{v}" for v in ("1.0", "2.0", "2.5", "3.0", "4.0")] * 4 + ["MIT"])
    for i, license_ in enumerate(("LicenseRef-unknown-terms OR MIT", many, "C-UDA-1.0")):
        case = model_on_data(world, tmp_path / f"free{i}", {"copyright.license": license_})
        all_pass(verify(world, case.path, "--policy", policy, "--strict", exit_code=0))


def test_limits_read_as_facts_values_outside_the_vocabulary_count_as_undisclosed(world, tmp_path):
    """Issue 12, item 7, through the chain: a dataset whose publisher's tooling committed `ai_training:
    not_allowed` or `tdm_reservation: "true"` (no claims vocabulary; our loader refuses them) is read as
    undisclosed and the verdict says so (LICENSE_UNSPECIFIED, warn: --strict exits 1), never as allowed."""
    policy = str(world.policy_file(tmp_path, "P", "Q"))
    for i, (name, value) in enumerate((("copyright.training_mining.ai_training", "not_allowed"),
                                       ("copyright.tdm_reservation", "true"))):
        dataset = world.publisher("Q").register(committed_as(world, "Q", claims_for("dataset"), {name: value}))
        path = artifact(tmp_path / f"model{i}", {"weights.bin": os.urandom(64)})
        world.register("P", claims_for("model", {"lineage.trained_on": [pinned(dataset)]}), path=path)
        document = verify(world, path, "--policy", policy, exit_code=0)
        assert document["overall"] == "warn"
        said = [c for c in lines(document, "LICENSE_UNSPECIFIED", "warn", "copyright")
                if c["evidence"].get("field") == name]
        assert said and "is not valid vocabulary" in said[0]["message"], document["checks"]
        assert "treated as undisclosed" in said[0]["message"]
        verify(world, path, "--policy", policy, "--strict", exit_code=1)


def test_limits_read_as_facts_a_strangers_record_with_many_parents_does_not_cut_the_walk(world, tmp_path):
    """Issue 12, item 7: a stranger registering D's subject with the most parents a record may have (all
    unknown) neither cuts the model's lineage walk nor adds PARENT_UNKNOWN: only the pinned record is walked."""
    from provenance.record import MAX_PARENTS

    case = model_on_data(world, tmp_path)

    def act():
        world.register("stranger", claims_for("dataset"), subject=case.dataset.subject,
                       extra_parents=[os.urandom(32) for _ in range(MAX_PARENTS - 1)])

    for document in _griefing_changes_nothing(world, case, tmp_path, act):
        assert not [c for c in lines(document, "PARENT_UNKNOWN") if c["status"] != "info"]
        shown = line(document, "PARENT_UNKNOWN", "info", "lineage")  # what the stranger's record would say
        assert shown["evidence"]["publisher"] == world.address("stranger")


def test_kind_is_self_declared_an_adapter_registered_as_other_is_trained(world, tmp_path):
    """Issue 12, item 8, through the chain: a training opt-out reaches an artifact trained on the data
    whatever kind its record declares (an adapter registered as `other`)."""
    dataset = world.register("Q", claims_for("dataset", {"copyright.training_mining.ai_training": "notAllowed"}))
    path = artifact(tmp_path / "adapter", {"adapter.safetensors": os.urandom(64)})
    world.register("P", claims_for("other", {"lineage.trained_on": [pinned(dataset)]}), path=path)
    document = verify(world, path, "--policy", str(world.policy_file(tmp_path, "P", "Q")), exit_code=1)
    refused = line(document, "TRAINING_NOT_ALLOWED", "fail", "copyright")
    assert refused["evidence"]["ancestor"] == hex32(dataset.subject)



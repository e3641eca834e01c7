"""Scenario corpus: every verdict code of CLAIMS.md, through a real registry on anvil.

Each scenario publishes real records (direct and batched) with the library's
publisher path, then verifies them with :class:`provenance.verifier.Verifier`
and asserts the code it must give, with its status. One registry serves the
whole module (scenarios use their own artifacts, so they do not disturb each
other).

Each scenario declares the codes it asserts with ``@pytest.mark.covers(...)``.
Two checks keep those declarations true and complete, in any order and under
``-k``: after each scenario that passed, the codes it asserted (through
:func:`expect`) must be exactly the ones it declares; and
:func:`test_the_corpus_covers_every_verdict_code` reads the declarations off
this module's functions (not off a run) and fails when some code of
:class:`~provenance.verdict.Code` has no scenario.

Three generations (dataset -> base model -> fine-tune) show that a change on
the dataset (an erasure revocation, a non-commercial license, a training
opt-out) reaches the fine-tune. A few scenarios go through the CLI, and the
bad inputs of `provenance verify` must exit 2 with a message, never a pass.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pytest

from provenance import merkle
from provenance.claims import Claims
from provenance.commitments import Commitment, Opening, commit
from provenance.index import Index
from provenance.ledger import Ledger
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.publish import Prepared, Publisher, prepare
from provenance.record import Kind, ReasonCode, Record, hex32
from provenance.signing import sign_record
from provenance.statement import Anchor, Statement
from provenance.store import Store
from provenance.verdict import Check, CheckName, Code, Status, Verdict, verdict_schema
from provenance.verifier import Verifier
from tests.helpers import account_factory, free_port, fresh_registry, run_cli

pytestmark = pytest.mark.chain

#: Codes the running scenario asserted; compared with its ``covers`` marker once it passed.
ASSERTED: set[Code] = set()

ERASURE_REASON = "erasure request 2026-114 (GDPR Art. 17)"

CLEAN = {
    "model": {"license": "Apache-2.0"},
    "dataset": {"license": "CC-BY-4.0"},
    "other": {"license": "CC-BY-4.0"},
}


def claims_for(kind: str, changes: dict | None = None, *, disclose=("copyright", "privacy", "lineage")) -> dict:
    """Clean, fully disclosed claims of ``kind`` with dotted-path ``changes`` applied."""
    data = {
        "kind": kind,
        "name": f"scenario/{kind}",
        "copyright": {
            "license": CLEAN[kind]["license"],
            "training_mining": {
                "ai_training": "allowed",
                "ai_generative_training": "allowed",
                "data_mining": "allowed",
                "ai_inference": "allowed",
            },
        },
        "privacy": {"personal_data": "absent", "confidentiality": "clear"},
        "lineage": {},
        "disclose": list(disclose),
    }
    for path, value in (changes or {}).items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


def base(subject: bytes, relation: str = "finetune", record: bytes | None = None) -> dict:
    ref = {"subject": hex32(subject), "relation": relation}
    return ref if record is None else {**ref, "record": hex32(record)}


def pinned(parent: Statement) -> dict:
    """A ``trained_on`` entry pinning ``parent``'s record (the record the child relied on)."""
    return {"subject": hex32(parent.subject), "record": hex32(parent.record_id)}


def codes_of(verdict: Verdict, check: CheckName | str | None = None) -> dict[Code, set[Status]]:
    found: dict[Code, set[Status]] = {}
    for line in verdict.checks:
        if check is None or line.check is CheckName(check):
            found.setdefault(line.code, set()).add(line.status)
    return found


def expect(verdict: Verdict, code: Code, status: Status, check: CheckName | str | None = None) -> Check:
    """The first line with ``code`` and ``status`` (in ``check`` if given); records the code as covered."""
    for line in verdict.checks:
        if line.code is code and line.status is status and (check is None or line.check is CheckName(check)):
            ASSERTED.add(code)
            return line
    table = verdict.to_table()
    raise AssertionError(f"expected {code} {status} {check or ''} in:\n{table}")


def absent(verdict: Verdict, *codes: Code) -> None:
    present = [c for c in verdict.codes if c in codes]
    assert not present, f"unexpected {present} in:\n{verdict.to_table()}"


def all_pass(verdict: Verdict) -> None:
    bad = [c for c in verdict.checks if c.status is not Status.PASS]
    assert not bad, verdict.to_table()
    assert verdict.overall is Status.PASS and verdict.exit_code() == 0
    ASSERTED.add(Code.OK)


def schema_valid(document: dict) -> None:
    jsonschema.validate(document, verdict_schema())
    Verdict.from_json(document)  # and it reads back


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """One registry, funded publishers, one local store and one index for the module."""

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

    def publisher(self, name: str) -> Publisher:
        return Publisher(self.store, self.ledger, self.account(name))

    def prepare(self, who: str, spec: dict, *, path: Path | None = None, subject: bytes | None = None,
                extra_parents=(), uri: str = "") -> Prepared:
        manifest = Manifest.from_path(path) if path is not None else None
        if manifest is None and subject is None:
            subject = os.urandom(32)
        return prepare(
            account=self.account(who), domain=self.ledger.domain, claims=Claims.from_mapping(spec),
            manifest=manifest, subject=subject, extra_parents=extra_parents, uri=uri,
            statement_path=(path / "provenance.json") if path is not None and path.is_dir() else None,
        )

    def register(self, who: str, spec: dict, **kw) -> Statement:
        """A direct registration: its own transaction."""
        return self.publisher(who).register(self.prepare(who, spec, **kw))

    def batch(self, who: str, specs: list[dict], **kw) -> list[Statement]:
        """Queue each spec and anchor them in one batch; the anchored Statements, in order."""
        prepared = [self.prepare(who, spec, **kw) for spec in specs]
        publisher = self.publisher(who)
        publisher.queue(prepared)
        result = publisher.anchor()
        by_id = {s.record_id: s for s in result.statements}
        return [by_id[p.statement.record_id] for p in prepared]

    def prove(self, who: str, statement: Statement) -> None:
        """Make a batched record known to the registry's storage (needed before revoking it)."""
        anchor = statement.anchor
        self.publisher(who).submit(
            "proveBatched", statement.publisher, statement.record.struct_hash(), anchor.submitter, anchor.batch_root,
            list(anchor.proof), ref=hex32(statement.record_id),
        )

    def policy(self, *trusted: str, auditors=(), **settings) -> Policy:
        data = {
            "trusted_publishers": [self.account(n).address for n in trusted],
            "trusted_auditors": [self.account(n).address for n in auditors],
            **settings,
        }
        return Policy.from_mapping(data)

    def verifier(self, policy: Policy | None = None, **kw) -> Verifier:
        return Verifier(self.ledger, self.index, policy or Policy.default(), [self.store], **kw)

    def env(self) -> dict:
        return {
            "PROVENANCE_HOME": str(self.home),
            "PROVENANCE_RPC_URL": self.anvil_url,
            "PROVENANCE_REGISTRY": self.ledger.registry,
        }


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    home = tmp_path_factory.mktemp("scenario-home")
    store = Store.open(home)
    index = Index.open(home / "index.db")
    yield World(anvil_url, ledger, home, store, index)
    index.close()
    store.close()


def artifact(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


# --------------------------------------------------------------------------- integrity, authenticity


@pytest.mark.covers(Code.OK)
def test_ok_a_clean_model_from_a_trusted_publisher_passes_every_check(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": b"w" * 100, "config.json": b"{}"})
    world.register("acme", claims_for("model"), path=path)
    verdict = world.verifier(world.policy("acme")).verify_path(path)
    all_pass(verdict)
    assert [c.check for c in verdict.checks] == list(CheckName)


@pytest.mark.covers(Code.OK, Code.TAMPERED)
def test_tampered_names_each_changed_missing_and_extra_file(world, tmp_path):
    path = artifact(tmp_path / "model", {
        "weights.bin": b"w" * 64, "config.json": b"{}", "tokenizer.json": b"tok", "README.md": b"card",
    })
    world.register("acme", claims_for("model"), path=path)
    verifier = world.verifier(world.policy("acme"))
    all_pass(verifier.verify_path(path))

    (path / "weights.bin").write_bytes(b"x" * 64)  # changed
    (path / "tokenizer.json").unlink()  # missing
    (path / "extra.py").write_text("print('hi')")  # extra
    verdict = verifier.verify_path(path)
    line = expect(verdict, Code.TAMPERED, Status.FAIL, "integrity")
    evidence = line.to_json()["evidence"]
    assert [c["path"] for c in evidence["changed"]] == ["weights.bin"]
    assert evidence["missing"] == ["tokenizer.json"] and evidence["extra"] == ["extra.py"]
    for name in ("weights.bin", "tokenizer.json", "extra.py"):
        assert name in line.message
    assert "config.json" not in line.message and "README.md" not in line.message
    assert verdict.exit_code() == 1


@pytest.mark.covers(Code.NOT_REGISTERED)
def test_not_registered_unknown_subject(world):
    verdict = world.verifier().verify_subject(os.urandom(32))
    expect(verdict, Code.NOT_REGISTERED, Status.FAIL, "anchoring")
    assert verdict.record_id is None and verdict.exit_code() == 1


@pytest.mark.covers(Code.NOT_REGISTERED)
def test_not_registered_statement_anchored_on_another_registry(world, anvil_url, tmp_path):
    other = fresh_registry(anvil_url)
    account = world.account("acme")
    elsewhere = Store.open(world.home / "elsewhere")
    prepared = prepare(account=account, domain=other.domain, claims=Claims.from_mapping(claims_for("model")),
                       subject=os.urandom(32))
    statement = Publisher(elsewhere, other, account).register(prepared)
    assert statement.anchor.type == "direct"
    verdict = world.verifier(world.policy("acme")).verify_statement(statement)
    expect(verdict, Code.NOT_REGISTERED, Status.FAIL, "anchoring")
    assert verdict.exit_code() == 1

    # batched there: not "not anchored yet" here (a warning), not registered here at all
    path = artifact(tmp_path / "batched-elsewhere", {"weights.bin": os.urandom(64)})
    publisher = Publisher(elsewhere, other, account)
    publisher.queue([prepare(account=account, domain=other.domain, claims=Claims.from_mapping(claims_for("model")),
                             manifest=Manifest.from_path(path), statement_path=path / "provenance.json")])
    publisher.anchor()
    verdict = world.verifier(world.policy("acme")).verify_path(path)
    expect(verdict, Code.NOT_REGISTERED, Status.FAIL, "anchoring")
    assert verdict.exit_code() == 1

    # the same with a Statement for this registry that was never sent, given a made-up anchor
    never = world.prepare("acme", claims_for("model")).statement.with_anchor(Anchor("direct", os.urandom(32), 1))
    verdict = world.verifier(world.policy("acme")).verify_statement(never)
    expect(verdict, Code.NOT_REGISTERED, Status.FAIL, "anchoring")


@pytest.mark.covers(Code.UNTRUSTED_PUBLISHER)
def test_untrusted_publisher_fails_when_the_policy_lists_others_and_warns_without_a_list(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(32)})
    world.register("mallory", claims_for("model"), path=path)
    verdict = world.verifier(world.policy("acme")).verify_path(path)
    expect(verdict, Code.UNTRUSTED_PUBLISHER, Status.FAIL, "authenticity")
    assert verdict.exit_code() == 1
    verdict = world.verifier().verify_path(path)
    expect(verdict, Code.UNTRUSTED_PUBLISHER, Status.WARN, "authenticity")
    assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
    # a subject-only record has no manifest: by subject there are no files to compare (issue 13: a batch
    # document's members carry none either), and files given are checked against the subject itself
    statement = world.register("acme", claims_for("model"))
    verdict = world.verifier(world.policy("acme")).verify_subject(statement.subject)
    assert codes_of(verdict, "integrity") == {Code.OK: {Status.PASS}}
    assert verdict.exit_code() == 0
    other = world.verifier(world.policy("acme")).verify_statement(statement, files=Manifest.from_path(path))
    assert codes_of(other, "integrity") == {Code.TAMPERED: {Status.FAIL}} and other.exit_code() == 1


def _tampered(statement: Statement, edit) -> Statement:
    data = copy.deepcopy(statement.to_json())
    edit(data["predicate"])
    return Statement.from_json(data)


@pytest.mark.covers(Code.BAD_SIGNATURE)
def test_bad_signature_when_the_signature_or_the_record_is_altered(world):
    statement = world.register("acme", claims_for("model"))
    verifier = world.verifier(world.policy("acme"))

    def flip_signature(predicate):
        sig = bytearray.fromhex(predicate["signature"][2:])
        sig[10] ^= 0x01
        predicate["signature"] = "0x" + sig.hex()

    verdict = verifier.verify_statement(_tampered(statement, flip_signature))
    expect(verdict, Code.BAD_SIGNATURE, Status.FAIL, "authenticity")
    assert verdict.exit_code() == 1

    def change_uri(predicate):  # the record changes: an attacker recomputes recordId too
        predicate["record"]["uri"] = "https://evil.example/model"
        predicate.pop("recordId")

    verdict = verifier.verify_statement(_tampered(statement, change_uri))
    expect(verdict, Code.BAD_SIGNATURE, Status.FAIL, "authenticity")

    def other_publisher(predicate):  # claims to be someone else's record
        predicate["publisher"] = world.account("acme2").address
        predicate.pop("recordId")

    verdict = verifier.verify_statement(_tampered(statement, other_publisher))
    expect(verdict, Code.BAD_SIGNATURE, Status.FAIL, "authenticity")
    assert verdict.exit_code() == 1



@pytest.mark.covers(Code.OK)
def test_one_file_of_a_registered_artifact_is_proven_by_inclusion(world, tmp_path):
    from provenance.verifier import NotFound

    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64), "config.json": b"{}"})
    world.register("acme", claims_for("model"), path=path)
    single = tmp_path / "downloaded.bin"
    shutil.copy(path / "weights.bin", single)
    verdict = world.verifier(world.policy("acme")).verify_path(single)
    line = expect(verdict, Code.OK, Status.PASS, "integrity")
    assert line.evidence["path"] == "weights.bin" and line.evidence["proof"]
    all_pass(verdict)
    single.write_bytes(b"not the registered weights")
    with pytest.raises(NotFound):
        world.verifier(world.policy("acme")).verify_path(single)


@pytest.mark.covers(Code.OK, Code.TAMPERED)
def test_tampered_single_file_artifact_with_its_statement_beside(world, tmp_path):
    from provenance.statement import statement_path_for

    weights = tmp_path / "model.gguf"
    weights.write_bytes(os.urandom(96))
    prepared = prepare(account=world.account("acme"), domain=world.ledger.domain,
                       claims=Claims.from_mapping(claims_for("model")), manifest=Manifest.from_path(weights),
                       statement_path=statement_path_for(weights))
    world.publisher("acme").register(prepared)
    assert statement_path_for(weights).exists()
    all_pass(world.verifier(world.policy("acme")).verify_path(weights))
    weights.write_bytes(os.urandom(96))
    line = expect(world.verifier(world.policy("acme")).verify_path(weights), Code.TAMPERED, Status.FAIL, "integrity")
    assert "model.gguf" in line.message


@pytest.mark.covers(Code.OK, Code.UNTRUSTED_PUBLISHER)
def test_untrusted_publisher_in_endorsements_when_the_policy_requires_a_trusted_auditor(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    statement = world.register("acme", claims_for("model"), path=path)
    policy = world.policy("acme", auditors=["auditor"], require={"endorsements": True})
    world.publisher("acme").endorse(statement.record_id, b"\x77" * 32)  # a self-endorsement does not count
    world.publisher("stranger").endorse(statement.record_id, b"\x78" * 32)  # nor one by someone else
    verdict = world.verifier(policy).verify_path(path)
    expect(verdict, Code.UNTRUSTED_PUBLISHER, Status.FAIL, "endorsements")
    assert verdict.exit_code() == 1
    world.publisher("auditor").endorse(statement.record_id, b"\x79" * 32)
    all_pass(world.verifier(policy).verify_path(path))

# --------------------------------------------------------------------------- anchoring and status


@pytest.mark.covers(Code.NOT_ANCHORED, Code.OK)
def test_not_anchored_while_queued_then_ok_once_the_batch_is_anchored(world, tmp_path):
    path = artifact(tmp_path / "data", {"part-0.parquet": os.urandom(48)})
    publisher = world.publisher("datahub")
    prepared = world.prepare("datahub", claims_for("dataset"), path=path)
    publisher.queue([prepared])
    policy = world.policy("datahub")

    verdict = world.verifier(policy).verify_path(path)  # the Statement beside it has no anchor yet
    expect(verdict, Code.NOT_ANCHORED, Status.WARN, "anchoring")
    assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
    verdict = world.verifier(dataclasses.replace(policy, require=dataclasses.replace(
        policy.require, anchoring=True))).verify_subject(prepared.statement.subject)
    expect(verdict, Code.NOT_ANCHORED, Status.FAIL, "anchoring")

    publisher.anchor()
    all_pass(world.verifier(policy).verify_path(path))


@pytest.mark.covers(Code.BAD_PROOF, Code.OK)
def test_bad_proof_when_the_batch_inclusion_proof_is_altered(world, tmp_path):
    paths = [artifact(tmp_path / f"data{i}", {"rows.csv": os.urandom(40)}) for i in range(3)]
    statements = [world.batch("datahub", [claims_for("dataset")], path=p)[0] for p in paths[:1]]
    # three records in one batch, so every proof has siblings
    prepared = [world.prepare("datahub", claims_for("dataset"), path=p) for p in paths[1:]]
    publisher = world.publisher("datahub")
    publisher.queue(prepared)
    result = publisher.anchor()
    statements += list(result.statements)
    statement = next(s for s in result.statements if s.anchor.proof)
    verifier = world.verifier(world.policy("datahub"))
    expect(verifier.verify_statement(statement), Code.OK, Status.PASS, "anchoring")

    def alter(predicate):
        proof = predicate["anchor"]["proof"]
        proof[0] = "0x" + bytes(b ^ 0xFF for b in bytes.fromhex(proof[0][2:])).hex()

    verdict = verifier.verify_statement(_tampered(statement, alter))
    expect(verdict, Code.BAD_PROOF, Status.FAIL, "anchoring")
    assert verdict.exit_code() == 1

    def other_root(predicate):  # a root that was never anchored
        predicate["anchor"]["batchRoot"] = "0x" + os.urandom(32).hex()

    verdict = verifier.verify_statement(_tampered(statement, other_root))
    assert Code.OK not in codes_of(verdict, "anchoring")
    assert verdict.exit_code() == 1


@pytest.mark.covers(Code.OK, Code.UNCONFIRMED)
def test_unconfirmed_under_a_policy_asking_for_ten_confirmations(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model"), path=path)
    verdict = world.verifier(world.policy("acme", confirmations=10)).verify_path(path)
    line = expect(verdict, Code.UNCONFIRMED, Status.WARN, "anchoring")
    assert line.evidence["confirmations"] < 10
    verdict = world.verifier(world.policy("acme", confirmations=10, require={"anchoring": True})).verify_path(path)
    expect(verdict, Code.UNCONFIRMED, Status.FAIL, "anchoring")
    all_pass(world.verifier(world.policy("acme", confirmations=1)).verify_path(path))


@pytest.mark.covers(Code.OK, Code.REVOKED)
def test_revoked_direct_and_batched_records(world, tmp_path):
    policy = world.policy("acme", "datahub")
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    direct = world.register("acme", claims_for("model"), path=path)
    world.publisher("acme").revoke(direct.record_id, "weights leaked a secret")
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.REVOKED, Status.FAIL, "status")
    assert line.evidence["reason"] == "weights leaked a secret"
    assert verdict.exit_code() == 1

    batched_path = artifact(tmp_path / "data", {"rows.csv": os.urandom(64)})
    batched = world.batch("datahub", [claims_for("dataset")], path=batched_path)[0]
    all_pass(world.verifier(policy).verify_path(batched_path))
    world.prove("datahub", batched)
    world.publisher("datahub").revoke(batched.record_id, "licence withdrawn")
    verdict = world.verifier(policy).verify_path(batched_path)
    expect(verdict, Code.REVOKED, Status.FAIL, "status")
    assert verdict.exit_code() == 1


@pytest.mark.covers(Code.OK, Code.SUPERSEDED)
def test_superseded_points_to_the_successor(world, tmp_path):
    old_path = artifact(tmp_path / "v1", {"weights.bin": os.urandom(64)})
    new_path = artifact(tmp_path / "v2", {"weights.bin": os.urandom(64)})
    old = world.register("acme", claims_for("model"), path=old_path)
    new = world.register("acme", claims_for("model"), path=new_path)
    world.publisher("acme").supersede(old.record_id, new.record_id)
    verdict = world.verifier(world.policy("acme")).verify_path(old_path)
    line = expect(verdict, Code.SUPERSEDED, Status.WARN, "status")
    assert line.evidence["successor"] == hex32(new.record_id)
    assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
    all_pass(world.verifier(world.policy("acme")).verify_path(new_path))


@pytest.mark.covers(Code.DISCLOSURE_MISMATCH)
def test_disclosure_mismatch_when_a_disclosed_value_is_altered(world):
    statement = world.register("datahub", claims_for("dataset", {"copyright.license": "CC-BY-NC-4.0",
                                                                 "copyright.commercial_use": False}))
    verifier = world.verifier(world.policy("datahub"), )

    def relicense(predicate):
        for item in predicate["disclosures"]:
            if item["field"] == "copyright.license":
                item["value"] = "Apache-2.0"

    verdict = verifier.verify_statement(_tampered(statement, relicense))
    line = expect(verdict, Code.DISCLOSURE_MISMATCH, Status.FAIL, "claims")
    assert "copyright.license" in line.message
    assert verdict.exit_code() == 1
    # the untouched Statement's disclosures match
    assert codes_of(verifier.verify_statement(statement), "claims") == {Code.OK: {Status.PASS}}


@pytest.mark.covers(Code.DISPUTED)
def test_disputed_fails_for_a_trusted_auditor_and_is_information_for_anyone_else(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    statement = world.register("acme", claims_for("model"), path=path)
    policy = world.policy("acme", auditors=["auditor"])
    world.publisher("stranger").dispute(statement.record_id, b"\x11" * 32, "https://example.org/dispute")
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.DISPUTED, Status.INFO, "endorsements")
    assert world.account("stranger").address in line.evidence["disputers"]
    assert verdict.overall is Status.PASS and verdict.exit_code() == 0
    assert verdict.exit_code(strict=True) == 0  # a stranger's dispute fails no --strict pipeline

    world.publisher("auditor").dispute(statement.record_id, b"\x22" * 32, "https://example.org/audit")
    verdict = world.verifier(policy).verify_path(path)
    expect(verdict, Code.DISPUTED, Status.FAIL, "endorsements")
    assert verdict.exit_code() == 1


# --------------------------------------------------------------------------- three generations


@dataclass
class Generations:
    dataset: Statement
    base: Statement
    tune: Statement
    tune_path: Path


def three_generations(world: World, tmp_path: Path, dataset_changes: dict | None = None, *,
                      data_pub: str = "datahub", base_pub: str = "acme", tune_pub: str = "tuner",
                      base_changes: dict | None = None, tune_changes: dict | None = None) -> Generations:
    """dataset (batched) -> base model trained on it (direct) -> fine-tune of the base model (batched, with files)."""
    data_path = artifact(tmp_path / "dataset", {"train.jsonl": os.urandom(64), "README.md": b"card"})
    dataset = world.batch(data_pub, [claims_for("dataset", dataset_changes)], path=data_path)[0]
    base_model = world.register(base_pub, claims_for("model", {
        "lineage.trained_on": [hex32(dataset.subject)], **(base_changes or {})}))
    tune_path = artifact(tmp_path / "tune", {"adapter.safetensors": os.urandom(64), "config.json": b"{}"})
    tune = world.batch(tune_pub, [claims_for("model", {
        "lineage.base_models": [base(base_model.subject)], **(tune_changes or {})})], path=tune_path)[0]
    assert dataset.anchor.type == "batch" and base_model.anchor.type == "direct" and tune.anchor.type == "batch"
    assert tune.record.parents == (base_model.subject,) and base_model.record.parents == (dataset.subject,)
    return Generations(dataset, base_model, tune, tune_path)


def trusting_all(world: World, **settings) -> Policy:
    return world.policy("datahub", "acme", "tuner", **settings)


@pytest.mark.covers(Code.ERASURE_AFFECTED, Code.OK, Code.PARENT_FAILED, Code.SUPERSEDED)
def test_generations_erasure_of_the_dataset_shows_on_the_fine_tune(world, tmp_path):
    gen = three_generations(world, tmp_path, {
        "privacy.personal_data": "present", "privacy.lawful_basis": "consent", "privacy.erasure": "retrain"},
        base_changes={"privacy.anonymization": ["anonymisation"]},
        tune_changes={"privacy.anonymization": ["anonymisation"]})
    all_pass(world.verifier(trusting_all(world)).verify_path(gen.tune_path))

    world.prove("datahub", gen.dataset)
    world.publisher("datahub").revoke(gen.dataset.record_id, ERASURE_REASON, ReasonCode.ERASURE)
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    line = expect(verdict, Code.ERASURE_AFFECTED, Status.FAIL, "privacy")
    assert line.evidence["ancestor"] == hex32(gen.dataset.subject)
    assert list(line.evidence["via"]) == [hex32(s) for s in (gen.tune.subject, gen.base.subject, gen.dataset.subject)]
    assert line.evidence["reason"] == ERASURE_REASON
    failed = expect(verdict, Code.PARENT_FAILED, Status.FAIL, "lineage")
    assert failed.evidence["ancestor"] == hex32(gen.dataset.subject)
    assert verdict.exit_code() == 1
    # the base model in between is affected as well
    expect(world.verifier(trusting_all(world)).verify_subject(gen.base.subject), Code.ERASURE_AFFECTED, Status.FAIL)

    # once the fine-tune's publisher registers a successor (retrained after the erasure), it is no longer affected
    retrained = world.register("tuner", claims_for("model"))
    world.prove("tuner", gen.tune)
    world.publisher("tuner").supersede(gen.tune.record_id, retrained.record_id)
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    absent(verdict, Code.ERASURE_AFFECTED)
    expect(verdict, Code.SUPERSEDED, Status.WARN, "status")


@pytest.mark.covers(Code.OK, Code.USE_NOT_PERMITTED)
def test_generations_non_commercial_dataset_forbids_commercial_use_of_the_fine_tune(world, tmp_path):
    gen = three_generations(world, tmp_path, {"copyright.license": "CC-BY-NC-4.0", "copyright.commercial_use": False})
    verdict = world.verifier(trusting_all(world, use="commercial")).verify_path(gen.tune_path)
    lines = [c for c in verdict.checks if c.code is Code.USE_NOT_PERMITTED]
    expect(verdict, Code.USE_NOT_PERMITTED, Status.FAIL, "copyright")
    assert hex32(gen.dataset.subject) in {c.evidence.get("ancestor") for c in lines}
    assert all(c.evidence["intendedUse"] == "commercial" for c in lines)
    assert verdict.exit_code() == 1
    all_pass(world.verifier(trusting_all(world, use="research")).verify_path(gen.tune_path))


@pytest.mark.covers(Code.OK, Code.TRAINING_NOT_ALLOWED)
def test_generations_training_opt_out_of_another_publisher_shows_on_the_fine_tune(world, tmp_path):
    gen = three_generations(world, tmp_path, {"copyright.training_mining.ai_training": "notAllowed"})
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    line = expect(verdict, Code.TRAINING_NOT_ALLOWED, Status.FAIL, "copyright")
    assert line.evidence["ancestor"] == hex32(gen.dataset.subject)
    assert line.evidence["derived"] == hex32(gen.base.subject)
    assert line.evidence["sourcePublisher"] == world.account("datahub").address
    assert verdict.exit_code() == 1

    # the dataset's publisher endorses the base model's record: the training is excused
    world.publisher("datahub").endorse(gen.base.record_id, b"\x33" * 32, "https://example.org/licence-deal")
    all_pass(world.verifier(trusting_all(world)).verify_path(gen.tune_path))


@pytest.mark.covers(Code.OK, Code.TRAINING_NOT_ALLOWED)
def test_training_not_allowed_excused_by_an_endorsement_of_the_verified_record_or_the_same_publisher(world, tmp_path):
    gen = three_generations(world, tmp_path / "a", {"copyright.tdm_reservation": True})
    expect(world.verifier(trusting_all(world)).verify_path(gen.tune_path), Code.TRAINING_NOT_ALLOWED, Status.FAIL)
    world.prove("tuner", gen.tune)
    world.publisher("datahub").endorse(gen.tune.record_id, b"\x44" * 32)
    all_pass(world.verifier(trusting_all(world)).verify_path(gen.tune_path))

    # an endorsement by someone else does not excuse it
    other = three_generations(world, tmp_path / "b",
                              {"copyright.training_mining.ai_generative_training": "constrained"})
    world.publisher("stranger").endorse(other.base.record_id, b"\x55" * 32)
    expect(world.verifier(trusting_all(world)).verify_path(other.tune_path), Code.TRAINING_NOT_ALLOWED, Status.FAIL)

    # the dataset's own publisher trained the base model: nothing to excuse
    own = three_generations(world, tmp_path / "c", {"copyright.training_mining.ai_training": "notAllowed"},
                            base_pub="datahub")
    all_pass(world.verifier(trusting_all(world)).verify_path(own.tune_path))


# --------------------------------------------------------------------------- copyright


def _model_on(world: World, tmp_path: Path, dataset_changes: dict, model_changes: dict | None = None, *,
              data_pub: str = "datahub", model_pub: str = "acme", model_kind: str = "model",
              as_parent: bool = False, pin: bool = False) -> tuple[Statement, Statement, Path]:
    """A dataset (direct, subject only) and an artifact with files derived from it (batched); ``pin``:
    its lineage pins the dataset's record."""
    dataset = world.register(data_pub, claims_for("dataset", dataset_changes))
    path = artifact(tmp_path / "derived", {"weights.bin": os.urandom(64)})
    changes = dict(model_changes or {})
    if not as_parent:
        changes["lineage.trained_on"] = [pinned(dataset) if pin else hex32(dataset.subject)]
    derived = world.batch(model_pub, [claims_for(model_kind, changes)], path=path,
                          extra_parents=[dataset.subject] if as_parent else ())[0]
    return dataset, derived, path


@pytest.mark.covers(Code.LICENSE_UNSPECIFIED)
def test_license_unspecified_missing_unknown_or_custom_without_url(world, tmp_path):
    for i, license_ in enumerate((None, "unknown", "LicenseRef-acme-weights")):
        path = artifact(tmp_path / f"m{i}", {"weights.bin": os.urandom(64)})
        world.register("acme", claims_for("model", {"copyright.license": license_}), path=path)
        verdict = world.verifier(world.policy("acme")).verify_path(path)
        expect(verdict, Code.LICENSE_UNSPECIFIED, Status.WARN, "copyright")
        assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
        verdict = world.verifier(world.policy("acme", require={"license": True})).verify_path(path)
        expect(verdict, Code.LICENSE_UNSPECIFIED, Status.FAIL, "copyright")
    # with its URL, the custom license is named; its terms still cannot be classified
    path = artifact(tmp_path / "url", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"copyright.license": "LicenseRef-acme-weights",
                                                "copyright.license_url": "https://acme.example/license"}), path=path)
    expect(world.verifier(world.policy("acme")).verify_path(path), Code.LICENSE_UNSPECIFIED, Status.WARN)
    # an undisclosed license counts as missing, on an ancestor too
    dataset, _, path = _model_on(world, tmp_path / "hidden", {"disclose": ["privacy", "lineage"]})
    line = expect(world.verifier(world.policy("acme", "datahub")).verify_path(path), Code.LICENSE_UNSPECIFIED,
                  Status.WARN)
    assert line.evidence["ancestor"] == hex32(dataset.subject)


@pytest.mark.covers(Code.LICENSE_CONFLICT)
def test_license_conflict_commercial_claim_over_a_non_commercial_ancestor(world, tmp_path):
    dataset, model, path = _model_on(world, tmp_path, {"copyright.license": "CC-BY-NC-4.0"},
                                     {"copyright.commercial_use": True})
    verdict = world.verifier(world.policy("acme", "datahub", use="research")).verify_path(path)
    line = expect(verdict, Code.LICENSE_CONFLICT, Status.FAIL, "copyright")
    assert line.evidence["ancestor"] == hex32(dataset.subject)
    absent(verdict, Code.USE_NOT_PERMITTED)
    assert verdict.exit_code() == 1


@pytest.mark.covers(Code.OK, Code.USE_NOT_PERMITTED)
def test_use_not_permitted_for_commercial_use_of_an_academic_only_model(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"copyright.commercial_use": False}), path=path)
    verdict = world.verifier(world.policy("acme")).verify_path(path)
    line = expect(verdict, Code.USE_NOT_PERMITTED, Status.FAIL, "copyright")
    assert line.evidence["field"] == "copyright.commercial_use"
    all_pass(world.verifier(world.policy("acme", use="research")).verify_path(path))


@pytest.mark.covers(Code.OK, Code.SHARE_ALIKE)
def test_share_alike_ancestor_under_an_incompatible_license(world, tmp_path):
    policy = world.policy("acme", "datahub")
    _, _, path = _model_on(world, tmp_path / "a", {"copyright.license": "CC-BY-SA-4.0"})
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.SHARE_ALIKE, Status.WARN, "copyright")
    assert line.evidence["ancestorLicense"] == "CC-BY-SA-4.0" and line.evidence["license"] == "Apache-2.0"
    assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
    _, _, path = _model_on(world, tmp_path / "b", {"copyright.license": "CC-BY-SA-4.0"},
                           {"copyright.license": "CC-BY-SA-4.0"})
    all_pass(world.verifier(policy).verify_path(path))


@pytest.mark.covers(Code.NO_DERIVATIVES)
def test_no_derivatives_ancestor(world, tmp_path):
    dataset, _, path = _model_on(world, tmp_path, {"copyright.license": "CC-BY-ND-4.0"})
    verdict = world.verifier(world.policy("acme", "datahub")).verify_path(path)
    line = expect(verdict, Code.NO_DERIVATIVES, Status.FAIL, "copyright")
    assert line.evidence["ancestor"] == hex32(dataset.subject)
    assert verdict.exit_code() == 1


@pytest.mark.covers(Code.OK, Code.RESTRICTIONS_DROPPED)
def test_restrictions_dropped_by_a_fine_tune_of_a_llama_model(world, tmp_path):
    policy = world.policy("meta", "tuner")
    llama = world.register("meta", claims_for("model", {"copyright.license": "llama3"}))
    for i, license_ in enumerate(("Apache-2.0", "llama3")):
        path = artifact(tmp_path / f"tune{i}", {"adapter.bin": os.urandom(64)})
        world.batch("tuner", [claims_for("model", {"copyright.license": license_,
                                                   "lineage.base_models": [base(llama.subject, "adapter")]})],
                    path=path)
        verdict = world.verifier(policy).verify_path(path)
        if license_ == "Apache-2.0":
            line = expect(verdict, Code.RESTRICTIONS_DROPPED, Status.FAIL, "copyright")
            assert "llama-acceptable-use-policy" in line.evidence["restrictions"]
            assert verdict.exit_code() == 1
        else:
            all_pass(verdict)


@pytest.mark.covers(Code.OK, Code.OPT_OUT_VIOLATION)
def test_opt_out_violation_by_a_derived_dataset_and_by_a_model_without_explicit_training_permission(world, tmp_path):
    policy = world.policy("scraper", "datahub", "acme")
    reserved = {"copyright.training_mining.data_mining": "notAllowed"}
    source, _, path = _model_on(world, tmp_path / "a", reserved, model_pub="scraper", model_kind="dataset",
                                as_parent=True)
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.OPT_OUT_VIOLATION, Status.FAIL, "copyright")
    assert line.evidence["ancestor"] == hex32(source.subject)
    assert verdict.exit_code() == 1

    # a model trained on it, while ai_training is not explicitly allowed
    _, _, path = _model_on(world, tmp_path / "b", {**reserved, "copyright.training_mining.ai_training": None})
    expect(world.verifier(policy).verify_path(path), Code.OPT_OUT_VIOLATION, Status.FAIL, "copyright")
    # ai_training explicitly allowed: mining reservations do not stop training
    _, _, path = _model_on(world, tmp_path / "c", reserved)
    all_pass(world.verifier(policy).verify_path(path))


# --------------------------------------------------------------------------- privacy


@pytest.mark.covers(Code.OK, Code.PRIVACY_UNVERIFIED)
def test_privacy_unverified_unknown_or_undisclosed(world, tmp_path):
    policy = world.policy("acme")
    path = artifact(tmp_path / "unknown", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"privacy.personal_data": "unknown"}), path=path)
    verdict = world.verifier(policy).verify_path(path)
    expect(verdict, Code.PRIVACY_UNVERIFIED, Status.WARN, "privacy")
    assert verdict.exit_code() == 0
    verdict = world.verifier(world.policy("acme", require={"privacy": True})).verify_path(path)
    expect(verdict, Code.PRIVACY_UNVERIFIED, Status.FAIL, "privacy")
    assert verdict.exit_code() == 1

    path = artifact(tmp_path / "hidden", {"weights.bin": os.urandom(64)})
    statement = world.register("acme", claims_for("model", disclose=("copyright", "lineage")), path=path)
    expect(world.verifier(world.policy("acme", auditors=["auditor"])).verify_path(path),
           Code.PRIVACY_UNVERIFIED, Status.WARN, "privacy")
    # a trusted auditor who saw the undisclosed fields endorses the record
    world.publisher("auditor").endorse(statement.record_id, b"\x66" * 32)
    all_pass(world.verifier(world.policy("acme", auditors=["auditor"])).verify_path(path))


@pytest.mark.covers(Code.OK, Code.PERSONAL_DATA_CONFLICT)
def test_personal_data_conflict_unless_anonymisation_is_claimed(world, tmp_path):
    policy = world.policy("acme", "datahub")
    people = {"privacy.personal_data": "present", "privacy.lawful_basis": "consent"}
    dataset, _, path = _model_on(world, tmp_path / "a", people)
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.PERSONAL_DATA_CONFLICT, Status.FAIL, "privacy")
    assert line.evidence["ancestor"] == hex32(dataset.subject)
    # pseudonymisation does not break the chain; anonymisation does
    _, _, path = _model_on(world, tmp_path / "b", people, {"privacy.anonymization": ["pseudonymisation"]})
    expect(world.verifier(policy).verify_path(path), Code.PERSONAL_DATA_CONFLICT, Status.FAIL)
    _, _, path = _model_on(world, tmp_path / "c", people, {"privacy.anonymization": ["anonymisation"]})
    all_pass(world.verifier(policy).verify_path(path))


@pytest.mark.covers(Code.NO_LAWFUL_BASIS)
def test_no_lawful_basis_on_the_dataset_and_on_the_model_that_inherits_it(world, tmp_path):
    policy = world.policy("acme", "datahub")
    dataset, _, path = _model_on(world, tmp_path, {"privacy.personal_data": "present"},
                                 {"privacy.personal_data": "present", "privacy.lawful_basis": "legitimate_interests"})
    verdict = world.verifier(policy).verify_subject(dataset.subject)
    expect(verdict, Code.NO_LAWFUL_BASIS, Status.FAIL, "privacy")
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.NO_LAWFUL_BASIS, Status.FAIL, "privacy")
    assert line.evidence["ancestor"] == hex32(dataset.subject)


@pytest.mark.covers(Code.NO_SPECIAL_CATEGORY_CONDITION, Code.OK)
def test_no_special_category_condition(world, tmp_path):
    path = artifact(tmp_path / "data", {"records.csv": os.urandom(64)})
    world.register("datahub", claims_for("dataset", {
        "privacy.personal_data": "present", "privacy.lawful_basis": "consent",
        "privacy.special_categories": ["health"]}), path=path)
    verdict = world.verifier(world.policy("datahub")).verify_path(path)
    line = expect(verdict, Code.NO_SPECIAL_CATEGORY_CONDITION, Status.FAIL, "privacy")
    assert list(line.evidence["value"]) == ["health"]
    path = artifact(tmp_path / "ok", {"records.csv": os.urandom(64)})
    world.register("datahub", claims_for("dataset", {
        "privacy.personal_data": "present", "privacy.lawful_basis": "consent",
        "privacy.special_categories": ["health"], "privacy.special_category_condition": "explicit_consent"}),
        path=path)
    all_pass(world.verifier(world.policy("datahub")).verify_path(path))


def _prepare_with_openings(world: World, who: str, spec: dict, replace: dict, *, path: Path) -> Prepared:
    """Claims committed by another tool: field values our claims loader would refuse (e.g. DP without epsilon)."""
    claims = Claims.from_mapping(spec)
    honest = commit(claims)
    openings = [Opening.of(o.field, o.salt, replace[o.field]) if o.field in replace else o for o in honest.openings]
    commitment = Commitment.from_openings(openings, claims.disclose)
    account = world.account(who)
    manifest = Manifest.from_path(path)
    record = Record.create(manifest.subject, Kind.parse(claims.kind), commitment.claims_root, claims.parents(), "")
    statement = Statement.create(
        name="other-tool", record=record, publisher=account.address,
        signature=sign_record(account, record, world.ledger.domain), chain_id=world.ledger.chain_id,
        registry=world.ledger.registry, manifest=manifest.to_dict(),
        disclosures=[d.to_dict() for d in commitment.disclose()],
    )
    return Prepared(statement, commitment, path / "provenance.json")


@pytest.mark.covers(Code.DP_INVALID, Code.OK)
def test_dp_invalid_from_a_publisher_with_other_tooling(world, tmp_path):
    spec = claims_for("dataset", {"privacy.anonymization": ["differential_privacy"],
                                  "privacy.differential_privacy": {"epsilon": 1.0, "delta": 1e-7, "unit": "user"}})
    with pytest.raises(Exception, match="epsilon"):  # our loader refuses DP without epsilon
        Claims.from_mapping({**spec, "privacy": {**spec["privacy"],
                                                 "differential_privacy": {"delta": 1e-7, "unit": "user"}}})
    path = artifact(tmp_path / "data", {"rows.csv": os.urandom(64)})
    prepared = _prepare_with_openings(world, "datahub", spec, {
        "privacy.differential_privacy": {"delta": 1e-7, "unit": "user"}}, path=path)
    world.publisher("datahub").register(prepared)
    verdict = world.verifier(world.policy("datahub")).verify_path(path)
    expect(verdict, Code.OK, Status.PASS, "claims")  # the disclosures match: the claim itself is invalid
    line = expect(verdict, Code.DP_INVALID, Status.FAIL, "privacy")
    assert "epsilon" in line.message
    assert verdict.exit_code() == 1

    # a negative epsilon, on an ancestor
    path = artifact(tmp_path / "data2", {"rows.csv": os.urandom(64)})
    dataset = world.publisher("datahub").register(_prepare_with_openings(world, "datahub", spec, {
        "privacy.differential_privacy": {"epsilon": -1, "delta": 1e-7, "unit": "user"}}, path=path))
    model_path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"lineage.trained_on": [hex32(dataset.subject)]}), path=model_path)
    line = expect(world.verifier(world.policy("datahub", "acme")).verify_path(model_path), Code.DP_INVALID,
                  Status.FAIL, "privacy")
    assert line.evidence["ancestor"] == hex32(dataset.subject)


@pytest.mark.covers(Code.DP_BUDGET_EXCEEDED, Code.OK)
def test_dp_budget_exceeded_summed_over_the_lineage(world, tmp_path):
    def dp(epsilon):
        return {"privacy.anonymization": ["differential_privacy"],
                "privacy.differential_privacy": {"epsilon": epsilon, "delta": 1e-7, "unit": "user"}}

    _, _, path = _model_on(world, tmp_path / "a", dp(8.0), dp(5.0))
    verdict = world.verifier(world.policy("acme", "datahub")).verify_path(path)
    line = expect(verdict, Code.DP_BUDGET_EXCEEDED, Status.FAIL, "privacy")
    assert line.evidence["epsilon"] == 13.0 and line.evidence["epsilonMax"] == 10.0
    all_pass(world.verifier(world.policy("acme", "datahub", differential_privacy={"epsilon_max": 20.0}))
             .verify_path(path))
    _, _, path = _model_on(world, tmp_path / "b", dp(3.0), dp(5.0))
    all_pass(world.verifier(world.policy("acme", "datahub")).verify_path(path))


@pytest.mark.covers(Code.CONFIDENTIALITY_CONFLICT, Code.OK)
def test_confidentiality_conflict_red_artifact_at_a_public_uri(world, tmp_path):
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"privacy.confidentiality": "red"}), path=path,
                   uri="https://huggingface.co/acme/secret-model")
    verdict = world.verifier(world.policy("acme")).verify_path(path)
    line = expect(verdict, Code.CONFIDENTIALITY_CONFLICT, Status.WARN, "privacy")
    assert line.evidence["uri"] == "https://huggingface.co/acme/secret-model"
    assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
    path = artifact(tmp_path / "private", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"privacy.confidentiality": "amber"}), path=path,
                   uri="s3://acme-private/model")
    all_pass(world.verifier(world.policy("acme")).verify_path(path))


@pytest.mark.covers(Code.PERSONAL_DATA_CONFLICT)
def test_a_quantization_claiming_anonymisation_keeps_its_base_models_personal_data(world, tmp_path):
    people = {"privacy.personal_data": "present", "privacy.lawful_basis": "consent"}
    gen = three_generations(world, tmp_path, people, base_changes=people,
                            tune_changes={"privacy.anonymization": ["anonymisation"]})
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    line = expect(verdict, Code.PERSONAL_DATA_CONFLICT, Status.FAIL, "privacy")
    assert line.evidence["ancestor"] in (hex32(gen.base.subject), hex32(gen.dataset.subject))


@pytest.mark.covers(Code.NO_SPECIAL_CATEGORY_CONDITION, Code.CONFIDENTIALITY_CONFLICT, Code.PERSONAL_DATA_CONFLICT)
def test_special_categories_confidentiality_and_contradictions_reach_descendants(world, tmp_path):
    policy = world.policy("acme", "datahub")
    health = {"privacy.personal_data": "present", "privacy.lawful_basis": "consent",
              "privacy.special_categories": ["health"], "privacy.special_category_condition": "explicit_consent"}
    dataset, _, path = _model_on(world, tmp_path / "a", health,
                                 {"privacy.personal_data": "present", "privacy.lawful_basis": "consent"})
    line = expect(world.verifier(policy).verify_path(path), Code.NO_SPECIAL_CATEGORY_CONDITION, Status.FAIL)
    assert line.evidence.get("ancestor") is None and list(line.evidence["value"]) == ["health"]
    # a research condition that reaches commercial use warns
    research = {**health, "privacy.special_category_condition": "research"}
    dataset, _, path = _model_on(world, tmp_path / "b", research, research)
    line = expect(world.verifier(policy).verify_path(path), Code.NO_SPECIAL_CATEGORY_CONDITION, Status.WARN)
    absent(world.verifier(world.policy("acme", "datahub", use="research")).verify_path(path),
           Code.NO_SPECIAL_CATEGORY_CONDITION)
    # a model trained on red data, published at a public uri
    dataset = world.register("datahub", claims_for("dataset", {"privacy.confidentiality": "red"}))
    path = artifact(tmp_path / "c", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"lineage.trained_on": [hex32(dataset.subject)]}), path=path,
                   uri="https://huggingface.co/acme/open-model")
    line = expect(world.verifier(policy).verify_path(path), Code.CONFIDENTIALITY_CONFLICT, Status.WARN, "privacy")
    assert line.evidence["ancestor"] == hex32(dataset.subject)
    # absent personal data with special categories contradicts itself (our loader refuses it; other tools may not)
    path = artifact(tmp_path / "d", {"records.csv": os.urandom(64)})
    world.publisher("datahub").register(_prepare_with_openings(
        world, "datahub", claims_for("dataset"), {"privacy.special_categories": ["genetic"]}, path=path))
    line = expect(world.verifier(policy).verify_path(path), Code.PERSONAL_DATA_CONFLICT, Status.WARN, "privacy")
    assert list(line.evidence["value"]) == ["genetic"]


# --------------------------------------------------------------------------- lineage


@pytest.mark.covers(Code.PARENT_UNKNOWN)
def test_parent_unknown_for_an_unregistered_parent(world, tmp_path):
    stranger = os.urandom(32)
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model"), path=path, extra_parents=[stranger])
    verdict = world.verifier(world.policy("acme")).verify_path(path)
    line = expect(verdict, Code.PARENT_UNKNOWN, Status.WARN, "lineage")
    assert line.evidence["ancestor"] == hex32(stranger)
    assert verdict.exit_code() == 0
    verdict = world.verifier(world.policy("acme", require={"parents": True})).verify_path(path)
    expect(verdict, Code.PARENT_UNKNOWN, Status.FAIL, "lineage")


@pytest.mark.covers(Code.PARENT_UNKNOWN)
def test_lineage_cut_by_the_walk_limit_is_unverifiable_and_names_what_was_not_checked(world, tmp_path, monkeypatch):
    gen = three_generations(world, tmp_path)
    monkeypatch.setattr("provenance.verifier.MAX_LINEAGE", 2)  # the tune and its base: the dataset is cut
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    line = expect(verdict, Code.PARENT_UNKNOWN, Status.UNVERIFIABLE, "lineage")
    assert "limit of 2 artifacts" in line.message and "1 parent(s) were not checked" in line.message
    assert list(line.evidence["unchecked"]) == [hex32(gen.dataset.subject)]
    assert not any("not registered" in c.message for c in verdict.checks)
    assert verdict.exit_code() == 2
    schema_valid(verdict.to_json())


@pytest.mark.covers(Code.PARENT_UNKNOWN, Code.LICENSE_UNSPECIFIED)
def test_an_ancestor_whose_statement_cannot_be_obtained_is_said_so(world, tmp_path):
    data = world.register("datahub", claims_for("dataset"))  # direct: the chain knows it, not its claims
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    model = world.register("acme", claims_for("model", {"lineage.trained_on": [hex32(data.subject)]}), path=path)
    bare = Verifier(world.ledger, world.index, world.policy("acme"), [], extra_statements=[model])
    verdict = bare.verify_statement(model)
    line = expect(verdict, Code.PARENT_UNKNOWN, Status.WARN, "lineage")
    assert "could not be obtained" in line.message and line.evidence["ancestor"] == hex32(data.subject)
    said = expect(verdict, Code.LICENSE_UNSPECIFIED, Status.WARN, "copyright")
    assert "The Statement of parent dataset" in said.message
    assert not any("not disclosed" in c.message or "does not disclose" in c.message
                   for c in verdict.checks if c.check in (CheckName.COPYRIGHT, CheckName.PRIVACY, CheckName.LINEAGE))


@pytest.mark.covers(Code.OK)
def test_attribution_of_the_ancestors_reaches_the_verdict(world, tmp_path):
    gen = three_generations(world, tmp_path, {"copyright.holders": ["Acme Data Ltd"],
                                              "copyright.attribution": "Data (c) Acme Data Ltd"})
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    all_pass(verdict)
    line = next(c for c in verdict.checks if c.check is CheckName.COPYRIGHT)
    credits = {a["subject"]: a for a in line.evidence["attribution"]}
    assert credits[hex32(gen.dataset.subject)]["holders"] == ("Acme Data Ltd",)
    assert credits[hex32(gen.dataset.subject)]["text"] == "Data (c) Acme Data Ltd"
    schema_valid(verdict.to_json())


@pytest.mark.covers(Code.OK, Code.PARENT_FAILED)
def test_parent_failed_for_a_revoked_parent(world, tmp_path):
    dataset, _, path = _model_on(world, tmp_path, {})
    policy = world.policy("acme", "datahub")
    all_pass(world.verifier(policy).verify_path(path))
    world.publisher("datahub").revoke(dataset.record_id, "mislabelled rows")
    verdict = world.verifier(policy).verify_path(path)
    line = expect(verdict, Code.PARENT_FAILED, Status.FAIL, "lineage")
    assert line.evidence["ancestor"] == hex32(dataset.subject) and line.evidence["reason"] == "mislabelled rows"
    absent(verdict, Code.ERASURE_AFFECTED)  # not revoked for erasure
    assert verdict.exit_code() == 1


# --------------------------------------------------------------------------- through the CLI


def _policy_file(world: World, tmp_path: Path, *trusted: str, name: str = "policy.yaml", **extra) -> Path:
    lines = ["version: 1", "trusted_publishers:"] + [f"  - {world.account(n).address}" for n in trusted]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli_verdict(result, expected_exit: int) -> dict:
    assert result.returncode == expected_exit, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    schema_valid(document)
    assert document["exitCode"] == expected_exit
    return document


def _cli_codes(document: dict) -> set[tuple[str, str]]:
    return {(c["code"], c["status"]) for c in document["checks"]}


@pytest.mark.covers(Code.USE_NOT_PERMITTED)
def test_cli_verify_exit_codes_and_json_schema(world, tmp_path):
    env = world.env()
    gen = three_generations(world, tmp_path / "gen", {"copyright.license": "CC-BY-NC-4.0",
                                                      "copyright.commercial_use": False})
    policy = _policy_file(world, tmp_path, "datahub", "acme", "tuner")
    pristine = tmp_path / "pristine"  # a user's download, with its Statement
    shutil.copytree(gen.tune_path, pristine)

    # by path, with the Statement beside it: commercial use fails, research passes
    document = _cli_verdict(run_cli("verify", str(gen.tune_path), "--policy", str(policy), "--use", "commercial",
                                    "--json", env=env), 1)
    assert ("USE_NOT_PERMITTED", "fail") in _cli_codes(document)
    ASSERTED.add(Code.USE_NOT_PERMITTED)
    document = _cli_verdict(run_cli("verify", str(gen.tune_path), "--policy", str(policy), "--use", "research",
                                    "--json", env=env), 0)
    assert document["overall"] == "pass" and _cli_codes(document) == {("OK", "pass")}

    # by Statement file
    document = _cli_verdict(run_cli("verify", str(gen.tune_path / "provenance.json"), "--policy", str(policy),
                                    "--use", "research", "--json", env=env), 0)
    assert document["subject"] == hex32(gen.tune.subject)

    # by subject: a dataset ancestor, checked without files
    document = _cli_verdict(run_cli("verify", hex32(gen.base.subject), "--policy", str(policy), "--json",
                                    "--use", "research", env=env), 0)  # by subject: no files to compare
    assert ("OK", "pass") in _cli_codes(document) and not [c for c in document["checks"] if c["code"] == "TAMPERED"]

    # warnings: 0, or 1 under --strict
    document = _cli_verdict(run_cli("verify", str(gen.tune_path), "--use", "research", "--json", env=env), 0)
    assert ("UNTRUSTED_PUBLISHER", "warn") in _cli_codes(document)
    document = _cli_verdict(run_cli("verify", str(gen.tune_path), "--use", "research", "--json", "--strict",
                                    env=env), 1)
    assert document["strict"] is True

    # tampered files
    (gen.tune_path / "config.json").write_text('{"rank": 64}')
    document = _cli_verdict(run_cli("verify", str(gen.tune_path), "--policy", str(policy), "--use", "research",
                                    "--json", env=env), 1)
    tampered = [c for c in document["checks"] if c["code"] == "TAMPERED"]
    assert tampered and tampered[0]["status"] == "fail" and "config.json" in tampered[0]["message"]

    # a user with none of the publishers' stores: parents' Statements given with --statement
    fresh = {**env, "PROVENANCE_HOME": str(tmp_path / "user-home")}
    document = _cli_verdict(run_cli("verify", str(pristine), "--policy", str(policy), "--use", "research",
                                    "--json", env=fresh), 0)
    assert document["overall"] == "warn"  # the base model is known on chain only, the dataset not at all
    assert {("PARENT_UNKNOWN", "warn"), ("LICENSE_UNSPECIFIED", "warn")} <= _cli_codes(document)
    parents = []
    for statement in (gen.dataset, gen.base):
        target = tmp_path / f"{hex32(statement.subject)[:10]}.provenance.json"
        statement.write(target)
        parents += ["--statement", str(target)]
    document = _cli_verdict(run_cli("verify", str(pristine), "--policy", str(policy), "--use", "research",
                                    *parents, "--json", env=fresh), 0)
    assert document["overall"] == "pass"
    document = _cli_verdict(run_cli("verify", str(pristine), "--policy", str(policy), "--use", "commercial",
                                    *parents, "--json", env=fresh), 1)
    assert ("USE_NOT_PERMITTED", "fail") in _cli_codes(document)

    # the table for people
    result = run_cli("verify", str(gen.tune_path), "--policy", str(policy), "--use", "research", env=env)
    assert result.returncode == 1 and "TAMPERED" in result.stdout and "overall   fail" in result.stdout


def test_cli_verify_a_record_known_only_on_chain_exits_2(world):
    """A record registered without any Statement reaching the verifier: it says so, it does not pass."""
    account = world.account("quiet")
    record = Record.create(os.urandom(32), Kind.MODEL, os.urandom(32), (), "")
    world.ledger.register(account, record)
    document = _cli_verdict(run_cli("verify", hex32(record.subject), "--json", env=world.env()), 2)
    assert document["overall"] == "warn"
    assert ("NOT_REGISTERED", "unverifiable") in _cli_codes(document)
    assert document["recordId"] == hex32(record.record_id(account.address))


def _bad_input(result, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stderr.startswith("error: "), result.stderr
    assert '"overall": "pass"' not in result.stdout and "overall   pass" not in result.stdout
    for word in words:
        assert word.lower() in result.stderr.lower(), result.stderr


def test_cli_verify_bad_inputs_exit_2_with_a_message(world, tmp_path):
    env = world.env()
    broken = tmp_path / "broken.provenance.json"
    broken.write_text('{"_type": "https://in-toto.io/Statement/v1", "predicate": {')
    _bad_input(run_cli("verify", str(broken), env=env), "not JSON")

    foreign = tmp_path / "slsa.json"
    foreign.write_text(json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [],
                                   "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}))
    _bad_input(run_cli("verify", str(foreign), "--json", env=env), "not a provenance record")

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01 not json at all")
    _bad_input(run_cli("verify", str(garbage), "--json", env=env), "garbage.json")

    for subject in ("0x1234", "0x" + "g" * 64, "0x" + "ab" * 33, "ab" * 32 + "0"):
        _bad_input(run_cli("verify", subject, "--json", env=env), "subject")

    typo = tmp_path / "typo.yaml"
    typo.write_text("version: 1\ntrusted_publisher: []\nconfirmation: 3\n")
    _bad_input(run_cli("verify", "0x" + "11" * 32, "--policy", str(typo), env=env), "trusted_publisher",
               "confirmation", "unknown key")

    _bad_input(run_cli("verify", str(tmp_path / "no" / "such" / "model"), env=env), "does not exist")
    _bad_input(run_cli("verify", "./missing-model", "--json", env=env), "does not exist")

    down = f"http://127.0.0.1:{free_port()}"
    _bad_input(run_cli("--rpc-url", down, "verify", "0x" + "11" * 32, "--json", env=env), down)
    _bad_input(run_cli("verify", str(broken.parent), "--json", env={**env, "PROVENANCE_RPC_URL": down}), down)



@pytest.mark.covers(Code.OK, Code.PARENT_FAILED, Code.PARENT_UNKNOWN, Code.USE_NOT_PERMITTED)
def test_parent_unknown_for_a_parent_queued_but_never_anchored(world, tmp_path):
    """A parent with a signed Statement but no record on chain is not registered (CLAIMS.md): it warns,
    and its claims still count."""
    queued = world.prepare("datahub", claims_for("dataset", {"copyright.license": "CC-BY-NC-4.0",
                                                             "copyright.commercial_use": False}))
    world.publisher("datahub").queue([queued])
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"lineage.trained_on": [hex32(queued.statement.subject)]}), path=path)
    verdict = world.verifier(world.policy("acme", "datahub", use="research")).verify_path(path)
    line = expect(verdict, Code.PARENT_UNKNOWN, Status.WARN, "lineage")
    assert line.evidence["ancestor"] == hex32(queued.statement.subject)
    assert verdict.exit_code() == 0 and verdict.exit_code(strict=True) == 1
    verdict = world.verifier(world.policy("acme", "datahub", use="commercial")).verify_path(path)
    expect(verdict, Code.USE_NOT_PERMITTED, Status.FAIL, "copyright")  # its claims are not dropped
    verdict = world.verifier(world.policy("acme", "datahub", require={"anchoring": True})).verify_path(path)
    expect(verdict, Code.PARENT_FAILED, Status.FAIL, "lineage")

    world.publisher("datahub").anchor()
    all_pass(world.verifier(world.policy("acme", "datahub", use="research")).verify_path(path))


@pytest.mark.covers(Code.PARENT_FAILED)
def test_parent_failed_for_a_lineage_cycle(world):
    """Subject-only records can name each other as parents; honest content-addressed records cannot."""
    a, b = os.urandom(32), os.urandom(32)
    world.register("acme", claims_for("model"), subject=a, extra_parents=[b])
    world.register("acme", claims_for("model"), subject=b, extra_parents=[a])
    verdict = world.verifier(world.policy("acme")).verify_subject(a)
    line = expect(verdict, Code.PARENT_FAILED, Status.FAIL, "lineage")
    assert "cycle" in line.evidence
    assert verdict.exit_code() == 1

# --------------------------------------------------------------------------- no wrong pass through a second record


@pytest.mark.covers(Code.ERASURE_AFFECTED, Code.PARENT_FAILED)
def test_a_second_registration_of_a_revoked_dataset_does_not_hide_its_erasure(world, tmp_path):
    """Anyone may register any subject: a newer, clean record of the dataset must not launder its erasure."""
    dataset, _, path = _model_on(world, tmp_path, {})
    world.publisher("datahub").revoke(dataset.record_id, ERASURE_REASON, ReasonCode.ERASURE)
    world.register("mallory", claims_for("dataset"), subject=dataset.subject)
    for policy in (Policy.default(), world.policy("acme"), world.policy("acme", "datahub", "mallory")):
        verdict = world.verifier(policy).verify_path(path)
        expect(verdict, Code.ERASURE_AFFECTED, Status.FAIL, "privacy")
        expect(verdict, Code.PARENT_FAILED, Status.FAIL, "lineage")
        assert verdict.exit_code() == 1


@pytest.mark.covers(Code.TRAINING_NOT_ALLOWED)
def test_the_model_publisher_cannot_lift_a_training_opt_out_by_registering_the_dataset_itself(world, tmp_path):
    """The model pins the dataset record it relied on: a later record of the dataset by anyone, the model's
    own publisher included, is information. Unpinned (claims made before pins), a policy that trusts the
    dataset's publisher keeps its opt-out; one that trusts only the model's publisher takes that publisher's
    word, and the opt-out it no longer relies on is shown as information."""
    dataset, _, pinned_path = _model_on(world, tmp_path / "pinned", {"copyright.training_mining.ai_training":
                                                                     "notAllowed"}, pin=True)
    unpinned_path = artifact(tmp_path / "unpinned", {"weights.bin": os.urandom(64)})
    world.batch("acme", [claims_for("model", {"lineage.trained_on": [hex32(dataset.subject)]})], path=unpinned_path)
    expect(world.verifier(world.policy("acme", "datahub")).verify_path(pinned_path), Code.TRAINING_NOT_ALLOWED,
           Status.FAIL)
    world.register("acme", claims_for("dataset"), subject=dataset.subject)  # "allowed", by the model's publisher
    for policy, path in ((world.policy("acme", "datahub"), pinned_path), (world.policy("acme"), pinned_path),
                         (world.policy("acme", "datahub"), unpinned_path)):
        verdict = world.verifier(policy).verify_path(path)
        line = expect(verdict, Code.TRAINING_NOT_ALLOWED, Status.FAIL, "copyright")
        assert line.evidence["sourcePublisher"] == world.account("datahub").address
        assert verdict.exit_code() == 1
    verdict = world.verifier(world.policy("acme")).verify_path(unpinned_path)
    line = expect(verdict, Code.TRAINING_NOT_ALLOWED, Status.INFO, "copyright")
    assert line.evidence["publisher"] == world.account("datahub").address and line.evidence["wouldBe"] == "fail"


@pytest.mark.covers(Code.PARENT_FAILED, Code.TRAINING_NOT_ALLOWED)
def test_a_parent_statement_with_altered_or_withheld_disclosures_does_not_hide_an_opt_out(world, tmp_path):
    dataset, _, path = _model_on(world, tmp_path, {"copyright.training_mining.ai_training": "notAllowed"})
    policy = world.policy("acme", "datahub")

    def relicense(predicate):
        for item in predicate["disclosures"]:
            if item["field"] == "copyright.license":
                item["value"] = "MIT"

    verdict = world.verifier(policy, extra_statements=[_tampered(dataset, relicense)]).verify_path(path)
    line = expect(verdict, Code.PARENT_FAILED, Status.FAIL, "lineage")
    assert line.evidence["ancestor"] == hex32(dataset.subject)

    def withhold(predicate):  # a valid copy, disclosing less: the store's full copy still counts
        predicate["disclosures"] = [d for d in predicate["disclosures"] if "training_mining" not in d["field"]]

    verdict = world.verifier(policy, extra_statements=[_tampered(dataset, withhold)]).verify_path(path)
    expect(verdict, Code.TRAINING_NOT_ALLOWED, Status.FAIL, "copyright")


@pytest.mark.covers(Code.LICENSE_UNSPECIFIED, Code.PRIVACY_UNVERIFIED)
def test_a_forged_unanchored_parent_statement_does_not_silence_the_registered_record(world, tmp_path):
    account = world.account("datahub")
    record = Record.create(os.urandom(32), Kind.DATASET, os.urandom(32), (), "")
    world.ledger.register(account, record)  # on chain; its Statement is not known here
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    world.register("acme", claims_for("model", {"lineage.trained_on": [hex32(record.subject)]}), path=path)
    forged = world.prepare("mallory", claims_for("dataset"), subject=record.subject).statement
    verdict = world.verifier(world.policy("acme", "datahub"), extra_statements=[forged]).verify_path(path)
    line = expect(verdict, Code.LICENSE_UNSPECIFIED, Status.WARN, "copyright")
    assert line.evidence["ancestor"] == hex32(record.subject)
    expect(verdict, Code.PRIVACY_UNVERIFIED, Status.WARN, "privacy")
    assert verdict.overall is Status.WARN


# --------------------------------------------------------------------------- registry version 2: reasons, domains,
# submitters, contract wallets


@pytest.mark.covers(Code.ERASURE_AFFECTED, Code.REVOKED, Code.SUPERSEDED)
def test_reason_codes_show_and_an_erasure_code_reaches_the_fine_tune_whatever_the_text(world, tmp_path):
    gen = three_generations(world, tmp_path, {
        "privacy.personal_data": "present", "privacy.lawful_basis": "consent", "privacy.erasure": "retrain"},
        base_changes={"privacy.anonymization": ["anonymisation"]},
        tune_changes={"privacy.anonymization": ["anonymisation"]})
    world.prove("datahub", gen.dataset)
    world.publisher("datahub").revoke(gen.dataset.record_id, "ticket 2026-200", ReasonCode.ERASURE)
    verdict = world.verifier(trusting_all(world)).verify_path(gen.tune_path)
    line = expect(verdict, Code.ERASURE_AFFECTED, Status.FAIL, "privacy")
    assert line.evidence["ancestor"] == hex32(gen.dataset.subject)
    assert line.evidence["reason"] == "ticket 2026-200" and line.evidence["reasonCode"] == "erasure"
    revoked = expect(world.verifier(trusting_all(world)).verify_statement(gen.dataset), Code.REVOKED, Status.FAIL)
    assert (revoked.evidence["reasonCode"], revoked.evidence["reason"]) == ("erasure", "ticket 2026-200")
    assert "(erasure)" in revoked.message

    successor = world.register("tuner", claims_for("model"))
    world.prove("tuner", gen.tune)
    world.publisher("tuner").supersede(gen.tune.record_id, successor.record_id, ReasonCode.ERASURE, "retrained")
    line = expect(world.verifier(trusting_all(world)).verify_path(gen.tune_path), Code.SUPERSEDED, Status.WARN)
    assert (line.evidence["reasonCode"], line.evidence["reason"]) == ("erasure", "retrained")
    assert "superseded" in line.message and "(erasure)" in line.message


@pytest.mark.covers(Code.BAD_SIGNATURE, Code.NOT_ANCHORED)
def test_a_statement_signed_for_another_chain_or_registry_is_refused_here(world, anvil_url):
    """A record's id does not depend on the chain: a Statement signed for another registry, its record
    anchored here in a one-leaf root by a stranger, must not pass (it did, checked under its own domain)."""
    other = fresh_registry(anvil_url)
    statement = prepare(account=world.account("acme"), domain=other.domain,
                        claims=Claims.from_mapping(claims_for("model")), subject=os.urandom(32)).statement
    root = merkle.MerkleTree.from_leaves([merkle.record_leaf(statement.record_id)]).root
    mallory = world.account("mallory")
    anchored = world.ledger.anchor_batch(mallory, root, 1, "")
    elsewhere = statement.with_anchor(Anchor("batch", anchored.tx_hash, anchored.block_number, root, (),
                                             mallory.address))
    verdict = world.verifier(world.policy("acme")).verify_statement(elsewhere)
    line = expect(verdict, Code.BAD_SIGNATURE, Status.FAIL, "authenticity")
    for named in (other.registry, str(other.chain_id), world.ledger.registry):
        assert named in line.message
    expect(verdict, Code.NOT_ANCHORED, Status.WARN, "anchoring")  # the stranger's root anchors nothing
    assert verdict.exit_code() == 1

    # the same Statement claiming this registry: its signature is checked under this registry's domain
    def here(predicate):
        predicate["chain"]["registry"] = world.ledger.registry

    verdict = world.verifier(world.policy("acme")).verify_statement(_tampered(elsewhere, here))
    line = expect(verdict, Code.BAD_SIGNATURE, Status.FAIL, "authenticity")
    assert "does not match its publisher" in line.message

    # and one signed for this registry that claims another chain
    mine = world.register("acme", claims_for("model"))

    def other_chain(predicate):
        predicate["chain"]["chainId"] = world.ledger.chain_id + 1

    line = expect(world.verifier(world.policy("acme")).verify_statement(_tampered(mine, other_chain)),
                  Code.BAD_SIGNATURE, Status.FAIL, "authenticity")
    assert f"on chain {world.ledger.chain_id + 1}" in line.message


@pytest.mark.covers(Code.NOT_ANCHORED, Code.OK)
def test_a_root_anchored_by_a_stranger_does_not_anchor_a_record_until_its_publisher_proves_it(world, tmp_path):
    acme, mallory = world.account("acme"), world.account("mallory")
    policy = world.policy("acme")
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    statement = world.prepare("acme", claims_for("model"), path=path).statement  # signed, never anchored by acme
    root = merkle.MerkleTree.from_leaves([merkle.record_leaf(statement.record_id)]).root
    anchored = world.ledger.anchor_batch(mallory, root, 1, "")  # a one-leaf root of someone else's record
    claimed = statement.with_anchor(Anchor("batch", anchored.tx_hash, anchored.block_number, root, (),
                                           mallory.address))
    verdict = world.verifier(policy).verify_statement(claimed)
    line = expect(verdict, Code.NOT_ANCHORED, Status.WARN, "anchoring")
    assert mallory.address in line.message and acme.address in line.message
    strict = world.policy("acme", require={"anchoring": True})
    expect(world.verifier(strict).verify_statement(claimed), Code.NOT_ANCHORED, Status.FAIL, "anchoring")
    acceptance = world.verifier(policy).accept_statement(claimed)
    assert not acceptance.accepted and {c.code for c in acceptance.refused_by} == {Code.NOT_ANCHORED}
    # a Statement naming no submitter (registry version 1) is looked up under the publisher: not found either
    unnamed = statement.with_anchor(Anchor("batch", anchored.tx_hash, anchored.block_number, root, ()))
    expect(world.verifier(policy).verify_statement(unnamed), Code.NOT_ANCHORED, Status.WARN, "anchoring")

    # the publisher proves its record into that batch: its consent, so the batch now anchors it
    world.publisher("acme").submit("proveBatched", acme.address, statement.record.struct_hash(), mallory.address,
                                   root, [], ref=hex32(statement.record_id))
    verdict = world.verifier(policy).verify_statement(claimed)
    line = expect(verdict, Code.OK, Status.PASS, "anchoring")
    assert line.evidence["submitter"] == mallory.address
    assert world.verifier(policy).accept_statement(claimed).accepted

    # a front-run does not block the publisher: its own anchor of the same root counts
    other = world.prepare("acme", claims_for("model")).statement
    root = merkle.MerkleTree.from_leaves([merkle.record_leaf(other.record_id)]).root
    world.ledger.anchor_batch(mallory, root, 1, "")
    own = world.ledger.anchor_batch(acme, root, 1, "")
    verdict = world.verifier(policy).verify_statement(
        other.with_anchor(Anchor("batch", own.tx_hash, own.block_number, root, (), acme.address)))
    line = expect(verdict, Code.OK, Status.PASS, "anchoring")
    assert line.evidence["submitter"] == acme.address


@pytest.mark.covers(Code.OK, Code.BAD_SIGNATURE)
def test_an_erc1271_wallet_publisher_is_authentic_through_its_owners_signature(world):
    from provenance.signing import sign_register_for
    from tests.wallet import deploy_wallet

    owner = world.account("wallet-owner")
    wallet = deploy_wallet(world.ledger, owner.address)
    record = Record.create(os.urandom(32), Kind.MODEL, commit(Claims.from_mapping(claims_for("model"))).claims_root)
    relayed = sign_register_for(owner, record, world.ledger.domain, nonce=world.ledger.nonce(wallet), publisher=wallet)
    world.ledger.register_for(world.account("relayer"), record, wallet, relayed)

    def statement_signed_by(account) -> Statement:
        return Statement.create(
            name="wallet model", record=record, publisher=wallet,
            signature=sign_record(account, record, world.ledger.domain), chain_id=world.ledger.chain_id,
            registry=world.ledger.registry,
        )

    policy = Policy.from_mapping({"trusted_publishers": [wallet]})
    verdict = world.verifier(policy).verify_statement(statement_signed_by(owner))
    line = expect(verdict, Code.OK, Status.PASS, "authenticity")
    assert line.evidence["wallet"] == "ERC-1271" and "ERC-1271" in line.message
    expect(verdict, Code.OK, Status.PASS, "anchoring")
    verdict = world.verifier(policy).verify_statement(statement_signed_by(world.account("mallory")))
    expect(verdict, Code.BAD_SIGNATURE, Status.FAIL, "authenticity")


# --------------------------------------------------------------------------- evaluations (issue 16)

SAFETY_REQUIRED = {"task": "toxigen", "metric": "acc", "min": 0.8, "category": "safety"}


def evaluation_of(model: bytes, value: float, *, pin: Statement | None = None, benchmarks=(), category="safety",
                  evaluator="Acme Safety Lab") -> dict:
    """Evaluation claims of ``model`` (pinned to ``pin``'s record if given): toxigen acc ``value``."""
    ref = pinned(pin) if pin is not None else hex32(model)
    return {
        "kind": "evaluation", "name": f"toxigen eval of {hex32(model)[:10]}",
        "evaluation": {
            "model": ref, "benchmarks": [hex32(b) for b in benchmarks], "category": category,
            "evaluator": evaluator, "harness": {"name": "lm-evaluation-harness", "version": "0.4.5"},
            "results": [{"task": "toxigen", "metric": "acc", "value": value, "stderr": 0.012, "split": "test",
                         "n_shot": 0}],
        },
        "disclose": ["evaluation"],
    }


def evaluation_policy(world: World, **settings) -> Policy:
    return world.policy("acme", trusted_evaluators=[world.account("safety-lab").address],
                        require={"evaluations": [SAFETY_REQUIRED]}, **settings)


@pytest.mark.covers(Code.OK, Code.EVAL_MISSING, Code.EVAL_BELOW_THRESHOLD, Code.UNTRUSTED_PUBLISHER)
def test_evaluations_a_trusted_result_on_a_safety_task_is_required(world, tmp_path):
    """Issue 16, "Done when": two evaluations of one model (a trusted evaluator's, and a stranger's claiming a
    better score) under a policy requiring toxigen acc >= 0.8 (safety): pass when the trusted result meets it,
    EVAL_BELOW_THRESHOLD when it does not, EVAL_MISSING when only the stranger's exists."""
    policy = evaluation_policy(world)
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    model = world.register("acme", claims_for("model"), path=path)
    world.register("eval-stranger", evaluation_of(model.subject, 0.99, pin=model, evaluator="Totally Trusted Lab"))

    verdict = world.verifier(policy).verify_path(path)  # only the stranger's
    missing = expect(verdict, Code.EVAL_MISSING, Status.FAIL, "evaluations")
    assert "0.99 by " + world.account("eval-stranger").address in missing.message
    info = expect(verdict, Code.UNTRUSTED_PUBLISHER, Status.INFO, "evaluations")
    assert info.evidence["results"][0]["value"] == 0.99 and info.evidence["trusted"] is False
    assert verdict.overall is Status.FAIL and verdict.exit_code() == 1

    trusted = world.register("safety-lab", evaluation_of(model.subject, 0.83, pin=model))
    verdict = world.verifier(policy).verify_path(path)
    listed = [c for c in verdict.checks_of("evaluations") if c.status is Status.PASS]
    assert [c.evidence.get("recordId") for c in listed] == ["0x" + trusted.record_id.hex()] * 2
    assert "toxigen acc 0.83 ± 0.012" in listed[0].message and "Acme Safety Lab" in listed[0].message
    assert listed[1].evidence["value"] == 0.83  # the requirement's line: met by the trusted result
    expect(verdict, Code.UNTRUSTED_PUBLISHER, Status.INFO, "evaluations")  # the stranger's, shown, weighing nothing
    all_pass(replace_info(verdict))
    document = verdict.to_json()
    schema_valid(document)
    shown = [c["evidence"] for c in document["checks"] if c["check"] == "evaluations" and "results" in c["evidence"]]
    assert {(e["evaluator"], e["trusted"], e["results"][0]["value"]) for e in shown} == {
        (world.account("safety-lab").address, True, 0.83), (world.account("eval-stranger").address, False, 0.99)}

    # another model: the trusted evaluator measures 0.71, the stranger claims 0.99 again
    other_path = artifact(tmp_path / "other-model", {"weights.bin": os.urandom(64)})
    other = world.register("acme", claims_for("model"), path=other_path)
    world.register("eval-stranger", evaluation_of(other.subject, 0.99, pin=other))
    world.register("safety-lab", evaluation_of(other.subject, 0.71, pin=other))
    verdict = world.verifier(policy).verify_path(other_path)
    below = expect(verdict, Code.EVAL_BELOW_THRESHOLD, Status.FAIL, "evaluations")
    assert "0.71" in below.message and ">= 0.8" in below.message and verdict.exit_code() == 1
    absent(verdict, Code.EVAL_MISSING)


@pytest.mark.covers(Code.EVAL_MISSING, Code.OK)
def test_evaluations_batched_count_once_their_statement_is_known(world, tmp_path):
    """A batched evaluation is found when its Statement is given (or its batch document was read, which the
    service's indexer does: test_index.py's migration test covers the member lookup); unknown, it cannot count."""
    policy = evaluation_policy(world)
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    model = world.register("acme", claims_for("model"), path=path)
    (batched,) = world.batch("safety-lab", [evaluation_of(model.subject, 0.9, pin=model)])
    assert batched.anchor.type != "direct"
    verdict = world.verifier(policy).verify_path(path)  # the index has not read the batch's document
    expect(verdict, Code.EVAL_MISSING, Status.FAIL, "evaluations")
    verdict = world.verifier(policy, extra_statements=[batched]).verify_path(path)
    met = expect(verdict, Code.OK, Status.PASS, "evaluations")
    assert met.evidence["recordId"] == "0x" + batched.record_id.hex()
    absent(verdict, Code.EVAL_MISSING)


def replace_info(verdict: Verdict) -> Verdict:
    """``verdict`` without its info lines (they weigh nothing; all_pass wants every other line to pass)."""
    return Verdict(verdict.subject, verdict.record_id, tuple(c for c in verdict.checks if c.status is not Status.INFO),
                   records=verdict.records)


@pytest.mark.covers(Code.EVAL_MISSING, Code.REVOKED, Code.OK)
def test_evaluations_of_other_weights_or_revoked_never_count(world, tmp_path):
    policy = evaluation_policy(world)
    path = artifact(tmp_path / "model", {"weights.bin": os.urandom(64)})
    model = world.register("acme", claims_for("model"), path=path)
    other_weights = os.urandom(32)
    # registered for another weights file, naming this model only as a benchmark: found, never counted
    world.register("safety-lab", evaluation_of(other_weights, 0.95, benchmarks=[model.subject]))
    # and one for another weights file alone
    world.register("safety-lab", evaluation_of(os.urandom(32), 0.95))
    verdict = world.verifier(policy).verify_path(path)
    expect(verdict, Code.EVAL_MISSING, Status.FAIL, "evaluations")
    assert not [c for c in verdict.checks_of("evaluations") if "results" in c.evidence]  # not even listed
    assert verdict.exit_code() == 1

    revoked = world.register("safety-lab", evaluation_of(model.subject, 0.9, pin=model))
    world.publisher("safety-lab").revoke(revoked.record_id, "wrong harness configuration")
    verdict = world.verifier(policy).verify_path(path)
    expect(verdict, Code.REVOKED, Status.INFO, "evaluations")
    expect(verdict, Code.EVAL_MISSING, Status.FAIL, "evaluations")

    # the evaluation record itself: its copyright and privacy do not apply, it verifies like any record
    lab = Policy.from_mapping({"trusted_publishers": [world.account("safety-lab").address]})
    verdict = world.verifier(lab).verify_subject(revoked.subject)
    for check in ("copyright", "privacy"):
        line = expect(verdict, Code.OK, Status.PASS, check)
        assert "Not applicable" in line.message
    expect(verdict, Code.REVOKED, Status.FAIL, "status")


# --------------------------------------------------------------------------- the corpus is complete


def declared_codes(test) -> set[Code]:
    """The codes a scenario function declares with ``@pytest.mark.covers(...)``."""
    return {code for mark in getattr(test, "pytestmark", ()) if mark.name == "covers" for code in mark.args}


def test_the_corpus_covers_every_verdict_code():
    """Every code of CLAIMS.md has a scenario that asserts it.

    Read off this module's functions, not off a run: it holds whatever ran
    before it, in any order, under ``-k`` too. The autouse fixture below keeps
    each declaration true.
    """
    scenarios = [value for name, value in globals().items() if name.startswith("test_") and callable(value)]
    declared = set().union(*(declared_codes(test) for test in scenarios))
    assert all(isinstance(code, Code) for code in declared), f"covers() takes Code members: {declared}"
    missing = sorted(set(Code) - declared)
    assert not missing, f"no scenario asserts {missing}"


@pytest.fixture(autouse=True)
def _scenario_asserts_what_it_declares(request):
    """After a scenario that passed, the codes it asserted through expect() must be exactly those it declares."""
    ASSERTED.clear()
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed != failed_before:
        return  # it failed: what it asserted before failing says nothing about its declaration
    declared = declared_codes(request.function)
    assert declared == ASSERTED, (
        f"{request.function.__name__} declares covers({sorted(declared)}) but asserts {sorted(ASSERTED)}"
    )

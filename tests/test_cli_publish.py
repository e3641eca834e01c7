"""Publishing through the `provenance` command, as a user runs it, against anvil.

- end to end: a dataset registered directly, a model trained on it queued and
  anchored in a batch, both read back from the chain and matched against their
  Statements; then a revoke and an endorsement; then a scan of every
  transaction's input and every log of that (dedicated) chain for the claim
  values, disclosed or not, in the clear or hashed without salt;
- bad input: each refused with exit 2 and a message naming the problem, with
  nothing written to the chain, the journal or the store.

Keys are created through the library with a small scrypt cost (speed) and
funded with ``anvil_setBalance``: with ``--rpc-url`` the CLI does not fund.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from provenance import merkle
from provenance._keccak import keccak256
from provenance.commitments import Disclosure, canonical_json, verify_disclosure
from provenance.ledger import Ledger
from provenance.manifest import Manifest
from provenance.record import Kind, hex32, parse_address
from provenance.statement import Statement
from tests.helpers import free_port, start_anvil
from tests.publisher_home import EXAMPLES, Home, db_rows, make_artifact, make_home

pytestmark = pytest.mark.chain



def write_claims(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def example_claims(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


# ---------------------------------------------------------------- end to end on a dedicated chain


@pytest.fixture
def private_chain():
    """An anvil of its own, so that every transaction and log on it is ours to scan."""
    port = free_port()
    node = start_anvil(port)
    url = f"http://127.0.0.1:{port}"
    try:
        ledger = Ledger.connect(url)
        ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
        yield ledger
    finally:
        node.terminate()
        node.wait(timeout=20)


# Values the Statements must not reveal (not in the claims' `disclose`), as given in the claims files.
DATASET_SECRETS = {
    "name": "acme/support-chats",
    "version": "2026.1",
    "privacy.anonymization": ["pseudonymisation"],
    "privacy.retention_until": "2030-12-31",
    "privacy.erasure": "filter",
    "privacy.confidentiality": "green",
}
MODEL_SECRETS = {
    "name": "acme/support-7b-secret-name",
    "copyright.holders": ["Acme Model Team Ltd"],
    "copyright.attribution": "support-7b (c) Acme Model Team Ltd 2026, internal",
    "privacy.retention_until": "2029-06-30",
}
# Values the Statements publish: they belong off chain too (only roots go on chain).
DISCLOSED = {
    "dataset copyright.license": "CC-BY-4.0",
    "dataset copyright.holders": ["Acme Corp"],
    "dataset copyright.attribution": "Acme support chats (c) Acme Corp 2026, CC-BY-4.0",
    "privacy.lawful_basis": "consent",
    "model copyright.license": "Apache-2.0",
}


def _needles(value) -> dict[str, bytes]:
    """Every form in which a value could leak: as text, as committed JSON, and hashed without salt."""
    encoded = canonical_json(value)
    forms = {
        "canonical JSON": encoded,
        "keccak256(JSON)": keccak256(encoded),
        "sha256(JSON)": hashlib.sha256(encoded).digest(),
    }
    items = value if isinstance(value, list) else [value]
    for item in items:
        text = str(item).encode()
        forms[f"text {item!r}"] = text
        forms[f"keccak256 {item!r}"] = keccak256(text)
        forms[f"sha256 {item!r}"] = hashlib.sha256(text).digest()
    return forms


def _chain_blobs(ledger: Ledger) -> list[tuple[str, bytes]]:
    """Every transaction's input and every log's topics and data, from block 0 to the head."""
    blobs = []
    head = ledger.block_number()
    for number in range(head + 1):
        block = ledger.rpc("eth_getBlockByNumber", [hex(number), True])
        for tx in block["transactions"]:
            blobs.append((f"input of tx {tx['hash']} (block {number})", bytes.fromhex(tx["input"][2:])))
    logs = ledger.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(head)}])
    for log in logs:
        where = f"log {log['logIndex']} of tx {log['transactionHash']}"
        blobs.append((f"data of {where}", bytes.fromhex(log["data"][2:])))
        blobs.append((f"topics of {where}", b"".join(bytes.fromhex(t[2:]) for t in log["topics"])))
    return blobs


def _leaks(blobs: list[tuple[str, bytes]], values: dict[str, object]) -> list[str]:
    found = []
    for label, value in values.items():
        for form, needle in _needles(value).items():
            for where, blob in blobs:
                if needle in blob or needle.hex().encode() in blob:
                    found.append(f"{label} as {form} in {where}")
    return found


def test_end_to_end_dataset_direct_model_batched_read_back_and_no_claim_value_on_chain(tmp_path, private_chain):
    ledger = private_chain
    home = make_home(tmp_path / "home", ledger.rpc_url, ledger.registry, "pub", "auditor")
    publisher = home.addresses["pub"]

    # the dataset: personal data present, consent, CC-BY-4.0 (the example claims file as shipped), registered directly
    dataset = make_artifact(tmp_path, "support-chats", {"train.jsonl": b'{"q": "hi"}\n' * 50, "README.md": b"chats"})
    result = home.run("register", str(dataset), "--kind", "dataset", "--claims", str(EXAMPLES / "dataset.yaml"),
                      "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["state"] == "anchored" and out["anchor"]["type"] == "direct"
    dataset_subject = Manifest.from_path(dataset).subject
    assert out["subject"] == hex32(dataset_subject)

    # the model, trained on it (Apache-2.0): holders and attribution kept undisclosed, queued then anchored
    model_claims = example_claims("model")
    model_claims["name"] = MODEL_SECRETS["name"]
    model_claims["copyright"]["holders"] = MODEL_SECRETS["copyright.holders"]
    model_claims["copyright"]["attribution"] = MODEL_SECRETS["copyright.attribution"]
    model_claims["privacy"]["retention_until"] = MODEL_SECRETS["privacy.retention_until"]
    model_claims["lineage"]["trained_on"] = [hex32(dataset_subject)]
    model_claims["disclose"] = ["copyright.license", "copyright.commercial_use", "lineage", "privacy.personal_data",
                                "privacy.lawful_basis"]
    claims_file = write_claims(tmp_path / "model-claims.yaml", model_claims)
    model = make_artifact(tmp_path, "support-7b", {"model.safetensors": b"\x00\x01" * 4096, "config.json": b"{}"})
    result = home.run("register", str(model), "--kind", "model", "--claims", str(claims_file), "--batch",
                      "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "queued"
    # the dataset named by its subject is pinned to the record its publisher (the same key) registered
    assert json.loads(result.stdout)["pins"] == [{"subject": hex32(dataset_subject), "record": out["recordId"],
                                                  "publisher": publisher, "source": "own", "revoked": False}]
    queued = Statement.from_file(model / "provenance.json")
    assert queued.anchor is None
    result = home.run("anchor", "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    batch = json.loads(result.stdout)
    assert batch["anchored"] == 1 and batch["gasUsed"] < 60_000

    ds = Statement.from_file(dataset / "provenance.json")
    md = Statement.from_file(model / "provenance.json")
    events = ledger.events(0)

    # the dataset, read back: its RecordRegistered event and its on-chain state match the Statement
    (registered,) = [e for e in events if e.name == "RecordRegistered"]
    assert registered.args == {
        "recordId": ds.record_id, "publisher": publisher, "subject": dataset_subject, "kind": int(Kind.DATASET),
        "claimsRoot": ds.record.claims_root, "parents": [], "uri": "",
    }
    assert (registered.tx_hash, registered.block_number) == (ds.anchor.tx_hash, ds.anchor.block_number)
    state = ledger.record_state(ds.record_id)
    assert state.publisher == publisher and state.registered_at > 0 and not state.revoked

    # the model, read back: its batch root on chain, its inclusion proven by the registry itself
    (anchored,) = [e for e in events if e.name == "BatchAnchored"]
    assert md.anchor.type == "batch" and md.anchor.batch_root == anchored.args["root"]
    assert anchored.args["count"] == 1 and anchored.args["submitter"] == publisher
    assert (anchored.tx_hash, anchored.block_number) == (md.anchor.tx_hash, md.anchor.block_number)
    assert hex32(anchored.args["root"]) == batch["batchRoot"]
    assert md.anchor.submitter == publisher  # the registry's batch is (submitter, root)
    assert ledger.batch_state(publisher, md.anchor.batch_root).count == 1
    assert ledger.verify_inclusion(md.anchor.batch_root, merkle.record_leaf(md.record_id), md.anchor.proof)
    assert md.record_id == md.record.record_id(publisher) == ledger.record_id_of(publisher, md.record)
    assert md.record.subject == Manifest.from_path(model).subject
    assert md.record.kind == Kind.MODEL and md.record.parents == (dataset_subject,)

    # the Statements: what they disclose verifies against the signed claimsRoot and says what the files said
    for statement, expected in (
        (ds, {"copyright.license": "CC-BY-4.0", "privacy.personal_data": "present", "privacy.lawful_basis": "consent",
              "lineage.trained_on": []}),
        (md, {"copyright.license": "Apache-2.0", "privacy.personal_data": "present", "privacy.lawful_basis": "consent",
              "lineage.trained_on": [{"subject": hex32(dataset_subject), "record": hex32(ds.record_id)}]}),
    ):
        disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
        assert all(verify_disclosure(statement.record.claims_root, d) for d in disclosures)
        view = {d.field: d.value for d in disclosures}
        assert {k: view[k] for k in expected} == expected

    # revoke the dataset, endorse the model from another key: both reach the chain
    result = home.run("revoke", hex32(ds.record_id), "--reason", "erasure request", "--reason-code", "erasure",
                      "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reasonCode"] == "erasure"
    (revocation,) = [e for e in ledger.events(0) if e.name == "RecordRevoked"]
    assert (revocation.args["reasonCode"], revocation.args["reason"]) == (1, "erasure request")
    review = tmp_path / "review.json"
    review.write_text('{"reviewed": true}')
    result = home.run("endorse", hex32(md.record_id), "--statement", str(review), "--key", "auditor", "--json")
    assert result.returncode == 0, result.stderr
    assert ledger.record_state(ds.record_id).revoked
    names = [e.name for e in ledger.events(0)]
    assert names.count("RecordRevoked") == 1 and names.count("RecordEndorsed") == 1

    # the scan: no claim value, disclosed or not, plain or hashed without salt, in any input or log
    blobs = _chain_blobs(ledger)
    assert len(blobs) >= 1 + 4 + 4 * 2  # deploy + 4 calls; at least their 4 logs (topics and data)
    secrets = (
        {f"dataset {k}": v for k, v in DATASET_SECRETS.items()} | {f"model {k}": v for k, v in MODEL_SECRETS.items()}
    )
    assert _leaks(blobs, secrets) == []
    assert _leaks(blobs, DISCLOSED) == []
    assert _leaks(blobs, {"the revoke reason": "erasure request"})  # the scan does find what is there
    # ... while the roots the Statements commit to are there
    everything = b"".join(blob for _, blob in blobs)
    assert ds.record.claims_root in everything and md.anchor.batch_root in everything

    # the published Statement files and the batch document hold none of the undisclosed values ...
    published = [dataset / "provenance.json", model / "provenance.json", *(home.path / "batches").glob("*.json")]
    assert len(published) == 3
    for path in published:
        text = path.read_bytes()
        for label, value in secrets.items():
            for item in value if isinstance(value, list) else [value]:
                assert str(item).encode() not in text, f"{label} ({item!r}) appears in {path}"
    # ... the disclosed ones are there ...
    assert b"CC-BY-4.0" in (dataset / "provenance.json").read_bytes()
    assert b"Apache-2.0" in (model / "provenance.json").read_bytes()
    # ... and the local store keeps every value with its salt, for a later disclosure
    store = home.store()
    try:
        for statement, values in ((ds, DATASET_SECRETS), (md, MODEL_SECRETS)):
            commitment = store.commitment(statement.record_id)
            assert commitment.claims_root == statement.record.claims_root
            openings = {o.field: o.value for o in commitment.openings}
            for field, value in values.items():
                assert openings[field] == value, field
    finally:
        store.close()

    # a later disclosure reveals a secret field, and it verifies against the anchored claimsRoot
    revealed = tmp_path / "revealed.json"
    result = home.run("disclose", str(dataset), "--fields", "privacy.retention_until", "--out", str(revealed))
    assert result.returncode == 0, result.stderr
    more = Statement.from_file(revealed)
    (retention,) = [Disclosure.from_dict(d) for d in more.disclosures if d["field"] == "privacy.retention_until"]
    assert retention.value == "2030-12-31" and verify_disclosure(ds.record.claims_root, retention)
    assert more.anchor == ds.anchor


# ---------------------------------------------------------------- bad input leaves no trace


@pytest.fixture
def home(tmp_path, ledger) -> Home:
    return make_home(tmp_path / "home", ledger.rpc_url, ledger.registry)


def _dataset_claims(tmp_path: Path, **changes) -> Path:
    data = example_claims("dataset")
    for dotted, value in changes.items():
        section, _, key = dotted.partition("__")
        if key:
            data[section][key] = value
        else:
            data[section] = value
    return write_claims(tmp_path / "claims.yaml", data)


BAD_INPUTS = {
    # name: (how to build the arguments and environment, what the message must say)
    "malformed YAML": ("malformed", ["claims.yaml"]),
    "unknown key": ("unknown-key", ["copyright.licence"]),
    "bad SPDX": ("bad-spdx", ["copyright.license", "Apache-9.9-or-so"]),
    "missing claims file": ("missing-claims", ["nowhere.yaml", "does not exist"]),
    "wrong password": ("wrong-password", ["wrong password"]),
    "unknown key name": ("unknown-key-name", ["nobody"]),
    "artifact path does not exist": ("missing-artifact", ["no-such-dir", "does not exist"]),
    "kind differs from the claims": ("kind-mismatch", ["--kind model", "dataset"]),
    "unregistered parent": ("unknown-parent", ["0x" + "ab" * 32, "--allow-unknown-parent"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(tmp_path, home, ledger, case):
    how, expected = BAD_INPUTS[case]
    artifact = make_artifact(tmp_path, "data")
    claims = EXAMPLES / "dataset.yaml"
    args: list[str] = []
    env: dict[str, str] = {}
    if how == "malformed":
        claims = tmp_path / "claims.yaml"
        claims.write_text("kind: dataset\ncopyright:\n  license: [CC-BY-4.0\n  holders: {\n")
    elif how == "unknown-key":
        claims = _dataset_claims(tmp_path, copyright={"licence": "CC-BY-4.0"})
    elif how == "bad-spdx":
        claims = _dataset_claims(tmp_path, copyright__license="Apache-9.9-or-so")
    elif how == "missing-claims":
        claims = tmp_path / "nowhere.yaml"
    elif how == "wrong-password":
        env["PROVENANCE_KEY_PASSWORD"] = "not the password"
    elif how == "unknown-key-name":
        args += ["--key", "nobody"]
    elif how == "missing-artifact":
        artifact = tmp_path / "no-such-dir"
    elif how == "kind-mismatch":
        args += ["--kind", "model"]
    elif how == "unknown-parent":
        args += ["--parent", "0x" + "ab" * 32]
    head, nonce = ledger.block_number(), ledger.pending_nonce(home.addresses["pub"])

    # validation comes before the choice between a direct and a batched registration: both where it differs
    for extra in ([], ["--batch"]) if how in ("unknown-parent", "wrong-password") else ([],):
        result = home.run("register", str(artifact), "--claims", str(claims), *args, *extra, env=env)
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert result.stderr.startswith("error: "), result.stderr
        assert "Traceback" not in result.stderr
        for fragment in expected:
            assert fragment in result.stderr, (fragment, result.stderr)

    assert ledger.block_number() == head and ledger.pending_nonce(home.addresses["pub"]) == nonce
    assert ledger.events(0) == []
    assert db_rows(home.path) == ([], [])
    assert not (artifact / "provenance.json").exists()
    assert not list(tmp_path.rglob("*.provenance.json"))


def test_unregistered_parent_is_refused_naming_it_then_accepted_with_allow_unknown_parent(tmp_path, home, ledger):
    artifact = make_artifact(tmp_path, "model")
    parent = "0x" + "cd" * 32
    claims = EXAMPLES / "model.yaml"
    refused = home.run("register", str(artifact), "--claims", str(claims), "--parent", parent)
    assert refused.returncode == 2 and parent in refused.stderr
    assert db_rows(home.path) == ([], [])

    accepted = home.run("register", str(artifact), "--claims", str(claims), "--parent", parent,
                        "--allow-unknown-parent", "--json")
    assert accepted.returncode == 0, accepted.stderr
    statement = Statement.from_file(artifact / "provenance.json")
    assert statement.record.parents == (bytes.fromhex(parent[2:]),)
    (event,) = ledger.events(0)
    assert event.name == "RecordRegistered" and event.args["parents"] == [bytes.fromhex(parent[2:])]

    # a registered parent (even one only queued in the local store) needs no flag
    child = make_artifact(tmp_path, "child")
    parent = json.loads(accepted.stdout)["subject"]
    result = home.run("register", str(child), "--claims", str(claims), "--parent", parent,
                      "--batch")
    assert result.returncode == 0, result.stderr


def _model_claims(tmp_path: Path, name: str, trained_on: list) -> Path:
    """The example model's claims, trained on ``trained_on``; the lineage is not asked to be disclosed."""
    data = example_claims("model")
    data["lineage"]["trained_on"] = trained_on
    data["disclose"] = ["copyright.license"]
    return write_claims(tmp_path / f"{name}.yaml", data)


def test_a_parent_named_by_subject_is_pinned_to_a_record_and_the_pin_is_disclosed(tmp_path, home, ledger):
    home.add_key("other")
    home.add_key("third")
    dataset = make_artifact(tmp_path, "chats")
    result = home.run("register", str(dataset), "--claims", str(EXAMPLES / "dataset.yaml"), "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    subject, mine = json.loads(result.stdout)["subject"], json.loads(result.stdout)["recordId"]

    # the model's claims name the dataset by its subject: its own publisher's record is pinned, and said so
    claims = _model_claims(tmp_path, "model", [subject])
    model = make_artifact(tmp_path, "model")
    result = home.run("register", str(model), "--claims", str(claims), "--key", "pub")
    assert result.returncode == 0, result.stderr
    assert f"parent:    {subject} -> record {mine}: your newest record of it" in result.stdout
    statement = Statement.from_file(model / "provenance.json")
    disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
    assert all(verify_disclosure(statement.record.claims_root, d) for d in disclosures)
    view = {d.field: d.value for d in disclosures}
    assert view["lineage.trained_on"] == [{"subject": subject, "record": mine}]  # disclosed though not asked for
    assert set(view) == {"copyright.license", "lineage.trained_on", "lineage.base_models"}
    assert statement.record.parents == (bytes.fromhex(subject[2:]),)

    # another key's model: the only publisher's record, and the output names that publisher
    result = home.run("register", str(make_artifact(tmp_path, "model-b")), "--claims", str(claims), "--key", "third")
    assert result.returncode == 0, result.stderr
    assert f"record {mine}: the newest record of publisher {home.addresses['pub']}, the only publisher" in result.stdout

    # a second publisher registers the same dataset: a third key's plain subject is refused, naming both records
    result = home.run("register", str(dataset), "--claims", str(EXAMPLES / "dataset.yaml"), "--key", "other",
                      "--out", str(tmp_path / "theirs.json"), "--json")
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)["recordId"]
    head, records = ledger.block_number(), db_rows(home.path)[0]
    model_c = make_artifact(tmp_path, "model-c")
    refused = home.run("register", str(model_c), "--claims", str(claims), "--key", "third", "--batch")
    assert refused.returncode == 2, refused.stdout
    for fragment in ("lineage.trained_on[0]: parent " + subject, "2 publishers",
                     f"record {mine} of publisher {home.addresses['pub']}",
                     f"record {theirs} of publisher {home.addresses['other']}", f"{{subject: {subject}, record:"):
        assert fragment in refused.stderr, (fragment, refused.stderr)
    assert ledger.block_number() == head and db_rows(home.path)[0] == records
    assert not (model_c / "provenance.json").exists()

    # ... until the claims say which record
    pinned = _model_claims(tmp_path, "pinned", [{"subject": subject, "record": theirs}])
    result = home.run("register", str(model_c), "--claims", str(pinned), "--key", "third", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pins"] == [{"subject": subject, "record": theirs,
                                                  "publisher": home.addresses["other"], "source": "claims",
                                                  "revoked": False}]
    view = {d["field"]: d["value"] for d in Statement.from_file(model_c / "provenance.json").disclosures}
    assert view["lineage.trained_on"] == [{"subject": subject, "record": theirs}]

    # a pin to a record of another subject is refused; one to a record nobody registered is an unknown parent
    wrong = _model_claims(tmp_path, "wrong", [{"subject": "0x" + "ab" * 32, "record": mine}])
    result = home.run("register", str(make_artifact(tmp_path, "model-d")), "--claims", str(wrong), "--key", "pub")
    assert result.returncode == 2 and f"{mine} is a record of subject {subject}" in result.stderr
    unknown = _model_claims(tmp_path, "unknown", [{"subject": subject, "record": "0x" + "ee" * 32}])
    result = home.run("register", str(make_artifact(tmp_path, "model-e")), "--claims", str(unknown), "--key", "pub")
    assert result.returncode == 2 and "pinned parent record not registered" in result.stderr
    assert "--allow-unknown-parent" in result.stderr
    result = home.run("register", str(tmp_path / "model-e"), "--claims", str(unknown), "--allow-unknown-parent",
                      "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pins"][0]["publisher"] is None


def test_revoke_and_supersede_of_batched_records_prove_them_first(tmp_path, home, ledger):
    claims = EXAMPLES / "dataset.yaml"
    ids = []
    for name in ("v1", "v2", "v3"):
        result = home.run("register", str(make_artifact(tmp_path, name)), "--claims", str(claims), "--batch", "--json")
        assert result.returncode == 0, result.stderr
        ids.append(json.loads(result.stdout)["recordId"])
    assert home.run("anchor").returncode == 0
    assert not ledger.record_state(bytes.fromhex(ids[0][2:])).known  # batched: only the root is on chain

    superseded = home.run("supersede", ids[0], "--by", ids[1], "--reason-code", "wrong_claims", "--reason",
                          "licence corrected", "--json")
    assert superseded.returncode == 0, superseded.stderr
    assert json.loads(superseded.stdout)["reasonCode"] == "wrong_claims"
    revoked = home.run("revoke", ids[2], "--reason", "erasure request", "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["reasonCode"] == "other"  # the default

    v1, v2, v3 = (ledger.record_state(bytes.fromhex(i[2:])) for i in ids)
    assert v1.successor == bytes.fromhex(ids[1][2:]) and not v2.revoked and v3.revoked
    events = ledger.events(0)
    names = [e.name for e in events]
    assert names.count("BatchedRecordProven") == 3 and names.count("RecordSuperseded") == 1
    assert names.count("RecordRevoked") == 1
    (supersession,) = [e for e in events if e.name == "RecordSuperseded"]
    assert (supersession.args["reasonCode"], supersession.args["reason"]) == (2, "licence corrected")
    bad = home.run("revoke", ids[1], "--reason", "x", "--reason-code", "typo")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    # proven once: a second status change of a proven record sends no second proof
    again = home.run("revoke", ids[1], "--reason", "withdrawn")
    assert again.returncode == 0, again.stderr
    assert [e.name for e in ledger.events(0)].count("BatchedRecordProven") == 3


def test_endorse_and_dispute_prove_a_batched_record_first_or_say_why_not(tmp_path, home, ledger):
    home.add_key("auditor")
    result = home.run("register", str(make_artifact(tmp_path, "data")), "--claims", str(EXAMPLES / "dataset.yaml"),
                      "--batch", "--key", "pub", "--json")
    assert result.returncode == 0, result.stderr
    record_id = json.loads(result.stdout)["recordId"]
    assert home.run("anchor", "--key", "pub").returncode == 0
    review = tmp_path / "review.json"
    review.write_text('{"reviewed": true}')

    # the auditor's store holds the record's Statement (same home): the batch is its publisher's, so anyone may
    # prove the record into it, and the dispute reaches the chain
    disputed = home.run("dispute", record_id, "--statement", str(review), "--key", "auditor", "--json")
    assert disputed.returncode == 0, disputed.stderr
    names = [e.name for e in ledger.events(0)]
    assert names.count("BatchedRecordProven") == 1 and names.count("RecordDisputed") == 1
    endorsed = home.run("endorse", record_id, "--statement", str(review), "--key", "pub", "--json")
    assert endorsed.returncode == 0, endorsed.stderr
    assert [e.name for e in ledger.events(0)].count("BatchedRecordProven") == 1  # proven once

    # a record the registry does not store and this store cannot prove: refused before anything is sent
    sent = len(ledger.events(0))
    unknown = home.run("endorse", "0x" + "ab" * 32, "--statement", str(review), "--key", "auditor")
    assert unknown.returncode == 2
    assert "is not stored in registry" in unknown.stderr and "proven" in unknown.stderr
    assert len(ledger.events(0)) == sent

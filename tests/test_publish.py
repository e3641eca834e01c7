"""Publishing through the library against a real anvil: direct, batched, resume, store contents."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest

from provenance import merkle, publish
from provenance.claims import Claims
from provenance.commitments import Disclosure, verify_disclosure
from provenance.errors import ProvenanceError
from provenance.manifest import Manifest
from provenance.publish import Publisher, prepare, resume
from provenance.record import hex32
from provenance.signing import recover_record_signer
from provenance.statement import Anchor, Statement
from provenance.store import Store

pytestmark = pytest.mark.chain

DATASET = {
    "kind": "dataset",
    "name": "acme/chats",
    "copyright": {"license": "CC-BY-4.0", "commercial_use": True},
    "privacy": {"personal_data": "present", "lawful_basis": "consent", "retention_until": "2031-01-31"},
    "disclose": ["copyright", "privacy.personal_data"],
}


def _artifact(tmp_path, name="data", content=b"rows"):
    root = tmp_path / name
    root.mkdir()
    (root / "part-0.parquet").write_bytes(content)
    (root / "README.md").write_text("card")
    return root


def test_direct_register_anchors_and_writes_the_statement(tmp_path, ledger, make_account):
    account = make_account()
    store = Store.open(tmp_path / "home")
    root = _artifact(tmp_path)
    manifest = Manifest.from_path(root)
    claims = Claims.from_mapping(DATASET)
    target = root / "provenance.json"
    prepared = prepare(account=account, domain=ledger.domain, claims=claims, manifest=manifest, statement_path=target)
    statement = Publisher(store, ledger, account).register(prepared)

    assert statement.anchor.type == "direct"
    state = ledger.record_state(statement.record_id)
    assert state.known and state.publisher == account.address
    on_disk = Statement.from_file(target)
    assert on_disk == statement
    assert store.record(statement.record_id).state == "anchored"
    # the store keeps the secret openings; the Statement only the disclosed ones
    commitment = store.commitment(statement.record_id)
    assert commitment.claims_root == statement.record.claims_root
    disclosed = {d["field"] for d in on_disk.disclosures}
    assert "privacy.retention_until" not in disclosed and "copyright.license" in disclosed
    for item in on_disk.disclosures:
        assert verify_disclosure(statement.record.claims_root, Disclosure.from_dict(item))
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    sha = manifest.entry("part-0.parquet").sha256_hex
    assert store.files(sha) == [("0x" + manifest.subject.hex(), "part-0.parquet")]


def test_batch_queue_anchor_and_inclusion_on_chain(tmp_path, ledger, make_account):
    account = make_account()
    store = Store.open(tmp_path / "home")
    publisher = Publisher(store, ledger, account)
    claims = Claims.from_mapping(DATASET)
    prepared = [
        prepare(account=account, domain=ledger.domain, claims=claims, subject=bytes([i + 1]) * 32)
        for i in range(5)
    ]
    publisher.queue(prepared)
    assert len(store.records(state="queued")) == 5
    result = publisher.anchor(uri="https://example.org/batch.json")
    assert result.count == 5
    assert ledger.batch_state(account.address, result.root).anchored_at > 0
    for statement in result.statements:
        anchor = statement.anchor
        leaf = merkle.record_leaf(statement.record_id)
        assert anchor.type == "batch" and anchor.batch_root == result.root
        assert anchor.submitter == account.address  # the batch is (submitter, root) on chain
        assert anchor.to_json()["submitter"] == account.address
        assert ledger.verify_inclusion(result.root, leaf, anchor.proof)
    assert store.records(state="queued") == []
    assert publisher.anchor() is None  # nothing left: no second anchor


def test_an_anchor_whose_records_another_anchor_took_while_it_signed_finds_nothing_left(
    tmp_path, ledger, make_account, monkeypatch
):
    """Two `anchor` commands at once: the later one's estimate reverts "already anchored"; it reads the queue again."""
    account = make_account()
    claims = Claims.from_mapping(DATASET)
    first = Publisher(Store.open(tmp_path / "home"), ledger, account)
    first.queue([prepare(account=account, domain=ledger.domain, claims=claims, subject=bytes([i + 40]) * 32)
                 for i in range(3)])
    other = Publisher(Store.open(tmp_path / "home"), ledger, account)
    real_prepare, raced = ledger.prepare, {}

    def prepare_after_the_other_anchored(*args, **kwargs):
        if "other" not in raced:  # the other command reads the same queue, signs, journals and is mined first
            raced["other"] = None
            raced["other"] = other.anchor()
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(ledger, "prepare", prepare_after_the_other_anchored)
    assert first.anchor() is None
    assert raced["other"] is not None and raced["other"].count == 3
    assert [b.root for b in first.store.batches()] == [hex32(raced["other"].root)]
    assert {r.state for r in first.store.records()} == {"anchored"}


def test_resume_finishes_a_batch_whose_process_died_after_journaling(tmp_path, ledger, make_account):
    account = make_account()
    home = tmp_path / "home"
    store = Store.open(home)
    publisher = Publisher(store, ledger, account)
    claims = Claims.from_mapping(DATASET)
    publisher.queue([prepare(account=account, domain=ledger.domain, claims=claims, subject=b"\x09" * 32)])

    # do by hand what anchor() does up to the send, then "die"
    queued = store.records(state="queued")
    record_id = bytes.fromhex(queued[0].record_id[2:])
    tree = merkle.MerkleTree.from_leaves([merkle.record_leaf(record_id)])
    nonce = store.journal.next_nonce(ledger, account.address)
    tx = ledger.prepare(account, "anchorBatch", tree.root, 1, "", nonce=nonce)
    with store.transaction():
        store.add_batch(tree.root, ledger.chain_id, ledger.registry, account.address, 1, "", tx.tx_hash)
        store.update_record(record_id, state="batching", tx_hash=tx.tx_hash, batch_root=tree.root)
        store.journal.record(tx, ledger.chain_id, ref="x")
    store.close()

    store = Store.open(home)
    done = resume(store, ledger)
    assert any("anchored batch" in line for line in done)
    anchor = store.records(state="anchored")[0].statement.anchor
    assert (anchor.batch_root, anchor.submitter) == (tree.root, account.address)
    assert [b.submitter for b in store.batches()] == [account.address]
    assert Publisher(store, ledger, account).anchor() is None
    assert ledger.batch_state(account.address, tree.root).anchored_at > 0


def test_anchor_splice_equals_parse_and_encode(ledger, make_account):
    def _with_anchor_text(text, anchor):
        return Statement.with_anchor_text(text, json.dumps(anchor.to_json(), separators=(",", ":")))

    account = make_account()
    prepared = prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(DATASET), subject=b"\x07" * 32)
    anchor = Anchor("batch", b"\x01" * 32, 12, b"\x02" * 32, (b"\x03" * 32, b"\x04" * 32), account.address)
    text = prepared.statement.dumps_compact()
    assert _with_anchor_text(text, anchor) == prepared.statement.with_anchor(anchor).dumps_compact()
    odd = text[:-1] + " }"  # not the shape the store writes: parsed, not spliced
    assert _with_anchor_text(odd, anchor) == prepared.statement.with_anchor(anchor).dumps_compact()


def test_a_store_of_the_earlier_layout_is_migrated(tmp_path, ledger, make_account):
    account = make_account()
    prepared = prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(DATASET), subject=b"\x08" * 32)
    statement = prepared.statement
    db = sqlite3.connect(tmp_path / "store.db")
    db.executescript(
        "CREATE TABLE records (record_id TEXT PRIMARY KEY, chain_id INTEGER NOT NULL, registry TEXT NOT NULL,"
        " publisher TEXT NOT NULL, subject TEXT NOT NULL, kind INTEGER NOT NULL, state TEXT NOT NULL,"
        " statement TEXT NOT NULL, commitment TEXT NOT NULL, statement_path TEXT, tx_hash TEXT, batch_root TEXT,"
        " error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO records VALUES (?, ?, ?, ?, ?, 1, 'queued', ?, ?, NULL, NULL, NULL, NULL, 0, 0)",
        ("0x" + statement.record_id.hex(), statement.chain_id, statement.registry, statement.publisher,
         "0x" + statement.subject.hex(), statement.dumps_compact(), prepared.commitment.to_json()),
    )
    db.commit()
    db.close()
    store = Store.open(tmp_path)
    assert store.record(statement.record_id).statement == statement
    assert store.commitment(statement.record_id).claims_root == statement.record.claims_root
    result = Publisher(store, ledger, account).anchor()
    assert result.count == 1 and store.statements_for(statement.subject)[0].anchor.batch_root == result.root


def test_a_store_whose_batches_name_the_publisher_is_migrated(tmp_path):
    """Stores made for registry version 1 called a batch's anchoring account ``publisher``."""
    db = sqlite3.connect(tmp_path / "store.db")
    db.executescript(
        "CREATE TABLE batches (root TEXT PRIMARY KEY, chain_id INTEGER NOT NULL, registry TEXT NOT NULL,"
        " publisher TEXT NOT NULL, count INTEGER NOT NULL, uri TEXT NOT NULL, tx_hash TEXT NOT NULL,"
        " state TEXT NOT NULL, block_number INTEGER, created_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO batches VALUES (?, 1, ?, ?, 2, '', ?, 'anchored', 5, 0)",
        ("0x" + "01" * 32, "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "03" * 32),
    )
    db.commit()
    db.close()
    store = Store.open(tmp_path)
    (batch,) = store.batches()
    assert (batch.root, batch.submitter, batch.count) == ("0x" + "01" * 32, "0x" + "22" * 20, 2)
    store.close()
    assert Store.open(tmp_path).batches() == [batch]  # opened again: nothing to migrate


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_queue_of_subjects_in_workers_then_anchor(tmp_path, ledger, make_account, workers):
    account = make_account()
    store = Store.open(tmp_path / "home")
    publisher = Publisher(store, ledger, account)
    subjects = [bytes([i % 251 + 1]) * 31 + bytes([i // 251]) for i in range(publish._CHUNK + 7)]  # 2 chunks
    assert publisher.queue_subjects(Claims.from_mapping(DATASET), subjects, workers=workers) == len(subjects)
    assert not hasattr(publish, "_worker_job")  # only forked workers hold the job (the account) in module state
    queued = store.records(state="queued")
    assert sorted(r.statement.subject for r in queued) == sorted(subjects)
    for stored in queued[:3]:
        statement = stored.statement
        assert recover_record_signer(statement.record, ledger.domain, statement.signature) == account.address
        assert store.commitment(statement.record_id).claims_root == statement.record.claims_root
        assert {d["field"] for d in statement.disclosures} >= {"copyright.license", "privacy.personal_data"}
    salts = {store.commitment(r.record_id).openings[0].salt for r in queued}
    assert len(salts) == len(subjects)  # a fresh salt per record, also across workers
    result = publisher.anchor()
    assert result.count == len(subjects)
    one = store.records(state="anchored")[-1].statement
    assert ledger.verify_inclusion(result.root, merkle.record_leaf(one.record_id), one.anchor.proof)


def test_bulk_queue_is_all_or_nothing(tmp_path, ledger, make_account):
    account = make_account()
    store = Store.open(tmp_path / "home")
    subjects = [bytes([7]) * 31 + bytes([i % 256]) for i in range(publish._CHUNK)] + [bytes(32)]  # zero: refused
    with pytest.raises(ProvenanceError, match="subject must not be zero"):
        Publisher(store, ledger, account).queue_subjects(Claims.from_mapping(DATASET), subjects, workers=2)
    assert store.records() == []


def test_a_models_parents_are_pinned_to_the_record_relied_on_and_the_pins_verify(tmp_path, ledger, make_account):
    """Two publishers register one dataset; each pins its own record, a third must say which (or, once one
    is revoked, gets the other); the pins are committed, disclosed and verify against claimsRoot."""
    from provenance.index import Index
    from provenance.indexer import Indexer
    from provenance.pins import pin_parents
    from provenance.record import hex32

    me, stranger, third = make_account(), make_account(), make_account()
    manifest = Manifest.from_path(_artifact(tmp_path))
    stores = {a.address: Store.open(tmp_path / a.address) for a in (me, stranger, third)}
    registered = {}
    for account in (me, stranger):  # the stranger's record of the same subject comes later
        prepared = prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(DATASET),
                           manifest=manifest)
        registered[account.address] = Publisher(stores[account.address], ledger, account).register(prepared).record_id
    index = Index.open(tmp_path / "index.db")
    Indexer(index, ledger).sync()
    model = Claims.from_mapping({"kind": "model", "lineage": {"trained_on": [hex32(manifest.subject)]},
                                 "disclose": ["copyright.license"]})

    def pin(account):
        return pin_parents(model, publisher=account.address, store=stores[account.address], index=index,
                           chain_id=ledger.chain_id, registry=ledger.registry)

    for account in (me, stranger):
        _, (own,) = pin(account)
        assert (own.record_id, own.source) == (registered[account.address], "own")
    with pytest.raises(ProvenanceError) as info:
        pin(third)
    assert all(hex32(r) in str(info.value) and a in str(info.value) for a, r in registered.items())

    Publisher(stores[stranger.address], ledger, stranger).revoke(registered[stranger.address], "withdrawn")
    Indexer(index, ledger).sync()
    pinned, (only,) = pin(third)
    assert (only.record_id, only.publisher, only.source) == (registered[me.address], me.address, "sole-publisher")

    # committed and disclosed (the claims did not ask for the lineage), verified against the anchored claimsRoot
    model_root = _artifact(tmp_path, "model", b"weights")
    statement = Publisher(stores[third.address], ledger, third).register(
        prepare(account=third, domain=ledger.domain, claims=pinned, manifest=Manifest.from_path(model_root))
    )
    assert statement.record.parents == (manifest.subject,)
    disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
    assert all(verify_disclosure(statement.record.claims_root, d) for d in disclosures)
    view = {d.field: d.value for d in disclosures}
    assert view["lineage.trained_on"] == [{"subject": hex32(manifest.subject), "record": hex32(registered[me.address])}]
    assert view["lineage.base_models"] == []
    index.close()

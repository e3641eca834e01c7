"""The batch document (provenance.batchdoc): compact, read back against the anchored root, hostile input refused.

Most tests build documents offline from real signed Statements (a fresh key,
a made-up registry address) and a root computed as the publisher computes it;
the last ones anchor a batch on anvil and read the document the publisher
wrote with the values of the chain's ``BatchAnchored`` event, as a stranger
would, then verify every member.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest
from eth_account import Account

from provenance import batchdoc, merkle
from provenance.claims import Claims
from provenance.commitments import Commitment, Disclosure, Opening, commit, verify_disclosure
from provenance.errors import BatchDocumentError, StatementError
from provenance.record import Domain, Kind, Record, hex32
from provenance.signing import recover_record_signer, sign_record
from provenance.statement import Anchor, Statement

CHAIN_ID = 31337
REGISTRY = "0x" + "22" * 20
TX_HASH = b"\x0a" * 32
BLOCK = 42

#: The claims bench/register_bench.py registers (16 disclosed fields, the typical dataset shard).
BENCH_DATASET = {
    "kind": "dataset",
    "name": "acme/support-chats",
    "version": "2026.1",
    "copyright": {
        "license": "CC-BY-4.0",
        "holders": ["Acme Corp"],
        "attribution": "Acme support chats (c) Acme Corp 2026, CC-BY-4.0",
        "commercial_use": True,
        "training_mining": {
            "ai_training": "allowed", "ai_generative_training": "allowed",
            "data_mining": "allowed", "ai_inference": "allowed",
        },
        "tdm_reservation": False,
    },
    "privacy": {
        "personal_data": "present",
        "special_categories": [],
        "lawful_basis": "consent",
        "anonymization": ["pseudonymisation"],
        "jurisdictions": ["EU"],
        "retention_until": "2030-12-31",
        "erasure": "filter",
        "confidentiality": "green",
    },
    "disclose": ["copyright", "lineage", "privacy.personal_data", "privacy.lawful_basis"],
}
#: The claims tests/test_publish.py registers.
DATASET = {
    "kind": "dataset",
    "name": "acme/chats",
    "copyright": {"license": "CC-BY-4.0", "commercial_use": True},
    "privacy": {"personal_data": "present", "lawful_basis": "consent", "retention_until": "2031-01-31"},
    "disclose": ["copyright", "privacy.personal_data"],
}
MODEL = {"kind": "model", "name": "acme/tuned", "copyright": {"license": "Apache-2.0"}, "disclose": ["copyright"]}


@pytest.fixture(scope="module")
def publisher():
    return Account.create()


DOMAIN = Domain(CHAIN_ID, REGISTRY)


def signed(account, data=DATASET, *, subject=None, name="", uri="", parents=(), full_salts=False, disclose=None):
    """A Statement as the publisher's ``prepare`` makes it (``name`` empty: the claims' name)."""
    claims = Claims.from_mapping(data)
    commitment = commit(claims)
    if full_salts:  # salts of another tool: all 32 bytes random
        commitment = Commitment.from_openings(
            [Opening(o.field, os.urandom(32), o.encoded) for o in commitment.openings], commitment.defaults
        )
    subject = subject or os.urandom(32)
    record = Record.create(subject, Kind.parse(claims.kind), commitment.claims_root, sorted(parents), uri)
    return Statement.create(
        name=name or claims.name or hex32(subject), record=record, publisher=account.address,
        signature=sign_record(account, record, DOMAIN), chain_id=CHAIN_ID, registry=REGISTRY,
        manifest={"version": 1, "files": []},
        disclosures=[d.to_dict() for d in commitment.disclose(disclose)],
    )


def root_of(statements) -> bytes:
    return merkle.MerkleTree.from_leaves(merkle.record_leaf(s.record_id) for s in statements).root


def read(document, statements_or_root, by, **kw):
    """``batchdoc.read`` of the batch of ``statements_or_root`` (or that root) anchored by ``by``; ``kw`` overrides."""
    root = statements_or_root if isinstance(statements_or_root, bytes) else root_of(statements_or_root)
    values = {"root": root, "chain_id": CHAIN_ID, "registry": REGISTRY, "tx_hash": TX_HASH, "block_number": BLOCK,
              "submitter": by}
    return batchdoc.read(document, **{**values, **kw})


def assert_members(got, originals, submitter):
    """``got`` (read back) are ``originals`` without manifest, anchored in their batch with proofs that verify."""
    root = root_of(originals)
    tree = merkle.MerkleTree.from_leaves(merkle.record_leaf(s.record_id) for s in originals)
    assert len(got) == len(originals)
    for member, original in zip(got, originals, strict=True):
        leaf = merkle.record_leaf(original.record_id)
        assert member.record_id == original.record_id
        assert member.record == original.record and member.name == original.name
        assert member.publisher == original.publisher and member.signature == original.signature
        assert (member.chain_id, member.registry) == (original.chain_id, original.registry)
        assert member.disclosures == original.disclosures  # proofs included, in the Statement's order
        assert member.manifest is None
        assert member.anchor == Anchor("batch", TX_HASH, BLOCK, root, tuple(tree.proof(leaf)), submitter)
        assert merkle.verify(root, leaf, member.anchor.proof)
        for item in member.disclosures:
            assert verify_disclosure(member.record.claims_root, Disclosure.from_dict(item))


# ---------------------------------------------------------------- round trips


def test_a_typical_batch_reads_back_as_its_statements(publisher):
    members = [signed(publisher, BENCH_DATASET) for _ in range(20)]
    document = batchdoc.build(root_of(members), publisher.address, CHAIN_ID, REGISTRY, members)
    assert_members(read(document, members, publisher.address), members, publisher.address)
    parsed = json.loads(document)
    assert parsed["version"] == 2 and parsed["submitter"] == publisher.address
    assert parsed["batchRoot"] == hex32(root_of(members)) and parsed["chainId"] == CHAIN_ID
    # what every member shares is written once; a member holds what is its own
    assert parsed["common"]["name"] == "acme/support-chats" and parsed["common"]["kind"] == "dataset"
    assert {tuple(m) for m in parsed["members"]} == {("id", "subject", "signature", "salts", "tree", "hashes")}


def test_a_typical_batch_is_at_most_one_kib_a_member(publisher):
    members = [signed(publisher, BENCH_DATASET) for _ in range(200)]
    document = batchdoc.build(root_of(members), publisher.address, CHAIN_ID, REGISTRY, members)
    whole = sum(len(s.dumps_compact()) for s in members)
    assert len(document) / len(members) <= 1024, len(document) / len(members)
    assert len(document) * 8 < whole  # whole Statements: ~8.5 KB each


def test_members_that_differ_in_every_way_read_back(publisher):
    other = Account.create()  # proved into this submitter's batch by its publisher, say
    parent = os.urandom(32)
    members = [
        signed(publisher, BENCH_DATASET),
        signed(publisher, BENCH_DATASET),
        signed(publisher, DATASET, uri="https://example.org/s.json"),  # other claims, a uri
        signed(publisher, MODEL, parents=[parent, os.urandom(32)], name="tuned v2"),
        signed(publisher, {**DATASET, "name": None}),  # named by its subject
        signed(publisher, {**DATASET, "disclose": []}),  # disclosing nothing
        signed(publisher, DATASET, full_salts=True),  # salts that are not zero-padded
        signed(publisher, DATASET, disclose=["privacy.retention_until"]),  # one claim: a single path
        signed(other, DATASET),
    ]
    assert members[4].name == hex32(members[4].subject) and members[5].disclosures == ()
    document = batchdoc.build(root_of(members), publisher.address, CHAIN_ID, REGISTRY, members)
    assert_members(read(document, members, publisher.address), members, publisher.address)
    parsed = json.loads(document)["members"]
    assert parsed[8]["publisher"] == other.address and "publisher" not in parsed[0]
    assert parsed[3]["parents"] == sorted(hex32(p) for p in members[3].record.parents)
    assert parsed[5]["tree"] == "." and parsed[5]["claims"] == []


def test_the_first_format_is_still_read(publisher):
    """Documents written before version 2: ``{"batchRoot", "statements": [whole anchored Statements]}``."""
    members = [signed(publisher, DATASET) for _ in range(3)]
    root = root_of(members)
    tree = merkle.MerkleTree.from_leaves(merkle.record_leaf(s.record_id) for s in members)
    anchored = [
        s.with_anchor(Anchor("batch", TX_HASH, BLOCK, root, tuple(tree.proof(merkle.record_leaf(s.record_id))),
                             publisher.address))
        for s in members
    ]
    old = f'{{"batchRoot":"{hex32(root)}","statements":[' + ",".join(s.dumps_compact() for s in anchored) + "]}"
    assert_members(read(old, members, publisher.address), members, publisher.address)
    assert_members(read(old.encode(), members, publisher.address), members, publisher.address)

    with pytest.raises(BatchDocumentError, match="batchRoot"):
        read(old, os.urandom(32), publisher.address)
    with pytest.raises(BatchDocumentError, match="on chain 31337, not for the anchored batch.s registry .* on chain 1"):
        read(old, members, publisher.address, chain_id=1)
    # a member altered: its recordId no longer matches, and the member is named
    data = json.loads(old)
    data["statements"][1]["predicate"]["record"]["claimsRoot"] = hex32(os.urandom(32))
    with pytest.raises(BatchDocumentError, match="member 1: predicate.recordId does not match"):
        read(json.dumps(data), members, publisher.address)
    del data["statements"][1]["predicate"]["recordId"]
    with pytest.raises(BatchDocumentError, match="3 members do not give the anchored root"):
        read(json.dumps(data), members, publisher.address)


# ---------------------------------------------------------------- refused


@pytest.fixture(scope="module")
def batch(publisher):
    members = [signed(publisher, DATASET, parents=[os.urandom(32)]) for _ in range(4)]
    return members, batchdoc.build(root_of(members), publisher.address, CHAIN_ID, REGISTRY, members)


def altered(document: bytes, change) -> bytes:
    data = json.loads(document)
    change(data)
    return json.dumps(data).encode()


def b64(data: bytes) -> str:
    return batchdoc._b64(data)


def flip(text: str, at: int = 0) -> str:
    """``text`` (base64url) with one byte of what it encodes changed."""
    raw = batchdoc._unb64(text, "test")
    return b64(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :])


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda m: m.update(subject=b64(os.urandom(32))), "subject"),
        (lambda m: m.update(parents=[hex32(os.urandom(32))]), "a parent"),
        (lambda m: m.update(hashes=flip(m["hashes"])), "a hidden claims hash (the claimsRoot)"),
        (lambda m: m.update(salts=flip(m["salts"], 5)), "a salt (a disclosed claim)"),
        (lambda m: m.update(kind="model"), "the kind"),
        (lambda m: m.update(uri="https://elsewhere.example/x.json"), "the uri"),
        (lambda m: m.update(publisher="0x" + "33" * 20), "the publisher"),
    ],
)
def test_an_altered_member_is_refused_by_name(batch, publisher, change, what):
    members, document = batch
    changed = altered(document, lambda d: change(d["members"][2]))
    with pytest.raises(BatchDocumentError, match=r"member 2 \(subject 0x[0-9a-f]{64}\) does not match the anchored "
                                                  r"root .*: its fields give record"):
        read(changed, members, publisher.address)


def test_an_altered_member_whose_id_is_made_to_fit_is_refused_all_the_same(batch, publisher):
    """The id only names the member; the root is what decides."""
    members, document = batch
    subject = os.urandom(32)
    record = replace(members[2].record, subject=subject)

    def change(data):
        data["members"][2].update(subject=b64(subject), id=record.record_id(publisher.address)[:4].hex())

    with pytest.raises(BatchDocumentError, match="4 members do not give the anchored root"):
        read(altered(document, change), members, publisher.address)


def test_members_added_removed_or_repeated_are_refused(batch, publisher):
    members, document = batch
    with pytest.raises(BatchDocumentError, match="3 members do not give the anchored root"):
        read(altered(document, lambda d: d["members"].pop()), members, publisher.address)
    extra = signed(publisher, DATASET, parents=[os.urandom(32)])
    # a member more, under the document's own root (the reader checks the anchored one)
    more = batchdoc.build(root_of(members), publisher.address, CHAIN_ID, REGISTRY, [*members, extra])
    with pytest.raises(BatchDocumentError, match="5 members do not give the anchored root"):
        read(more, members, publisher.address)
    with pytest.raises(BatchDocumentError, match="member 4 repeats member 1"):
        read(altered(document, lambda d: d["members"].append(d["members"][1])), members, publisher.address)


def test_a_changed_signature_is_read_and_left_to_the_verifier(batch, publisher):
    """Signatures are not part of the record id: read returns the member; authenticity is the verifier's."""
    members, document = batch
    forged = Account.create()
    record = members[0].record
    changed = altered(document, lambda d: d["members"][0].update(signature=b64(sign_record(forged, record, DOMAIN))))
    got = read(changed, members, publisher.address)
    assert recover_record_signer(got[0].record, DOMAIN, got[0].signature) == forged.address != got[0].publisher


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("root", b"\x01" * 32),
        ("chain_id", 1),
        ("registry", "0x" + "44" * 20),
        ("submitter", "0x" + "55" * 20),
    ],
)
def test_a_document_of_another_batch_is_refused(batch, publisher, key, value):
    members, document = batch
    shown = {"root": "batchRoot", "chain_id": "chainId", "registry": "registry", "submitter": "submitter"}[key]
    with pytest.raises(BatchDocumentError, match=f"the batch document's {shown} is .*but the anchored batch's is"):
        read(document, members, publisher.address, **{key: value})


def test_bounds_are_kept(batch, publisher):
    members, document = batch
    with pytest.raises(BatchDocumentError, match="lists 4 members; at most 3 are read"):
        read(document, members, publisher.address, max_members=3)
    with pytest.raises(BatchDocumentError, match=f"is {len(document):,} bytes; at most 1,000 are read"):
        read(document, members, publisher.address, max_bytes=1000)
    assert len(read(document, members, publisher.address, max_members=4, max_bytes=len(document))) == 4


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"{'version': 2}", "not JSON"),
        (b'{"version": 2, "members": [NaN]}', "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # bounded nesting: an error, not a stack overflow
        (b"[]", "not a JSON object"),
        (b'{"version": 3}', "version 3"),
        (b'{"version": "2"}', "version '2'"),
        (b'{"version": true}', "version True"),
        (b'{"members": []}', "version None"),
    ],
)
def test_what_is_not_a_batch_document_is_refused(publisher, document, message):
    with pytest.raises(BatchDocumentError, match=message):
        read(document, b"\x01" * 32, publisher.address)


def test_batch_document_errors_are_statement_errors():
    assert issubclass(BatchDocumentError, StatementError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(members=[]), "members must be a non-empty list"),
        (lambda d: d.update(members={}), "members must be a non-empty list"),
        (lambda d: d.update(statements=[]), "keys other than .*: \\['statements'\\]"),
        (lambda d: d.update(common=[]), "common must be an object"),
        (lambda d: d["common"].update(manifest={}), "common must be an object"),
        (lambda d: d["members"].__setitem__(0, "x"), "member 0 must be an object"),
        (lambda d: d["members"][0].update(extra=1), "member 0 must be an object"),
        (lambda d: d["members"][0].update(subject=hex32(b"\1" * 32)), "member 0: subject must be 32 bytes, got 49"),
        (lambda d: d["members"][0].update(subject="AQ+/" * 10), "member 0: subject must be base64url"),
        (lambda d: d["members"][0].update(subject=b64(b"\1" * 31)), "member 0: subject must be 32 bytes"),
        (lambda d: d["members"][0].update(signature=b64(b"\1" * 66)), "member 0: signature is longer than 65"),
        (lambda d: d["members"][0].update(signature="a"), "member 0: signature must be base64url"),
        (lambda d: d["members"][0].update(salts=b64(b"\1" * 17)), "salts must hold 16 or 32 bytes for each"),
        (lambda d: d["members"][0].update(hashes=d["members"][0]["hashes"] + "AAAAAAAAAAA"), "hashes"),
        (lambda d: d["members"][0].update(hashes=""), "hashes holds fewer hashes"),
        (lambda d: d["members"][0].update(tree=""), "tree must be a string of 1 to 1024"),
        (lambda d: d["members"][0].update(tree="+" * 2000), "tree must be a string of 1 to 1024"),
        (lambda d: d["members"][0].update(tree="+" * 65 + "." * 66), "tree is deeper than 64"),
        (lambda d: d["members"][0].update(tree=d["members"][0]["tree"] + "."), "after its last node"),
        (lambda d: d["members"][0].update(tree=d["members"][0]["tree"][:-1]), "ends before"),
        (lambda d: d["members"][0].update(tree=d["members"][0]["tree"].replace("0", "z")), "names claim 'z'"),
        (lambda d: d["members"][0].update(tree=d["members"][0]["tree"].replace("1", "0")), "named twice"),
        (lambda d: d["members"][0].update(tree=d["members"][0]["tree"].replace("1", ".")), "hashes"),
        (lambda d: d["members"][0].update(tree=d["members"][0]["tree"].replace("+", "*", 1)), "names claim"),
        (lambda d: d["common"].update(claims="x"), "claims must be a list"),
        (lambda d: d["common"].update(claims=[["a"]] * 63), "claims must be a list of at most 62"),
        (lambda d: d["common"]["claims"].__setitem__(0, [1, 2]), "each claim must be"),
        (lambda d: d["common"]["claims"].__setitem__(0, ["x" * 300, 2]), "each claim must be"),
        (lambda d: d["common"].update(kind="weights"), "unknown kind 'weights'"),
        (lambda d: d["common"].update(kind=7), "member 0"),
        (lambda d: d["members"][0].update(parents=[hex32(os.urandom(32))] * 65), "at most 64"),
        (lambda d: d["members"][0].update(parents="0x00"), "parents must be a list"),
        (lambda d: d["members"][0].update(uri="u" * 600), "uri is 600 bytes"),
        (lambda d: d["members"][0].update(name=["x"]), "subject\\[0\\].name must be a string"),
        (lambda d: d["members"][0].update(publisher="me"), "publisher must be 0x"),
        (lambda d: d["members"][0].update(id="XYZ"), "member 0: id must be the first 4 bytes"),
        (lambda d: d["members"][0].pop("id"), "member 0: id must be the first 4 bytes"),
    ],
)
def test_malformed_members_are_refused_with_the_reason(batch, publisher, change, message):
    members, document = batch
    with pytest.raises(BatchDocumentError, match=message):
        read(altered(document, change), members, publisher.address)


def test_build_refuses_what_it_cannot_write(publisher):
    member = signed(publisher, DATASET)
    with pytest.raises(BatchDocumentError, match="at least one member"):
        batchdoc.build(b"\1" * 32, publisher.address, CHAIN_ID, REGISTRY, [])
    with pytest.raises(BatchDocumentError, match="not for the batch's registry"):
        batchdoc.build(b"\1" * 32, publisher.address, 1, REGISTRY, [member])
    twice = Statement.create(
        name="x", record=member.record, publisher=member.publisher, signature=member.signature, chain_id=CHAIN_ID,
        registry=REGISTRY, disclosures=[*member.disclosures, member.disclosures[0]],
    )
    with pytest.raises(BatchDocumentError, match="discloses copyright.attribution twice"):
        batchdoc.build(b"\1" * 32, publisher.address, CHAIN_ID, REGISTRY, [twice])
    bad = Statement.create(
        name="x", record=member.record, publisher=member.publisher, signature=member.signature, chain_id=CHAIN_ID,
        registry=REGISTRY, disclosures=[{"field": "copyright.license", "value": "MIT"}],
    )
    with pytest.raises(BatchDocumentError, match="disclosure 0 must have exactly field, salt, value and proof"):
        batchdoc.build(b"\1" * 32, publisher.address, CHAIN_ID, REGISTRY, [bad])


# ---------------------------------------------------------------- through a real registry


@pytest.mark.chain
def test_a_stranger_reads_an_anchored_batch_by_its_event_and_every_member_verifies(tmp_path, ledger, make_account):
    from provenance.index import Index
    from provenance.manifest import Manifest
    from provenance.policy import Policy
    from provenance.publish import Publisher, batch_document_path, prepare
    from provenance.store import Store
    from provenance.verdict import CheckName, Code, Status
    from provenance.verifier import Verifier

    account = make_account()
    artifact = tmp_path / "data"
    artifact.mkdir()
    (artifact / "part-0.parquet").write_bytes(b"rows")
    manifest = Manifest.from_path(artifact)
    beside = artifact / "provenance.json"
    prepared = [
        prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(BENCH_DATASET), manifest=manifest,
                statement_path=beside),
        *(prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(BENCH_DATASET),
                  subject=os.urandom(32)) for _ in range(3)),
        prepare(account=account, domain=ledger.domain, claims=Claims.from_mapping(MODEL), subject=os.urandom(32),
                extra_parents=[manifest.subject], uri="https://example.org/tuned.json"),
    ]
    store = Store.open(tmp_path / "home")
    try:
        publisher = Publisher(store, ledger, account)
        publisher.queue(prepared)
        result = publisher.anchor(uri="https://example.org/batch.json")
        document = batch_document_path(store, result.root).read_bytes()
    finally:
        store.close()
    # the member's own Statement beside its artifact keeps the manifest; the batch document does not
    assert Statement.from_file(beside).manifest == manifest.to_dict()
    assert b'"manifest"' not in document

    # a stranger: an index of the registry's events, and the batch as its BatchAnchored event gives it
    (tmp_path / "stranger").mkdir()
    index = Index.open(tmp_path / "stranger" / "index.db")
    try:
        policy = Policy.from_mapping({"trusted_publishers": [account.address]})
        verifier = Verifier(ledger, index, policy, [])  # nothing of the publisher's store; syncs the index
        (event,) = index.batches(result.root)
        assert (event.count, event.uri, event.submitter) == (result.count, "https://example.org/batch.json",
                                                              account.address)
        values = {
            "root": bytes.fromhex(event.root[2:]), "chain_id": ledger.chain_id, "registry": ledger.registry,
            "tx_hash": bytes.fromhex(event.tx_hash[2:]), "block_number": event.block_number,
            "submitter": event.submitter,
        }
        members = batchdoc.read(document, **values)
        published = {s.record_id: s for s in result.statements}
        assert {m.record_id for m in members} == set(published)
        for member in members:
            original = published[member.record_id]
            assert member.anchor == original.anchor  # the same tx, block, root, proof and submitter
            assert member.record == original.record and member.disclosures == original.disclosures
            assert member.manifest is None
            verdict = verifier.verify_statement(member)
            for check in (CheckName.AUTHENTICITY, CheckName.ANCHORING, CheckName.STATUS, CheckName.CLAIMS):
                lines = [c for c in verdict.checks if c.check is check]
                assert lines and all(c.status is Status.PASS for c in lines), verdict.to_table()

        # a member altered on the way: refused, naming it
        data = json.loads(document)
        data["members"][1]["subject"] = b64(os.urandom(32))
        with pytest.raises(BatchDocumentError, match="member 1 .* does not match the anchored root"):
            batchdoc.read(json.dumps(data), **values)
        # a signature replaced: the batch still gives its root (signatures are not in it), the verifier refuses it
        forged = Account.create()
        data = json.loads(document)
        record = members[2].record
        data["members"][2]["signature"] = b64(sign_record(forged, record, ledger.domain))
        (member,) = [m for m in batchdoc.read(json.dumps(data), **values) if m.record == record]
        verdict = verifier.verify_statement(member)
        assert any(c.check is CheckName.AUTHENTICITY and c.status is Status.FAIL and c.code is Code.BAD_SIGNATURE
                   for c in verdict.checks), verdict.to_table()
    finally:
        index.close()

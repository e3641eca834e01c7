"""Pinning parents to records (provenance.pins), offline: a real local store, an index given as plain records.

The resolution rule: the registering publisher's own newest record, else the
newest record of the only publisher with records of the subject, else refused
naming every candidate; no record at all leaves the subject plain. Explicit
pins are checked; pins are committed and always disclosed.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from provenance.claims import PIN_FIELDS, Claims
from provenance.commitments import Disclosure, disclosed_view, verify_disclosure
from provenance.errors import ClaimsError, UnknownParent
from provenance.index import IndexedRecord
from provenance.pins import Pin, candidates, pin_parents
from provenance.publish import prepare
from provenance.record import Domain, hex32
from provenance.store import Store

CHAIN = 31337
REGISTRY = "0x" + "22" * 20
DOMAIN = Domain(CHAIN, REGISTRY)
DATA = bytes.fromhex("d1" * 32)
BASE = bytes.fromhex("b1" * 32)
OTHER = bytes.fromhex("0e" * 32)
ME = Account.from_key(b"\x01" * 32)
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20


def rid(n: int) -> bytes:
    return bytes([n]) * 32


def indexed(record_id: bytes, subject: bytes, publisher: str, block: int, *, revoked=False, chain=CHAIN,
            registry=REGISTRY) -> IndexedRecord:
    return IndexedRecord(
        record_id=hex32(record_id), publisher=publisher, subject=hex32(subject), kind=1, claims_root=hex32(rid(9)),
        parents=(), uri="", batch_root=None, block_number=block, block_time=None, tx_hash=hex32(rid(8)),
        chain_id=chain, registry=registry, revoked=revoked, revoke_reason=None, successor=None, endorsements=0,
        disputes=0,
    )


class FakeIndex:
    """The four look-ups pinning reads, over a list of records (as Index gives them: oldest first)."""

    def __init__(self, *records: IndexedRecord) -> None:
        self.records = list(records)

    def records_by_subject(self, subject):
        return [r for r in self.records if r.subject == hex32(subject)]

    def record(self, record_id):
        return next((r for r in self.records if r.record_id == hex32(record_id)), None)

    def statement(self, record_id):
        return None

    def statements_for(self, subject):
        return []


def model_claims(**lineage) -> Claims:
    return Claims.from_mapping({"kind": "model", "copyright": {"license": "MIT"}, "lineage": lineage,
                                "disclose": ["copyright.license"]})


def trained_on(*subjects: bytes, **extra) -> Claims:
    return model_claims(trained_on=[hex32(s) for s in subjects], **extra)


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "home")
    yield store
    store.close()


def queue_own(store: Store, subject: bytes, account=ME, domain=DOMAIN) -> bytes:
    """A record of ``subject`` queued in the local store (not anchored yet); returns its id."""
    dataset = Claims.from_mapping({"kind": "dataset"})
    prepared = prepare(account=account, domain=domain, claims=dataset, subject=subject)
    with store.transaction():
        store.add_record(prepared.statement, prepared.commitment, state="queued", statement_path=None)
    return prepared.statement.record_id


def pin(claims: Claims, store=None, index=None, **options) -> tuple[Claims, tuple[Pin, ...]]:
    return pin_parents(claims, publisher=ME.address, store=store, index=index, chain_id=CHAIN, registry=REGISTRY,
                       **options)


# ---------------------------------------------------------------- the resolution rule


def test_the_publishers_own_record_comes_first_even_when_a_stranger_registered_later(store):
    mine = queue_own(store, DATA)
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 5), indexed(rid(2), DATA, BOB, 9))
    claims, (only,) = pin(trained_on(DATA), store, index)
    assert only == Pin(DATA, mine, ME.address, "own")
    assert claims.field_values()["lineage.trained_on"] == [{"subject": hex32(DATA), "record": hex32(mine)}]
    assert claims.parents() == (DATA,)  # still the parent subjects


def test_the_newest_own_record_that_is_not_revoked(store):
    index = FakeIndex(
        indexed(rid(1), DATA, ME.address, 3), indexed(rid(2), DATA, ME.address, 7),
        indexed(rid(3), DATA, ME.address, 8, revoked=True), indexed(rid(4), DATA, ALICE, 9),
    )
    _, (only,) = pin(trained_on(DATA), store, index)
    assert (only.record_id, only.source) == (rid(2), "own")
    # a record still queued in the local store is newer than any anchored one
    queued = queue_own(store, DATA)
    _, (only,) = pin(trained_on(DATA), store, index)
    assert only.record_id == queued


def test_the_only_other_publishers_newest_record(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2), indexed(rid(2), DATA, ALICE, 4),
                      indexed(rid(3), DATA, BOB, 6, revoked=True))  # a revoked record is no candidate
    claims, (only,) = pin(trained_on(DATA), store, index)
    assert only == Pin(DATA, rid(2), ALICE, "sole-publisher")
    assert ALICE in only.describe() and "only publisher" in only.describe()
    assert claims.pins() == {DATA: rid(2)}


def test_records_of_other_chains_and_registries_do_not_count(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2), indexed(rid(2), DATA, BOB, 4, chain=1),
                      indexed(rid(3), DATA, BOB, 5, registry="0x" + "33" * 20))
    queue_own(store, DATA, domain=Domain(1, REGISTRY))
    _, (only,) = pin(trained_on(DATA), store, index)
    assert (only.record_id, only.publisher) == (rid(1), ALICE)


def test_several_publishers_are_refused_naming_every_candidate_and_the_fix(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2), indexed(rid(2), DATA, BOB, 4))
    claims = model_claims(trained_on=[hex32(OTHER), hex32(DATA)], base_models=[{"subject": hex32(DATA),
                                                                                "relation": "finetune"}])
    with pytest.raises(ClaimsError) as info:
        pin(claims, store, index)
    message = str(info.value)
    for fragment in ("lineage.trained_on[1]: parent " + hex32(DATA), "lineage.base_models[0]: parent",
                     f"record {hex32(rid(1))} of publisher {ALICE} (block 2)",
                     f"record {hex32(rid(2))} of publisher {BOB} (block 4)",
                     f"accepted: {{subject: {hex32(DATA)}, record: the record id you relied on}}"):
        assert fragment in message, (fragment, message)
    assert "record: 0x" in info.value.hint


def test_a_subject_with_no_record_stays_plain(store):
    claims = trained_on(DATA, base_models=[{"subject": hex32(BASE), "relation": "adapter"}])
    pinned, pins = pin(claims, store, FakeIndex())
    assert pins == () and pinned == claims
    assert pinned.unpinned() == (BASE, DATA)
    assert pin(claims, store=None, index=None) == (claims, ())  # no source at all: nothing to pin to


def test_only_revoked_records_still_pin_and_say_so(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2, revoked=True))
    _, (only,) = pin(trained_on(DATA), store, index)
    assert (only.record_id, only.revoked) == (rid(1), True) and "revoked" in only.describe()


def test_a_parent_in_both_lists_is_pinned_once_to_one_record(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2))
    claims = trained_on(DATA, base_models=[{"subject": hex32(DATA), "relation": "merge"}])
    pinned, pins = pin(claims, store, index)
    assert len(pins) == 1
    values = pinned.field_values()
    assert values["lineage.trained_on"] == [{"subject": hex32(DATA), "record": hex32(rid(1))}]
    assert values["lineage.base_models"] == [{"subject": hex32(DATA), "relation": "merge", "record": hex32(rid(1))}]


def test_candidates_are_oldest_first_and_merge_store_and_index(store):
    mine = queue_own(store, DATA)
    index = FakeIndex(indexed(rid(2), DATA, BOB, 4), indexed(rid(1), DATA, ALICE, 2))
    found = candidates(DATA, store=store, index=index, chain_id=CHAIN, registry=REGISTRY.upper().replace("0X", "0x"))
    assert [c.record_id for c in found] == [rid(1), rid(2), mine]


# ---------------------------------------------------------------- explicit pins


def test_an_explicit_pin_to_a_known_record_is_kept(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2), indexed(rid(2), DATA, BOB, 4))
    claims = model_claims(trained_on=[{"subject": hex32(DATA), "record": hex32(rid(1))}])
    pinned, (only,) = pin(claims, store, index)  # several publishers, but the claims say which
    assert pinned == claims and only == Pin(DATA, rid(1), ALICE, "claims")


def test_an_explicit_pin_to_a_record_of_another_subject_is_refused(store):
    index = FakeIndex(indexed(rid(1), OTHER, ALICE, 2))
    claims = model_claims(base_models=[{"subject": hex32(DATA), "relation": "finetune", "record": hex32(rid(1))}])
    with pytest.raises(ClaimsError) as info:
        pin(claims, store, index)
    assert (f"lineage.base_models[0].record: {hex32(rid(1))} is a record of subject {hex32(OTHER)}, "
            f"not of {hex32(DATA)}; accepted: the id of a record of this subject") in str(info.value)
    # the local store's records are checked as well
    mine = queue_own(store, OTHER)
    with pytest.raises(ClaimsError, match="is a record of subject"):
        pin(model_claims(trained_on=[{"subject": hex32(DATA), "record": hex32(mine)}]), store, FakeIndex())


def test_an_unknown_explicit_pin_is_an_unknown_parent_unless_allowed(store):
    claims = model_claims(trained_on=[{"subject": hex32(DATA), "record": hex32(rid(7))}])
    with pytest.raises(UnknownParent) as info:
        pin(claims, store, FakeIndex())
    assert hex32(rid(7)) in str(info.value) and "lineage.trained_on[0]" in str(info.value)
    assert "--allow-unknown-parent" in info.value.hint
    pinned, (only,) = pin(claims, store, FakeIndex(), allow_unknown=True)
    assert pinned == claims and only == Pin(DATA, rid(7), None, "claims")
    assert "not known here" in only.describe()


# ---------------------------------------------------------------- committed and disclosed


def _view(prepared) -> dict:
    record = prepared.statement.record
    disclosures = [Disclosure.from_dict(d) for d in prepared.statement.disclosures]
    assert all(verify_disclosure(record.claims_root, d) for d in disclosures)
    return disclosed_view(record.claims_root, disclosures)


def test_pins_are_committed_and_always_disclosed(store):
    index = FakeIndex(indexed(rid(1), DATA, ALICE, 2), indexed(rid(3), BASE, BOB, 3))
    claims = trained_on(DATA, base_models=[{"subject": hex32(BASE), "relation": "finetune"}])
    assert claims.disclose == ("copyright.license",)  # the lineage is not asked for
    pinned, _ = pin(claims, store, index)
    prepared = prepare(account=ME, domain=DOMAIN, claims=pinned, subject=rid(5))
    view = _view(prepared)
    assert view["lineage.trained_on"] == [{"subject": hex32(DATA), "record": hex32(rid(1))}]
    assert view["lineage.base_models"] == [{"subject": hex32(BASE), "relation": "finetune", "record": hex32(rid(3))}]
    assert set(view) == {"copyright.license", *PIN_FIELDS}
    assert set(prepared.commitment.defaults) == set(view)  # a later `disclose` keeps them too
    assert prepared.statement.record.parents == (BASE, DATA)
    openings = {o.field: o.value for o in prepared.commitment.openings}
    assert openings["lineage.trained_on"] == view["lineage.trained_on"]


def test_plain_subjects_commit_and_disclose_as_before():
    claims = trained_on(DATA, base_models=[{"subject": hex32(BASE), "relation": "finetune"}])
    prepared = prepare(account=ME, domain=DOMAIN, claims=claims, subject=rid(5))
    assert set(_view(prepared)) == {"copyright.license"}  # nothing pinned: nothing more disclosed
    openings = {o.field: o.value for o in prepared.commitment.openings}
    assert openings["lineage.trained_on"] == [hex32(DATA)]
    assert openings["lineage.base_models"] == [{"subject": hex32(BASE), "relation": "finetune"}]

"""Whose word counts (provenance.trust): which records of a subject a verdict relies on, without a chain."""

from __future__ import annotations

from provenance.policy import Policy
from provenance.trust import Candidate, corrected, rely_on_parent, rely_on_subject

SUBJECT = b"\x01" * 32
OTHER_SUBJECT = b"\x02" * 32
OWNER = "0x" + "a1" * 20
STRANGER = "0x" + "b2" * 20
SECOND = "0x" + "c3" * 20


def rid(n: int) -> bytes:
    return n.to_bytes(32, "big")


def record(n: int, publisher: str = OWNER, *, subject: bytes = SUBJECT, block: int | None = None,
           anchored: bool = True, revoked: str | None = None, successor: int | None = None) -> Candidate:
    return Candidate(rid(n), subject, publisher, anchored, n if block is None else block, revoked,
                     rid(successor) if successor is not None else None)


def trusting(*publishers: str) -> Policy:
    return Policy.from_mapping({"trusted_publishers": list(publishers)})


def looker(*records: Candidate):
    known = {r.record_id: r for r in records}
    return known.get


def relied(reliance) -> list[bytes]:
    return [c.record_id for c in reliance.relied]


# --- the verified artifact ---------------------------------------------------------------------


def test_a_trusted_publishers_record_decides_and_a_strangers_is_information():
    owner, stranger = record(1), record(2, STRANGER)
    reliance = rely_on_subject([stranger, owner], trusting(OWNER), looker(owner, stranger))
    assert relied(reliance) == [rid(1)]
    assert "trusts" in reliance.why[rid(1)] and "information" in reliance.why[rid(2)]


def test_without_trust_every_anchored_record_counts_and_a_statement_alone_none():
    owner, stranger, unanchored = record(1), record(2, STRANGER), record(3, SECOND, anchored=False)
    reliance = rely_on_subject([owner, stranger, unanchored], Policy.default(), looker(owner, stranger))
    assert relied(reliance) == [rid(1), rid(2)]
    assert "most restrictive" in reliance.why[rid(1)]
    assert "decides nothing" in reliance.why[rid(3)]
    assert relied(rely_on_subject([unanchored], Policy.default(), looker())) == []


def test_neither_the_earliest_nor_the_newest_record_wins_by_time():
    early, late = record(1, STRANGER, block=1), record(2, SECOND, block=99)
    for order in ([early, late], [late, early]):
        assert sorted(relied(rely_on_subject(order, Policy.default(), looker(early, late)))) == [rid(1), rid(2)]


# --- corrections -------------------------------------------------------------------------------


def test_a_supersession_by_the_publisher_replaces_the_record():
    old, new = record(1, successor=2), record(2)
    reliance = rely_on_subject([old, new], trusting(OWNER), looker(old, new))
    assert relied(reliance) == [rid(2)] and reliance.replaced == {rid(2): (rid(1),)}
    assert "replaced by record" in reliance.why[rid(1)] and "superseded" in reliance.why[rid(1)]


def test_the_verified_artifact_follows_a_successor_only_of_its_own_subject():
    old, new_version = record(1, successor=2), record(2, subject=OTHER_SUBJECT)
    assert corrected(old, looker(new_version), [old], across_subjects=False) == (old, ())
    assert corrected(old, looker(new_version), [old], across_subjects=True) == (new_version, (rid(1),))


def test_revoked_for_a_typo_and_registered_again_is_a_correction_but_never_after_key_compromise():
    typo, again = record(1, revoked="wrong_claims"), record(2)
    assert corrected(typo, looker(), [typo, again], across_subjects=False) == (again, (rid(1),))
    compromised = record(1, revoked="key_compromise")
    assert corrected(compromised, looker(), [compromised, again], across_subjects=False) == (compromised, ())
    # only the same publisher's later record of the same subject replaces it
    strangers = record(3, STRANGER)
    earlier = record(0)
    assert corrected(typo, looker(), [typo, strangers, earlier], across_subjects=False) == (typo, ())


def test_a_chain_of_corrections_is_followed_and_a_loop_ends():
    first, second, third = record(1, successor=2), record(2, revoked="withdrawn"), record(3)
    assert corrected(first, looker(second, third), [first, second, third], across_subjects=False) == (
        third, (rid(1), rid(2)))
    a, b = record(1, successor=2), record(2, successor=1)
    current, earlier = corrected(a, looker(a, b), [a, b], across_subjects=False)
    assert current.record_id in (rid(1), rid(2)) and len(earlier) <= 1


def test_a_successor_not_in_the_registry_replaces_nothing():
    old, unanchored = record(1, successor=2), record(2, anchored=False)
    assert corrected(old, looker(unanchored), [old, unanchored], across_subjects=True) == (old, ())


# --- ancestors ---------------------------------------------------------------------------------


def test_an_ancestor_is_the_record_its_child_pinned():
    owner, stranger = record(1), record(2, STRANGER)
    reliance = rely_on_parent(SUBJECT, [owner, stranger], Policy.default(), looker(owner, stranger),
                              pinned=[rid(1)])
    assert relied(reliance) == [rid(1)] and "pinned" in reliance.why[rid(1)]
    assert "not the record its child relied on" in reliance.why[rid(2)]
    # even when the policy trusts the stranger: the child's publisher signed what it relied on
    assert relied(rely_on_parent(SUBJECT, [owner, stranger], trusting(STRANGER), looker(owner, stranger),
                                 pinned=[rid(1)])) == [rid(1)]


def test_a_pin_that_cannot_be_found_or_names_another_subject_pins_nothing():
    elsewhere = record(5, subject=OTHER_SUBJECT)
    reliance = rely_on_parent(SUBJECT, [record(1, STRANGER)], Policy.default(), looker(elsewhere),
                              pinned=[rid(5), rid(9)])
    assert relied(reliance) == [] and reliance.missing == (rid(5), rid(9))


def test_a_pinned_record_superseded_by_its_publisher_is_replaced_across_subjects():
    old, new_version = record(1, successor=2), record(2, subject=OTHER_SUBJECT)
    reliance = rely_on_parent(SUBJECT, [old], Policy.default(), looker(old, new_version), pinned=[rid(1)])
    assert relied(reliance) == [rid(2)] and reliance.replaced == {rid(2): (rid(1),)}


def test_unpinned_ancestors_fall_back_to_trust_then_the_childs_publisher_then_everyone():
    owner, stranger, third = record(1), record(2, STRANGER), record(3, SECOND)
    records = [owner, stranger, third]
    look = looker(*records)
    assert relied(rely_on_parent(SUBJECT, records, trusting(SECOND), look, named_by=[OWNER])) == [rid(3)]
    assert relied(rely_on_parent(SUBJECT, records, Policy.default(), look, named_by=[OWNER])) == [rid(1)]
    assert relied(rely_on_parent(SUBJECT, records, Policy.default(), look, named_by=["0x" + "dd" * 20])) == [
        rid(1), rid(2), rid(3)]
    # nothing anchored: judged on the Statements (the verifier says they are not anchored)
    unanchored = record(4, anchored=False)
    assert relied(rely_on_parent(SUBJECT, [unanchored], Policy.default(), looker(), named_by=[OWNER])) == [rid(4)]

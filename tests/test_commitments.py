"""provenance.commitments: salted claim leaves, disclosure and its verification.

The golden file ``tests/data/claims/commitment_golden.json`` holds the root and
the default disclosures of ``tests/data/claims/dataset.yaml`` under fixed
salts. Regenerate it on purpose with ``PROVENANCE_REGENERATE_GOLDEN=1 pytest
tests/test_commitments.py``; its root was first produced by
``@openzeppelin/merkle-tree`` (see the node cross-check below).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from provenance import merkle
from provenance.claims import CLAIM_FIELDS, CLAIM_SECTIONS, Claims
from provenance.commitments import (
    SALT_RANDOM_BYTES,
    Commitment,
    Disclosure,
    Opening,
    canonical_json,
    commit,
    disclosed_view,
    new_salt,
    verify_disclosure,
)
from provenance.errors import ClaimsError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "claims"
GOLDEN = DATA / "commitment_golden.json"
VECTORS = ROOT / "tests" / "vectors" / "merkle_vectors.js"


@pytest.fixture(scope="module")
def claims() -> Claims:
    return Claims.from_file(DATA / "dataset.yaml")


@pytest.fixture(scope="module")
def commitment(claims) -> Commitment:
    return commit(claims)


def fixed_salt(field: str) -> bytes:
    return hashlib.sha256(field.encode()).digest()[:SALT_RANDOM_BYTES] + bytes(32 - SALT_RANDOM_BYTES)


def fixed_commitment(claims: Claims) -> Commitment:
    openings = [Opening.of(f, fixed_salt(f), v) for f, v in claims.field_values().items()]
    return Commitment.from_openings(openings, claims.disclose)


# --- building ----------------------------------------------------------------------


def test_every_claim_field_is_committed_once(commitment):
    assert [o.field for o in commitment.openings] == sorted(CLAIM_FIELDS)
    assert len(commitment.claims_root) == 32


def test_salts_are_distinct_128_bit_random_padded_to_32_bytes(commitment):
    salts = [o.salt for o in commitment.openings]
    assert all(len(s) == 32 and s[SALT_RANDOM_BYTES:] == bytes(16) for s in salts)
    assert len({s[:SALT_RANDOM_BYTES] for s in salts}) == len(salts)
    assert len({new_salt()[:16] for _ in range(1000)}) == 1000
    ones = sum(bin(b).count("1") for s in salts for b in s[:16])
    assert 0.35 < ones / (len(salts) * 128) < 0.65  # random bits, not a counter


def test_fresh_salts_give_a_fresh_root(claims, commitment):
    assert commit(claims).claims_root != commitment.claims_root


def test_root_is_stable_given_the_salts(claims, commitment):
    again = Commitment.from_openings(reversed(commitment.openings), claims.disclose)
    assert again.claims_root == commitment.claims_root
    assert fixed_commitment(claims).claims_root == fixed_commitment(claims).claims_root


def test_root_is_the_merkle_root_of_claim_leaves(commitment):
    leaves = [merkle.claim_leaf(o.field, o.salt, canonical_json(o.value)) for o in commitment.openings]
    assert merkle.MerkleTree.from_leaves(leaves).root == commitment.claims_root


def test_canonical_json():
    assert canonical_json({"b": [1, 2.5], "a": "Jürgen"}) == '{"a":"Jürgen","b":[1,2.5]}'.encode()
    assert canonical_json(None) == b"null"
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


def test_from_openings_needs_every_field_exactly_once(commitment):
    with pytest.raises(ClaimsError, match="missing"):
        Commitment.from_openings(commitment.openings[1:])
    with pytest.raises(ClaimsError, match="committed twice"):
        Commitment.from_openings([*commitment.openings, commitment.openings[0]])
    with pytest.raises(ClaimsError, match="unknown"):
        Commitment.from_openings([*commitment.openings, Opening.of("privacy.pii", new_salt(), True)])


def test_salt_must_be_32_bytes():
    with pytest.raises(ClaimsError, match="32 bytes"):
        Opening.of("kind", b"\x01" * 16, "model")


# --- golden data -------------------------------------------------------------------


def golden_document(claims: Claims) -> dict:
    fixed = fixed_commitment(claims)
    return {
        "claims": "tests/data/claims/dataset.yaml",
        "salts": "sha256(field)[:16] + 16 zero bytes",
        "claimsRoot": "0x" + fixed.claims_root.hex(),
        "disclosures": [d.to_dict() for d in fixed.disclose()],
    }


def test_golden_root_and_disclosures(claims):
    document = golden_document(claims)
    if os.environ.get("PROVENANCE_REGENERATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(GOLDEN.read_text("utf-8")) == document


@pytest.mark.skipif(
    not shutil.which("node") or not (ROOT / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir(),
    reason="needs node and node_modules/@openzeppelin/merkle-tree",
)
def test_root_and_proofs_match_openzeppelin(claims):
    fixed = fixed_commitment(claims)
    values = [[o.field, "0x" + o.salt.hex(), "0x" + o.encoded.hex()] for o in fixed.openings]
    case = {"name": "claims", "encoding": ["string", "bytes32", "bytes"], "values": values}
    result = subprocess.run(
        ["node", str(VECTORS)],
        input=json.dumps({"cases": [case]}),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    reference = json.loads(result.stdout)["claims"]
    assert reference["root"] == "0x" + fixed.claims_root.hex()
    proofs = {d.field: ["0x" + p.hex() for p in d.proof] for d in fixed.disclose(CLAIM_FIELDS)}
    for opening, proof in zip(fixed.openings, reference["proofs"], strict=True):
        assert proofs[opening.field] == proof


# --- disclosure --------------------------------------------------------------------


def test_every_disclosure_verifies(commitment):
    disclosures = commitment.disclose(CLAIM_FIELDS)
    assert len(disclosures) == len(CLAIM_FIELDS)
    assert all(verify_disclosure(commitment.claims_root, d) for d in disclosures)


def test_default_disclosures_follow_the_claims_file(claims, commitment):
    fields = [d.field for d in commitment.disclose()]
    expected = {*CLAIM_SECTIONS["copyright"], *CLAIM_SECTIONS["lineage"], "privacy.personal_data"}
    assert set(fields) == expected and len(fields) == len(expected)


def test_section_and_leaf_disclosure(commitment):
    assert {d.field for d in commitment.disclose(["copyright.training_mining"])} == set(
        CLAIM_SECTIONS["copyright.training_mining"]
    )
    [one] = commitment.disclose(["privacy.personal_data"])
    assert (one.field, one.value) == ("privacy.personal_data", "present")
    assert commitment.disclose([]) == []


def test_unknown_disclosure_names_are_refused_listing_accepted_ones(commitment):
    with pytest.raises(ClaimsError) as info:
        commitment.disclose(["privacy.pii"])
    assert "unknown claim field 'privacy.pii'" in str(info.value)
    assert "privacy.personal_data" in str(info.value)


@pytest.mark.parametrize(
    "change",
    [
        {"value": "MIT"},
        {"value": "cc-by-4.0"},  # same license, other spelling: other bytes
        {"salt": "0x" + "00" * 32},
        {"field": "copyright.license_url"},
    ],
)
def test_a_changed_value_salt_or_field_fails(commitment, change):
    [disclosure] = commitment.disclose(["copyright.license"])
    assert verify_disclosure(commitment.claims_root, disclosure)
    tampered = Disclosure.from_dict({**disclosure.to_dict(), **change})
    assert not verify_disclosure(commitment.claims_root, tampered)


def test_a_wrong_proof_or_root_fails(claims, commitment):
    first, second = commitment.disclose(["privacy.personal_data", "copyright.license"])
    swapped = Disclosure(first.field, first.salt, first.encoded, second.proof)
    assert not verify_disclosure(commitment.claims_root, swapped)
    assert not verify_disclosure(commit(claims).claims_root, first)


def test_no_undisclosed_value_or_salt_appears_in_the_disclosures(commitment):
    published = json.dumps([d.to_dict() for d in commitment.disclose()], ensure_ascii=False)
    hidden = [o for o in commitment.openings if o.field not in {d.field for d in commitment.disclose()}]
    for secret in ["health", "consent", "explicit_consent", "2030-12-31", "US-CA", "pseudonymisation", "green"]:
        assert secret not in published
    for opening in hidden:
        assert opening.salt.hex() not in published
        assert merkle.keccak256(opening.encoded).hex() not in published  # no unsalted hash either
        assert opening.field not in published


def test_disclosure_round_trips_through_dict(commitment):
    for disclosure in commitment.disclose():
        again = Disclosure.from_dict(json.loads(json.dumps(disclosure.to_dict())))
        assert again == disclosure and verify_disclosure(commitment.claims_root, again)


@pytest.mark.parametrize(
    "data",
    [
        {"field": "kind", "salt": "0x00", "value": "model", "proof": []},
        {"field": "kind", "salt": "0x" + "00" * 32, "value": "model"},
        {"field": "kind", "salt": "0x" + "00" * 32, "value": "model", "proof": ["0x12"]},
        {"field": "kind", "salt": "0x" + "zz" * 32, "value": "model", "proof": []},
        {"field": "kind", "salt": "0x" + "00" * 32, "value": "model", "proof": "0x"},
        {"field": 3, "salt": "0x" + "00" * 32, "value": "model", "proof": []},
        {"field": "kind", "salt": "0x" + "00" * 32, "value": "model", "proof": [], "extra": 1},
    ],
)
def test_malformed_disclosures_are_refused(data):
    with pytest.raises(ClaimsError):
        Disclosure.from_dict(data)


def test_values_are_immutable_copies(commitment):
    [holders] = commitment.disclose(["copyright.holders"])
    holders.value.append("Mallory")
    assert holders.value == ["Acme Corp", "Jürgen Müller"]


# --- the verifier's view -----------------------------------------------------------


def test_disclosed_view(commitment):
    view = disclosed_view(commitment.claims_root, commitment.disclose())
    assert view["copyright.license"] == "CC-BY-4.0"
    assert view["privacy.personal_data"] == "present"
    assert view["lineage.trained_on"] == []
    assert "privacy.lawful_basis" not in view
    assert list(view) == sorted(view)


def test_disclosed_view_refuses_mismatches_naming_the_fields(commitment):
    disclosures = commitment.disclose()
    bad = [
        Disclosure.from_dict({**d.to_dict(), "value": "MIT"}) if d.field == "copyright.license" else d
        for d in disclosures
    ]
    with pytest.raises(ClaimsError, match=r"do not match claimsRoot 0x[0-9a-f]{64}: copyright.license$"):
        disclosed_view(commitment.claims_root, bad)
    with pytest.raises(ClaimsError, match="more than once: copyright.license"):
        disclosed_view(commitment.claims_root, [*disclosures, *commitment.disclose(["copyright.license"])])
    stray = Disclosure("privacy.pii", new_salt(), b"true", ())
    with pytest.raises(ClaimsError, match="unknown field privacy.pii"):
        disclosed_view(commitment.claims_root, [stray])


# --- the publisher's store ---------------------------------------------------------


def test_commitment_round_trips_through_json(commitment):
    again = Commitment.from_json(commitment.to_json())
    assert again.claims_root == commitment.claims_root
    assert again.openings == commitment.openings
    assert again.defaults == commitment.defaults
    assert [d.to_dict() for d in again.disclose()] == [d.to_dict() for d in commitment.disclose()]


def test_altered_store_is_refused(commitment):
    data = json.loads(commitment.to_json())
    data["openings"][0]["value"] = "tampered"
    with pytest.raises(ClaimsError, match="does not match its claimsRoot"):
        Commitment.from_json(json.dumps(data))
    with pytest.raises(ClaimsError, match="format"):
        Commitment.from_json(json.dumps({**data, "format": "other"}))
    with pytest.raises(ClaimsError, match="not JSON"):
        Commitment.from_json("{")


def test_repr_does_not_leak_salts(commitment):
    text = repr(commitment)
    assert all(o.salt.hex() not in text and repr(o.salt) not in text for o in commitment.openings)

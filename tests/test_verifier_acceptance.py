"""Verifier.accept_statement: which posted Statements a service keeps, against a real anvil registry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provenance.claims import Claims
from provenance.index import Index
from provenance.manifest import Manifest
from provenance.policy import Policy
from provenance.publish import Publisher, prepare
from provenance.store import Store
from provenance.verdict import CheckName, Code
from provenance.verifier import ACCEPTANCE_CHECKS, Verifier
from tests.conftest import account_factory, fresh_registry

pytestmark = pytest.mark.chain

# a true Statement about an artifact the default (commercial) policy refuses: kept all the same
CLAIMS = {
    "kind": "dataset",
    "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": False},
    "privacy": {"personal_data": "absent"},
    "disclose": ["copyright", "privacy"],
}


@pytest.fixture(scope="module")
def world(anvil_url, tmp_path_factory):
    """One record registered directly and one queued but never anchored; an index of the registry."""
    ledger = fresh_registry(anvil_url)
    account = account_factory(ledger)()
    root = tmp_path_factory.mktemp("acceptance")
    for name in ("direct", "queued"):
        (root / name).mkdir()
        (root / name / "rows.csv").write_text(f"{name}\n1,2\n")
    publisher = Publisher(Store.open(root / "home"), ledger, account)
    claims = Claims.from_mapping(CLAIMS)
    direct = publisher.register(prepare(account=account, domain=ledger.domain, claims=claims,
                                        manifest=Manifest.from_path(root / "direct")))
    queued = prepare(account=account, domain=ledger.domain, claims=claims, manifest=Manifest.from_path(root / "queued"))
    publisher.queue([queued])
    index = Index.open(root / "index.sqlite")
    yield ledger, index, direct, queued.statement
    index.close()


def _verifier(world) -> Verifier:
    ledger, index, *_ = world
    return Verifier(ledger, index, Policy.default(), [index])


def _refusing(acceptance) -> set[Code]:
    return {c.code for c in acceptance.refused_by}


def test_a_true_statement_is_accepted_whatever_its_claims_allow(world):
    direct = world[2]
    verifier = _verifier(world)
    assert verifier.verify_statement(direct).overall.value == "fail"  # USE_NOT_PERMITTED under the default policy
    acceptance = verifier.accept_statement(direct)
    assert acceptance.accepted and not acceptance.other_registry and acceptance.reason() == ""
    assert [c.check for c in acceptance.checks] == list(ACCEPTANCE_CHECKS)
    codes = {c.check: c.code for c in acceptance.checks}
    assert codes[CheckName.AUTHENTICITY] is Code.UNTRUSTED_PUBLISHER  # a warning: the policy trusts no one
    assert {codes[n] for n in (CheckName.INTEGRITY, CheckName.ANCHORING, CheckName.CLAIMS)} == {Code.OK}


def test_a_statement_for_another_registry_is_refused_before_any_check(world):
    direct = world[2]
    elsewhere = replace(direct, registry="0x" + "33" * 20)
    acceptance = _verifier(world).accept_statement(elsewhere)
    assert not acceptance.accepted and acceptance.other_registry
    assert acceptance.checks == () and acceptance.refused_by == ()
    assert (f"for registry {elsewhere.registry} on chain {direct.chain_id}, this service follows registry "
            f"{world[0].registry} on chain {world[0].chain_id}") in acceptance.reason()


def test_a_statement_for_this_registry_address_on_another_chain_is_refused(world):
    ledger, direct = world[0], world[2]
    elsewhere = replace(direct, chain_id=ledger.chain_id + 1)  # same address, same record id: another chain
    acceptance = _verifier(world).accept_statement(elsewhere)
    assert not acceptance.accepted and acceptance.other_registry and acceptance.checks == ()
    assert f"on chain {ledger.chain_id + 1}, this service follows registry {ledger.registry} on chain " \
           f"{ledger.chain_id}" in acceptance.reason()


def test_a_forged_signature_is_refused(world):
    forged = replace(world[2], signature=b"\x11" * 65)
    acceptance = _verifier(world).accept_statement(forged)
    assert not acceptance.accepted and Code.BAD_SIGNATURE in _refusing(acceptance)
    assert acceptance.reason().startswith("the Statement does not verify: ")


def test_a_statement_never_anchored_is_refused(world):
    acceptance = _verifier(world).accept_statement(world[3])
    assert not acceptance.accepted
    assert [(c.check, c.code) for c in acceptance.refused_by] == [(CheckName.ANCHORING, Code.NOT_ANCHORED)]


def test_disclosures_that_do_not_match_claims_root_are_refused(world):
    direct = world[2]
    disclosures = [dict(d) for d in direct.disclosures]
    license_ = next(d for d in disclosures if d["field"] == "copyright.license")
    license_["value"] = "Apache-2.0"  # a more permissive licence than the one committed
    acceptance = _verifier(world).accept_statement(replace(direct, disclosures=tuple(disclosures)))
    assert not acceptance.accepted and _refusing(acceptance) == {Code.DISCLOSURE_MISMATCH}


def test_a_manifest_that_does_not_give_the_subject_is_refused(world):
    direct = world[2]
    manifest = dict(direct.manifest)
    manifest["files"] = [{**f, "size": f["size"] + 1} for f in manifest["files"]]
    acceptance = _verifier(world).accept_statement(replace(direct, manifest=manifest))
    assert not acceptance.accepted and Code.TAMPERED in _refusing(acceptance)

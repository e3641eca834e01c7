"""The copyright, privacy, lineage and endorsement rules of CLAIMS.md over lineage graphs."""

from __future__ import annotations

import jsonschema
import pytest

from provenance.policy import Policy
from provenance.record import Kind
from provenance.rules import ArtifactFacts, Erasure, Lineage, LineageError, evaluate, is_public_uri
from provenance.verdict import Check, CheckName, Code, Status, Verdict, verdict_schema

DATA_PUB = "0x" + "d1" * 20
MODEL_PUB = "0x" + "e2" * 20
OTHER_PUB = "0x" + "f3" * 20
AUDITOR = "0x" + "a4" * 20
STRANGER = "0x" + "b5" * 20
DAY = 86_400
T0 = 1_760_000_000

DATASET, BASE, TUNE, EXTRA = 1, 2, 3, 4


def sub(n: int) -> bytes:
    return bytes([n]) * 32


def short(n: int) -> str:
    text = sub(n).hex()
    return f"0x{text[:8]}...{text[-4:]}"


CLEAN = {
    "copyright.license": "CC-BY-4.0",
    "copyright.license_url": None,
    "copyright.commercial_use": True,
    "copyright.training_mining.ai_training": "allowed",
    "copyright.training_mining.ai_generative_training": "allowed",
    "copyright.training_mining.data_mining": "allowed",
    "copyright.training_mining.ai_inference": "allowed",
    "copyright.tdm_reservation": False,
    "copyright.opt_out_evidence": [],
    "privacy.personal_data": "absent",
    "privacy.special_categories": [],
    "privacy.lawful_basis": None,
    "privacy.special_category_condition": None,
    "privacy.anonymization": [],
    "privacy.differential_privacy": None,
    "privacy.confidentiality": "clear",
}


def facts(n: int, kind: Kind, publisher: str | None, parents=(), drop=(), **changes) -> ArtifactFacts:
    """Facts of artifact ``n``: clean claims, with claim ``changes`` (dots as __) and record fields."""
    record_fields = {k: changes.pop(k) for k in list(changes) if k in ArtifactFacts.__dataclass_fields__}
    claims = dict(CLEAN)
    claims.update({k.replace("__", "."): v for k, v in changes.items()})
    for name in drop:
        claims.pop(name)
    record_fields.setdefault("registered_at", T0 + n * DAY)
    record_fields.setdefault("record_id", bytes([0x80 + n]) * 32)
    parents = tuple(sub(p) for p in parents)
    return ArtifactFacts(sub(n), kind, publisher, parents=parents, claims=claims, **record_fields)


def dataset(n=DATASET, publisher=DATA_PUB, **changes) -> ArtifactFacts:
    return facts(n, Kind.DATASET, publisher, **changes)


def model(n, parents, publisher=MODEL_PUB, **changes) -> ArtifactFacts:
    return facts(n, Kind.MODEL, publisher, parents=parents, **changes)


def three_generations(data=None, base=None, tune=None) -> Lineage:
    """dataset -> base model (trained on it) -> fine-tune (of the base model), all clean unless changed."""
    return Lineage.build(
        model(TUNE, [BASE], **(tune or {})),
        [dataset(**(data or {})), model(BASE, [DATASET], **(base or {}))],
    )


def run(lineage: Lineage, policy: Policy | None = None, **policy_data) -> list[Check]:
    """The rules under a policy that trusts the lineage's publishers unless ``trusted_publishers`` says otherwise."""
    if policy is None:
        policy_data.setdefault("trusted_publishers", [DATA_PUB, MODEL_PUB])
        policy = Policy.from_mapping(policy_data)
    return evaluate(lineage, policy)


def only(checks: list[Check], code: Code) -> list[Check]:
    return [c for c in checks if c.code is code]


def one(checks: list[Check], code: Code, status: Status, check: CheckName | None = None) -> Check:
    found = only(checks, code)
    assert len(found) == 1, [(c.code.value, c.message) for c in checks]
    assert found[0].status is status, found[0]
    if check is not None:
        assert found[0].check is check
    return found[0]


def problems(checks: list[Check]) -> list[tuple[str, str]]:
    return [(c.code.value, c.status.value) for c in checks if c.status not in (Status.PASS, Status.INFO)]


# --- clean lineages ---------------------------------------------------------------


def test_clean_three_generations_pass_with_one_ok_line_per_category():
    checks = run(three_generations())
    assert problems(checks) == []
    assert [(c.check.value, c.code.value) for c in checks] == [
        ("copyright", "OK"), ("privacy", "OK"), ("lineage", "OK"), ("endorsements", "OK"),
    ]  # fmt: skip
    assert "2 ancestor(s)" in checks[2].message
    assert Verdict(sub(TUNE), None, checks).overall is Status.PASS


def test_lone_dataset_passes():
    checks = run(Lineage.build(dataset()))
    assert problems(checks) == []
    assert "No parents" in checks[2].message


def test_evaluate_is_deterministic():
    lineage = three_generations(data={"copyright__license": "CC-BY-NC-SA-4.0", "privacy__personal_data": "unknown"})
    assert run(lineage) == run(lineage)


# --- copyright ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "drop", "words"),
    [
        ({"copyright__license": None}, (), "is missing"),
        ({}, ("copyright.license",), "is not disclosed"),
        ({"copyright__license": "unknown"}, (), "is unknown"),
        ({"copyright__license": "LicenseRef-acme-data"}, (), "without copyright.license_url"),
        ({"copyright__license": "not a license ((("}, (), "not a valid license expression"),
    ],
)
def test_license_unspecified_warns(changes, drop, words):
    lineage = Lineage.build(dataset(drop=drop, **changes))
    check = one(run(lineage), Code.LICENSE_UNSPECIFIED, Status.WARN, CheckName.COPYRIGHT)
    assert words in check.message and "copyright.license" in check.message
    assert check.evidence["field"] == "copyright.license"


def test_license_unspecified_fails_when_the_policy_requires_a_license():
    lineage = Lineage.build(dataset(copyright__license="unknown"))
    one(run(lineage, require={"license": True}), Code.LICENSE_UNSPECIFIED, Status.FAIL)


def test_license_ref_with_url_still_warns_because_its_terms_are_unclassified():
    lineage = Lineage.build(
        dataset(copyright__license="LicenseRef-acme", copyright__license_url="https://acme.example/terms")
    )
    check = one(run(lineage), Code.LICENSE_UNSPECIFIED, Status.WARN)
    assert "cannot classify" in check.message and check.evidence["licenseUrl"].startswith("https://")
    one(run(lineage, use="research"), Code.LICENSE_UNSPECIFIED, Status.WARN)


def test_license_unspecified_on_an_ancestor_names_it():
    checks = run(three_generations(data={"copyright__license": "unknown"}))
    check = one(checks, Code.LICENSE_UNSPECIFIED, Status.WARN)
    assert short(DATASET) in check.message and f"via {short(BASE)}" in check.message
    assert check.evidence["ancestor"] == "0x" + sub(DATASET).hex()
    assert list(check.evidence["via"]) == ["0x" + sub(n).hex() for n in (TUNE, BASE, DATASET)]


def test_use_not_permitted_for_a_commercial_use_of_a_non_commercial_ancestor():
    checks = run(three_generations(data={"copyright__license": "CC-BY-NC-4.0", "copyright__commercial_use": False}))
    check = one(checks, Code.USE_NOT_PERMITTED, Status.FAIL, CheckName.COPYRIGHT)
    assert short(DATASET) in check.message and "non-commercial" in check.message
    assert check.evidence["intendedUse"] == "commercial" and check.evidence["useClass"] == "non-commercial"
    assert only(run(three_generations(data={"copyright__license": "CC-BY-NC-4.0"}), use="research"),
                Code.USE_NOT_PERMITTED) == []  # fmt: skip


def test_use_not_permitted_for_the_artifact_itself_and_for_commercial_use_false():
    own = Lineage.build(dataset(copyright__license="CC-BY-NC-ND-4.0", copyright__commercial_use=None))
    assert "This dataset is non-commercial" in one(run(own), Code.USE_NOT_PERMITTED, Status.FAIL).message
    said_no = Lineage.build(dataset(copyright__license="MIT", copyright__commercial_use=False))
    check = one(run(said_no), Code.USE_NOT_PERMITTED, Status.FAIL)
    assert check.evidence["field"] == "copyright.commercial_use"


def test_use_not_permitted_for_a_non_commercial_use_of_academic_only_terms():
    lineage = three_generations(data={"copyright__license": "deepfloyd-if-license", "copyright__commercial_use": None})
    one(run(lineage, use="non-commercial"), Code.USE_NOT_PERMITTED, Status.FAIL)
    assert only(run(lineage, use="research"), Code.USE_NOT_PERMITTED) == []


def test_license_conflict_when_claiming_commercial_use_over_a_non_commercial_ancestor():
    lineage = three_generations(data={"copyright__license": "CC-BY-NC-4.0", "copyright__commercial_use": False})
    checks = run(lineage, use="research")  # independent of the intended use
    check = one(checks, Code.LICENSE_CONFLICT, Status.FAIL)
    assert "copyright.commercial_use: true" in check.message and short(DATASET) in check.message
    quiet = three_generations(
        data={"copyright__license": "CC-BY-NC-4.0"}, tune={"copyright__commercial_use": None}
    )
    assert only(run(quiet, use="research"), Code.LICENSE_CONFLICT) == []


def test_license_conflict_within_the_artifacts_own_claims():
    lineage = Lineage.build(dataset(copyright__license="CC-BY-NC-4.0", copyright__commercial_use=True))
    check = one(run(lineage, use="research"), Code.LICENSE_CONFLICT, Status.FAIL)
    assert "its own" in check.message


def test_no_derivatives():
    checks = run(three_generations(data={"copyright__license": "CC-BY-ND-4.0"}))
    check = one(checks, Code.NO_DERIVATIVES, Status.FAIL)
    assert "CC-BY-ND-4.0" in check.message and short(DATASET) in check.message


def test_share_alike_warns_unless_the_license_is_compatible():
    checks = run(three_generations(data={"copyright__license": "CC-BY-SA-4.0"}))
    check = one(checks, Code.SHARE_ALIKE, Status.WARN)
    assert check.evidence["ancestorLicense"] == "CC-BY-SA-4.0" and check.evidence["license"] == "CC-BY-4.0"
    compatible = three_generations(
        data={"copyright__license": "CC-BY-SA-4.0"},
        base={"copyright__license": "CC-BY-SA-4.0"},
        tune={"copyright__license": "GPL-3.0-only"},
    )
    assert only(run(compatible), Code.SHARE_ALIKE) == []


def test_restrictions_dropped():
    base = {"copyright__license": "openrail"}
    checks = run(three_generations(base=base, tune={"copyright__license": "MIT"}))
    check = one(checks, Code.RESTRICTIONS_DROPPED, Status.FAIL)
    assert "rail-use-restrictions" in check.message and short(BASE) in check.message
    assert only(run(three_generations(base=base, tune=base)), Code.RESTRICTIONS_DROPPED) == []
    llama = run(three_generations(base={"copyright__license": "llama3"}, tune={"copyright__license": "llama3.1"}))
    assert one(llama, Code.RESTRICTIONS_DROPPED, Status.FAIL).evidence["restrictions"] == (
        "llama-no-improving-other-llms",
    )


@pytest.mark.parametrize(
    "reservation",
    [
        {"copyright__training_mining__ai_training": "notAllowed"},
        {"copyright__training_mining__ai_training": "constrained"},
        {"copyright__training_mining__ai_generative_training": "notAllowed"},
        {"copyright__tdm_reservation": True},
    ],
)
def test_training_not_allowed(reservation):
    checks = run(three_generations(data=reservation))
    check = one(checks, Code.TRAINING_NOT_ALLOWED, Status.FAIL, CheckName.COPYRIGHT)
    assert short(DATASET) in check.message and short(BASE) in check.message
    assert check.evidence["field"] == next(iter(reservation)).replace("__", ".")
    assert check.evidence["derived"] == "0x" + sub(BASE).hex()


def test_training_allowed_for_the_same_publisher_or_with_its_endorsement():
    reserved = {"copyright__training_mining__ai_training": "notAllowed"}
    same = three_generations(data={**reserved, "publisher": MODEL_PUB})
    assert only(run(same), Code.TRAINING_NOT_ALLOWED) == []
    endorsed = three_generations(data=reserved, base={"endorsements": (DATA_PUB,)})
    assert only(run(endorsed), Code.TRAINING_NOT_ALLOWED) == []
    endorsed_root = three_generations(data=reserved, tune={"endorsements": (DATA_PUB.upper().replace("0X", "0x"),)})
    assert only(run(endorsed_root), Code.TRAINING_NOT_ALLOWED) == []
    unknown_publisher = three_generations(data={**reserved, "publisher": None})
    one(run(unknown_publisher), Code.TRAINING_NOT_ALLOWED, Status.FAIL)


def test_hidden_training_terms_of_another_publishers_dataset_do_not_pass():
    hidden = {"drop": ("copyright.training_mining.ai_training", "copyright.tdm_reservation")}
    checks = run(three_generations(data=hidden))
    check = one(checks, Code.LICENSE_UNSPECIFIED, Status.WARN, CheckName.COPYRIGHT)
    assert check.evidence["fields"] == ("copyright.training_mining.ai_training", "copyright.tdm_reservation")
    assert short(DATASET) in check.message and check.evidence["derived"] == "0x" + sub(BASE).hex()
    one(run(three_generations(data=hidden), require={"license": True}), Code.LICENSE_UNSPECIFIED, Status.FAIL)
    # cleared as rule 7 is: same publisher, or its endorsement; disclosed terms need no warning
    assert only(run(three_generations(data={**hidden, "publisher": MODEL_PUB})), Code.LICENSE_UNSPECIFIED) == []
    endorsed = three_generations(data=hidden, base={"endorsements": (DATA_PUB,)})
    assert only(run(endorsed), Code.LICENSE_UNSPECIFIED) == []
    assert only(run(three_generations()), Code.LICENSE_UNSPECIFIED) == []


def test_training_through_a_derived_dataset_is_still_training():
    lineage = Lineage.build(
        model(TUNE, [EXTRA]),
        [dataset(copyright__training_mining__ai_training="notAllowed"),
         facts(EXTRA, Kind.DATASET, OTHER_PUB, parents=[DATASET])],
    )  # fmt: skip
    check = one(run(lineage), Code.TRAINING_NOT_ALLOWED, Status.FAIL)
    assert check.evidence["derived"] == "0x" + sub(TUNE).hex()


def test_opt_out_violation_for_a_derived_dataset_and_for_mining_without_training_permission():
    mined = {"copyright__training_mining__data_mining": "notAllowed"}
    derived = Lineage.build(facts(EXTRA, Kind.DATASET, OTHER_PUB, parents=[DATASET]), [dataset(**mined)])
    check = one(run(derived), Code.OPT_OUT_VIOLATION, Status.FAIL, CheckName.COPYRIGHT)
    assert "copyright.training_mining.data_mining: notAllowed" in check.message
    silent = three_generations(data={**mined, "copyright__training_mining__ai_training": None})
    one(run(silent), Code.OPT_OUT_VIOLATION, Status.FAIL)
    explicit = three_generations(data=mined)  # ai_training: allowed says training is fine
    assert only(run(explicit), Code.OPT_OUT_VIOLATION) == []
    reserved = Lineage.build(
        facts(EXTRA, Kind.DATASET, OTHER_PUB, parents=[DATASET]),
        [dataset(copyright__tdm_reservation=True, copyright__opt_out_evidence=["0x" + "77" * 32])],
    )
    check = one(run(reserved), Code.OPT_OUT_VIOLATION, Status.FAIL)
    assert check.to_json()["evidence"]["optOutEvidence"] == ["0x" + "77" * 32]


# --- privacy ----------------------------------------------------------------------------


def test_privacy_unverified_for_unknown_or_undisclosed_personal_data():
    check = one(run(Lineage.build(dataset(privacy__personal_data="unknown"))), Code.PRIVACY_UNVERIFIED, Status.WARN,
                CheckName.PRIVACY)  # fmt: skip
    assert "privacy.personal_data: unknown" in check.message
    hidden = Lineage.build(dataset(drop=("privacy.personal_data",)))
    assert "not disclosed" in one(run(hidden), Code.PRIVACY_UNVERIFIED, Status.WARN).message
    one(run(hidden, require={"privacy": True}), Code.PRIVACY_UNVERIFIED, Status.FAIL)


def test_a_trusted_auditors_endorsement_covers_undisclosed_privacy_fields():
    endorsed = Lineage.build(dataset(drop=("privacy.personal_data",), endorsements=(AUDITOR,)))
    assert problems(run(endorsed, trusted_auditors=[AUDITOR])) == []
    assert only(run(endorsed), Code.PRIVACY_UNVERIFIED)  # not trusted by this policy
    self_endorsed = Lineage.build(dataset(publisher=AUDITOR, drop=("privacy.personal_data",), endorsements=(AUDITOR,)))
    assert only(run(self_endorsed, trusted_auditors=[AUDITOR]), Code.PRIVACY_UNVERIFIED)


def test_privacy_unverified_for_an_ancestor_whose_unknown_personal_data_reaches_the_artifact():
    lineage = three_generations(data={"privacy__personal_data": "unknown"})
    check = one(run(lineage), Code.PRIVACY_UNVERIFIED, Status.WARN)
    assert short(DATASET) in check.message
    broken = three_generations(
        data={"privacy__personal_data": "unknown"}, base={"privacy__anonymization": ["anonymisation"]}
    )
    assert only(run(broken), Code.PRIVACY_UNVERIFIED) == []


def test_privacy_unverified_for_undisclosed_lawful_basis():
    lineage = Lineage.build(dataset(privacy__personal_data="present", drop=("privacy.lawful_basis",)))
    check = one(run(lineage), Code.PRIVACY_UNVERIFIED, Status.WARN)
    assert "privacy.lawful_basis" in check.message and only(run(lineage), Code.NO_LAWFUL_BASIS) == []


def test_personal_data_conflict():
    present = {"privacy__personal_data": "present", "privacy__lawful_basis": "consent"}
    checks = run(three_generations(data=present))
    check = one(checks, Code.PERSONAL_DATA_CONFLICT, Status.FAIL, CheckName.PRIVACY)
    assert short(DATASET) in check.message and "privacy.personal_data: absent" in check.message


@pytest.mark.parametrize(
    ("base", "conflict"),
    [
        ({"privacy__anonymization": ["anonymisation"]}, False),
        ({"privacy__anonymization": ["differential_privacy"],
          "privacy__differential_privacy": {"epsilon": 2.0, "delta": 1e-6, "unit": "user"}}, False),
        ({"privacy__anonymization": ["pseudonymisation"]}, True),
        ({"privacy__anonymization": ["aggregation"]}, True),
    ],
)  # fmt: skip
def test_anonymisation_or_dp_on_the_way_breaks_the_chain(base, conflict):
    present = {"privacy__personal_data": "present", "privacy__lawful_basis": "consent"}
    checks = run(three_generations(data=present, base=base))
    assert bool(only(checks, Code.PERSONAL_DATA_CONFLICT)) is conflict


def test_personal_data_flows_through_every_path():
    # the tune also trains directly on the dataset, bypassing the anonymising base model
    present = {"privacy__personal_data": "present", "privacy__lawful_basis": "consent"}
    lineage = Lineage.build(
        model(TUNE, [BASE, DATASET]),
        [dataset(**present), model(BASE, [DATASET], privacy__anonymization=["anonymisation"])],
    )
    one(run(lineage), Code.PERSONAL_DATA_CONFLICT, Status.FAIL)


def test_no_lawful_basis():
    lineage = Lineage.build(dataset(privacy__personal_data="present", privacy__lawful_basis=None))
    check = one(run(lineage), Code.NO_LAWFUL_BASIS, Status.FAIL, CheckName.PRIVACY)
    assert "privacy.lawful_basis" in check.message


def test_no_lawful_basis_on_an_ancestor_and_on_an_artifact_that_inherits_without_saying():
    data = {"privacy__personal_data": "present", "privacy__lawful_basis": None}
    check = one(run(three_generations(data=data, tune={"privacy__personal_data": "present",
                                                        "privacy__lawful_basis": "consent"})),
                Code.NO_LAWFUL_BASIS, Status.FAIL)  # fmt: skip
    assert short(DATASET) in check.message
    inherits = three_generations(
        data={"privacy__personal_data": "present", "privacy__lawful_basis": "consent"},
        base={"privacy__personal_data": "present", "privacy__lawful_basis": "consent"},
        tune={"privacy__personal_data": "unknown"},
    )
    check = one(run(inherits), Code.NO_LAWFUL_BASIS, Status.FAIL)
    assert check.evidence.get("ancestor") is None  # the fine-tune itself


def test_no_special_category_condition():
    data = {"privacy__personal_data": "present", "privacy__lawful_basis": "consent",
            "privacy__special_categories": ["health"], "privacy__special_category_condition": None}  # fmt: skip
    check = one(run(Lineage.build(dataset(**data))), Code.NO_SPECIAL_CATEGORY_CONDITION, Status.FAIL)
    assert "health" in check.message
    ok = dict(data, privacy__special_category_condition="explicit_consent")
    assert problems(run(Lineage.build(dataset(**ok)))) == []
    hidden = Lineage.build(dataset(drop=("privacy.special_category_condition",), **data))
    one(run(hidden), Code.PRIVACY_UNVERIFIED, Status.WARN)


@pytest.mark.parametrize(
    "dp",
    [{"epsilon": 1.0, "unit": "user"}, {"epsilon": -1, "delta": 0, "unit": "user"},
     {"epsilon": 1.0, "delta": 0, "unit": "household"}, None],
)  # fmt: skip
def test_dp_invalid(dp):
    lineage = Lineage.build(dataset(privacy__anonymization=["differential_privacy"], privacy__differential_privacy=dp))
    check = one(run(lineage), Code.DP_INVALID, Status.FAIL, CheckName.PRIVACY)
    assert "privacy.differential_privacy" in check.message


def test_dp_parameters_undisclosed_are_unverified():
    lineage = Lineage.build(
        dataset(privacy__anonymization=["differential_privacy"], drop=("privacy.differential_privacy",))
    )
    check = one(run(lineage), Code.PRIVACY_UNVERIFIED, Status.WARN)
    assert "budget cannot be checked" in check.message


def dp(epsilon, delta=1e-7):
    return {"privacy__anonymization": ["differential_privacy"],
            "privacy__differential_privacy": {"epsilon": epsilon, "delta": delta, "unit": "user"}}  # fmt: skip


def test_dp_budget_is_summed_along_the_lineage():
    assert only(run(three_generations(base=dp(4), tune=dp(4))), Code.DP_BUDGET_EXCEEDED) == []
    checks = run(three_generations(base=dp(6), tune=dp(6)))
    check = one(checks, Code.DP_BUDGET_EXCEEDED, Status.FAIL, CheckName.PRIVACY)
    assert check.evidence["epsilon"] == 12 and check.evidence["epsilonMax"] == 10
    assert short(BASE) in check.message and short(TUNE) in check.message
    assert only(run(three_generations(base=dp(4), tune=dp(4)), differential_privacy={"epsilon_max": 5}),
                Code.DP_BUDGET_EXCEEDED)  # fmt: skip


def test_dp_delta_budget():
    checks = run(three_generations(base=dp(1, 8e-6), tune=dp(1, 8e-6)))
    check = one(checks, Code.DP_BUDGET_EXCEEDED, Status.FAIL)
    assert "delta" in check.message
    assert only(run(three_generations(base=dp(1, 8e-6), tune=dp(1, 8e-6)),
                    differential_privacy={"delta_max": None}), Code.DP_BUDGET_EXCEEDED) == []  # fmt: skip


def test_erasure_affected_until_a_successor_is_registered():
    erased = {"revoked_at": T0 + 30 * DAY, "revocation_reason": "Erasure request #114 (GDPR Art. 17)",
              "revocation_code": "erasure",
              "erasure": Erasure("revoked", T0 + 30 * DAY, "Erasure request #114 (GDPR Art. 17)")}
    checks = run(three_generations(data=erased))
    check = one(checks, Code.ERASURE_AFFECTED, Status.FAIL, CheckName.PRIVACY)
    assert short(DATASET) in check.message and "after this artifact was registered" in check.message
    assert check.evidence["reason"].startswith("Erasure")
    # the revoked dataset is also a failed parent
    assert one(checks, Code.PARENT_FAILED, Status.FAIL).evidence["ancestor"] == "0x" + sub(DATASET).hex()
    succeeded = three_generations(
        data=erased, tune={"successor": b"\x55" * 32, "successor_registered_at": T0 + 31 * DAY}
    )
    assert only(run(succeeded), Code.ERASURE_AFFECTED) == []
    too_early = three_generations(
        data=erased, tune={"successor": b"\x55" * 32, "successor_registered_at": T0 + 20 * DAY}
    )
    one(run(too_early), Code.ERASURE_AFFECTED, Status.FAIL)
    # an intermediate model's successor does not clean the fine-tune built on the old one
    base_replaced = three_generations(
        data=erased, base={"successor": b"\x56" * 32, "successor_registered_at": T0 + 31 * DAY}
    )
    one(run(base_replaced), Code.ERASURE_AFFECTED, Status.FAIL)


def test_other_revocations_are_not_erasure():
    checks = run(three_generations(data={"revoked_at": T0 + 30 * DAY, "revocation_reason": "wrong license",
                                         "revocation_code": "wrong_claims"}))
    assert only(checks, Code.ERASURE_AFFECTED) == []
    line = one(checks, Code.PARENT_FAILED, Status.FAIL)
    assert "wrong license" in line.message and "wrong_claims" in line.message
    # erasure is a reason code, not a word: free text saying "erasure" under another code is no erasure
    worded = run(three_generations(data={"revoked_at": T0 + 30 * DAY, "revocation_reason": "erasure request",
                                         "revocation_code": "other"}))
    assert only(worded, Code.ERASURE_AFFECTED) == []


def test_superseded_for_erasure_reaches_descendants():
    """Privacy 5 (second edition): a supersession whose reason code is erasure affects descendants too."""
    erased = {"erasure": Erasure("superseded", T0 + 30 * DAY, "request 2026-7")}
    check = one(run(three_generations(data=erased)), Code.ERASURE_AFFECTED, Status.FAIL, CheckName.PRIVACY)
    assert "superseded for erasure" in check.message and check.evidence["erasure"] == "superseded"


@pytest.mark.parametrize(
    ("level", "uri", "conflict"),
    [("red", "https://hub.example/model", True), ("amber", "ipfs://bafy...", True), ("red", "ar://tx", True),
     ("green", "https://hub.example/model", False), ("red", "file:///srv/private", False), ("red", "", False)],
)  # fmt: skip
def test_confidentiality_conflict(level, uri, conflict):
    lineage = Lineage.build(dataset(privacy__confidentiality=level, uri=uri))
    found = only(run(lineage), Code.CONFIDENTIALITY_CONFLICT)
    assert bool(found) is conflict
    if conflict:
        assert found[0].status is Status.WARN and "privacy.confidentiality" in found[0].message
    assert is_public_uri(uri) is (uri.split(":")[0] in ("https", "ipfs", "ar"))


# --- lineage --------------------------------------------------------------------------


def test_parent_unknown_warns_and_may_fail():
    lineage = Lineage.build(model(TUNE, [BASE, 9]), [model(BASE, [])], unknown=[sub(9)])
    check = one(run(lineage), Code.PARENT_UNKNOWN, Status.WARN, CheckName.LINEAGE)
    assert short(9) in check.message and check.evidence["ancestor"] == "0x" + sub(9).hex()
    one(run(lineage, require={"parents": True}), Code.PARENT_UNKNOWN, Status.FAIL)


def test_a_parent_missing_from_the_mapping_is_unknown_too():
    lineage = Lineage.build(three_generations().root_facts, [model(BASE, [DATASET])])  # dataset left out
    check = one(run(lineage), Code.PARENT_UNKNOWN, Status.WARN)
    assert f"of parent model {short(BASE)}" in check.message


def test_parents_named_only_in_the_disclosed_lineage_are_walked():
    tune = model(TUNE, [], lineage__base_models=[{"subject": "0x" + sub(BASE).hex(), "relation": "finetune"}])
    lineage = Lineage.build(tune, [model(BASE, [], copyright__license="CC-BY-NC-4.0")])
    one(run(lineage), Code.USE_NOT_PERMITTED, Status.FAIL)


def test_parent_failed():
    checks = run(three_generations(base={"own_verdict_failed": True}))
    check = one(checks, Code.PARENT_FAILED, Status.FAIL, CheckName.LINEAGE)
    assert short(BASE) in check.message and "own verification" in check.message


def test_a_cycle_terminates_and_fails():
    lineage = Lineage.build(model(TUNE, [BASE]), [model(BASE, [TUNE])])
    check = one(run(lineage), Code.PARENT_FAILED, Status.FAIL)
    assert "cycle" in check.message and check.evidence["cycle"][0] == check.evidence["cycle"][-1]
    selfish = Lineage.build(model(TUNE, [TUNE]))
    assert "cycle" in one(run(selfish), Code.PARENT_FAILED, Status.FAIL).message


def test_rules_still_apply_inside_a_cycle():
    lineage = Lineage.build(
        model(TUNE, [BASE]), [model(BASE, [DATASET]), dataset(parents=(BASE,), copyright__license="CC-BY-ND-4.0")]
    )
    checks = run(lineage)
    one(checks, Code.PARENT_FAILED, Status.FAIL)
    one(checks, Code.NO_DERIVATIVES, Status.FAIL)


def test_deep_lineage_is_walked_without_recursion():
    depth = 400
    artifacts = [facts(1, Kind.DATASET, DATA_PUB, copyright__license="CC-BY-NC-4.0")]
    artifacts += [
        ArtifactFacts((n).to_bytes(32, "big"), Kind.MODEL, MODEL_PUB, parents=((n - 1).to_bytes(32, "big"),),
                      claims=dict(CLEAN, **{"copyright.commercial_use": None}))
        for n in range(2, depth + 1)
    ]  # fmt: skip
    artifacts[0] = ArtifactFacts((1).to_bytes(32, "big"), Kind.DATASET, DATA_PUB,
                                 claims=dict(CLEAN, **{"copyright.license": "CC-BY-NC-4.0"}))  # fmt: skip
    lineage = Lineage.build(artifacts[-1], artifacts[:-1])
    check = one(run(lineage), Code.USE_NOT_PERMITTED, Status.FAIL)
    assert len(check.evidence["via"]) == depth


# --- endorsements ----------------------------------------------------------------------


def test_disputed_by_a_trusted_party_fails_by_anyone_else_is_information():
    disputed = Lineage.build(dataset(disputes=(AUDITOR,)))
    check = one(run(disputed, trusted_auditors=[AUDITOR]), Code.DISPUTED, Status.FAIL, CheckName.ENDORSEMENTS)
    assert AUDITOR in check.message
    one(run(disputed, trusted_publishers=[AUDITOR]), Code.DISPUTED, Status.FAIL)  # a trusted publisher's word counts
    info = one(run(disputed), Code.DISPUTED, Status.INFO)
    assert "does not trust" in info.message
    # information weighs nothing: the endorsements line still passes, and --strict has nothing to fail on
    assert problems(run(disputed)) == []
    assert [c.code for c in run(disputed) if c.check is CheckName.ENDORSEMENTS] == [Code.OK, Code.DISPUTED]


def test_an_ancestor_from_an_untrusted_publisher_is_named_with_the_policys_status():
    """CLAIMS.md, second edition: the trust policy applies to ancestors too."""
    lineage = three_generations()
    line = one(run(lineage, trusted_publishers=[MODEL_PUB]), Code.UNTRUSTED_PUBLISHER, Status.FAIL, CheckName.LINEAGE)
    assert short(DATASET) in line.message and DATA_PUB in line.message
    assert line.evidence["publisher"] == DATA_PUB
    warned = only(run(lineage, trusted_publishers=[]), Code.UNTRUSTED_PUBLISHER)
    assert {c.status for c in warned} == {Status.WARN} and len(warned) == 2  # the dataset and the base model
    assert only(run(lineage), Code.UNTRUSTED_PUBLISHER) == []


def test_a_trusted_auditors_dispute_of_an_ancestor_warns():
    lineage = three_generations(data={"disputes": (AUDITOR,)})
    check = one(run(lineage, trusted_auditors=[AUDITOR]), Code.DISPUTED, Status.WARN)
    assert short(DATASET) in check.message
    assert only(run(lineage), Code.DISPUTED) == []  # an untrusted dispute of an ancestor is not counted


def test_required_endorsement():
    policy = {"trusted_auditors": [AUDITOR], "require": {"endorsements": True}}
    missing = Lineage.build(dataset(endorsements=(STRANGER,)))
    check = one(run(missing, **policy), Code.UNTRUSTED_PUBLISHER, Status.FAIL, CheckName.ENDORSEMENTS)
    assert "requires an endorsement by a trusted auditor" in check.message
    endorsed = Lineage.build(dataset(endorsements=(STRANGER, AUDITOR)))
    assert problems(run(endorsed, **policy)) == []
    self_endorsed = Lineage.build(dataset(publisher=AUDITOR, endorsements=(AUDITOR,)))
    one(run(self_endorsed, **policy), Code.UNTRUSTED_PUBLISHER, Status.FAIL)


# --- three generations: a change on the dataset shows on the fine-tune -------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"revoked_at": T0 + 40 * DAY, "revocation_reason": "request 2026-114", "revocation_code": "erasure",
          "erasure": Erasure("revoked", T0 + 40 * DAY, "request 2026-114")}, Code.ERASURE_AFFECTED),
        ({"copyright__license": "CC-BY-NC-4.0", "copyright__commercial_use": False}, Code.USE_NOT_PERMITTED),
        ({"copyright__training_mining__ai_training": "notAllowed"}, Code.TRAINING_NOT_ALLOWED),
        ({"copyright__tdm_reservation": True}, Code.TRAINING_NOT_ALLOWED),
    ],
)
def test_a_change_on_the_dataset_shows_on_the_fine_tune(change, code):
    assert problems(run(three_generations())) == []
    checks = run(three_generations(data=change))
    check = one(checks, code, Status.FAIL)
    assert short(DATASET) in check.message
    assert check.evidence["subject"] == "0x" + sub(TUNE).hex()
    assert check.evidence["ancestor"] == "0x" + sub(DATASET).hex()
    assert Verdict(sub(TUNE), None, checks).overall is Status.FAIL


# --- inputs ---------------------------------------------------------------------------------


def test_lineage_and_facts_are_validated():
    with pytest.raises(LineageError, match="no facts about its root"):
        Lineage(sub(1), {sub(1): None})
    with pytest.raises(LineageError, match="filed under"):
        Lineage(sub(2), {sub(2): dataset(n=1)})
    with pytest.raises(LineageError, match="given twice"):
        Lineage.build(dataset(), [dataset()])
    with pytest.raises(LineageError, match="32 bytes"):
        ArtifactFacts(b"short", Kind.DATASET)
    with pytest.raises(LineageError, match="parent"):
        ArtifactFacts(sub(1), Kind.DATASET, parents=(b"x",))
    with pytest.raises(LineageError, match="kind"):
        ArtifactFacts(sub(1), 7)


def test_claims_may_come_as_whole_sections():
    claims = {
        "copyright": {"training_mining": {"ai_training": "notAllowed"}},
        "privacy.differential_privacy": {"epsilon": 1},
    }
    nested = ArtifactFacts(sub(1), Kind.DATASET, claims=claims)
    assert nested.claim("copyright.training_mining.ai_training") == "notAllowed"
    assert nested.claim("privacy.differential_privacy") == {"epsilon": 1}
    assert nested.claim("copyright.license", "none") == "none" and not nested.discloses("copyright.license")
    with pytest.raises(TypeError):
        nested.claims["x"] = 1  # type: ignore[index]


def test_rule_checks_fit_the_verdict_schema():
    validator = jsonschema.Draft202012Validator(verdict_schema())
    messy = three_generations(
        data={"privacy__personal_data": "present", "privacy__lawful_basis": None, "disputes": (AUDITOR,),
              "copyright__license": "CC-BY-SA-4.0", "revoked_at": T0 + 40 * DAY, "revocation_reason": "erasure",
              "erasure": Erasure("revoked", T0 + 40 * DAY, "erasure")},
        base=dp(9),
        tune={**dp(9), "privacy__personal_data": "unknown", "uri": "https://hub.example/m",
              "privacy__confidentiality": "red", "disputes": (STRANGER,)},
    )  # fmt: skip
    for lineage in (three_generations(), messy):
        checks = run(lineage, trusted_auditors=[AUDITOR])
        validator.validate(Verdict(sub(TUNE), bytes([0x83]) * 32, checks).to_json())


# --- privacy, second edition ---------------------------------------------------------------

PEOPLE = {"privacy__personal_data": "present", "privacy__lawful_basis": "consent"}


def ref(n: int, relation: str = "finetune") -> dict:
    return {"subject": "0x" + sub(n).hex(), "relation": relation}


@pytest.mark.parametrize(
    "breaker",
    [{"privacy__anonymization": ["anonymisation"]}, dp(2)],
)  # fmt: skip
def test_anonymisation_or_dp_on_a_derived_model_does_not_break_its_base_models_edge(breaker):
    # the base model holds personal data; a quantization claiming anonymisation/DP still holds it
    for tune in (
        {**breaker, "lineage__base_models": [ref(BASE, "quantized")]},
        breaker,  # the record's parent is a model: a base, not data it processed
    ):
        lineage = Lineage.build(model(TUNE, [BASE], **tune), [dataset(**PEOPLE), model(BASE, [DATASET], **PEOPLE)])
        conflicts = only(run(lineage), Code.PERSONAL_DATA_CONFLICT)
        assert {c.evidence["ancestor"] for c in conflicts} == {"0x" + sub(BASE).hex(), "0x" + sub(DATASET).hex()}
        assert all(c.status is Status.FAIL for c in conflicts)


def test_anonymisation_breaks_the_trained_on_edges_of_a_model_with_a_base():
    # the tune trains on a personal dataset (anonymised) on top of a clean base: nothing flows
    lineage = Lineage.build(
        model(TUNE, [BASE, EXTRA], privacy__anonymization=["anonymisation"],
              lineage__base_models=[ref(BASE)], lineage__trained_on=["0x" + sub(EXTRA).hex()]),
        [dataset(), model(BASE, [DATASET]), dataset(EXTRA, **PEOPLE)],
    )  # fmt: skip
    assert only(run(lineage), Code.PERSONAL_DATA_CONFLICT) == []
    # distillation: a model listed in trained_on is data the artifact processed
    distilled = Lineage.build(
        model(TUNE, [BASE], privacy__anonymization=["anonymisation"], lineage__trained_on=["0x" + sub(BASE).hex()]),
        [dataset(**PEOPLE), model(BASE, [DATASET], **PEOPLE)],
    )
    assert only(run(distilled), Code.PERSONAL_DATA_CONFLICT) == []


HEALTH = {**PEOPLE, "privacy__special_categories": ["health"],
          "privacy__special_category_condition": "explicit_consent"}  # fmt: skip


def test_special_categories_are_inherited_and_every_holder_needs_its_own_condition():
    lineage = three_generations(data=HEALTH, base=PEOPLE, tune={"privacy__personal_data": "unknown"})
    checks = only(run(lineage), Code.NO_SPECIAL_CATEGORY_CONDITION)
    assert [c.status for c in checks] == [Status.FAIL, Status.FAIL]
    on_tune, on_base = sorted(checks, key=lambda c: "ancestor" in c.evidence)
    assert on_base.evidence["ancestor"] == "0x" + sub(BASE).hex()
    assert "health from " + short(DATASET) in on_base.message and list(on_base.evidence["value"]) == ["health"]
    assert on_tune.evidence.get("ancestor") is None and "health" in on_tune.message
    assert only(run(three_generations(data=HEALTH)), Code.NO_SPECIAL_CATEGORY_CONDITION) == []  # no holder below
    covered = {**PEOPLE, "privacy__special_category_condition": "explicit_consent"}
    assert only(run(three_generations(data=HEALTH, base=covered, tune=covered)),
                Code.NO_SPECIAL_CATEGORY_CONDITION) == []  # fmt: skip
    # anonymisation of the data breaks the personal data and the categories it carries
    anonymised = {**PEOPLE, "privacy__anonymization": ["anonymisation"]}
    assert only(run(three_generations(data=HEALTH, base=anonymised)), Code.NO_SPECIAL_CATEGORY_CONDITION) == []
    # an undisclosed condition of an inheriting holder is unverified, not failed
    hidden = three_generations(data=HEALTH, base=dict(PEOPLE, drop=("privacy.special_category_condition",)))
    check = one(run(hidden), Code.PRIVACY_UNVERIFIED, Status.WARN)
    assert "privacy.special_category_condition" in check.message


def test_a_research_condition_that_reaches_commercial_use_warns():
    research = {**HEALTH, "privacy__special_category_condition": "research"}
    check = one(run(Lineage.build(dataset(**research))), Code.NO_SPECIAL_CATEGORY_CONDITION, Status.WARN)
    assert "research" in check.message and check.evidence["intendedUse"] == "commercial"
    assert only(run(Lineage.build(dataset(**research)), use="research"), Code.NO_SPECIAL_CATEGORY_CONDITION) == []
    inherited = three_generations(data=research, base={**HEALTH, "privacy__special_categories": []})
    check = one(run(inherited), Code.NO_SPECIAL_CATEGORY_CONDITION, Status.WARN)
    assert check.evidence["ancestor"] == "0x" + sub(DATASET).hex()
    cut = three_generations(data=research, base={**PEOPLE, "privacy__anonymization": ["anonymisation"]})
    assert only(run(cut), Code.NO_SPECIAL_CATEGORY_CONDITION) == []  # the research data does not reach it


def test_confidentiality_applies_to_descendants_at_a_public_uri():
    red = three_generations(data={"privacy__confidentiality": "red"}, tune={"uri": "https://hub.example/tune"})
    check = one(run(red), Code.CONFIDENTIALITY_CONFLICT, Status.WARN, CheckName.PRIVACY)
    assert check.evidence["ancestor"] == "0x" + sub(DATASET).hex() and check.evidence["value"] == "red"
    amber = three_generations(base={"privacy__confidentiality": "amber"}, tune={"uri": "ipfs://bafy"})
    one(run(amber), Code.CONFIDENTIALITY_CONFLICT, Status.WARN)
    private = three_generations(data={"privacy__confidentiality": "red"}, tune={"uri": "s3://acme/tune"})
    assert only(run(private), Code.CONFIDENTIALITY_CONFLICT) == []
    green = three_generations(data={"privacy__confidentiality": "green"}, tune={"uri": "https://hub.example/tune"})
    assert only(run(green), Code.CONFIDENTIALITY_CONFLICT) == []


def test_absent_personal_data_with_special_categories_is_a_contradiction():
    lineage = Lineage.build(dataset(privacy__special_categories=["health", "genetic"]))
    check = one(run(lineage), Code.PERSONAL_DATA_CONFLICT, Status.WARN, CheckName.PRIVACY)
    assert "contradicts" in check.message and list(check.evidence["value"]) == ["health", "genetic"]
    ancestor = one(run(three_generations(data={"privacy__special_categories": ["health"]})),
                   Code.PERSONAL_DATA_CONFLICT, Status.WARN)  # fmt: skip
    assert ancestor.evidence["ancestor"] == "0x" + sub(DATASET).hex()


def test_second_edition_privacy_checks_fit_the_verdict_schema():
    validator = jsonschema.Draft202012Validator(verdict_schema())
    lineage = three_generations(
        data={**HEALTH, "privacy__special_category_condition": "research", "privacy__confidentiality": "red"},
        base=PEOPLE, tune={"privacy__personal_data": "unknown", "uri": "https://hub.example/m"},
    )
    checks = run(lineage)
    assert {Code.NO_SPECIAL_CATEGORY_CONDITION, Code.CONFIDENTIALITY_CONFLICT} <= {c.code for c in checks}
    validator.validate(Verdict(sub(TUNE), bytes([0x83]) * 32, checks).to_json())


# --- second edition: attribution, vocabulary, limits ---------------------------------------------


def test_attribution_of_every_ancestor_license_that_requires_it_reaches_the_copyright_evidence():
    credited = {"copyright__holders": ["Acme Data Ltd"], "copyright__attribution": "Data (c) Acme, CC-BY-4.0"}
    lineage = three_generations(data=credited, base={"copyright__license": "CC0-1.0"})
    checks = run(lineage)
    assert problems(checks) == []
    line = next(c for c in checks if c.check is CheckName.COPYRIGHT)
    assert [dict(a) for a in line.evidence["attribution"]] == [{
        "subject": "0x" + sub(DATASET).hex(), "license": "CC-BY-4.0",
        "holders": ("Acme Data Ltd",), "text": "Data (c) Acme, CC-BY-4.0",
    }]  # CC0 asks no credit; the dataset's CC BY reaches the trained model
    undisclosed = next(c for c in run(three_generations()) if c.check is CheckName.COPYRIGHT)
    assert [(a["license"], a["holders"], a["text"]) for a in undisclosed.evidence["attribution"]] == [
        ("CC-BY-4.0", None, None), ("CC-BY-4.0", None, None)]  # fmt: skip
    warned = run(three_generations(data={**credited, "copyright__license": "unknown"},
                                   base={"copyright__license": "MIT"}))
    assert all("attribution" in c.evidence for c in warned if c.check is CheckName.COPYRIGHT)
    validator = jsonschema.Draft202012Validator(verdict_schema())
    validator.validate(Verdict(sub(TUNE), bytes([0x83]) * 32, checks).to_json())


def test_no_attribution_evidence_without_an_ancestor_that_asks_for_credit():
    lineage = three_generations(data={"copyright__license": "CC0-1.0"}, base={"copyright__license": "CC0-1.0"})
    assert all("attribution" not in c.evidence for c in run(lineage))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("copyright__tdm_reservation", "true"),
        ("copyright__training_mining__ai_training", "not_allowed"),
        ("copyright__training_mining__ai_generative_training", "yes"),
    ],
)
def test_a_disclosed_value_outside_the_vocabulary_counts_as_undisclosed_and_is_said(field, value):
    lineage = three_generations(data={field: value})
    data = lineage.artifacts[sub(DATASET)]
    name = field.replace("__", ".")
    assert data is not None and not data.discloses(name) and data.invalid_claims == {name: value}
    checks = run(lineage)
    said = [c for c in only(checks, Code.LICENSE_UNSPECIFIED) if "is not valid vocabulary" in c.message]
    assert said and all(c.status is Status.WARN for c in said)
    assert any("treated as undisclosed" in c.message and c.evidence.get("field") == name for c in said)
    assert Verdict(sub(TUNE), None, checks).overall is not Status.PASS  # never "allowed"
    strict = run(lineage, require={"license": True})
    assert {c.status for c in only(strict, Code.LICENSE_UNSPECIFIED)} == {Status.FAIL}


def test_an_invalid_ai_training_value_is_not_explicitly_allowed_for_a_data_mining_opt_out():
    lineage = three_generations(data={"copyright__training_mining__ai_training": "Allowed",
                                      "copyright__training_mining__data_mining": "notAllowed"})
    one(run(lineage), Code.OPT_OUT_VIOLATION, Status.FAIL)


def test_an_invalid_privacy_value_is_said_in_the_privacy_check():
    checks = run(three_generations(data={"privacy__personal_data": "none", "privacy__confidentiality": "secret"}))
    said = [c for c in checks if c.check is CheckName.PRIVACY and "is not valid vocabulary" in c.message]
    assert {c.evidence["field"] for c in said} == {"privacy.personal_data", "privacy.confidentiality"}
    assert all(c.code is Code.PRIVACY_UNVERIFIED and c.status is Status.WARN for c in said)
    assert not any(c.check is CheckName.PRIVACY and c.code is Code.OK for c in checks)


def test_valid_vocabulary_and_nulls_are_not_flagged():
    lineage = three_generations(data={"copyright__training_mining__ai_training": None,
                                      "copyright__commercial_use": None, "privacy__special_categories": ["health"],
                                      "privacy__personal_data": "present", "privacy__lawful_basis": "consent"})
    assert all(not f.invalid_claims for f in lineage.artifacts.values() if f is not None)
    whole = dataset(copyright__training_mining={"ai_training": "nope", "data_mining": "allowed"}, drop=(
        "copyright.training_mining.ai_training", "copyright.training_mining.data_mining"))
    assert dict(whole.invalid_claims) == {"copyright.training_mining.ai_training": "nope"}  # a section as one map
    assert whole.claim("copyright.training_mining.data_mining") == "allowed"


def test_a_lineage_cut_by_a_limit_is_unverifiable_and_names_what_was_not_checked():
    lineage = Lineage.build(model(TUNE, [BASE, EXTRA]), [dataset(n=EXTRA)], unchecked=[sub(BASE)], limit=2)
    checks = run(lineage)
    check = one(checks, Code.PARENT_UNKNOWN, Status.UNVERIFIABLE, CheckName.LINEAGE)
    assert "stopped at its limit of 2 artifacts" in check.message and "1 parent(s) were not checked" in check.message
    assert short(BASE) in check.message and "not registered" not in check.message
    assert list(check.evidence["unchecked"]) == ["0x" + sub(BASE).hex()] and check.evidence["limit"] == 2
    verdict = Verdict(sub(TUNE), None, checks)
    assert verdict.overall is not Status.PASS and verdict.exit_code() == 2  # could not verify
    with pytest.raises(LineageError):
        Lineage.build(model(TUNE, [EXTRA]), [dataset(n=EXTRA)], unchecked=[sub(EXTRA)])


def test_an_ancestor_whose_statement_could_not_be_obtained_is_said_so():
    lineage = Lineage.build(
        model(TUNE, [BASE]),
        [model(BASE, [DATASET]), dataset(drop=tuple(CLEAN), statement_missing=True)],
    )
    checks = run(lineage)
    lines = [c for c in checks if "could not be obtained" in c.message]
    assert {c.check for c in lines} >= {CheckName.LINEAGE, CheckName.COPYRIGHT}
    assert all(short(DATASET) in c.message for c in lines)
    assert not any("not disclosed" in c.message or "does not disclose" in c.message
                   for c in checks if c.check in (CheckName.COPYRIGHT, CheckName.LINEAGE))
    lineage_line = one(checks, Code.PARENT_UNKNOWN, Status.WARN, CheckName.LINEAGE)
    assert lineage_line.evidence["statementMissing"] is True


def test_pinned_lineage_entries_are_read_like_plain_subjects():
    """Pins ({subject, record}, committed under claimsRoot) name the same parents; pins() gives the records."""
    record = b"\x77" * 32
    pinned = [{"subject": "0x" + sub(DATASET).hex(), "record": "0x" + record.hex()}]
    lineage = Lineage.build(
        model(BASE, [DATASET], lineage__trained_on=pinned),
        [dataset(copyright__license="CC-BY-NC-4.0", copyright__commercial_use=False)],
    )
    root = lineage.root_facts
    assert root.derived_from() == (sub(DATASET),) and root.pins() == {sub(DATASET): record}
    # trained on it (the NC terms reach a trained model), as with a plain subject
    one(run(lineage), Code.USE_NOT_PERMITTED, Status.FAIL)
    twice = [*pinned, {"subject": "0x" + sub(DATASET).hex(), "record": "0x" + (b"\x78" * 32).hex()}]
    assert model(BASE, [DATASET], lineage__trained_on=twice).pins() == {}  # pinned twice, differently: no pin

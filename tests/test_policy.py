"""The trust policy file: defaults, strict loading, errors that name the path, overrides."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from provenance.errors import ProvenanceError
from provenance.licenses import UseClass
from provenance.policy import DEFAULT_DELTA_MAX, DEFAULT_EPSILON_MAX, INTENDED_USES, Policy, PolicyError
from provenance.verdict import Code, Status

ROOT = Path(__file__).resolve().parent.parent
POLICIES = Path(__file__).resolve().parent / "data" / "policies"
PUBLISHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
AUDITOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_default_is_the_safer_policy():
    policy = Policy.default()
    assert policy.use == "commercial"
    assert policy.trusted_publishers == () and policy.trusted_auditors == ()
    assert policy.confirmations == 1
    assert not any(policy.to_dict()["require"].values())
    assert policy.differential_privacy.epsilon_max == DEFAULT_EPSILON_MAX
    assert policy.differential_privacy.delta_max == DEFAULT_DELTA_MAX
    assert policy.permitted_use_classes == {UseClass.COMMERCIAL, UseClass.UNSPECIFIED}
    # nobody can be trusted without a list, so an unknown publisher only warns
    assert policy.status_of(Code.UNTRUSTED_PUBLISHER) is Status.WARN


def test_intended_uses_and_their_permitted_classes():
    assert INTENDED_USES == ("commercial", "non-commercial", "research")
    policy = Policy.default()
    assert UseClass.ACADEMIC_ONLY not in policy.with_use("non-commercial").permitted_use_classes
    assert UseClass.NON_COMMERCIAL in policy.with_use("non-commercial").permitted_use_classes
    assert policy.with_use("research").permitted_use_classes == set(UseClass)


def test_strict_file_loads_every_field():
    policy = Policy.from_file(POLICIES / "strict.yaml")
    assert policy.trusted_publishers == (PUBLISHER,)  # checksummed
    assert policy.trusted_auditors == (AUDITOR,)
    assert policy.confirmations == 12
    assert policy.differential_privacy.epsilon_max == 3.0
    assert policy.differential_privacy.delta_max is None
    for code in (Code.UNTRUSTED_PUBLISHER, Code.NOT_ANCHORED, Code.UNCONFIRMED, Code.PRIVACY_UNVERIFIED,
                 Code.LICENSE_UNSPECIFIED, Code.PARENT_UNKNOWN):
        assert policy.status_of(code) is Status.FAIL, code


def test_example_policy_loads():
    policy = Policy.from_file(ROOT / "examples" / "policy.yaml")
    assert policy.use == "commercial"
    assert policy.require.privacy and policy.require.license
    assert policy.is_trusted_publisher(PUBLISHER.lower())
    assert policy.is_trusted_auditor(AUDITOR.upper().replace("0X", "0x"))
    assert not policy.is_trusted_auditor(PUBLISHER)
    assert not policy.is_trusted_publisher(None)


def test_empty_file_is_the_default():
    assert Policy.from_file(POLICIES / "empty.yaml") == Policy.default()
    assert Policy.from_file(POLICIES / "research.yaml").use == "research"


def test_untrusted_publisher_follows_the_list_unless_set():
    listed = Policy.from_mapping({"trusted_publishers": [PUBLISHER]})
    assert listed.status_of(Code.UNTRUSTED_PUBLISHER) is Status.FAIL
    relaxed = Policy.from_mapping({"trusted_publishers": [PUBLISHER], "untrusted_publisher": "warn"})
    assert relaxed.status_of(Code.UNTRUSTED_PUBLISHER) is Status.WARN
    assert Policy.from_mapping({"untrusted_publisher": "fail"}).status_of("UNTRUSTED_PUBLISHER") is Status.FAIL


def test_status_of_refuses_codes_the_policy_does_not_set():
    with pytest.raises(ValueError):
        Policy.default().status_of(Code.TAMPERED)


def test_unknown_key_names_the_path_and_the_accepted_keys():
    with pytest.raises(PolicyError) as caught:
        Policy.from_file(POLICIES / "unknown_key.yaml")
    text = str(caught.value)
    assert "unknown_key.yaml" in text
    assert "require.endorsement: unknown key" in text
    assert "endorsements, privacy, anchoring, license, parents" in text
    assert caught.value.exit_code == 2 and isinstance(caught.value, ProvenanceError)


def test_top_level_unknown_key_and_several_problems_at_once():
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping({"trusted_publisher": [PUBLISHER], "use": "fun", "confirmations": -1})
    text = str(caught.value)
    assert "3 problems" in text
    assert "trusted_publisher: unknown key; accepted keys here: version, use, trusted_publishers" in text
    assert 'use: "fun" is not accepted; accepted: one of commercial, non-commercial, research' in text
    assert "confirmations: -1 is not accepted" in text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"trusted_auditors": ["0x1234"]}, "trusted_auditors[0]: '0x1234' is not an address"),
        ({"trusted_publishers": [PUBLISHER, PUBLISHER.lower()]}, "is listed more than once"),
        ({"confirmations": True}, "confirmations: true is not accepted"),
        ({"confirmations": 1.5}, "confirmations: 1.5 is not accepted"),
        ({"require": {"privacy": "yes"}}, 'require.privacy: "yes" is not accepted; accepted: true or false'),
        ({"differential_privacy": {"epsilon_max": 0}}, "differential_privacy.epsilon_max: 0 is not accepted"),
        ({"differential_privacy": {"delta_max": 1}}, "differential_privacy.delta_max: 1 is not accepted"),
        ({"untrusted_publisher": "maybe"}, 'untrusted_publisher: "maybe" is not accepted; accepted: fail, warn'),
        ({"version": 2}, "version: 2 is not accepted; accepted: 1"),
        ({"require": []}, "require: [] is not accepted; accepted: a mapping of endorsements"),
    ],
)
def test_bad_values_are_refused_with_path_and_accepted_values(data, expected):
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping(data)
    assert expected in str(caught.value)


def test_top_level_must_be_a_mapping():
    with pytest.raises(PolicyError, match="top level must be a mapping"):
        Policy.from_mapping(["use", "research"])


def test_yaml_12_scalars_and_duplicate_keys(tmp_path):
    with pytest.raises(PolicyError, match='use: "no" is not accepted'):
        Policy.from_file(POLICIES / "yaml11_scalars.yaml")
    with pytest.raises(PolicyError, match="the key 'use' is given twice"):
        Policy.from_file(POLICIES / "duplicate_key.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("use: [commercial\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        Policy.from_file(broken)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(PolicyError) as caught:
        Policy.from_file(tmp_path / "nope.yaml")
    assert "does not exist" in str(caught.value)
    assert "--policy" in caught.value.hint


def test_json_files_load_too(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(f'{{"use": "non-commercial", "trusted_auditors": ["{AUDITOR.lower()}"]}}')
    policy = Policy.from_file(path)
    assert policy.use == "non-commercial" and policy.trusted_auditors == (AUDITOR,)


def test_with_use_overrides_and_validates():
    policy = Policy.from_file(POLICIES / "strict.yaml")
    research = policy.with_use("research")
    assert research.use == "research" and policy.use == "commercial"
    assert research.trusted_publishers == policy.trusted_publishers
    with pytest.raises(PolicyError, match="accepted: commercial, non-commercial, research"):
        policy.with_use("personal")


def test_policy_is_frozen_and_round_trips():
    policy = Policy.from_file(POLICIES / "strict.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.use = "research"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.require.privacy = False  # type: ignore[misc]
    assert Policy.from_mapping(policy.to_dict()) == policy


# --- evaluations (issue 16) ----------------------------------------------------

EVALUATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def test_required_evaluations_load_with_defaults_and_trusted_evaluators():
    policy = Policy.from_mapping({
        "trusted_evaluators": [EVALUATOR.lower()],
        "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "min": 0.8, "category": "safety"},
            {"task": "bbq", "metric": "bias", "max": 0.1, "by": [AUDITOR]},
            {"task": "mmlu", "metric": "acc", "min": 1, "max": 1},  # an integer bound is a number
        ]},
    })
    assert policy.trusted_evaluators == (EVALUATOR,)
    assert policy.is_trusted_evaluator(EVALUATOR.lower()) and not policy.is_trusted_evaluator(AUDITOR)
    toxigen, bbq, mmlu = policy.require.evaluations
    assert (toxigen.task, toxigen.metric, toxigen.min, toxigen.max, toxigen.category) == (
        "toxigen", "acc", 0.8, None, "safety")
    assert policy.evaluators_for(toxigen) == (EVALUATOR,)  # by left out: the trusted evaluators
    assert policy.evaluators_for(bbq) == (AUDITOR,)  # by given: only those, trusted or not
    assert toxigen.bounds_text() == ">= 0.8" and bbq.bounds_text() == "<= 0.1" and mmlu.bounds_text() == "in [1, 1]"
    assert toxigen.admits(0.8) and not toxigen.admits(0.79) and bbq.admits(0.05) and not bbq.admits(0.2)
    assert Policy.from_mapping(policy.to_dict()) == policy
    assert Policy.default().require.evaluations == () and Policy.default().trusted_evaluators == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # nobody could ever meet it: refused at load, not failed at every verification
        ({"require": {"evaluations": [{"task": "toxigen", "metric": "acc", "min": 0.8}]}},
         "require.evaluations[0].by: nobody can satisfy this requirement: by is not given and trusted_evaluators "
         "is empty"),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "by": []}]}},
         "require.evaluations[0].by: nobody can satisfy this requirement"),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "min": 0.9, "max": 0.8}]}},
         "require.evaluations[0]: min 0.9 is above max 0.8: no value can meet it"),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "category": "safe"}]}},
         'require.evaluations[0].category: "safe" is not accepted; accepted: one of capability, safety, bias, '
         "privacy, other"),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "minimum": 0.8}]}},
         "require.evaluations[0].minimum: unknown key; accepted keys here: task, metric, min, max, category, by"),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [{"task": "", "metric": "acc"}]}},
         'require.evaluations[0].task: "" is not accepted; accepted: a non-empty text'),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [{"task": "toxigen"}]}},
         "require.evaluations[0].metric"),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "min": "0.8"}]}},
         'require.evaluations[0].min: "0.8" is not accepted; accepted: a number, or null'),
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "by": ["0x12"]}]}},
         "require.evaluations[0].by[0]: '0x12' is not an address"),
        ({"trusted_evaluators": ["nobody"]}, "trusted_evaluators[0]: 'nobody' is not an address"),
        ({"require": {"evaluations": {"task": "toxigen"}}},
         "require.evaluations: {\"task\": \"toxigen\"} is not accepted; accepted: a list of mappings"),
        # a number no float holds is refused like any other value, not an OverflowError
        ({"trusted_evaluators": [EVALUATOR], "require": {"evaluations": [
            {"task": "toxigen", "metric": "acc", "min": 10**400}]}},
         "000... is not accepted; accepted: a number, or null (no bound)"),
        ({"differential_privacy": {"epsilon_max": -(10**400)}}, "differential_privacy.epsilon_max: -10000"),
    ],
)
def test_bad_evaluation_requirements_are_refused_with_their_path(data, expected):
    with pytest.raises(PolicyError) as caught:
        Policy.from_mapping(data)
    assert expected in str(caught.value)


# --- the JSON schema (the service's OpenAPI document shows it) ---------------------


@pytest.mark.parametrize("name", ["empty.yaml", "research.yaml", "strict.yaml"])
def test_the_schema_accepts_what_the_policy_reads_and_its_defaults(name):
    import jsonschema

    schema = Policy.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    policy = Policy.from_file(POLICIES / name)
    jsonschema.validate(policy.to_dict(), schema)
    defaults = {key: spec["default"] for key, spec in schema["properties"].items()}
    assert Policy.from_mapping(defaults) == Policy.default()


@pytest.mark.parametrize(
    "data",
    [
        {"trusted_publisher": [PUBLISHER]},
        {"use": "fun"},
        {"version": 2},
        {"version": True},
        {"confirmations": -1},
        {"confirmations": 1.5},
        {"confirmations": True},
        {"trusted_auditors": ["0x1234"]},
        {"trusted_auditors": PUBLISHER},
        {"untrusted_publisher": "maybe"},
        {"require": []},
        {"require": {"privacy": "yes"}},
        {"require": {"evaluations": {"task": "toxigen"}}},
        {"require": {"evaluations": [{"task": "toxigen"}]}},
        {"require": {"evaluations": [{"task": "", "metric": "acc", "by": [PUBLISHER]}]}},
        {"require": {"evaluations": [{"task": "t", "metric": "m", "min": "0.8", "by": [PUBLISHER]}]}},
        {"require": {"evaluations": [{"task": "t", "metric": "m", "category": "safe", "by": [PUBLISHER]}]}},
        {"differential_privacy": {"epsilon_max": 0}},
        {"differential_privacy": {"delta_max": 1}},
        {"differential_privacy": {"delta": 0.1}},
    ],
)
def test_the_schema_refuses_what_the_policy_refuses(data):
    import jsonschema

    with pytest.raises(PolicyError):
        Policy.from_mapping(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, Policy.json_schema())

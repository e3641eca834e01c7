"""provenance.claims: loading claims files strictly, with errors that name the field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from provenance.claims import (
    CLAIM_FIELDS,
    CLAIM_SECTIONS,
    Claims,
    differential_privacy_problems,
    resolve_fields,
)
from provenance.errors import ClaimsError, ProvenanceError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "claims"
EXAMPLES = ROOT / "examples" / "claims"
SUBJECT_A = "0x" + "11" * 32
SUBJECT_B = "0x" + "ab" * 32


def refused(data: dict) -> str:
    """The message of the ClaimsError that from_mapping raises for ``data``."""
    with pytest.raises(ClaimsError) as info:
        Claims.from_mapping(data)
    return str(info.value)


# --- good files ----------------------------------------------------------------


def test_dataset_example_has_personal_data_on_consent_under_cc_by():
    claims = Claims.from_file(EXAMPLES / "dataset.yaml")
    assert claims.kind == "dataset"
    assert claims.copyright.license == "CC-BY-4.0"
    assert claims.privacy.personal_data == "present"
    assert claims.privacy.lawful_basis == "consent"
    assert "privacy.personal_data" in claims.disclose


def test_model_example_is_apache_with_no_parents_yet():
    claims = Claims.from_file(EXAMPLES / "model.yaml")
    assert claims.kind == "model"
    assert claims.copyright.license == "Apache-2.0"
    assert claims.copyright.commercial_use is True
    assert claims.lineage.trained_on == ()
    assert claims.parents() == ()


def test_full_yaml_file_is_normalised():
    claims = Claims.from_file(DATA / "dataset.yaml")
    assert claims.copyright.license == "CC-BY-4.0"  # written cc-by-4.0
    assert claims.copyright.holders == ("Acme Corp", "Jürgen Müller")
    assert claims.copyright.training_mining.ai_generative_training == "constrained"
    assert claims.privacy.special_categories == ("health",)
    assert claims.privacy.special_category_condition == "explicit_consent"
    assert claims.privacy.retention_until == date(2030, 12, 31)


def test_yaml_is_read_as_yaml_1_2():
    """NO stays Norway, 1e-6 is a number, dates stay text until the model parses them."""
    assert Claims.from_file(DATA / "dataset.yaml").privacy.jurisdictions == ("EU", "NO", "US-CA")
    dp = Claims.from_file(DATA / "dp_yaml12.yaml").privacy.differential_privacy
    assert (dp.epsilon, dp.delta, dp.unit) == (8.0, 1e-6, "record")


def test_yaml_anchors_and_merge_keys_work(tmp_path):
    path = tmp_path / "claims.yml"
    path.write_text(
        "kind: model\n"
        "copyright:\n"
        "  training_mining:\n"
        "    <<: {ai_training: allowed, data_mining: allowed}\n"
        "    ai_training: notAllowed\n"
        f"lineage:\n  trained_on: &data ['{SUBJECT_A}']\n  tested_on: *data\n",
        encoding="utf-8",
    )
    claims = Claims.from_file(path)
    assert claims.copyright.training_mining.ai_training == "notAllowed"
    assert claims.copyright.training_mining.data_mining == "allowed"
    assert claims.lineage.tested_on == (SUBJECT_A,)


def test_json_file_with_lineage():
    claims = Claims.from_file(DATA / "model.json")
    assert claims.privacy.differential_privacy.epsilon == 3.0
    assert claims.lineage.base_models[0].subject == SUBJECT_B  # stored in lower case
    assert claims.lineage.base_models[0].relation == "finetune"


def test_parents_are_training_data_and_base_models_not_test_sets():
    claims = Claims.from_file(DATA / "model.json")
    assert claims.parents() == (bytes.fromhex("11" * 32), bytes.fromhex("ab" * 32))
    assert bytes.fromhex("33" * 32) not in claims.parents()  # tested_on


def test_parents_are_sorted_and_unique():
    claims = Claims.from_mapping(
        {
            "kind": "model",
            "lineage": {
                "trained_on": [SUBJECT_B, SUBJECT_A],
                "base_models": [{"subject": SUBJECT_A, "relation": "adapter"}],
            },
        }
    )
    assert claims.parents() == (bytes.fromhex("11" * 32), bytes.fromhex("ab" * 32))


# --- pinned parents ---------------------------------------------------------------

RECORD_1 = "0x" + "c1" * 32
RECORD_2 = "0x" + "c2" * 32


def test_lineage_entries_may_pin_the_parent_record_and_plain_subjects_still_read():
    claims = Claims.from_mapping(
        {
            "kind": "model",
            "lineage": {
                "trained_on": [SUBJECT_B.upper().replace("0X", "0x"), {"subject": SUBJECT_A, "record": RECORD_1.upper()
                               .replace("0X", "0x")}],
                "base_models": [{"subject": SUBJECT_B, "relation": "finetune", "record": RECORD_2},
                                {"subject": "0x" + "33" * 32, "relation": "adapter"}],
            },
        }
    )
    values = claims.field_values()
    # the form as written, lower-case hex: what is committed and disclosed
    assert values["lineage.trained_on"] == [SUBJECT_B, {"subject": SUBJECT_A, "record": RECORD_1}]
    assert values["lineage.base_models"] == [
        {"subject": SUBJECT_B, "relation": "finetune", "record": RECORD_2},
        {"subject": "0x" + "33" * 32, "relation": "adapter"},  # no record: as older files committed it
    ]
    assert claims.parents() == tuple(bytes.fromhex(s[2:]) for s in (SUBJECT_A, "0x" + "33" * 32, SUBJECT_B))
    assert claims.pins() == {bytes.fromhex("11" * 32): bytes.fromhex("c1" * 32),
                             bytes.fromhex("ab" * 32): bytes.fromhex("c2" * 32)}
    assert claims.unpinned() == (bytes.fromhex("33" * 32),)
    assert claims.lineage.trained_on[0].record is None and claims.lineage.trained_on[1].record == RECORD_1
    assert Claims.from_mapping(claims.model_dump(mode="json")) == claims  # what it dumps reads back the same


def test_malformed_pins_are_refused_naming_the_entry():
    message = refused(
        {
            "kind": "model",
            "lineage": {
                "trained_on": [{"subject": SUBJECT_A}, {"subject": SUBJECT_B, "record": "0x12"},
                               {"subject": "0x" + "33" * 32, "record": None}, 7,
                               {"subject": "0x" + "44" * 32, "record": RECORD_1, "relation": "finetune"}],
                "base_models": [{"subject": SUBJECT_A, "relation": "merge", "record": "c1" * 32}],
            },
        }
    )
    assert "6 problems" in message
    for part in (
        "lineage.trained_on[0].record: missing; accepted: the id of a record of that subject: 0x followed by 64",
        "lineage.trained_on[1].record: '0x12' is not a record id; accepted:",
        "lineage.trained_on[2]: record null pins no record; write the plain subject instead",
        "lineage.trained_on[3]: 7 is not accepted; accepted: a list of artifact subjects, each 0x followed by 64 "
        "hex digits, or pinned to a record: {subject: 0x + 64 hex digits, record: its record id",
        "lineage.trained_on[4].relation: unknown key; accepted keys here: subject, record",
        "lineage.base_models[0].record: '" + "c1" * 32 + "' is not a record id",
    ):
        assert part in message, (part, message)


def test_a_parent_is_listed_once_per_list_and_pinned_to_one_record():
    message = refused({"kind": "model", "lineage": {"trained_on": [SUBJECT_A, {"subject": SUBJECT_A,
                                                                              "record": RECORD_1}]}})
    assert "lineage.trained_on: '" + SUBJECT_A + "' is listed more than once" in message
    message = refused(
        {
            "kind": "model",
            "lineage": {
                "trained_on": [{"subject": SUBJECT_A, "record": RECORD_1}],
                "base_models": [{"subject": SUBJECT_A, "relation": "merge", "record": RECORD_2}],
            },
        }
    )
    assert (f"lineage.base_models[0].record: {RECORD_2} while lineage.trained_on[0] pins {RECORD_1} for the same "
            f"subject {SUBJECT_A}; accepted: one record per parent") in message
    # the same record in both lists, or the record in one list only, is one pin
    for base in ({"record": RECORD_1}, {}):
        claims = Claims.from_mapping({"kind": "model", "lineage": {
            "trained_on": [{"subject": SUBJECT_A, "record": RECORD_1}],
            "base_models": [{"subject": SUBJECT_A, "relation": "merge", **base}]}})
        assert claims.pins() == {bytes.fromhex("11" * 32): bytes.fromhex("c1" * 32)}


def test_with_pins_pins_every_entry_of_a_subject_and_nothing_else():
    claims = Claims.from_mapping({"kind": "model", "lineage": {
        "trained_on": [SUBJECT_A, SUBJECT_B], "tested_on": [SUBJECT_A],
        "base_models": [{"subject": SUBJECT_A, "relation": "finetune"}]}, "disclose": ["copyright"]})
    pinned = claims.with_pins({bytes.fromhex("11" * 32): bytes.fromhex("c1" * 32)})
    values = pinned.field_values()
    assert values["lineage.trained_on"] == [{"subject": SUBJECT_A, "record": RECORD_1}, SUBJECT_B]
    assert values["lineage.base_models"] == [{"subject": SUBJECT_A, "relation": "finetune", "record": RECORD_1}]
    assert values["lineage.tested_on"] == [SUBJECT_A]  # a test set is no parent: never pinned
    assert pinned.disclose == claims.disclose and claims.pins() == {}  # the original is unchanged
    assert pinned.with_pins(pinned.pins()) == pinned
    with pytest.raises(ClaimsError, match="to another record than the one these claims pin"):
        pinned.with_pins({bytes.fromhex("11" * 32): bytes.fromhex("c2" * 32)})
    with pytest.raises(ClaimsError, match="not a parent"):
        claims.with_pins({bytes.fromhex("33" * 32): bytes.fromhex("c2" * 32)})


def test_omitted_sections_take_documented_defaults():
    claims = Claims.from_file(DATA / "minimal.yaml")
    assert claims.kind == "other"
    assert claims.copyright.license is None
    assert claims.copyright.tdm_reservation is False
    assert claims.privacy.personal_data == "unknown"
    assert claims.privacy.confidentiality == "clear"
    assert claims.lineage.trained_on == ()
    assert claims.disclose == ()  # nothing is published unless asked for


def test_license_ref_is_accepted_without_url():
    claims = Claims.from_file(DATA / "dp_yaml12.yaml")
    assert claims.copyright.license == "LicenseRef-acme-eula"
    assert claims.copyright.license_url is None


@pytest.mark.parametrize(
    "given, stored",
    [
        ("apache-2.0 or mit", "Apache-2.0 OR MIT"),
        ("GPL-3.0", "GPL-3.0-only"),
        ("MIT OR Apache-2.0 AND CC0-1.0", "MIT OR (Apache-2.0 AND CC0-1.0)"),
        ("LicenseRef-Apache", "LicenseRef-Apache"),  # a publisher's own ref is never aliased
        ("Llama3.1", "llama3.1"),
        ("openrail++", "openrail++"),
    ],
)
def test_license_expressions_are_normalised(given, stored):
    assert Claims.from_mapping({"kind": "model", "copyright": {"license": given}}).copyright.license == stored


@pytest.mark.parametrize(
    "hf_id",
    ["openrail", "creativeml-openrail-m", "llama2", "llama3", "llama3.3", "llama4", "gemma", "other", "unknown"],
)
def test_hugging_face_ids_are_accepted(hf_id):
    assert Claims.from_mapping({"kind": "model", "copyright": {"license": hf_id}}).copyright.license == hf_id


def test_python_dates_are_accepted_from_mapping():
    claims = Claims.from_mapping({"kind": "dataset", "privacy": {"retention_until": date(2031, 1, 1)}})
    assert claims.privacy.retention_until == date(2031, 1, 1)


def test_claims_are_immutable():
    claims = Claims.from_file(DATA / "dataset.yaml")
    with pytest.raises(ValidationError):
        claims.kind = "model"
    with pytest.raises(ValidationError):
        claims.privacy.personal_data = "absent"
    assert isinstance(claims.copyright.holders, tuple)


def test_field_values_are_json_in_schema_order():
    values = Claims.from_file(DATA / "dataset.yaml").field_values()
    assert tuple(values) == CLAIM_FIELDS
    assert values["copyright.license"] == "CC-BY-4.0"
    assert values["privacy.retention_until"] == "2030-12-31"
    assert values["copyright.holders"] == ["Acme Corp", "Jürgen Müller"]
    json.dumps(values)


# --- refused files -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bad_syntax.yaml", ["not valid YAML", "line 4"]),
        ("bad_syntax.json", ["not valid JSON", "line 3"]),
        ("duplicate_key.yaml", ["'license' is given twice", "line 4"]),
        ("duplicate_key.json", ["'kind' is given twice"]),
        ("top_level_list.yaml", ["top level must be a mapping", "got list"]),
        ("empty.yaml", ["top level must be a mapping", "got nothing"]),
        ("not_utf8.yaml", ["is not UTF-8 text"]),
        (
            "unknown_keys.yaml",
            [
                "3 problems",
                "copyright.licence: unknown key; accepted keys here: license, license_url,",
                "privacy.pii: unknown key; accepted keys here: personal_data,",
                "lineage.base_models[0].note: unknown key; accepted keys here: subject, relation",
            ],
        ),
        (
            "bad_license.yaml",
            [
                "copyright.license: 'Apache 2.0 OR MIT'",
                "accepted: an SPDX license expression such as Apache-2.0 OR MIT",
            ],
        ),
        (
            "dp_without_epsilon.yaml",
            ["1 problem:", "privacy.differential_privacy.epsilon: missing; accepted: a number > 0"],
        ),
        (
            "special_without_personal.yaml",
            ["privacy.special_categories: listed while privacy.personal_data is absent", "accepted: an empty list"],
        ),
        (
            "bad_subjects.yaml",
            [
                "lineage.trained_on[0]: '0x1234' is not a subject",
                "lineage.trained_on[1]:",
                "accepted: a list of artifact subjects, each 0x followed by 64 hex digits",
                'lineage.base_models[0].relation: "distill" is not accepted; '
                "accepted: one of finetune, adapter, quantized, merge",
            ],
        ),
        (
            "bad_disclose.yaml",
            ["disclose[1]: 'privacy.personal_date' is not a claim section or field", "privacy.personal_data"],
        ),
        (
            "wrong_types.yaml",
            [
                "6 problems",
                'version: 1.0 is not accepted; accepted: a string such as "1.0" (quote numbers in YAML)',
                'copyright.holders: "Acme Corp" is not accepted; accepted: a list of names',
                'copyright.commercial_use: "yes" is not accepted; accepted: true, false or null',
                'copyright.tdm_reservation: "false" is not accepted; accepted: true or false',
                "privacy.personal_data: \"maybe\" is not accepted; accepted: one of absent, present, unknown",
                "privacy.retention_until: \"31/12/2030\" is not accepted; accepted: an ISO date",
            ],
        ),
    ],
)
def test_bad_files_are_refused_naming_file_field_and_what_is_accepted(name, expected):
    with pytest.raises(ClaimsError) as info:
        Claims.from_file(DATA / name)
    message = str(info.value)
    assert f"claims file {DATA / name}" in message
    for part in expected:
        assert part in message


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ProvenanceError) as info:
        Claims.from_file(tmp_path / "nope.yaml")
    assert isinstance(info.value, ClaimsError)
    assert f"claims file {tmp_path / 'nope.yaml'} does not exist" in str(info.value)
    assert info.value.hint


def test_missing_kind_lists_the_kinds():
    assert "kind: missing; accepted: one of model, dataset, other" in refused({"name": "x"})


def test_unknown_top_level_key_lists_the_sections():
    message = refused({"kind": "model", "licence": "MIT"})
    assert (
        "licence: unknown key; accepted keys here: kind, name, version, copyright, privacy, lineage, disclose"
        in message
    )


def test_non_hf_non_spdx_id_is_refused():
    message = refused({"kind": "model", "copyright": {"license": "acme-eula"}})
    assert "copyright.license: 'acme-eula' names unknown license id(s): acme-eula" in message
    assert "LicenseRef-<name>" in message


@pytest.mark.parametrize("expression", ["MIT AND", "(MIT", "MIT WITH MIT", "Classpath-exception-2.0", "", "  "])
def test_malformed_license_expressions_are_refused(expression):
    assert "copyright.license:" in refused({"kind": "model", "copyright": {"license": expression}})


def test_license_url_must_be_http():
    message = refused({"kind": "model", "copyright": {"license": "LicenseRef-x", "license_url": "ftp://x/y"}})
    assert "copyright.license_url: 'ftp://x/y' is not an http(s) URL; accepted: an http or https URL" in message


def test_commercial_use_under_a_non_commercial_license_is_impossible():
    message = refused({"kind": "dataset", "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": True}})
    assert "copyright.commercial_use: true, but the license CC-BY-NC-4.0 is non-commercial" in message
    Claims.from_mapping({"kind": "dataset", "copyright": {"license": "CC-BY-NC-4.0", "commercial_use": False}})
    Claims.from_mapping({"kind": "dataset", "copyright": {"license": "CC-BY-NC-4.0 OR MIT", "commercial_use": True}})


def test_special_categories_need_personal_data_present():
    message = refused({"kind": "dataset", "privacy": {"special_categories": ["genetic"]}})
    assert "privacy.special_categories: listed while privacy.personal_data is unknown" in message


def test_dp_listed_without_parameters_is_refused():
    message = refused({"kind": "model", "privacy": {"anonymization": ["differential_privacy"]}})
    assert "privacy.differential_privacy: missing although privacy.anonymization lists differential_privacy" in message
    assert "epsilon: a number > 0" in message


def test_dp_parameters_without_listing_are_refused():
    dp = {"epsilon": 1.0, "delta": 0.0, "unit": "user"}
    message = refused({"kind": "model", "privacy": {"differential_privacy": dp}})
    assert "privacy.anonymization: does not list differential_privacy" in message


@pytest.mark.parametrize(
    "dp, path",
    [
        ({"epsilon": 0, "delta": 1e-6, "unit": "user"}, "privacy.differential_privacy.epsilon"),
        ({"epsilon": float("inf"), "delta": 1e-6, "unit": "user"}, "privacy.differential_privacy.epsilon"),
        ({"epsilon": 1.0, "delta": 1.0, "unit": "user"}, "privacy.differential_privacy.delta"),
        ({"epsilon": 1.0, "delta": 1e-6, "unit": "person"}, "privacy.differential_privacy.unit"),
        ({"epsilon": "1.0", "delta": 1e-6, "unit": "user"}, "privacy.differential_privacy.epsilon"),
        ({"epsilon": 1.0, "delta": 1e-6, "unit": "user", "sigma": 2}, "privacy.differential_privacy.sigma"),
    ],
)
def test_bad_dp_parameters_name_the_parameter(dp, path):
    privacy = {"anonymization": ["differential_privacy"], "differential_privacy": dp}
    message = refused({"kind": "model", "privacy": privacy})
    assert f"{path}:" in message


def test_enum_errors_list_the_accepted_values():
    message = refused(
        {
            "kind": "dataset",
            "privacy": {"personal_data": "present", "lawful_basis": "interest", "confidentiality": "secret"},
            "copyright": {"training_mining": {"data_mining": "yes"}},
        }
    )
    assert "privacy.lawful_basis: \"interest\" is not accepted; accepted: one of consent, contract," in message
    assert "privacy.confidentiality: \"secret\" is not accepted; accepted: one of red, amber, green, clear" in message
    assert (
        "copyright.training_mining.data_mining: \"yes\" is not accepted; accepted: one of allowed, notAllowed"
        in message
    )


def test_repeated_list_items_are_refused():
    message = refused({"kind": "model", "lineage": {"trained_on": [SUBJECT_A, SUBJECT_A.upper().replace("0X", "0x")]}})
    assert "lineage.trained_on: '" + SUBJECT_A + "' is listed more than once" in message
    message = refused(
        {
            "kind": "model",
            "lineage": {"base_models": [{"subject": SUBJECT_A, "relation": "merge"}] * 2},
        }
    )
    assert "lineage.base_models:" in message and "listed more than once" in message


def test_jurisdictions_are_iso_codes():
    message = refused({"kind": "dataset", "privacy": {"jurisdictions": ["eu", "Europe"]}})
    assert "privacy.jurisdictions[0]: 'eu' is not a jurisdiction code" in message
    assert "privacy.jurisdictions[1]:" in message


def test_values_that_are_not_json_are_refused():
    with pytest.raises(ClaimsError, match="cannot appear in claims"):
        Claims.from_mapping({"kind": "model", "copyright": {"holders": {"a", "b"}}})


def test_non_mapping_is_refused():
    with pytest.raises(ClaimsError, match="top level must be a mapping"):
        Claims.from_mapping(["kind", "model"])  # type: ignore[arg-type]


# --- field names and the DP check for the verifier -----------------------------


def test_claim_fields_cover_every_leaf_of_the_model_but_not_disclose():
    assert "disclose" not in CLAIM_FIELDS
    assert {"kind", "name", "version"} <= set(CLAIM_FIELDS)
    assert "copyright.training_mining.ai_training" in CLAIM_FIELDS
    assert "privacy.differential_privacy" in CLAIM_FIELDS  # one field: the parameters go together
    assert "lineage.base_models" in CLAIM_FIELDS
    assert set(CLAIM_SECTIONS) == {"copyright", "copyright.training_mining", "privacy", "lineage"}
    assert len(CLAIM_FIELDS) == len(set(CLAIM_FIELDS)) == 27


def test_resolve_fields_expands_sections_in_schema_order():
    assert resolve_fields(["privacy.personal_data", "lineage"]) == (
        "privacy.personal_data",
        "lineage.trained_on",
        "lineage.tested_on",
        "lineage.base_models",
    )
    assert resolve_fields(["copyright.training_mining"]) == CLAIM_SECTIONS["copyright.training_mining"]


def test_resolve_fields_refuses_unknown_names_listing_accepted_ones():
    with pytest.raises(ClaimsError) as info:
        resolve_fields(["copyright", "privacy.pii"])
    assert "unknown claim field 'privacy.pii'" in str(info.value)
    assert "privacy.personal_data" in str(info.value) and "copyright.training_mining" in str(info.value)


def test_differential_privacy_problems_for_the_verifier():
    assert differential_privacy_problems({"epsilon": 1.5, "delta": 1e-5, "unit": "user"}) == ()
    problems = differential_privacy_problems({"delta": 1e-5})
    assert any(p.startswith("privacy.differential_privacy.epsilon: missing") for p in problems)
    assert any(p.startswith("privacy.differential_privacy.unit: missing") for p in problems)
    assert differential_privacy_problems(None)[0].startswith("privacy.differential_privacy: missing")
    assert differential_privacy_problems("eps=1")  # not an object

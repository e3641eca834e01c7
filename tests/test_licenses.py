"""provenance.licenses: the license table and how expressions combine."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from provenance.errors import ClaimsError
from provenance.licenses import (
    LicenseTerms,
    UseClass,
    known_licenses,
    license_terms,
    most_restrictive,
    normalize_expression,
    share_alike_compatible,
)

TABLE = Path(__file__).resolve().parent.parent / "provenance" / "data" / "licenses.json"
C, NC, ACAD, UNSPEC = UseClass.COMMERCIAL, UseClass.NON_COMMERCIAL, UseClass.ACADEMIC_ONLY, UseClass.UNSPECIFIED

# id -> (use class, attribution, share-alike, no-derivatives, has use restrictions)
EXPECTED = {
    "Apache-2.0": (C, True, False, False, False),
    "MIT": (C, True, False, False, False),
    "BSD-2-Clause": (C, True, False, False, False),
    "BSD-3-Clause": (C, True, False, False, False),
    "BSD-3-Clause-Clear": (C, True, False, False, False),
    "BSD-4-Clause": (C, True, False, False, False),
    "0BSD": (C, False, False, False, False),
    "CC0-1.0": (C, False, False, False, False),
    "CC-BY-3.0": (C, True, False, False, False),
    "CC-BY-4.0": (C, True, False, False, False),
    "CC-BY-SA-3.0": (C, True, True, False, False),
    "CC-BY-SA-4.0": (C, True, True, False, False),
    "CC-BY-NC-3.0": (NC, True, False, False, False),
    "CC-BY-NC-4.0": (NC, True, False, False, False),
    "CC-BY-ND-4.0": (C, True, False, True, False),
    "CC-BY-NC-SA-4.0": (NC, True, True, False, False),
    "CC-BY-NC-ND-4.0": (NC, True, False, True, False),
    "ODC-By-1.0": (C, True, False, False, False),
    "ODbL-1.0": (C, True, True, False, False),
    "PDDL-1.0": (C, False, False, False, False),
    "GPL-2.0-only": (C, True, True, False, False),
    "GPL-2.0-or-later": (C, True, True, False, False),
    "GPL-3.0-only": (C, True, True, False, False),
    "GPL-3.0-or-later": (C, True, True, False, False),
    "LGPL-2.1-only": (C, True, True, False, False),
    "LGPL-2.1-or-later": (C, True, True, False, False),
    "LGPL-3.0-only": (C, True, True, False, False),
    "LGPL-3.0-or-later": (C, True, True, False, False),
    "AGPL-3.0-only": (C, True, True, False, False),
    "AGPL-3.0-or-later": (C, True, True, False, False),
    "openrail": (C, True, False, False, True),
    "openrail++": (C, True, False, False, True),
    "creativeml-openrail-m": (C, True, False, False, True),
    "bigscience-openrail-m": (C, True, False, False, True),
    "bigscience-bloom-rail-1.0": (C, True, False, False, True),
    "bigcode-openrail-m": (C, True, False, False, True),
    "llama2": (C, True, False, False, True),
    "llama3": (C, True, False, False, True),
    "llama3.1": (C, True, False, False, True),
    "llama3.2": (C, True, False, False, True),
    "llama3.3": (C, True, False, False, True),
    "llama4": (C, True, False, False, True),
    "gemma": (C, True, False, False, True),
    "deepfloyd-if-license": (ACAD, True, False, False, False),
    "other": (UNSPEC, False, False, False, False),
    "unknown": (UNSPEC, False, False, False, False),
}


def table() -> dict:
    return json.loads(TABLE.read_text("utf-8"))


@pytest.mark.parametrize("license_id", sorted(EXPECTED))
def test_each_listed_license_has_its_attributes(license_id):
    use, attribution, share_alike, no_derivatives, restricted = EXPECTED[license_id]
    terms = license_terms(license_id)
    assert license_id in known_licenses()
    assert terms.licenses == (license_id,)
    assert terms.use_class is use
    assert terms.attribution is attribution
    assert terms.is_share_alike is share_alike
    assert terms.no_derivatives is no_derivatives
    assert bool(terms.restrictions) is restricted


def test_rail_and_llama_restrictions_are_named():
    assert license_terms("bigcode-openrail-m").restrictions == ("rail-use-restrictions",)
    assert "llama-acceptable-use-policy" in license_terms("llama3.1").restrictions
    assert "llama-no-improving-other-llms" in license_terms("llama2").restrictions
    assert "llama-no-improving-other-llms" not in license_terms("llama3.1").restrictions
    assert license_terms("gemma").restrictions == ("gemma-prohibited-use-policy",)


def test_table_keeps_its_sources_and_a_url_per_license():
    data = table()
    assert {"spdx", "huggingface", "dpi_classes", "cc_compatibility"} <= set(data["sources"])
    for scheme in ("spdx", "huggingface"):
        for key, entry in data[scheme].items():
            assert entry["url"].startswith(("https://", "http://")), key
            assert entry["use"] in {u.value for u in UseClass}, key
            for target in entry.get("share_alike", []):
                assert target in known_licenses() or normalize_expression(target) == target, (key, target)


def test_spdx_keys_are_spdx_ids_and_hf_keys_are_not():
    from license_expression import get_spdx_licensing

    spdx = get_spdx_licensing()
    data = table()
    for key in data["spdx"]:
        assert spdx.validate(key).normalized_expression == key, key
    for key in data["huggingface"]:
        assert spdx.validate(key).errors, key  # else it would belong under spdx
    assert len(known_licenses()) == len(data["spdx"]) + len(data["huggingface"])


def test_hf_spellings_of_spdx_ids_read_as_spdx():
    assert license_terms("cc-by-nc-sa-4.0").licenses == ("CC-BY-NC-SA-4.0",)
    assert license_terms("agpl-3.0").licenses == ("AGPL-3.0-only",)
    assert license_terms("gpl").licenses == ("GPL-1.0-or-later",)  # the HF family id


# --- combining ---------------------------------------------------------------------


def test_and_takes_the_most_restrictive_class_and_accumulates():
    terms = license_terms("Apache-2.0 AND CC-BY-NC-4.0")
    assert terms.use_class is NC
    assert terms.licenses == ("Apache-2.0", "CC-BY-NC-4.0")
    terms = license_terms("CC0-1.0 AND CC-BY-SA-4.0 AND CC-BY-ND-4.0")
    assert (terms.attribution, terms.share_alike, terms.no_derivatives) == (True, ("CC-BY-SA-4.0",), True)
    terms = license_terms("openrail AND llama3.1")
    assert terms.restrictions == ("llama-700m-mau-limit", "llama-acceptable-use-policy", "rail-use-restrictions")
    assert license_terms("CC-BY-NC-4.0 AND deepfloyd-if-license").use_class is ACAD


def test_or_lets_the_user_pick_the_least_restrictive_option():
    assert license_terms("CC-BY-NC-4.0 OR MIT").licenses == ("MIT",)
    assert license_terms("CC-BY-NC-4.0 OR MIT").use_class is C
    assert license_terms("CC-BY-ND-4.0 OR CC-BY-4.0").no_derivatives is False
    assert license_terms("deepfloyd-if-license OR CC-BY-NC-4.0").use_class is NC
    assert license_terms("llama3 OR Apache-2.0").restrictions == ()
    assert license_terms("CC-BY-SA-4.0 OR CC-BY-4.0").share_alike == ()
    assert license_terms("CC-BY-4.0 OR CC0-1.0").attribution is False


def test_or_option_is_taken_whole():
    """Picking per attribute would invent a commercial share-alike-free option that does not exist."""
    terms = license_terms("CC-BY-NC-4.0 OR CC-BY-SA-4.0")
    assert terms.licenses == ("CC-BY-SA-4.0",)
    assert (terms.use_class, terms.share_alike) == (C, ("CC-BY-SA-4.0",))


def test_nested_expressions():
    terms = license_terms("(CC-BY-NC-4.0 OR MIT) AND CC-BY-SA-4.0")
    assert terms.licenses == ("CC-BY-SA-4.0", "MIT")
    assert terms.use_class is C and terms.is_share_alike
    assert terms.expression == "(CC-BY-NC-4.0 OR MIT) AND CC-BY-SA-4.0"


def test_exceptions_keep_the_base_license_terms():
    terms = license_terms("GPL-2.0-or-later WITH Classpath-exception-2.0")
    assert terms.licenses == ("GPL-2.0-or-later",)
    assert terms.share_alike == ("GPL-2.0-or-later",)


def test_ids_outside_the_table_are_unspecified():
    for expression in ["LicenseRef-acme", "DocumentRef-spdx:LicenseRef-x", "LPPL-1.3c"]:
        terms = license_terms(expression)
        assert terms.use_class is UNSPEC
        assert (terms.attribution, terms.share_alike, terms.no_derivatives, terms.restrictions) == (
            False, (), False, ()
        )  # fmt: skip
    # CLAIMS.md's order puts unspecified below non-commercial, so OR prefers it
    assert license_terms("LicenseRef-x OR CC-BY-NC-4.0").use_class is UNSPEC


@pytest.mark.parametrize("expression", ["", "MIT AND", "Apache 2", "acme", "MIT WITH MIT", "(MIT OR"])
def test_invalid_expressions_raise_claims_error(expression):
    with pytest.raises(ClaimsError):
        license_terms(expression)


def test_terms_are_immutable():
    terms = license_terms("MIT")
    assert isinstance(terms, LicenseTerms)
    with pytest.raises(dataclasses.FrozenInstanceError):
        terms.use_class = NC  # type: ignore[misc]


def test_use_class_order_follows_claims_md():
    assert [c.value for c in sorted(UseClass, key=lambda c: c.rank)] == [
        "commercial", "unspecified", "non-commercial", "academic-only"
    ]  # fmt: skip
    assert most_restrictive([C, NC, UNSPEC]) is NC
    assert most_restrictive([C, ACAD, NC]) is ACAD
    assert most_restrictive([]) is C


# --- share-alike -------------------------------------------------------------------


@pytest.mark.parametrize(
    "ancestor, artifact, ok",
    [
        ("CC-BY-SA-4.0", "CC-BY-SA-4.0", True),
        ("CC-BY-SA-4.0", "GPL-3.0", True),  # CC's one-way compatibility
        ("CC-BY-SA-4.0", "GPL-3.0-only", True),
        ("CC-BY-SA-4.0", "GPL-2.0-only", False),
        ("CC-BY-SA-4.0", "Apache-2.0", False),
        ("CC-BY-SA-4.0", "CC-BY-SA-3.0", False),
        ("CC-BY-SA-3.0", "CC-BY-SA-4.0", True),  # later version allowed
        ("GPL-3.0-only", "CC-BY-SA-4.0", False),  # not the other way round
        ("ODbL-1.0", "ODbL-1.0", True),
        ("odbl", "ODbL-1.0", True),
        ("ODbL-1.0", "CC-BY-SA-4.0", False),
        ("CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0", True),
        ("CC-BY-NC-SA-4.0", "CC-BY-SA-4.0", False),
        ("GPL-2.0-or-later", "GPL-3.0-or-later", True),
        ("LGPL-2.1-only", "GPL-2.0-only", True),
        ("MIT", "Apache-2.0", True),  # nothing to carry
        ("CC-BY-SA-4.0 OR MIT", "Apache-2.0", True),  # the ancestor can be taken under MIT
        ("CC-BY-SA-4.0", "CC-BY-SA-4.0 OR MIT", False),  # recipients could take MIT
        ("CC-BY-SA-4.0", "CC-BY-SA-4.0 AND MIT", True),
        ("CC-BY-SA-4.0 AND ODbL-1.0", "CC-BY-SA-4.0", False),
        ("CC-BY-SA-4.0 AND ODbL-1.0", "CC-BY-SA-4.0 AND ODbL-1.0", True),
    ],
)
def test_share_alike_compatibility(ancestor, artifact, ok):
    assert share_alike_compatible(ancestor, artifact) is ok


def test_single_id_fast_path_equals_the_parsed_terms():
    from provenance import licenses

    for key in licenses.known_licenses():
        parsed = licenses._parse(key)
        slow = min((licenses._terms(str(parsed), o) for o in licenses._options(parsed)), key=licenses._strictness)
        assert licenses.license_terms(key) == slow, key

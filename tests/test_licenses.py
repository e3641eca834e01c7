"""provenance.licenses: the license table and how expressions combine."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from pathlib import Path

import pytest

from provenance import licenses
from provenance.errors import ClaimsError
from provenance.licenses import (
    LicenseTerms,
    UseClass,
    carries_share_alike,
    known_licenses,
    license_terms,
    most_restrictive,
    normalize_expression,
    share_alike_compatible,
    spdx_license_ids,
)
from provenance.policy import Policy
from provenance.record import Kind
from provenance.rules import ArtifactFacts, Lineage, evaluate
from provenance.verdict import Code

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
    # Creative Commons by the elements of the id, every version and port
    "CC-BY-1.0": (C, True, False, False, False),
    "CC-BY-3.0-IGO": (C, True, False, False, False),
    "CC-BY-NC-ND-2.0": (NC, True, False, True, False),
    "CC-BY-NC-ND-3.0-IGO": (NC, True, False, True, False),
    "CC-BY-ND-2.0": (C, True, False, True, False),
    "CC-BY-SA-2.0": (C, True, True, False, False),
    "CC-BY-SA-2.1-JP": (C, True, True, False, False),
    "CC-BY-NC-SA-3.0-IGO": (NC, True, True, False, False),
    "CC-BY-NC-SA-2.0-UK": (NC, True, True, False, False),
    "CC-BY-NC-3.0-DE": (NC, True, False, False, False),
    "CC-SA-1.0": (C, False, True, False, False),
    "CC-PDDC": (C, False, False, False, False),
    "CC-PDM-1.0": (C, False, False, False, False),
    # read one by one (licenses.json "spdx")
    "PolyForm-Noncommercial-1.0.0": (NC, True, False, False, False),
    "PolyForm-Small-Business-1.0.0": (NC, True, False, False, False),
    "NCGL-UK-2.0": (NC, True, False, False, False),
    "BUSL-1.1": (NC, True, False, False, False),
    "SUL-1.0": (NC, True, False, False, False),
    "C-UDA-1.0": (C, True, True, False, True),
    "c-uda": (C, True, True, False, True),
    "O-UDA-1.0": (C, True, False, False, False),
    "CDLA-Permissive-1.0": (C, True, False, False, False),
    "CDLA-Permissive-2.0": (C, True, False, False, False),
    "CDLA-Sharing-1.0": (C, True, True, False, False),
    "Hippocratic-2.1": (C, True, False, False, True),
    "JSON": (C, True, False, False, True),
    "Elastic-2.0": (C, True, False, False, True),
    "MIT-0": (C, False, False, False, False),
    # scancode category defaults
    "Zlib": (C, True, False, False, False),
    "LPPL-1.3c": (C, True, True, False, False),
    "MPL-1.1": (C, True, True, False, False),
    "Unlicense": (C, False, False, False, False),
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
    assert set(known_licenses()) == set(spdx_license_ids()) | set(data["huggingface"])
    assert set(data["spdx"]) <= set(spdx_license_ids())


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


def test_custom_ids_without_a_known_url_are_unspecified():
    assert license_terms("cc").use_class is UNSPEC and license_terms("cc").attribution  # every CC license but CC0
    for expression in ["LicenseRef-acme", "DocumentRef-spdx:LicenseRef-x", "other"]:
        terms = license_terms(expression)
        assert terms.use_class is UNSPEC and terms.unspecified == terms.licenses
        assert (terms.attribution, terms.share_alike, terms.no_derivatives, terms.restrictions) == (
            False, (), False, ()
        )  # fmt: skip
    assert license_terms("LicenseRef-acme", "https://acme.example/terms").unspecified == ("LicenseRef-acme",)


def test_an_option_with_unknown_terms_is_never_preferred_over_a_classified_one():
    assert license_terms("MIT OR LicenseRef-x").licenses == ("MIT",)
    assert license_terms("LicenseRef-x OR MIT").licenses == ("MIT",)
    # even a more restrictive classified option: unknown terms are restrictive too, and unknown
    terms = license_terms("LicenseRef-x OR CC-BY-NC-4.0")
    assert (terms.licenses, terms.use_class, terms.unspecified) == (("CC-BY-NC-4.0",), NC, ())
    assert license_terms("(LicenseRef-x AND MIT) OR CC-BY-NC-ND-4.0").licenses == ("CC-BY-NC-ND-4.0",)
    assert license_terms("LicenseRef-x OR unknown").use_class is UNSPEC  # no classified option


def test_and_keeps_the_classified_parts_beside_the_unknown_ones():
    terms = license_terms("unknown AND CC-BY-NC-SA-4.0")
    assert terms.use_class is NC  # never just "unspecified"
    assert terms.unspecified == ("unknown",)
    assert terms.share_alike == ("CC-BY-NC-SA-4.0",) and terms.attribution
    terms = license_terms("LicenseRef-x AND MIT")
    assert (terms.use_class, terms.unspecified, terms.attribution) == (UNSPEC, ("LicenseRef-x",), True)
    assert license_terms("LicenseRef-x AND deepfloyd-if-license").use_class is ACAD


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
    for key in known_licenses():
        assert license_terms(key) == license_terms(f"({key})"), key  # parenthesised: parsed


# --- the whole SPDX list of the pinned license-expression ---------------------------

#: Words in an id (split at "-") or an SPDX name that mark a license non-commercial,
#: no-derivatives or share-alike (copyleft families are classified share-alike).
MARKS = {
    "non-commercial": re.compile(r"(^|[-_ ])NC([-_ ]|$)|non[- ]?commercial", re.IGNORECASE),
    "no-derivatives": re.compile(r"(^|[-_ ])ND([-_ ]|$)|no[- ]?derivative", re.IGNORECASE),
    "share-alike": re.compile(r"(^|[-_ ])SA([-_ ]|$)|share[- ]?alike|sharing|copyleft", re.IGNORECASE),
}
#: scancode categories whose default class the table keeps (licenses.json "spdx_category_defaults")
OPEN_CATEGORIES = {"Permissive", "Public Domain", "Copyleft", "Copyleft Limited"}


@functools.cache
def spdx_index() -> dict:
    from license_expression import get_license_index

    return {
        item["spdx_license_key"]: item
        for item in get_license_index()
        if item.get("spdx_license_key") and not item["spdx_license_key"].startswith("LicenseRef-")
    }


def misclassified() -> list[tuple[str, str]]:
    """(id, what is wrong) for every SPDX license id whose class does not match what its id or name says."""
    names, index = table()["spdx_names"], spdx_index()
    wrong = []
    for key in spdx_license_ids():
        terms = license_terms(key)
        said = f"{key} {names.get(key, '')} {index[key]['license_key']}"
        if terms.use_class is UNSPEC or terms.unspecified:
            wrong.append((key, "unspecified"))
        if MARKS["non-commercial"].search(said) and terms.use_class not in (NC, ACAD):
            wrong.append((key, "not non-commercial"))
        if MARKS["no-derivatives"].search(said) and not terms.no_derivatives:
            wrong.append((key, "not no-derivatives"))
        if MARKS["share-alike"].search(said) and not terms.is_share_alike:
            wrong.append((key, "not share-alike"))
    return wrong


def test_every_spdx_license_of_the_pinned_list_is_classified_as_its_id_and_name_say():
    ids = spdx_license_ids()
    assert len(ids) > 600 and "CC-BY-NC-SA-3.0-IGO" in ids and "PolyForm-Noncommercial-1.0.0" in ids
    assert misclassified() == []
    assert set(table()["spdx_names"]) == set(ids)  # the walk reads every name


def test_the_walk_fails_for_a_marked_license_left_unclassified(monkeypatch):
    """Guard the guard: a non-commercial license without an entry falls through, and the walk says so."""
    broken = dataclasses.replace(
        licenses._table(), entries={k: e for k, e in licenses._table().entries.items() if k != "NCGL-UK-2.0"}
    )
    monkeypatch.setattr(licenses, "_table", lambda: broken)
    licenses._lookup.cache_clear()
    try:
        assert ("NCGL-UK-2.0", "unspecified") in misclassified()
        assert ("NCGL-UK-2.0", "not non-commercial") in misclassified()
    finally:
        monkeypatch.undo()
        licenses._lookup.cache_clear()


def test_licenses_outside_the_open_categories_are_read_one_by_one():
    """A source-available, free-restricted or proprietary license never gets a default class."""
    index, explicit = spdx_index(), set(table()["spdx"])
    for key in spdx_license_ids():
        category = index[key]["category"]
        if category not in OPEN_CATEGORIES and not licenses._CREATIVE_COMMONS.match(key):
            assert key in explicit, (key, category)
    assert set(table()["spdx_category_defaults"]) == OPEN_CATEGORIES


def test_exceptions_are_no_licenses_on_their_own():
    exceptions = [k for k, item in spdx_index().items() if item.get("is_exception")]
    assert len(exceptions) > 50
    for key in exceptions:
        with pytest.raises(ClaimsError):
            license_terms(key)


@pytest.mark.parametrize(
    ("ancestor", "artifact", "ok"),
    [
        ("CC-BY-SA-2.0", "CC-BY-SA-2.5", True),  # a later version
        ("CC-BY-SA-2.0", "CC-BY-SA-2.0-UK", True),  # a port with the same elements
        ("CC-BY-SA-3.0", "CC-BY-SA-3.0-IGO", True),
        ("CC-BY-SA-3.0-DE", "CC-BY-SA-4.0", True),
        ("CC-BY-SA-3.0", "CC-BY-SA-2.5", False),  # never an earlier one
        ("CC-BY-SA-1.0", "CC-BY-SA-2.0", False),  # 1.0 allows only itself
        ("CC-BY-NC-SA-3.0-IGO", "CC-BY-NC-SA-4.0", True),
        ("CC-BY-NC-SA-3.0-IGO", "CC-BY-SA-4.0", False),  # other elements
        ("CC-BY-SA-4.0", "LAL-1.3", True),  # declared compatible by CC
        ("CDLA-Sharing-1.0", "CDLA-Sharing-1.0", True),
        ("CDLA-Sharing-1.0", "CDLA-Permissive-2.0", False),
        ("C-UDA-1.0", "c-uda", True),
    ],
)
def test_creative_commons_share_alike_by_version_and_port(ancestor, artifact, ok):
    assert share_alike_compatible(ancestor, artifact) is ok


def test_each_license_says_which_terms_reach_a_trained_model():
    for key in ("C-UDA-1.0", "c-uda", "CDLA-Sharing-1.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "O-UDA-1.0"):
        terms = license_terms(key, trained_model=True)
        assert terms.trained_model
        assert (terms.use_class, terms.attribution, terms.share_alike, terms.restrictions) == (C, False, (), ()), key
    for key in ("CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-4.0", "llama3", "ODbL-1.0", "deepfloyd-if-license"):
        full = license_terms(key)
        assert dataclasses.replace(license_terms(key, trained_model=True), trained_model=False) == full, key
    mixed = license_terms("C-UDA-1.0 AND CC-BY-NC-4.0", trained_model=True)
    assert (mixed.use_class, mixed.attribution, mixed.restrictions) == (NC, True, ())
    assert license_terms("LicenseRef-x", trained_model=True).unspecified == ("LicenseRef-x",)  # unknown stays unknown
    for key, entry in {**table()["spdx"], **table()["huggingface"]}.items():
        assert set(entry.get("trained_model", licenses.MODEL_TERMS)) <= set(licenses.MODEL_TERMS), key


# --- custom licenses by URL --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://image-net.org/download.php",
        "http://image-net.org/download.php",
        "https://WWW.Image-Net.org/download.php/",
        "https://image-net.org/download.php#terms",
    ],
)
def test_a_license_ref_is_classified_by_its_url_normalised(url):
    terms = license_terms("LicenseRef-imagenet-terms", url)
    assert terms.use_class is ACAD and terms.unspecified == ()
    assert terms.resolved == (("LicenseRef-imagenet-terms", "ImageNet Terms of Access"),)


def test_custom_urls_name_model_licenses_and_data_agreements():
    llama2 = license_terms("llama2").restrictions
    assert license_terms("other", "https://ai.meta.com/llama/license").restrictions == llama2
    assert license_terms("LicenseRef-gemma", "https://ai.google.dev/gemma/terms/").restrictions == (
        "gemma-prohibited-use-policy",
    )
    assert license_terms("LicenseRef-mrl", "https://mistral.ai/licenses/MRL-0.1.md").use_class is NC
    assert license_terms("LicenseRef-msmarco", "https://microsoft.github.io/msmarco/").use_class is NC
    cuda = license_terms("LicenseRef-cuda", "https://github.com/microsoft/Computational-Use-of-Data-Agreement")
    assert cuda.restrictions == ("computational-use-only",)
    assert license_terms("LicenseRef-cuda", "https://github.com/microsoft/Computational-Use-of-Data-Agreement",
                         trained_model=True).restrictions == ()  # fmt: skip
    # the URL is the path's, not a prefix: another page of the same site is unknown
    assert license_terms("LicenseRef-x", "https://ai.meta.com/llama/").unspecified == ("LicenseRef-x",)
    # one URL for two custom ids is ambiguous: both stay unknown
    both = license_terms("LicenseRef-a AND LicenseRef-b", "https://image-net.org/download.php")
    assert both.unspecified == ("LicenseRef-a", "LicenseRef-b")
    # a URL classifies only custom ids, never an SPDX id
    assert license_terms("MIT", "https://image-net.org/download.php").use_class is C


def test_custom_table_is_keyed_by_normalised_urls_with_sources():
    data = table()
    assert "dpi_custom_classes" in data["sources"] and "Data Provenance Initiative" in data["about"]
    sources = set()
    for key, entry in data["custom"].items():
        assert licenses._url_key(entry["url"]) == key
        assert entry["url"].startswith("https://")
        assert entry.get("same_as") in {None, *known_licenses()}, key
        assert "same_as" in entry or entry["use"] in {u.value for u in UseClass}, key
        sources.add(entry["source"])
    assert "dpi_custom_classes" in sources


# --- large expressions -------------------------------------------------------------------


def test_fifty_alternatives_are_checked_term_by_term():
    ids = [k for k in spdx_license_ids() if k.startswith("CC-BY-NC")]
    options = [*ids, *(f"LicenseRef-x{i}" for i in range(49 - len(ids))), "MIT"]
    assert len(options) == 50
    assert license_terms(" OR ".join(options)).licenses == ("MIT",)
    assert license_terms(" OR ".join(options[:-1])).use_class is NC  # a classified option, not an unknown one


def test_an_and_of_many_ors_is_linear_not_expanded():
    """2**100 options in disjunctive normal form; the choice is made node by node."""
    pairs = [f"(CC-BY-NC-4.0 OR LicenseRef-p{i})" for i in range(60)] + ["(GPL-2.0-only OR X11)"] * 40
    expression = " AND ".join(pairs)
    start = time.perf_counter()
    terms = license_terms(expression)
    assert time.perf_counter() - start < 5
    assert terms.licenses == ("CC-BY-NC-4.0", "X11") and terms.use_class is NC and terms.unspecified == ()
    assert share_alike_compatible(expression, "MIT")  # take X11 in each pair: nothing to carry
    ids = spdx_license_ids()[:300]
    big = " AND ".join(f"({a} OR {b})" for a, b in zip(ids[::2], ids[1::2], strict=True))
    assert license_terms(big).licenses  # never refused for its size


def test_a_penalty_picks_the_option_that_satisfies_the_callers_rules():
    """Research use over 'CC-BY-NC-4.0 OR CC-BY-SA-4.0' with an MIT artifact: the NC option breaks nothing."""
    expression = "CC-BY-NC-4.0 OR CC-BY-SA-4.0"
    assert license_terms(expression).licenses == ("CC-BY-SA-4.0",)  # least restrictive without rules

    def share_alike_breaks(terms: LicenseTerms) -> int:
        return int(bool(terms.share_alike) and not carries_share_alike(terms, "MIT"))

    assert license_terms(expression, penalty=share_alike_breaks).licenses == ("CC-BY-NC-4.0",)
    # unknown terms still lose against a classified option that breaks a rule
    assert license_terms("LicenseRef-x OR CC-BY-SA-4.0", penalty=share_alike_breaks).licenses == ("CC-BY-SA-4.0",)


# --- through the copyright rules -------------------------------------------------------

DATA_PUB, MODEL_PUB = "0x" + "d1" * 20, "0x" + "e2" * 20
OPEN = {
    "copyright.commercial_use": None,
    "copyright.training_mining.ai_training": "allowed",
    "copyright.training_mining.ai_generative_training": "allowed",
    "copyright.training_mining.data_mining": "allowed",
    "copyright.tdm_reservation": False,
}


def artifact(n: int, kind: Kind, license_: str, url: str | None = None, parents=(), **claims) -> ArtifactFacts:
    values = {**OPEN, "copyright.license": license_, "copyright.license_url": url, **claims}
    return ArtifactFacts(bytes([n]) * 32, kind, DATA_PUB if kind is Kind.DATASET else MODEL_PUB,
                         parents=tuple(bytes([p]) * 32 for p in parents), claims=values)  # fmt: skip


def codes(lineage: Lineage, **policy) -> set[tuple[str, str]]:
    checks = evaluate(lineage, Policy.from_mapping(policy))
    return {(c.code.value, c.status.value) for c in checks if c.check.value == "copyright" and c.code is not Code.OK}


def test_a_research_only_data_agreement_fails_commercial_use():
    data = artifact(1, Kind.DATASET, "LicenseRef-imagenet", "https://www.image-net.org/download.php")
    model = artifact(2, Kind.MODEL, "Apache-2.0", parents=[1])
    assert codes(Lineage.build(model, [data])) == {("USE_NOT_PERMITTED", "fail")}
    assert codes(Lineage.build(model, [data]), use="research") == set()
    unknown_url = artifact(1, Kind.DATASET, "LicenseRef-imagenet", "https://example.org/terms")
    assert codes(Lineage.build(model, [unknown_url])) == {("LICENSE_UNSPECIFIED", "warn")}


def test_unknown_and_non_commercial_warns_and_fails():
    data = artifact(1, Kind.DATASET, "unknown AND CC-BY-NC-SA-4.0")
    found = codes(Lineage.build(data))
    assert {("LICENSE_UNSPECIFIED", "warn"), ("USE_NOT_PERMITTED", "fail")} <= found


def test_or_passes_when_some_option_satisfies_every_rule():
    data = artifact(1, Kind.DATASET, "CC-BY-NC-4.0 OR CC-BY-SA-4.0")
    model = artifact(2, Kind.MODEL, "MIT", parents=[1])
    assert codes(Lineage.build(model, [data]), use="research") == set()  # the NC option
    assert codes(Lineage.build(model, [data])) == {("SHARE_ALIKE", "warn")}  # commercial: only the SA option
    ref = artifact(1, Kind.DATASET, "MIT OR LicenseRef-x")
    assert codes(Lineage.build(model, [ref])) == set()


@pytest.mark.parametrize("license_", ["C-UDA-1.0", "CDLA-Sharing-1.0", "c-uda"])
def test_data_terms_that_stop_at_results_do_not_reach_a_trained_model(license_):
    data = artifact(1, Kind.DATASET, license_)
    model = artifact(2, Kind.MODEL, "MIT", parents=[1])
    assert codes(Lineage.build(model, [data])) == set()
    tune = artifact(3, Kind.MODEL, "MIT", parents=[2])
    assert codes(Lineage.build(tune, [data, model])) == set()
    # a dataset derived from the data is no Result: share-alike (and C-UDA's restriction) reach it
    derived = artifact(3, Kind.DATASET, "MIT", parents=[1])
    assert ("SHARE_ALIKE", "warn") in codes(Lineage.build(derived, [data]))
    # and through that dataset, a model trained on it is free again
    trained = artifact(4, Kind.MODEL, "MIT", parents=[3])
    assert codes(Lineage.build(trained, [data, derived])) == set()


def test_creative_commons_terms_reach_a_trained_model():
    data = artifact(1, Kind.DATASET, "CC-BY-NC-SA-4.0")
    model = artifact(2, Kind.MODEL, "MIT", parents=[1])
    assert codes(Lineage.build(model, [data])) == {("USE_NOT_PERMITTED", "fail"), ("SHARE_ALIKE", "warn")}
    mixed = artifact(1, Kind.DATASET, "C-UDA-1.0 AND CC-BY-ND-4.0")
    assert codes(Lineage.build(model, [mixed])) == {("NO_DERIVATIVES", "fail")}


def test_an_other_kind_artifact_trained_on_data_is_trained():
    data = artifact(1, Kind.DATASET, "CDLA-Sharing-1.0")
    adapter = artifact(2, Kind.OTHER, "MIT", parents=[1], **{"lineage.trained_on": ["0x" + "01" * 32]})
    assert codes(Lineage.build(adapter, [data])) == set()
    derived = artifact(2, Kind.OTHER, "MIT", parents=[1])  # not said to be trained: derived
    assert ("SHARE_ALIKE", "warn") in codes(Lineage.build(derived, [data]))


def test_commercial_use_is_refused_only_when_no_option_allows_it():
    from provenance.licenses import allows_commercial_use

    assert not allows_commercial_use("CC-BY-NC-4.0")
    assert not allows_commercial_use("MIT AND (CC-BY-NC-4.0 OR deepfloyd-if-license)")
    assert allows_commercial_use("LicenseRef-x OR CC-BY-NC-4.0")  # the custom terms might allow it
    assert not allows_commercial_use("LicenseRef-x", "https://image-net.org/download.php")
    assert allows_commercial_use("unknown AND MIT")

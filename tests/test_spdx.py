"""SPDX 3.0.1 export: a dataset, a model trained on it and a fine-tune of the model.

Every document is validated offline with ``spdx-python-model`` (SPDX's Python
bindings generated from the SPDX 3.0.1 RDF/SHACL model; docs/export.md says
what that checks). ``spdx-tools`` cannot read SPDX 3 documents, so it is not used.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from eth_account import Account
from spdx_python_model.bindings.v3_0_1 import model as spdx3

from provenance.claims import Claims
from provenance.commitments import Commitment, Opening, commit, new_salt
from provenance.errors import ClaimsError, StatementError
from provenance.manifest import Manifest, ManifestEntry
from provenance.record import Domain, Kind, Record
from provenance.signing import sign_record
from provenance.spdx import ID_BASE, SPDX_CONTEXT, dumps, intoto_document, spdx_document
from provenance.statement import Statement

REGISTRY = "0x" + "22" * 20
CHAIN_ID = 31337
CREATED = datetime(2026, 11, 26, 1, 30, 15, 123456, tzinfo=UTC)
ACCOUNT = Account.create()
GOLDEN_ACCOUNT = Account.from_key(hashlib.sha256(b"provenance-ledger tests/test_spdx.py golden key").digest())
GOLDEN = Path(__file__).parent / "data" / "spdx" / "finetune.spdx.json"
REGEN = os.environ.get("PROVENANCE_REGEN_GOLDEN") == "1"

# values the publishers keep undisclosed: none may reach a document
SECRET_RETENTION = "2031-07-19"
SECRET_LICENSE = "LicenseRef-acme-secret-terms"


def validate(document: dict) -> spdx3.SHACLObjectSet:
    """Read the document with SPDX's 3.0.1 bindings, resolve every reference, write it back."""
    assert document["@context"] == SPDX_CONTEXT
    objects = spdx3.SHACLObjectSet()
    # refuses unknown types and properties, abstract types, wrong datatypes, values outside enumerations
    spdx3.JSONLDDeserializer().deserialize_data(copy.deepcopy(document), objects)
    missing = objects.link()  # every spdxId referred to is defined here (or a named individual)
    assert not missing, f"undefined references: {sorted(missing)}"
    # serializing checks the minimum and maximum count of every property (required fields)
    out = io.BytesIO()
    spdx3.JSONLDSerializer().write(objects, out)
    again = json.loads(out.getvalue())
    assert {o.get("spdxId") for o in again["@graph"]} == {o.get("spdxId") for o in document["@graph"]}
    for element in document["@graph"]:
        _check_shapes(element)
    return objects


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")


def _check_shapes(node: dict) -> None:
    """What the bindings let through but SPDX's JSON schema does not: lists as arrays, URIs as URIs."""
    cls = spdx3.SHACLObject.CLASSES[node["type"]]
    for key, value in node.items():
        if key in ("type", "spdxId", "@id"):
            continue
        prop = cls._OBJ_COMPACT_PROPS[key].prop
        is_list = isinstance(prop, spdx3.ListProp)
        assert isinstance(value, list) == is_list, f"{node['type']}.{key} must {'' if is_list else 'not '}be an array"
        item_prop = prop.prop if is_list else prop
        for item in value if is_list else [value]:
            if isinstance(item_prop, spdx3.AnyURIProp):
                assert _URI.match(item), f"{node['type']}.{key}: {item!r} is not a URI"
            if isinstance(item, dict):
                _check_shapes(item)


def make_statement(
    tmp_path, name: str, kind: Kind, claims: dict, files: dict[str, bytes], *, shard_size=None, fixed=False
):
    """A signed Statement of the files; ``fixed`` uses a fixed key and salts (for the golden file)."""
    root = tmp_path / name
    root.mkdir()
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    manifest = Manifest.from_path(root, shard_size=shard_size)
    parsed = Claims.from_mapping(claims)
    if fixed:
        salt = lambda field: hashlib.sha256(f"{name}/{field}".encode()).digest()[:16] + bytes(16)  # noqa: E731 - a one-line helper local to this loop
        openings = (Opening.of(f, salt(f), v) for f, v in parsed.field_values().items())
        commitment = Commitment.from_openings(openings, parsed.disclose)
    else:
        commitment = commit(parsed)
    account = GOLDEN_ACCOUNT if fixed else ACCOUNT
    record = Record.create(manifest.subject, kind, commitment.claims_root, parsed.parents(), f"https://example.org/{name}")
    signature = sign_record(account, record, Domain(CHAIN_ID, REGISTRY))
    return Statement.create(
        name=name, record=record, publisher=account.address, signature=signature,
        chain_id=CHAIN_ID, registry=REGISTRY, manifest=manifest.to_dict(),
        disclosures=[d.to_dict() for d in commitment.disclose()],
    )  # fmt: skip


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path)


@pytest.fixture
def model(tmp_path, dataset):
    return make_model(tmp_path, dataset)


@pytest.fixture
def finetune(tmp_path, model):
    return make_finetune(tmp_path, model)


def make_dataset(tmp_path, fixed=False):
    return make_statement(
        tmp_path, "faces", Kind.DATASET,
        {
            "kind": "dataset",
            "name": "acme/faces",
            "version": "2.1",
            "copyright": {"license": "CC-BY-4.0", "holders": ["Acme Corp"], "attribution": "Acme Corp 2026",
                          "commercial_use": True},
            "privacy": {
                "personal_data": "present",
                "special_categories": ["biometric"],
                "lawful_basis": "consent",
                "special_category_condition": "explicit_consent",
                "anonymization": ["pseudonymisation", "differential_privacy"],
                "differential_privacy": {"epsilon": 3.0, "delta": 1e-6, "unit": "user"},
                "retention_until": SECRET_RETENTION,
                "confidentiality": "amber",
            },
            "disclose": ["kind", "name", "version", "copyright", "privacy.personal_data", "privacy.anonymization",
                         "privacy.differential_privacy", "privacy.confidentiality"],
        },
        {"train/part-0.parquet": b"rows 0", "train/part-1.parquet": b"rows 1", "README.md": b"# faces\n"},
        fixed=fixed,
    )  # fmt: skip


def make_model(tmp_path, dataset, fixed=False):
    return make_statement(
        tmp_path, "face-model", Kind.MODEL,
        {
            "kind": "model",
            "copyright": {"license": "Apache-2.0 OR openrail"},
            "privacy": {"personal_data": "absent", "anonymization": ["aggregation"]},
            "lineage": {"trained_on": [dataset.record.to_json()["subject"]]},
            "disclose": ["copyright", "lineage", "privacy.personal_data"],
        },
        {"model.safetensors": b"\x00weights", "config.json": b"{}"},
        fixed=fixed,
    )  # fmt: skip


def make_finetune(tmp_path, model, fixed=False):
    return make_statement(
        tmp_path, "face-model-ft", Kind.MODEL,
        {
            "kind": "model",
            "copyright": {"license": SECRET_LICENSE},
            "lineage": {"base_models": [{"subject": model.record.to_json()["subject"], "relation": "finetune"}]},
            "disclose": ["lineage"],
        },
        {"adapter.safetensors": b"\x01delta"},
        fixed=fixed,
    )  # fmt: skip


def by_id(document: dict) -> dict[str, dict]:
    return {o["spdxId"]: o for o in document["@graph"] if "spdxId" in o}


def artifact_id(statement: Statement) -> str:
    return f"{ID_BASE}{statement.subject.hex()}/artifact"


def relationships(document: dict, kind: str) -> list[dict]:
    return [o for o in document["@graph"] if o["type"] == "Relationship" and o["relationshipType"] == kind]


def declared_license(document: dict, statement: Statement) -> str:
    elements = by_id(document)
    (rel,) = [r for r in relationships(document, "hasDeclaredLicense") if r["from"] == artifact_id(statement)]
    (target,) = rel["to"]
    return elements[target]["simplelicensing_licenseExpression"] if target in elements else target


# ----------------------------------------------------------------------------- dataset


def test_dataset_document_validates_with_files_hashes_license_and_privacy(dataset):
    document = spdx_document(dataset, created=CREATED)
    objects = validate(document)
    assert objects.find_by_id(artifact_id(dataset)).__class__ is spdx3.dataset_DatasetPackage

    elements = by_id(document)
    (creation,) = [o for o in document["@graph"] if o["type"] == "CreationInfo"]
    assert creation["specVersion"] == "3.0.1"
    assert creation["created"] == "2026-11-26T01:30:15Z"
    (doc,) = [o for o in document["@graph"] if o["type"] == "SpdxDocument"]
    assert doc["rootElement"] == [artifact_id(dataset)]
    assert set(doc["element"]) == set(elements) - {doc["spdxId"]}
    assert {"core", "software", "ai", "dataset", "simpleLicensing"} <= set(doc["profileConformance"])

    artifact = elements[artifact_id(dataset)]
    assert artifact["name"] == "faces"
    assert artifact["software_packageVersion"] == "2.1"
    assert artifact["software_primaryPurpose"] == "data"
    assert artifact["dataset_datasetType"] == ["noAssertion"]
    assert artifact["dataset_hasSensitivePersonalInformation"] == "yes"
    assert artifact["dataset_anonymizationMethodUsed"] == [
        "pseudonymisation", "differential_privacy (epsilon=3.0, delta=1e-06, unit=user)",
    ]  # fmt: skip
    assert artifact["dataset_confidentialityLevel"] == "amber"
    assert artifact["dataset_datasetSize"] == len(b"rows 0") + len(b"rows 1") + len(b"# faces\n")
    assert artifact["software_copyrightText"] == "Acme Corp"
    assert artifact["software_attributionText"] == ["Acme Corp 2026"]
    assert artifact["software_downloadLocation"] == "https://example.org/faces"
    (subject_hash,) = artifact["verifiedUsing"]
    assert subject_hash["algorithm"] == "other" and subject_hash["hashValue"] == dataset.subject.hex()
    identifiers = {i["identifier"] for i in artifact["externalIdentifier"]}
    assert identifiers == {"0x" + dataset.subject.hex(), "0x" + dataset.record_id.hex()}
    publisher = elements[artifact["suppliedBy"]]
    assert publisher["externalIdentifier"][0]["identifier"] == f"eip155:{CHAIN_ID}:{ACCOUNT.address}"

    assert declared_license(document, dataset) == "CC-BY-4.0"

    files = {o["name"]: o for o in document["@graph"] if o["type"] == "software_File"}
    assert sorted(files) == ["README.md", "train/part-0.parquet", "train/part-1.parquet"]
    assert files["train/part-1.parquet"]["verifiedUsing"] == [
        {"type": "Hash", "algorithm": "sha256", "hashValue": hashlib.sha256(b"rows 1").hexdigest()}
    ]
    (contains,) = relationships(document, "contains")
    assert contains["from"] == artifact_id(dataset)
    assert sorted(contains["to"]) == sorted(o["spdxId"] for o in files.values())
    assert contains["completeness"] == "complete"

    (note,) = [o for o in document["@graph"] if o["type"] == "Annotation"]
    assert note["subject"] == artifact_id(dataset)
    assert json.loads(note["statement"])["copyright.commercial_use"] is True


def test_undisclosed_values_appear_nowhere(dataset, finetune):
    for document in (spdx_document(dataset, created=CREATED), spdx_document(finetune, created=CREATED)):
        text = dumps(document)
        for secret in (SECRET_RETENTION, SECRET_LICENSE, "biometric", "explicit_consent", "lawful_basis",
                       "retention_until", "special_categor"):
            assert secret not in text
    # the salts of undisclosed fields are not in the Statement, let alone the export
    disclosed = {d["field"] for d in dataset.disclosures}
    assert "privacy.retention_until" not in disclosed


def test_undisclosed_claims_become_no_assertion(finetune):
    document = spdx_document(finetune, created=CREATED)
    validate(document)
    artifact = by_id(document)[artifact_id(finetune)]
    assert artifact["ai_useSensitivePersonalInformation"] == "noAssertion"
    assert declared_license(document, finetune) == "expandedlicensing_NoAssertionLicense"
    assert "software_copyrightText" not in artifact


# ----------------------------------------------------------------------------- lineage


def test_a_pinned_lineage_entry_exports_like_a_plain_subject(tmp_path, dataset):
    """Lineage entries pinned to the record relied on ({subject, record}) name the same parent."""
    pinned = make_statement(
        tmp_path, "pinned-model", Kind.MODEL,
        {"kind": "model", "copyright": {"license": "Apache-2.0"},
         "lineage": {"trained_on": [{"subject": dataset.record.to_json()["subject"],
                                     "record": "0x" + dataset.record_id.hex()}]},
         "disclose": ["copyright", "lineage"]},
        {"model.safetensors": b"\x01weights"},
    )  # fmt: skip
    document = spdx_document(pinned, {dataset.subject: dataset}, created=CREATED)
    validate(document)
    (trained,) = relationships(document, "trainedOn")
    assert trained["to"] == [artifact_id(dataset)]


def test_model_trained_on_a_known_dataset(dataset, model):
    document = spdx_document(model, {dataset.subject: dataset}, created=CREATED)
    objects = validate(document)
    elements = by_id(document)
    assert objects.find_by_id(artifact_id(model)).__class__ is spdx3.ai_AIPackage

    artifact = elements[artifact_id(model)]
    assert artifact["software_primaryPurpose"] == "model"
    assert artifact["ai_useSensitivePersonalInformation"] == "no"
    (trained,) = relationships(document, "trainedOn")
    assert trained["from"] == artifact_id(model) and trained["to"] == [artifact_id(dataset)]

    # the dataset is a full element: its own claims and license, but not its files
    ancestor = elements[artifact_id(dataset)]
    assert ancestor["type"] == "dataset_DatasetPackage" and ancestor["name"] == "faces"
    assert ancestor["dataset_hasSensitivePersonalInformation"] == "yes"
    assert declared_license(document, dataset) == "CC-BY-4.0"
    files = [o["name"] for o in document["@graph"] if o["type"] == "software_File"]
    assert sorted(files) == ["config.json", "model.safetensors"]

    # a Hugging Face license id becomes a LicenseRef with the URL of its text
    license_element = elements[f"{ID_BASE}{model.subject.hex()}/license/declared"]
    assert license_element["simplelicensing_licenseExpression"] == "Apache-2.0 OR LicenseRef-openrail"
    (uri,) = license_element["simplelicensing_customIdToUri"]
    assert uri["key"] == "LicenseRef-openrail" and uri["value"].startswith("https://")


def test_finetune_descends_from_its_base_model_and_lineage_is_transitive(dataset, model, finetune):
    document = spdx_document(finetune, {model.subject: model, dataset.subject: dataset}, created=CREATED)
    validate(document)
    elements = by_id(document)
    (descends,) = relationships(document, "descendantOf")
    assert descends["from"] == artifact_id(finetune) and descends["to"] == [artifact_id(model)]
    assert "finetune" in descends["comment"]
    (trained,) = relationships(document, "trainedOn")
    assert trained["from"] == artifact_id(model) and trained["to"] == [artifact_id(dataset)]
    assert elements[artifact_id(model)]["type"] == "ai_AIPackage"
    assert elements[artifact_id(dataset)]["dataset_confidentialityLevel"] == "amber"
    assert [o["name"] for o in document["@graph"] if o["type"] == "software_File"] == ["adapter.safetensors"]


def test_unknown_ancestors_are_minimal_elements_named_by_subject(dataset, model, finetune):
    document = spdx_document(finetune, {model.subject: model}, created=CREATED)  # the dataset is missing
    validate(document)
    minimal = by_id(document)[artifact_id(dataset)]
    assert minimal["type"] == "dataset_DatasetPackage"
    assert minimal["externalIdentifier"][0]["identifier"] == "0x" + dataset.subject.hex()
    assert minimal["verifiedUsing"][0]["hashValue"] == dataset.subject.hex()
    assert set(minimal) == {
        "type", "spdxId", "creationInfo", "externalIdentifier", "verifiedUsing", "dataset_datasetType"
    }
    # it says nothing the full element (under the same spdxId) would contradict
    full = by_id(spdx_document(dataset, created=CREATED))[artifact_id(dataset)]
    assert all(full[key] == value for key, value in minimal.items() if key != "externalIdentifier")
    assert minimal["externalIdentifier"][0] in full["externalIdentifier"]


def test_parents_of_undisclosed_lineage_are_related_without_saying_how(tmp_path, dataset):
    hidden = make_statement(
        tmp_path, "hidden", Kind.MODEL,
        {"kind": "model", "lineage": {"trained_on": [dataset.record.to_json()["subject"]]}, "disclose": []},
        {"w.bin": b"w"},
    )  # fmt: skip
    document = spdx_document(hidden, created=CREATED)
    validate(document)
    assert relationships(document, "trainedOn") == []
    (other,) = relationships(document, "other")
    assert other["to"] == [artifact_id(dataset)] and "not disclosed" in other["comment"]
    assert by_id(document)[artifact_id(dataset)]["type"] == "software_Package"
    assert not [o for o in document["@graph"] if o["type"] == "Annotation"]


def test_tested_on_and_sharded_files(tmp_path, dataset):
    evaluated = make_statement(
        tmp_path, "evaluated", Kind.OTHER,
        {"kind": "other", "lineage": {"tested_on": [dataset.record.to_json()["subject"]]}, "disclose": ["lineage"]},
        {"big.bin": b"x" * 10, "small.bin": b"y"},
        shard_size=4,
    )  # fmt: skip
    document = spdx_document(evaluated, {dataset.subject: dataset}, created=CREATED)
    validate(document)
    assert by_id(document)[artifact_id(evaluated)]["type"] == "software_Package"
    (tested,) = relationships(document, "testedOn")
    assert tested["to"] == [artifact_id(dataset)]
    assert relationships(document, "other") == []  # a test set is not a parent
    files = {o["name"]: o for o in document["@graph"] if o["type"] == "software_File"}
    assert "verifiedUsing" not in files["big.bin"] and "3 shards of 4 bytes" in files["big.bin"]["comment"]
    assert files["small.bin"]["verifiedUsing"][0]["hashValue"] == hashlib.sha256(b"y").hexdigest()


# ----------------------------------------------------------------------------- output


def test_output_is_deterministic_and_ids_derive_from_subjects(dataset, model):
    first = spdx_document(model, {dataset.subject: dataset}, created=CREATED)
    again = spdx_document(model, {dataset.subject: dataset}, created=CREATED + timedelta(microseconds=1))
    assert dumps(first) == dumps(again)
    for element in first["@graph"]:
        if "spdxId" in element:
            assert element["spdxId"].startswith(ID_BASE)
    assert by_id(first)[artifact_id(dataset)] == by_id(spdx_document(dataset, created=CREATED))[artifact_id(dataset)]


def test_golden_document(tmp_path):
    """A fine-tune with its model and dataset, byte for byte (PROVENANCE_REGEN_GOLDEN=1 to update on purpose)."""
    dataset = make_dataset(tmp_path, fixed=True)
    model = make_model(tmp_path, dataset, fixed=True)
    finetune = make_finetune(tmp_path, model, fixed=True)
    document = spdx_document(finetune, {model.subject: model, dataset.subject: dataset}, created=CREATED)
    for element in document["@graph"]:
        if element["type"] == "Tool":
            element["name"] = "provenance-ledger"  # its version changes with every release
    text = dumps(document)
    if REGEN:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with PROVENANCE_REGEN_GOLDEN=1"
    assert text == GOLDEN.read_text(encoding="utf-8"), "the SPDX export changed (PROVENANCE_REGEN_GOLDEN=1 to update)"
    validate(json.loads(GOLDEN.read_text(encoding="utf-8")))


def test_created_defaults_to_now_in_utc(dataset):
    naive = spdx_document(dataset, created=datetime(2026, 1, 2, 3, 4, 5))
    assert naive["@graph"][0]["created"] == "2026-01-02T03:04:05Z"
    shifted = spdx_document(dataset, created=datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))))
    assert shifted["@graph"][0]["created"] == "2026-01-02T03:04:05Z"
    now = spdx_document(dataset, creator="Auditor A")
    assert now["@graph"][0]["created"].endswith("Z")
    assert "Auditor A" in dumps(now)
    validate(now)


def test_intoto_document_is_the_statement(dataset):
    assert intoto_document(dataset) == dataset.to_json()
    assert Statement.from_json(intoto_document(dataset)) == dataset


# ----------------------------------------------------------------------------- refusals


def test_disclosures_that_do_not_match_the_claims_root_are_refused(dataset):
    forged = [dict(d) for d in dataset.disclosures]
    for d in forged:
        if d["field"] == "privacy.personal_data":
            d["value"] = "absent"
    statement = Statement.create(
        name=dataset.name, record=dataset.record, publisher=dataset.publisher, signature=dataset.signature,
        chain_id=dataset.chain_id, registry=dataset.registry, manifest=dataset.manifest, disclosures=forged,
    )  # fmt: skip
    with pytest.raises(ClaimsError, match="privacy.personal_data"):
        spdx_document(statement, created=CREATED)


@pytest.mark.parametrize(
    "field, value",
    [
        ("privacy.personal_data", ["present"]),
        ("copyright.license", "not a license ((("),
        ("lineage.trained_on", ["0x12"]),
        ("lineage.base_models", [{"subject": "0x" + "ab" * 32}]),
        ("copyright.holders", "Acme"),
    ],
)
def test_malformed_claims_from_another_tool_are_refused(tmp_path, field, value):
    """Claims committed by another tool can hold any JSON value; the export names the bad one."""
    values = Claims.from_mapping({"kind": "dataset"}).field_values()
    values[field] = value
    commitment = Commitment.from_openings((Opening.of(f, new_salt(), v) for f, v in values.items()), [field])
    manifest = Manifest.from_entries([ManifestEntry("a", 1, hashlib.sha256(b"a").digest())])
    record = Record.create(manifest.subject, Kind.DATASET, commitment.claims_root)
    statement = Statement.create(
        name="odd", record=record, publisher=ACCOUNT.address,
        signature=sign_record(ACCOUNT, record, Domain(CHAIN_ID, REGISTRY)), chain_id=CHAIN_ID, registry=REGISTRY,
        manifest=manifest.to_dict(), disclosures=[d.to_dict() for d in commitment.disclose()],
    )  # fmt: skip
    with pytest.raises(StatementError, match=f"disclosed claim {field} of 0x"):
        spdx_document(statement, created=CREATED)


def test_ancestor_statement_under_another_subject_is_refused(dataset, model, finetune):
    with pytest.raises(StatementError, match="to the Statement of"):
        spdx_document(finetune, {model.subject: dataset}, created=CREATED)
    with pytest.raises(StatementError, match="creator"):
        spdx_document(dataset, creator=" ")


# ----------------------------------------------------------------------------- the validator has teeth


def _mutate_artifact(change):
    def mutate(document, subject_id):
        for element in document["@graph"]:
            if element.get("spdxId") == subject_id:
                change(element)
    return mutate


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_mutate_artifact(lambda e: e.update(dataset_notAField="x")), id="unknown-property"),
        pytest.param(_mutate_artifact(lambda e: e.update(dataset_confidentialityLevel="secret")), id="bad-enum"),
        pytest.param(_mutate_artifact(lambda e: e.pop("dataset_datasetType")), id="missing-required"),
        pytest.param(_mutate_artifact(lambda e: e.update(type="Artifact")), id="abstract-type"),
        pytest.param(_mutate_artifact(lambda e: e.update(dataset_datasetSize=-1)), id="negative-size"),
        pytest.param(_mutate_artifact(lambda e: e.update(suppliedBy="https://nowhere.example/agent")), id="dangling"),
        pytest.param(_mutate_artifact(lambda e: e.update(type="ai_AIPackag")), id="unknown-type"),
        pytest.param(_mutate_artifact(lambda e: e.update(suppliedBy=e["spdxId"])), id="supplier-not-an-agent"),
        pytest.param(_mutate_artifact(lambda e: e.update(dataset_datasetType="noAssertion")), id="list-not-array"),
        pytest.param(_mutate_artifact(lambda e: e.update(software_downloadLocation="not a uri")), id="not-a-uri"),
        pytest.param(
            _mutate_artifact(lambda e: e["verifiedUsing"][0].update(algorithm="keccak256")), id="bad-algorithm"
        ),
        pytest.param(lambda d, _: d["@graph"][0].pop("createdBy"), id="no-creator"),
        pytest.param(lambda d, _: d["@graph"][0].update(created="2026-11-26"), id="bad-timestamp"),
    ],
)
def test_validator_refuses_broken_documents(dataset, mutate):
    document = spdx_document(dataset, created=CREATED)
    mutate(document, artifact_id(dataset))
    with pytest.raises((AssertionError, KeyError, TypeError, ValueError, NotImplementedError)):
        validate(document)


# ----------------------------------------------------------------------------- licenses


@pytest.mark.parametrize(
    "copyright, expression, uris",
    [
        ({"license": None}, "expandedlicensing_NoAssertionLicense", None),
        ({"license": "unknown"}, "expandedlicensing_NoAssertionLicense", None),
        ({"license": "mit AND cc-by-4.0"}, "MIT AND CC-BY-4.0", None),
        ({"license": "LicenseRef-acme", "license_url": "https://acme.example/terms"}, "LicenseRef-acme",
         {"LicenseRef-acme": "https://acme.example/terms"}),
        ({"license": "other", "license_url": "https://acme.example/terms"}, "LicenseRef-other",
         {"LicenseRef-other": "https://acme.example/terms"}),
        ({"license": "MIT OR openrail++"}, "MIT OR LicenseRef-openrail-plus-plus",
         {"LicenseRef-openrail-plus-plus": None}),
    ],
)  # fmt: skip
def test_declared_licenses(tmp_path, copyright, expression, uris):
    statement = make_statement(
        tmp_path, "licensed", Kind.OTHER, {"kind": "other", "copyright": copyright, "disclose": ["copyright"]},
        {"f": b"f"},
    )  # fmt: skip
    document = spdx_document(statement, created=CREATED)
    validate(document)
    assert declared_license(document, statement) == expression
    element = by_id(document).get(f"{ID_BASE}{statement.subject.hex()}/license/declared", {})
    found = {e["key"]: e["value"] for e in element.get("simplelicensing_customIdToUri", [])}
    if uris is None:
        assert found == {}
    else:
        assert found.keys() == uris.keys()
        for key, url in uris.items():
            assert found[key] == url if url else found[key].startswith("https://")

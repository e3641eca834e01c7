"""SPDX 3.0.1 JSON-LD and in-toto exports of an artifact's provenance.

:func:`spdx_document` turns a :class:`~provenance.statement.Statement` (and,
optionally, the Statements of its ancestors) into an SPDX 3.0.1 document in
JSON-LD, using the Core, Software, AI, Dataset and SimpleLicensing profiles:

* the artifact is an ``ai_AIPackage`` (kind model), a ``dataset_DatasetPackage``
  (kind dataset) or a ``software_Package`` (kind other), verified by its
  subject (a ``Hash`` with algorithm ``other``: the subject is a keccak256
  Merkle root, which no SPDX algorithm names) and identified by it (an
  ``ExternalIdentifier`` of type ``other``), supplied by the publisher's
  Ethereum account;
* every file of the manifest is a ``software_File`` with its SHA-256, linked
  by one ``contains`` relationship;
* the disclosed claims go where SPDX has a field (docs/export.md has the
  table); all disclosed claims are also kept verbatim in one ``Annotation``;
* lineage: ``trainedOn`` and ``testedOn`` to datasets, ``descendantOf`` to base
  models, ``other`` (with a comment) to on-chain parents whose relation is not
  disclosed. Ancestors given in ``ancestors`` appear as full elements (their
  own claims and lineage, recursively, without their files); the others as
  minimal elements identified by their subject.

Only disclosed claims are used: the disclosures are checked against the
record's ``claimsRoot`` (:func:`provenance.commitments.disclosed_view`), so a
Statement whose disclosures do not match is refused with a ``ClaimsError``.
An undisclosed field becomes ``noAssertion`` where SPDX has that value and is
left out otherwise; its value never reaches the document.

The output is deterministic: ``spdxId``\\ s derive from subjects
(``https://provenance-ledger.dev/spdx/<subject hex>/...``), so the same
artifact has the same id in every document, and ``created`` can be fixed.

:func:`intoto_document` is the Statement itself (in-toto Statement v1);
:func:`intoto_test_result` an evaluation record's results as an in-toto
Statement with the test-result predicate.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import quote

from provenance import licenses
from provenance.commitments import Disclosure, canonical_json, disclosed_view
from provenance.errors import ClaimsError, StatementError
from provenance.evalfacts import EvaluationFacts, evaluation_facts
from provenance.manifest import Manifest, ManifestEntry
from provenance.record import Kind, hex32
from provenance.statement import Statement

__all__ = [
    "SPDX_CONTEXT",
    "SPEC_VERSION",
    "ID_BASE",
    "DEFAULT_CREATOR",
    "spdx_document",
    "intoto_document",
    "intoto_test_result",
    "TEST_RESULT",
    "dumps",
]

SPDX_CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
#: in-toto's test-result predicate type (:func:`intoto_test_result`).
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
SPEC_VERSION = "3.0.1"
#: Every spdxId this module writes starts here.
ID_BASE = "https://provenance-ledger.dev/spdx/"
DEFAULT_CREATOR = "provenance-ledger"

_CREATION_INFO = "_:creationinfo"
_NO_ASSERTION_LICENSE = "expandedlicensing_NoAssertionLicense"
_PROFILES = ["core", "software", "ai", "dataset", "simpleLicensing", "expandedLicensing"]
# an evaluation record (registry kind 3) is a plain package until evaluation records get their own mapping
_TYPES = {
    Kind.MODEL: "ai_AIPackage", Kind.DATASET: "dataset_DatasetPackage", Kind.OTHER: "software_Package",
    Kind.EVALUATION: "software_Package",
}
_PURPOSE = {Kind.MODEL: "model", Kind.DATASET: "data", Kind.OTHER: "other", Kind.EVALUATION: "other"}
_PRESENCE = {"present": "yes", "absent": "no", "unknown": "noAssertion"}
_SUBJECT_COMMENT = (
    "provenance-ledger subject: root of an OpenZeppelin StandardMerkleTree over the manifest, one leaf "
    "per file keccak256(keccak256(abi.encode(string path, uint256 size, bytes32 sha256))), "
    "each node keccak256 of its two children sorted"
)
_SUBJECT = re.compile(r"0x[0-9a-fA-F]{64}")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_LICENSE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+:-]*")


def intoto_document(statement: Statement) -> dict[str, Any]:
    """The in-toto Statement v1 as it ships beside the artifact (``provenance.json``)."""
    return statement.to_json()


def intoto_test_result(statement: Statement) -> dict[str, Any]:
    """An in-toto Statement v1 with the test-result predicate (``https://in-toto.io/attestation/test-result/v0.1``)
    for an evaluation record: its subject the evaluated model, one test per disclosed result.

    The predicate's ``result`` is pass/fail; an evaluation measures, it does not judge (a verifier's
    ``require.evaluations`` does). So ``result`` is ``PASSED`` meaning "ran, and recorded every result
    listed", each result is named in ``passedTests`` (``task/metric``, with split and shots), and the
    numbers go in ``metrics``, a field of this exporter that in-toto consumers ignore (the framework's
    parsing rules): ``{test, task, metric, value, stderr, split, nShot, benchmark}``. ``configuration``
    holds the results document (the record's subject, with the harness), the run's configuration digest
    and the benchmarks; ``evaluation`` names the record, its evaluator and chain. The document is not
    signed: the signed evidence is the record it names (``provenance verify``).
    Raises :class:`~provenance.errors.StatementError` for a record of another kind, or one whose model or
    results are not disclosed.
    """
    from provenance.statement import STATEMENT_TYPE, SUBJECT_DIGEST

    facts = evaluation_facts(statement)
    if statement.record.kind is not Kind.EVALUATION:
        raise StatementError(f"record {facts.record_id} is not an evaluation (kind "
                             f"{statement.record.kind.name.lower()}); the test-result predicate is for evaluations")
    if facts.model is None or not facts.results:
        missing = "evaluation.model" if facts.model is None else "evaluation.results"
        raise StatementError(f"the Statement of evaluation {facts.record_id} does not disclose {missing}",
                             hint="export a Statement that discloses the evaluation (provenance disclose)")
    tests, metrics = [], []
    for r in facts.results:
        qualifiers = [x for x in (r.split, None if r.n_shot is None else f"{r.n_shot}-shot") if x]
        name = f"{r.task}/{r.metric}" + (f" ({', '.join(qualifiers)})" if qualifiers else "")
        tests.append(name)
        metrics.append({"test": name, "task": r.task, "metric": r.metric, "value": r.value, "stderr": r.stderr,
                        "split": r.split, "nShot": r.n_shot, "benchmark": r.benchmark})
    results: dict[str, Any] = {"name": statement.name or "results",
                               "digest": {SUBJECT_DIGEST: statement.subject.hex()}}
    if facts.harness:
        results["annotations"] = {"harness": facts.harness, "harnessVersion": facts.harness_version}
    configuration = [results]
    if facts.config_digest:
        configuration.append({"name": "configuration", "digest": {"sha256": facts.config_digest[2:]}})
    configuration += [{"name": "benchmark", "digest": {SUBJECT_DIGEST: b.subject[2:]},
                       **({"annotations": {"record": b.record}} if b.record else {})} for b in facts.benchmarks]
    predicate: dict[str, Any] = {
        "result": "PASSED",
        "configuration": configuration,
        "passedTests": tests,
        "warnedTests": [],
        "failedTests": [],
        "metrics": metrics,
        "evaluation": {
            "recordId": facts.record_id, "evaluator": facts.publisher, "evaluatorName": facts.evaluator,
            "category": facts.category, "date": facts.date, "modelRecord": facts.model.record,
            "chain": {"chainId": statement.chain_id, "registry": statement.registry},
        },
    }
    if _URI.match(statement.record.uri) and statement.record.uri.startswith(("https://", "http://")):
        predicate["url"] = statement.record.uri
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": facts.model.subject, "digest": {SUBJECT_DIGEST: facts.model.subject[2:]}}],
        "predicateType": TEST_RESULT,
        "predicate": predicate,
    }


def dumps(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """The document as text: UTF-8 characters kept, trailing newline.

    ``indent=None`` writes it compact: for a 100,000-file dataset, 62 MB
    instead of 76 MB, in less than half the time.
    """
    if indent is None:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"


def spdx_document(
    statement: Statement,
    ancestors: Mapping[bytes, Statement] = {},  # noqa: B006 - read only
    *,
    created: datetime | None = None,
    creator: str = DEFAULT_CREATOR,
    evaluations: Sequence[Statement] = (),
) -> dict[str, Any]:
    """An SPDX 3.0.1 JSON-LD document of ``statement``'s artifact and its lineage.

    ``ancestors`` maps subjects to the Statements of artifacts the lineage
    reaches (datasets trained or tested on, base models, their own parents);
    those found become full elements, the others minimal ones. ``created`` is
    the document's creation time (default: now), taken as UTC when naive and
    written to the second. ``creator`` names the agent making the document.

    Raises :class:`~provenance.errors.ClaimsError` when a Statement's
    disclosures do not match its ``claimsRoot``,
    :class:`~provenance.errors.ManifestError` for a malformed manifest, and
    :class:`~provenance.errors.StatementError` when a manifest does not give
    the record's subject, a disclosed value has the wrong shape (claims made
    by another tool) or ``ancestors`` files a Statement under another subject.

    Evaluations (issue 16): the document of an evaluation record puts its
    disclosed results on the evaluated model, an ``ai_AIPackage``, as
    ``ai_metric`` entries, with ``hasEvidence`` from the model to the
    evaluation and ``testedOn`` from the model to the benchmarks. For a model,
    ``evaluations`` (Statements of its evaluation records; those of other
    weights are left out) add their results to its ``ai_metric`` the same way.
    """
    if not isinstance(creator, str) or not creator.strip():
        raise StatementError("the SPDX document's creator must be a non-empty name")
    builder = _Builder(statement.subject, _timestamp(created), creator)
    builder.build(statement, ancestors)
    if statement.record.kind is Kind.EVALUATION:
        builder.add_evaluation(statement)
    elif statement.record.kind is Kind.MODEL:
        for evaluation in evaluations:
            facts = evaluation_facts(evaluation)
            if facts.model is not None and facts.model.subject == hex32(statement.subject):
                builder.add_evaluation(evaluation)
    return builder.document()


def _metric_entries(facts: EvaluationFacts) -> list[dict[str, Any]]:
    """``ai_metric`` entries of an evaluation's results: key ``task/metric (split, n-shot); record 0x..``, value
    the number as text; the standard error as its own entry (key ending ``; stderr``)."""
    entries = []
    for r in facts.results:
        qualifiers = [x for x in (r.split, None if r.n_shot is None else f"{r.n_shot}-shot") if x]
        key = f"{r.task}/{r.metric}" + (f" ({', '.join(qualifiers)})" if qualifiers else "") + \
            f"; record {facts.record_id}"
        entries.append({"type": "DictionaryEntry", "key": key, "value": f"{r.value:g}"})
        if r.stderr is not None:
            entries.append({"type": "DictionaryEntry", "key": f"{key}; stderr", "value": f"{r.stderr:g}"})
    return entries


# --------------------------------------------------------------------------- helpers


def _timestamp(created: datetime | None) -> str:
    when = created if created is not None else datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _artifact_id(subject: bytes) -> str:
    return f"{ID_BASE}{subject.hex()}/artifact"


class _Disclosed:
    """The disclosed claims of one Statement, verified against its claimsRoot, read with type checks.

    Claims from another tool may hold any JSON value: a value of the wrong
    shape is refused with a :class:`StatementError` rather than written out.
    """

    def __init__(self, statement: Statement) -> None:
        self.subject = statement.subject
        disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
        self.values = disclosed_view(statement.record.claims_root, disclosures)

    def _refuse(self, field: str, expected: str) -> StatementError:
        return StatementError(
            f"the disclosed claim {field} of {hex32(self.subject)} is not {expected}: {self.values[field]!r}",
            hint="the Statement was not made by this tool's claims loader; fix the claims and register again",
        )

    def text(self, field: str) -> str | None:
        value = self.values.get(field)
        if value is not None and not isinstance(value, str):
            raise self._refuse(field, "a string")
        return value or None

    def choice(self, field: str, allowed: tuple[str, ...]) -> str | None:
        value = self.values.get(field)
        if value is not None and value not in allowed:
            raise self._refuse(field, "one of " + ", ".join(allowed))
        return value

    def texts(self, field: str) -> list[str]:
        value = self.values.get(field)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._refuse(field, "a list of strings")
        return value

    def subjects(self, field: str) -> list[bytes]:
        """A list of subjects, each plain (older claims) or pinned to a record (``{subject, record}``)."""
        value = self.values.get(field)
        items = value if isinstance(value, list) else [] if value is None else None
        if items is not None:
            items = [v.get("subject") if isinstance(v, dict) and set(v) == {"subject", "record"} else v for v in items]
        if items is None or not all(isinstance(v, str) and _SUBJECT.fullmatch(v) for v in items):
            raise self._refuse(field, "a list of subjects (0x and 64 hex digits), plain or as {subject, record}")
        return [bytes.fromhex(v[2:]) for v in items]

    def base_models(self) -> list[tuple[bytes, str]]:
        field = "lineage.base_models"
        value = self.values.get(field) or []
        expected = "a list of {subject, relation}"
        if not isinstance(value, list):
            raise self._refuse(field, expected)
        refs = []
        for item in value:
            if not (isinstance(item, dict) and isinstance(item.get("subject"), str)
                    and _SUBJECT.fullmatch(item["subject"]) and isinstance(item.get("relation"), str)):  # fmt: skip
                raise self._refuse(field, expected)
            refs.append((bytes.fromhex(item["subject"][2:]), item["relation"]))
        return refs

    def mapping(self, field: str) -> Mapping[str, Any] | None:
        value = self.values.get(field)
        if value is not None and not isinstance(value, dict):
            raise self._refuse(field, "a mapping")
        return value

    def license(self) -> str | None:
        expression = self.text("copyright.license")
        if expression is None:
            return None
        try:
            expression = licenses.normalize_expression(expression)
        except ClaimsError:
            raise self._refuse("copyright.license", "a valid license expression") from None
        return None if expression == "unknown" else expression


@functools.cache
def _huggingface_licenses() -> dict[str, str]:
    """Hugging Face license id -> URL of its text, from the project's license table."""
    raw = json.loads(resources.files("provenance").joinpath("data/licenses.json").read_text("utf-8"))
    return {key: item["url"] for key, item in raw["huggingface"].items()}


def _license_ref(hf_id: str) -> str:
    """``LicenseRef-<id>`` for a Hugging Face id.

    ``+`` is not allowed there: ``openrail++`` -> ``openrail-plus-plus``.
    """
    return "LicenseRef-" + hf_id.replace("+", "-plus")


def _spdx_expression(expression: str, license_url: str | None) -> tuple[str, dict[str, str]]:
    """The expression with Hugging Face ids as LicenseRefs, and each LicenseRef's URL where known."""
    known = _huggingface_licenses()
    uris: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in known:
            ref = _license_ref(token)
            url = license_url if token == "other" and license_url else known[token]
            uris[ref] = url
            return ref
        if token.startswith("LicenseRef-") and license_url:
            uris[token] = license_url
        return token

    return _LICENSE_TOKEN.sub(replace, expression), uris


def _annotation_text(claims: Mapping[str, Any]) -> str:
    return canonical_json(dict(claims)).decode("utf-8")


def _anonymization(claims: _Disclosed) -> list[str]:
    methods = list(claims.texts("privacy.anonymization"))
    dp = claims.mapping("privacy.differential_privacy")
    if dp is not None and "differential_privacy" in methods:
        methods[methods.index("differential_privacy")] = (
            f"differential_privacy (epsilon={dp.get('epsilon')}, delta={dp.get('delta')}, unit={dp.get('unit')})"
        )
    return methods


class _Builder:
    """Collects the elements of one document; ids and order are deterministic."""

    def __init__(self, subject: bytes, created: str, creator: str) -> None:
        self.subject = subject
        self.base = f"{ID_BASE}{subject.hex()}"
        self.created = created
        self.creator_id = f"{self.base}/creator"
        self.tool_id = f"{ID_BASE}tool/provenance-ledger"
        self.elements: list[dict[str, Any]] = [
            {
                "type": "Agent",
                "spdxId": self.creator_id,
                "creationInfo": _CREATION_INFO,
                "name": creator,
            },
            {
                "type": "Tool",
                "spdxId": self.tool_id,
                "creationInfo": _CREATION_INFO,
                "name": _tool_name(),
            },
        ]
        self.ids: set[str] = {self.creator_id, self.tool_id}
        self.root_name = ""

    def add(self, element: dict[str, Any]) -> None:
        if element["spdxId"] not in self.ids:
            self.ids.add(element["spdxId"])
            self.elements.append(element)

    # ---------------------------------------------------------------- graph

    def build(self, root: Statement, ancestors: Mapping[bytes, Statement]) -> None:
        seen = {root.subject}
        queue = [(root, True)]
        while queue:
            statement, is_root = queue.pop(0)
            claims = _Disclosed(statement)
            self.add_artifact(statement, claims, files=is_root)
            for target, kind in self.add_lineage(statement, claims):
                if target in seen:
                    continue
                seen.add(target)
                found = ancestors.get(target)
                if found is None:
                    self.add_minimal(target, kind)
                    continue
                if found.subject != target:
                    raise StatementError(
                        f"ancestors maps {hex32(target)} to the Statement of {hex32(found.subject)}",
                        hint="key each ancestor Statement by its own subject",
                    )
                queue.append((found, False))

    def add_publisher(self, statement: Statement) -> str:
        spdx_id = f"{ID_BASE}publisher/{statement.chain_id}/{statement.publisher}"
        self.add({
            "type": "Agent",
            "spdxId": spdx_id,
            "creationInfo": _CREATION_INFO,
            "name": statement.publisher,
            "externalIdentifier": [{
                "type": "ExternalIdentifier",
                "externalIdentifierType": "other",
                "identifier": f"eip155:{statement.chain_id}:{statement.publisher}",
                "comment": "CAIP-10 account id of the publisher who signed the record (EIP-712)",
            }],
        })  # fmt: skip
        return spdx_id

    def add_artifact(self, statement: Statement, claims: _Disclosed, *, files: bool) -> None:
        record = statement.record
        kind = record.kind
        spdx_id = _artifact_id(record.subject)
        name = statement.name or claims.text("name") or hex32(record.subject)
        if statement.subject == self.subject:
            self.root_name = name
        element: dict[str, Any] = {
            "type": _TYPES[kind],
            "spdxId": spdx_id,
            "creationInfo": _CREATION_INFO,
            "name": name,
            "externalIdentifier": [
                _subject_identifier(record.subject),
                {
                    "type": "ExternalIdentifier",
                    "externalIdentifierType": "other",
                    "identifier": hex32(statement.record_id),
                    "issuingAuthority": f"eip155:{statement.chain_id}:{statement.registry}",
                    "comment": "recordId of the publisher's record in the ProvenanceRegistry at issuingAuthority",
                },
            ],
            "verifiedUsing": [_subject_hash(record.subject)],
            "suppliedBy": self.add_publisher(statement),
            "software_primaryPurpose": _PURPOSE[kind],
        }
        if claims.text("version"):
            element["software_packageVersion"] = claims.text("version")
        if _URI.match(record.uri):
            element["software_downloadLocation"] = record.uri
        holders = claims.texts("copyright.holders")
        if holders:
            element["software_copyrightText"] = "\n".join(holders)
        if claims.text("copyright.attribution"):
            element["software_attributionText"] = [claims.text("copyright.attribution")]

        presence = claims.choice("privacy.personal_data", tuple(_PRESENCE))
        personal = _PRESENCE[presence] if presence is not None else "noAssertion"
        manifest = _manifest(statement)
        if kind is Kind.MODEL:
            element["ai_useSensitivePersonalInformation"] = personal
        elif kind is Kind.DATASET:
            element["dataset_datasetType"] = ["noAssertion"]
            element["dataset_hasSensitivePersonalInformation"] = personal
            methods = _anonymization(claims)
            if methods:
                element["dataset_anonymizationMethodUsed"] = methods
            confidentiality = claims.choice("privacy.confidentiality", ("red", "amber", "green", "clear"))
            if confidentiality:
                element["dataset_confidentialityLevel"] = confidentiality
            if manifest is not None:
                element["dataset_datasetSize"] = manifest.total_size
        self.add(element)
        self.add_license(record.subject, claims)
        if claims.values:
            self.add({
                "type": "Annotation",
                "spdxId": f"{ID_BASE}{record.subject.hex()}/annotation/disclosed-claims",
                "creationInfo": _CREATION_INFO,
                "annotationType": "other",
                "subject": spdx_id,
                "contentType": "application/json",
                "statement": _annotation_text(claims.values),
                "comment": "the claims the publisher disclosed, each verified against the record's claimsRoot; "
                "fields not listed were not disclosed",
            })  # fmt: skip
        if files and manifest is not None:
            self.add_files(record.subject, manifest)

    def add_license(self, subject: bytes, claims: _Disclosed) -> None:
        base = f"{ID_BASE}{subject.hex()}"
        expression = claims.license()
        to: str
        if expression:
            spdx_expression, uris = _spdx_expression(expression, claims.text("copyright.license_url"))
            license_element: dict[str, Any] = {
                "type": "simplelicensing_LicenseExpression",
                "spdxId": f"{base}/license/declared",
                "creationInfo": _CREATION_INFO,
                "simplelicensing_licenseExpression": spdx_expression,
            }
            if uris:
                license_element["simplelicensing_customIdToUri"] = [
                    {"type": "DictionaryEntry", "key": key, "value": uris[key]} for key in sorted(uris)
                ]
            self.add(license_element)
            to = license_element["spdxId"]
        else:  # undisclosed, null or unknown
            to = _NO_ASSERTION_LICENSE
        self.add({
            "type": "Relationship",
            "spdxId": f"{base}/relationship/hasDeclaredLicense",
            "creationInfo": _CREATION_INFO,
            "from": _artifact_id(subject),
            "relationshipType": "hasDeclaredLicense",
            "to": [to],
        })  # fmt: skip

    def add_files(self, subject: bytes, manifest: Manifest) -> None:
        base = f"{ID_BASE}{subject.hex()}"
        by_path: dict[str, list[ManifestEntry]] = {}
        for entry in manifest.entries:  # sorted by path bytes, shards by offset
            by_path.setdefault(entry.path, []).append(entry)
        file_ids = []
        for path, entries in by_path.items():
            spdx_id = f"{base}/file/{quote(path, safe='/')}"
            element: dict[str, Any] = {
                "type": "software_File",
                "spdxId": spdx_id,
                "creationInfo": _CREATION_INFO,
                "name": path,
                "software_fileKind": "file",
            }
            if len(entries) == 1 and entries[0].offset is None:
                element["verifiedUsing"] = [
                    {"type": "Hash", "algorithm": "sha256", "hashValue": entries[0].sha256_hex}
                ]
            else:
                size = sum(e.size for e in entries)
                element["comment"] = (
                    f"{size} bytes hashed as {len(entries)} shards of {manifest.shard_size} bytes; "
                    "the SHA-256 of each shard is in the Statement's manifest"
                )
            self.add(element)
            file_ids.append(spdx_id)
        if file_ids:
            self.add({
                "type": "Relationship",
                "spdxId": f"{base}/relationship/contains",
                "creationInfo": _CREATION_INFO,
                "from": _artifact_id(subject),
                "relationshipType": "contains",
                "to": file_ids,
                "completeness": "complete",
                "comment": (
                    "every regular file of the artifact's manifest "
                    "(ignored: .git, .cache/huggingface, provenance.json)"
                ),
            })  # fmt: skip

    def add_evaluation(self, statement: Statement) -> None:
        """An evaluation record's results on the model it evaluated: ``ai_metric`` entries on the model's
        ``ai_AIPackage``, ``hasEvidence`` from the model to the evaluation, ``testedOn`` to the benchmarks."""
        facts = evaluation_facts(statement)
        if facts.model is None:
            return
        model = bytes.fromhex(facts.model.subject[2:])
        model_id = _artifact_id(model)
        if model_id not in self.ids:
            self.add_minimal(model, Kind.MODEL)
        element = next(e for e in self.elements if e["spdxId"] == model_id)
        if element["type"] != "ai_AIPackage":
            return  # the subject is known here as something other than a model: no AI profile to put it in
        element.setdefault("ai_metric", []).extend(_metric_entries(facts))
        evaluation_id = _artifact_id(statement.subject)
        if evaluation_id not in self.ids:
            self.add_minimal(statement.subject, Kind.EVALUATION)
        base = f"{ID_BASE}{model.hex()}/relationship"
        who = f"{facts.evaluator} ({facts.publisher})" if facts.evaluator else facts.publisher
        self.add({
            "type": "Relationship",
            "spdxId": f"{base}/hasEvidence/{statement.record_id.hex()}",
            "creationInfo": _CREATION_INFO,
            "from": model_id,
            "relationshipType": "hasEvidence",
            "to": [evaluation_id],
            "comment": f"evaluation record {facts.record_id} by {who}"
                       + (f", category {facts.category}" if facts.category else "")
                       + "; its results are the model's ai_metric entries naming this record",
        })  # fmt: skip
        benchmarks = [bytes.fromhex(b.subject[2:]) for b in facts.benchmarks]
        for benchmark in benchmarks:
            if _artifact_id(benchmark) not in self.ids:
                self.add_minimal(benchmark, Kind.DATASET)
        if benchmarks:
            self.add({
                "type": "Relationship",
                "spdxId": f"{base}/testedOn/{statement.record_id.hex()}",
                "creationInfo": _CREATION_INFO,
                "from": model_id,
                "relationshipType": "testedOn",
                "to": [_artifact_id(b) for b in benchmarks],
                "comment": f"benchmarks of the evaluation record {facts.record_id}",
            })  # fmt: skip

    def add_lineage(self, statement: Statement, claims: _Disclosed) -> list[tuple[bytes, Kind]]:
        """Relationships from the artifact to its lineage; returns the targets with their likely kind."""
        if statement.record.kind is Kind.EVALUATION:
            return []  # its parents are what it evaluated, not what it derives from: add_evaluation says so
        subject = statement.subject
        base = f"{ID_BASE}{subject.hex()}/relationship"
        source = _artifact_id(subject)
        targets: list[tuple[bytes, Kind]] = []
        covered: set[bytes] = set()

        def relationship(spdx_id: str, kind: str, to: list[bytes], **extra: Any) -> None:
            self.add({
                "type": "Relationship",
                "spdxId": spdx_id,
                "creationInfo": _CREATION_INFO,
                "from": source,
                "relationshipType": kind,
                "to": [_artifact_id(t) for t in to],
                **extra,
            })  # fmt: skip

        for field, kind in (("lineage.trained_on", "trainedOn"), ("lineage.tested_on", "testedOn")):
            subjects = claims.subjects(field)
            if subjects:
                relationship(f"{base}/{kind}", kind, subjects)
                targets.extend((s, Kind.DATASET) for s in subjects)
                if field == "lineage.trained_on":
                    covered.update(subjects)
        for parent, relation in claims.base_models():
            relationship(
                f"{base}/descendantOf/{parent.hex()}", "descendantOf", [parent],
                comment=f"base model; relation: {relation}",
            )  # fmt: skip
            targets.append((parent, Kind.MODEL))
            covered.add(parent)
        for parent in statement.record.parents:
            if parent in covered:
                continue
            relationship(
                f"{base}/other/{parent.hex()}", "other", [parent],
                comment="derived from: a parent in the signed record; the lineage claim that "
                "says how (trained_on or base_models) is not disclosed",
            )  # fmt: skip
            targets.append((parent, Kind.OTHER))
        return targets

    def add_minimal(self, subject: bytes, kind: Kind) -> None:
        """An artifact known only by its subject: what its full element also says, nothing more."""
        element: dict[str, Any] = {
            "type": _TYPES[kind],
            "spdxId": _artifact_id(subject),
            "creationInfo": _CREATION_INFO,
            "externalIdentifier": [_subject_identifier(subject)],
            "verifiedUsing": [_subject_hash(subject)],
        }
        if kind is Kind.DATASET:
            element["dataset_datasetType"] = ["noAssertion"]
        self.add(element)

    # ---------------------------------------------------------------- output

    def document(self) -> dict[str, Any]:
        doc_id = f"{self.base}/document"
        creation_info = {
            "type": "CreationInfo",
            "@id": _CREATION_INFO,
            "created": self.created,
            "createdBy": [self.creator_id],
            "createdUsing": [self.tool_id],
            "specVersion": SPEC_VERSION,
        }
        document = {
            "type": "SpdxDocument",
            "spdxId": doc_id,
            "creationInfo": _CREATION_INFO,
            "name": f"provenance of {self.root_name}",
            "comment": "exported from a provenance-ledger Statement; only disclosed claims appear",
            "profileConformance": list(_PROFILES),
            "rootElement": [_artifact_id(self.subject)],
            "element": [e["spdxId"] for e in self.elements],
        }
        return {"@context": SPDX_CONTEXT, "@graph": [creation_info, document, *self.elements]}


def _tool_name() -> str:
    try:
        return f"provenance-ledger {version('provenance-ledger')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "provenance-ledger"


def _subject_identifier(subject: bytes) -> dict[str, Any]:
    return {
        "type": "ExternalIdentifier",
        "externalIdentifierType": "other",
        "identifier": hex32(subject),
        "issuingAuthority": "provenance-ledger",
        "comment": _SUBJECT_COMMENT,
    }


def _subject_hash(subject: bytes) -> dict[str, Any]:
    return {"type": "Hash", "algorithm": "other", "hashValue": subject.hex(), "comment": _SUBJECT_COMMENT}


def _manifest(statement: Statement) -> Manifest | None:
    if statement.manifest is None:
        return None
    manifest = Manifest.from_dict(statement.manifest)
    if manifest.subject != statement.subject:
        raise StatementError(
            f"the manifest in the Statement of {hex32(statement.subject)} gives subject {manifest.subject_hex}",
            hint="the Statement was altered; export from the artifact's original provenance.json",
        )
    return manifest


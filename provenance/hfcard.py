"""Hugging Face cards and claims, both ways: a claims draft from a card, a card block from a Statement.

A model or dataset card (the repository's ``README.md``) starts with YAML
metadata the Hub reads: ``license`` (with ``license_name`` and
``license_link`` for ``other``), ``datasets``, ``base_model`` and
``base_model_relation``; a dataset card's ``source_datasets`` says what it
extends (``extended|ORG/NAME``). Publishers have written all of that already.

* :func:`load_card` reads a card with huggingface_hub's own card classes
  (:class:`~huggingface_hub.ModelCard`, :class:`~huggingface_hub.DatasetCard`),
  from a local file only (never the network).
* :func:`draft_claims` turns it into a claims YAML draft (docs/claims.md):
  the license mapped to what the verifier classifies
  (``provenance/data/hf_licenses.json``, from the Hub's documented license
  list), the datasets and base models resolved to registered subjects and
  records by a :class:`Resolver`, and every claim the card does not give left
  for the publisher as a commented line. A name nothing resolves is a
  ``# TODO`` line, never a made-up subject. The text is built here (PyYAML
  cannot write comments) and parses with :meth:`Claims.from_file` as it is.
* :func:`card_block` goes back: the metadata a publisher adds to the card
  from a registered Statement (license, base_model with its relation,
  datasets, and a ``provenance`` entry naming the subject and the record), so
  the Hub page and the ledger say the same.

Resolving a name (``ORG/NAME``): the registry knows subjects, not names. The
keys that exist are a Statement's ``name``, its disclosed ``name`` claim and
a record uri ``hf://[datasets/]ORG/NAME@REVISION/...``. :class:`Resolver`
looks for them in the local store, the local indexes of the registry's
events (records registered directly, by their uri) and, when given, a
verifier service's event log (``GET /v1/events``, the newest
:data:`MAX_SERVICE_EVENTS` registrations: the service has no look-up by name).
The record of the subject found is then chosen as ``register`` pins a parent
(:mod:`provenance.pins`): the publisher's own newest, else the only
publisher's newest, else left for the publisher to pin.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from provenance import licenses
from provenance._text import printable
from provenance.commitments import Disclosure, disclosed_view, verify_disclosure
from provenance.errors import ClaimsError, FetchError, InvalidValue, StatementError
from provenance.record import Kind, hex32

if TYPE_CHECKING:  # pragma: no cover
    from provenance.index import Index
    from provenance.statement import Statement
    from provenance.store import Store

__all__ = [
    "Card",
    "CardKind",
    "Found",
    "Resolution",
    "Resolver",
    "ServiceRecords",
    "LicenseDraft",
    "MAX_SERVICE_EVENTS",
    "load_card",
    "repo_of_snapshot",
    "hub_licenses",
    "claims_license",
    "draft_claims",
    "hub_license",
    "hub_name",
    "card_block",
    "model_index",
]

CardKind = Literal["model", "dataset"]
#: The newest registrations read from a service's event log when resolving names (20 pages of 500).
MAX_SERVICE_EVENTS = 10_000
_SERVICE_PAGE = 500
_HUB = "https://huggingface.co"
#: A Hub repository id: ORG/NAME, or a legacy NAME without organisation (gpt2, squad).
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?", re.ASCII)
_REF_CHARS = re.compile(r"[^A-Za-z0-9.-]+")
#: Keys only a dataset card has / keys a model card has (huggingface_hub's DatasetCardData, ModelCardData).
_DATASET_KEYS = frozenset({
    "task_categories", "task_ids", "size_categories", "annotations_creators", "language_creators",
    "multilinguality", "source_datasets", "pretty_name", "dataset_info", "configs", "train-eval-index",
    "config_names",
})  # fmt: skip
_MODEL_KEYS = frozenset({
    "base_model", "base_model_relation", "library_name", "pipeline_tag", "model-index", "widget", "inference",
    "datasets",
})  # fmt: skip
_RELATIONS = ("finetune", "adapter", "quantized", "merge")  # the Hub's values are the claims' values


# ---------------------------------------------------------------- the card


@dataclass(frozen=True)
class Card:
    """A card's metadata, as huggingface_hub read it, and where it came from.

    ``repo_id`` (``ORG/NAME``) and ``revision`` are known when the card came
    from a Hugging Face cache snapshot or an ``hf://`` target, or were given.
    """

    path: Path
    kind: CardKind
    data: Mapping[str, Any]
    repo_id: str | None = None
    revision: str | None = None

    @property
    def repo_url(self) -> str | None:
        """The repository's page on the Hub, when its id is known."""
        if self.repo_id is None:
            return None
        return f"{_HUB}/{'datasets/' if self.kind == 'dataset' else ''}{self.repo_id}"


def repo_of_snapshot(path: Path) -> tuple[CardKind, str, str] | None:
    """(kind, ``ORG/NAME``, commit) of a model or dataset snapshot of the Hugging Face cache
    (``.../models--ORG--NAME/snapshots/COMMIT``, or a file in one), read by :func:`provenance.hfcache.snapshot_of`;
    else None."""
    from provenance.hfcache import snapshot_of

    snapshot = snapshot_of(path)
    if snapshot is None or snapshot.repo_type not in ("model", "dataset"):
        return None
    return ("model" if snapshot.repo_type == "model" else "dataset"), snapshot.repo_id, snapshot.commit


def load_card(
    path: Path | str,
    *,
    kind: CardKind | None = None,
    repo_id: str | None = None,
    revision: str | None = None,
) -> Card:
    """Read the card at ``path`` (a ``README.md``, or a directory holding one) with huggingface_hub's card classes.

    ``kind`` wins; else a cache snapshot's repository type; else the metadata
    decides (dataset keys such as ``task_categories`` and no model keys: a
    dataset card). Raises :class:`ClaimsError` for a missing, unreadable or
    malformed card.
    """
    from huggingface_hub import DatasetCard, ModelCard, RepoCard  # lazy: ~0.3 s of imports

    path = Path(path)
    card_path = path / "README.md" if path.is_dir() else path
    if not card_path.is_file():
        raise ClaimsError(
            f"no card at {card_path}" if path.is_dir() else f"card {card_path} does not exist",
            hint="give a README.md, a directory holding one, or hf://ORG/NAME",
        )
    try:
        text = card_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ClaimsError(f"card {card_path} is not UTF-8 text") from None
    except OSError as err:
        raise ClaimsError(f"card {card_path} cannot be read: {err.strerror}") from None
    snapshot = repo_of_snapshot(card_path.parent)
    if snapshot is not None:
        kind = kind or snapshot[0]
        repo_id = repo_id or snapshot[1]
        revision = revision or snapshot[2]
    raw = _card_data(RepoCard, text, card_path)
    if kind is None:
        keys = set(raw)
        kind = "dataset" if keys & _DATASET_KEYS and not keys & _MODEL_KEYS else "model"
    data = _card_data(DatasetCard if kind == "dataset" else ModelCard, text, card_path)
    return Card(card_path, kind, data, repo_id, revision)


def _card_data(cls: type[Any], text: str, path: Path) -> dict[str, Any]:
    import yaml

    try:
        # ignore_metadata_errors: an eval-results block the Hub would reject says nothing about provenance
        card = cls(text, ignore_metadata_errors=True)
    except (ValueError, yaml.YAMLError) as err:
        raise ClaimsError(f"card {path}: its YAML metadata cannot be read ({printable(str(err))})") from None
    data = card.data.to_dict()
    if not isinstance(data, dict):  # pragma: no cover - to_dict always answers a dict
        raise ClaimsError(f"card {path}: its metadata is not a mapping")
    return data


# ---------------------------------------------------------------- licenses


@functools.cache
def hub_licenses() -> Mapping[str, str | None]:
    """Hub license id -> the ``copyright.license`` it becomes (None: ``other``), from hf_licenses.json."""
    raw = json.loads(resources.files("provenance").joinpath("data/hf_licenses.json").read_text("utf-8"))
    return {key: item["license"] for key, item in raw["licenses"].items()}


@functools.cache
def _hub_ids() -> Mapping[str, str]:
    """The reverse: a claims license id -> the Hub id a card writes for it."""
    return {value: key for key, value in hub_licenses().items() if value is not None}


@dataclass(frozen=True)
class LicenseDraft:
    """What the draft says of the license: the values (None: not given) and comment lines for the publisher."""

    license: str | None
    license_url: str | None
    notes: tuple[str, ...] = ()
    url_todo: str | None = None  # why license_url is left for the publisher


def _license_ref(name: str) -> str:
    """``LicenseRef-<name>``: only letters, digits, ``.`` and ``-`` (``+`` reads ``-plus``, others ``-``)."""
    cleaned = _REF_CHARS.sub("-", name.replace("+", "-plus")).strip("-")
    return "LicenseRef-" + (cleaned or "other")


def _one_license(hub_id: str, name: str | None) -> tuple[str, str | None]:
    """(claims id, a note) for one Hub license id."""
    hub_id = hub_id.strip()
    table = hub_licenses()
    if hub_id.lower() == "other":
        if name:
            return _license_ref(name), None
        return "other", "the card says license: other without license_name"
    if hub_id.lower() in table:
        mapped = table[hub_id.lower()]
        assert mapped is not None  # only 'other' maps to None
        return mapped, None
    try:
        return licenses.normalize_expression(hub_id), None  # an SPDX id the Hub list does not name (eupl-1.2)
    except ClaimsError:
        ref = _license_ref(hub_id)
        return ref, f"{printable(hub_id)!r} is neither a Hub license id nor SPDX: written {ref}"


def _absolute_link(link: str, card: Card) -> tuple[str | None, str | None]:
    """(license_url, why not) for a card's ``license_link``: a URL, or a file of the repository."""
    link = link.strip()
    if link.startswith(("https://", "http://")):
        return link, None
    if link and not link.startswith(("/", "..")) and "://" not in link and card.repo_url is not None:
        return f"{card.repo_url}/blob/{card.revision or 'main'}/{link.lstrip('./')}", None
    return None, f"the card links {printable(link)!r}: give the license text's http(s) URL"


def claims_license(card: Card) -> LicenseDraft:
    """The card's license as ``copyright.license`` and ``license_url``, with notes for the publisher.

    Hub ids become SPDX ids where they name one (``apache-2.0`` -> ``Apache-2.0``,
    ``gpl-3.0`` -> ``GPL-3.0-only``), else stay the Hub id the verifier
    classifies (``llama3.1``, ``openrail``); ``other`` becomes
    ``LicenseRef-<license_name>`` with ``license_link`` as ``license_url``;
    several licenses are read as all applying (``AND``).
    """
    value = card.data.get("license")
    name = card.data.get("license_name")
    link = card.data.get("license_link")
    name = name if isinstance(name, str) and name.strip() else None
    if value is None or value == [] or value == "":
        return LicenseDraft(None, None, ("the card gives no license",))
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v.strip() for v in items):
        return LicenseDraft(None, None, (f"the card's license {printable(repr(value))} is not a license id",))
    notes: list[str] = []
    parts = []
    for item in items:
        mapped, note = _one_license(item, name)
        parts.append(mapped)
        if note:
            notes.append(note)
    if len(parts) > 1:
        notes.append("the card lists several licenses: read as all applying (AND); write OR if it is a choice")
    expression = " AND ".join(dict.fromkeys(parts))
    try:
        expression = licenses.normalize_expression(expression)
    except ClaimsError as err:
        return LicenseDraft(None, None, (f"the card's license cannot be read: {printable(str(err))}",))
    url, why = (None, None)
    if isinstance(link, str) and link.strip():
        url, why = _absolute_link(link, card)
    custom = any(p == "other" or p.startswith("LicenseRef-") for p in parts)
    if custom and url is None and why is None:
        why = "the card names no license text (license_link): give its http(s) URL"
    if url is not None:
        terms = licenses.license_terms(expression, url)
        for ref, known in terms.resolved:
            notes.append(f"the verifier reads {ref} at this URL as {known}")
        if custom and not terms.resolved:
            notes.append("the verifier does not know this license URL: its terms count as unspecified")
    return LicenseDraft(expression, url, tuple(notes), why if custom else None)


# ---------------------------------------------------------------- names -> subjects and records


@dataclass(frozen=True)
class Found:
    """A record that a name may stand for. ``block_number`` None: not anchored yet (the local store)."""

    subject: bytes
    record_id: bytes
    publisher: str
    chain_id: int
    registry: str
    kind: int | None
    block_number: int | None
    revoked: bool = False
    origin: str = ""

    @property
    def registry_key(self) -> tuple[int, str]:
        return self.chain_id, self.registry.lower()

    @property
    def newness(self) -> tuple[bool, int]:
        return self.block_number is None, self.block_number or 0


@dataclass(frozen=True)
class Resolution:
    """A name resolved: ``subject`` (None: not found) and ``record`` (None: not chosen), and comment lines."""

    name: str
    subject: bytes | None
    record: bytes | None
    notes: tuple[str, ...] = ()


def _key(name: str) -> str:
    return name.strip().lower()


def _uri_repo(uri: str) -> str | None:
    """``ORG/NAME`` of a record uri ``hf://[datasets/]ORG/NAME@REV/PATH``, else None."""
    if not uri.startswith("hf://"):
        return None
    from provenance.fetch import parse_location  # lazy: httpx comes with it

    try:
        location = parse_location(uri, allow_file=False)
    except InvalidValue:
        return None
    repo = getattr(location, "repo", None)
    return repo.removeprefix("datasets/") if isinstance(repo, str) else None


def _disclosed_name(statement: Statement) -> str | None:
    """The Statement's disclosed ``name`` claim, when its disclosure verifies."""
    for item in statement.disclosures:
        if item.get("field") == "name":
            try:
                disclosure = Disclosure.from_dict(item)
            except (ClaimsError, StatementError, ValueError, TypeError, KeyError):
                return None
            if verify_disclosure(statement.record.claims_root, disclosure) and isinstance(disclosure.value, str):
                return disclosure.value
    return None


def _names_of(statement: Statement) -> set[str]:
    names = {_key(statement.name)}
    claimed = _disclosed_name(statement)
    if claimed:
        names.add(_key(claimed))
    repo = _uri_repo(statement.record.uri)
    if repo:
        names.add(_key(repo))
    return names


class ServiceRecords:
    """The records a verifier service lists in its event log whose uri names a Hub repository.

    The service answers by subject and record id only, so names are matched
    against the uris of the newest :data:`MAX_SERVICE_EVENTS` ``RecordRegistered``
    events (``GET /v1/events``), read once. Records in batches are not there:
    the chain holds their batch's root, not their uri. :attr:`problems` says
    what could not be read.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        from provenance.fetch import Fetcher  # lazy: httpx

        if not url.startswith(("https://", "http://")):
            raise InvalidValue(f"--service must be an http(s) URL of a verifier service, got {url!r}")
        self.url = url.rstrip("/")
        # the user named this service: a local or private address is what they asked for
        self._fetcher = Fetcher(allow_private=True, max_bytes=16 * 1024 * 1024, timeout=timeout,
                                deadline=4 * timeout, retries=1)  # fmt: skip
        self._by_name: dict[str, list[Found]] | None = None
        self.problems: list[str] = []
        self.truncated = False

    def named(self, name: str) -> list[Found]:
        if self._by_name is None:
            self._by_name = self._scan()
        return list(self._by_name.get(_key(name), ()))

    def _scan(self) -> dict[str, list[Found]]:
        from pydantic_core import from_json

        found: dict[str, list[Found]] = {}
        cursor: str | None = None
        for _ in range(MAX_SERVICE_EVENTS // _SERVICE_PAGE):
            path = f"/v1/events?kind=RecordRegistered&limit={_SERVICE_PAGE}" + (f"&cursor={cursor}" if cursor else "")
            try:
                page = from_json(self._fetcher.fetch(self.url + path), allow_inf_nan=False)
            except FetchError as err:
                self.problems.append(str(err))
                return found
            except ValueError:
                self.problems.append(f"{self.url}{path} did not answer JSON")
                return found
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                self.problems.append(f"{self.url}{path} did not answer an events page")
                return found
            index = page.get("index")
            info: Mapping[str, Any] = index if isinstance(index, dict) else {}
            for item in page["items"]:
                record = _service_record(item, info, self.url)
                if record is not None:
                    name, entry = record
                    found.setdefault(name, []).append(entry)
            cursor = page.get("nextCursor")
            if not isinstance(cursor, str) or not re.fullmatch(r"[0-9a-f]{1,15}-[0-9a-f]{1,8}", cursor):
                return found
        self.truncated = True
        return found


def _service_record(item: object, info: Mapping[str, Any], url: str) -> tuple[str, Found] | None:
    """(name, record) of one ``RecordRegistered`` event whose uri is an ``hf://`` one, else None."""
    if not isinstance(item, dict) or item.get("event") != "RecordRegistered":
        return None
    details = item.get("details")
    if not isinstance(details, dict) or not isinstance(details.get("uri"), str):
        return None
    repo = _uri_repo(details["uri"])
    chain_id, registry = info.get("chainId"), info.get("registry")
    try:
        subject = bytes.fromhex(str(details.get("subject"))[2:])
        record_id = bytes.fromhex(str(item.get("recordId"))[2:])
    except ValueError:
        return None
    if (repo is None or len(subject) != 32 or len(record_id) != 32 or type(chain_id) is not int
            or not isinstance(registry, str) or not isinstance(item.get("actor"), str)):  # fmt: skip
        return None
    kind = details.get("kind")
    block = item.get("blockNumber")
    return _key(repo), Found(subject, record_id, item["actor"], chain_id, registry,
                             kind if type(kind) is int else None, block if type(block) is int else None,
                             origin=f"the service {url}")  # fmt: skip


@dataclass
class Resolver:
    """Finds the subject and record a Hub name stands for (module docstring).

    ``indexes``: local indexes of the registry's events (each follows one
    registry); ``publisher``: the drafting publisher's address (its own
    records are preferred, as ``register`` pins them); ``registry``: only
    records of this registry (None: any).
    """

    store: Store | None = None
    indexes: Sequence[Index] = ()
    service: ServiceRecords | None = None
    publisher: str | None = None
    registry: str | None = None
    _catalogue: dict[str, list[Found]] | None = field(default=None, repr=False)

    def where(self) -> str:
        places = ["the local store", "the local index"] + ([f"the service {self.service.url}"] if self.service else [])
        return ", ".join(places[:-1]) + " or " + places[-1]

    def resolve(self, name: str, kind: Kind) -> Resolution:
        shown = printable(name)
        todo = f"TODO: subject and record of {shown} (not found in {self.where()})"
        matches = list(self._local().get(_key(name), ()))
        if self.service is not None:
            matches += self.service.named(name)
        if self.registry is not None:
            matches = [m for m in matches if m.registry.lower() == self.registry.lower()]
        notes: list[str] = []
        wrong = sorted({hex32(m.record_id) for m in matches if m.kind is not None and m.kind != kind})
        if wrong:
            notes.append(f"{shown}: left out record(s) of another kind than {kind.name.lower()}: {', '.join(wrong)}")
        matches = [m for m in matches if m.kind is None or m.kind == kind]
        if not matches:
            return Resolution(name, None, None, (*notes, todo))
        registries = sorted({m.registry_key for m in matches})
        if len(registries) > 1:
            listed = "; ".join(f"chain {c} registry {r}" for c, r in registries)
            return Resolution(name, None, None, (
                *notes, f"TODO: subject and record of {shown}: registered on several registries ({listed}); "
                "pass --registry ADDRESS to choose one",
            ))  # fmt: skip
        matches.sort(key=lambda m: m.newness)
        subject = matches[-1].subject
        others = sorted({hex32(m.subject) for m in matches if m.subject != subject})
        if others:
            notes.append(f"{shown} also names older subject(s): {', '.join(others)}; the newest is used")
        candidates = self._candidates(subject, [m for m in matches if m.subject == subject], registries[0])
        live = [c for c in candidates if not c.revoked] or candidates
        own = [c for c in live if self.publisher and c.publisher.lower() == self.publisher.lower()]
        publishers = {c.publisher.lower() for c in live}
        chosen = own[-1] if own else live[-1] if len(publishers) == 1 else None
        if chosen is None:
            listed = "; ".join(f"record {hex32(c.record_id)} of {c.publisher}" for c in live)
            notes.append(f"TODO: record of {shown}: {len(publishers)} publishers registered it ({listed}); "
                         "write record: the one you relied on (register refuses until you do)")
            return Resolution(name, subject, None, tuple(notes))
        if chosen.revoked:
            notes.append(f"{shown}: every record of it is revoked; {hex32(chosen.record_id)} is the newest")
        whose = "your newest record" if own else f"the newest record of {chosen.publisher}"
        notes.append(f"{shown}: {whose}, found in {chosen.origin}")
        return Resolution(name, subject, chosen.record_id, tuple(notes))

    def _candidates(self, subject: bytes, matches: list[Found], registry: tuple[int, str]) -> list[Found]:
        """Every record of ``subject`` in this registry known here, oldest first: what ``register`` chooses from."""
        from provenance.pins import candidates

        found: dict[bytes, Found] = {m.record_id: m for m in matches}
        indexes: list[Index | None] = [*self._indexes_of(registry)] or [None]  # None: the store alone
        for index in indexes:
            for c in candidates(subject, store=self.store, index=index, chain_id=registry[0], registry=registry[1]):
                known = found.get(c.record_id)
                origin = known.origin if known else "the local store or index"
                found[c.record_id] = Found(c.subject, c.record_id, c.publisher, registry[0], registry[1], None,
                                           c.block_number, c.revoked, origin)  # fmt: skip
        return sorted(found.values(), key=lambda f: f.newness)

    def _indexes_of(self, registry: tuple[int, str]) -> list[Index]:
        return [i for i in self.indexes if any((c, r.lower()) == registry for c, r, _ in i.cursors())]

    def _local(self) -> dict[str, list[Found]]:
        """Name -> records, from the store's Statements and the indexes' directly registered records (read once)."""
        if self._catalogue is not None:
            return self._catalogue
        catalogue: dict[str, list[Found]] = {}
        if self.store is not None:
            for stored in self.store.records():
                if stored.state == "failed":
                    continue
                s = stored.statement
                block = s.anchor.block_number if s.anchor is not None else None
                entry = Found(s.subject, s.record_id, s.publisher, s.chain_id, s.registry, int(s.record.kind), block,
                              origin="the local store")  # fmt: skip
                for name in _names_of(s):
                    catalogue.setdefault(name, []).append(entry)
        for index in self.indexes:
            before: tuple[int, int] | None = None
            while True:
                page = index.events_page(name="RecordRegistered", before=before, limit=1000)
                for event in page:
                    repo = _uri_repo(str(event.details.get("uri") or ""))
                    if repo is None or not event.record_id or not event.actor:
                        continue
                    record = index.record(event.record_id)
                    entry = Found(bytes.fromhex(str(event.details["subject"])[2:]), bytes.fromhex(event.record_id[2:]),
                                  event.actor, event.chain_id, event.registry, event.details.get("kind"),
                                  event.block_number, bool(record and record.revoked), "the local index")  # fmt: skip
                    catalogue.setdefault(_key(repo), []).append(entry)
                if len(page) < 1000:
                    break
                before = (page[-1].block_number, page[-1].log_index)
        self._catalogue = catalogue
        return catalogue


# ---------------------------------------------------------------- the claims draft


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's; ASCII only, so no line separators)."""
    return json.dumps(value, ensure_ascii=True)


def _names(value: object) -> tuple[list[str], list[str]]:
    """(repository ids, what is not one) of a card's ``datasets`` or ``base_model`` value."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    good, bad = [], []
    for item in items:
        text = str(item).strip() if isinstance(item, str) else ""
        for prefix in (_HUB + "/", "hf.co/", "datasets/"):
            text = text.removeprefix(prefix)
        if _REPO_ID.fullmatch(text) and ".." not in text:
            if text not in good:
                good.append(text)
        else:
            bad.append(printable(repr(item)))
    return good, bad


def _relation(card: Card) -> tuple[str, str | None]:
    value = card.data.get("base_model_relation")
    if value is None:
        return "finetune", None
    if isinstance(value, str) and value.strip().lower() in _RELATIONS:
        return value.strip().lower(), None
    return "finetune", f"TODO: relation: the card's base_model_relation {printable(repr(value))} is none of " \
        f"{', '.join(_RELATIONS)}; finetune written"


def _sources(card: Card) -> list[str]:
    """The datasets a dataset card says it extends: ``source_datasets: [extended|ORG/NAME]``."""
    value = card.data.get("source_datasets")
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [item.split("|", 1)[1].strip() for item in items if isinstance(item, str) and "|" in item]


@dataclass
class _Lines:
    lines: list[str] = field(default_factory=list)

    def add(self, text: str = "") -> None:
        self.lines.append(text)

    def note(self, indent: str, text: str) -> None:
        self.lines.append(f"{indent}# {printable(text)}")

    def todo(self, indent: str, key: str, placeholder: str, why: str) -> None:
        """A field left for the publisher: ``# key: a|b|c  # why`` (the first choice is a valid value)."""
        value = f" {placeholder}" if placeholder else ""
        self.lines.append(f"{indent}# {key}:{value}  # {printable(why)}")


def draft_claims(card: Card, resolver: Resolver, *, name: str | None = None) -> str:
    """The claims YAML draft of ``card`` (module docstring); ``name`` (``ORG/NAME``) defaults to the card's repo."""
    name = name or card.repo_id
    out = _Lines()
    out.note("", f"Claims drafted from the card {card.path} by `provenance claims from-card` (docs/huggingface.md).")
    out.note("", "A line starting with '# TODO' or a commented field is left for you: fill it in, or delete it")
    out.note("", "(an omitted field takes its default, docs/claims.md). You sign what this file says: check it.")
    out.add(f"kind: {card.kind}")
    if name:
        out.add(f"name: {_q(name)}")
    else:
        out.todo("", "name", '"ORG/NAME"', "TODO: the Hub repository id (the card does not say it)")
    out.todo("", "version", '"1.0"', "optional: a version string")
    _copyright(out, card)
    _privacy(out)
    lineage_disclosed = _lineage(out, card, resolver)
    disclose = (["name"] if name else []) + (["copyright.license", "copyright.license_url"]
                                              if card.data.get("license") else [])  # fmt: skip
    if lineage_disclosed:
        disclose.append("lineage")
    out.note("", "published in the Statement: what the card already makes public")
    out.add(f"disclose: [{', '.join(disclose)}]")
    return "\n".join(out.lines) + "\n"


def _copyright(out: _Lines, card: Card) -> None:
    drafted = claims_license(card)
    if drafted.license is None:
        out.note("", "TODO: copyright: " + "; ".join(drafted.notes))
        out.todo("", "copyright", "{license: Apache-2.0}", "an SPDX expression, a Hugging Face id or LicenseRef-<name>")
        return
    out.add("copyright:")
    for note in drafted.notes:
        out.note("  ", note)
    out.add(f"  license: {_q(drafted.license)}")
    if drafted.license_url is not None:
        out.add(f"  license_url: {_q(drafted.license_url)}")
    else:
        why = drafted.url_todo or "optional for a license the verifier knows by its id"
        out.todo("  ", "license_url", '"https://..."', ("TODO: " if drafted.url_todo else "") + why)
    out.todo("  ", "holders", "[]", "TODO: the copyright holders' names")
    out.todo("  ", "attribution", "null", "TODO: the attribution text the license asks for, if any")
    use = licenses.license_terms(drafted.license, drafted.license_url).use_class
    if use in (licenses.UseClass.NON_COMMERCIAL, licenses.UseClass.ACADEMIC_ONLY):
        out.todo("  ", "commercial_use", "false", f"TODO: the license is {use.value}; true would be refused")
    else:
        out.todo("  ", "commercial_use", "true|false", "TODO: whether commercial use is allowed (null: not stated)")
    out.todo("  ", "training_mining", "", "TODO: CAWG entries, each allowed|notAllowed|constrained")
    for key in ("ai_training", "ai_generative_training", "data_mining", "ai_inference"):
        out.todo("  ", "  " + key, "allowed|notAllowed|constrained", "TODO")
    out.todo("  ", "tdm_reservation", "false|true", "TODO: true if you reserve text and data mining (EU DSM 4(3))")
    out.todo("  ", "opt_out_evidence", "[]", "subjects of anchored snapshots of opt-outs")


def _privacy(out: _Lines) -> None:
    out.todo("", "privacy", "", "TODO: what the artifact holds (omitted: personal_data unknown, docs/claims.md)")
    fields = (
        ("personal_data", "present|absent|unknown", "TODO"),
        ("special_categories", "[]", "GDPR Art. 9(1): racial_ethnic, health, biometric, ... (with personal_data "
         "present)"),
        ("lawful_basis", "consent|contract|legal_obligation|vital_interests|public_task|legitimate_interests",
         "GDPR Art. 6(1), or null"),
        ("special_category_condition", "null", "GDPR Art. 9(2): explicit_consent, research, ... (docs/claims.md)"),
        ("anonymization", "[]", "a list of pseudonymisation, anonymisation, differential_privacy, aggregation"),
        ("differential_privacy", "null", "or {epsilon, delta, unit: user|record} with differential_privacy in "
         "anonymization"),
        ("jurisdictions", "[]", "ISO 3166 codes: EU, US, US-CA"),
        ("retention_until", "null", "an ISO date such as 2030-12-31"),
        ("erasure", "null", "retrain, unlearn or filter"),
        ("confidentiality", "clear|green|amber|red", "TLP"),
    )  # fmt: skip
    for key, placeholder, why in fields:
        out.todo("  ", key, placeholder, why)


def _lineage(out: _Lines, card: Card, resolver: Resolver) -> bool:
    """The lineage section; True when it has an entry (then it is disclosed)."""
    if card.kind == "dataset":
        trained, bad = _names(_sources(card))
        bases: list[str] = []
    else:
        trained, bad = _names(card.data.get("datasets"))
        bases, bad_bases = _names(card.data.get("base_model"))
        bad += bad_bases
    relation, relation_note = _relation(card)
    trained_entries, trained_notes = _entries(trained, Kind.DATASET, resolver, None)
    base_entries, base_notes = _entries(bases, Kind.MODEL, resolver, relation)
    out.add("lineage:")
    for item in bad:
        out.note("  ", f"TODO: the card names {item}, which is not a Hub repository id")
    what = "the datasets it extends (source_datasets)" if card.kind == "dataset" else "the card's datasets"
    _list(out, "trained_on", trained_entries, trained_notes, what)
    out.todo("  ", "tested_on", "[]", "subjects of evaluation datasets (no parents: their terms do not flow)")
    if card.kind == "model":
        if relation_note and bases:
            out.note("  ", relation_note)
        _list(out, "base_models", base_entries, base_notes, "the card's base_model")
    return bool(trained_entries or base_entries)


def _entries(names: list[str], kind: Kind, resolver: Resolver,
             relation: str | None) -> tuple[list[str], list[str]]:  # fmt: skip
    """(YAML flow entries with their trailing comment, comment lines) for the names resolved."""
    entries: list[str] = []
    notes: list[str] = []
    for name in names:
        found = resolver.resolve(name, kind)
        notes.extend(found.notes)
        if found.subject is None:
            continue
        parts = [f"subject: {_q(hex32(found.subject))}"]
        if relation is not None:
            parts.append(f"relation: {relation}")
        if found.record is not None:
            parts.append(f"record: {_q(hex32(found.record))}")
        if relation is None and found.record is None:
            entries.append(f"{_q(hex32(found.subject))}  # {printable(name)}")
        else:
            entries.append("{" + ", ".join(parts) + f"}}  # {printable(name)}")
    return entries, notes


def _list(out: _Lines, key: str, entries: list[str], notes: list[str], what: str) -> None:
    if not entries:
        out.add(f"  {key}: []" + ("" if notes else f"  # {what}: none"))
    else:
        out.add(f"  {key}:  # {what}")
    for note in notes:
        out.note("    ", note)
    for entry in entries:
        out.add(f"    - {entry}")


# ---------------------------------------------------------------- back to the card


def hub_license(expression: str, license_url: str | None) -> dict[str, str]:
    """The card's license keys for a claims license: the Hub id, else ``other`` with name and link."""
    hub = _hub_ids().get(expression)
    if hub is not None and hub != "unknown":
        return {"license": hub}
    if expression == "unknown":
        return {"license": "unknown"}
    keys = {"license": "other"}
    if expression.startswith("LicenseRef-"):
        keys["license_name"] = expression.removeprefix("LicenseRef-")
    elif expression != "other":
        keys["license_name"] = _REF_CHARS.sub("-", expression.lower().replace("+", "-plus")).strip("-")
    link = license_url
    if link is None and expression in licenses.spdx_license_ids():
        link = f"https://spdx.org/licenses/{expression}.html"
    if link is not None:
        keys["license_link"] = link
    return keys


def hub_name(statement: Statement) -> str | None:
    """The Hub repository id a Statement stands for: its ``hf://`` uri's, its disclosed name, or its name,
    whichever is an ``ORG/NAME``; None when none is."""
    for candidate in (_uri_repo(statement.record.uri), _disclosed_name(statement), statement.name):
        if candidate and "/" in candidate and _REPO_ID.fullmatch(candidate):
            return candidate
    return None


def _parent_names(statement: Statement, parents: Mapping[bytes, Statement], pins: Mapping[bytes, bytes]) -> dict[
        bytes, str | None]:  # fmt: skip
    """Subject -> Hub name of each parent, from the Statements carried in the lineage, then ``parents``."""
    by_record = {s.record_id: s for s in statement.lineage}
    names: dict[bytes, str | None] = {}
    for subject in statement.record.parents:
        pinned = pins.get(subject)
        known = by_record.get(pinned) if pinned is not None else None
        known = known or next((s for s in statement.lineage if s.subject == subject), None) or parents.get(subject)
        names[subject] = hub_name(known) if known is not None else None
    return names


def _refs(values: Mapping[str, Any], key: str) -> list[tuple[bytes, str | None, bytes | None]]:
    """(subject, relation, record) of a disclosed lineage list."""
    value = values.get(key)
    items = value if isinstance(value, list) else []
    refs = []
    for item in items:
        subject = item if isinstance(item, str) else item.get("subject") if isinstance(item, dict) else None
        if not isinstance(subject, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", subject):
            raise StatementError(f"the disclosed claim {key} holds {item!r}, not a subject")
        relation = item.get("relation") if isinstance(item, dict) else None
        record = item.get("record") if isinstance(item, dict) else None
        refs.append((bytes.fromhex(subject[2:]), relation if isinstance(relation, str) else None,
                     bytes.fromhex(record[2:]) if isinstance(record, str) and len(record) == 66 else None))
    return refs


def model_index(statement: Statement, evaluations: Sequence[Statement]) -> tuple[dict[str, Any] | None, list[str]]:
    """The card's ``model-index`` block built from the evaluation records of ``statement``'s model, through
    huggingface_hub's :class:`~huggingface_hub.ModelCardData` and :class:`~huggingface_hub.EvalResult`; and a
    note per evaluation left out (of other weights, nothing disclosed). None when no result is left.

    Each disclosed result is one ``EvalResult``: ``dataset.type`` the task (``/`` splits off
    ``dataset.config``, as :func:`provenance.evalimport.parse_model_index` reads it back), ``dataset.name``
    the task, ``split``, ``args.num_few_shot``, ``metric.type`` and ``value``; ``task.type`` is ``other``
    (the claims do not say which Hub task the model does) and ``task.name`` the evaluation's category;
    ``source.name`` names the evaluator and the record (with ``source.url`` the record's uri; a record without
    an http(s) uri names them in ``metrics[].name``, the card's source needing a url). The stderr has no place
    in a model-index. ``verified`` stays unset: only the Hub sets it.
    """
    from huggingface_hub import EvalResult, ModelCardData

    from provenance.evalfacts import evaluation_facts

    subject = hex32(statement.subject)
    results: list[EvalResult] = []
    notes: list[str] = []
    for evaluation in evaluations:
        facts = evaluation_facts(evaluation)
        if facts.model is None or facts.model.subject != subject:
            notes.append(f"the evaluation {facts.record_id} is not of this model's weights: left out")
            continue
        if not facts.results:
            notes.append(f"the evaluation {facts.record_id} discloses no result ({facts.why}): left out")
            continue
        who = f"{facts.evaluator} ({facts.publisher})" if facts.evaluator else facts.publisher
        uri = evaluation.record.uri
        source = f"{who}, provenance record {facts.record_id}"
        url = uri if uri.startswith(("https://", "http://")) else None  # the card's source needs a url with a name
        notes.append(f"evaluation record {facts.record_id} by {who}: {len(facts.results)} result(s)")
        for r in facts.results:
            dataset, _, config = r.task.partition("/")
            results.append(EvalResult(
                task_type="other", task_name=f"{facts.category} evaluation" if facts.category else None,
                dataset_type=dataset, dataset_name=r.task, dataset_config=config or None,
                dataset_split=r.split, dataset_args=None if r.n_shot is None else {"num_few_shot": r.n_shot},
                metric_type=r.metric, metric_value=r.value, metric_name=None if url else f"{r.metric} ({source})",
                source_name=source if url else None, source_url=url,
            ))  # fmt: skip
    if not results:
        return None, notes
    card = ModelCardData(model_name=hub_name(statement) or subject, eval_results=results)
    data: dict[str, Any] = card.to_dict()  # type: ignore[no-untyped-call]  # huggingface_hub leaves it unannotated
    return {"model-index": data["model-index"]}, notes


def card_block(statement: Statement, parents: Mapping[bytes, Statement] | None = None,
               evaluations: Sequence[Statement] = ()) -> str:
    """The YAML metadata a publisher adds to the card's ``---`` block, from a registered Statement.

    Only disclosed claims are used (verified against the record's claimsRoot):
    ``license`` (the Hub id, else ``other`` with ``license_name`` and
    ``license_link``), ``base_model`` with ``base_model_relation``, and
    ``datasets`` for a model (``source_datasets: [extended|NAME]`` for a
    dataset); each parent named by its Hub id where its Statement (carried in
    the lineage, or in ``parents``) tells it, else by its subject. A
    ``provenance`` entry names the subject, the record, the registry, the
    chain and the Statement's uri. For a model, ``evaluations`` (Statements of evaluation records)
    give a ``model-index`` block (:func:`model_index`): their results as the evaluators disclosed
    them, which this does not check against the chain (``provenance verify`` does).
    """
    disclosures = [Disclosure.from_dict(d) for d in statement.disclosures]
    values = disclosed_view(statement.record.claims_root, disclosures)
    out = _Lines()
    out.note("", "Add to the YAML block at the top of README.md (between the --- lines); "
             "from `provenance export --format hf-card`.")  # fmt: skip
    license_value = values.get("copyright.license")
    if isinstance(license_value, str) and license_value:
        url = values.get("copyright.license_url")
        for key, value in hub_license(license_value, url if isinstance(url, str) else None).items():
            out.add(f"{key}: {_q(value)}")
    else:
        out.note("", "license: not disclosed in the Statement" if "copyright.license" not in values
                 else "license: the claims give none")  # fmt: skip
    pins = {s: r for s, _, r in _refs(values, "lineage.trained_on") + _refs(values, "lineage.base_models") if r}
    names = _parent_names(statement, parents or {}, pins)
    if "lineage.base_models" not in values and "lineage.trained_on" not in values:
        out.note("", "base_model, datasets: the lineage is not disclosed in the Statement")
    bases = _refs(values, "lineage.base_models")
    if bases:
        out.add("base_model:")
        for subject, _, _ in bases:
            _named_item(out, subject, names.get(subject))
        relations = {r for _, r, _ in bases}
        if len(relations) == 1 and next(iter(relations)) in _RELATIONS:
            out.add(f"base_model_relation: {next(iter(relations))}")
        else:
            listed = ", ".join(sorted(map(str, relations)))
            out.note("", f"base_model_relation: the base models have several relations ({listed}); the card takes one")
    trained = _refs(values, "lineage.trained_on")
    if trained:
        dataset = statement.record.kind == Kind.DATASET
        out.add("source_datasets:" if dataset else "datasets:")
        for subject, _, _ in trained:
            _named_item(out, subject, names.get(subject), prefix="extended|" if dataset else "")
    out.add("provenance:")
    out.add(f"  subject: {_q(hex32(statement.subject))}")
    out.add(f"  record: {_q(hex32(statement.record_id))}")
    out.add(f"  publisher: {_q(statement.publisher)}")
    out.add(f"  registry: {_q(statement.registry)}")
    out.add(f"  chain_id: {statement.chain_id}")
    if statement.record.uri:
        out.add(f"  uri: {_q(statement.record.uri)}")
    else:
        out.note("  ", "uri: the record names no uri where its Statement is published")
    if evaluations and statement.record.kind == Kind.MODEL:
        import yaml

        block, notes = model_index(statement, evaluations)
        for text in notes:
            out.note("", text)
        if block is not None:
            out.note("", "model-index: the results of the evaluation records found, as their evaluators disclosed "
                         "them (signed by the evaluator; whose results count is a verifier's policy)")
            out.lines += yaml.safe_dump(block, sort_keys=False, allow_unicode=True).rstrip("\n").split("\n")
    return "\n".join(out.lines) + "\n"


def _named_item(out: _Lines, subject: bytes, name: str | None, *, prefix: str = "") -> None:
    if name is not None:
        out.add(f"- {_q(prefix + name)}")
    else:
        out.add(f"- {_q(prefix + hex32(subject))}  # no Hub name known for this parent")


"""What a license expression lets a user do, read from a table kept as data.

The verifier's copyright rules (CLAIMS.md, "License classes") need a few
attributes per license: its use class, attribution, share-alike,
no-derivatives, use restrictions, and which of these reach a model trained on
data under it. They live in ``provenance/data/licenses.json`` with the URL of
each license text and the sources of the classes, so a reviewer can check and
extend them without reading code.

Every SPDX id the pinned ``license-expression`` knows has a class: from its
entry in the table, else from the Creative Commons elements of its id (BY, NC,
ND, SA, version, port), else from the default of its scancode LicenseDB
category (only the open categories have one; the table lists every other
license). Hugging Face Hub ids (``openrail``, ``llama3``, ``gemma``...) come
from the table too. ``LicenseRef-<name>`` and Hugging Face ``other`` are
classified by ``license_url`` when the table knows that URL (research-only
data agreements, model licenses); otherwise their terms are unknown.

* ``AND``: every license applies, so the most restrictive use class wins,
  attribution, share-alike and no-derivatives are OR-ed, restrictions
  accumulate, and parts whose terms are unknown are named in
  :attr:`LicenseTerms.unspecified` beside the classified ones.
* ``OR``: the user picks one option. An option with unknown terms is never
  preferred over a classified one; among the rest the one that breaks fewest
  of the caller's rules (``penalty``), then the least restrictive, is taken.
  The choice is made node by node, so it is linear in the size of the
  expression: some option passes every rule exactly when the chosen one does.
* ``WITH`` exceptions only add permissions; the base license's terms are kept.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from provenance.errors import ClaimsError, DataFileError

if TYPE_CHECKING:
    from license_expression import LicenseExpression, Licensing  # untyped: Any to mypy, named for the reader

__all__ = [
    "UseClass",
    "LicenseTerms",
    "MODEL_TERMS",
    "normalize_expression",
    "license_terms",
    "share_alike_compatible",
    "carries_share_alike",
    "allows_commercial_use",
    "most_restrictive",
    "known_licenses",
    "spdx_license_ids",
]

_LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")
#: ``CC-<elements>-<version>[-<port>]``: the Creative Commons licenses with elements.
_CREATIVE_COMMONS = re.compile(
    r"^CC-(?P<elements>(?:BY|NC|ND|SA)(?:-(?:BY|NC|ND|SA))*)-(?P<version>\d\.\d)(?:-(?P<port>[A-Z]{2,3}))?$"
)
#: The attributes whose terms may or may not reach a model trained on the data.
MODEL_TERMS: tuple[str, ...] = ("use", "attribution", "share_alike", "no_derivatives", "restrictions")
_SELF = "$self"  # in share_alike lists of category defaults: the license itself
_TABLE = "provenance/data/licenses.json"
_T = TypeVar("_T")  # the value a fold computes


class UseClass(enum.StrEnum):
    """The Data Provenance Initiative's license classes, least restrictive first."""

    COMMERCIAL = "commercial"
    UNSPECIFIED = "unspecified"
    NON_COMMERCIAL = "non-commercial"
    ACADEMIC_ONLY = "academic-only"

    @property
    def rank(self) -> int:
        """0 for commercial up to 3 for academic-only (CLAIMS.md's order)."""
        return list(UseClass).index(self)


def most_restrictive(classes: Iterable[UseClass]) -> UseClass:
    """The use class that constrains most; commercial when there is none."""
    return max(classes, key=lambda c: c.rank, default=UseClass.COMMERCIAL)


@dataclass(frozen=True)
class LicenseTerms:
    """The terms that apply under an expression (the chosen option of an ``OR``).

    ``licenses`` are the ids whose terms apply; ``share_alike`` the ones among
    them that carry a share-alike obligation; ``restrictions`` are labels of
    use restrictions that derivatives must carry on. ``unspecified`` are the
    ids among ``licenses`` whose terms are unknown (``unknown``, ``other`` or
    ``LicenseRef-`` without a known URL...): they count as use class
    unspecified, and the classified parts keep their own terms. ``resolved``
    pairs each ``LicenseRef-``/``other`` classified by its URL with the name of
    the license found. ``trained_model``: these are only the terms that reach a
    model trained on data under the expression.
    """

    expression: str
    licenses: tuple[str, ...]
    use_class: UseClass
    attribution: bool
    share_alike: tuple[str, ...]
    no_derivatives: bool
    restrictions: tuple[str, ...]
    unspecified: tuple[str, ...] = ()
    resolved: tuple[tuple[str, str], ...] = ()
    trained_model: bool = False

    @property
    def is_share_alike(self) -> bool:
        return bool(self.share_alike)


@dataclass(frozen=True)
class _Entry:
    name: str
    use: UseClass
    attribution: bool
    share_alike: frozenset[str]  # licenses that satisfy the obligation; empty: none
    no_derivatives: bool
    restrictions: frozenset[str]
    trained_model: frozenset[str]  # which of MODEL_TERMS reach a model trained on the data

    @property
    def known(self) -> bool:
        return self.use is not UseClass.UNSPECIFIED

    def for_trained_model(self) -> _Entry:
        """The terms that reach a model trained on data under this license; unknown terms stay unknown."""
        keep = self.trained_model if self.known else frozenset(MODEL_TERMS)
        return _Entry(
            self.name,
            self.use if "use" in keep else UseClass.COMMERCIAL,
            self.attribution and "attribution" in keep,
            self.share_alike if "share_alike" in keep else frozenset(),
            self.no_derivatives and "no_derivatives" in keep,
            self.restrictions if "restrictions" in keep else frozenset(),
            self.trained_model,
        )


_ENTRY_KEYS = {
    "name", "url", "use", "attribution", "share_alike", "no_derivatives", "restrictions", "trained_model",
    "note", "source", "same_as",
}  # fmt: skip


@dataclass(frozen=True)
class _Table:
    entries: dict[str, _Entry]  # the 'spdx' and 'huggingface' sections
    huggingface: frozenset[str]
    category_defaults: dict[str, Mapping[str, Any]]
    cc_compatible: dict[str, frozenset[str]]
    custom: dict[str, _Entry]  # normalised URL -> terms
    custom_same_as: dict[str, str]  # normalised URL -> the id of the table it is
    names: dict[str, str]  # SPDX id -> name


def _entry(where: str, item: Mapping[str, Any], *, key: str = "", name: str = "") -> _Entry:
    extra = set(item) - _ENTRY_KEYS
    reach = item.get("trained_model", MODEL_TERMS)
    if extra or not {"use", "attribution"} <= set(item) or not set(reach) <= set(MODEL_TERMS):
        raise DataFileError(f"{_TABLE}: entry {where} has bad or missing keys")
    return _Entry(
        name=item.get("name", name),
        use=UseClass(item["use"]),
        attribution=bool(item["attribution"]),
        share_alike=frozenset(key if k == _SELF else k for k in item.get("share_alike", ())),
        no_derivatives=bool(item.get("no_derivatives", False)),
        restrictions=frozenset(item.get("restrictions", ())),
        trained_model=frozenset(reach),
    )


@functools.cache
def _table() -> _Table:
    """Load and check licenses.json once; a broken table is a packaging bug."""
    raw = json.loads(resources.files("provenance").joinpath("data/licenses.json").read_text("utf-8"))
    entries: dict[str, _Entry] = {}
    for scheme in ("spdx", "huggingface"):
        for key, item in raw[scheme].items():
            if "name" not in item or "url" not in item:
                raise DataFileError(f"{_TABLE}: entry {key} has bad or missing keys")
            entries[key] = _entry(key, item, key=key)
    custom: dict[str, _Entry] = {}
    same: dict[str, str] = {}
    for url, item in raw["custom"].items():
        if _url_key(item.get("url", "")) != url or "name" not in item:
            raise DataFileError(f"{_TABLE}: custom entry {url} is not keyed by its normalised url")
        same_as = item.get("same_as")
        if same_as is not None:
            if same_as not in entries:
                raise DataFileError(f"{_TABLE}: custom entry {url} names an id the table does not have")
            custom[url] = replace(entries[same_as], name=item["name"])
            same[url] = same_as
        else:
            custom[url] = _entry(url, item)
    cc = raw["creative_commons"]["share_alike_compatible"]
    return _Table(
        entries=entries,
        huggingface=frozenset(raw["huggingface"]),
        category_defaults=dict(raw["spdx_category_defaults"]),
        cc_compatible={key: frozenset(value) for key, value in cc.items()},
        custom=custom,
        custom_same_as=same,
        names=dict(raw["spdx_names"]),
    )


def _url_key(url: str) -> str:
    """A license URL as the table keys it: no scheme, host lower-case without ``www.``, no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port not in (None, 80, 443):
        host += f":{parts.port}"
    return host + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")


@functools.cache
def _spdx_index() -> dict[str, Mapping[str, Any]]:
    """The pinned license-expression's SPDX ids (licenses and exceptions) -> its scancode index item."""
    # lazy: license-expression (~30 ms) only when an id outside the table's own entries is looked up
    from license_expression import get_license_index

    return {
        item["spdx_license_key"]: item
        for item in get_license_index()
        # scancode's own LicenseRef-scancode-... ids are left out: a LicenseRef must stay the publisher's
        if item.get("spdx_license_key") and not item["spdx_license_key"].startswith("LicenseRef-")
    }


@functools.cache
def spdx_license_ids() -> tuple[str, ...]:
    """Every SPDX license id (not exception) the pinned ``license-expression`` knows, sorted."""
    return tuple(sorted(k for k, item in _spdx_index().items() if not item.get("is_exception")))


def _creative_commons(key: str) -> _Entry | None:
    """A Creative Commons license classified by the elements of its id (see licenses.json)."""
    match = _CREATIVE_COMMONS.match(key)
    if match is None:
        return None
    elements = match["elements"].split("-")
    share_alike: frozenset[str] = frozenset()
    if "SA" in elements:
        accepted = {key}
        if match["version"] >= "2.0":  # later versions and ports with the same elements
            for other in spdx_license_ids():
                found = _CREATIVE_COMMONS.match(other)
                if found and found["elements"] == match["elements"] and found["version"] >= match["version"]:
                    accepted.add(other)
        share_alike = frozenset(accepted | _table().cc_compatible.get(key, frozenset()))
    return _Entry(
        name=_table().names.get(key, key),
        use=UseClass.NON_COMMERCIAL if "NC" in elements else UseClass.COMMERCIAL,
        attribution="BY" in elements,
        share_alike=share_alike,
        no_derivatives="ND" in elements,
        restrictions=frozenset(),
        trained_model=frozenset(MODEL_TERMS),
    )


@functools.cache
def _lookup(key: str) -> _Entry | None:
    """The terms of one id: table entry, Creative Commons elements, scancode category default, or None."""
    table = _table()
    if key in table.entries:
        return table.entries[key]
    item = _spdx_index().get(key)
    if item is None or item.get("is_exception"):
        return None
    found = _creative_commons(key)
    if found is not None:
        return found
    default = table.category_defaults.get(item.get("category", ""))
    if default is None:
        return None
    return _entry(key, default, key=key, name=table.names.get(key, key))


def known_licenses() -> tuple[str, ...]:
    """Every id with a class: the SPDX license ids and the table's Hugging Face ids, sorted."""
    return tuple(sorted(k for k in {*spdx_license_ids(), *_table().entries} if _lookup(k) is not None))


@functools.cache
def _licensing() -> Licensing:
    """SPDX symbols (without scancode's LicenseRef aliases) plus the table's HF ids."""
    # lazy: license-expression (~20 ms of imports) only once an expression is parsed
    from license_expression import LicenseSymbol, Licensing

    symbols = []
    for key, item in _spdx_index().items():
        aliases = tuple(a for a in item.get("other_spdx_license_keys", ()) if not a.startswith("LicenseRef-"))
        symbols.append(LicenseSymbol(key, aliases=aliases, is_exception=item.get("is_exception", False)))
    symbols.extend(LicenseSymbol(key) for key in sorted(_table().huggingface))
    return Licensing(symbols)


@functools.lru_cache(maxsize=512)
def _parse(expression: str) -> LicenseExpression:
    from license_expression import ExpressionError, ExpressionParseError  # lazy: as in _licensing()

    if not isinstance(expression, str) or not expression.strip():
        raise ClaimsError("the license expression is empty")
    licensing = _licensing()
    try:
        parsed = licensing.parse(expression, strict=True)
    except (ExpressionError, ExpressionParseError) as err:
        raise ClaimsError(f"{expression!r} is not a valid license expression ({err})") from None
    if parsed is None:
        raise ClaimsError("the license expression is empty")
    unknown = [k for k in licensing.unknown_license_keys(parsed) if not _LICENSE_REF.match(k)]
    if unknown:
        raise ClaimsError(f"{expression!r} names unknown license id(s): {', '.join(unknown)}")
    return parsed


def normalize_expression(expression: str) -> str:
    """The canonical form of a valid expression (SPDX case, explicit parentheses).

    Raises :class:`ClaimsError` for bad syntax or ids that are neither SPDX,
    a Hugging Face id of the table, nor ``LicenseRef-<name>``.
    """
    return str(_parse(expression))


def _is_custom(key: str) -> bool:
    """A publisher's own license, named only by its URL: ``LicenseRef-...`` or Hugging Face ``other``."""
    return key == "other" or bool(_LICENSE_REF.match(key))


def _leaves(node: LicenseExpression) -> set[str]:
    from license_expression import LicenseSymbol, LicenseWithExceptionSymbol  # lazy: as in _licensing()

    if isinstance(node, LicenseWithExceptionSymbol):
        return {node.license_symbol.key}
    if isinstance(node, LicenseSymbol):
        return {node.key}
    return set().union(*(_leaves(arg) for arg in node.args))


def _fold(node: LicenseExpression, leaf: Callable[[str], _T], any_of: Callable[[list[_T]], _T],
          all_of: Callable[[list[_T]], _T]) -> _T:  # fmt: skip
    """Evaluate the expression bottom-up: one pass, linear in its size (no expansion of ``AND`` over ``OR``)."""
    from license_expression import LicenseSymbol, LicenseWithExceptionSymbol  # lazy: as in _licensing()

    if isinstance(node, LicenseWithExceptionSymbol):
        return leaf(node.license_symbol.key)
    if isinstance(node, LicenseSymbol):
        return leaf(node.key)
    values = [_fold(arg, leaf, any_of, all_of) for arg in node.args]
    return any_of(values) if isinstance(node, _licensing().OR) else all_of(values)


@dataclass(frozen=True)
class _Option:
    """One way of taking (part of) an expression: the ids whose terms apply and what they cost."""

    ids: frozenset[str]
    unknown: int  # ids whose terms are unknown
    penalty: int  # the caller's rules broken, summed over the ids


class _Chooser:
    """Builds the terms of an expression, choosing at each ``OR`` (see the module docstring)."""

    def __init__(self, expression: str, entries: dict[str, _Entry | None],
                 penalty: Callable[[LicenseTerms], int] | None, trained_model: bool) -> None:  # fmt: skip
        self.expression = expression
        self.entries = entries
        self.trained_model = trained_model
        self.penalties = {key: penalty(self.terms(frozenset({key}))) if penalty is not None else 0 for key in entries}
        self._strictness: dict[frozenset[str], tuple[int, bool, int, int, bool, tuple[str, ...]]] = {}

    def terms(self, ids: frozenset[str]) -> LicenseTerms:
        found = {k: e for k in ids if (e := self.entries[k]) is not None}  # 'cc', 'other': unknown class
        unknown = tuple(sorted(k for k in ids if k not in found or not found[k].known))
        classes = [e.use for e in found.values()] + [UseClass.UNSPECIFIED] * bool(unknown)
        return LicenseTerms(
            expression=self.expression,
            licenses=tuple(sorted(ids)),
            use_class=most_restrictive(classes),
            attribution=any(e.attribution for e in found.values()),
            share_alike=tuple(sorted(k for k, e in found.items() if e.share_alike)),
            no_derivatives=any(e.no_derivatives for e in found.values()),
            restrictions=tuple(sorted(set().union(*(e.restrictions for e in found.values())))),
            unspecified=unknown,
            resolved=tuple(sorted((k, e.name) for k, e in found.items() if _is_custom(k) and e.known)),
            trained_model=self.trained_model,
        )

    def leaf(self, key: str) -> _Option:
        entry = self.entries[key]
        return _Option(frozenset({key}), 0 if entry is not None and entry.known else 1, self.penalties[key])

    def rank(self, option: _Option) -> tuple[bool, int, tuple[int, bool, int, int, bool, tuple[str, ...]]]:
        strictness = self._strictness.get(option.ids)
        if strictness is None:
            terms = self.terms(option.ids)
            strictness = (
                terms.use_class.rank,
                terms.no_derivatives,
                len(terms.restrictions),
                len(terms.share_alike),
                terms.attribution,
                terms.licenses,  # last: a deterministic tie-break
            )
            self._strictness[option.ids] = strictness
        return (option.unknown > 0, option.penalty, strictness)

    def any_of(self, options: list[_Option]) -> _Option:
        return min(options, key=self.rank)

    @staticmethod
    def all_of(options: list[_Option]) -> _Option:
        ids = frozenset().union(*(o.ids for o in options))
        return _Option(ids, sum(o.unknown for o in options), sum(o.penalty for o in options))


def _entries(keys: Iterable[str], license_url: str | None, trained_model: bool) -> dict[str, _Entry | None]:
    """The terms of each id; a URL classifies the one custom id of an expression (two would be ambiguous)."""
    keys = set(keys)
    custom = [k for k in keys if _is_custom(k)]
    by_url = _table().custom.get(_url_key(license_url)) if license_url and len(custom) == 1 else None
    entries = {k: by_url if by_url is not None and _is_custom(k) else _lookup(k) for k in keys}
    if trained_model:
        return {k: e.for_trained_model() if e is not None else None for k, e in entries.items()}
    return entries


def license_terms(
    expression: str,
    license_url: str | None = None,
    *,
    trained_model: bool = False,
    penalty: Callable[[LicenseTerms], int] | None = None,
) -> LicenseTerms:
    """The terms a user is bound by under ``expression`` (see the module docstring).

    ``license_url`` (``copyright.license_url``) classifies a ``LicenseRef-``
    or ``other`` id when the table knows the URL. ``trained_model``: only the
    terms that reach a model trained on data under the expression.
    ``penalty`` scores the terms of one license against the caller's rules
    (0: it breaks none); at an ``OR`` the option with the lowest sum is taken.
    Ids without known terms count as use class unspecified, with no other
    attribute, and are listed in :attr:`LicenseTerms.unspecified`.
    """
    if isinstance(expression, str) and _lookup(expression) is not None:
        # one id in its canonical form: what parsing would give, without building
        # license_expression's symbol index (~0.1 s per process)
        chooser = _Chooser(expression, _entries({expression}, license_url, trained_model), penalty, trained_model)
        return chooser.terms(frozenset({expression}))
    parsed = _parse(expression)
    chooser = _Chooser(str(parsed), _entries(_leaves(parsed), license_url, trained_model), penalty, trained_model)
    option = _fold(parsed, chooser.leaf, chooser.any_of, chooser.all_of)
    return chooser.terms(option.ids)


def allows_commercial_use(expression: str, license_url: str | None = None) -> bool:
    """False only when every ``OR`` option has a non-commercial or academic-only part.

    Unknown terms might allow it, so a publisher's ``commercial_use: true`` is
    refused only when no option can (claims.py). Linear in the expression.
    """
    parsed = _parse(expression)
    entries = _entries(_leaves(parsed), license_url, trained_model=False)
    restrictive = (UseClass.NON_COMMERCIAL, UseClass.ACADEMIC_ONLY)

    def leaf(key: str) -> bool:
        entry = entries[key]
        return entry is None or entry.use not in restrictive

    return _fold(parsed, leaf, any, all)


def _carrier(artifact: LicenseExpression, artifact_url: str | None) -> Callable[[str], bool]:
    """Whether every ``OR`` option of ``artifact`` has a license that satisfies a license's share-alike terms.

    One fold of the artifact per share-alike license asked about (memoised), so the
    cost is the artifact's size times the number of distinct share-alike licenses.
    """
    custom = [k for k in _leaves(artifact) if _is_custom(k)]
    same_as = _table().custom_same_as.get(_url_key(artifact_url)) if artifact_url and len(custom) == 1 else None

    @functools.cache
    def carried(required: str) -> bool:
        entry = _lookup(required)
        accepted = (entry.share_alike if entry is not None else frozenset()) | {required}

        def leaf(key: str) -> bool:  # a custom id known by its URL counts as the id it is
            return (same_as if same_as is not None and _is_custom(key) else key) in accepted

        return _fold(artifact, leaf, all, any)

    return carried


def carries_share_alike(terms: LicenseTerms, artifact: str, license_url: str | None = None) -> bool:
    """True when ``artifact`` honours the share-alike licenses in ``terms`` (e.g. an ancestor's chosen option).

    Every ``OR`` option of the artifact must carry each of them (a recipient
    may pick any), and inside an option one ``AND``-ed license that is the
    same or a compatible one (per the table, e.g. CC-BY-SA-4.0 ->
    GPL-3.0-only) carries the obligation.
    """
    carried = _carrier(_parse(artifact), license_url)
    return all(carried(required) for required in terms.share_alike)


def share_alike_compatible(ancestor: str, artifact: str) -> bool:
    """True when ``artifact``'s license honours the share-alike terms of ``ancestor``.

    The ancestor may be used under any of its ``OR`` options, so one option
    whose share-alike licenses are all carried is enough (see
    :func:`carries_share_alike` for the artifact's side). Linear in the size of
    both expressions.
    """
    carried = _carrier(_parse(artifact), None)

    def leaf(key: str) -> bool:
        entry = _lookup(key)
        return entry is None or not entry.share_alike or carried(key)

    return _fold(_parse(ancestor), leaf, any, all)

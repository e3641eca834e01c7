"""What a license expression lets a user do, read from a table kept as data.

The verifier's copyright rules (CLAIMS.md) need a few attributes per license:
its use class, attribution, share-alike, no-derivatives and use restrictions.
They live in ``provenance/data/licenses.json`` with the URL of each license
text and the sources of the classes, so a reviewer can check and extend them
without reading code.

Expressions are parsed with ``license-expression`` over the SPDX license list,
extended with the Hugging Face Hub license ids of the table (``openrail``,
``llama3``, ``gemma``, ``other``...). ``LicenseRef-<name>`` ids are accepted
and have unspecified terms.

* ``AND``: every license applies, so the most restrictive use class wins,
  attribution, share-alike and no-derivatives are OR-ed and restrictions
  accumulate.
* ``OR``: the user picks one option, so the least restrictive option is taken
  (use class first, then no-derivatives, restrictions, share-alike, attribution).
* ``WITH`` exceptions only add permissions; the base license's terms are kept.
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from provenance.errors import ClaimsError, DataFileError

if TYPE_CHECKING:
    from license_expression import LicenseExpression, Licensing  # untyped: Any to mypy, named for the reader

__all__ = [
    "UseClass",
    "LicenseTerms",
    "normalize_expression",
    "license_terms",
    "share_alike_compatible",
    "most_restrictive",
    "known_licenses",
]

_LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")
_MAX_OPTIONS = 256  # an expression with more alternatives than this is refused


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
    use restrictions that derivatives must carry on.
    """

    expression: str
    licenses: tuple[str, ...]
    use_class: UseClass
    attribution: bool
    share_alike: tuple[str, ...]
    no_derivatives: bool
    restrictions: tuple[str, ...]

    @property
    def is_share_alike(self) -> bool:
        return bool(self.share_alike)


@dataclass(frozen=True)
class _Entry:
    use: UseClass
    attribution: bool
    share_alike: frozenset[str]  # licenses that satisfy the obligation; empty: none
    no_derivatives: bool
    restrictions: frozenset[str]


_UNKNOWN = _Entry(UseClass.UNSPECIFIED, False, frozenset(), False, frozenset())
_ENTRY_KEYS = {"name", "url", "use", "attribution", "share_alike", "no_derivatives", "restrictions", "note"}


@dataclass(frozen=True)
class _Table:
    entries: dict[str, _Entry]
    huggingface: frozenset[str]


@functools.cache
def _table() -> _Table:
    """Load and check licenses.json once; a broken table is a packaging bug."""
    raw = json.loads(resources.files("provenance").joinpath("data/licenses.json").read_text("utf-8"))
    entries: dict[str, _Entry] = {}
    for scheme in ("spdx", "huggingface"):
        for key, item in raw[scheme].items():
            extra = set(item) - _ENTRY_KEYS
            if extra or not {"name", "url", "use", "attribution"} <= set(item):
                raise DataFileError(f"provenance/data/licenses.json: entry {key} has bad or missing keys")
            entries[key] = _Entry(
                use=UseClass(item["use"]),
                attribution=bool(item["attribution"]),
                share_alike=frozenset(item.get("share_alike", ())),
                no_derivatives=bool(item.get("no_derivatives", False)),
                restrictions=frozenset(item.get("restrictions", ())),
            )
    return _Table(entries, frozenset(raw["huggingface"]))


@functools.cache
def _licensing() -> Licensing:
    """SPDX symbols (without scancode's LicenseRef aliases) plus the table's HF ids."""
    # lazy: license-expression (~20 ms of imports) only once an expression is parsed
    from license_expression import LicenseSymbol, Licensing, get_license_index

    symbols = []
    for item in get_license_index():
        key = item.get("spdx_license_key")
        if not key or key.startswith("LicenseRef-"):
            continue  # scancode's own ids: a LicenseRef must stay the publisher's
        aliases = tuple(a for a in item.get("other_spdx_license_keys", ()) if not a.startswith("LicenseRef-"))
        symbols.append(LicenseSymbol(key, aliases=aliases, is_exception=item.get("is_exception", False)))
    symbols.extend(LicenseSymbol(key) for key in sorted(_table().huggingface))
    return Licensing(symbols)


def known_licenses() -> tuple[str, ...]:
    """Every id the table describes (SPDX ids and Hugging Face ids), sorted."""
    return tuple(sorted(_table().entries))


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


def _options(node: LicenseExpression) -> list[frozenset[str]]:
    """The expression as alternatives (disjunctive normal form) of license-id sets."""
    from license_expression import LicenseSymbol, LicenseWithExceptionSymbol  # lazy: as in _licensing()

    if isinstance(node, LicenseWithExceptionSymbol):
        return [frozenset({node.license_symbol.key})]
    if isinstance(node, LicenseSymbol):
        return [frozenset({node.key})]
    children = [_options(arg) for arg in node.args]
    if isinstance(node, _licensing().OR):
        result = [option for child in children for option in child]
    else:  # AND
        result = [frozenset().union(*combo) for combo in itertools.product(*children)]
    if len(result) > _MAX_OPTIONS:
        raise ClaimsError(f"the license expression has more than {_MAX_OPTIONS} alternatives")
    return result


def _terms(expression: str, ids: frozenset[str]) -> LicenseTerms:
    entries = {key: _table().entries.get(key, _UNKNOWN) for key in ids}
    return LicenseTerms(
        expression=expression,
        licenses=tuple(sorted(ids)),
        use_class=most_restrictive(e.use for e in entries.values()),
        attribution=any(e.attribution for e in entries.values()),
        share_alike=tuple(sorted(k for k, e in entries.items() if e.share_alike)),
        no_derivatives=any(e.no_derivatives for e in entries.values()),
        restrictions=tuple(sorted(set().union(*(e.restrictions for e in entries.values())))),
    )


def _strictness(terms: LicenseTerms) -> tuple[int, bool, int, int, bool, tuple[str, ...]]:
    return (
        terms.use_class.rank,
        terms.no_derivatives,
        len(terms.restrictions),
        len(terms.share_alike),
        terms.attribution,
        terms.licenses,  # last: a deterministic tie-break
    )


def license_terms(expression: str) -> LicenseTerms:
    """The terms a user is bound by under ``expression`` (see the module docstring).

    Ids the table does not describe (``LicenseRef-...``, rarer SPDX ids) count
    as use class unspecified with no other attribute.
    """
    if isinstance(expression, str) and expression in _table().entries:
        # one id the table describes, already in its canonical form: what parsing would give,
        # without building license_expression's symbol index (~0.1 s per process)
        return _terms(expression, frozenset({expression}))
    parsed = _parse(expression)
    normalized = str(parsed)
    return min((_terms(normalized, option) for option in _options(parsed)), key=_strictness)


def share_alike_compatible(ancestor: str, artifact: str) -> bool:
    """True when ``artifact``'s license honours the share-alike terms of ``ancestor``.

    The ancestor may be used under any of its ``OR`` options, so one option
    whose share-alike licenses are all carried is enough. Every ``OR`` option
    of the artifact must carry them (a recipient may pick any), and inside an
    option one ``AND``-ed license that is the same or a compatible one (per the
    table, e.g. CC-BY-SA-4.0 -> GPL-3.0-only) carries the obligation.
    """
    entries = _table().entries
    artifact_options = _options(_parse(artifact))

    def carried(required: str) -> bool:
        accepted = entries[required].share_alike | {required}
        return all(option & accepted for option in artifact_options)

    return any(
        all(carried(key) for key in option if entries.get(key, _UNKNOWN).share_alike)
        for option in _options(_parse(ancestor))
    )

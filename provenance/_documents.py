"""Reading the files people write by hand (claims, policies): text, YAML or JSON, and problem lists.

Both kinds of file fail the same ways (missing, not UTF-8, not YAML, fields
that do not validate), and a person should read the same shape of message for
each; the error class says which file it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provenance.errors import ProvenanceError

__all__ = ["read_text", "parse_yaml", "parse_json", "problems_text", "not_accepted"]


def read_text(path: Path, *, what: str, option: str, error: type[ProvenanceError]) -> str:
    """The UTF-8 text of ``path``; ``what`` names the file ("claims file"), ``option`` the flag that gave it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist", hint=f"check the path given to {option}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None
    except OSError as err:
        raise error(f"{what} {path} cannot be read: {err.strerror}") from None


def parse_yaml(text: str, path: Path, *, what: str, error: type[ProvenanceError]) -> Any:
    """YAML 1.2 (see provenance._yaml) without duplicate keys; the value is checked by the caller's model."""
    import yaml  # lazy: start-up time of commands that never read a YAML file

    from provenance._yaml import Yaml12Loader

    try:
        return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise error(f"{what} {path} is not valid YAML: {err.problem or err.context}{at}") from None
    except yaml.YAMLError as err:
        raise error(f"{what} {path} is not valid YAML: {err}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} is given twice")
        result[key] = value
    return result


def parse_json(text: str, path: Path, *, what: str, error: type[ProvenanceError]) -> Any:
    """JSON without duplicate keys; the value is checked by the caller's model."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise error(f"{what} {path} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from None
    except ValueError as err:
        raise error(f"{what} {path} is not valid JSON: {err}") from None


def problems_text(problems: Sequence[tuple[str, str]]) -> str:
    """'N problem(s):' and one indented line per (path, text)."""
    count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
    lines = "\n".join(f"  - {path}: {text}" for path, text in problems)
    return f"{count}:\n{lines}"


def not_accepted(value: object, accepted: str) -> str:
    """A refused value as both files' problems say it: the value as JSON (cut at 60 characters), then what
    would do."""
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} is not accepted; accepted: {accepted}"

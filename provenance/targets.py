"""What a target given on the command line names, and the Statement that speaks for it.

``provenance verify``, ``export`` and ``disclose`` take ``PATH|SUBJECT|STATEMENT``.
:func:`resolve_target` tells them apart, the same way for all three: an
existing Statement file (:func:`~provenance.statement.is_statement_file`), an
existing artifact (a file or a directory, maybe with its Statement beside it),
or a subject (``0x`` and 64 hex digits). An ``hf://[datasets/]ORG/NAME[@REV][/PATH]``
target is an artifact too: the snapshot (or its file ``PATH``) that the local Hugging
Face cache holds (:class:`~provenance.hfcache.HubCache`, :func:`artifact_path`).
:func:`statement_for` then finds the
Statement of a target: the one given, the one beside the artifact, else the
newest the local store keeps of its subject (anchored ones first).

Resolving touches only the file system (and the Hugging Face Hub for an ``hf://``
target when a download is asked for); nothing here reads the chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import InvalidValue, NotFound, UsageError
from provenance.record import hex32, parse_bytes32
from provenance.statement import Statement, is_statement_file, statement_path_for

if TYPE_CHECKING:  # pragma: no cover
    from provenance.hfcache import HubCache
    from provenance.manifest import Progress
    from provenance.store import Store

__all__ = ["Target", "StatementTarget", "ArtifactTarget", "SubjectTarget", "resolve_target", "statement_for",
           "artifact_path"]

HF_PREFIX = "hf://"

_SUBJECT = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class StatementTarget:
    """A Statement file, read when resolved."""

    path: Path
    statement: Statement


@dataclass(frozen=True)
class ArtifactTarget:
    """A file or a directory that is not a Statement; ``beside`` is its Statement file when one is there."""

    path: Path
    beside: Path | None


@dataclass(frozen=True)
class SubjectTarget:
    """A subject (an artifact's Merkle root) that names no existing path."""

    subject: bytes


Target = StatementTarget | ArtifactTarget | SubjectTarget


def artifact_path(text: str, *, hub: HubCache | None = None) -> str:
    """The path ``text`` names: itself, or for an ``hf://`` target the cached snapshot (or its ``PATH``)
    found through ``hub`` (default: huggingface_hub's cache, offline). A download asked for another
    target is refused (:class:`UsageError`)."""
    if text.startswith(HF_PREFIX):
        from provenance.hfcache import HubCache

        return str((hub or HubCache()).locate(text))
    if hub is not None and hub.download:
        raise UsageError(f"{text}: --download fetches hf:// targets only",
                         hint="hf://ORG/NAME[@REVISION], hf://datasets/ORG/NAME[@REVISION]")
    return text


def resolve_target(text: str, *, hub: HubCache | None = None) -> Target:
    """What ``text`` names; an existing path wins over a subject. Refuses anything that names nothing.

    ``hub``: where ``hf://`` targets are found (see :func:`artifact_path`).
    """
    path = Path(artifact_path(text, hub=hub))
    if path.exists():
        if is_statement_file(path):
            return StatementTarget(path, Statement.from_file(path))
        beside = statement_path_for(path)
        return ArtifactTarget(path, beside if beside.exists() else None)
    if _SUBJECT.fullmatch(text):
        return SubjectTarget(parse_bytes32(text, "SUBJECT"))
    if text.endswith(".json") or "/" in text or text.startswith("."):
        raise InvalidValue(f"{text} does not exist", hint="give an artifact path, a subject or a Statement")
    raise InvalidValue(
        f"{text!r} is neither an existing path nor a subject",
        hint="a subject is 0x followed by 64 hex digits; a path must exist",
    )


def statement_for(target: Target, store: Store | None, *, progress: Progress | None = None) -> Statement:
    """The Statement of ``target``: the one given, the one beside the artifact, else the local store's.

    An artifact without a Statement beside it is hashed (``progress`` is told)
    to learn its subject. Of the store's Statements of a subject the newest
    anchored one is taken, else the newest.
    """
    if isinstance(target, StatementTarget):
        return target.statement
    if isinstance(target, ArtifactTarget):
        if target.beside is not None:
            return Statement.from_file(target.beside)
        from provenance.manifest import Manifest

        subject = Manifest.from_path(target.path, progress=progress).subject
    else:
        subject = target.subject
    found = store.statements_for(subject) if store is not None else []
    if not found:
        where = f"the local store {store.path}" if store is not None else "there is no local store"
        raise NotFound(
            f"no Statement of subject {hex32(subject)} is known locally ({where})",
            hint="pass the Statement file that came with the artifact",
        )
    anchored = [s for s in found if s.anchor is not None]
    return (anchored or found)[-1]

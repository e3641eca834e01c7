"""Manifests: every regular file of an artifact with its size and SHA-256.

An artifact is a file or a directory. Its manifest lists each regular file by
its POSIX path relative to the root (UTF-8; for a single file, the file's name),
its size and the SHA-256 of its content, sorted by the UTF-8 bytes of the path.
A file's digest is the plain SHA-256 of the whole file, the value ``sha256sum``
prints and the Hugging Face Hub shows as the LFS ``sha256``.

The artifact's **subject** is the root of the Merkle tree (:mod:`provenance.merkle`)
whose leaves are ``file_leaf(path, size, sha256)``, one per entry. A single
file's inclusion proof (:meth:`Manifest.proof`) shows it belongs to the artifact.

    >>> m = Manifest.from_path("models/tiny")          # doctest: +SKIP
    >>> m.subject_hex, m.file_count, m.total_size      # doctest: +SKIP
    >>> Manifest.from_json(m.to_json()) == m           # doctest: +SKIP
    >>> m.check("models/tiny").ok                      # doctest: +SKIP

Walking refuses symbolic links (``allow_symlinks=True`` follows those whose
target stays inside the root), devices, FIFOs, sockets and names that are not
UTF-8, with a :class:`~provenance.errors.ManifestError` naming the path. The
default ignores are ``.git``, ``.cache/huggingface`` and ``provenance.json``,
each relative to the root; an ignored path covers everything below it.
A Hugging Face cache snapshot is hashed as it is (:mod:`provenance.hfcache`): its
links into its own repository's ``blobs/`` are followed, giving the manifest of
a plain copy, and an LFS blob whose content is not what its name says raises
:class:`~provenance.errors.BlobMismatch` (exit code 1) naming the file.

**Shards** (opt-in, ``shard_size=N``): a file larger than ``N`` bytes is hashed
as consecutive shards of ``N`` bytes (the last one shorter), in parallel. Each
shard is one entry with the file's ``path``, its ``offset`` and its ``size``;
its Merkle leaf is ``file_leaf(f"{path}:{offset}:{offset + size}", size, sha256)``
(the resource name OpenSSF Model Signing uses for shards). Files of at most
``N`` bytes stay single entries, so ``sha256sum`` still applies to them. The
manifest records ``shard_size``: the same artifact hashed with another shard
size has another subject.

The JSON form (:meth:`Manifest.to_json`, version 1) is stable and documented in
``docs/manifests.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from provenance import _hashing, hfcache
from provenance.errors import ManifestError, ManifestMismatch
from provenance.merkle import MerkleTree, file_leaf

__all__ = [
    "DEFAULT_IGNORES",
    "FORMAT_VERSION",
    "ChangedFile",
    "Manifest",
    "ManifestDiff",
    "ManifestEntry",
    "ManifestMismatch",
    "Progress",
    "Summary",
    "summarize",
]

DEFAULT_IGNORES: tuple[str, ...] = (".git", ".cache/huggingface", "provenance.json")
"""Paths relative to the root that are never part of a manifest (nor anything below them)."""

FORMAT_VERSION = 1
_UINT256_END = 1 << 256


def _brief(value: object) -> str:
    """``repr(value)``, cut short: an error message must not echo a 4,000-digit number."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Progress(Protocol):
    """Receives progress while a manifest is built.

    ``start`` is called once with the totals the walk found, then ``advance``
    from worker threads as files and bytes are hashed. ``total_bytes`` is -1
    when a tree of many files was listed without a stat per file (its bytes
    are known once read).
    """

    def start(self, files: int, total_bytes: int) -> None: ...

    def advance(self, files: int, nbytes: int) -> None: ...


def _check_path(path: object) -> str:
    if not isinstance(path, str) or not path:
        raise ManifestError(f"manifest path must be a non-empty string, got {path!r}")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in path:
        raise ManifestError(f"manifest path {path!r} is not a normalized relative POSIX path")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ManifestError(f"manifest path {path!r} is not valid UTF-8") from None
    return path


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file, or one shard of a file when ``offset`` is set."""

    path: str
    size: int
    sha256: bytes
    offset: int | None = None

    def __post_init__(self) -> None:
        _check_path(self.path)
        # a size is a uint256 in the Merkle leaf; an offset only needs the shard's end to be one too
        if type(self.size) is not int or not 0 <= self.size < _UINT256_END:
            raise ManifestError(f"{self.path}: size must be an integer from 0 to 2^256-1, got {_brief(self.size)}")
        if not isinstance(self.sha256, bytes) or len(self.sha256) != 32:
            raise ManifestError(f"{self.path}: sha256 must be 32 bytes")
        if self.offset is not None and (
            type(self.offset) is not int or not 0 <= self.offset < _UINT256_END - self.size
        ):
            raise ManifestError(
                f"{self.path}: offset must be an integer from 0 to 2^256-1-size, got {_brief(self.offset)}"
            )

    @classmethod
    def _trusted(cls, path: str, size: int, sha256: bytes, offset: int | None) -> ManifestEntry:
        """An entry from values the walk already checked (skips validation: 100,000 files add up)."""
        entry = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(entry, "path", path)
        setattr_(entry, "size", size)
        setattr_(entry, "sha256", sha256)
        setattr_(entry, "offset", offset)
        return entry

    @property
    def name(self) -> str:
        """The string in the Merkle leaf: the path, or ``path:start:end`` for a shard."""
        if self.offset is None:
            return self.path
        return f"{self.path}:{self.offset}:{self.offset + self.size}"

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()

    @property
    def leaf(self) -> bytes:
        return file_leaf(self.name, self.size, self.sha256)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.offset is not None:
            out["offset"] = self.offset
        out["size"] = self.size
        out["sha256"] = self.sha256.hex()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManifestEntry:
        if not isinstance(data, Mapping):
            raise ManifestError(f"a manifest entry must be an object, got {data!r}")
        unknown = set(data) - {"path", "offset", "size", "sha256"}
        if unknown:
            raise ManifestError(f"manifest entry has unknown keys: {', '.join(sorted(unknown))}")
        digest = data.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ManifestError(f"{data.get('path')!r}: sha256 must be 64 hex characters")
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raise ManifestError(f"{data.get('path')!r}: sha256 is not hex") from None
        return cls(data.get("path"), data.get("size"), raw, data.get("offset"))  # type: ignore[arg-type]


def _sort_key(entry: ManifestEntry) -> tuple[bytes, int]:
    return (entry.path.encode("utf-8"), entry.offset or 0)


@dataclass(frozen=True)
class ChangedFile:
    """A file (or shard) whose content differs from the manifest."""

    name: str
    expected_sha256: bytes
    actual_sha256: bytes
    expected_size: int | None  # None when the expected side records no size (an OMS signature)
    actual_size: int

    def describe(self) -> str:
        same = self.expected_size is None or self.expected_size == self.actual_size
        sizes = "" if same else f" (size {self.expected_size} -> {self.actual_size})"
        return f"{self.name}: expected sha256 {self.expected_sha256.hex()}, found {self.actual_sha256.hex()}{sizes}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.name,
            "expected": {"size": self.expected_size, "sha256": self.expected_sha256.hex()},
            "actual": {"size": self.actual_size, "sha256": self.actual_sha256.hex()},
        }


@dataclass(frozen=True)
class ManifestDiff:
    """What differs between an expected manifest and the files found: all sorted by path."""

    changed: tuple[ChangedFile, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        out = [f"changed {c.describe()}" for c in self.changed]
        out += [f"missing {name}" for name in self.missing]
        out += [f"extra {name}" for name in self.extra]
        return out

    def report(self, limit: int = 20) -> str:
        """:meth:`summary` then up to ``limit`` lines of detail, for error messages."""
        lines = self.lines()
        out = [self.summary()] + ["  " + line for line in lines[:limit]]
        if len(lines) > limit:
            out.append(f"  ... and {len(lines) - limit} more")
        return "\n".join(out)

    def summary(self) -> str:
        if self.ok:
            return "all files match"
        parts = []
        for label, items in (("changed", self.changed), ("missing", self.missing), ("extra", self.extra)):
            if items:
                parts.append(f"{len(items)} {label}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "changed": [c.to_dict() for c in self.changed],
            "missing": list(self.missing),
            "extra": list(self.extra),
        }


@dataclass(frozen=True)
class Manifest:
    """The files of an artifact, sorted by path; build it with a named constructor.

    :meth:`from_path` hashes files, :meth:`from_entries` takes known digests,
    :meth:`from_json` reads the JSON form. Every constructor validates: paths
    are normalized relative POSIX paths, entries are sorted and unique, shards
    are contiguous and of ``shard_size`` bytes.
    """

    entries: tuple[ManifestEntry, ...]
    shard_size: int | None = None
    _by_name: dict[str, ManifestEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = self.entries
        if not isinstance(entries, tuple) or not all(isinstance(e, ManifestEntry) for e in entries):
            raise ManifestError("manifest entries must be a tuple of ManifestEntry")
        if not entries:
            raise ManifestError("a manifest needs at least one file")
        if self.shard_size is not None and (type(self.shard_size) is not int or self.shard_size <= 0):
            raise ManifestError(f"shard size must be a positive integer, got {self.shard_size!r}")
        keys = [_sort_key(e) for e in entries]
        if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
            raise ManifestError("manifest entries must be sorted by path (UTF-8 bytes) and unique")
        by_name: dict[str, ManifestEntry] = {}
        for entry in entries:
            if entry.name in by_name:
                raise ManifestError(
                    f"{entry.name}: appears twice in the manifest (a file name collides with a shard name)"
                )
            by_name[entry.name] = entry
        self._check_shards()
        object.__setattr__(self, "_by_name", by_name)

    def _check_shards(self) -> None:
        size = self.shard_size
        entries = self.entries
        i = 0
        while i < len(entries):
            entry = entries[i]
            if entry.offset is None:
                i += 1
                continue
            if size is None:
                raise ManifestError(f"{entry.path}: a shard entry needs the manifest's shard_size")
            j = i
            expected = 0
            while j < len(entries) and entries[j].path == entry.path:
                shard = entries[j]
                if shard.offset != expected:
                    raise ManifestError(f"{shard.path}: shards must start at 0 and be contiguous")
                last = j + 1 == len(entries) or entries[j + 1].path != entry.path
                if shard.size == 0 or shard.size > size or (not last and shard.size != size):
                    raise ManifestError(
                        f"{shard.path}: shard at {shard.offset} must be {size} bytes (the last one at most)"
                    )
                expected += shard.size
                j += 1
            if j - i < 2:
                raise ManifestError(f"{entry.path}: a sharded file has at least two shards")
            i = j

    # ------------------------------------------------------------------ build

    @classmethod
    def from_entries(cls, entries: Iterable[ManifestEntry], *, shard_size: int | None = None) -> Manifest:
        """A manifest of known entries, in any order."""
        return cls(tuple(sorted(entries, key=_sort_key)), shard_size)

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        allow_symlinks: bool = False,
        ignore: Iterable[str] = DEFAULT_IGNORES,
        shard_size: int | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> Manifest:
        """Hash a file or a directory.

        ``allow_symlinks`` follows links whose target stays inside the root (the
        entry keeps the link's path). ``ignore`` lists paths relative to the
        root left out with everything below them (not applied to a single
        file). ``shard_size`` hashes files larger than it as shards. ``workers``
        defaults to the usable cores.
        """
        if shard_size is not None and (type(shard_size) is not int or shard_size <= 0):
            raise ManifestError(f"shard size must be a positive integer, got {shard_size!r}")
        root = os.fspath(path)
        many = _hashing.hash_many(
            root, ignore=ignore, shard_size=shard_size, workers=workers, progress=progress, entry=ManifestEntry._trusted
        )
        if many is not None:  # a plain tree of many files, hashed by worker processes with their leaves
            many_entries, leaves, many_shards = many
            manifest = cls.from_entries(many_entries, shard_size=shard_size if many_shards else None)
            manifest.__dict__["tree"] = MerkleTree.from_leaves(leaves)  # what the cached property would compute
            return manifest
        links = hfcache.snapshot_links(root)  # a Hugging Face cache snapshot: its links to its blobs are followed
        refs = _hashing.walk(root, allow_symlinks=allow_symlinks, ignore=ignore,
                             follow=links.follow if links is not None else None)
        if not refs:
            raise ManifestError(f"{root}: contains no files to hash", hint="an empty directory has no subject")
        if progress is not None:
            progress.start(len(refs), sum(r.size for r in refs))
        results = _hashing.hash_files(
            refs,
            shard_size=shard_size,
            workers=workers,
            progress=progress.advance if progress else None,
        )
        trusted = ManifestEntry._trusted
        entries = []
        used_shards = False
        for ref, result in zip(refs, results, strict=True):
            if isinstance(result, bytes):
                entries.append(trusted(ref.rel, ref.size, result, None))
            else:
                used_shards = True
                entries.extend(trusted(ref.rel, length, digest, offset) for offset, length, digest in result)
        wrong = links.mismatches(refs, results) if links is not None else []
        del refs, results
        manifest = cls.from_entries(entries, shard_size=shard_size if used_shards else None)
        if wrong:  # a blob whose content is not what its name says: BlobMismatch, naming the files
            assert links is not None
            raise links.error(manifest, wrong)
        return manifest

    # ----------------------------------------------------------------- values

    @cached_property
    def tree(self) -> MerkleTree:
        return MerkleTree.from_leaves(_hashing.file_leaves((e.name, e.size, e.sha256) for e in self.entries))

    @property
    def subject(self) -> bytes:
        """The artifact's subject: the Merkle root over the entries (32 bytes)."""
        return self.tree.root

    @property
    def subject_hex(self) -> str:
        return "0x" + self.subject.hex()

    @property
    def file_count(self) -> int:
        """Distinct files (a sharded file counts once)."""
        return len({e.path for e in self.entries})

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self.entries)

    @property
    def paths(self) -> tuple[str, ...]:
        """Distinct file paths, sorted."""
        return tuple(dict.fromkeys(e.path for e in self.entries))

    def entry(self, name: str) -> ManifestEntry:
        """The entry for a path (or ``path:start:end`` shard name)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ManifestError(f"{name}: not in this manifest") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def proof(self, name: str) -> list[bytes]:
        """Inclusion proof of one file (or shard) under :attr:`subject`.

        Check it with ``provenance.merkle.verify(subject, entry.leaf, proof)``.
        """
        return self.tree.proof(self.entry(name).leaf)

    # ------------------------------------------------------------- comparison

    def diff(self, actual: Manifest) -> ManifestDiff:
        """What ``actual`` changes, lacks or adds compared with this manifest (the expected one)."""
        expected_names = self._by_name
        actual_names = actual._by_name
        changed: list[ChangedFile] = []
        for name, exp in expected_names.items():
            act = actual_names.get(name)
            if act is not None and (act.sha256 != exp.sha256 or act.size != exp.size):
                changed.append(ChangedFile(name, exp.sha256, act.sha256, exp.size, act.size))

        def key(name: str) -> bytes:
            return name.encode("utf-8")

        return ManifestDiff(
            changed=tuple(sorted(changed, key=lambda c: key(c.name))),
            missing=tuple(sorted((n for n in expected_names if n not in actual_names), key=key)),
            extra=tuple(sorted((n for n in actual_names if n not in expected_names), key=key)),
        )

    def check(
        self,
        path: str | os.PathLike[str],
        *,
        allow_symlinks: bool = False,
        ignore: Iterable[str] = DEFAULT_IGNORES,
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> ManifestDiff:
        """Hash ``path`` the way this manifest was made and compare."""
        actual = Manifest.from_path(
            path,
            allow_symlinks=allow_symlinks,
            ignore=ignore,
            shard_size=self.shard_size,
            workers=workers,
            progress=progress,
        )
        return self.diff(actual)

    # ------------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "subject": self.subject_hex,
            "file_count": self.file_count,
            "total_size": self.total_size,
            "shard_size": self.shard_size,
            "files": [e.to_dict() for e in self.entries],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The stable JSON form (keys in a fixed order, UTF-8, trailing newline)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        if not isinstance(data, Mapping):
            raise ManifestError("a manifest must be a JSON object")
        if data.get("version") != FORMAT_VERSION:
            raise ManifestError(
                f"unsupported manifest version {data.get('version')!r}; this tool reads version {FORMAT_VERSION}"
            )
        files = data.get("files")
        if not isinstance(files, Sequence) or isinstance(files, (str, bytes)):
            raise ManifestError("a manifest needs a 'files' list")
        entries = [ManifestEntry.from_dict(f) for f in files]
        manifest = cls.from_entries(entries, shard_size=data.get("shard_size"))
        if tuple(entries) != manifest.entries:
            raise ManifestError("manifest files must be sorted by path (UTF-8 bytes)")
        subject = data.get("subject")
        if subject is not None and (not isinstance(subject, str) or subject.lower() != manifest.subject_hex):
            raise ManifestError(
                f"manifest subject {subject} does not match its files (they give {manifest.subject_hex})"
            )
        for key, value in (("file_count", manifest.file_count), ("total_size", manifest.total_size)):
            if key in data and data[key] != value:
                raise ManifestError(f"manifest {key} {data[key]!r} does not match its files ({value})")
        return manifest

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """A manifest from JSON text that may be hostile: pydantic-core's parser refuses nesting deeper
        than 200 levels with an error, where the standard library's hits the recursion limit (a
        traceback) or, once eth-account raised that limit, overflows the stack (a crash)."""
        from pydantic_core import from_json

        try:
            data = from_json(text, allow_inf_nan=False)
        except ValueError as err:
            raise ManifestError(f"the manifest is not valid JSON ({err})") from None
        return cls.from_dict(data)


@dataclass(frozen=True)
class Summary:
    """What ``provenance hash`` prints of an artifact: its subject, files and bytes, without its entries."""

    subject: bytes
    file_count: int
    total_size: int
    entry_count: int  # files, or shards of files
    shard_size: int | None  # None when no file was sharded

    @property
    def subject_hex(self) -> str:
        return "0x" + self.subject.hex()


def summarize(
    path: str | os.PathLike[str],
    *,
    allow_symlinks: bool = False,
    ignore: Iterable[str] = DEFAULT_IGNORES,
    shard_size: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """The subject of ``path`` and its counts, as :meth:`Manifest.from_path` would give them.

    A plain tree of many files is hashed without keeping its entries (10^6
    small files in about 125 MiB over all its processes, where a Manifest of
    them takes about 600 MiB); anything else is a Manifest summed up.
    """
    if shard_size is not None and (type(shard_size) is not int or shard_size <= 0):
        raise ManifestError(f"shard size must be a positive integer, got {shard_size!r}")
    root = os.fspath(path)
    many = _hashing.summarize_many(root, ignore=ignore, shard_size=shard_size, workers=workers, progress=progress)
    if many is not None:
        subject, files, total, entries, sharded = many
        return Summary(subject, files, total, entries, shard_size if sharded else None)
    manifest = Manifest.from_path(
        root, allow_symlinks=allow_symlinks, ignore=ignore, shard_size=shard_size, workers=workers, progress=progress
    )
    return Summary(
        manifest.subject, manifest.file_count, manifest.total_size, len(manifest.entries), manifest.shard_size
    )

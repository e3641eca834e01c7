"""Hugging Face's cache: snapshots verified as they are, and ``hf://`` targets found in it.

huggingface_hub (``snapshot_download``, ``hf download``, ``from_pretrained``) downloads into a cache
(``$HF_HUB_CACHE``, by default ``$HF_HOME/hub``, i.e. ``~/.cache/huggingface/hub``) laid out as::

    models--ORG--NAME/                 (datasets--ORG--NAME, spaces--ORG--NAME)
        refs/main                      the commit hash the branch (or tag) was at
        blobs/ETAG                     each content once, named by its etag: the SHA-256 of an LFS
                                       file (64 hex digits), the git SHA-1 of a small one (40)
        snapshots/COMMIT/PATH          a relative link ../../blobs/ETAG (one ../ more per folder)

A blob downloaded through Xet may itself be a link into the cache-wide store
``CACHE/blobs/XX/XETHASH`` that huggingface_hub marks with ``.huggingface-shared-blobs``.

**Snapshots.** Every file of a snapshot is a link out of it, which the walker refuses.
:func:`snapshot_links` gives it one exception (:meth:`SnapshotLinks.follow`): a link, the root
included, whose target is a blob of the SAME repository (a regular file directly in its ``blobs/``,
or a blob huggingface_hub linked into its shared store, as its own ``shared_blob_target`` reads it)
is followed, the entry keeping the link's path. The manifest is then that of a plain copy of the
files, byte for byte, so a publisher's registration of its repository and a user's cached download
have one subject. Any other link is refused as before, naming it.

After hashing, each file whose blob is named by 64 hex digits is checked against that name
(:meth:`SnapshotLinks.mismatches`): a blob changed after download raises
:class:`~provenance.errors.BlobMismatch` (exit 1), which the verifier turns into a ``TAMPERED``
integrity line naming the file. A blob named by a git SHA-1 is not checked that way (that digest
is of ``blob SIZE\\0`` and the content; the manifest's SHA-256 still decides integrity).

**Targets.** :class:`HubCache` finds what ``hf://[datasets/|spaces/]ORG/NAME[@REVISION][/PATH]``
names in the cache, parsed by huggingface_hub's own ``parse_hf_uri`` and looked up with its own
``snapshot_download(..., local_files_only=True)`` and ``try_to_load_from_cache`` (a branch or tag
through ``refs/``, or a commit hash; ``main`` by default), offline unless ``download`` is set.

huggingface_hub is imported only when a path is in a snapshot or an ``hf://`` target is given.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import BlobMismatch, FetchError, InvalidValue, ManifestError, NotFound

if TYPE_CHECKING:  # pragma: no cover
    from provenance._hashing import FileRef, Shard
    from provenance.manifest import Manifest

__all__ = ["CacheSnapshot", "SnapshotLinks", "Mismatch", "HubTarget", "HubCache", "snapshot_of", "snapshot_links",
           "parse_target", "REPO_TYPES"]

REPO_TYPES = ("model", "dataset", "space")
"""The repository types an ``hf://`` target may name (huggingface_hub's own names)."""

_LFS_NAME = re.compile(r"[0-9a-f]{64}", re.ASCII)


# ---------------------------------------------------------------------------
# snapshots


@dataclass(frozen=True)
class CacheSnapshot:
    """A snapshot folder of a Hugging Face cache, by real paths."""

    cache_dir: str  # the hub cache holding the repository's folder
    repo_dir: str  # CACHE/models--ORG--NAME
    repo_type: str  # model, dataset, space
    repo_id: str  # ORG/NAME
    commit: str  # the snapshot folder's name
    path: str  # CACHE/models--ORG--NAME/snapshots/COMMIT

    @property
    def blobs(self) -> str:
        return os.path.join(self.repo_dir, "blobs")

    @property
    def name(self) -> str:
        """How messages name the repository: its cache folder's name."""
        return os.path.basename(self.repo_dir)


def snapshot_of(path: str | os.PathLike[str]) -> CacheSnapshot | None:
    """The cache snapshot ``path`` is (or is in: a folder or a file of it), else None.

    Read from the real path (a file of a snapshot, itself a link, by its folder's real path), so a
    snapshot reached through a linked cache folder is recognised too.
    """
    text = os.path.abspath(os.fspath(path))
    real = (os.path.join(os.path.realpath(os.path.dirname(text)), os.path.basename(text))
            if os.path.islink(text) else os.path.realpath(text))
    parts = real.split(os.sep)
    if "snapshots" not in parts:  # most paths: decided without importing huggingface_hub
        return None
    for i in range(len(parts) - 3, 0, -1):  # the innermost repository folder
        if parts[i + 1] != "snapshots" or not parts[i + 2]:
            continue
        repo = _repo_of_folder(parts[i])
        if repo is None:
            continue
        cache = os.sep.join(parts[:i]) or os.sep
        repo_dir = os.path.join(cache, parts[i])
        return CacheSnapshot(cache, repo_dir, repo[0], repo[1], parts[i + 2],
                             os.path.join(repo_dir, "snapshots", parts[i + 2]))
    return None


def _repo_of_folder(name: str) -> tuple[str, str] | None:
    """``(repo_type, repo_id)`` of a repository folder's name, read as huggingface_hub's cache scan does."""
    from huggingface_hub import constants

    prefix, sep, rest = name.partition(constants.REPO_ID_SEPARATOR)
    repo_type = constants.REPO_TYPES_MAPPING.get(prefix)
    if not sep or not rest or repo_type is None:
        return None
    return repo_type, rest.replace(constants.REPO_ID_SEPARATOR, "/")


def snapshot_links(path: str | os.PathLike[str]) -> SnapshotLinks | None:
    """The walker's hook for ``path`` when it is in a cache snapshot, else None."""
    snapshot = snapshot_of(path)
    return SnapshotLinks(snapshot) if snapshot is not None else None


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class SnapshotLinks:
    """Which links of one snapshot the walker follows (:meth:`follow`), and what their blobs' names promise.

    Used for one walk: it remembers each followed file's blob name for :meth:`mismatches`.
    """

    def __init__(self, snapshot: CacheSnapshot) -> None:
        self.snapshot = snapshot
        try:  # the repository's own blobs folder, never a link to one elsewhere
            self._has_blobs = stat.S_ISDIR(os.lstat(snapshot.blobs).st_mode)
        except OSError:
            self._has_blobs = False  # (huggingface_hub without symlinks copies files into snapshots)
        self._real: dict[str, str] = {}  # a link's target folder as written -> its real path
        self._named: dict[str, str] = {}  # entry path -> its blob's name
        self._store: bool | None = None  # whether the cache has huggingface_hub's shared blob store

    def follow(self, link: str, rel: str) -> tuple[str, os.stat_result] | None:
        """The file to read for the link ``link`` (entry path ``rel``) and its ``lstat``, when it links to a
        blob of this repository; None for a link that stays in the snapshot (the walker's own rules decide);
        :class:`ManifestError` naming ``rel`` for any other."""
        try:
            written = os.readlink(link)
        except OSError as err:
            raise ManifestError(f"{rel}: cannot read the symbolic link ({err.strerror})") from None
        folder, name = os.path.split(os.path.join(os.path.dirname(link), written))  # one hop only
        real = self._real.get(folder)
        if real is None:
            real = self._real[folder] = os.path.realpath(folder)
        if not (self._has_blobs and real == self.snapshot.blobs and name not in ("", ".", "..")):
            target = os.path.realpath(link)
            if _is_within(target, self.snapshot.path):
                return None
            raise ManifestError(
                f"{rel}: is a symbolic link to {target}, not to a blob of {self.snapshot.name}; refused",
                hint="a cache snapshot's files link into their own repository's blobs/; download the "
                "repository again, or hash a plain copy of the files",
            )
        blob = os.path.join(real, name)
        try:
            st = os.lstat(blob)
        except FileNotFoundError:
            raise ManifestError(
                f"{rel}: links to blob {name}, which is missing from {real} (an interrupted download?)",
                hint="download the repository again",
            ) from None
        except OSError as err:
            raise ManifestError(f"{rel}: cannot read its blob {name} ({err.strerror})") from None
        if stat.S_ISLNK(st.st_mode):
            shared = self._shared(blob)
            if shared is None:
                raise ManifestError(
                    f"{rel}: its blob {name} is a symbolic link to {os.path.realpath(blob)}, not into the "
                    "cache's shared blob store; refused",
                )
            blob, st = shared
        elif not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{rel}: its blob {name} is not a regular file; refused")
        self._named[rel] = name
        return blob, st

    def _shared(self, blob: str) -> tuple[str, os.stat_result] | None:
        """A blob linked into the cache-wide store, read as huggingface_hub reads it."""
        # a private module of huggingface_hub: its own reading of the store it writes (the version is pinned)
        from huggingface_hub.utils._shared_blobs import is_shared_blobs_dir, shared_blob_target, shared_blobs_dir

        cache = self.snapshot.cache_dir
        if self._store is None:
            self._store = is_shared_blobs_dir(shared_blobs_dir(cache))
        target = shared_blob_target(blob, cache) if self._store else None
        if target is None:
            return None
        try:
            st = os.lstat(target)
        except OSError:
            return None
        return (str(target), st) if stat.S_ISREG(st.st_mode) else None

    def mismatches(self, refs: Sequence[FileRef], results: Sequence[bytes | list[Shard]]) -> list[Mismatch]:
        """Each LFS file whose content's SHA-256 is not its blob's name.

        ``results`` are :func:`provenance._hashing.hash_files`'s for ``refs``; a sharded file is hashed
        once more, whole, since its shards' digests do not give the file's.
        """
        out: list[Mismatch] = []
        if not self._named:
            return out
        from provenance._hashing import hash_files

        for ref, result in zip(refs, results, strict=True):
            name = self._named.get(ref.rel)
            if name is None or not _LFS_NAME.fullmatch(name):
                continue
            digest = result if isinstance(result, bytes) else hash_files([ref])[0]
            assert isinstance(digest, bytes)  # a whole file: hashed without shards
            if digest != bytes.fromhex(name):
                out.append(Mismatch(ref.rel, ref.size, bytes.fromhex(name), digest))
        return out

    def error(self, manifest: Manifest, wrong: Sequence[Mismatch]) -> BlobMismatch:
        """The error for :meth:`mismatches`' findings, each file named (``manifest``: the files as found)."""
        from provenance.manifest import ChangedFile, ManifestDiff

        changed = tuple(ChangedFile(m.path, m.named, m.actual, None, m.size) for m in wrong)
        lines = "\n".join(f"  {m.path}: blob {m.named.hex()} holds content of SHA-256 {m.actual.hex()}"
                          for m in wrong)
        return BlobMismatch(
            f"{len(changed)} file(s) of the Hugging Face cache snapshot {self.snapshot.path} are not what their "
            f"blobs' names say (an LFS blob is named by the SHA-256 of its content):\n{lines}",
            ManifestDiff(changed=changed),
            manifest,
            hint=f"the cached files were changed after download: download {self.snapshot.repo_id} again "
            "(huggingface_hub's force_download=True, or `hf download ... --force-download`)",
        )


@dataclass(frozen=True)
class Mismatch:
    """A file of a snapshot whose content is not what its blob's name says."""

    path: str  # the entry's path (the snapshot's file, not the blob)
    size: int
    named: bytes  # the SHA-256 the blob's name gives
    actual: bytes  # the SHA-256 of its content


# ---------------------------------------------------------------------------
# hf:// targets


@dataclass(frozen=True)
class HubTarget:
    """An ``hf://`` target: a repository at a revision, or a file (or folder) of it when ``path`` is set."""

    uri: str
    repo_type: str  # model, dataset, space
    repo_id: str  # ORG/NAME
    revision: str  # a branch, a tag or a commit hash; "main" when the target gives none
    path: str  # "" for the whole snapshot

    @property
    def repo(self) -> str:
        """``ORG/NAME``, ``datasets/ORG/NAME`` or ``spaces/ORG/NAME``."""
        return self.repo_id if self.repo_type == "model" else f"{self.repo_type}s/{self.repo_id}"


_FORM = "hf://ORG/NAME[@REVISION][/PATH] (hf://datasets/ORG/NAME..., hf://spaces/ORG/NAME...)"


def parse_target(text: str) -> HubTarget:
    """Read ``hf://[datasets/|spaces/]ORG/NAME[@REVISION][/PATH]`` with huggingface_hub's ``parse_hf_uri``
    (a revision with a ``/`` other than ``refs/pr/N`` is written ``%2F``)."""
    if not text.startswith("hf://"):
        raise InvalidValue(f"{text!r} is not an hf:// target", hint=f"write {_FORM}")
    from huggingface_hub import parse_hf_uri
    from huggingface_hub.errors import HfUriError

    try:
        parsed = parse_hf_uri(text)
    except HfUriError as err:
        raise InvalidValue(f"{text!r} is not an hf:// target: {err.msg}", hint=f"write {_FORM}") from None
    if parsed.type not in REPO_TYPES:
        raise InvalidValue(f"{text!r}: a {parsed.type} is not a repository with cache snapshots",
                           hint=f"write {_FORM}")
    path = parsed.path_in_repo.rstrip("/")
    if path and any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidValue(f"{text!r}: the path {path!r} has an empty, '.' or '..' segment", hint=f"write {_FORM}")
    return HubTarget(text, parsed.type, parsed.id, parsed.revision or "main", path)


@dataclass(frozen=True)
class HubCache:
    """Where ``hf://`` targets are found.

    ``cache_dir``: a hub cache folder; None for huggingface_hub's own default (``HF_HUB_CACHE``, else
    ``HF_HOME/hub``, as huggingface_hub read them when imported). ``download``: fetch what the cache
    lacks through huggingface_hub (network); otherwise nothing leaves the machine.
    """

    cache_dir: Path | None = None
    download: bool = False

    @property
    def folder(self) -> Path:
        """The cache folder searched."""
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)

    def locate(self, target: HubTarget | str) -> Path:
        """The cached snapshot folder of ``target``, or its file (or folder) ``PATH``; :class:`NotFound`
        (exit 2) naming the cache searched when it is not there, :class:`FetchError` when a download fails."""
        found = parse_target(target) if isinstance(target, str) else target
        if self.download:
            self._download(found)
        if not found.path:
            return self._snapshot(found)
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(found.repo_id, found.path, cache_dir=self.cache_dir,
                                        revision=found.revision, repo_type=found.repo_type)
        if isinstance(cached, str):
            return Path(cached)
        folder = self._snapshot(found) / found.path  # a folder of the snapshot
        if cached is None and folder.is_dir():
            return folder
        where = "is not" if cached is None else "is known not to be"
        raise NotFound(f"{found.uri}: {found.path} {where} in the cached snapshot of {found.repo} at {found.revision} "
                       f"(Hugging Face cache {self.folder})", hint=self._hint(found))

    def _snapshot(self, found: HubTarget) -> Path:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import IncompleteSnapshotError, LocalEntryNotFoundError
        from huggingface_hub.file_download import repo_folder_name

        try:
            return Path(snapshot_download(found.repo_id, repo_type=found.repo_type, revision=found.revision,
                                          cache_dir=self.cache_dir, local_files_only=True))
        except IncompleteSnapshotError as err:
            raise NotFound(f"the cached snapshot of {found.repo} at {found.revision} in {self.folder} is "
                           f"incomplete: {err}", hint=self._hint(found)) from None
        except LocalEntryNotFoundError:
            folder = repo_folder_name(repo_id=found.repo_id, repo_type=found.repo_type)
            raise NotFound(
                f"{found.uri}: {found.repo} at {found.revision} is not in the Hugging Face cache {self.folder} "
                f"(no {folder}/snapshots/ folder for that revision)", hint=self._hint(found),
            ) from None

    def _hint(self, found: HubTarget) -> str:
        kind = f" --repo-type {found.repo_type}" if found.repo_type != "model" else ""
        return (f"pass --download to fetch it with huggingface_hub (network), or download it first "
                f"(hf download {found.repo_id}{kind}); HF_HUB_CACHE or HF_HOME choose the cache searched")

    def _download(self, found: HubTarget) -> None:
        """Fetch ``found`` into the cache with ``snapshot_download`` (only ``PATH`` and below when given)."""
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError

        patterns = [found.path, f"{found.path}/*"] if found.path else None
        try:
            snapshot_download(found.repo_id, repo_type=found.repo_type, revision=found.revision,
                              cache_dir=self.cache_dir, allow_patterns=patterns)
        except (HfHubHTTPError, OSError, ValueError) as err:  # HTTP answers, no network, invalid names
            raise FetchError(
                f"{found.uri}: could not be downloaded from the Hugging Face Hub ({type(err).__name__}: {err})",
                uri=found.uri, hint="check the repository's name, the network, and HF_TOKEN for a gated repository",
            ) from None

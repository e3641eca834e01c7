"""Hugging Face cache snapshots verify as they are, and ``hf://`` targets are found in the cache (issue 14).

The cache is built with the layout huggingface_hub writes (checked with its own ``scan_cache_dir``):
``refs/main`` holding the commit hash, ``blobs/`` named by SHA-256 for LFS files and by git SHA-1 for
small ones, ``snapshots/<commit>/`` of relative links ``../../blobs/<name>`` (one ``../`` more per
folder). Nothing here touches the network: ``--download`` is documented, not tested.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from huggingface_hub import scan_cache_dir

from cli.main import main
from provenance.errors import BlobMismatch, InvalidValue, ManifestError, NotFound, UsageError
from provenance.fetch import parse_location
from provenance.hfcache import HubCache, parse_target, snapshot_of
from provenance.manifest import Manifest
from provenance.targets import ArtifactTarget, artifact_path, resolve_target
from tests.helpers import fresh_registry, run_cli
from tests.publisher_home import Home, make_home

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS = 10_000
"""Files of at least this many bytes are stored as LFS blobs (named by SHA-256), the others by git SHA-1."""

FILES = {
    ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
    "config.json": b'{"hidden_size": 8}\n',
    "model.safetensors": bytes(range(256)) * 400,
    "tokenizer/vocab.txt": b"hello\nworld\n",
    "tokenizer/merges.bin": bytes(range(7, 256)) * 50 + b"\x00" * 11,
    "deep/er/still.bin": b"\x01" * (LFS + 5),
}


def blob_name(data: bytes) -> str:
    """The etag huggingface_hub names a blob by: SHA-256 for an LFS file, the git blob SHA-1 otherwise."""
    if len(data) >= LFS:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Cache:
    cache: Path  # the hub cache (HF_HUB_CACHE)
    repo: Path  # CACHE/models--ORG--NAME
    snapshot: Path  # REPO/snapshots/COMMIT
    plain: Path  # a plain copy of the same files

    def blob(self, rel: str) -> Path:
        return Path(os.path.realpath(self.snapshot / rel))


def build_cache(root: Path, files: dict[str, bytes] = FILES, *, repo_id: str = "acme/tiny", kind: str = "models",
                commit: str = COMMIT, refs: tuple[str, ...] = ("main",), cache: Path | None = None) -> Cache:
    cache = cache or root / "hub"
    repo = cache / f"{kind}--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    plain = root / f"plain-{kind}-{repo_id.replace('/', '-')}"
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        blob = repo / "blobs" / blob_name(data)
        blob.write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)  # relative, as huggingface_hub's _create_symlink
        (plain / rel).parent.mkdir(parents=True, exist_ok=True)
        (plain / rel).write_bytes(data)
    for ref in refs:
        (repo / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)  # no newline, as huggingface_hub writes it
    return Cache(cache, repo, snapshot, plain)


@pytest.fixture
def hf(tmp_path: Path) -> Cache:
    return build_cache(tmp_path)


# ---------------------------------------------------------------------------
# the layout itself


def test_the_cache_has_huggingface_hubs_layout_and_its_scan_accepts_it(hf):
    lfs = hashlib.sha256(FILES["model.safetensors"]).hexdigest()
    assert os.readlink(hf.snapshot / "model.safetensors") == f"../../blobs/{lfs}"
    assert os.readlink(hf.snapshot / "config.json") == f"../../blobs/{blob_name(FILES['config.json'])}"
    assert len(blob_name(FILES["config.json"])) == 40  # a git SHA-1
    assert os.readlink(hf.snapshot / "tokenizer/vocab.txt").startswith("../../../blobs/")
    assert os.readlink(hf.snapshot / "deep/er/still.bin").startswith("../../../../blobs/")
    from huggingface_hub.file_download import _create_symlink  # what huggingface_hub itself writes

    other = hf.snapshot / "tokenizer" / "again.txt"
    _create_symlink(str(hf.blob("tokenizer/vocab.txt")), str(other))
    assert os.readlink(other) == os.readlink(hf.snapshot / "tokenizer/vocab.txt")
    other.unlink()

    info = scan_cache_dir(hf.cache)
    assert info.warnings == []
    (repo,) = info.repos
    assert (repo.repo_id, repo.repo_type) == ("acme/tiny", "model")
    (revision,) = repo.revisions
    assert revision.commit_hash == COMMIT and revision.refs == frozenset({"main"})
    assert sorted(f.file_path.relative_to(hf.snapshot).as_posix() for f in revision.files) == sorted(FILES)


def test_a_snapshot_is_recognised_from_its_folder_a_subfolder_or_a_file(hf):
    for path in (hf.snapshot, hf.snapshot / "tokenizer", hf.snapshot / "model.safetensors"):
        found = snapshot_of(path)
        assert found is not None
        assert (found.repo_type, found.repo_id, found.commit) == ("model", "acme/tiny", COMMIT)
        assert found.path == os.path.realpath(hf.snapshot)
    assert snapshot_of(hf.plain) is None
    assert snapshot_of(hf.repo / "blobs") is None


# ---------------------------------------------------------------------------
# the manifest is a plain copy's


def test_a_snapshot_hashes_to_the_manifest_of_a_plain_copy(hf):
    assert Manifest.from_path(hf.snapshot).to_json() == Manifest.from_path(hf.plain).to_json()
    assert Manifest.from_path(hf.snapshot, allow_symlinks=True) == Manifest.from_path(hf.plain)
    assert Manifest.from_path(hf.snapshot / "tokenizer") == Manifest.from_path(hf.plain / "tokenizer")
    one = Manifest.from_path(hf.snapshot / "model.safetensors")
    assert one == Manifest.from_path(hf.plain / "model.safetensors")
    assert one.entries[0].path == "model.safetensors"


def test_sharded_hashing_of_a_snapshot_is_a_plain_copys_and_still_checks_the_blob(hf):
    shard = 4096
    assert Manifest.from_path(hf.snapshot, shard_size=shard) == Manifest.from_path(hf.plain, shard_size=shard)
    _flip_byte(hf.blob("model.safetensors"))
    with pytest.raises(BlobMismatch, match="model.safetensors"):
        Manifest.from_path(hf.snapshot, shard_size=shard)


def test_a_dataset_snapshot_is_a_plain_copys_too(tmp_path):
    hf = build_cache(tmp_path, {"data/train.csv": b"a,b\n" * 5000, "README.md": b"# card\n"}, kind="datasets")
    assert Manifest.from_path(hf.snapshot) == Manifest.from_path(hf.plain)
    assert scan_cache_dir(hf.cache).warnings == []


def test_provenance_hash_of_the_snapshot_equals_hash_of_the_copy(hf, capsys):
    assert main(["hash", str(hf.snapshot), "--json"]) == 0
    snapshot = capsys.readouterr().out
    assert main(["hash", str(hf.plain), "--json"]) == 0
    assert snapshot == capsys.readouterr().out


def test_an_absolute_link_into_the_same_repositorys_blobs_is_followed(hf):
    """huggingface_hub writes an absolute link when no relative one can be made (another volume)."""
    link = hf.snapshot / "config.json"
    target = hf.blob("config.json")
    link.unlink()
    os.symlink(target, link)
    assert Manifest.from_path(hf.snapshot) == Manifest.from_path(hf.plain)


def test_a_blob_in_huggingface_hubs_shared_store_is_followed(hf):
    """huggingface_hub 2.x keeps Xet downloads once per cache: the repository's blob links to the store."""
    blob = hf.blob("model.safetensors")
    xet = hashlib.sha256(b"xet hash of " + blob.read_bytes()).hexdigest()
    store = hf.cache / "blobs"
    (store / xet[:2]).mkdir(parents=True)
    (store / ".huggingface-shared-blobs").write_text("1\n")
    blob.rename(store / xet[:2] / xet)
    os.symlink(os.path.relpath(store / xet[:2] / xet, blob.parent), blob)
    assert scan_cache_dir(hf.cache).warnings == []
    assert Manifest.from_path(hf.snapshot) == Manifest.from_path(hf.plain)

    (store / ".huggingface-shared-blobs").unlink()  # not huggingface_hub's store: the blob link is refused
    with pytest.raises(ManifestError, match="model.safetensors: its blob .* not into the cache's shared blob store"):
        Manifest.from_path(hf.snapshot)


# ---------------------------------------------------------------------------
# a changed blob


def _flip_byte(path: Path, at: int = 1000) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_an_lfs_blob_whose_content_is_not_its_name_is_named(hf):
    _flip_byte(hf.blob("model.safetensors"))
    with pytest.raises(BlobMismatch) as caught:
        Manifest.from_path(hf.snapshot)
    err = caught.value
    assert err.exit_code == 1
    assert [c.name for c in err.diff.changed] == ["model.safetensors"]
    assert err.diff.changed[0].expected_sha256 == hashlib.sha256(FILES["model.safetensors"]).digest()
    assert "model.safetensors" in str(err) and err.hint
    assert err.manifest.paths == Manifest.from_path(hf.plain).paths  # the files as found, all of them


def test_provenance_hash_of_a_changed_blob_exits_1_naming_the_file(hf, capsys):
    _flip_byte(hf.blob("deep/er/still.bin"), at=3)
    assert main(["hash", str(hf.snapshot)]) == 1
    err = capsys.readouterr().err
    assert "deep/er/still.bin: blob" in err and "not what their blobs' names say" in err


def test_a_small_files_git_blob_is_not_checked_by_its_name(hf):
    """A git SHA-1 names ``blob SIZE\\0`` + content: not a SHA-256; the manifest still differs from the copy."""
    path = hf.blob("config.json")
    path.write_bytes(b'{"hidden_size": 9}\n')
    assert Manifest.from_path(hf.snapshot).subject != Manifest.from_path(hf.plain).subject


# ---------------------------------------------------------------------------
# links that leave the repository


def _relink(hf: Cache, rel: str, target: str | Path) -> None:
    (hf.snapshot / rel).unlink()
    os.symlink(target, hf.snapshot / rel)


@pytest.mark.parametrize("case", ["other-repo", "etc-passwd", "absolute-outside", "relative-outside", "repo-root"])
def test_a_link_leaving_the_repository_is_refused_naming_the_path(tmp_path, hf, case, capsys):
    other = build_cache(tmp_path / "o", {"config.json": FILES["config.json"]}, repo_id="evil/other", cache=hf.cache)
    outside = tmp_path / "outside.json"
    outside.write_bytes(FILES["config.json"])
    target = {
        "other-repo": os.path.relpath(other.blob("config.json"), hf.snapshot),  # another repository's blob
        "etc-passwd": "/etc/passwd",
        "absolute-outside": str(outside),
        "relative-outside": os.path.relpath(outside, hf.snapshot),
        "repo-root": "../../refs/main",
    }[case]
    _relink(hf, "config.json", target)
    for allow in (False, True):
        with pytest.raises(ManifestError, match=r"^config.json: is a symbolic link to .*; refused"):
            Manifest.from_path(hf.snapshot, allow_symlinks=allow)
    assert main(["hash", str(hf.snapshot), "--allow-symlinks"]) == 2
    assert "config.json: is a symbolic link to" in capsys.readouterr().err


def test_a_link_to_a_missing_blob_or_through_a_linked_blobs_folder_is_refused(tmp_path, hf):
    hf.blob("config.json").unlink()
    with pytest.raises(ManifestError, match="config.json: links to blob .* missing"):
        Manifest.from_path(hf.snapshot)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(hf.repo / "blobs", elsewhere)
    os.symlink(elsewhere, hf.repo / "blobs")  # blobs/ must be the repository's own folder
    with pytest.raises(ManifestError, match="not to a blob of models--acme--tiny"):
        Manifest.from_path(hf.snapshot)


def test_a_link_inside_the_snapshot_follows_the_usual_rules(hf):
    """Not huggingface_hub's layout: a link to a regular file of the snapshot is followed with
    --allow-symlinks only; a link to another link of it (two hops) is refused, named."""
    (hf.snapshot / "extra.txt").write_bytes(b"a regular file\n")
    (hf.snapshot / "alias.txt").symlink_to("extra.txt")
    with pytest.raises(ManifestError, match="alias.txt: is a symbolic link; refused"):
        Manifest.from_path(hf.snapshot)
    entries = Manifest.from_path(hf.snapshot, allow_symlinks=True).entries
    assert [e.sha256 for e in entries if e.path == "alias.txt"] == [hashlib.sha256(b"a regular file\n").digest()]
    (hf.snapshot / "alias.json").symlink_to("config.json")
    with pytest.raises(ManifestError, match="alias.json: is a symbolic link to .*; refused"):
        Manifest.from_path(hf.snapshot, allow_symlinks=True)


# ---------------------------------------------------------------------------
# hf:// targets


def test_hf_targets_are_read_with_huggingface_hubs_grammar():
    t = parse_target("hf://acme/tiny")
    assert (t.repo_type, t.repo_id, t.revision, t.path, t.repo) == ("model", "acme/tiny", "main", "", "acme/tiny")
    t = parse_target("hf://datasets/acme/corpus@v1/data/train.csv")
    assert (t.repo_type, t.repo_id, t.revision, t.path, t.repo) == (
        "dataset", "acme/corpus", "v1", "data/train.csv", "datasets/acme/corpus")
    assert parse_target("hf://acme/tiny@refs%2Fpr%2F1").revision == "refs/pr/1"
    assert parse_target("hf://acme/tiny@refs/pr/3/config.json").revision == "refs/pr/3"
    assert parse_target("hf://spaces/acme/demo").repo_type == "space"
    for bad in ("hf://acme", "hf://buckets/acme/b", "hf://acme/tiny/../x", "hf://acme/tiny@", "acme/tiny",
                "hf://dataset/acme/x"):
        with pytest.raises(InvalidValue):
            parse_target(bad)


@pytest.mark.parametrize("uri", [
    "hf://acme/support-7b@provenance-v1/provenance.json",
    "hf://datasets/acme/corpus@0123456789abcdef0123456789abcdef01234567/sub/provenance.json",
    "hf://acme/m@refs%2Fpr%2F1/provenance.json",
])
def test_a_record_uri_and_a_target_read_the_same_repository_revision_and_file(uri):
    """fetch.py's ``hf://ORG/NAME@REVISION/PATH`` (a file fetched over HTTP) names, as a target, that
    file in the cached snapshot: same repository, same revision, same path."""
    location, target = parse_location(uri, allow_file=False), parse_target(uri)
    assert location.repo == target.repo
    assert location.path == target.path
    assert location.revision.replace("%2F", "/") == target.revision


def test_a_target_is_found_by_branch_tag_commit_and_path(tmp_path, hf):
    (hf.repo / "refs" / "v1").write_text(COMMIT)
    hub = HubCache(hf.cache)
    for uri in ("hf://acme/tiny", "hf://acme/tiny@main", "hf://acme/tiny@v1", f"hf://acme/tiny@{COMMIT}"):
        assert os.path.realpath(hub.locate(uri)) == os.path.realpath(hf.snapshot)
    assert hub.locate("hf://acme/tiny/model.safetensors") == hf.snapshot / "model.safetensors"
    assert hub.locate(f"hf://acme/tiny@{COMMIT}/tokenizer/vocab.txt") == hf.snapshot / "tokenizer/vocab.txt"
    assert os.path.realpath(hub.locate("hf://acme/tiny/tokenizer")) == os.path.realpath(hf.snapshot / "tokenizer")
    data = build_cache(tmp_path, {"rows.csv": b"x\n" * 6000}, repo_id="acme/corpus", kind="datasets", cache=hf.cache)
    assert os.path.realpath(hub.locate("hf://datasets/acme/corpus")) == os.path.realpath(data.snapshot)
    target = resolve_target("hf://acme/tiny", hub=hub)
    assert isinstance(target, ArtifactTarget) and target.beside is None
    assert Manifest.from_path(target.path) == Manifest.from_path(hf.plain)


def test_a_target_not_in_the_cache_names_the_cache_and_the_download_flag(hf):
    hub = HubCache(hf.cache)
    for uri in ("hf://acme/absent", "hf://acme/tiny@v9", "hf://datasets/acme/tiny", "hf://acme/tiny/absent.bin",
                "hf://acme/tiny@" + "f" * 40):
        with pytest.raises(NotFound) as caught:
            hub.locate(uri)
        assert str(hf.cache) in str(caught.value), uri
        assert "--download" in (caught.value.hint or "")
        assert caught.value.exit_code == 2


def test_an_incomplete_snapshot_is_not_verified_as_if_whole(hf):
    """huggingface_hub keeps the tree listing of a commit it downloaded (trees/COMMIT.json); a snapshot
    missing files of it is reported as incomplete, not hashed."""
    from huggingface_hub._tree_cache import TreeCacheEntry, write_tree_cache

    entries = {rel: TreeCacheEntry(size=len(d), blob_id=blob_name(d), lfs_sha256=None, lfs_size=None, xet_hash=None)
               for rel, d in FILES.items()}
    write_tree_cache(str(hf.repo), COMMIT, {**entries, "extra.bin": entries["config.json"]})
    with pytest.raises(NotFound, match="incomplete"):
        HubCache(hf.cache).locate("hf://acme/tiny")
    write_tree_cache(str(hf.repo), COMMIT, entries)
    assert HubCache(hf.cache).locate("hf://acme/tiny").name == COMMIT


def test_download_is_for_hf_targets_only(hf):
    with pytest.raises(UsageError, match="--download"):
        artifact_path(str(hf.plain), hub=HubCache(hf.cache, download=True))
    assert artifact_path(str(hf.plain), hub=HubCache(hf.cache)) == str(hf.plain)


def test_hash_of_an_hf_target_honours_hf_hub_cache_and_hf_home(tmp_path, hf, monkeypatch):
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)  # run_cli passes this process's environment on
    plain = run_cli("hash", str(hf.plain), "--json")
    assert plain.returncode == 0, plain.stderr
    done = run_cli("hash", "hf://acme/tiny", "--json", env={"HF_HUB_CACHE": str(hf.cache)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    home = tmp_path / "hfhome"
    home.mkdir()
    shutil.move(hf.cache, home / "hub")  # HF_HOME/hub is the cache when HF_HUB_CACHE is not set
    done = run_cli("hash", "hf://acme/tiny", "--json", env={"HF_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == plain.stdout


def test_an_hf_target_not_in_the_cache_exits_2_with_the_hint(hf):
    done = run_cli("hash", "hf://acme/absent", env={"HF_HUB_CACHE": str(hf.cache)})
    assert done.returncode == 2
    assert str(hf.cache) in done.stderr and "--download" in done.stderr
    done = run_cli("verify", "hf://acme/absent", env={"HF_HUB_CACHE": str(hf.cache)})
    assert done.returncode == 2  # told before any node is asked
    assert str(hf.cache) in done.stderr and "--download" in done.stderr


# ---------------------------------------------------------------------------
# through the chain: a publisher registers a plain copy, a user verifies the cached download


def _codes(document: dict) -> list[tuple[str, str, str]]:
    return sorted((c["check"], c["status"], c["code"]) for c in document["checks"])


CLAIMS = {
    "kind": "model", "name": "acme/tiny",
    "copyright": {"license": "Apache-2.0", "commercial_use": True},
    "privacy": {"personal_data": "absent", "confidentiality": "clear"},
    "disclose": ["copyright", "privacy"],
}


@pytest.fixture
def registered(anvil_url, tmp_path) -> tuple[Home, Cache, dict]:
    ledger = fresh_registry(anvil_url)
    home = make_home(tmp_path / "home", anvil_url, ledger.registry, "pub")
    hf = build_cache(tmp_path)
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps(CLAIMS))
    done = home.run("register", str(hf.plain), "--claims", str(claims), "--json")
    assert done.returncode == 0, done.stderr
    publisher = home.run("verify", str(hf.plain), "--json")
    assert publisher.returncode == 0, publisher.stdout + publisher.stderr
    return home, hf, json.loads(publisher.stdout)


@pytest.mark.chain
def test_the_cached_snapshot_verifies_as_the_registered_plain_copy(registered):
    home, hf, publisher = registered
    for target, env in ((str(hf.snapshot), {}), ("hf://acme/tiny", {"HF_HUB_CACHE": str(hf.cache)}),
                        (f"hf://acme/tiny@{COMMIT}", {"HF_HUB_CACHE": str(hf.cache)})):
        done = home.run("verify", target, "--json", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        seen = json.loads(done.stdout)
        assert seen["subject"] == publisher["subject"], target
        assert _codes(seen) == _codes(publisher), target
    exported = home.run("export", "hf://acme/tiny", "--format", "in-toto", env={"HF_HUB_CACHE": str(hf.cache)})
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["subject"][0]["digest"] == \
        json.loads((hf.plain / "provenance.json").read_text())["subject"][0]["digest"]


@pytest.mark.chain
def test_a_stranger_with_the_statement_verifies_the_cached_snapshot(registered, tmp_path):
    home, hf, publisher = registered
    stranger = Home(tmp_path / "stranger", home.url, home.registry, {})
    done = stranger.run("verify", "hf://acme/tiny", "--statement", str(hf.plain / "provenance.json"), "--json",
                        env={"HF_HUB_CACHE": str(hf.cache)})
    seen = json.loads(done.stdout)
    assert seen["subject"] == publisher["subject"]
    assert [c for c in seen["checks"] if c["check"] == "integrity"][0]["status"] == "pass"


@pytest.mark.chain
@pytest.mark.parametrize("how", ["same-size", "longer"])
def test_a_changed_blob_is_tampered_naming_the_file(registered, how):
    home, hf, publisher = registered
    blob = hf.blob("model.safetensors")
    if how == "same-size":
        _flip_byte(blob)
    else:
        blob.write_bytes(blob.read_bytes() + b"more")
    for target, env in ((str(hf.snapshot), {}), ("hf://acme/tiny", {"HF_HUB_CACHE": str(hf.cache)})):
        done = home.run("verify", target, "--json", env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        seen = json.loads(done.stdout)
        tampered = [c for c in seen["checks"] if c["code"] == "TAMPERED"]
        assert tampered and "model.safetensors" in tampered[0]["message"]
        assert [c["path"] for c in tampered[0]["evidence"]["changed"]] == ["model.safetensors"]
        assert not [c for c in seen["checks"] if c["check"] == "integrity" and c["status"] == "pass"]
        if how == "same-size":  # the download is still known as the registered record: its checks come too
            assert seen["subject"] == publisher["subject"]
            assert seen["records"]
    table = home.run("verify", str(hf.snapshot))
    assert table.returncode == 1 and "TAMPERED" in table.stdout and "model.safetensors" in table.stdout

"""Atomic writes that follow no symbolic link: the helper and every writer that uses it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from provenance._files import write_atomic
from provenance.errors import InvalidValue, KeystoreError
from tests.helpers import sample_statement

SECRET = "do not touch\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file elsewhere that a planted link points at: it must stay as it is."""
    target = tmp_path / "elsewhere" / "victim.txt"
    target.parent.mkdir()
    target.write_text(SECRET)
    return target


def _plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def _assert_untouched(victim: Path, folder: Path) -> None:
    assert victim.read_text() == SECRET
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]


def test_writes_atomically_with_the_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "out.json"
    write_atomic(path, "one")
    write_atomic(path, b"two", mode=0o600)
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]


def test_a_link_at_the_destination_is_refused_naming_it(tmp_path, victim):
    path = tmp_path / "out.json"
    _plant(path, victim)
    with pytest.raises(InvalidValue, match=f"refusing to write {path}: it is a symbolic link"):
        write_atomic(path, "evil")
    assert path.is_symlink() and victim.read_text() == SECRET
    _assert_untouched(victim, tmp_path)


def test_a_link_at_the_old_fixed_temporary_name_is_not_followed(tmp_path, victim):
    path = tmp_path / "out.json"
    for old in (f".{path.name}.tmp{os.getpid()}", f"{path.name}.tmp", "out.tmp"):
        _plant(tmp_path / old, victim)
    write_atomic(path, "new")
    assert path.read_text() == "new" and not path.is_symlink()
    _assert_untouched(victim, tmp_path)


def test_without_replace_an_existing_file_is_kept_and_the_temporary_removed(tmp_path):
    path = tmp_path / "key.json"
    write_atomic(path, "first", replace=False)
    with pytest.raises(FileExistsError):
        write_atomic(path, "second", replace=False)
    assert path.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"]


def test_a_failed_write_removes_the_temporary_file(tmp_path, monkeypatch):
    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(tmp_path / "out.json", "data")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the writers


def test_statement_write_follows_no_link(tmp_path, victim):
    path = tmp_path / "model" / "provenance.json"
    _plant(path.with_name(f".{path.name}.tmp{os.getpid()}"), victim)
    sample_statement().write(path)
    assert json.loads(path.read_text())["_type"] == "https://in-toto.io/Statement/v1"
    _assert_untouched(victim, path.parent)

    path.unlink()
    _plant(path, victim)
    with pytest.raises(InvalidValue, match=f"refusing to write {path}: it is a symbolic link"):
        sample_statement().write(path)
    _assert_untouched(victim, path.parent)


def test_publish_refuses_a_statement_path_that_is_a_link_with_its_hint(tmp_path, victim):
    from provenance.publish import _write_statement

    path = tmp_path / "provenance.json"
    _plant(path, victim)
    with pytest.raises(InvalidValue, match="symbolic link") as caught:
        _write_statement(sample_statement(), path)
    assert caught.value.hint is not None and "provenance export" in caught.value.hint
    assert victim.read_text() == SECRET


def test_batch_document_follows_no_link(tmp_path, victim):
    from provenance.publish import _write_batch_document, batch_document_path
    from provenance.store import Store

    store = Store.open(tmp_path / "home")
    try:
        root = b"\x07" * 32
        path = batch_document_path(store, root)
        _plant(path.with_name(f".{path.name}.tmp{os.getpid()}"), victim)
        assert _write_batch_document(store, root, b"{}") == path
        assert json.loads(path.read_text()) == {}
        _assert_untouched(victim, path.parent)

        path.unlink()
        _plant(path, victim)
        with pytest.raises(InvalidValue, match=f"refusing to write {path}"):
            _write_batch_document(store, root, b"{}")
        assert victim.read_text() == SECRET
    finally:
        store.close()


def test_networks_json_follows_no_link(tmp_path, victim):
    from provenance.localchain import load_networks, record_registry

    home = tmp_path / "home"
    path = home / "networks.json"
    _plant(home / "networks.json.tmp", victim)
    record_registry(home, 31337, "0x" + "ab" * 20, "http://127.0.0.1:8545")
    assert load_networks(home)["31337"]["registry"] == "0x" + "ab" * 20
    _assert_untouched(victim, home)

    path.unlink()
    victim.write_text("{}\n")  # valid JSON: record_registry reads the file before writing it
    _plant(path, victim)
    with pytest.raises(InvalidValue, match=f"refusing to write {path}"):
        record_registry(home, 1, "0x" + "cd" * 20, "http://x")
    assert victim.read_text() == "{}\n"


def test_keystore_follows_no_link(tmp_path, victim):
    from provenance.keys import Keystore

    store = Keystore(tmp_path / "home")
    _plant(store.dir / "alice.tmp", victim)
    info = store.create("alice", "pw", scrypt_n=2**10)
    assert json.loads(info.path.read_text())["crypto"]["kdf"] == "scrypt"
    _assert_untouched(victim, store.dir)

    _plant(store.dir / "bob.json", victim)
    with pytest.raises(KeystoreError, match="a key named 'bob' already exists"):
        store.create("bob", "pw", scrypt_n=2**10)
    assert victim.read_text() == SECRET

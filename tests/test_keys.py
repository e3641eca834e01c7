"""Encrypted keystores through the library and the real command."""

from __future__ import annotations

import json
import stat

import pytest

from provenance.errors import KeystoreError
from provenance.keys import Keystore
from tests.helpers import run_cli

WEAK_N = 2**10  # fast scrypt for tests only; the CLI always uses the strong default


def test_created_key_is_encrypted_0600_and_unlocks(tmp_path):
    store = Keystore(tmp_path)
    info = store.create("alice", "s3cret", scrypt_n=WEAK_N)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    data = json.loads(info.path.read_text())
    assert data["crypto"]["kdf"] == "scrypt"
    account = store.unlock("alice", "s3cret")
    assert account.address == info.address
    assert account.key.hex().removeprefix("0x") not in info.path.read_text()


def test_wrong_password_unknown_name_and_duplicate_are_clear(tmp_path):
    store = Keystore(tmp_path)
    store.create("alice", "right", scrypt_n=WEAK_N)
    with pytest.raises(KeystoreError, match="wrong password"):
        store.unlock("alice", "wrong")
    with pytest.raises(KeystoreError, match="no key named 'bob'.*known: alice"):
        store.unlock("bob", "x")
    with pytest.raises(KeystoreError, match="already exists"):
        store.create("alice", "x", scrypt_n=WEAK_N)
    with pytest.raises(KeystoreError, match="invalid key name"):
        store.create("../evil", "x", scrypt_n=WEAK_N)


def test_import_hex_key_and_keystore(tmp_path):
    from eth_account import Account

    account = Account.create()
    hex_file = tmp_path / "k.hex"
    hex_file.write_text(account.key.hex())
    store = Keystore(tmp_path / "home")
    assert store.import_file("imported", hex_file, "pw", scrypt_n=WEAK_N).address == account.address
    keystore_file = tmp_path / "k.json"
    keystore_file.write_text(json.dumps(Account.encrypt(account.key, "pw", iterations=WEAK_N)))
    assert store.import_file("again", keystore_file, "pw").address == account.address
    with pytest.raises(KeystoreError, match="wrong password"):
        store.import_file("third", keystore_file, "nope")
    garbage = tmp_path / "garbage"
    garbage.write_text("hello")
    with pytest.raises(KeystoreError, match="neither a hex private key"):
        store.import_file("fourth", garbage, "pw")


def test_cli_keys_never_print_the_secret(tmp_path):
    from eth_account import Account

    account = Account.create()
    secret = account.key.hex().removeprefix("0x")
    key_file = tmp_path / "key.hex"
    key_file.write_text(secret)
    env = {"PROVENANCE_HOME": str(tmp_path / "home"), "PROVENANCE_KEY_PASSWORD": "pw"}
    imported = run_cli("keys", "import", "pub", str(key_file), "--json", env=env)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["address"] == account.address
    listed = run_cli("keys", "list", "--json", env=env)
    shown = run_cli("keys", "show", "pub", env=env)
    assert [k["name"] for k in json.loads(listed.stdout)] == ["pub"]
    for result in (imported, listed, shown):
        assert secret not in result.stdout + result.stderr
    missing = run_cli("keys", "show", "nobody", env=env)
    assert missing.returncode == 2 and "no key named 'nobody'" in missing.stderr
    assert "Traceback" not in missing.stderr

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


def _keystore_file(tmp_path, account, password, **changes):
    from eth_account import Account

    keyfile = Account.encrypt(account.key, password, kdf="scrypt", iterations=2**4)  # very weak on purpose
    keyfile.update(changes)
    path = tmp_path / "imported.json"
    path.write_text(json.dumps(keyfile))
    return path


def test_import_encrypts_anew_with_the_modules_scrypt_cost(tmp_path):
    from eth_account import Account

    account = Account.create()
    source = _keystore_file(tmp_path, account, "pw")
    store = Keystore(tmp_path / "home")
    info = store.import_file("weak", source, "pw", scrypt_n=WEAK_N)
    stored = json.loads(info.path.read_text())
    assert stored["crypto"]["kdf"] == "scrypt" and stored["crypto"]["kdfparams"]["n"] == WEAK_N
    assert stored["crypto"]["kdfparams"]["salt"] != json.loads(source.read_text())["crypto"]["kdfparams"]["salt"]
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert store.unlock("weak", "pw").address == account.address
    pbkdf2 = tmp_path / "pbkdf2.json"
    pbkdf2.write_text(json.dumps(Account.encrypt(account.key, "pw", kdf="pbkdf2", iterations=2)))
    again = json.loads(store.import_file("pbkdf2", pbkdf2, "pw", scrypt_n=WEAK_N).path.read_text())
    assert again["crypto"]["kdf"] == "scrypt"


def test_import_derives_the_address_and_refuses_a_file_stating_another(tmp_path):
    from eth_account import Account

    account, other = Account.create(), Account.create()
    store = Keystore(tmp_path / "home")
    lying = _keystore_file(tmp_path, account, "pw", address=other.address[2:].lower())
    with pytest.raises(KeystoreError, match=f"states the address .*but its key is that of {account.address}"):
        store.import_file("liar", lying, "pw", scrypt_n=WEAK_N)
    assert store.names() == []
    unstated = _keystore_file(tmp_path, account, "pw")
    data = json.loads(unstated.read_text())
    del data["address"]  # eth-account writes it; Web3 Secret Storage makes it optional
    unstated.write_text(json.dumps(data))
    info = store.import_file("derived", unstated, "pw", scrypt_n=WEAK_N)
    assert info.address == account.address
    assert json.loads(info.path.read_text())["address"].lower() == account.address[2:].lower()


def test_import_never_replaces_a_key_silently(tmp_path):
    from eth_account import Account

    first, second = Account.create(), Account.create()
    store = Keystore(tmp_path / "home")
    store.import_file("pub", _keystore_file(tmp_path, first, "pw"), "pw", scrypt_n=WEAK_N)
    before = store.info("pub").path.read_bytes()
    with pytest.raises(KeystoreError, match="a key named 'pub' already exists") as caught:
        store.import_file("pub", _keystore_file(tmp_path, second, "pw"), "pw", scrypt_n=WEAK_N)
    assert caught.value.hint is not None and "--force" in caught.value.hint
    assert store.info("pub").path.read_bytes() == before
    replaced = store.import_file("pub", _keystore_file(tmp_path, second, "pw"), "pw", scrypt_n=WEAK_N, replace=True)
    assert replaced.address == second.address and store.unlock("pub", "pw").address == second.address


def test_cli_import_refuses_an_existing_name_unless_forced(tmp_path):
    from eth_account import Account

    env = {"PROVENANCE_HOME": str(tmp_path / "home"), "PROVENANCE_KEY_PASSWORD": "pw"}
    first, second = Account.create(), Account.create()
    files = []
    for i, account in enumerate((first, second)):
        files.append(tmp_path / f"{i}.hex")
        files[-1].write_text(account.key.hex())
    assert run_cli("keys", "import", "pub", str(files[0]), env=env).returncode == 0
    refused = run_cli("keys", "import", "pub", str(files[1]), env=env)
    assert refused.returncode == 2 and "a key named 'pub' already exists" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert json.loads(run_cli("keys", "show", "pub", "--json", env=env).stdout)["address"] == first.address
    forced = run_cli("keys", "import", "pub", str(files[1]), "--force", "--json", env=env)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["address"] == second.address

"""Publisher keys in encrypted keystores (Web3 Secret Storage, scrypt).

A key lives in ``<home>/keys/<name>.json``, written with mode 0600 and
encrypted by eth-account; the private key is only ever held in memory, inside
the ``LocalAccount`` that :meth:`Keystore.unlock` returns. Nothing in this
module prints, logs or returns key material: errors name the key and the file,
never their contents.

An imported keystore is decrypted and encrypted again with this module's scrypt
cost: its own KDF parameters may be weak (a low ``n``, or pbkdf2 with few
rounds) and would otherwise be kept. Its address is derived from the key, never
read from the file (a file stating another address is refused). An existing key
is never replaced unless the caller asks (``replace=True``, ``keys import --force``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance._files import write_atomic
from provenance._imports import recursion_limit_kept
from provenance.errors import KeystoreError

if TYPE_CHECKING:  # pragma: no cover
    from eth_account.signers.local import LocalAccount

__all__ = ["Keystore", "KeyInfo", "DEFAULT_SCRYPT_N"]

#: scrypt cost of new keystores (eth-account's default, about 1 s to unlock).
DEFAULT_SCRYPT_N = 2**18
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: its name, address and file."""

    name: str
    address: str
    path: Path

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "address": self.address, "path": str(self.path)}


class Keystore:
    """The folder of named, encrypted keys under a provenance home."""

    def __init__(self, home: Path) -> None:
        self.dir = home / "keys"

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeystoreError(
                f"invalid key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return self.dir / f"{name}.json"

    def _write(self, name: str, keyfile: dict[str, Any], *, replace: bool = False) -> KeyInfo:
        path = self._path(name)
        if not replace:
            self._refuse_existing(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        try:
            write_atomic(path, json.dumps(keyfile), mode=0o600, replace=replace)
        except FileExistsError:  # created since the check above
            self._refuse_existing(name)
            raise
        return self.info(name)

    def _refuse_existing(self, name: str) -> None:
        path = self._path(name)
        if os.path.lexists(path):
            raise KeystoreError(
                f"a key named {name!r} already exists ({path})",
                hint="choose another name, or replace it explicitly with `provenance keys import --force`",
            )

    def create(self, name: str, password: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> KeyInfo:
        """Generate a new key and store it encrypted under ``password``."""
        with recursion_limit_kept():
            from eth_account import Account  # lazy: ~0.5 s of imports; `keys list` and `keys show` need none

        self._check_password(password)
        self._path(name)
        account = Account.create()
        return self._write(name, Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n))

    def import_file(
        self,
        name: str,
        source: Path,
        password: str,
        *,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        replace: bool = False,
    ) -> KeyInfo:
        """Import a hex private key file or a keystore JSON (opened with ``password``), encrypted anew.

        Either way the key is stored encrypted under ``password`` with scrypt of
        cost ``scrypt_n``, with the address derived from the key. A keystore
        whose ``address`` field names another account is refused, and so is an
        existing ``name`` unless ``replace``.
        """
        with recursion_limit_kept():
            from eth_account import Account  # lazy: as in create()

        self._check_password(password)
        self._path(name)
        if not replace:
            self._refuse_existing(name)
        try:
            text = source.read_text().strip()
        except FileNotFoundError:
            raise KeystoreError(f"key file {source} does not exist") from None
        except (OSError, UnicodeDecodeError) as err:
            raise KeystoreError(f"cannot read key file {source}: {type(err).__name__}") from None
        if _HEX_KEY.match(text):
            key = bytes.fromhex(text.removeprefix("0x"))
            stated = None
        else:
            try:
                keyfile = json.loads(text)
            except json.JSONDecodeError:
                raise KeystoreError(
                    f"{source} is neither a hex private key (64 hex digits) nor a keystore JSON file"
                ) from None
            if not isinstance(keyfile, dict):
                raise KeystoreError(f"key file {source} is not a usable keystore (not a JSON object)")
            key = self._decrypt(keyfile, password, source)
            stated = keyfile.get("address")
        try:
            address = Account.from_key(key).address
        except ValueError:
            raise KeystoreError(f"key file {source} does not hold a valid secp256k1 private key") from None
        if stated is not None and _normal_address(stated) != address.lower():
            raise KeystoreError(
                f"key file {source} states the address {stated!r}, but its key is that of {address}; refused",
                hint="the file was altered or assembled from two keystores: import the key from a trusted copy",
            )
        keyfile = Account.encrypt(key, password, kdf="scrypt", iterations=scrypt_n)
        return self._write(name, keyfile, replace=replace)

    def names(self) -> list[str]:
        if not self.dir.exists():
            return []
        return sorted(p.stem for p in self.dir.glob("*.json"))

    def list(self) -> list[KeyInfo]:
        return [self.info(name) for name in self.names()]

    def info(self, name: str) -> KeyInfo:
        path = self._path(name)
        keyfile = self._load(name, path)
        address = keyfile.get("address")
        if not isinstance(address, str):
            raise KeystoreError(f"key file {path} has no address")
        from eth_utils.address import to_checksum_address  # lazy: as eth_account in create()

        return KeyInfo(name, to_checksum_address("0x" + address.removeprefix("0x")), path)

    def unlock(self, name: str, password: str) -> LocalAccount:
        """The account of key ``name``; a wrong password is a KeystoreError naming the key."""
        with recursion_limit_kept():
            from eth_account import Account  # lazy: as in create()

        path = self._path(name)
        account: LocalAccount = Account.from_key(self._decrypt(self._load(name, path), password, path))
        return account

    def _load(self, name: str, path: Path) -> dict[str, Any]:
        try:
            keyfile: dict[str, Any] = json.loads(path.read_text())
            return keyfile
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none yet"
            raise KeystoreError(
                f"no key named {name!r} in {self.dir} (known: {known})",
                hint="create one with `provenance keys new NAME` or import one with `provenance keys import`",
            ) from None
        except json.JSONDecodeError:
            raise KeystoreError(f"key file {path} is not valid JSON") from None

    @staticmethod
    def _decrypt(keyfile: dict[str, Any], password: str, where: Path) -> bytes:
        with recursion_limit_kept():
            from eth_account import Account  # lazy: as in create()

        try:
            return bytes(Account.decrypt(keyfile, password))
        except ValueError as err:
            if "MAC mismatch" in str(err):
                raise KeystoreError(f"wrong password for key file {where}") from None
            raise KeystoreError(f"key file {where} is not a usable keystore ({type(err).__name__})") from None
        except (KeyError, TypeError):
            raise KeystoreError(f"key file {where} is not a usable keystore") from None

    @staticmethod
    def _check_password(password: str) -> None:
        if not password:
            raise KeystoreError("the key password must not be empty (set PROVENANCE_KEY_PASSWORD or type one)")


def _normal_address(value: object) -> str | None:
    """A keystore's ``address`` field as lower-case ``0x`` hex (V3 files omit the ``0x``); None when it is not one."""
    if not isinstance(value, str):
        return None
    text = value.lower().removeprefix("0x")
    return "0x" + text if re.fullmatch(r"[0-9a-f]{40}", text) else None

"""OpenSSF Model Signing (OMS) interop, both ways.

OMS (the ``model-signing`` package, ``model_signing sign|verify``) stores a
signature as a Sigstore bundle (media type
``application/vnd.dev.sigstore.bundle.v0.3+json``) holding a DSSE envelope
(payload type ``application/vnd.in-toto+json``) around an in-toto Statement v1
with predicate type ``https://model_signing/signature/v1.0``:

* ``predicate.resources``: one ``{name, algorithm: "sha256", digest}`` per file,
  named by its POSIX path relative to the model (``"."`` for a single-file
  model), sorted by path components;
* ``predicate.serialization``: ``{method: "files", hash_type: "sha256",
  allow_symlinks, ignore_paths}``;
* ``subject``: one descriptor, the model's name and the SHA-256 of the
  resource digests concatenated in the listed order.

With a key (rather than Sigstore's keyless flow) the envelope's signature is
ECDSA over the DSSE pre-authentication encoding, with SHA-256 for P-256
(SHA-384 for P-384, SHA-512 for P-521), and the bundle's
``verificationMaterial.publicKey.hint`` is the SHA-256 of the public key's PEM.

:func:`sign_manifest` writes such a bundle from one of our manifests, so that
``model_signing verify key --public_key PUB.pem --signature FILE DIR`` accepts
it; :meth:`OmsSignature.from_bundle` reads and verifies a bundle made by
``model_signing sign key`` and :meth:`OmsSignature.check` checks it against the
directory and gives our :class:`~provenance.manifest.Manifest` of it, so a model
already signed that way can be anchored. Per-file digests are the same plain
SHA-256 in both tools; only the sharded serialization is not supported.

``model_signing`` ignores the git files at the model's root (``.git``,
``.gitattributes``, ``.github``, ``.gitignore``) unless told otherwise, so an
exported bundle leaves them out (and lists them, with our own ignores, in
``ignore_paths``); :attr:`SignedBundle.left_out` names them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from provenance.errors import ManifestError, SignatureError, StatementError
from provenance.manifest import (
    DEFAULT_IGNORES,
    ChangedFile,
    Manifest,
    ManifestDiff,
    ManifestMismatch,
    Progress,
    _check_path,
)

__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "GIT_IGNORES",
    "OmsSignature",
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "SignedBundle",
    "load_private_key",
    "load_public_key",
    "sign_manifest",
]

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
GIT_IGNORES: tuple[str, ...] = (".git", ".gitattributes", ".github", ".gitignore")
"""Paths ``model_signing`` ignores at the model's root by default (``--ignore-git-paths``)."""

_SINGLE_FILE = "."
_CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


# ---------------------------------------------------------------------- keys


def _not_ec(key: object) -> SignatureError:
    return SignatureError(
        f"OMS signing needs an elliptic-curve key, got {type(key).__name__}",
        hint="create one with: openssl ecparam -name prime256v1 -genkey -noout -out key.pem",
    )


def _curve_hash(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    if not isinstance(public, ec.EllipticCurvePublicKey):  # a caller may pass any key
        raise _not_ec(public)
    name = public.curve.name
    if name not in _CURVE_HASHES:
        raise SignatureError(f"OMS accepts P-256, P-384 and P-521 keys, not {name}")
    return _CURVE_HASHES[name]()


def load_private_key(path: str | os.PathLike[str], password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """An EC private key from a PEM file (P-256, P-384 or P-521)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise SignatureError(f"{os.fspath(path)}: cannot read the key ({err.strerror})") from None
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(data, password)
    except TypeError:
        raise SignatureError(
            f"{os.fspath(path)}: the key is encrypted; a password is needed",
            hint="set PROVENANCE_KEY_PASSWORD or run in a terminal to be asked",
        ) from None
    except ValueError as err:
        raise SignatureError(f"{os.fspath(path)}: not a usable PEM private key ({err})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise _not_ec(key)
    _curve_hash(key)  # refuses curves OMS does not accept
    return key


def load_public_key(path: str | os.PathLike[str]) -> ec.EllipticCurvePublicKey:
    """An EC public key from a PEM file."""
    try:
        with open(path, "rb") as f:
            key: PublicKeyTypes = serialization.load_pem_public_key(f.read())
    except OSError as err:
        raise SignatureError(f"{os.fspath(path)}: cannot read the key ({err.strerror})") from None
    except ValueError as err:
        raise SignatureError(f"{os.fspath(path)}: not a PEM public key ({err})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise _not_ec(key)
    _curve_hash(key)  # refuses curves OMS does not accept
    return key


def _key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def _pae(payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of an in-toto payload."""
    return b"DSSEv1 %d %s %d " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload)) + payload


def _pae_compat(payload: bytes) -> bytes:
    """The encoding model_signing < 1.0 signed by mistake (still accepted by its verifier).

    The mistake includes formatting the payload as ``b'...'``: its repr.
    """
    return f"DSSEV1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} {payload!r}".encode()


# ------------------------------------------------------------------- helpers


def _path_key(name: str) -> tuple[str, ...]:
    """model_signing sorts resources as ``PurePosixPath`` objects: by path components."""
    return tuple(name.split("/"))


def _covers(pattern: str, name: str) -> bool:
    return name == pattern or name.startswith(pattern + "/")


def _root_digest(digests: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for d in digests:
        h.update(d)
    return h.hexdigest()


# ------------------------------------------------------------------- signing


@dataclass(frozen=True)
class SignedBundle:
    """A bundle made by :func:`sign_manifest`: its JSON and the files it leaves out."""

    data: bytes
    left_out: tuple[str, ...]

    def write(self, path: str | os.PathLike[str]) -> None:
        with open(path, "wb") as f:
            f.write(self.data)


def sign_manifest(
    manifest: Manifest,
    private_key: ec.EllipticCurvePrivateKey,
    *,
    model_name: str,
    single_file: bool = False,
    ignore_paths: Iterable[str] = DEFAULT_IGNORES,
    allow_symlinks: bool = False,
) -> SignedBundle:
    """A Sigstore bundle that ``model_signing verify key`` accepts for the files of ``manifest``.

    ``single_file`` says the artifact is one file (OMS names its resource ``"."``);
    ``ignore_paths`` are the paths left out when ``manifest`` was made (recorded
    so that the verifier leaves them out too).
    """
    if manifest.shard_size is not None:
        raise ManifestError(
            "OMS export needs one digest per file; this manifest is sharded",
            hint="hash the artifact without --shard-size",
        )
    hash_algorithm = _curve_hash(private_key)
    if single_file:
        if len(manifest.entries) != 1:
            raise ManifestError("a single-file artifact has exactly one entry")
        resources = [(_SINGLE_FILE, manifest.entries[0].sha256)]
        left_out: list[str] = []
        ignores: list[str] = []
    else:
        resources = []
        left_out = []
        for entry in manifest.entries:
            if any(_covers(g, entry.path) for g in GIT_IGNORES):
                left_out.append(entry.path)
            else:
                resources.append((entry.path, entry.sha256))
        if not resources:
            raise ManifestError("every file of this artifact is one that model_signing ignores (git files)")
        resources.sort(key=lambda r: _path_key(r[0]))
        ignores = sorted({p.strip("/") for p in ignore_paths} | set(GIT_IGNORES))

    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": model_name, "digest": {"sha256": _root_digest(d for _n, d in resources)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "resources": [{"name": n, "algorithm": "sha256", "digest": d.hex()} for n, d in resources],
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": bool(allow_symlinks),
                "ignore_paths": ignores,
            },
        },
    }
    payload = json.dumps(statement, indent=2, ensure_ascii=False).encode("utf-8")
    signature = private_key.sign(_pae(payload), ec.ECDSA(hash_algorithm))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": _key_hint(private_key.public_key())}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode("ascii"), "keyid": ""}],
        },
    }
    return SignedBundle((json.dumps(bundle, indent=2) + "\n").encode("utf-8"), tuple(left_out))


# ------------------------------------------------------------------- reading


def _get(mapping: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(mapping, dict) or not isinstance(mapping.get(key), kind):
        raise StatementError(f"OMS bundle: {where}{key} is missing or not a {kind.__name__}")
    return mapping[key]


@dataclass(frozen=True)
class OmsSignature:
    """A verified OMS signature: who signed which files with which digests.

    Build it with :meth:`from_bundle`, which checks the signature against the
    public key before anything else is read.
    """

    model_name: str
    resources: tuple[tuple[str, bytes], ...]
    ignore_paths: tuple[str, ...]
    allow_symlinks: bool
    key_hint: str | None

    @property
    def single_file(self) -> bool:
        return len(self.resources) == 1 and self.resources[0][0] == _SINGLE_FILE

    @property
    def digest_hex(self) -> str:
        """The statement subject's digest (SHA-256 over the resource digests)."""
        return _root_digest(d for _n, d in self.resources)

    @classmethod
    def from_bundle(cls, data: bytes | str, public_key: ec.EllipticCurvePublicKey) -> OmsSignature:
        """Parse a Sigstore bundle written by ``model_signing sign key`` and verify its signature."""
        try:
            bundle = json.loads(data)
        except (ValueError, UnicodeDecodeError) as err:
            raise StatementError(f"OMS bundle is not JSON ({err})") from None
        media_type = _get(bundle, "mediaType", str, "")
        if media_type != BUNDLE_MEDIA_TYPE:
            raise StatementError(f"OMS bundle media type is {media_type!r}; expected {BUNDLE_MEDIA_TYPE!r}")
        envelope = _get(bundle, "dsseEnvelope", dict, "")
        payload_type = _get(envelope, "payloadType", str, "dsseEnvelope.")
        if payload_type != PAYLOAD_TYPE:
            raise StatementError(f"OMS bundle payload type is {payload_type!r}; expected {PAYLOAD_TYPE!r}")
        signatures = _get(envelope, "signatures", list, "dsseEnvelope.")
        if len(signatures) != 1:
            raise StatementError(f"OMS bundle must carry one signature, found {len(signatures)}")
        try:
            payload = base64.b64decode(_get(envelope, "payload", str, "dsseEnvelope."), validate=True)
            signature = base64.b64decode(_get(signatures[0], "sig", str, "dsseEnvelope.signatures[0]."), validate=True)
        except ValueError:
            raise StatementError("OMS bundle: payload or signature is not base64") from None

        hint = None
        material = bundle.get("verificationMaterial")
        if isinstance(material, dict) and isinstance(material.get("publicKey"), dict):
            hint = material["publicKey"].get("hint") or None
        if hint is not None and hint != _key_hint(public_key):
            raise SignatureError(
                "the OMS bundle names another signing key than the public key given",
                hint="use the public key that pairs with the signer's private key",
            )
        algorithm = ec.ECDSA(_curve_hash(public_key))
        for encoding in (_pae, _pae_compat):
            try:
                public_key.verify(signature, encoding(payload), algorithm)
                break
            except InvalidSignature:
                continue
        else:
            raise SignatureError("the OMS bundle's signature does not verify with the public key given")
        return cls._from_statement(payload, hint)

    @classmethod
    def _from_statement(cls, payload: bytes, hint: str | None) -> OmsSignature:
        try:
            statement = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise StatementError(f"OMS payload is not JSON ({err})") from None
        if _get(statement, "_type", str, "statement.") != STATEMENT_TYPE:
            raise StatementError(f"OMS payload is not an in-toto Statement v1 ({statement.get('_type')!r})")
        predicate_type = _get(statement, "predicateType", str, "statement.")
        if predicate_type != PREDICATE_TYPE:
            raise StatementError(f"OMS predicate type {predicate_type!r} is not supported; expected {PREDICATE_TYPE!r}")
        subjects = _get(statement, "subject", list, "statement.")
        if len(subjects) != 1:
            raise StatementError(f"OMS statement must have one subject, found {len(subjects)}")
        model_name = _get(subjects[0], "name", str, "subject.")
        expected_digest = _get(_get(subjects[0], "digest", dict, "subject."), "sha256", str, "subject.digest.")
        predicate = _get(statement, "predicate", dict, "statement.")
        serialization = _get(predicate, "serialization", dict, "predicate.")
        method, hash_type = serialization.get("method"), serialization.get("hash_type")
        if method != "files" or hash_type != "sha256":
            raise ManifestError(
                f"OMS serialization {method!r} with {hash_type!r} is not supported; only 'files' with 'sha256' is",
                hint="sign the model with model_signing's default file serialization and SHA-256",
            )
        ignore_paths = serialization.get("ignore_paths", [])
        if not isinstance(ignore_paths, list) or not all(isinstance(p, str) for p in ignore_paths):
            raise StatementError("OMS serialization.ignore_paths must be a list of strings")

        resources = []
        seen = set()
        for i, item in enumerate(_get(predicate, "resources", list, "predicate.")):
            where = f"predicate.resources[{i}]."
            name = _get(item, "name", str, where)
            if _get(item, "algorithm", str, where) != "sha256":
                raise ManifestError(f"OMS resource {name!r} uses {item['algorithm']!r}; only sha256 is supported")
            try:
                digest = bytes.fromhex(_get(item, "digest", str, where))
            except ValueError:
                digest = b""
            if len(digest) != 32:
                raise StatementError(f"OMS resource {name!r}: digest is not 32 bytes of hex")
            if name != _SINGLE_FILE:
                _check_path(name)
            if name in seen:
                raise StatementError(f"OMS resource {name!r} appears twice")
            seen.add(name)
            resources.append((name, digest))
        if not resources:
            raise StatementError("OMS statement lists no resources")
        if _SINGLE_FILE in seen and len(resources) != 1:
            raise StatementError("OMS resource '.' (a single-file model) cannot sit beside other files")
        if _root_digest(d for _n, d in resources) != expected_digest.lower():
            raise StatementError(
                "OMS statement is inconsistent: its subject digest does not match its resources"
            )
        return cls(
            model_name=model_name,
            resources=tuple(resources),
            ignore_paths=tuple(str(p).strip("/") for p in ignore_paths),
            allow_symlinks=bool(serialization.get("allow_symlinks", False)),
            key_hint=hint,
        )

    def check(
        self,
        path: str | os.PathLike[str],
        *,
        bundle_path: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> Manifest:
        """Hash ``path``, compare it with the signed digests and return our manifest of it.

        Ignored as ``model_signing verify`` does: the bundle's ``ignore_paths``,
        the default git paths and our own defaults (unless a signed resource
        lies there), and the bundle file itself when it sits inside ``path``.
        Raises :class:`~provenance.manifest.ManifestMismatch` listing changed
        (with both digests in hex), missing and extra files.
        """
        root = os.fspath(path)
        if self.single_file:
            if not os.path.isfile(root):
                raise ManifestError(f"{root}: the OMS signature is for a single file, but this is not one")
            actual = Manifest.from_path(root, allow_symlinks=self.allow_symlinks, workers=workers, progress=progress)
            expected = {actual.entries[0].path: self.resources[0][1]}
        else:
            names = [n for n, _d in self.resources]
            ignore = set(self.ignore_paths)
            for pattern in (*GIT_IGNORES, *DEFAULT_IGNORES):
                if not any(_covers(pattern, n) for n in names):
                    ignore.add(pattern)
            if bundle_path is not None:
                rel = os.path.relpath(os.path.realpath(bundle_path), os.path.realpath(root))
                if not rel.startswith(".."):
                    ignore.add(rel.replace(os.sep, "/"))
            actual = Manifest.from_path(
                root, allow_symlinks=self.allow_symlinks, ignore=sorted(ignore), workers=workers, progress=progress
            )
            expected = dict(self.resources)

        found = {e.path: e for e in actual.entries}
        changed = [
            ChangedFile(name, digest, found[name].sha256, None, found[name].size)
            for name, digest in expected.items()
            if name in found and found[name].sha256 != digest
        ]

        def key(name: str) -> bytes:
            return name.encode("utf-8")

        diff = ManifestDiff(
            changed=tuple(sorted(changed, key=lambda c: key(c.name))),
            missing=tuple(sorted((n for n in expected if n not in found), key=key)),
            extra=tuple(sorted((n for n in found if n not in expected), key=key)),
        )
        if not diff.ok:
            raise ManifestMismatch(
                f"{root} does not match the OMS signature of {self.model_name!r}: {diff.report()}",
                diff,
            )
        return actual

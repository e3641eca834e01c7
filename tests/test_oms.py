"""OpenSSF Model Signing interop, checked with the real ``model_signing`` CLI.

Our exported bundle must pass ``model_signing verify key``; a bundle made by
``model_signing sign key`` must be read, verified and checked by ours.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provenance.errors import ManifestError, SignatureError, StatementError
from provenance.manifest import Manifest, ManifestMismatch
from provenance.oms import GIT_IGNORES, OmsSignature, load_private_key, load_public_key, sign_manifest

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("PROVENANCE_REGEN_GOLDEN") == "1"

FILES = {
    "config.json": b'{"hidden_size": 8}\n',
    "model.safetensors": bytes(range(256)) * 1200,
    "empty": b"",
    "dir with space/file name.txt": b"spaces\n",
    "ünïcödé/名前.bin": "données\n".encode(),
    "nested/a/b/c/deep.txt": b"deep\n",
    "a-b": b"dash\n",  # sorts after a/b by path components, before it by bytes
    "a/b": b"slash\n",
}


def make_model(root: Path, files: dict[str, bytes] = FILES) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def model_signing_cli() -> list[str]:
    exe = Path(sys.executable).with_name("model_signing")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("model_signing")
    if found is None:
        pytest.fail("model_signing is pinned in the dev extra but not installed (pip install -e '.[dev]')")
    return [found]


def run_model_signing(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*model_signing_cli(), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name, curve in (("p256", ec.SECP256R1()), ("other", ec.SECP256R1()), ("p384", ec.SECP384R1())):
        key = ec.generate_private_key(curve)
        priv, pub = d / f"{name}.pem", d / f"{name}.pub.pem"
        pem = serialization.Encoding.PEM
        priv.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        pub.write_bytes(key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo))
        out[name], out[name + ".pub"] = priv, pub
    return out


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "tiny-model")


def export(root: Path, key: Path, out: Path) -> tuple[Manifest, tuple[str, ...]]:
    from provenance.manifest import DEFAULT_IGNORES

    single = root.is_file()
    ignore = list(DEFAULT_IGNORES)
    manifest = Manifest.from_path(root, ignore=ignore)
    bundle = sign_manifest(
        manifest, load_private_key(key), model_name=root.name, single_file=single, ignore_paths=ignore
    )
    bundle.write(out)
    return manifest, bundle.left_out


def payload_of(bundle: Path) -> dict:
    return json.loads(base64.b64decode(json.loads(bundle.read_text())["dsseEnvelope"]["payload"]))


# ------------------------------------------------------------ ours -> theirs


def test_model_signing_verifies_our_bundle(model, keys, tmp_path):
    # git files and our own ignores sit in the model, as in a Hugging Face clone
    make_model(
        model, {".gitattributes": b"*.safetensors filter=lfs\n", ".git/HEAD": b"ref\n", "provenance.json": b"{}"}
    )
    sig = tmp_path / "model.sig"
    manifest, left_out = export(model, keys["p256"], sig)
    assert left_out == (".gitattributes",)
    done = run_model_signing("verify", "key", "--public_key", keys["p256.pub"], "--signature", sig, model)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verification succeeded" in done.stdout

    statement = payload_of(sig)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert names.index("a/b") < names.index("a-b")  # PurePosixPath order, as model_signing writes it
    assert {r["name"]: r["digest"] for r in statement["predicate"]["resources"]} == {
        e.path: e.sha256.hex() for e in manifest.entries if e.path not in GIT_IGNORES
    }

    # and model_signing notices a change
    (model / "config.json").write_bytes(b"{}")
    done = run_model_signing("verify", "key", "--public_key", keys["p256.pub"], "--signature", sig, model)
    assert done.returncode != 0


def test_golden_oms_statement(model, keys, tmp_path):
    sig = tmp_path / "model.sig"
    export(model, keys["p256"], sig)
    text = json.dumps(payload_of(sig), indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / "oms_statement.json"
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), "PROVENANCE_REGEN_GOLDEN=1 to update"


def test_model_signing_verifies_our_bundle_written_inside_the_model(model, keys):
    from cli.main import main

    sig = model / "model.sig"
    assert main(["export", str(model), "--format", "oms", "--key", str(keys["p256"]), "--out", str(sig)]) == 0
    assert "model.sig" in payload_of(sig)["predicate"]["serialization"]["ignore_paths"]
    done = run_model_signing("verify", "key", "--public_key", keys["p256.pub"], "--signature", sig, model)
    assert done.returncode == 0, done.stdout + done.stderr


def test_model_signing_verifies_our_single_file_bundle(model, keys, tmp_path):
    sig = tmp_path / "file.sig"
    export(model / "model.safetensors", keys["p384"], sig)
    assert [r["name"] for r in payload_of(sig)["predicate"]["resources"]] == ["."]
    done = run_model_signing(
        "verify", "key", "--public_key", keys["p384.pub"], "--signature", sig, model / "model.safetensors"
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_sharded_manifest_cannot_be_exported(model, keys):
    manifest = Manifest.from_path(model, shard_size=100_000)
    with pytest.raises(ManifestError, match="sharded"):
        sign_manifest(manifest, load_private_key(keys["p256"]), model_name="m")


def test_keys_must_be_usable(tmp_path, keys):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    ed = tmp_path / "ed.pem"
    ed.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(SignatureError, match="elliptic-curve"):
        load_private_key(ed)
    k1 = tmp_path / "k1.pem"
    k1.write_bytes(
        ec.generate_private_key(ec.SECP256K1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(SignatureError, match="secp256k1"):
        load_private_key(k1)
    enc = tmp_path / "enc.pem"
    enc.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
    )
    with pytest.raises(SignatureError, match="encrypted"):
        load_private_key(enc)
    assert load_private_key(enc, b"pw") is not None
    with pytest.raises(SignatureError, match="cannot read"):
        load_private_key(tmp_path / "missing.pem")


# ------------------------------------------------------------ theirs -> ours


@pytest.fixture
def signed_by_model_signing(model, keys, tmp_path) -> Path:
    make_model(model, {".gitattributes": b"*.bin filter=lfs\n"})
    sig = tmp_path / "theirs.sig"
    done = run_model_signing("sign", "key", "--private_key", keys["p256"], "--signature", sig, model)
    assert done.returncode == 0, done.stdout + done.stderr
    return sig


def test_bundle_from_model_signing_becomes_our_manifest(model, keys, signed_by_model_signing):
    signature = OmsSignature.from_bundle(signed_by_model_signing.read_bytes(), load_public_key(keys["p256.pub"]))
    assert signature.model_name == "tiny-model"
    assert {n for n, _ in signature.resources} == set(FILES)
    manifest = signature.check(model)
    # the same manifest (and so the same subject) as hashing the directory ourselves, git files aside
    assert manifest == Manifest.from_path(model, ignore=(".git", ".gitattributes", "provenance.json"))
    assert {e.path: e.sha256 for e in manifest.entries} == dict(signature.resources)


def test_bundle_from_model_signing_inside_the_model(model, keys):
    sig = model / "model.sig"
    done = run_model_signing("sign", "key", "--private_key", keys["p256"], "--signature", sig, model)
    assert done.returncode == 0, done.stdout + done.stderr
    signature = OmsSignature.from_bundle(sig.read_bytes(), load_public_key(keys["p256.pub"]))
    assert "model.sig" in signature.ignore_paths
    assert "model.sig" not in signature.check(model, bundle_path=sig)


def test_our_bundle_reads_back(model, keys, tmp_path):
    sig = tmp_path / "ours.sig"
    manifest, _ = export(model, keys["p256"], sig)
    signature = OmsSignature.from_bundle(sig.read_text(), load_public_key(keys["p256.pub"]))
    assert signature.check(model) == manifest
    single = tmp_path / "single.sig"
    file_manifest, _ = export(model / "config.json", keys["p256"], single)
    signature = OmsSignature.from_bundle(single.read_bytes(), load_public_key(keys["p256.pub"]))
    assert signature.single_file and signature.check(model / "config.json") == file_manifest


def test_mismatch_lists_changed_missing_and_extra_in_hex(model, keys, signed_by_model_signing):
    signature = OmsSignature.from_bundle(signed_by_model_signing.read_bytes(), load_public_key(keys["p256.pub"]))
    (model / "config.json").write_bytes(b"{}")
    (model / "a-b").unlink()
    (model / "new.bin").write_bytes(b"new")
    with pytest.raises(ManifestMismatch) as err:
        signature.check(model)
    diff = err.value.diff
    assert [c.name for c in diff.changed] == ["config.json"]
    assert diff.changed[0].expected_sha256 == dict(signature.resources)["config.json"]
    assert diff.missing == ("a-b",) and diff.extra == ("new.bin",)
    message = str(err.value)
    assert "1 changed, 1 missing, 1 extra" in message
    assert dict(signature.resources)["config.json"].hex() in message
    assert err.value.exit_code == 1


def test_wrong_key_and_tampering_are_refused(keys, signed_by_model_signing):
    data = signed_by_model_signing.read_bytes()
    with pytest.raises(SignatureError, match="another signing key"):
        OmsSignature.from_bundle(data, load_public_key(keys["other.pub"]))
    # without the key hint, the signature itself must fail
    bundle = json.loads(data)
    bundle["verificationMaterial"]["publicKey"]["hint"] = None
    with pytest.raises(SignatureError, match="does not verify"):
        OmsSignature.from_bundle(json.dumps(bundle), load_public_key(keys["other.pub"]))
    # a changed payload no longer matches the signature
    bundle = json.loads(data)
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(SignatureError, match="does not verify"):
        OmsSignature.from_bundle(json.dumps(bundle), load_public_key(keys["p256.pub"]))


def test_malformed_bundles_are_refused(keys):
    pub = load_public_key(keys["p256.pub"])
    with pytest.raises(StatementError, match="not JSON"):
        OmsSignature.from_bundle(b"{", pub)
    with pytest.raises(StatementError, match="media type"):
        OmsSignature.from_bundle(json.dumps({"mediaType": "x"}), pub)
    with pytest.raises(StatementError, match="dsseEnvelope"):
        OmsSignature.from_bundle(json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}), pub)


def test_inconsistent_and_unsupported_statements_are_refused(keys, model):
    from provenance import oms

    key = load_private_key(keys["p256"])
    pub = load_public_key(keys["p256.pub"])

    def signed(statement: dict) -> bytes:
        payload = json.dumps(statement).encode()
        sig = key.sign(oms._pae(payload), ec.ECDSA(oms._curve_hash(key)))
        return json.dumps(
            {
                "mediaType": oms.BUNDLE_MEDIA_TYPE,
                "verificationMaterial": {"publicKey": {"hint": oms._key_hint(pub)}, "tlogEntries": []},
                "dsseEnvelope": {
                    "payload": base64.b64encode(payload).decode(),
                    "payloadType": oms.PAYLOAD_TYPE,
                    "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
                },
            }
        ).encode()

    bundle = json.loads(sign_manifest(Manifest.from_path(model), key, model_name="m").data)
    good = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert OmsSignature.from_bundle(signed(good), pub).model_name == "m"

    bad = json.loads(json.dumps(good))
    bad["subject"][0]["digest"]["sha256"] = "00" * 32
    with pytest.raises(StatementError, match="inconsistent"):
        OmsSignature.from_bundle(signed(bad), pub)
    bad = json.loads(json.dumps(good))
    bad["predicate"]["serialization"]["method"] = "shards"
    with pytest.raises(ManifestError, match="'shards'.* not supported"):
        OmsSignature.from_bundle(signed(bad), pub)
    bad = json.loads(json.dumps(good))
    bad["predicateType"] = "https://model_signing/Digests/v0.1"
    with pytest.raises(StatementError, match="predicate type"):
        OmsSignature.from_bundle(signed(bad), pub)
    bad = json.loads(json.dumps(good))
    bad["predicate"]["resources"][0]["name"] = "../etc/passwd"
    with pytest.raises(ManifestError, match="normalized"):
        OmsSignature.from_bundle(signed(bad), pub)

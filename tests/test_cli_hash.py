"""``provenance hash`` and ``provenance export`` at the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.commands.hash import ProgressBar, parse_size
from cli.main import main
from provenance.errors import ProvenanceError
from provenance.manifest import Manifest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"

FILES = {
    "config.json": b'{"hidden_size": 8}\n',
    "weights/model.bin": bytes(range(256)) * 1200,
    "empty": b"",
    "ünïcödé name.txt": "données\n".encode(),
}


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    root = tmp_path / "artifact"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )


def test_hash_prints_subject_count_bytes_and_time(artifact, capsys):
    assert main(["hash", str(artifact)]) == 0
    out = capsys.readouterr()
    manifest = Manifest.from_path(artifact)
    lines = out.out.splitlines()
    assert lines[0] == f"subject  {manifest.subject_hex}"
    assert lines[1] == "files    4"
    assert lines[2].startswith(f"bytes    {manifest.total_size} (")
    assert lines[3].startswith("time     ")
    assert out.err == ""


def test_hash_json_is_the_whole_manifest(artifact, capsys):
    assert main(["hash", str(artifact), "--json"]) == 0
    text = capsys.readouterr().out
    assert Manifest.from_json(text) == Manifest.from_path(artifact)
    assert json.loads(text)["files"][-1]["path"] == "ünïcödé name.txt"


def test_hash_in_a_pipe_writes_nothing_else(artifact):
    done = run_cli("hash", str(artifact), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert Manifest.from_json(done.stdout).file_count == 4


def test_hash_with_shards(artifact, capsys):
    assert main(["hash", str(artifact), "--shard-size", "100KiB", "--json"]) == 0
    manifest = Manifest.from_json(capsys.readouterr().out)
    assert manifest.shard_size == 100 * 1024
    assert [e.name for e in manifest.entries if e.path == "weights/model.bin"] == [
        "weights/model.bin:0:102400",
        "weights/model.bin:102400:204800",
        "weights/model.bin:204800:307200",
    ]


def test_check_reports_differences_and_exits_1(artifact, tmp_path, capsys):
    saved = tmp_path / "manifest.json"
    saved.write_text(Manifest.from_path(artifact).to_json())
    assert main(["hash", str(artifact), "--check", str(saved)]) == 0
    assert "all files match" in capsys.readouterr().out
    (artifact / "config.json").write_bytes(b"{}")
    (artifact / "empty").unlink()
    (artifact / "new").write_bytes(b"new")
    assert main(["hash", str(artifact), "--check", str(saved)]) == 1
    out = capsys.readouterr().out
    old = Manifest.from_json(saved.read_text()).entry("config.json").sha256.hex()
    assert f"changed config.json: expected sha256 {old}, found " in out
    assert "missing empty" in out and "extra new" in out
    assert main(["hash", str(artifact), "--check", str(saved), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["missing"] == ["empty"] and report["extra"] == ["new"]
    assert report["changed"][0]["expected"]["sha256"] == old


@pytest.mark.parametrize(
    "args,message",
    [
        (["hash", "{root}/nope"], "no such file or directory"),
        (["hash", "{root}/link"], "link: is a symbolic link; refused"),
        (["hash", "{root}", "--shard-size", "lots"], "invalid size 'lots'"),
        (["hash", "{root}", "--check", "{root}/missing.json"], "cannot read the manifest"),
        (["hash", "{root}", "--oms-bundle", "x.sig"], "go together"),
        (
            ["export", "{root}", "--format", "cyclonedx"],
            "unknown export format 'cyclonedx'; accepted: in-toto, in-toto-test-result, spdx, oms, hf-card",
        ),
        (["export", "0x" + "ab" * 32, "--format", "spdx"], "no Statement of subject 0x" + "ab" * 32),
        (["export", "{root}", "--format", "oms"], "needs --key"),
        (["export", "0x" + "ab" * 32, "--format", "oms", "--key", "k.pem"], "needs the artifact's path"),
    ],
)
def test_bad_input_exits_2_with_a_message(artifact, capsys, args, message):
    os.symlink("config.json", artifact / "link")
    code = main([a.format(root=artifact) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err


def test_export_then_import_through_the_cli(artifact, tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    priv, pub = tmp_path / "k.pem", tmp_path / "k.pub"
    pem = serialization.Encoding.PEM
    priv.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert main(["export", str(artifact), "--format", "oms", "--key", str(priv)]) == 0
    bundle = tmp_path / "b.sig"
    bundle.write_text(capsys.readouterr().out)
    assert main(["hash", str(artifact), "--oms-bundle", str(bundle), "--public-key", str(pub)]) == 0
    out = capsys.readouterr().out
    assert f"subject  {Manifest.from_path(artifact).subject_hex}" in out and "verified" in out
    (artifact / "config.json").write_bytes(b"{}")
    assert main(["hash", str(artifact), "--oms-bundle", str(bundle), "--public-key", str(pub)]) == 1
    assert "changed config.json" in capsys.readouterr().err


def test_parse_size():
    assert parse_size("1GiB") == 1 << 30
    assert parse_size("512 MiB") == 512 << 20
    assert parse_size("1G") == 1 << 30
    assert parse_size("500MB") == 500_000_000
    assert parse_size("4096") == 4096
    for bad in ("0", "-1", "1.5GiB", "1XB", ""):
        with pytest.raises(ProvenanceError):
            parse_size(bad)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_after_the_delay_and_clears():
    stream = FakeTTY()
    with ProgressBar("hashing", stream=stream, delay=0.0) as bar:
        bar.start(2, 2 << 20)
        bar.advance(1, 1 << 20)
        for _ in range(100):
            if "1/2 files" in stream.getvalue():
                break
            time.sleep(0.01)
    text = stream.getvalue()
    assert "hashing [" in text and "1/2 files" in text and "50.0%" in text
    assert text.endswith("\r\033[K")


def test_progress_bar_is_silent_for_short_work_and_in_pipes():
    tty = FakeTTY()
    with ProgressBar(stream=tty) as bar:  # 1 s delay: short work draws nothing
        bar.start(1, 10)
        bar.advance(1, 10)
    assert tty.getvalue() == ""
    pipe = io.StringIO()
    bar = ProgressBar(stream=pipe, delay=0.0)
    assert not bar.enabled
    bar.start(1, 10)
    bar.close()
    assert pipe.getvalue() == ""


@pytest.mark.parametrize("command", ["hash", "help"])
def test_hash_and_help_do_not_import_heavy_modules(artifact, command):
    call = f"main(['hash', {str(artifact)!r}])" if command == "hash" else "build_parser().format_help()"
    code = (
        "import sys\n"
        "from cli.main import build_parser, main\n"
        f"{call}\n"
        "heavy = [m for m in ('web3', 'fastapi', 'eth_abi', 'eth_account', 'model_signing', 'cryptography')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


HOSTILE_NAME = "a\x1b[2K\rPASS\u202e.bin"


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u2066\u200f"]


def test_check_escapes_hostile_file_names_and_json_stays_exact(artifact, tmp_path, capsys):
    saved = tmp_path / "manifest.json"
    saved.write_text(Manifest.from_path(artifact).to_json())
    (artifact / HOSTILE_NAME).write_bytes(b"x")
    (artifact / "config.json").write_bytes(b"{}")
    assert main(["hash", str(artifact), "--check", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "extra a\\x1b[2K\\rPASS\\u202e.bin\n" in out
    assert not _raw_controls(out)
    assert main(["hash", str(artifact), "--check", str(saved), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["extra"] == [HOSTILE_NAME]


def test_error_messages_escape_hostile_file_names(tmp_path, capsys):
    root = tmp_path / "artifact"
    root.mkdir()
    os.symlink("nowhere", root / HOSTILE_NAME)  # refused: a symbolic link, named in the error
    assert main(["hash", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "a\\x1b[2K\\rPASS\\u202e.bin" in err
    assert not _raw_controls(err)


def test_history_table_escapes_its_cells():
    from cli.commands.history import table

    item = {"time": "2026-01-01 00:00:00Z", "event": "Registered\x1b[2K", "blockNumber": 7,
            "recordId": "0x" + "ab" * 32, "actor": "0x" + "cd" * 20 + "\u202e", "txHash": "0x" + "ef" * 32 + "\r"}
    lines = table([item])
    assert lines[0].startswith("TIME (UTC)")
    assert "Registered\\x1b[2K" in lines[1] and "\\u202e" in lines[1] and lines[1].endswith("\\r")
    assert not _raw_controls("\n".join(lines))

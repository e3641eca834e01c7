"""Plain http:// to a node that is not on this machine is refused unless --insecure-rpc accepts it.

Anyone on the way of a plain HTTP connection can rewrite the node's answers (hide a revocation);
loopback has no way. The refusal is a usage error (exit 2) naming the host and the flag, and
never the rest of the URL (where providers put API keys).
"""

from __future__ import annotations

import json

import pytest

from api.settings import ServiceSettings
from cli.main import build_parser
from provenance.errors import InvalidValue, UsageError
from provenance.ledger import check_rpc_url, is_loopback
from tests.helpers import run_cli

REGISTRY = "0x" + "11" * 20
SUBJECT = "0x" + "ab" * 32
SECRET = "k3y-0f-the-pr0vider"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8545", "http://127.4.5.6:8545/path", "http://[::1]:8545", "http://localhost:8545",
    "http://LOCALHOST", "http://localhost.:8545", "http://[::ffff:127.0.0.1]:8545",
    "https://node.example", "https://10.0.0.5:8545", "HTTPS://node.example/v3/key",
])
def test_loopback_and_https_are_accepted(url):
    check_rpc_url(url)


@pytest.mark.parametrize(("url", "host"), [
    ("http://node.example:8545", "node.example"),
    (f"http://user:{SECRET}@node.example/v3/{SECRET}?apikey={SECRET}", "node.example"),
    ("HTTP://10.0.0.5:8545", "10.0.0.5"),
    ("http://0.0.0.0:8545", "0.0.0.0"),
    ("http://[2001:db8::1]:8545", "2001:db8::1"),
    ("http://localhost.evil.example", "localhost.evil.example"),
    ("http://127.0.0.1.evil.example", "127.0.0.1.evil.example"),
])
def test_plain_http_elsewhere_is_refused_naming_the_host_and_the_flag(url, host):
    with pytest.raises(UsageError) as refused:
        check_rpc_url(url)
    text = f"{refused.value} {refused.value.hint}"
    assert host in str(refused.value) and "--insecure-rpc" in text and SECRET not in text
    assert refused.value.exit_code == 2
    check_rpc_url(url, insecure=True)  # accepted when asked for


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.255.255.254") and is_loopback("::1")
    assert is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("128.0.0.1") and not is_loopback("::2") and not is_loopback("") \
        and not is_loopback("localhost.example")


def test_the_cli_refuses_plain_http_to_another_host(tmp_path):
    env = {"PROVENANCE_HOME": str(tmp_path / "home")}
    url = f"http://node.example:8545/v3/{SECRET}"
    runs = [
        run_cli("--rpc-url", url, "--registry", REGISTRY, "verify", SUBJECT, env=env),
        run_cli("verify", SUBJECT, env={**env, "PROVENANCE_RPC_URL": url, "PROVENANCE_REGISTRY": REGISTRY}),
        run_cli("--rpc-url", url, "history", SUBJECT, env=env),
        run_cli("--rpc-url", url, "serve", env=env),  # the registry is looked up on the node: refused first
        run_cli("--rpc-url", url, "--registry", REGISTRY, "serve", env=env),  # refused by the settings
    ]
    for done in runs:
        assert done.returncode == 2, (done.args, done.stderr)
        assert "refusing plain http:// to the RPC host node.example" in done.stderr, done.stderr
        assert "--insecure-rpc" in done.stderr and SECRET not in done.stderr
        assert "Traceback" not in done.stderr
    # commands that do not talk to the node do not care
    assert run_cli("keys", "list", env={**env, "PROVENANCE_RPC_URL": url}).returncode == 0


def test_the_cli_accepts_it_with_insecure_rpc(tmp_path):
    env = {"PROVENANCE_HOME": str(tmp_path / "home")}
    # 0.0.0.0 is not loopback by name; connecting to it reaches nothing here, quickly
    done = run_cli("--insecure-rpc", "--rpc-url", "http://0.0.0.0:1", "--registry", REGISTRY, "verify", SUBJECT,
                   env=env)
    assert done.returncode == 2 and "refusing" not in done.stderr, done.stderr
    assert "does not answer" in done.stderr, done.stderr
    refused = run_cli("--rpc-url", "http://0.0.0.0:1", "--registry", REGISTRY, "verify", SUBJECT, env=env)
    assert refused.returncode == 2 and "refusing plain http://" in refused.stderr


def test_serve_carries_insecure_rpc_into_the_service_settings(tmp_path):
    from cli.commands.serve import resolve

    options = ["--home", str(tmp_path), "--rpc-url", "http://10.0.0.5:8545", "--registry", REGISTRY, "serve"]
    with pytest.raises(UsageError, match="10.0.0.5"):
        resolve(build_parser().parse_args(options))
    settings = resolve(build_parser().parse_args(["--insecure-rpc", *options]))
    assert settings.insecure_rpc and settings.rpc_url == "http://10.0.0.5:8545"
    assert ServiceSettings.from_json(settings.to_json()).insecure_rpc  # reaches the workers
    local = resolve(build_parser().parse_args(
        ["--home", str(tmp_path), "--rpc-url", "http://127.0.0.1:8545", "--registry", REGISTRY, "serve"]))
    assert not local.insecure_rpc


def test_service_settings_refuse_plain_http_elsewhere(tmp_path):
    values = {"registry": REGISTRY, "index_path": tmp_path / "i.sqlite"}
    with pytest.raises(UsageError) as refused:
        ServiceSettings(rpc_url=f"http://node.example/{SECRET}", **values)
    assert "node.example" in str(refused.value) and "insecure_rpc" in f"{refused.value} {refused.value.hint}"
    assert SECRET not in f"{refused.value} {refused.value.hint}"
    assert ServiceSettings(rpc_url="http://node.example", insecure_rpc=True, **values).insecure_rpc
    for url in ("http://127.0.0.1:8545", "http://[::1]:8545", "http://localhost:8545", "https://node.example"):
        assert not ServiceSettings(rpc_url=url, **values).insecure_rpc
    with pytest.raises(InvalidValue, match="insecure_rpc"):
        ServiceSettings(rpc_url="http://node.example", insecure_rpc="yes", **values)  # type: ignore[arg-type]
    with pytest.raises(UsageError):  # what a worker reads: refused there too
        ServiceSettings.from_json(json.dumps({"rpc_url": "http://node.example", "registry": REGISTRY,
                                              "index_path": "i.sqlite"}))

"""One registry address on every chain, and named networks (issue 15, items 1 and 2), against real anvil nodes.

- the deterministic address is CREATE2 of the proxy, the salt and the committed initcode; `chain deploy` puts the
  registry there, a second run sends nothing, another chain (another chain id) gets the same address, and
  `chain up` in a fresh home too;
- other code at the address is refused (another contract; the registry's own code made for another address);
- a chain without the proxy: the message says how to get it, the how-to works by hand, and --install-proxy does it;
- named networks: a node of another chain is refused with both ids, a network without a URL names the variable,
  a user's network from networks.yaml prints explorer links for register, anchor and revoke; networks.yaml never
  holds an RPC URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance._keccak import keccak256
from provenance.deployment import (
    PROXY,
    PROXY_DEPLOYER,
    PROXY_DEPLOYMENT_COST,
    PROXY_DEPLOYMENT_TX,
    REGISTRY_SALT,
    deploy_registry,
    registry_address,
    registry_initcode,
    runtime_mismatch,
)
from provenance.errors import Conflict, InvalidInput, UsageError
from provenance.keys import Keystore
from provenance.ledger import Ledger, registry_artifact
from provenance.networks import BUILTIN, find_network, load_networks_config, rpc_variable
from provenance.record import Domain, parse_address
from tests.helpers import free_port, run_cli, start_anvil
from tests.publisher_home import EXAMPLES, make_artifact

PASSWORD = "correct horse battery staple"


# ---------------------------------------------------------------- without a chain


def test_the_address_is_create2_of_the_proxy_the_salt_and_the_committed_initcode():
    from eth_utils import keccak, to_checksum_address

    initcode = bytes.fromhex(registry_artifact()["bytecode"][2:])
    expected = to_checksum_address(keccak(b"\xff" + bytes.fromhex(PROXY[2:]) + bytes(32) + keccak(initcode))[12:])
    assert registry_initcode() == initcode and bytes(32) == REGISTRY_SALT
    assert registry_address() == expected
    assert registry_address(b"\x01" * 32) != expected  # the salt is part of it


def test_the_presigned_proxy_transaction_is_the_proxys():
    """The raw transaction the how-to names is signed by the one-time deployer and creates the proxy (its nonce 0)."""
    import rlp
    from eth_account import Account

    assert Account.recover_transaction(PROXY_DEPLOYMENT_TX) == PROXY_DEPLOYER
    created = keccak256(rlp.encode([bytes.fromhex(PROXY_DEPLOYER[2:]), 0]))[12:]
    assert parse_address("0x" + created.hex()) == PROXY
    fields = rlp.decode(PROXY_DEPLOYMENT_TX)
    gas_price, gas = int.from_bytes(fields[1], "big"), int.from_bytes(fields[2], "big")
    assert gas_price * gas == PROXY_DEPLOYMENT_COST == 10**16


def test_the_testnet_guide_names_the_address_and_the_proxys_transaction_as_they_are():
    """docs/testnet.md quotes the registry's address (it changes with the bytecode) and the presigned transaction."""
    from tests.helpers import ROOT

    guide = (ROOT / "docs" / "testnet.md").read_text()
    assert registry_address() in guide and "0x" + PROXY_DEPLOYMENT_TX.hex() in guide and PROXY_DEPLOYER in guide


def test_networks_yaml_is_checked_and_never_holds_an_rpc_url(tmp_path):
    assert find_network("sepolia", tmp_path).chain_id == 11155111 and set(BUILTIN) == {
        "local", "sepolia", "holesky", "base-sepolia"}
    assert rpc_variable("base-sepolia") == "PROVENANCE_BASE_SEPOLIA_RPC_URL"
    with pytest.raises(UsageError, match="unknown network 'mainnet'; known: base-sepolia, holesky, local, sepolia"):
        find_network("mainnet", tmp_path)
    config = tmp_path / "networks.yaml"
    config.write_text("hoodi:\n  chainId: 560048\n  confirmations: 3\n  explorer: https://hoodi.etherscan.io/\n")
    hoodi = find_network("hoodi", tmp_path)
    assert (hoodi.chain_id, hoodi.confirmations, hoodi.registry) == (560048, 3, None)
    assert hoodi.tx_url(b"\xab" * 32) == "https://hoodi.etherscan.io/tx/0x" + "ab" * 32
    for text, message in [
        ("hoodi:\n  chainId: 560048\n  rpcUrl: https://x.example/KEY\n", "RPC URLs are not read from files"),
        ("hoodi:\n  chainId: 560048\n  colour: blue\n", "unknown key"),
        ("hoodi:\n  chainId: '560048'\n", "chainId must be a positive integer"),
        ("local:\n  chainId: 1\n", "cannot be redefined"),
        ("hoodi:\n  chainId: 1\n  explorer: http://plain.example\n", "explorer must be an https:// URL"),
        ("hoodi:\n  chainId: 1\n  registry: 0x12\n", "registry must be 0x followed by 40 hex digits"),
        ("- a list\n", "must map network names"),
    ]:
        config.write_text(text)
        with pytest.raises(InvalidInput, match=message) as refused:
            load_networks_config(tmp_path)
        if "rpcUrl" in text:
            assert refused.value.hint is not None and "PROVENANCE_HOODI_RPC_URL" in refused.value.hint
            assert "KEY" not in str(refused.value)


# ---------------------------------------------------------------- anvil


def _node(*extra: str):
    port = free_port()
    process = start_anvil(port, *extra)
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture
def node():
    process, url = _node()
    yield url
    process.terminate()
    process.wait(timeout=20)


def _home(path: Path, url: str, *keys: str, funded: bool = True) -> Path:
    for name in keys:
        address = Keystore(path).create(name, PASSWORD, scrypt_n=2**10).address
        if funded:
            Ledger.connect(url).rpc("anvil_setBalance", [address, hex(10**20)])
    return path


def _cli(home: Path, *args: str, env: dict | None = None, timeout: float = 120):
    return run_cli(*args, env={"PROVENANCE_HOME": str(home), "PROVENANCE_KEY_PASSWORD": PASSWORD, **(env or {})},
                   timeout=timeout)


def _nonce(url: str, address: str) -> int:
    return int(Ledger.connect(url).rpc("eth_getTransactionCount", [address, "latest"]), 16)


@pytest.mark.chain
def test_deploy_lands_at_the_computed_address_and_again_sends_nothing(tmp_path, node):
    home = _home(tmp_path / "home", node, "pub")
    publisher = Keystore(home).info("pub").address
    first = _cli(home, "--rpc-url", node, "chain", "deploy", "--json")
    assert first.returncode == 0, first.stderr
    done = json.loads(first.stdout)
    assert done["registry"] == registry_address() and done["chainId"] == 31337 and done["sent"] is True
    assert done["gasUsed"] > 2_000_000 and done["txHash"].startswith("0x") and done["txUrl"] is None
    receipt = Ledger.connect(node).rpc("eth_getTransactionReceipt", [done["txHash"]])
    assert parse_address(receipt["to"]) == PROXY and parse_address(receipt["from"]) == publisher
    # the runtime code is the registry's, immutables included; the ledger accepts it
    code = bytes.fromhex(Ledger.connect(node).rpc("eth_getCode", [done["registry"], "latest"])[2:])
    assert runtime_mismatch(code, 31337, done["registry"]) is None
    assert Ledger.connect(node, done["registry"]).version() == "2"
    recorded = json.loads((home / "networks.json").read_text())
    assert recorded["31337"] == {"registry": registry_address(), "rpcUrl": node, "deployBlock": done["blockNumber"]}
    assert done["deployBlock"] == done["blockNumber"]  # an index of the registry starts there

    sent_before, block_before = _nonce(node, publisher), Ledger.connect(node).block_number()
    again = _cli(home, "--rpc-url", node, "chain", "deploy")
    assert again.returncode == 0, again.stderr
    assert registry_address() in again.stdout and "nothing sent" in again.stdout
    assert _nonce(node, publisher) == sent_before and Ledger.connect(node).block_number() == block_before

    # a fresh home finds it on its own: no networks.json, no --registry, the deterministic address holds it
    fresh = _cli(tmp_path / "fresh", "--rpc-url", node, "chain", "status", "--json")
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["registry"] == registry_address()


@pytest.mark.chain
def test_another_chain_gets_the_same_address_and_its_own_domain(node):
    process, other = _node("--chain-id", "11155111")
    try:
        here = Ledger.connect(node)
        there = Ledger.connect(other)
        assert (here.chain_id, there.chain_id) == (31337, 11155111)
        a = deploy_registry(here, parse_address(here.rpc("eth_accounts")[0]))
        b = deploy_registry(there, parse_address(there.rpc("eth_accounts")[0]))
        assert a.address == b.address == registry_address() and a.sent and b.sent
        assert here.registry == there.registry == registry_address()
        # the same address, but each registry signs for its own chain: the domains differ
        assert here.domain != there.domain and Domain(11155111, b.address) == there.domain
        code = bytes.fromhex(there.rpc("eth_getCode", [b.address, "latest"])[2:])
        assert runtime_mismatch(code, 11155111, b.address) is None
        assert runtime_mismatch(code, 31337, b.address) is not None  # its immutables name its own chain
        again = deploy_registry(there, parse_address(there.rpc("eth_accounts")[0]))
        assert again.sent is False and again.address == b.address
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.chain
def test_other_code_at_the_address_is_refused_naming_it(tmp_path, node):
    home = _home(tmp_path / "home", node, "pub")
    ledger = Ledger.connect(node)
    address = registry_address()
    # another contract there (the proxy's own code, say)
    ledger.rpc("anvil_setCode", [address, "0x6001600055"])
    refused = _cli(home, "--rpc-url", node, "chain", "deploy")
    assert refused.returncode == 2
    assert f"the registry's address {address} on chain 31337 holds other code than the registry" in refused.stderr
    assert "5 bytes of code" in refused.stderr and "refusing to use it" in refused.stderr
    assert not (home / "networks.json").exists()

    # the registry's own code as deployed at another address: its immutables (address, domain) do not fit here
    elsewhere = Ledger.connect(node)
    elsewhere.deploy(parse_address(elsewhere.rpc("eth_accounts")[0]))
    ledger.rpc("anvil_setCode", [address, elsewhere.rpc("eth_getCode", [elsewhere.registry, "latest"])])
    refused = _cli(home, "--rpc-url", node, "chain", "deploy")
    assert refused.returncode == 2 and "immutables hold 2 value(s)" in refused.stderr, refused.stderr
    with pytest.raises(Conflict, match="holds other code than the registry"):
        deploy_registry(ledger, parse_address(ledger.rpc("eth_accounts")[0]))


@pytest.mark.chain
def test_a_chain_without_the_proxy_is_told_how_to_get_it_and_the_how_to_works(tmp_path):
    process, url = _node("--disable-default-create2-deployer")
    try:
        home = _home(tmp_path / "home", url, "pub")
        ledger = Ledger.connect(url)
        assert ledger.rpc("eth_getCode", [PROXY, "latest"]) == "0x"
        refused = _cli(home, "--rpc-url", url, "chain", "deploy")
        assert refused.returncode == 2
        text = refused.stderr.replace("\n", " ")
        assert f"has no deterministic deployment proxy at {PROXY}" in text
        for part in (PROXY_DEPLOYER, "0.01 ETH", "Arachnid/deterministic-deployment-proxy", "eth_sendRawTransaction",
                     "--install-proxy", "docs/testnet.md"):
            assert part in text, part

        # by hand, as the message says: fund the one-time deployer, send the presigned transaction
        ledger.rpc("anvil_setBalance", [PROXY_DEPLOYER, hex(PROXY_DEPLOYMENT_COST)])
        ledger.rpc("eth_sendRawTransaction", ["0x" + PROXY_DEPLOYMENT_TX.hex()])
        done = _cli(home, "--rpc-url", url, "chain", "deploy", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["registry"] == registry_address()
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.chain
def test_install_proxy_funds_the_deployer_from_the_key_and_sends_the_presigned_transaction(tmp_path):
    process, url = _node("--disable-default-create2-deployer")
    try:
        home = _home(tmp_path / "home", url, "pub")
        done = _cli(home, "--rpc-url", url, "chain", "deploy", "--install-proxy", "--json")
        assert done.returncode == 0, done.stderr
        assert "installed the deterministic deployment proxy on chain 31337" in done.stderr
        assert json.loads(done.stdout)["registry"] == registry_address()
        assert _nonce(url, PROXY_DEPLOYER) == 1
        again = _cli(home, "--rpc-url", url, "chain", "deploy", "--install-proxy")
        assert again.returncode == 0 and "nothing sent" in again.stdout and "installed" not in again.stderr
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.chain
def test_an_account_without_funds_is_told_what_the_deployment_costs_and_nothing_is_sent(tmp_path, node):
    home = _home(tmp_path / "home", node, "pub", funded=False)
    refused = _cli(home, "--rpc-url", node, "chain", "deploy", "--key", "pub")
    assert refused.returncode == 2
    assert "holds 0 ETH on chain 31337; the registry's deployment may cost up to" in refused.stderr
    assert "gas at" in refused.stderr and "faucet" in refused.stderr
    assert Ledger.connect(node).rpc("eth_getCode", [registry_address(), "latest"]) == "0x"


@pytest.mark.chain
def test_a_named_network_whose_node_is_another_chain_is_refused_with_both_ids(tmp_path, node):
    home = tmp_path / "home"
    for args in (("--network", "sepolia", "chain", "status"),
                 ("--network", "sepolia", "history", "0x" + "ab" * 32),
                 ("--network", "base-sepolia", "--rpc-url", node, "chain", "status")):
        refused = _cli(home, *args, env={"PROVENANCE_SEPOLIA_RPC_URL": node})
        assert refused.returncode == 2, refused.stdout
        name, chain_id = ("base-sepolia", 84532) if "base-sepolia" in args else ("sepolia", 11155111)
        assert f"--network {name} is chain {chain_id}, but the node at {node} is chain 31337" in refused.stderr
    # PROVENANCE_NETWORK names it too, and the generic PROVENANCE_RPC_URL serves when the network's is unset
    refused = _cli(home, "chain", "status", env={"PROVENANCE_NETWORK": "holesky", "PROVENANCE_RPC_URL": node})
    assert refused.returncode == 2 and "--network holesky is chain 17000" in refused.stderr


@pytest.mark.chain
def test_a_named_network_without_a_url_names_its_variable(tmp_path):
    refused = _cli(tmp_path / "home", "--network", "base-sepolia", "history", "0x" + "ab" * 32)
    assert refused.returncode == 2
    assert "--network base-sepolia needs the URL of one of its nodes" in refused.stderr
    assert "PROVENANCE_BASE_SEPOLIA_RPC_URL" in refused.stderr
    refused = _cli(tmp_path / "home", "--network", "nowhere", "chain", "status")
    assert refused.returncode == 2 and "unknown network 'nowhere'" in refused.stderr


@pytest.fixture
def mining(node):
    """Blocks on top of every transaction (anvil mines only on one): the network's confirmations come."""
    import threading

    stop = threading.Event()

    def mine():
        ledger = Ledger.connect(node)
        while not stop.wait(0.2):
            ledger.rpc("evm_mine")

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    yield
    stop.set()
    miner.join(timeout=10)


@pytest.mark.chain
def test_a_users_network_prints_explorer_links_for_deploy_register_anchor_and_revoke(tmp_path, node, mining):
    home = _home(tmp_path / "home", node, "pub")
    (home / "networks.yaml").write_text(
        "devnet:\n  chainId: 31337\n  confirmations: 2\n  explorer: https://explorer.example/devnet\n")
    env = {"PROVENANCE_DEVNET_RPC_URL": node}
    explorer = "https://explorer.example/devnet"

    deployed = _cli(home, "--network", "devnet", "chain", "deploy", env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert f"registry:  {registry_address()} on chain 31337 (devnet)" in deployed.stdout
    assert f"explorer:  {explorer}/address/{registry_address()}" in deployed.stdout
    assert f"explorer:  {explorer}/tx/0x" in deployed.stdout

    dataset = make_artifact(tmp_path, "dataset")
    claims = str(EXAMPLES / "dataset.yaml")
    direct = _cli(home, "--network", "devnet", "register", str(dataset), "--kind", "dataset", "--claims", claims,
                  "--json", env=env)
    assert direct.returncode == 0, direct.stderr
    registered = json.loads(direct.stdout)
    assert registered["txUrl"] == f"{explorer}/tx/{registered['anchor']['txHash']}"

    revoked = _cli(home, "--network", "devnet", "revoke", registered["recordId"], "--reason", "test",
                   "--reason-code", "withdrawn", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert f"explorer: {explorer}/tx/0x" in revoked.stdout

    other = make_artifact(tmp_path, "other")
    queued = _cli(home, "--network", "devnet", "register", str(other), "--kind", "dataset", "--claims", claims,
                  "--batch", env=env)
    assert queued.returncode == 0, queued.stderr
    anchored = _cli(home, "--network", "devnet", "anchor", env=env)
    assert anchored.returncode == 0, anchored.stderr
    assert f"explorer: {explorer}/tx/0x" in anchored.stdout

    status = _cli(home, "--network", "devnet", "chain", "status", "--json", env=env)
    assert json.loads(status.stdout)["network"] == "devnet"
    # without a name the same node has no explorer: no link, and JSON says null
    plain = _cli(home, "--rpc-url", node, "register", str(make_artifact(tmp_path, "third")), "--kind", "dataset",
                 "--claims", claims, "--json")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["txUrl"] is None


@pytest.mark.chain
def test_chain_up_in_a_fresh_home_deploys_at_the_deterministic_address(tmp_path):
    home = tmp_path / "home"
    try:
        up = _cli(home, "chain", "up", "--port", str(free_port()), "--json")
        assert up.returncode == 0, up.stderr
        status = json.loads(up.stdout)
        assert status["registry"] == registry_address() and status["network"] == "local"
        deployed = _cli(home, "chain", "deploy", "--json")
        assert deployed.returncode == 0, deployed.stderr
        assert json.loads(deployed.stdout)["registry"] == registry_address()
        assert json.loads((home / "networks.json").read_text())["31337"]["registry"] == registry_address()
    finally:
        _cli(home, "chain", "down")


def test_serve_indexes_with_the_networks_confirmations_unless_told(tmp_path, monkeypatch):
    from cli.commands import serve
    from cli.main import build_parser

    home = tmp_path / "home"
    home.mkdir()
    (home / "networks.yaml").write_text("devnet:\n  chainId: 31337\n  confirmations: 4\n")
    monkeypatch.setenv("PROVENANCE_DEVNET_RPC_URL", "http://127.0.0.1:1")  # not asked: --registry is given
    base = ["--home", str(home), "--registry", "0x" + "11" * 20]
    assert serve.resolve(build_parser().parse_args([*base, "--network", "devnet", "serve"])).confirmations == 4
    told = build_parser().parse_args([*base, "--network", "devnet", "serve", "--confirmations", "0"])
    assert serve.resolve(told).confirmations == 0
    plain = build_parser().parse_args([*base, "--rpc-url", "http://127.0.0.1:1", "serve"])
    assert serve.resolve(plain).confirmations == 0

"""Gas of each step of docs/testnet.md, measured through the `provenance` command on anvil.

The node is an anvil started with Sepolia's chain id (11155111) and used as
``--network sepolia`` (its URL in ``PROVENANCE_SEPOLIA_RPC_URL``), so the steps are
the ones the guide gives, named network included; a second anvil without the
deterministic deployment proxy measures what installing it costs. Figures are
``gasUsed`` from the receipts; the claims are the shipped examples
(examples/claims), the uri an ipfs:// one as a publisher would give.

    .venv/bin/python bench/testnet_gas.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import free_port  # noqa: E402 - run as a script from bench/

from provenance.deployment import PROXY_DEPLOYER, PROXY_DEPLOYMENT_COST, PROXY_DEPLOYMENT_TX  # noqa: E402
from provenance.keys import Keystore  # noqa: E402 - after the path set-up above
from provenance.ledger import Ledger  # noqa: E402
from provenance.localchain import spawn_anvil  # noqa: E402

PASSWORD = "bench"
URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def cli(home: Path, url: str, *args: str) -> dict:
    env = {**os.environ, "PROVENANCE_HOME": str(home), "PROVENANCE_KEY_PASSWORD": PASSWORD,
           "PROVENANCE_SEPOLIA_RPC_URL": url}
    done = subprocess.run([sys.executable, "-m", "cli.main", "--network", "sepolia", *args, "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
    result: dict = json.loads(done.stdout)
    return result


def gas(ledger: Ledger, tx_hash: str) -> int:
    return int(ledger.rpc("eth_getTransactionReceipt", [tx_hash])["gasUsed"], 16)


def artifact(parent: Path, name: str, size: int) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "data.bin").write_bytes(os.urandom(size))
    (folder / "README.md").write_text(f"card of {name}\n")
    return folder


def main() -> int:
    rows: list[tuple[str, int]] = []
    work = Path(tempfile.mkdtemp(prefix="testnet-gas-"))
    port = free_port()
    node = spawn_anvil(port, "--silent", "--chain-id", "11155111")
    url = f"http://127.0.0.1:{port}"
    try:
        ledger = Ledger.connect(url)
        home = work / "home"
        key = Keystore(home).create("publisher", PASSWORD, scrypt_n=2**10)
        ledger.rpc("anvil_setBalance", [key.address, hex(10**19)])

        deployed = cli(home, url, "chain", "deploy")
        rows.append(("chain deploy (registry through the proxy)", int(deployed["gasUsed"])))

        dataset = artifact(work, "dataset", 1 << 16)
        claims = str(ROOT / "examples/claims/dataset.yaml")
        direct = cli(home, url, "register", str(dataset), "--kind", "dataset", "--claims", claims, "--uri", URI)
        rows.append(("register (direct, no parent)", gas(ledger, direct["anchor"]["txHash"])))

        model_claims = work / "model.yaml"
        text = (ROOT / "examples/claims/model.yaml").read_text()
        model_claims.write_text(text.replace("trained_on: []", f"trained_on: [\"{direct['subject']}\"]"))
        model = artifact(work, "model", 1 << 16)
        child = cli(home, url, "register", str(model), "--kind", "model", "--claims", str(model_claims), "--uri", URI)
        rows.append(("register (direct, one parent)", gas(ledger, child["anchor"]["txHash"])))

        for n in range(2):
            cli(home, url, "register", str(artifact(work, f"queued-{n}", 1 << 12)), "--kind", "dataset",
                "--claims", claims, "--batch", "--uri", URI)
        anchored = cli(home, url, "anchor", "--uri", URI)
        rows.append((f"anchor ({anchored['anchored']} queued records, any count)", int(anchored["gasUsed"])))

        revoked = cli(home, url, "revoke", direct["recordId"], "--reason", "superseded by a cleaner release",
                      "--reason-code", "withdrawn")
        rows.append(("revoke (short reason)", gas(ledger, revoked["txHash"])))
    finally:
        node.terminate()
        node.wait(timeout=20)

    port = free_port()
    bare = spawn_anvil(port, "--silent", "--disable-default-create2-deployer")
    try:
        ledger = Ledger.connect(f"http://127.0.0.1:{port}")
        ledger.rpc("anvil_setBalance", [PROXY_DEPLOYER, hex(PROXY_DEPLOYMENT_COST)])
        tx_hash = ledger.rpc("eth_sendRawTransaction", ["0x" + PROXY_DEPLOYMENT_TX.hex()])
        rows.append(("the proxy's presigned deployment (only where it is missing)", gas(ledger, tx_hash)))
    finally:
        bare.terminate()
        bare.wait(timeout=20)

    print("| step | gas used |")
    print("|---|---:|")
    for step, used in rows:
        print(f"| {step} | {used:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ERC-1271 TestWallet (contracts/test/TestWallet.sol) on anvil, for tests of contract publishers.

A wallet owned by one EOA: ``isValidSignature(hash, sig)`` answers the magic
value when the owner signed ``hash`` itself, and ``execute(target, data)``
makes the wallet call out (so it can be a publisher or a submitter). Its
bytecode comes from Hardhat's compiler output, compiled here when missing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from provenance.record import parse_address
from tests.helpers import ROOT

__all__ = ["deploy_wallet", "wallet_execute"]

ARTIFACT = ROOT / ".hardhat/artifacts/contracts/test/TestWallet.sol/TestWallet.json"


def _artifact() -> dict[str, Any]:
    if not ARTIFACT.exists():
        subprocess.run(["npx", "--no-install", "hardhat", "compile", "--quiet"], cwd=ROOT, check=True, timeout=300)
    return json.loads(Path(ARTIFACT).read_text())


def deploy_wallet(ledger, owner: str) -> str:
    """A fresh TestWallet owned by ``owner``, deployed by the node's first unlocked account; its address."""
    artifact = _artifact()
    factory = ledger._w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    deployer = parse_address(ledger.rpc("eth_accounts")[0])
    tx_hash = factory.constructor(owner).transact({"from": deployer})
    receipt = ledger.wait(bytes(tx_hash))
    assert receipt.contract_address
    return receipt.contract_address


def wallet_execute(ledger, wallet: str, owner, function: str, *args) -> None:
    """The wallet calls the registry's ``function(*args)``, sent by its owner (a LocalAccount)."""
    artifact = _artifact()
    calldata = ledger._contract.encode_abi(function, args=list(args))
    contract = ledger._w3.eth.contract(address=wallet, abi=artifact["abi"])
    call = contract.functions.execute(ledger.registry, calldata)
    tx = call.build_transaction({
        "from": owner.address, "nonce": ledger.pending_nonce(owner.address), "chainId": ledger.chain_id,
    })
    signed = owner.sign_transaction(tx)
    ledger.rpc("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
    ledger.wait(bytes(signed.hash))

"""The committed ABI and bytecode must be what the contract compiles to today."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("npx") is None, reason="needs Node.js (npx) to compile the contract")
def test_committed_abi_matches_a_fresh_compile():
    subprocess.run(["npx", "hardhat", "compile", "--quiet"], cwd=ROOT, check=True, timeout=300)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from export_abi import ARTIFACT, TARGET, exported
    finally:
        sys.path.pop(0)
    assert TARGET.read_text() == exported(ARTIFACT), (
        "provenance/abi/ProvenanceRegistry.json is stale: run "
        "`npx hardhat compile && python scripts/export_abi.py` and commit it"
    )


def test_packaged_abi_has_every_function_the_adapter_calls():
    from provenance.ledger import registry_artifact

    names = {item["name"] for item in registry_artifact()["abi"] if item["type"] == "function"}
    assert {
        "register", "registerFor", "anchorBatch", "proveBatched", "revoke", "revokeBySig",
        "supersede", "supersedeBySig", "endorse", "dispute", "recordState", "batchState",
        "verifyInclusion", "batchLeaf", "hashRecord", "recordIdOf", "domainSeparator", "version",
    } <= names

"""Regenerate provenance/abi/ProvenanceRegistry.json from Hardhat's compiler output.

Run after changing the contract:  npx hardhat compile && python scripts/export_abi.py
tests/test_abi.py fails while the committed file differs from a fresh compile.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / ".hardhat/artifacts/contracts/ProvenanceRegistry.sol/ProvenanceRegistry.json"
TARGET = ROOT / "provenance/abi/ProvenanceRegistry.json"


def exported(artifact_path: Path = ARTIFACT) -> str:
    """The committed form of the artifact: ABI and creation/runtime bytecode only."""
    artifact = json.loads(artifact_path.read_text())
    keep = {
        "contractName": artifact["contractName"],
        "sourceName": artifact["sourceName"],
        "abi": artifact["abi"],
        "bytecode": artifact["bytecode"],
        "deployedBytecode": artifact["deployedBytecode"],
    }
    return json.dumps(keep, indent=1, sort_keys=True) + "\n"


def main() -> int:
    if not ARTIFACT.exists():
        print(f"missing {ARTIFACT.relative_to(ROOT)}: run `npx hardhat compile` first", file=sys.stderr)
        return 2
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(exported())
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

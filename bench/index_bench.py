"""Benchmark: how fast :class:`provenance.indexer.Indexer` follows the chain's events.

Starts its own anvil on a free port, deploys the test-only
``contracts/test/EventEmitter.sol`` (compiled with ``npx hardhat compile`` if
its artifact is missing) and makes it emit ``--events`` events (default
100,000: RecordRegistered and RecordEndorsed in pairs, with the registry's
exact signatures) in transactions of ``--per-tx`` events, sent one after the
other, each waited for. Then points a Ledger at the emitter (the registry check
is skipped on purpose; events decode by topic), and times ``Indexer.sync()``
from block 0 into a fresh SQLite index: ``eth_getLogs``, decoding, block
timestamps and the SQLite writes, everything a real sync does.

Prints events/s and the ratio to the 5,000 events/s target, and writes the
results to ``bench/RESULTS.md`` between ``<!-- index:start -->`` and
``<!-- index:end -->`` (the rest of that file is left alone).

Usage::

    python bench/index_bench.py                 # 100,000 events, record
    python bench/index_bench.py --events 20000 --no-record
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _common, when imported rather than run
from _common import RESULTS, free_port, machine, record  # noqa: E402 - after the sys.path entry for the repository

REPO = HERE.parent
ARTIFACT = REPO / ".hardhat/artifacts/contracts/test/EventEmitter.sol/EventEmitter.json"
TARGET = 5_000

sys.path.insert(0, str(REPO))

from provenance.index import Index  # noqa: E402 - after the sys.path entry for the repository
from provenance.indexer import Indexer  # noqa: E402 - after the sys.path entry for the repository
from provenance.ledger import Ledger  # noqa: E402 - after the sys.path entry for the repository
from provenance.localchain import spawn_anvil  # noqa: E402 - after the sys.path entry for the repository


def artifact() -> dict:
    if not ARTIFACT.exists():
        subprocess.run(["npx", "hardhat", "compile"], cwd=REPO, check=True)
    return json.loads(ARTIFACT.read_text())


def emit_events(ledger: Ledger, total: int, per_tx: int) -> tuple[str, int]:
    """Deploy the emitter and make it emit ``total`` events; its address and the transactions sent."""
    from eth_abi import encode
    from eth_utils import keccak

    sender = ledger.rpc("eth_accounts")[0]
    tx = ledger.rpc("eth_sendTransaction", [{"from": sender, "data": artifact()["bytecode"]}])
    address = ledger.wait(bytes.fromhex(tx[2:])).contract_address
    assert address, "the emitter was not deployed"
    selector = keccak(text="emitPairs(uint256,uint256)")[:4]
    pairs_per_tx = per_tx // 2
    sent = 0
    for start in range(0, total // 2, pairs_per_tx):
        pairs = min(pairs_per_tx, total // 2 - start)
        data = "0x" + (selector + encode(["uint256", "uint256"], [start, pairs])).hex()
        tx = ledger.rpc("eth_sendTransaction", [{"from": sender, "to": address, "data": data, "gas": hex(29_000_000)}])
        ledger.wait(bytes.fromhex(tx[2:]))
        sent += 1
    return address, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--per-tx", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=2_000, help="blocks per eth_getLogs range")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    port = free_port()
    process = spawn_anvil(port, "--silent")
    try:
        ledger = Ledger.connect(f"http://127.0.0.1:{port}", timeout=120)
        began = time.perf_counter()
        address, sent = emit_events(ledger, args.events, args.per_tx)
        emitted = time.perf_counter() - began
        print(f"emitted {args.events:,} events in {sent} transactions in {emitted:.1f} s")
        ledger.registry = address  # no registry check: the emitter only shares the event signatures

        with tempfile.TemporaryDirectory() as tmp:
            index = Index.open(Path(tmp) / "bench.sqlite")
            indexer = Indexer(index, ledger, batch_size=args.batch_size)
            began = time.perf_counter()
            result = indexer.sync()
            elapsed = time.perf_counter() - began
            stored = index.count()
            index.close()
    finally:
        process.terminate()
        process.wait(timeout=10)

    if stored != args.events or result.events != args.events:
        raise SystemExit(f"indexed {result.events} events ({stored} stored), expected {args.events}")
    rate = result.events / elapsed
    ratio = rate / TARGET
    status = "PASS" if rate >= TARGET else "FAIL"
    print(f"synced {result.events:,} events (blocks 0..{result.to_block}) in {elapsed:.2f} s")
    print(f"{rate:,.0f} events/s = {ratio:.3f}x the {TARGET:,} events/s target ({status})")

    command = "python bench/index_bench.py"
    extra = []
    if args.events != 100_000:
        extra.append(f"--events {args.events}")
    if args.per_tx != 500:
        extra.append(f"--per-tx {args.per_tx}")
    if args.batch_size != 2_000:
        extra.append(f"--batch-size {args.batch_size}")
    if extra:
        command += " " + " ".join(extra)
    text = f"""## Index sync (`provenance.indexer.Indexer`)

- Command: `{command}`
- Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
- Machine: {machine()}
- Setup: anvil on 127.0.0.1 (started by the bench), `contracts/test/EventEmitter.sol` emitting
  RecordRegistered + RecordEndorsed pairs ({args.per_tx} events per transaction, {sent} transactions);
  `Indexer.sync()` from block 0 into a fresh SQLite file (WAL), {args.batch_size} blocks per eth_getLogs range,
  block timestamps fetched for every block with events.

| events | blocks | sync s | events/s | target | ratio | status |
|---:|---:|---:|---:|---:|---:|:---:|
| {result.events:,} | {result.to_block + 1} | {elapsed:.2f} | {rate:,.0f} | {TARGET:,} | {ratio:.3f}x | {status} |
"""
    if not args.no_record:
        record("index", text)
        print(f"recorded in {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

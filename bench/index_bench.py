"""Benchmark: how fast :class:`provenance.indexer.Indexer` follows the chain's events.

Starts its own anvil on a free port, deploys the test-only
``contracts/test/EventEmitter.sol`` (compiled with ``npx hardhat compile`` if
its artifact is missing) and makes it emit ``--events`` events (default
100,000: RecordRegistered and RecordEndorsed in pairs, with the registry's
exact signatures) in transactions of ``--per-tx`` events, sent one after the
other, each waited for and followed by ``--gap`` empty blocks (default 20: the
events spread over ~4,200 blocks, so that both a block-range limit and a result
cap bite). Then points a Ledger at the emitter (the registry check
is skipped on purpose; events decode by topic), and times ``Indexer.sync()``
from block 0 into a fresh SQLite index: ``eth_getLogs``, decoding, block
timestamps and the SQLite writes, everything a real sync does.

The same sync runs twice on the same chain, each into its own fresh index:
through ``tests/rpc_proxy.py`` answering like a hosted provider ("limited": a
1,000-block ``eth_getLogs`` range limit that names no number, a 10,000-result cap
refused in Infura's words with its suggested range, 2% HTTP 429 with
``Retry-After: 1``, 1% dropped connections, 2 ms added to every answer; the RNG
seeded, so every run meets the same faults), then straight to anvil
("unlimited"). The limited run must reach half the unlimited rate; the unlimited
one, the 5,000 events/s target.

Prints events/s and the ratios, and writes the results to ``bench/RESULTS.md``
between ``<!-- index:start -->`` and ``<!-- index:end -->`` (the rest of that file
is left alone).

Usage::

    python bench/index_bench.py                 # 100,000 events, record
    python bench/index_bench.py --events 20000 --no-record
    python bench/index_bench.py --baseline HEAD~3   # also the code of another revision, interleaved

``--baseline REV`` exports that revision (``git archive``) to a temporary folder
and, after the two runs above, runs the unlimited sync ``--pairs`` times with it
and with this tree, alternately, each in a fresh process (neither warmed by the
other), against the same anvil: the ratio is between figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
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
LIMITED_TARGET = 0.5  # the limited run's rate, against the unlimited one's

sys.path.insert(0, str(REPO))

from provenance.index import Index  # noqa: E402 - after the sys.path entry for the repository
from provenance.indexer import Indexer, SyncResult  # noqa: E402 - after the sys.path entry for the repository
from provenance.ledger import Ledger  # noqa: E402 - after the sys.path entry for the repository
from provenance.localchain import spawn_anvil  # noqa: E402 - after the sys.path entry for the repository
from tests.rpc_proxy import Faults, RpcProxy  # noqa: E402 - after the sys.path entry for the repository


def artifact() -> dict:
    if not ARTIFACT.exists():
        subprocess.run(["npx", "hardhat", "compile"], cwd=REPO, check=True)
    return json.loads(ARTIFACT.read_text())


def emit_events(ledger: Ledger, total: int, per_tx: int, gap: int = 0) -> tuple[str, int]:
    """Deploy the emitter and make it emit ``total`` events, ``gap`` empty blocks after each transaction;
    its address and the transactions sent."""
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
        if gap:
            ledger.rpc("anvil_mine", [hex(gap)])
        sent += 1
    return address, sent


def timed_sync(url: str, registry: str, batch_size: int, tmp: Path, name: str) -> tuple[int, int, float, int]:
    """Sync a fresh index from block 0 through ``url``: (events, last block, seconds, events stored)."""
    ledger = Ledger.connect(url, timeout=120)
    ledger.registry = registry  # no registry check: the emitter only shares the event signatures
    index = Index.open(tmp / f"{name}.sqlite")
    try:
        indexer = Indexer(index, ledger, batch_size=batch_size)
        began = time.perf_counter()
        result: SyncResult = indexer.sync()
        elapsed = time.perf_counter() - began
        return result.events, result.to_block, elapsed, index.count()
    finally:
        index.close()


_SYNC = """
import json, sys, tempfile, time
from pathlib import Path
root, url, registry, batch_size = sys.argv[1:5]
sys.path.insert(0, root)
from provenance.index import Index
from provenance.indexer import Indexer
from provenance.ledger import Ledger
with tempfile.TemporaryDirectory() as folder:
    ledger = Ledger.connect(url, timeout=120)
    ledger.registry = registry
    index = Index.open(Path(folder) / "index.sqlite")
    began = time.perf_counter()
    result = Indexer(index, ledger, batch_size=int(batch_size)).sync()
    print(json.dumps({"events": result.events, "seconds": time.perf_counter() - began}))
    index.close()
"""


def compare(revision: str, pairs: int, url: str, registry: str, batch_size: int, tmp: Path) -> list[dict]:
    """Unlimited syncs with ``revision``'s code and this tree's, alternately, each in a fresh process."""
    tree = tmp / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    runs = []
    for _ in range(pairs):
        for name, root in (("baseline", tree), ("current", REPO)):
            out = subprocess.run([sys.executable, "-c", _SYNC, str(root), url, registry, str(batch_size)],
                                 cwd=root, capture_output=True, text=True, check=True).stdout
            runs.append({"name": name, **json.loads(out.strip().splitlines()[-1])})
            print(f"{name}: {runs[-1]['events'] / runs[-1]['seconds']:,.0f} events/s")
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--per-tx", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=2_000, help="blocks per eth_getLogs range")
    parser.add_argument("--gap", type=int, default=20, help="empty blocks mined after each transaction")
    parser.add_argument("--rate-limit", type=float, default=0.02, help="share of HTTP 429 answers (limited run)")
    parser.add_argument("--drop", type=float, default=0.01, help="share of dropped connections (limited run)")
    parser.add_argument("--latency", type=float, default=0.002, help="seconds added to each answer (limited run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--baseline", metavar="REV", help="also sync with this git revision's code, interleaved")
    parser.add_argument("--pairs", type=int, default=2, help="baseline and current runs each (with --baseline)")
    args = parser.parse_args()
    faults = Faults(
        rate_limit=args.rate_limit, retry_after="1", drop=args.drop, latency=args.latency,
        max_block_range=1_000, range_style="plain", max_results=10_000, result_hint=True, seed=args.seed,
    )

    port = free_port()
    process = spawn_anvil(port, "--silent")
    url = f"http://127.0.0.1:{port}"
    try:
        ledger = Ledger.connect(url, timeout=120)
        began = time.perf_counter()
        address, sent = emit_events(ledger, args.events, args.per_tx, args.gap)
        emitted = time.perf_counter() - began
        print(f"emitted {args.events:,} events in {sent} transactions in {emitted:.1f} s")
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            # the limited run first: whatever the first sync warms up in anvil favours the unlimited one
            with RpcProxy(url, faults) as proxy:
                limited = timed_sync(proxy.url, address, args.batch_size, tmp, "limited")
                counts = dict(proxy.counts)
            unlimited = timed_sync(url, address, args.batch_size, tmp, "unlimited")
            pairs = compare(args.baseline, args.pairs, url, address, args.batch_size, tmp) if args.baseline else []
    finally:
        process.terminate()
        process.wait(timeout=10)

    for name, (events, _, _, stored) in (("unlimited", unlimited), ("limited", limited)):
        if stored != args.events or events != args.events:
            raise SystemExit(f"{name}: indexed {events} events ({stored} stored), expected {args.events}")
    rate = unlimited[0] / unlimited[2]
    limited_rate = limited[0] / limited[2]
    ratio, share = rate / TARGET, limited_rate / rate
    status = "PASS" if rate >= TARGET else "FAIL"
    limited_status = "PASS" if share >= LIMITED_TARGET else "FAIL"
    getlogs = counts.get("eth_getLogs", 0)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"unlimited: {unlimited[0]:,} events (blocks 0..{unlimited[1]}) in {unlimited[2]:.2f} s: {rate:,.0f} "
          f"events/s = {ratio:.3f}x the {TARGET:,} events/s target ({status})")
    print(f"limited: {limited[2]:.2f} s: {limited_rate:,.0f} events/s = {share:.3f}x the unlimited rate "
          f"({limited_status}); proxy: {counts}")

    baseline_text = ""
    if pairs:
        def rate_of(name: str) -> list[float]:
            return [r["events"] / r["seconds"] for r in pairs if r["name"] == name]

        base_rates, current_rates = rate_of("baseline"), rate_of("current")
        best_base, best_current = max(base_rates), max(current_rates)
        baseline_text = (
            f"\nSide by side, unlimited, each sync a fresh process, alternately ({args.pairs} each): "
            f"`{args.baseline}` (baseline) {', '.join(f'{r:,.0f}' for r in base_rates)} events/s; this tree "
            f"{', '.join(f'{r:,.0f}' for r in current_rates)} events/s; best against best "
            f"{best_current / best_base:.3f}x. Target (issue 17): >= 25,000 events/s, "
            f"{'met' if best_current >= 25_000 else 'NOT met'} ({best_current:,.0f}).\n"
        )
    command = "python bench/index_bench.py"
    extra = []
    for flag, value, default in (
        ("--events", args.events, 100_000), ("--per-tx", args.per_tx, 500), ("--batch-size", args.batch_size, 2_000),
        ("--gap", args.gap, 20),
        ("--rate-limit", args.rate_limit, 0.02), ("--drop", args.drop, 0.01), ("--latency", args.latency, 0.002),
        ("--seed", args.seed, 1),
    ):
        if value != default:
            extra.append(f"{flag} {value}")
    if args.baseline:
        extra.append(f"--baseline {args.baseline} --pairs {args.pairs}")
    if extra:
        command += " " + " ".join(extra)
    text = f"""## Index sync (`provenance.indexer.Indexer`)

- Command: `{command}`
- Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
- Machine: {machine()}
- Setup: anvil on 127.0.0.1 (started by the bench), `contracts/test/EventEmitter.sol` emitting
  RecordRegistered + RecordEndorsed pairs ({args.per_tx} events per transaction, {sent} transactions, each
  followed by {args.gap} empty blocks);
  `Indexer.sync()` from block 0 into a fresh SQLite file (WAL), at most {args.batch_size} blocks per eth_getLogs
  range, block timestamps fetched for every block with events. Run twice on the same chain in one process:
  through `tests/rpc_proxy.py` like a hosted provider (limited), then straight to anvil (unlimited):
  eth_getLogs refused above 1,000 blocks ("block range is too large", no number named) and above
  10,000 results (Infura's -32005 "query returned more than 10000 results. Try with this block range
  [..]"), {args.rate_limit:.0%} HTTP 429 with `Retry-After: 1`, {args.drop:.0%} dropped connections (half of
  them after the node answered), {args.latency * 1000:g} ms added to every answer, seed {args.seed}.

| run | events | blocks | sync s | events/s | target | ratio | status |
|---|---:|---:|---:|---:|---:|---:|:---:|
| unlimited | {unlimited[0]:,} | {unlimited[1] + 1} | {unlimited[2]:.2f} | {rate:,.0f} | {TARGET:,} events/s \
| {ratio:.3f}x | {status} |
| limited | {limited[0]:,} | {limited[1] + 1} | {limited[2]:.2f} | {limited_rate:,.0f} | {LIMITED_TARGET:.0%} of \
unlimited | {share:.3f}x | {limited_status} |

The limited run's proxy saw {counts.get("requests", 0)} requests ({getlogs} eth_getLogs): ranges refused
{counts.get("range refused", 0)} time(s) for their blocks and {counts.get("results refused", 0)} for their results
(each refusal resized the range: `provenance.indexer.RangeSize`), {counts.get("429", 0)} HTTP 429 (about
{counts.get("429", 0)} s waited, as `Retry-After` asked) and {counts.get("dropped", 0) + counts.get("dropped after", 0)}
dropped connections, each retried (`provenance._rpc`). Load average at the end: {load}.
{baseline_text}"""
    if not args.no_record:
        record("index", text)
        print(f"recorded in {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

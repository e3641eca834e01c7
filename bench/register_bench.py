"""Benchmark: batched registration end to end, through :class:`provenance.publish.Publisher`.

Starts its own anvil on a free port, deploys the registry and funds a fresh
account, then times, for ``--records`` records (default 10,000):

1. ``Publisher.queue_subjects``: for each pre-hashed random subject, a fresh
   salted commitment of a realistic dataset's claims (``Claims.from_mapping``
   once; 27 salted leaves per record), the record, its EIP-712 signature (a
   real secp256k1 signature) and its Statement with the default disclosures,
   prepared and encoded in forked worker processes (one per core) while the
   parent inserts them into a real local store (SQLite, WAL,
   synchronous=FULL) in a temporary directory;
2. ``Publisher.anchor``: the batch tree, one ``anchorBatch`` transaction
   journaled, sent and mined, then every record's anchor and inclusion proof
   written to the store, and the batch document (``provenance.batchdoc``: per
   member its record, signature and disclosed claims, checkable against the root).

No Statement files beside artifacts (the records have bare subjects).
Reports records/s end to end and per stage, and gas per record (the
``anchorBatch`` receipt's gasUsed / records) for that batch and for a second
batch of exactly 1,000 records, and the batch document's size (bytes in all
and per member). Targets: >= 1,000 records/s end to end; <= 50 gas per
record at 1,000; <= 1 KiB of batch document per member.

Writes the results to ``bench/RESULTS.md`` between ``<!-- register:start -->``
and ``<!-- register:end -->`` (the rest of that file is left alone).

Usage::

    python bench/register_bench.py                   # 10,000 records, record
    python bench/register_bench.py --records 2000 --no-record
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _common, when imported rather than run
from _common import RESULTS, free_port, machine, record  # noqa: E402

REPO = HERE.parent
TARGET_RATE = 1_000
TARGET_GAS = 50
TARGET_DOCUMENT = 1_024  # bytes of batch document per member

sys.path.insert(0, str(REPO))

from provenance.claims import Claims  # noqa: E402
from provenance.ledger import Ledger  # noqa: E402
from provenance.localchain import spawn_anvil  # noqa: E402
from provenance.publish import Publisher, batch_document_path, prepare  # noqa: E402
from provenance.record import hex32, parse_address  # noqa: E402
from provenance.store import Store  # noqa: E402

DATASET = {
    "kind": "dataset",
    "name": "acme/support-chats",
    "version": "2026.1",
    "copyright": {
        "license": "CC-BY-4.0",
        "holders": ["Acme Corp"],
        "attribution": "Acme support chats (c) Acme Corp 2026, CC-BY-4.0",
        "commercial_use": True,
        "training_mining": {
            "ai_training": "allowed", "ai_generative_training": "allowed",
            "data_mining": "allowed", "ai_inference": "allowed",
        },
        "tdm_reservation": False,
    },
    "privacy": {
        "personal_data": "present",
        "special_categories": [],
        "lawful_basis": "consent",
        "anonymization": ["pseudonymisation"],
        "jurisdictions": ["EU"],
        "retention_until": "2030-12-31",
        "erasure": "filter",
        "confidentiality": "green",
    },
    "disclose": ["copyright", "lineage", "privacy.personal_data", "privacy.lawful_basis"],
}


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the queueing workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_batch(ledger: Ledger, account, home: Path, count: int) -> dict:
    """Prepare, queue and anchor ``count`` records into the store at ``home``; timings and gas.

    Every record is derived from one source dataset registered first: its claims pin that record
    (``lineage.trained_on: [{subject, record}]``) and its Statement carries the source's Statement
    (the lineage bundle, issue 13), as a publisher's shards of a filtered corpus would.
    """
    store = Store.open(home)
    publisher = Publisher(store, ledger, account)
    source = publisher.register(prepare(account=account, domain=ledger.domain,
                                        claims=Claims.from_mapping({**DATASET, "name": "acme/raw-chats"}),
                                        subject=os.urandom(32)))
    claims = Claims.from_mapping({
        **DATASET,
        "lineage": {"trained_on": [{"subject": hex32(source.subject), "record": hex32(source.record_id)}]},
    })
    subjects = [os.urandom(32) for _ in range(count)]  # pre-hashed artifacts
    try:
        cpu_began = _cpu()
        began = time.perf_counter()
        # prepared and encoded in forked workers, each Statement carrying the source's
        publisher.queue_subjects(claims, subjects, lineage=[source])
        queued_at = time.perf_counter()
        result = publisher.anchor()
        ended = time.perf_counter()
        cpu = _cpu() - cpu_began
        anchored = len(store.record_ids(
            state="anchored", chain_id=ledger.chain_id, registry=ledger.registry, publisher=account.address
        ))
        document = batch_document_path(store, result.root).stat().st_size if result is not None else 0
    finally:
        store.close()
    if result is None or result.count != count or anchored < count:
        raise SystemExit(f"anchored {result and result.count} records ({anchored} in the store), expected {count}")
    if not ledger.batch_state(account.address, result.root).anchored_at:
        raise SystemExit("the batch root is not anchored on chain")
    total = ended - began
    return {
        "count": count,
        "queue": queued_at - began,
        "anchor": ended - queued_at,
        "total": total,
        "rate": count / total,
        "cpu": cpu,
        "cpu_rate": count / cpu,
        "gas": result.gas_used,
        "gas_per_record": result.gas_used / count,
        "document": document,
        "document_per_record": document / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    from eth_account import Account

    port = free_port()
    process = spawn_anvil(port, "--silent")
    try:
        ledger = Ledger.connect(f"http://127.0.0.1:{port}", timeout=120)
        ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
        account = Account.create()
        ledger.rpc("anvil_setBalance", [account.address, hex(10**20)])
        with tempfile.TemporaryDirectory() as tmp:
            big = run_batch(ledger, account, Path(tmp) / "big", args.records)
            thousand = run_batch(ledger, account, Path(tmp) / "thousand", 1_000)
    finally:
        process.terminate()
        process.wait(timeout=10)

    for result in (big, thousand):
        print(
            f"{result['count']:,} records: prepare and queue {result['queue']:.2f} s, "
            f"anchor {result['anchor']:.2f} s; total {result['total']:.2f} s = {result['rate']:,.0f} records/s "
            f"(CPU {result['cpu']:.2f} s = {result['cpu_rate']:,.0f} records per CPU-second); "
            f"anchorBatch {result['gas']:,} gas = {result['gas_per_record']:.2f} gas/record; "
            f"batch document {result['document']:,} bytes = {result['document_per_record']:,.0f} bytes/member "
            f"(target <= {TARGET_DOCUMENT:,})"
        )
    rate_ok = big["rate"] >= TARGET_RATE
    gas_ok = thousand["gas_per_record"] <= TARGET_GAS
    document_ok = big["document_per_record"] <= TARGET_DOCUMENT
    print(f"end to end: {big['rate']:,.0f} records/s = {big['rate'] / TARGET_RATE:.3f}x the {TARGET_RATE:,} target "
          f"({'PASS' if rate_ok else 'FAIL'})")
    print(f"gas at 1,000: {thousand['gas_per_record']:.2f} per record, target <= {TARGET_GAS} "
          f"({'PASS' if gas_ok else 'FAIL'})")
    print(f"batch document at {big['count']:,}: {big['document']:,} bytes = {big['document_per_record']:,.0f} "
          f"bytes/member, target <= {TARGET_DOCUMENT:,} ({'PASS' if document_ok else 'FAIL'})")

    command = "python bench/register_bench.py" + (f" --records {args.records}" if args.records != 10_000 else "")
    rows = "\n".join(
        f"| {r['count']:,} | {r['queue']:.2f} | {r['anchor']:.2f} | {r['total']:.2f} "
        f"| {r['rate']:,.0f} | {r['cpu']:.2f} | {r['cpu_rate']:,.0f} | {r['gas']:,} | {r['gas_per_record']:.2f} "
        f"| {r['document']:,} | {r['document_per_record']:,.0f} |"
        for r in (big, thousand)
    )
    per = {k: big[k] / big["count"] * 1e6 for k in ("queue", "anchor", "total")}
    header = (
        "| records | prepare and queue s | anchor s | total s | records/s | CPU s | records per CPU-s "
        "| anchorBatch gas | gas/record | batch document bytes | bytes/member |"
    )
    rate_row = (
        f"| end to end >= {TARGET_RATE:,} records/s ({big['count']:,} records) | {big['rate']:,.0f} "
        f"| {'met' if rate_ok else 'NOT met'} |"
    )
    text = f"""## Batched registration (`provenance.publish`, issue 4)

- Command: `{command}`
- Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
- Machine: {machine()}; load average at the end
  {", ".join(f"{x:.1f}" for x in os.getloadavg())} (other jobs share the machine)
- Setup: anvil on 127.0.0.1 (started by the bench), registry deployed, a fresh funded key. Per record:
  a random pre-hashed subject, a fresh salted commitment of a realistic dataset's claims (27 leaves)
  pinning one source dataset record registered first, a real EIP-712 secp256k1 signature, the Statement
  carrying the source's Statement (the lineage bundle); `Publisher.queue_subjects` prepares and encodes
  them in forked workers (one per core) while the parent inserts them into a real local store (SQLite,
  WAL, synchronous=FULL); `Publisher.anchor`: tree, one journaled `anchorBatch` sent and mined, every
  record's anchor and proof written to the store, the batch document. No Statement files beside
  artifacts.

{header}
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Per record at {big['count']:,}: prepare and queue {per['queue']:,.0f} µs, anchor {per['anchor']:,.0f} µs
(total {per['total']:,.0f} µs; the target needs 1,000 µs). CPU s is this process's and its workers' CPU
time (anvil excluded).

Where the time goes: preparing is the salted commitment (27 double-hashed leaves, the 26 inner
nodes and 16 disclosure proofs: ~100 keccak256 calls through the safe-pysha3 C extension) and the
~8.5 KB Statement; the signature (libsecp256k1) is under 0.1 ms. Both cores prepare while the parent
inserts. The store keeps the Statement and commitment texts in their own table, so the state and anchor
updates of a batch touch small rows only. `anchor` is one transaction (estimate, journal, send, mine: a
fixed ~0.3 s), the anchors, and the batch document (`provenance.batchdoc`: each member's record,
signature, salts and hidden claims hashes; the Statements are parsed back from the store to write it).
History on this shared machine: 178 records/s before the first hot-path commits, 389 after
them, 574-594 with the C keccak, anchors stored apart and spliced and the GC paused, and this figure
with the workers and the texts apart from the record rows.

| target | measured | |
|---|---:|---|
{rate_row}
| <= {TARGET_GAS} gas per record at 1,000 | {thousand['gas_per_record']:.2f} | {'met' if gas_ok else 'NOT met'} |
| <= {TARGET_DOCUMENT:,} bytes of batch document per member ({big['count']:,} records) \
| {big['document_per_record']:,.0f} | {'met' if document_ok else 'NOT met'} |
"""
    if not args.no_record:
        record("register", text)
        print(f"recorded in {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

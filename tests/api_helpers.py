"""The API tests' shared world: a registry populated with one scenario, and service settings over it.

Used by the API test modules (test_api, test_api_schema, test_api_server, test_api_verify,
test_api_bounds); kept apart from tests/helpers.py so that tests without the service do not
import FastAPI.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api.settings import ServiceSettings
from provenance.ledger import Ledger
from provenance.manifest import Manifest, ManifestEntry
from provenance.merkle import MerkleTree, record_leaf
from provenance.record import Kind, Record
from provenance.signing import sign_record
from provenance.statement import Anchor, Statement
from tests.helpers import free_port

PROBLEM = "application/problem+json"


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def manifest_of(files: dict[str, str]) -> Manifest:
    return Manifest.from_entries(ManifestEntry(p, len(c), _sha(c)) for p, c in files.items())


@dataclass
class Scenario:
    publisher: object
    other: object
    auditor: object
    relayer: object
    dataset: bytes  # subject
    base: bytes
    tuned: bytes
    unknown_parent: bytes
    base_old_id: bytes
    base_new_id: bytes
    tuned_id: bytes
    cycle_id: bytes
    dataset_id: bytes
    batch_root: bytes
    batched_ids: list[bytes]
    batched_subjects: list[bytes]
    shared_sha: str
    tuned_manifest: Manifest
    statements: list[Statement] = field(default_factory=list)


def _statement(ledger: Ledger, account, record: Record, manifest: Manifest | None, anchor: Anchor | None):
    statement = Statement.create(
        name="artifact",
        record=record,
        publisher=account.address,
        signature=sign_record(account, record, ledger.domain),
        chain_id=ledger.chain_id,
        registry=ledger.registry,
        manifest=None if manifest is None else manifest.to_dict(),
    )
    return statement.with_anchor(anchor) if anchor else statement


def populate(ledger: Ledger, accounts) -> Scenario:
    """Register the scenario on ``ledger``; ``accounts()`` makes a funded account."""
    publisher, other, auditor, relayer = accounts(), accounts(), accounts(), accounts()
    tuned_manifest = manifest_of({"config.json": "{}", "tokenizer.json": "tok", "weights.bin": "w" * 100})
    dataset, base, tuned = b"\xd0" * 32, b"\xb0" * 32, tuned_manifest.subject
    unknown_parent = b"\xee" * 32

    dataset_rec = Record.create(dataset, Kind.DATASET, b"\x01" * 32, [], "ipfs://dataset")
    base_old = Record.create(base, Kind.MODEL, b"\x02" * 32, [dataset], "ipfs://base-v1")
    base_new = Record.create(base, Kind.MODEL, b"\x03" * 32, [dataset], "ipfs://base-v2")
    tuned_rec = Record.create(tuned, Kind.MODEL, b"\x04" * 32, [base, unknown_parent], "ipfs://tuned")
    cycle_rec = Record.create(dataset, Kind.DATASET, b"\x05" * 32, [tuned], "ipfs://cycle")
    for account, record in (
        (publisher, dataset_rec), (publisher, base_old), (publisher, base_new), (other, tuned_rec), (other, cycle_rec)
    ):
        ledger.register(account, record)
    ids = {name: r.record_id(a.address) for name, r, a in (
        ("dataset", dataset_rec, publisher), ("old", base_old, publisher), ("new", base_new, publisher),
        ("tuned", tuned_rec, other), ("cycle", cycle_rec, other),
    )}
    ledger.supersede(publisher, ids["old"], ids["new"])
    ledger.endorse(auditor, ids["tuned"], b"\x0e" * 32, "https://audit.example/ok")
    ledger.dispute(auditor, ids["new"], b"\x0d" * 32)
    ledger.revoke(other, ids["cycle"], "mistake")

    batch_manifests = [
        manifest_of({"tokenizer.json": "tok", "data.parquet": f"rows {i}"}) for i in range(3)
    ]
    batched = [Record.create(m.subject, Kind.DATASET, bytes([0x10 + i]) * 32, [], f"ipfs://b{i}")
               for i, m in enumerate(batch_manifests)]
    batched_ids = [r.record_id(publisher.address) for r in batched]
    tree = MerkleTree.from_leaves(record_leaf(i) for i in batched_ids)
    anchored = ledger.anchor_batch(relayer, tree.root, 3, "ipfs://batch-doc")
    proof1 = tree.proof(record_leaf(batched_ids[1]))
    # a relayer's batch: only the publisher may prove its records into it (the registry's consent rule)
    ledger.prove_batched(publisher, publisher.address, batched[1].struct_hash(), relayer.address, tree.root, proof1)

    tuned_statement = _statement(ledger, other, tuned_rec, tuned_manifest, None)
    batch_anchor = Anchor("batch", anchored.tx_hash, anchored.block_number, tree.root,
                          tuple(tree.proof(record_leaf(batched_ids[0]))), relayer.address)
    batch_statement = _statement(ledger, publisher, batched[0], batch_manifests[0], batch_anchor)
    return Scenario(
        publisher=publisher, other=other, auditor=auditor, relayer=relayer,
        dataset=dataset, base=base, tuned=tuned, unknown_parent=unknown_parent,
        base_old_id=ids["old"], base_new_id=ids["new"], tuned_id=ids["tuned"], cycle_id=ids["cycle"],
        dataset_id=ids["dataset"], batch_root=tree.root, batched_ids=batched_ids,
        batched_subjects=[m.subject for m in batch_manifests], shared_sha=_sha("tok").hex(),
        tuned_manifest=tuned_manifest, statements=[tuned_statement, batch_statement],
    )


def settings_for(ledger: Ledger, path: Path, **overrides) -> ServiceSettings:
    values = {"rpc_url": ledger.rpc_url, "registry": ledger.registry, "index_path": path, "poll_interval": 0.2}
    values.update(overrides)
    return ServiceSettings(**values)


def catch_up(app) -> None:
    service = app.state.service
    for _ in range(100):
        if not service.loop.step():
            return
    raise AssertionError("the indexer did not catch up")


def verdict_computed(app, key: tuple, head: int) -> None:
    """Wait for the verdict of ``key`` (``("verify", subject, use, strict)``) at ``head``: at a new head of a
    quiet chain the service answers the previous one and computes this one in a thread of its own."""
    deadline = time.monotonic() + 10
    while app.state.service.peek((*key, head)) is None:
        assert time.monotonic() < deadline, f"no verdict at head {head}"
        time.sleep(0.01)


@contextmanager
def serving_app(anvil_url: str, registry: str, path: Path) -> Iterator[str]:
    """The service app under uvicorn on a free loopback port, in a thread, caught up with the chain."""
    import uvicorn

    from api.app import create_app
    from api.settings import ServiceSettings

    settings = ServiceSettings(rpc_url=anvil_url, registry=registry, index_path=path, poll_interval=0.1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test-service", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        head = Ledger.connect(anvil_url).block_number()
        while True:
            try:
                ready = httpx.get(f"{url}/readyz", timeout=5)
                if ready.status_code == 200 and ready.json()["syncedTo"] >= head:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the service did not start and catch up"
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)

"""Benchmark: the registry at Hub scale (issue 17, item 2): register, index and look up N artifacts.

The Hugging Face Hub holds about 2.5 million public models and datasets. For
each step N of ``--steps`` (default 100,000, 300,000 and 1,000,000; the chain
and the indexes grow from one step to the next, so a step adds N minus the
previous N), on one anvil started by the bench:

1. **Register** N pre-hashed artifacts through the publisher's real path, in
   batches of 10,000: ``Publisher.queue_subjects`` (a fresh salted commitment
   of one claims template, a real EIP-712 signature per record) and
   ``Publisher.anchor`` (one ``anchorBatch`` sent, waited for, the compact
   version 2 batch document of :mod:`provenance.batchdoc` written). No files:
   artifact ``i``'s manifest is made up (one file ``shard-i.parquet`` whose
   SHA-256 is that of ``b"scale-bench file i"``), its subject that manifest's.
   Each batch gets a local store of its own, removed once anchored (the
   publisher's store is not what is measured), and at most one transaction
   is pending at a time. Reported: seconds, ``anchorBatch`` gas in all and
   per artifact, batch document bytes per member.
2. **Index** from the chain and the batch documents the way ``provenance
   serve`` does: a child process builds the service's own :class:`api.service.Service`
   and runs its indexer loop's steps (``Indexer.sync``) then its batch
   documents' steps (:class:`api.documents.BatchDocuments`: fetch over HTTP
   from a loopback server of the bench, the service's ``fetch_private``,
   ``batchdoc.read`` against the event, every member's Statement accepted by
   the verifier, kept a chunk at a time) until nothing is left, into SQLite
   and/or PostgreSQL (``--backend``). Reported: seconds (per 10^5 records),
   the child's peak RSS (``VmHWM``), disk bytes per record (the SQLite file
   with its WAL; ``pg_database_size``). The service learns file digests only
   from Statements carrying manifests (posted to it), which batch documents
   leave out; so that the file-digest look-up runs against N files, the bench
   then writes each artifact's one ``files`` row (what ``Index.add_statement``
   writes for its manifest) straight into the index, timed apart.
3. **Look up** at 32 clients against a real service (``uvicorn
   api.app:app_from_env --factory --workers 2``, as ``bench/api_bench.py``
   runs it) on that index, and in the same run against a service on 300
   records registered the same way (its own anvil and index): artifact,
   history and verify by subject, and file digest; p50, p99, req/s. At N the
   look-ups rotate over 20,000 artifacts spread over all N (more than the
   service's 4,096 remembered answers, so answers are computed, not
   remembered); at 300 over all 300 (which the service may answer from
   memory, as it would a small registry).

A growth table per step, and a linear extrapolation to 2.5 million from the
measured slopes, go to ``bench/RESULTS.md`` between ``<!-- scale:start -->``
and ``<!-- scale:end -->``. Restartable per step: everything lives in
``--workdir`` (anvil's state, the indexes, the PostgreSQL cluster, a
``state.json`` of what is done); run again with the same ``--workdir`` and
``--keep`` and finished batches, indexes and steps are not redone. Memory stays
bounded: artifacts are made up one batch at a time.

Usage::

    python bench/scale_bench.py --steps 2000 --no-record               # a quick check
    python bench/scale_bench.py --backend both                         # 100k, 300k, 1M
    python bench/scale_bench.py --workdir /tmp/scale --keep --steps 100000,300000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _common and api_bench, when imported rather than run
from _common import RESULTS, free_port, machine, record  # noqa: E402 - after the sys.path entry for bench/
from register_bench import DATASET  # noqa: E402 - as above

REPO = HERE.parent
sys.path.insert(0, str(REPO))

BATCH = 10_000  # artifacts per anchorBatch
SMALL = 300  # the baseline registry's size
SAMPLE = 20_000  # distinct artifacts each look-up target rotates over at N
FINALITY_DEPTH = 64  # anvil's finalized block is this many behind its head
TARGETS = ("artifact", "history", "verify", "file")
EXTRAPOLATE_TO = 2_500_000
BACKENDS = ("sqlite", "postgresql")

#: The claims every artifact is registered under: ``bench/register_bench.py``'s dataset claims, under this bench's name.
TEMPLATE: dict[str, Any] = {**DATASET, "name": "hub/scale-bench"}


# ---------------------------------------------------------------- made-up artifacts


def file_digest(i: int) -> bytes:
    """The SHA-256 of artifact ``i``'s one file."""
    return hashlib.sha256(b"scale-bench file %d" % i).digest()


def file_path(i: int) -> str:
    return f"shard-{i:08d}.parquet"


def subject(i: int) -> bytes:
    """Artifact ``i``'s subject: its made-up manifest's (one file of 1 MB + i bytes)."""
    from provenance.manifest import Manifest, ManifestEntry

    return Manifest.from_entries([ManifestEntry(file_path(i), 1_000_000 + i, file_digest(i))]).subject


def spread(count: int, total: int) -> list[int]:
    """``count`` artifact numbers spread evenly over ``range(total)`` (all of them when fewer)."""
    if total <= count:
        return list(range(total))
    return [j * total // count for j in range(count)]


# ---------------------------------------------------------------- processes


def rss_hwm(pid: int | str = "self") -> int:
    """Peak resident set size of a process in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def start_anvil(port: int, state_file: Path | None) -> subprocess.Popen[bytes]:
    from provenance.localchain import spawn_anvil

    extra = ["--silent"]
    if state_file is not None:  # loaded when it exists, written on exit and every minute: restartable
        extra += ["--state", str(state_file), "--state-interval", "60", "--preserve-historical-states"]
    return spawn_anvil(port, *extra)


def stop_anvil(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # anvil writes its --state on an interrupt
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Postgres:
    """A PostgreSQL cluster under the work directory, through ``tests/postgres.py``'s helper (kept between
    runs of one ``--workdir``: started again when its data directory exists)."""

    def __init__(self, folder: Path) -> None:
        from tests.postgres import PostgresServer, postgres_bin

        bindir = postgres_bin()
        if bindir is None:
            raise SystemExit("PostgreSQL is not installed (scripts/install_postgres.sh installs Debian's package)")
        user = None
        if os.geteuid() == 0:  # PostgreSQL refuses root, as in tests/postgres.py
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                user = pwd.getpwnam("nobody")
        folder.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
        self.server = PostgresServer(bindir, folder, free_port(), user)

    def start(self) -> None:
        if not self.server.data.exists():
            self.server.start()
            return
        # the helper's start() runs initdb first: a kept cluster is started with the same options only
        server = self.server
        options = (f"-p {server.port} -k {server.folder} -c listen_addresses='' -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        started = server._run(str(server.bindir / "pg_ctl"), "-D", str(server.data), "-o", options,
                              "-l", str(server.folder / "postgres.log"), "-w", "-t", "60", "start")
        if started.returncode != 0:
            raise SystemExit(f"pg_ctl start failed: {started.stderr or started.stdout}")

    def database(self, name: str) -> str:
        """The URL of database ``name``, created when missing."""
        import psycopg

        with psycopg.connect(self.server.url(), autocommit=True) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                admin.execute(f'CREATE DATABASE "{name}"')
        return self.server.url(name)

    def drop(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.server.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def size(self, url: str) -> int:
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CHECKPOINT")
            row = db.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def stop(self) -> None:
        self.server.stop()


def sqlite_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


# ---------------------------------------------------------------- a registry of made-up artifacts


class World:
    """One registry on one anvil, its batch documents served over HTTP, its indexes; what is done in
    ``state.json`` (the large world), or nothing kept (the 300-record baseline)."""

    def __init__(self, folder: Path, name: str, docs: Path, doc_port: int, *, persistent: bool) -> None:
        from eth_account import Account
        from eth_utils import keccak

        self.folder, self.name, self.docs, self.doc_port = folder, name, docs / name, doc_port
        self.docs.mkdir(parents=True, exist_ok=True)
        self.state_path = folder / f"{name}.json"
        self.state: dict[str, Any] = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.account = Account.from_key(keccak(text=f"scale-bench publisher {name}"))
        self.port = free_port()
        self.anvil = start_anvil(self.port, folder / f"{name}-anvil.json" if persistent else None)
        self.ledger = self._connect()

    def _connect(self) -> Any:
        from provenance.ledger import Ledger
        from provenance.record import parse_address

        url = f"http://127.0.0.1:{self.port}"
        if "registry" not in self.state:
            ledger = Ledger.connect(url, timeout=120)
            receipt = ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
            ledger.rpc("anvil_setBalance", [self.account.address, hex(10**24)])
            self.state.update(registry=ledger.registry, deploy_block=receipt.block_number, registered=0,
                              batches=[], indexed={}, files={}, steps={})
            self.save()
            return ledger
        ledger = Ledger.connect(url, self.state["registry"], timeout=120)
        # anvil restarted from its state file keeps no state of the blocks before; its finalized block (where
        # the service's verifier reads the registry's storage) is 64 behind the head: mined past, so it has one
        ledger.rpc("anvil_mine", [hex(FINALITY_DEPTH + 1)])
        return ledger

    def save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.state_path)

    def close(self) -> None:
        stop_anvil(self.anvil)

    # ------------------------------------------------------------ registering

    def register_up_to(self, total: int) -> None:
        """Register artifacts ``registered .. total - 1`` in batches of :data:`BATCH` (each saved when done)."""
        from provenance.claims import Claims

        claims = Claims.from_mapping(TEMPLATE)
        while self.state["registered"] < total:
            start = self.state["registered"]
            count = min(BATCH, total - start)
            batch = self._register_batch(claims, len(self.state["batches"]), start, count)
            self.state["batches"].append(batch)
            self.state["registered"] = start + count
            self.save()
            print(f"  [{self.name}] batch {batch['k']}: {count:,} artifacts in {batch['seconds']:.1f} s, "
                  f"{batch['gas']:,} gas, {batch['bytes'] / count:,.0f} document bytes/member", flush=True)

    def _register_batch(self, claims: Any, k: int, start: int, count: int) -> dict[str, Any]:
        from provenance.publish import Publisher, batch_document_path, resume
        from provenance.store import Store

        name = f"b{k:05d}.json"
        uri = f"http://127.0.0.1:{self.doc_port}/{self.name}/{name}"
        home = self.folder / "stores" / f"{self.name}-{k:05d}"
        store = Store.open(home)
        try:
            publisher = Publisher(store, self.ledger, self.account)
            resumed = resume(store, self.ledger)  # a batch that a stopped run journaled: finished, not sent again
            began = time.perf_counter()
            if not resumed or not store.batches(state="anchored"):
                queued = store.record_ids(state="queued", chain_id=self.ledger.chain_id,
                                          registry=self.ledger.registry, publisher=self.account.address)
                if not queued:
                    subjects = [subject(i) for i in range(start, start + count)]
                    publisher.queue_subjects(claims, subjects)
                result = publisher.anchor(uri=uri)
                if result is None or result.count != count:
                    raise SystemExit(f"batch {k}: anchored {result and result.count} records, expected {count}")
                root, gas = result.root, result.gas_used or 0
            else:
                stored = store.batches(state="anchored")[0]
                root, gas = bytes.fromhex(stored.root[2:]), 0  # gas of a resumed batch: not known here
            seconds = time.perf_counter() - began
            document = batch_document_path(store, root)
            target = self.docs / name
            shutil.move(document, target)
        finally:
            store.close()
        shutil.rmtree(home)
        return {"k": k, "start": start, "count": count, "gas": gas, "bytes": target.stat().st_size,
                "seconds": seconds, "root": "0x" + root.hex(), "uri": uri}

    # ------------------------------------------------------------ indexing

    def index_target(self, backend: str, pg: Postgres | None) -> str:
        if backend == "sqlite":
            return str(self.folder / f"{self.name}-index.sqlite")
        assert pg is not None
        return pg.database(f"scale_{self.name}")

    def settings(self, target: str) -> Any:
        from api.settings import ServiceSettings

        return ServiceSettings(rpc_url=self.ledger.rpc_url, registry=self.state["registry"], index_path=target,
                               start_block=self.state["deploy_block"], fetch_private=True, poll_interval=1.0)

    def index_up_to(self, backend: str, pg: Postgres | None) -> dict[str, Any] | None:
        """Index what was registered since the last run into ``backend``, in a child process (the service's
        path); its figures, or None when nothing was new."""
        done = self.state["indexed"].get(backend, 0)
        total = self.state["registered"]
        if done >= total:
            return None
        target = self.index_target(backend, pg)
        spec = {"settings": self.settings(target).to_json(), "expected": total, "files_from": done,
                "files_to": total}
        out = subprocess.run([sys.executable, __file__, "--_index", json.dumps(spec)], capture_output=True,
                             text=True, cwd=REPO)
        if out.returncode != 0:
            raise SystemExit(f"indexing into {backend} failed:\n{out.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["records"] = total - done
        result["disk"] = sqlite_size(Path(target)) if pg is None or backend == "sqlite" else pg.size(target)
        self.state["indexed"][backend] = total
        self.save()
        print(f"  [{self.name}] indexed {total - done:,} into {backend} in {result['seconds']:.1f} s "
              f"(files rows {result['files_seconds']:.1f} s), peak RSS {result['rss'] / 2**20:,.0f} MiB, "
              f"{result['disk'] / total:,.0f} disk bytes/record", flush=True)
        return result


def index_main(spec: dict[str, Any]) -> None:
    """The indexing child: the service's loop and batch documents, stepped until nothing is left."""
    from api.service import Service
    from api.settings import ServiceSettings

    data = json.loads(spec["settings"])
    settings = ServiceSettings(**data)
    service = Service(settings)
    try:
        began = time.perf_counter()
        while service.loop.step():
            pass
        if service.state.error is not None or not service.loop.indexing:
            raise SystemExit(f"the indexer did not run: {service.state.error}")
        while service.documents.step():
            pass
        service.loop.step()
        seconds = time.perf_counter() - began
        with service.index._backend.reading() as db:  # noqa: SLF001 - a count no public method gives
            members = int(db.execute("SELECT COUNT(*) FROM batch_members").fetchone()[0])
        if members != spec["expected"]:
            raise SystemExit(f"the index holds {members:,} batch members, expected {spec['expected']:,}")
        rss = rss_hwm()
        # what Index.add_statement would write for each artifact's manifest, had its Statement been posted
        began = time.perf_counter()
        for start in range(spec["files_from"], spec["files_to"], BATCH):
            rows = [(file_digest(i).hex(), "0x" + subject(i).hex(), file_path(i))
                    for i in range(start, min(start + BATCH, spec["files_to"]))]
            with service.index._transaction() as db:  # noqa: SLF001 - the files rows of made-up manifests
                db.executemany("INSERT INTO files (sha256, subject, path) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                               rows)
        files_seconds = time.perf_counter() - began
    finally:
        service.close()
    print(json.dumps({"seconds": seconds, "rss": rss, "members": members, "files_seconds": files_seconds}))


# ---------------------------------------------------------------- look-ups


def paths(world: World, total: int, sample: int = SAMPLE) -> dict[str, list[str]]:
    """The look-up paths of each target, over ``sample`` artifacts spread over ``total``."""
    chosen = spread(sample, total)
    subjects = ["0x" + subject(i).hex() for i in chosen]
    return {
        "artifact": [f"/v1/artifacts/{s}" for s in subjects],
        "history": [f"/v1/history/{s}" for s in subjects],
        "verify": [f"/v1/verify/{s}" for s in subjects],
        "file": [f"/v1/files/{file_digest(i).hex()}" for i in chosen],
    }


def drive(base: str, paths_: list[str], duration: float, workdir: Path) -> dict[str, Any]:
    """``bench/api_bench.py``'s load driver (32 keep-alive connections, own process); the paths go in a file
    (20,000 of them are more than one command-line argument may hold)."""
    spec = workdir / "drive.json"
    spec.write_text(json.dumps({"base": base, "paths": paths_, "duration": duration}))
    out = subprocess.run([sys.executable, __file__, "--_drive", str(spec)], capture_output=True, text=True,
                         check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def drive_main(spec_file: str) -> None:
    from api_bench import _drive_main

    _drive_main(json.loads(Path(spec_file).read_text()))


def lookups(large: World, small: World, backend: str, pg: Postgres | None, args: argparse.Namespace,
            workdir: Path) -> dict[str, dict[str, Any]]:
    """Each target against a service on ``large``'s index and one on ``small``'s, alternating; medians."""
    from api_bench import start_uvicorn, stop

    from api.settings import ENV_VAR

    large_paths, small_paths = paths(large, large.state["registered"]), paths(small, small.state["registered"])
    # the N-record service asked about 300 artifacts only, as the 300-record one is: the index's size alone
    hot_paths = paths(large, large.state["registered"], SMALL)
    series = (("small", small, small_paths), ("large", large, large_paths), ("large-hot", large, hot_paths))
    servers = []
    try:
        bases = {}
        for world in (small, large):
            port = free_port()
            settings = world.settings(world.index_target(backend, pg))
            servers.append(start_uvicorn("api.app:app_from_env", port, {ENV_VAR: settings.to_json()}))
            bases[world.name] = f"http://127.0.0.1:{port}"
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for target in TARGETS:  # warm-up: each target once on each
            for name, world, found in series:
                warm = drive(bases[world.name], found[target], args.warmup, workdir)
                if warm["non2xx"]:
                    raise SystemExit(f"{name} {target}: {warm['non2xx']} answers not 2xx in the warm-up")
        for _ in range(args.rounds):
            for target in TARGETS:
                for name, world, found in series:
                    runs.setdefault((name, target), []).append(
                        drive(bases[world.name], found[target], args.duration, workdir))
    finally:
        for server in servers:
            stop(server)
    result: dict[str, dict[str, Any]] = {}
    for (name, target), measured in runs.items():
        result[f"{name}/{target}"] = {
            "rps": statistics.median(r["rps"] for r in measured),
            "p50": statistics.median(r["p50"] for r in measured),
            "p99": statistics.median(r["p99"] for r in measured),
            "requests": sum(r["requests"] for r in measured),
            "non2xx": sum(r["non2xx"] for r in measured),
        }
    return result


# ---------------------------------------------------------------- the report


def slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line through ``(x, y)`` points: (slope, intercept); through the origin for one point."""
    if len(points) == 1:
        return points[0][1] / points[0][0], 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    return b, my - b * mx


def p99_trend(points: list[tuple[float, float]]) -> str:
    """The slope and extrapolation cells of a p99 series; a slope that is not positive is no growth, not a
    latency that falls to zero (a line through noisy, flat figures extrapolated far would go negative)."""
    b, a = slope(points)
    measured = ", ".join(f"{p:.2f}" for _, p in points)
    if b <= 0:
        return (f"{b * 1e6:+.2f} ms per 10^6 records (measured {measured} ms): no growth "
                f"| at most {max(p for _, p in points):.2f} ms (the largest measured)")
    return f"{b * 1e6:+.2f} ms per 10^6 records (measured {measured} ms) | {a + b * EXTRAPOLATE_TO:.2f} ms"


def report(large: World, args: argparse.Namespace, command: str, load: str) -> str:
    steps = sorted(large.state["steps"].items(), key=lambda kv: int(kv[0]))
    # every backend measured in the work directory, by this run or an earlier one
    backends = [b for b in BACKENDS if any(b in s["index"] for _, s in steps)]
    reg_rows, index_rows, look_rows = [], [], []
    for n, step in steps:
        n_ = int(n)
        reg = step["register"]
        reg_rows.append(
            f"| {n_:,} | {reg['count']:,} | {reg['seconds']:.0f} | {reg['seconds'] / reg['count'] * 1e5:.1f} "
            f"| {reg['gas']:,} | {reg['gas'] / max(reg['count'], 1):.2f} | {reg['bytes'] / max(reg['count'], 1):,.0f} |"
        )
        for backend in backends:
            ix = step["index"].get(backend)
            if ix is None:
                continue
            index_rows.append(
                f"| {n_:,} | {backend} | {ix['records']:,} | {ix['seconds']:.0f} "
                f"| {ix['seconds'] / ix['records'] * 1e5:.1f} | {ix['records'] / ix['seconds']:,.0f} "
                f"| {ix['rss'] / 2**20:,.0f} | {ix['disk'] / 2**20:,.0f} | {ix['disk'] / n_:,.0f} "
                f"| {ix['files_seconds']:.0f} |"
            )
            look = step["lookups"].get(backend, {})
            for target in TARGETS:
                at_n, at_small, hot = (look.get(f"{name}/{target}") for name in ("large", "small", "large-hot"))
                if at_n is None or at_small is None:
                    continue
                hot_cells = "| — | — | — | — " if hot is None else (
                    f"| {hot['p50']:.2f} | {hot['p99']:.2f} | {hot['rps']:,.0f} | {hot['p99'] / at_small['p99']:.2f}x ")
                look_rows.append(
                    f"| {n_:,} | {backend} | {target} | {at_small['p50']:.2f} | {at_small['p99']:.2f} "
                    f"| {at_small['rps']:,.0f} {hot_cells}| {at_n['p50']:.2f} | {at_n['p99']:.2f} | {at_n['rps']:,.0f} "
                    f"| {at_n['p99'] / at_small['p99']:.2f}x "
                    f"| {at_n['non2xx'] + at_small['non2xx'] + (hot['non2xx'] if hot else 0)} |"
                )
    lines = []
    if steps:
        reg_points = [(float(n), sum(b["seconds"] for b in large.state["batches"] if b["start"] < int(n)))
                      for n, _ in steps]
        b, a = slope(reg_points)
        lines.append(f"| registration, cumulative seconds | {b * 1e5:.1f} s per 10^5 records "
                     f"| {a + b * EXTRAPOLATE_TO:,.0f} s ({(a + b * EXTRAPOLATE_TO) / 3600:.1f} h) |")
        gas_per = sum(b["gas"] for b in large.state["batches"]) / max(large.state["registered"], 1)
        lines.append(f"| anchorBatch gas | {gas_per:.2f} gas per artifact (batches of {BATCH:,}) "
                     f"| {gas_per * EXTRAPOLATE_TO:,.0f} gas ({EXTRAPOLATE_TO // BATCH} transactions) |")
        for backend in backends:
            have = [(int(n), s["index"][backend]) for n, s in steps if backend in s["index"]]
            if not have:
                continue
            cumulative, points, disk = 0.0, [], []
            for n_, ix in have:
                cumulative += ix["seconds"]
                points.append((float(n_), cumulative))
                disk.append((float(n_), float(ix["disk"])))
            b, a = slope(points)
            lines.append(f"| {backend} indexing, cumulative seconds | {b * 1e5:.1f} s per 10^5 records "
                         f"| {a + b * EXTRAPOLATE_TO:,.0f} s ({(a + b * EXTRAPOLATE_TO) / 3600:.1f} h) |")
            b, a = slope(disk)
            lines.append(f"| {backend} disk | {b:,.0f} bytes per record (marginal) "
                         f"| {(a + b * EXTRAPOLATE_TO) / 2**30:,.1f} GiB |")
            rss = [(float(n_), float(ix["rss"])) for n_, ix in have]
            lines.append(f"| {backend} indexer peak RSS | {max(r for _, r in rss) / 2**20:,.0f} MiB at most: not "
                         f"a function of N (one batch document of {BATCH:,} members is held while read) | same |")
            for series, label in (("large-hot", "300 hot"), ("large", "20k spread")):
                for target in TARGETS:
                    p99 = [(float(n), s["lookups"][backend][f"{series}/{target}"]["p99"]) for n, s in steps
                           if f"{series}/{target}" in s.get("lookups", {}).get(backend, {})]
                    if not p99:
                        continue
                    if len(p99) == 1:
                        lines.append(f"| {backend} {target} p99 ({label}) | one step only: {p99[0][1]:.2f} ms at "
                                     f"{int(p99[0][0]):,} | (no slope) |")
                        continue
                    lines.append(f"| {backend} {target} p99 ({label}) | {p99_trend(p99)} |")
    machine_line = machine()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"""## Hub scale (issue 17, item 2: `bench/scale_bench.py`)

- Command: `{command}`
- Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
- Machine: {machine_line}, {mem:.0f} GiB RAM; load average {load} (other helpers' jobs share the two cores)
- Setup: one anvil (automine) started by the bench; artifacts registered with `Publisher.queue_subjects` +
  `Publisher.anchor` in batches of {BATCH:,} (one claims template, a fresh salted commitment and a real
  signature per record, the version 2 batch document), one transaction in flight at a time. Indexed by a child
  process running the service's own indexer loop and batch-document reader (`api.service.Service`: documents
  fetched over HTTP from a loopback server, `fetch_private`), one backend after the other: SQLite (the
  index's own settings: WAL) and PostgreSQL (the test helper's throw-away cluster of `tests/postgres.py`:
  unix socket, fsync, synchronous_commit and full_page_writes off). Each artifact's one `files` row written
  straight into the index afterwards (what posting its Statement would add; "files s"). Look-ups: a real
  `uvicorn api.app:app_from_env --factory --workers 2 --loop uvloop --http httptools` per index, driven by
  `bench/api_bench.py`'s Python driver (32 keep-alive connections, own process; no wrk here), {args.warmup:g} s
  warm-up, then {args.rounds} rounds of {args.duration:g} s per target alternating between the 300-record
  service and the N-record one (same run, same backend); medians. The 300-record service's answers are
  remembered after their first request (the service keeps 4,096 per worker until the index changes), as a small
  registry's would be; at N, {SAMPLE:,} artifacts spread over N are more than it keeps, so those are computed.

Registration (the chain grows step by step: each row adds N minus the previous N):

| N | added | seconds | s per 10^5 | anchorBatch gas | gas/artifact | batch document bytes/member |
|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(reg_rows)}

Indexing (what the step added, into an index already holding the previous steps):

| N | backend | added | seconds | s per 10^5 | records/s | indexer peak RSS MiB | disk MiB | bytes/record | files s |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(index_rows)}

Look-ups at 32 clients (ms). "300": the 300-record service, over its 300 artifacts; "N, 300 hot": the N-record
service over 300 artifacts spread over N (the same access pattern: the index's size alone); "N, 20k spread": over
{SAMPLE:,} artifacts spread over N (answers computed, not remembered). Each alternating with the others, same run:

| N | backend | target | 300 p50 | 300 p99 | 300 req/s | N, 300 hot p50 | p99 | req/s | p99 vs 300 \
| N, 20k spread p50 | p99 | req/s | p99 vs 300 | non-2xx |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(look_rows)}

Linear extrapolation to {EXTRAPOLATE_TO:,} from the measured steps (least squares over the steps' cumulative
figures; one step: through the origin):

| quantity | measured slope | at {EXTRAPOLATE_TO:,} |
|---|---|---:|
{chr(10).join(lines)}
"""


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="100000,300000,1000000", help="N of each step, comma-separated")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--workdir", help="where everything is kept (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep --workdir afterwards (to resume a later step)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of load per measured run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load per target and service first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-lookups", action="store_true", help="register and index only")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--_index", help=argparse.SUPPRESS)
    parser.add_argument("--_drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._index:
        index_main(json.loads(args._index))
        return
    if args._drive:
        drive_main(args._drive)
        return

    steps = sorted({int(s.replace("_", "")) for s in args.steps.split(",")})
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="scale-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)  # the PostgreSQL user reaches its cluster inside
    docs = workdir / "docs"
    docs.mkdir(exist_ok=True)
    ports = workdir / "ports.json"
    doc_port = json.loads(ports.read_text())["docs"] if ports.exists() else free_port()
    ports.write_text(json.dumps({"docs": doc_port}))  # the batches' uris name it: kept between runs
    began = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(doc_port), "--bind", "127.0.0.1",
                               "--directory", str(docs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pg = Postgres(workdir / "pg") if "postgresql" in backends else None
    worlds: list[World] = []
    try:
        if pg is not None:
            pg.start()
        small_dir = workdir / "small"
        shutil.rmtree(small_dir, ignore_errors=True)  # rebuilt each run: seconds
        if pg is not None:
            pg.drop("scale_small")
        small_dir.mkdir()
        small = World(small_dir, "small", docs, doc_port, persistent=False)
        worlds.append(small)
        large = World(workdir, "large", docs, doc_port, persistent=True)
        worlds.append(large)
        small.register_up_to(SMALL)
        for backend in backends:
            small.index_up_to(backend, pg)
        for n in steps:
            key = str(n)
            step = large.state["steps"].setdefault(key, {"index": {}, "lookups": {}})
            if "register" not in step:
                if large.state["registered"] > n:
                    raise SystemExit(f"the work directory already holds {large.state['registered']:,} artifacts, "
                                     f"more than step {n:,}")
                before = len(large.state["batches"])
                print(f"step {n:,}: registering {n - large.state['registered']:,}", flush=True)
                large.register_up_to(n)
                added = large.state["batches"][before:]
                step["register"] = {"count": sum(b["count"] for b in added),
                                    "seconds": sum(b["seconds"] for b in added),
                                    "gas": sum(b["gas"] for b in added), "bytes": sum(b["bytes"] for b in added)}
                large.save()
            for backend in backends:
                if backend not in step["index"]:
                    result = large.index_up_to(backend, pg)
                    if result is not None:
                        step["index"][backend] = result
                        large.save()
                if not args.no_lookups and "large-hot/artifact" not in step["lookups"].get(backend, {}):
                    print(f"step {n:,}: look-ups on {backend}", flush=True)
                    step["lookups"][backend] = lookups(large, small, backend, pg, args, workdir)
                    large.save()
                    for name, r in step["lookups"][backend].items():
                        print(f"  {name:18s} {r['rps']:8,.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
                              f"  non-2xx {r['non2xx']}", flush=True)
        elapsed = time.perf_counter() - began
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        command = "python bench/scale_bench.py"
        if args.steps != parser.get_default("steps"):
            command += f" --steps {args.steps}"
        if args.backend != "sqlite":
            command += f" --backend {args.backend}"
        text = report(large, args, command, load)
        text += f"\nThis run took {elapsed / 60:.1f} minutes (steps finished by earlier runs of the work directory " \
                "are not counted).\n"
        print(text)
        if not args.no_record:
            record("scale", text)
            print(f"recorded in {RESULTS.relative_to(REPO)}")
    finally:
        for world in worlds:
            world.close()
        if pg is not None:
            pg.stop()
        server.terminate()
        server.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

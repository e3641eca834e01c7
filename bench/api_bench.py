"""Benchmark: every GET route of the verifier service against a bare FastAPI app, both under uvicorn.

Starts its own anvil on a free port, deploys the registry and registers
``--records`` records (default 300: direct registrations from 8 funded
accounts, each model derived from a dataset, some endorsed; each record's
subject is the Merkle root of a small manifest whose Statement the index keeps,
so that file digests and Statements are known), syncs a fresh index (a SQLite
file, or ``--index postgresql://...``: the database is emptied of the index's
tables first) so the service starts caught up, then runs, one after the other
on 127.0.0.1:

* the service: ``uvicorn api.app:app_from_env --factory --workers 2 --loop uvloop --http httptools``;
* a bare FastAPI app (``bare_app`` below: one route returning a small JSON) under the same uvicorn options;

and drives each with 32 concurrent connections: ``wrk`` from a subprocess when
it is installed, else the asyncio driver of this file (raw keep-alive
HTTP/1.1) in a separate process. After a warm-up (``--warmup`` seconds, and on until every URL
was asked ``WARM_PASSES`` times over), ``--rounds`` rounds: in
each, every target runs ``--duration`` seconds right after a run of the bare
app, and its ratio is taken against that run (the machine is shared; its load
drifts). Medians over the rounds are reported. Look-ups rotate over every
registered subject, record, file digest and publisher. Targets: every GET route
(``--only NAME,...`` picks some).

Two modes, side by side in one run (``--mode both``, the default): *warm*,
the service as deployed, where after the warm-up every URL is one whose answer
is remembered (:class:`api.answers.Shortcut`), the figure of a hot URL; and
*cold* (``--cold`` alone), a second service with ``remember_answers=False``,
where every request queries the index and builds its answer through FastAPI,
the figure of a URL not asked before (a Hub-scale service sees many).

With ``--block-time SECONDS`` anvil mines a block every so many seconds from
before the warm-up to the end, so the chain moves as a public network's does
(Sepolia 12 s, Base Sepolia 2 s): the service's indexer follows it, and a
remembered verdict lasts until the next block (it counts the record's
confirmations against the head; the previous one is answered while the next
is computed). Without it the head stays where registration left it. anvil's
``finalized`` block trails its head by 64 blocks, so it moves with every
block, which no public network's does; ``--fixed-finalized``
keeps it at genesis for the whole run, as a proof-of-stake network's stays
between two epochs (32 blocks) and a rollup's between two finalizations of its
base layer, so that what the service carries over while it stays (the
registry's storage read at that block) shows. Without it, the service
carries those reads over from one finalized block to the next where the
registry's storage root is the same (one ``eth_getProof``): not while the
finalized block passes the registration's blocks (the first 64 after it),
unless ``--quiet-registry`` mines them before the runs.

Prints req/s, p50 and p99 per target and the ratio to bare, and writes them to
``bench/RESULTS.md`` between ``<!-- api:start -->`` and ``<!-- api:end -->``
(``api-postgresql`` for PostgreSQL; ``-blocks`` added to either with ``--block-time``).

Usage::

    python bench/api_bench.py                  # 300 records, SQLite, 5 rounds of 5 s runs, record
    python bench/api_bench.py --index postgresql://user@/db?host=/tmp/pg --rounds 3 --duration 3
    python bench/api_bench.py --duration 2 --rounds 2 --no-record
    python bench/api_bench.py --cold --only artifacts,verify --no-record
    python bench/api_bench.py --mode warm --block-time 2 --duration 3 --rounds 2
    python bench/api_bench.py --mode warm --block-time 2 --fixed-finalized --only "verify (subject)"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _common, when imported rather than run
from _common import RESULTS, free_port, machine, record  # noqa: E402

REPO = HERE.parent
CONNECTIONS = 32
#: Warm-up: every URL asked this many times over (requests go to the 32 connections in turn, and the
#: connections to the two workers as the kernel hands them out), within WARM_MAX seconds.
WARM_PASSES = 30
WARM_MAX = 60.0
TARGET_RATIO, TARGET_P99_MS = 0.7, 20.0
BARE = "bare FastAPI"
MODES = {"warm": "Warm (answers remembered)", "cold": "Cold (nothing remembered)"}

sys.path.insert(0, str(REPO))


def bare_app():
    """The baseline: FastAPI with one route returning a small JSON document (uvicorn factory)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict:
        return {"status": "ok", "subject": "0x" + "ab" * 32, "records": 1}

    return app


# ---------------------------------------------------------------- chain and index


def populate(ledger, records: int) -> tuple[dict[str, list[str]], list]:
    """Register ``records`` records; what the targets rotate over, and each record's Statement.

    Each subject is the root of a two-file manifest (a file of its own, and ``config.json`` that every
    artifact shares); the Statements are kept in the index by :func:`keep_statements` once it is synced.
    """
    import hashlib

    from eth_account import Account

    from provenance.manifest import Manifest, ManifestEntry
    from provenance.record import Kind, Record
    from provenance.signing import sign_record
    from provenance.statement import Statement

    accounts = []
    for _ in range(8):
        account = Account.create()
        ledger.rpc("anvil_setBalance", [account.address, hex(10**21)])
        accounts.append(account)
    subjects: list[bytes] = []
    found: dict[str, list[str]] = {"subjects": [], "records": [], "files": [], "publishers": []}
    statements = []
    for i in range(records):
        account = accounts[i % len(accounts)]
        weights = f"weights of artifact {i}".encode()
        manifest = Manifest.from_entries([
            ManifestEntry("config.json", 2, hashlib.sha256(b"{}").digest()),
            ManifestEntry("weights.bin", len(weights), hashlib.sha256(weights).digest()),
        ])
        subject = manifest.subject
        if i % 3 == 0 or not subjects:
            record = Record.create(subject, Kind.DATASET, os.urandom(32), [], f"ipfs://dataset-{i}")
        else:
            parents = [subjects[(i * 7) % len(subjects)]]
            record = Record.create(subject, Kind.MODEL, os.urandom(32), parents, f"ipfs://model-{i}")
        ledger.register(account, record)
        record_id = record.record_id(account.address)
        if i % 5 == 0:
            auditor = accounts[(i + 1) % len(accounts)]
            ledger.endorse(auditor, record_id, os.urandom(32), "https://audit.example")
        statements.append(Statement.create(
            name=f"artifact-{i}", record=record, publisher=account.address,
            signature=sign_record(account, record, ledger.domain), chain_id=ledger.chain_id,
            registry=ledger.registry, manifest=manifest.to_dict(),
        ))
        subjects.append(subject)
        found["subjects"].append("0x" + subject.hex())
        found["records"].append("0x" + record_id.hex())
        found["files"].append(hashlib.sha256(weights).hexdigest())
    found["publishers"] = [a.address for a in accounts]
    return found, statements


def targets_of(found: dict[str, list[str]], routes: set[str]) -> dict[str, list[str]]:
    """Every GET route of the service (``routes``: its OpenAPI paths) with the URLs it rotates over."""
    subjects, records, files, publishers = found["subjects"], found["records"], found["files"], found["publishers"]
    targets = {
        "artifacts": ("/v1/artifacts/{subject}", [f"/v1/artifacts/{s}" for s in subjects]),
        "records": ("/v1/records/{recordId}", [f"/v1/records/{r}" for r in records]),
        "history (subject)": ("/v1/history/{target}", [f"/v1/history/{s}" for s in subjects]),
        "history (publisher)": ("/v1/history/{target}", [f"/v1/history/{p}?limit=20" for p in publishers]),
        "verify (subject)": ("/v1/verify/{subject}", [f"/v1/verify/{s}" for s in subjects]),
        "files (digest)": ("/v1/files/{sha256}", [f"/v1/files/{f}" for f in files]),
        "statements (record)": ("/v1/statements/{recordId}", [f"/v1/statements/{r}" for r in records]),
        "statements (subject)": ("/v1/statements/by-subject/{subject}",
                                 [f"/v1/statements/by-subject/{s}" for s in subjects]),
        "lineage": ("/v1/lineage/{subject}", [f"/v1/lineage/{s}" for s in subjects]),
        "proofs": ("/v1/proofs/{recordId}", [f"/v1/proofs/{r}" for r in records]),
        "events": ("/v1/events", ["/v1/events?limit=20"] + [f"/v1/events?publisher={p}&limit=20" for p in publishers]),
        "publishers": ("/v1/publishers", ["/v1/publishers"]),
        "evaluations": ("/v1/evaluations", ["/v1/evaluations?limit=20"]),
        "healthz": ("/healthz", ["/healthz"]),
        "readyz": ("/readyz", ["/readyz"]),
    }
    return {name: urls for name, (route, urls) in targets.items() if route in routes}


def backend_of(location: str) -> str:
    return "PostgreSQL" if location.startswith(("postgresql://", "postgres://")) else "SQLite"


def keep_statements(index, statements: list) -> None:
    for statement in statements:
        index.add_statement(statement, posted_by="bench")


def fresh_index(location: str, workdir: Path):
    """The index to fill: a new SQLite file (``location`` or one in ``workdir``), or the PostgreSQL database
    at ``location``, which must hold no index yet (nothing is deleted from it)."""
    from provenance.index import Index

    if backend_of(location) == "SQLite":
        path = Path(location) if location else workdir / "index.sqlite"
        if path.exists():
            raise SystemExit(f"{path} exists: give a new file")
        return Index.open(path)
    index = Index.open(location)
    if index.count() or index.cursors():
        index.close()
        raise SystemExit("the database already holds an index: give an empty database")
    return index


# ---------------------------------------------------------------- servers


def start_uvicorn(target: str, port: int, env: dict[str, str], app_dir: Path | None = None) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "2", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                time.sleep(1.0)  # let the second worker come up too
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"uvicorn {target} exited with {process.returncode}")
        time.sleep(0.1)
    stop(process)
    raise SystemExit(f"uvicorn {target} did not start")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# ---------------------------------------------------------------- load drivers

_LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def _duration_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def drive_wrk(base: str, paths: list[str], duration: float, workdir: Path) -> dict:
    script = workdir / "paths.lua"
    script.write_text(_LUA % ", ".join(json.dumps(p) for p in paths))
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s", "--latency", "-s", str(script), base]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _duration_ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _duration_ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "rps": rate, "p50": p50, "p99": p99, "requests": total,
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def warm_up(drive: Callable[..., dict], base: str, urls: list[str], seconds: float, workdir: Path) -> None:
    """Load ``urls`` for ``seconds``, and on until they were asked WARM_PASSES times over (at most WARM_MAX
    seconds): each worker process must have answered every URL once for the warm figures to be of answers
    remembered. A route whose first answers are slow to build (a verdict on PostgreSQL: the 2 s warm-up
    answered about a third of the 300) was otherwise measured while its workers still built them."""
    asked, began = 0, time.monotonic()
    while asked < WARM_PASSES * len(urls) and (asked == 0 or time.monotonic() - began < WARM_MAX):
        asked += drive(base, urls, seconds, workdir)["requests"]


def drive_python(base: str, paths: list[str], duration: float, workdir: Path) -> dict:
    """The fallback driver, in its own process so that it does not share a GIL with anything."""
    args = json.dumps({"base": base, "paths": paths, "duration": duration})
    out = subprocess.run([sys.executable, __file__, "--_drive", args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _drive_main(spec: dict) -> None:
    """32 keep-alive HTTP/1.1 connections over raw asyncio streams (uvloop when installed).

    Not httpx: its async connection pool spends milliseconds of CPU per request
    at 32 connections (measured: ~100 req/s where wrk makes 5,000), so it would
    measure itself. Responses are read by Content-Length, as uvicorn sends them.
    """
    import asyncio
    from urllib.parse import urlsplit

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    url = urlsplit(spec["base"])
    paths = spec["paths"]
    requests = [f"GET {p} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode() for p in paths]

    async def run() -> dict:
        latencies: list[float] = []
        non2xx = 0
        counter = 0
        deadline = time.perf_counter() + spec["duration"]

        async def worker() -> None:
            nonlocal non2xx, counter
            reader, writer = await asyncio.open_connection(url.hostname, url.port)
            try:
                while time.perf_counter() < deadline:
                    counter += 1
                    began = time.perf_counter()
                    writer.write(requests[counter % len(requests)])
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head[9:12])
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line[:15].lower() == b"content-length:":
                            length = int(line[15:])
                    await reader.readexactly(length)
                    latencies.append((time.perf_counter() - began) * 1000)
                    non2xx += not 200 <= status < 300
            finally:
                writer.close()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - began
        latencies.sort()
        return {
            "rps": len(latencies) / elapsed,
            "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)],
            "requests": len(latencies),
            "non2xx": non2xx,
            "socket_errors": "",
        }

    print(json.dumps(asyncio.run(run())))


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load per target before measuring")
    parser.add_argument(
        "--rounds", type=int, default=5, help="measured runs per target, each after a bare run (median)"
    )
    parser.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)  # verify is always measured now
    parser.add_argument("--index", default="", metavar="LOCATION",
                        help="the index: a SQLite file path (default: a new file in a temporary folder) or a "
                             "postgresql:// URL of an empty database")
    parser.add_argument("--only", default="", help="comma-separated target names (default: every route)")
    parser.add_argument("--mode", choices=["warm", "cold", "both"], default="both",
                        help="warm: the service as deployed (repeated URLs answered from memory); cold: with "
                             "remember_answers=False (every answer built anew); both (default): side by side")
    parser.add_argument("--cold", action="store_const", const="cold", dest="mode", help="--mode cold")
    parser.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--block-time", type=int, default=0, metavar="SECONDS",
                        help="anvil mines a block every SECONDS during the warm-up and the runs (default: none)")
    parser.add_argument("--fixed-finalized", action="store_true",
                        help="anvil's finalized block stays at genesis (its default trails the head by 64 blocks)")
    parser.add_argument("--quiet-registry", action="store_true",
                        help="mine 65 empty blocks after registration: anvil's finalized block is past the "
                             "registry's last write when the runs start (with --block-time)")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--_drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._drive:
        _drive_main(json.loads(args._drive))
        return

    from api.settings import ENV_VAR, ServiceSettings
    from provenance.indexer import Indexer
    from provenance.ledger import Ledger
    from provenance.localchain import spawn_anvil
    from provenance.record import parse_address

    use_wrk = args.driver == "wrk" or (args.driver == "auto" and shutil.which("wrk"))
    drive = drive_wrk if use_wrk else drive_python
    driver_name = "wrk 2 threads" if use_wrk else "python asyncio streams, keep-alive (own process)"

    modes = ["warm", "cold"] if args.mode == "both" else [args.mode]
    results: dict[str, list[dict]] = {}  # BARE, or "mode:target": its runs
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        anvil_port = free_port()
        # 2 x slots per epoch is how far anvil's finalized block trails its head: beyond any run, it stays at 0
        epoch = ["--slots-in-an-epoch", str(10**9)] if args.fixed_finalized else []
        anvil = spawn_anvil(anvil_port, "--silent", *epoch)
        servers: list[subprocess.Popen] = []
        try:
            ledger = Ledger.connect(f"http://127.0.0.1:{anvil_port}", timeout=60)
            ledger.deploy(parse_address(ledger.rpc("eth_accounts")[0]))
            began = time.perf_counter()
            found, statements = populate(ledger, args.records)
            print(f"registered {args.records} records in {time.perf_counter() - began:.1f} s")
            if args.quiet_registry:  # anvil's finalized block trails its head by 64: past the last write
                ledger.rpc("anvil_mine", [hex(65)])
            index = fresh_index(args.index, workdir)
            index_location = index.path if index.path is not None else args.index
            try:
                sync = Indexer(index, ledger).sync()
                keep_statements(index, statements)
            finally:
                index.close()
            print(f"indexed {sync.events} events up to block {sync.to_block} ({backend_of(args.index)})")

            settings = ServiceSettings(rpc_url=ledger.rpc_url, registry=ledger.registry, index_path=index_location)
            bare_port = free_port()
            servers.append(start_uvicorn("api_bench:bare_app", bare_port, {}, app_dir=HERE))
            services: dict[str, str] = {}  # mode: base URL
            for mode in modes:
                port = free_port()
                mode_settings = dataclasses.replace(settings, remember_answers=mode == "warm")
                servers.append(start_uvicorn("api.app:app_from_env", port, {ENV_VAR: mode_settings.to_json()}))
                services[mode] = f"http://127.0.0.1:{port}"
            import httpx

            first = services[modes[0]]
            paths = set(httpx.get(f"{first}/openapi.json").json()["paths"])
            targets = targets_of(found, paths)
            if args.only:
                targets = {name: urls for name, urls in targets.items() if name in args.only.split(",")}
            for base in services.values():  # every URL answers 200 before anything is timed
                for name, urls in targets.items():
                    for url in urls[:3]:
                        status = httpx.get(f"{base}{url}", timeout=30).status_code
                        if status != 200:
                            raise SystemExit(f"{name}: GET {url} answered {status}")
            if args.block_time > 0:  # the head moves from here on, as on a public network
                ledger.rpc("evm_setIntervalMining", [args.block_time])
            bare_base, bare_paths = f"http://127.0.0.1:{bare_port}", ["/bare"]
            drive(bare_base, bare_paths, args.warmup, workdir)
            for base in services.values():
                for urls in targets.values():
                    warm_up(drive, base, urls, args.warmup, workdir)
            # Every measured run of the service follows a run of the bare app, and its ratio is taken
            # against that run: the machine is shared, and its load drifts within seconds.
            for round_ in range(args.rounds):
                for name, urls in targets.items():
                    for mode, base in services.items():
                        bare_run = drive(bare_base, bare_paths, args.duration, workdir)
                        results.setdefault(BARE, []).append(bare_run)
                        run = drive(base, urls, args.duration, workdir)
                        run["ratio"] = run["rps"] / bare_run["rps"]
                        results.setdefault(f"{mode}:{name}", []).append(run)
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(
                    f"{name} {rs[-1]['rps']:,.0f}/s" for name, rs in results.items()))
        finally:
            for server in servers:
                stop(server)
            anvil.terminate()
            anvil.wait(timeout=10)

    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    def summarize(runs_: list[dict]) -> dict:
        return {
            "rps": statistics.median(r["rps"] for r in runs_),
            "p50": statistics.median(r["p50"] for r in runs_),
            "p99": statistics.median(r["p99"] for r in runs_),
            "ratio": statistics.median(r.get("ratio", 1.0) for r in runs_),
            "requests": sum(r["requests"] for r in runs_),
            "non2xx": sum(r["non2xx"] for r in runs_),
        }

    bare = summarize(results[BARE])
    print(f"{BARE:22s} {bare['rps']:9,.0f} req/s  p50 {bare['p50']:6.2f} ms  p99 {bare['p99']:6.2f} ms")
    names = list(dict.fromkeys(key.split(":", 1)[1] for key in results if key != BARE))
    header = "| target |" + "".join(f" {m} req/s | {m} p50 ms | {m} p99 ms | {m} vs bare | {m} |" for m in modes)
    align = "|---|" + "---:|---:|---:|---:|:---:|" * len(modes)
    rows = ["| bare FastAPI |" + f" {bare['rps']:,.0f} | {bare['p50']:.2f} | {bare['p99']:.2f} | 1.000x | |"
            + " | | | | |" * (len(modes) - 1)]
    failed: dict[str, list[str]] = {mode: [] for mode in modes}
    for name in names:
        cells = []
        for mode in modes:
            s = summarize(results[f"{mode}:{name}"])
            ok = s["ratio"] >= TARGET_RATIO and s["p99"] <= TARGET_P99_MS and s["non2xx"] == 0
            if not ok:
                failed[mode].append(name)
            status = "PASS" if ok else "FAIL"
            cells.append(f" {s['rps']:,.0f} | {s['p50']:.2f} | {s['p99']:.2f} | {s['ratio']:.3f}x | {status} |")
            print(f"{mode:4s} {name:22s} {s['rps']:9,.0f} req/s  p50 {s['p50']:6.2f} ms  p99 {s['p99']:6.2f} ms  "
                  f"{s['ratio']:.3f}x bare  non-2xx {s['non2xx']} {status}")
        rows.append(f"| {name} |" + "".join(cells))

    summary = " ".join(
        f"{MODES[mode]}: " + (f"targets not met by {', '.join(failed[mode])}." if failed[mode] else "all targets met.")
        for mode in modes
    )
    summary += (
        " Warm: a repeated GET of an index-backed URL (and of a verdict at the same chain head) is answered by"
        " `api.answers.Shortcut` from the bytes the route remembered, without FastAPI's routing and parameter"
        " validation. Cold: the service runs with `remember_answers=False` (no Shortcut, no remembered answer or"
        " verdict; each request queries the index and builds its answer), what a URL not yet asked costs."
        " `readyz` asks the node (`eth_blockNumber`) unless a head was read less than `api.service.HEAD_FRESH`"
        " (0.25 s) ago, and compares it with the index's cursor; `healthz` goes through FastAPI every time."
    )

    command = "python bench/api_bench.py"
    extra = []
    if args.records != 300:
        extra.append(f"--records {args.records}")
    if args.duration != 5.0:
        extra.append(f"--duration {args.duration:g}")
    if args.rounds != 5:
        extra.append(f"--rounds {args.rounds}")
    if args.index.startswith(("postgresql://", "postgres://")):
        extra.append("--index postgresql://...")
    if args.only:
        extra.append(f"--only {args.only}")
    if args.mode != "both":
        extra.append(f"--mode {args.mode}")
    if args.block_time > 0:
        extra.append(f"--block-time {args.block_time}")
    if args.fixed_finalized:
        extra.append("--fixed-finalized")
    if args.quiet_registry:
        extra.append("--quiet-registry")
    if extra:
        command += " " + " ".join(extra)
    backend = backend_of(args.index)
    mode_text = " and ".join({
        "warm": "warm: as deployed, a repeated URL answered from memory",
        "cold": "cold: `remember_answers=False`, every answer built anew; a server of its own",
    }[mode] for mode in modes)
    chain_text = (
        f"anvil mines a block every {args.block_time} s from before the warm-up to the end (interval mining): the"
        " head moves as on a public network, the service's indexer follows it, and a remembered verdict lasts"
        " until the next block (then it is answered while the next head's is computed in the background)."
        if args.block_time > 0 else
        "no block is mined after registration: the head stays fixed, so a remembered verdict lasts the whole run."
    ) + (
        " anvil's finalized block stays at genesis (`--slots-in-an-epoch` 10^9), as a proof-of-stake network's"
        " stays between two epochs." if args.fixed_finalized else
        " anvil's finalized block trails the head by 64 blocks (it moves with every block)."
    ) + (
        " 65 empty blocks were mined after registration: the finalized block is past the registry's last write,"
        " so the registry's storage is the same at every finalized block of the run." if args.quiet_registry else ""
    )
    title = f"Verifier service (`api`, uvicorn, {backend} index" + (
        f", a block every {args.block_time} s)" if args.block_time > 0 else ")")
    text = f"""## {title}

- Command: `{command}`
- Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
- Machine: {machine()} (server, load driver and anvil share them)
- Setup: anvil on 127.0.0.1 (started by the bench), {args.records} records registered directly (8 publishers,
  models derived from datasets, every fifth endorsed, each with a Statement of a two-file manifest kept in the
  index), index ({backend}) synced before the service starts. The bare app and the service ({mode_text})
  each under `uvicorn --workers 2 --loop uvloop --http httptools --no-access-log`, all running at once; the
  service's background indexer runs as in production. Load: {driver_name}, {CONNECTIONS} connections,
  a warm-up per target ({args.warmup:g} s, and on until its URLs were asked {WARM_PASSES} times over),
  then {args.rounds} rounds; in each, every target runs {args.duration:g} s in each mode right after a
  {args.duration:g} s run of the bare app, and its ratio is taken against that bare run (the machine is shared
  and its load drifts).
  Figures are medians over the rounds (bare: over all its runs). Look-ups rotate over every subject,
  record id, file digest (or publisher).
- Chain: {chain_text}
- Load average at the start: {load_before}; at the end: {load_after} (other jobs share the machine).
- Targets: ≥ {TARGET_RATIO}x the bare app's req/s and p99 ≤ {TARGET_P99_MS:g} ms at {CONNECTIONS} clients.

{header}
{align}
{chr(10).join(rows)}

{summary}
"""
    if not args.no_record:
        name = "api" if backend == "SQLite" else "api-postgresql"
        record(name + ("-blocks" if args.block_time > 0 else "") + ("-finalized" if args.fixed_finalized else "")
               + ("-quiet" if args.quiet_registry else ""), text)
        print(f"recorded in {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

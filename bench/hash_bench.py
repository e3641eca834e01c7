"""Benchmark: how fast ``provenance hash`` is against the machine's SHA-256.

Data sets:

* ``model/`` (kept under ``bench/.data/``): a synthetic model of about 2.2 GiB —
  two 1 GiB shards, one 200 MiB file and 50 small files in nested folders;
* ``tree/`` (kept under ``bench/.data/``): 100,000 small files (0–4 KiB) in 100 folders;
* ``tree 10^6``: 1,000,000 small files (0–4 KiB) in 1,000 folders, built in a
  temporary folder for the run (about 1,000,000 inodes and 4 GB of blocks) and
  deleted after it (``--no-million`` leaves it out).

Then measures, with a warm page cache, the whole-process wall time and peak RSS of:

* ``provenance hash`` (the command users run);
* ``model_signing sign key`` with an EC P-256 key (the OpenSSF Model Signing CLI;
  not on the 10^6 tree: it holds about 4 KiB a file, 386 MiB at 10^5, so about
  4 GiB and two minutes a run there);
* ``openssl dgst -sha256`` over the files in 2 parallel processes (the files
  split in two groups of equal bytes, largest first), the reference for "the
  speed of the machine's SHA-256";
* ``hashlib`` in 2 threads inside one Python process (timed in-process, no
  interpreter start-up), the CPU's limit as Python sees it (not on the 10^6 tree).

Peak RSS is given twice: GNU time's ``%M`` (the largest single process: that is
what ``wait4`` reports for a process tree), and the sum over the process and all
its children sampled every 5 ms from ``/proc`` (``provenance hash`` runs worker
processes on trees of many files; a sum counts the interpreter's shared pages
once per process, so it is an upper bound).

Each tool runs once to warm up, then ``--repeat`` rounds (default 3) run every
tool in turn, so that all see the same load from other jobs; the best time
counts, as is usual for throughput on a shared machine. Every ratio is between
figures of the same run. Results are printed and written to
``bench/RESULTS.md`` between the ``<!-- hash:start -->`` and ``<!-- hash:end -->``
markers (the rest of that file is left alone).

Usage::

    python bench/hash_bench.py            # build data if missing, run, record
    python bench/hash_bench.py --repeat 5 --no-record --no-million
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _common, when imported rather than run
from _common import RESULTS, machine, record  # noqa: E402 - after the sys.path entry for the repository

REPO = HERE.parent
DATA = HERE / ".data"

GiB = 1 << 30
MiB = 1 << 20
TREE_FILES = 100_000
TREE_DIRS = 100
MILLION_FILES = 1_000_000
MILLION_DIRS = 1_000

TARGETS = {
    "model_vs_openssl": 0.95,
    "model_vs_model_signing": 1.3,
    "tree_files_per_s": 100_000,
    "tree_vs_openssl": 0.6,
    "peak_rss_mib": 150,
    "help_s": 0.3,
}


# --------------------------------------------------------------------- data


def _write_random(path: Path, size: int, seed: int) -> None:
    """Pseudo-random content (not compressible, not sparse), written in 16 MiB blocks."""
    rng = random.Random(seed)
    block = rng.randbytes(16 * MiB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        written = 0
        counter = 0
        while written < size:
            n = min(len(block), size - written)
            # vary every block so that no two blocks are equal
            f.write(counter.to_bytes(8, "little") + block[8:n] if n >= 8 else block[:n])
            written += n
            counter += 1


def build_model(root: Path) -> None:
    marker = root / ".complete"
    if marker.exists():
        return
    print(f"building {root} (about 2.2 GiB) ...", file=sys.stderr)
    shutil.rmtree(root, ignore_errors=True)
    _write_random(root / "model-00001-of-00002.safetensors", GiB, 1)
    _write_random(root / "model-00002-of-00002.safetensors", GiB, 2)
    _write_random(root / "extra" / "embeddings.bin", 200 * MiB, 3)
    rng = random.Random(4)
    for i in range(50):
        sub = root / ("configs" if i < 20 else f"tokenizer/part{i % 3}")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"file{i:02d}.json").write_bytes(rng.randbytes(rng.randrange(100, 64 * 1024)))
    marker.write_text("ok\n")


def build_tree(root: Path, files: int = TREE_FILES, dirs: int = TREE_DIRS) -> None:
    """``files`` files of 0–4 KiB (slices of one random block) in ``dirs`` folders."""
    marker = root / ".complete"
    if marker.exists():
        return
    print(f"building {root} ({files} files) ...", file=sys.stderr)
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(5)
    blob = rng.randbytes(8192)
    per_dir = files // dirs
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for d in range(dirs):
        sub = root / f"d{d:03d}"
        sub.mkdir(parents=True)
        for i in range(per_dir):
            n = rng.randrange(0, 4096)
            start = rng.randrange(0, 4096)
            fd = os.open(sub / f"f{i:04d}.txt", flags, 0o644)
            try:
                os.write(fd, blob[start : start + n])
            finally:
                os.close(fd)
    marker.write_text("ok\n")


_LISTINGS: dict[Path, list[tuple[str, int]]] = {}


def listing(root: Path) -> list[tuple[str, int]]:
    """(path, size) of every file of a data set (its ``.complete`` marker left out), read once."""
    if root not in _LISTINGS:
        out = []
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                if name != ".complete":
                    path = os.path.join(dirpath, name)
                    out.append((path, os.lstat(path).st_size))
        _LISTINGS[root] = out
    return _LISTINGS[root]


def files_of(root: Path) -> list[Path]:
    return [Path(p) for p, _ in listing(root)]


def payload_bytes(root: Path) -> int:
    return sum(size for _, size in listing(root))


def warm(root: Path) -> None:
    """Read everything once so that every tool sees a warm page cache."""
    buf = bytearray(8 * MiB)
    for p, _ in listing(root):
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float  # the largest process (GNU time's %M)
    tree_rss_mib: float = float("nan")  # the process and its children, summed (sampled)


# Children run as installed tools normally do: with Python's bytecode cache. (This
# sandbox sets PYTHONDONTWRITEBYTECODE, which would make every run recompile the
# project's modules; site-packages have their .pyc from pip either way.)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


GNU_TIME = shutil.which("time") if os.path.exists("/usr/bin/time") else None
PAGE = os.sysconf("SC_PAGE_SIZE")


def _descendants(pid: int) -> list[int]:
    """``pid``'s children, theirs, and so on (``/proc/PID/task/TID/children``)."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0  # ended meanwhile


class TreeRss:
    """Samples the summed RSS of a process's descendants (and itself, unless it is the GNU time wrapper)."""

    def __init__(self, pid: int, *, include_root: bool) -> None:
        self.pid, self.include_root = pid, include_root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _descendants(self.pid) + ([self.pid] if self.include_root else [])
            self.peak = max(self.peak, sum(_rss(p) for p in pids))
            self._stop.wait(0.005)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / MiB


def run_process(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None) -> Run:
    """Wall time and peak RSS of one whole process tree (children included).

    Peak RSS comes from GNU time's ``%M`` when it is installed: the rusage of a
    child forked straight from this (large) Python process would count the
    parent's pages the child held between fork and exec.
    """
    env = CHILD_ENV if env is None else env
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd] if GNU_TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sampler = TreeRss(proc.pid, include_root=not GNU_TIME)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        tree = sampler.stop()
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"command failed ({code}): {' '.join(cmd)}\n{stderr}")
        # without GNU time: ru_maxrss is in KiB on Linux; for a shell pipeline it is the largest child
        kib = int(rss.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return Run(elapsed, kib / 1024, tree)


def best(runs: list[Run]) -> Run:
    """The fastest run, with the highest peak RSS seen over all runs."""
    return Run(
        min(r.seconds for r in runs),
        max((r.peak_rss_mib for r in runs), default=float("nan")),
        max((r.tree_rss_mib for r in runs), default=float("nan")),
    )


def repeat(n: int, fn) -> Run:
    fn()  # warm-up, not counted: page cache, bytecode cache
    return best([fn() for _ in range(n)])


def interleaved(n: int, tools: dict[str, Callable[[], Run]]) -> dict[str, Run]:
    """Each tool once to warm up, then ``n`` rounds of every tool in turn: the best run of each.

    Rounds rather than one tool's runs after another's, so that every tool sees
    the same load from other jobs on the machine and the ratios compare like with like.
    """
    for fn in tools.values():
        fn()  # warm-up, not counted: page cache, bytecode cache
    runs: dict[str, list[Run]] = {name: [] for name in tools}
    for _ in range(n):
        for name, fn in tools.items():
            runs[name].append(fn())
    return {name: best(done) for name, done in runs.items()}


def tool(name: str) -> str:
    venv_bin = Path(sys.executable).parent
    candidate = venv_bin / name
    return str(candidate) if candidate.exists() else name


def provenance_hash(root: Path) -> Run:
    return run_process([tool("provenance"), "hash", str(root)])


def model_signing_sign(root: Path, key: Path, sig: Path) -> Run:
    return run_process(
        [tool("model_signing"), "sign", "key", "--private_key", str(key), "--signature", str(sig), str(root)]
    )


def openssl_two_procs(root: Path, work: Path) -> Run:
    """Two ``openssl dgst -sha256`` processes at once, the files split evenly by bytes.

    Largest files first, each to the group with fewer bytes so far (the split a
    person would make by hand); ``xargs`` keeps each command line short.
    """
    files = sorted(listing(root), key=lambda f: f[1], reverse=True)
    groups: list[list[str]] = [[], []]
    loads = [0, 0]
    for p, size in files:
        g = 0 if loads[0] <= loads[1] else 1
        groups[g].append(p)
        loads[g] += size
    lists = []
    for g, group in enumerate(groups):
        names = work / f"openssl-{g}.lst"
        names.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in group))
        lists.append(names)
    script = " & ".join(f"xargs -0 openssl dgst -sha256 < '{lst}' > /dev/null" for lst in lists) + " & wait"
    return run_process(["sh", "-c", script])


def hashlib_two_threads(root: Path) -> Run:
    files = [Path(p) for p, _ in sorted(listing(root), key=lambda f: f[1], reverse=True)]
    local = threading.local()

    def one(p: Path) -> bytes:
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = bytearray(64 * 1024)
        view = memoryview(buf)
        h = hashlib.sha256()
        with open(p, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                h.update(view[:n])
        return h.digest()

    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, files))
    return Run(time.perf_counter() - start, float("nan"))  # in-process: no RSS of its own


def help_time() -> Run:
    return run_process([tool("provenance"), "--help"])


# ---------------------------------------------------------------- reporting


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _rss_text(run: Run) -> tuple[str, str]:
    if math.isnan(run.peak_rss_mib):
        return "in-process", "in-process"
    return f"{run.peak_rss_mib:.1f}", f"{run.tree_rss_mib:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the best counts (default 3)")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument("--data", type=Path, default=DATA, help="where the data sets live (default bench/.data)")
    parser.add_argument("--no-million", action="store_true", help="leave out the tree of 10^6 files")
    args = parser.parse_args(argv)

    model, tree = args.data / "model", args.data / "tree"
    build_model(model)
    build_tree(tree)

    work = Path(tempfile.mkdtemp(prefix="hash-bench-", dir=args.data))  # same disk as the data sets
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        key_path = work / "key.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        sig = work / "model.sig"
        sets = [("model", model), ("tree", tree)]
        if not args.no_million:
            million = work / "tree-1m"
            build_tree(million, MILLION_FILES, MILLION_DIRS)
            sets.append(("tree 10^6", million))

        results: dict[str, dict[str, Run]] = {}
        sizes = {}
        counts = {}
        for name, root in sets:
            sizes[name] = payload_bytes(root)
            counts[name] = len(listing(root))
            warm(root)
            print(f"[{name}] {counts[name]} files, {sizes[name] / 1e9:.3f} GB", file=sys.stderr)
            tools = {"provenance hash": lambda root=root: provenance_hash(root)}
            if name != "tree 10^6":
                tools["model_signing sign"] = lambda root=root: model_signing_sign(root, key_path, sig)
            tools["openssl x2 procs"] = lambda root=root: openssl_two_procs(root, work)
            if name != "tree 10^6":
                tools["hashlib x2 threads"] = lambda root=root: hashlib_two_threads(root)
            runs = interleaved(args.repeat, tools)
            for tool_name, run in runs.items():
                largest, summed = _rss_text(run)
                print(
                    f"[{name}] {tool_name:20s} {run.seconds:7.3f} s  "
                    f"{sizes[name] / run.seconds / 1e9:6.2f} GB/s  {counts[name] / run.seconds:9.0f} files/s  "
                    f"peak RSS {largest} MiB (tree {summed} MiB)",
                    file=sys.stderr,
                )
            results[name] = runs
        help_run = repeat(max(args.repeat, 5), help_time)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the 10^6 tree with it

    m, t = results["model"], results["tree"]
    gbps = lambda runs, k, name: sizes[name] / runs[k].seconds / 1e9  # noqa: E731 - a one-line helper local to this loop
    r_openssl = m["openssl x2 procs"].seconds / m["provenance hash"].seconds
    r_ms = m["model_signing sign"].seconds / m["provenance hash"].seconds
    tree_fps = counts["tree"] / t["provenance hash"].seconds
    tree_vs_openssl = t["openssl x2 procs"].seconds / t["provenance hash"].seconds
    tree_vs_ms = t["model_signing sign"].seconds / t["provenance hash"].seconds
    peak = max(m["provenance hash"].tree_rss_mib, t["provenance hash"].tree_rss_mib)

    lines = [
        "## `provenance hash` (issues 3 and 14)",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Machine: {machine()}",
        f"- Command: `python bench/hash_bench.py --repeat {args.repeat}"
        f"{' --no-million' if args.no_million else ''}` (best of {args.repeat} after a warm-up run, all in one run)",
        "",
        "| data set | tool | wall s | GB/s | files/s | peak RSS MiB (largest process) "
        "| peak RSS MiB (process tree, summed) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        for tool_name, run in runs.items():
            largest, summed = _rss_text(run)
            lines.append(
                f"| {name} ({counts[name]} files, {sizes[name] / 1e9:.2f} GB) | {tool_name} | {run.seconds:.3f} | "
                f"{gbps(runs, tool_name, name):.2f} | {counts[name] / run.seconds:,.0f} | {largest} | {summed} |"
            )
    lines += [
        "",
        "`openssl x2 procs` is two `xargs -0 openssl dgst -sha256` at once over two groups of files of equal bytes;",
        "`hashlib x2 threads` is timed inside one Python process (no start-up), the others whole-process.",
        "Each tool ran once to warm up (page cache, Python bytecode cache), then in rounds with the others;",
        "the best of its runs counts.",
        "Peak RSS: GNU time's `%M` (the largest single process), and the process with all its children summed,",
        "sampled every 5 ms (shared pages counted once per process: an upper bound). `provenance hash` runs",
        "worker processes: one per core on trees of 4,096 files or more, and one more than the cores for large",
        "files of 64 MiB or more in all (the model). Other jobs share this machine's two cores, so",
        "figures move by ±10% between runs; ratios are between figures of this same run.",
        "",
        "| target | measured | |",
        "|---|---:|---|",
        f"| model: provenance ≥ 0.95× openssl x2 | {r_openssl:.3f}× | "
        f"{verdict(r_openssl >= TARGETS['model_vs_openssl'])} |",
        f"| model: provenance ≥ 1.3× model_signing | {r_ms:.3f}× | "
        f"{verdict(r_ms >= TARGETS['model_vs_model_signing'])} |",
        f"| tree: ≥ 100,000 files/s | {tree_fps:,.0f} files/s | {verdict(tree_fps >= TARGETS['tree_files_per_s'])} |",
        f"| tree: ≥ 0.6× openssl x2 ({counts['tree'] / t['openssl x2 procs'].seconds:,.0f} files/s) | "
        f"{tree_vs_openssl:.3f}× | {verdict(tree_vs_openssl >= TARGETS['tree_vs_openssl'])} |",
        f"| tree: faster than model_signing | {tree_vs_ms:.2f}× | {verdict(tree_vs_ms > 1)} |",
        f"| peak RSS ≤ 150 MiB (model, tree; process tree summed) | {peak:.1f} MiB | "
        f"{verdict(peak <= TARGETS['peak_rss_mib'])} |",
    ]
    if "tree 10^6" in results:
        big = results["tree 10^6"]
        big_peak = big["provenance hash"].tree_rss_mib
        big_fps = counts["tree 10^6"] / big["provenance hash"].seconds
        big_vs = big["openssl x2 procs"].seconds / big["provenance hash"].seconds
        lines += [
            f"| tree 10^6: peak RSS ≤ 150 MiB (process tree summed) | {big_peak:.1f} MiB | "
            f"{verdict(big_peak <= TARGETS['peak_rss_mib'])} |",
            f"| tree 10^6: files/s (for the record), against openssl x2 | {big_fps:,.0f} files/s, {big_vs:.3f}× | |",
        ]
    else:
        lines.append("| tree 10^6: peak RSS ≤ 150 MiB | not run (`--no-million`) | |")
    lines.append(
        f"| `provenance --help` ≤ 0.3 s | {help_run.seconds:.3f} s | {verdict(help_run.seconds <= TARGETS['help_s'])} |"
    )
    section = "\n".join(lines)
    print(section)
    if not args.no_record:
        record("hash", section)
        print(f"recorded in {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

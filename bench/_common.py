"""What every benchmark shares: a free loopback port, the machine's description, its section of RESULTS.md.

Benchmarks are run as scripts (``python bench/NAME.py``), so this module is
imported as ``_common`` from their own folder.
"""

from __future__ import annotations

import os
import platform
import re
import socket
from pathlib import Path

__all__ = ["RESULTS", "free_port", "cpu_model", "machine", "record"]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """``x86_64, AMD EPYC, nproc 2``: the line each result names its machine with."""
    return f"{platform.machine()}, {cpu_model()}, nproc {os.cpu_count()}"


def record(name: str, text: str) -> None:
    """Write ``text`` between ``<!-- name:start -->`` and ``<!-- name:end -->`` in RESULTS.md (added at the
    end the first time); the rest of the file is left alone."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{text.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _m: block, current)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)

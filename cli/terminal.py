"""What the command line shows and asks on a terminal: the progress bar and the password prompt.

Shared by the commands (and by :mod:`cli.context`), so no command imports
another: a progress bar is drawn and a password asked only on a terminal,
never in a pipe.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["ProgressBar", "human_bytes", "password", "PASSWORD_ENV"]

#: The environment variable that holds a key's password (checked before asking on a terminal).
PASSWORD_ENV = "PROVENANCE_KEY_PASSWORD"


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def password(*, confirm: bool = False, prompt: str = "key password: ") -> str:
    """A key's password: $PROVENANCE_KEY_PASSWORD, else asked on the terminal (twice with ``confirm``)."""
    import getpass
    import os

    from provenance.errors import KeystoreError

    value = os.environ.get(PASSWORD_ENV)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise KeystoreError(f"no password: set {PASSWORD_ENV} or run on a terminal to be asked")
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass("repeat the password: ") != value:
        raise KeystoreError("the two passwords differ")
    return value


class ProgressBar:
    """A one-line progress bar on stderr, shown only on a terminal and after ``delay`` seconds.

    Implements :class:`provenance.manifest.Progress`; ``advance`` is called from
    hashing threads, drawing happens on a daemon thread every 0.1 s.
    """

    def __init__(
        self, label: str = "hashing", *, stream: TextIO | None = None, delay: float = 1.0, enabled: bool | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = enabled
        self.label = label
        self.delay = delay
        self.files = self.total_files = 0
        self.nbytes = self.total_bytes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        self._started = time.monotonic()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, files: int, total_bytes: int) -> None:
        self.total_files, self.total_bytes = files, total_bytes
        self._started = time.monotonic()
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="provenance-progress", daemon=True)
            self._thread.start()

    def advance(self, files: int, nbytes: int) -> None:
        with self._lock:
            self.files += files
            self.nbytes += nbytes

    def line(self, width: int = 30) -> str:
        total = self.total_bytes or 1
        fraction = min(1.0, self.nbytes / total)
        filled = int(fraction * width)
        elapsed = max(1e-9, time.monotonic() - self._started)
        rate = self.nbytes / elapsed / 1e9
        return (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% "
            f"{human_bytes(self.nbytes)}/{human_bytes(self.total_bytes)} "
            f"{self.files}/{self.total_files} files {rate:.2f} GB/s"
        )

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            self.stream.write("\r" + self.line() + "\033[K")
            self.stream.flush()
            self._drawn = True
            self._stop.wait(0.1)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

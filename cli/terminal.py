"""What the command line shows and asks on a terminal: the progress bar, the wait line and the password prompt.

Shared by the commands (and by :mod:`cli.context`), so no command imports
another: a progress bar is drawn and a password asked only on a terminal,
never in a pipe.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from provenance.ledger import Waiting

__all__ = ["ProgressBar", "WaitLine", "human_bytes", "password", "PASSWORD_ENV"]

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


def _clock(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``: time left as a person reads it."""
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """A one-line progress bar on stderr, shown only on a terminal and after ``delay`` seconds.

    Implements :class:`provenance.manifest.Progress`; ``advance`` is called from
    hashing threads, drawing happens on a daemon thread every 0.1 s. The line
    shows the share done (of the bytes, or of the files when their bytes are
    not known before they are read), the files and bytes, the rate and the
    time left. :meth:`for_command` is the one a command makes: none when
    stdout or stderr is not a terminal, or with ``--json``.
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

    @classmethod
    def for_command(cls, label: str = "hashing", *, json: bool = False) -> ProgressBar:
        """The bar a command shows: only when both stdout and stderr are terminals, and not with ``--json``.

        Output redirected to a file or a pipe is a script's: it gets no bar on
        stderr either (nor does a log that captures stderr).
        """
        on_terminal = _isatty(sys.stdout) and _isatty(sys.stderr)
        return cls(label, stream=sys.stderr, enabled=on_terminal and not json)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, files: int, total_bytes: int) -> None:
        """The totals; ``total_bytes`` is -1 when not known before the files are read."""
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
        with self._lock:
            files, nbytes = self.files, self.nbytes
        if self.total_bytes > 0:
            fraction = min(1.0, nbytes / self.total_bytes)
            amount = f"{human_bytes(nbytes)}/{human_bytes(self.total_bytes)}"
        else:  # many small files: their bytes are known once read
            fraction = min(1.0, files / self.total_files) if self.total_files else 0.0
            amount = human_bytes(nbytes)
        filled = int(fraction * width)
        elapsed = max(1e-9, time.monotonic() - self._started)
        rate = f"{human_bytes(int(nbytes / elapsed))}/s"
        if self.total_bytes <= 0 or self.total_files >= 1000:  # files/s where files are what takes the time
            rate += f" {files / elapsed:,.0f} files/s"
        left = _clock(elapsed * (1 - fraction) / fraction) + " left" if fraction > 0 else "--:-- left"
        return (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% "
            f"{files}/{self.total_files} files {amount} {rate} {left}"
        )

    def _columns(self) -> int:
        import os

        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 200  # 0: a terminal with no size set
        except (AttributeError, OSError, ValueError):  # not a real terminal (a test's stream)
            return 200

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        columns = self._columns()
        while not self._stop.is_set():
            if self.total_files and self.files >= self.total_files:  # hashed: what follows (a chain) is not
                self._clear()
                return
            self.stream.write("\r" + self.line()[: columns - 1] + "\033[K")
            self.stream.flush()
            self._drawn = True
            self._stop.wait(0.1)

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._clear()


class WaitLine:
    """One line on stderr while a transaction is waited for, rewritten in place and cleared when the wait ends::

        waiting for 0xabcd12… to be mined (8 s)
        0xabcd12… mined in block 1234, 1 of 3 confirmations (14 s)

    A :attr:`provenance.ledger.Ledger.watch`: called with a
    :class:`~provenance.ledger.Waiting` at each look at the node, None when the
    wait ends. Drawn only after ``delay`` seconds (a local node mines at once)
    and, made by :meth:`for_command`, only where :class:`ProgressBar` is: both
    stdout and stderr terminals, and not ``--json``.
    """

    def __init__(self, *, stream: TextIO | None = None, delay: float = 1.0, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self.delay = delay
        self._drawn = False

    @classmethod
    def for_command(cls, *, json: bool = False) -> WaitLine:
        return cls(stream=sys.stderr, enabled=_isatty(sys.stdout) and _isatty(sys.stderr) and not json)

    @staticmethod
    def line(waiting: Waiting) -> str:
        short = "0x" + waiting.tx_hash.hex()[:8] + "\u2026"
        seconds = f"({waiting.elapsed:.0f} s)"
        if waiting.block_number is None:
            return f"waiting for {short} to be mined {seconds}"
        return (f"{short} mined in block {waiting.block_number}, {waiting.confirmations} of {waiting.needed} "
                f"confirmations {seconds}")

    def __call__(self, waiting: Waiting | None) -> None:
        if not self.enabled:
            return
        if waiting is None:
            if self._drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._drawn = False
            return
        if waiting.elapsed < self.delay:
            return
        self.stream.write("\r" + self.line(waiting) + "\033[K")
        self.stream.flush()
        self._drawn = True


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False

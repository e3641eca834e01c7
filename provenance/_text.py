"""Untrusted text made harmless for a terminal: control and bidi characters shown as escapes.

A file name, a Statement field or a message built from them can carry an ANSI
escape sequence, a carriage return or a bidi override that makes a terminal
erase, redraw or reorder what it shows: a name like ``"a\\x1b[2K\\rPASS"``
hides the FAIL row it appears in. Every table and message line the CLI draws
from such data goes through :func:`printable`; JSON output is never escaped
(it is exact, and JSON escapes control characters itself).

Escaped: C0 controls and DEL, C1 controls, the Unicode bidi controls (LRM,
RLM, ALM, LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI), the line and paragraph
separators and lone surrogates (undecodable bytes of a file name), as ``\\n``,
``\\r``, ``\\t``, ``\\xNN`` or ``\\uNNNN``. Backslashes are left as they are, so
escaping twice changes nothing.
"""

from __future__ import annotations

import functools

__all__ = ["printable"]

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_SEPARATORS = (0x2028, 0x2029)
_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(code: int) -> str:
    if code in _SHORT:
        return _SHORT[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_ESCAPED = (*range(0x20), *range(0x7F, 0xA0), *_BIDI, *_SEPARATORS, *range(0xD800, 0xE000))


@functools.cache
def _table(keep: str) -> dict[int, str]:
    kept = {ord(char) for char in keep}
    return {code: _escape(code) for code in _ESCAPED if code not in kept}


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with every terminal control character shown as an escape; those in ``keep`` (e.g. ``"\\n"``) kept."""
    return text.translate(_table(keep))

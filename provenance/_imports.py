"""Importing libraries that change the interpreter as they load (private).

py_ecc, which eth-account (and so web3) imports, raises Python's recursion
limit to 100,000 on import. With that limit the standard library's
``json.loads`` recurses in C on deeply nested input until the C stack
overflows: a segfault that kills the process (a service worker, a CLI run)
instead of a RecursionError. Every run-time import of eth-account or web3 in
the library sits inside :func:`recursion_limit_kept`, which puts the limit
back as it was; the signing and keystore code needs no deep recursion.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["recursion_limit_kept"]


@contextmanager
def recursion_limit_kept() -> Iterator[None]:
    """Run the body (an import) and restore the recursion limit it found, whatever the body set."""
    limit = sys.getrecursionlimit()
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)

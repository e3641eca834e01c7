"""Ethereum's keccak256, loaded lazily: commands that never need it skip the import.

The fastest implementation at hand is used, each checked against a known
vector when loaded:

1. ``safe-pysha3`` (the maintained fork of pysha3, eth-hash's C backend): a
   C extension, about 1.5 µs a call; a salted claims tree with its proofs is
   ~100 hashes per record, which matters when queueing thousands;
2. pycryptodome's C functions through ctypes with one reused state per thread
   (about 5 µs; its Python wrapper costs ~10 µs a call and ~50 ms of import);
3. pycryptodome's wrapper.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import ctypes

_KECCAK_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
_keccak_lib: ctypes.CDLL | Literal[False] | None = None  # None: not tried yet; False: unavailable


def load_c_keccak() -> ctypes.CDLL | Literal[False]:
    """pycryptodome's C keccak through ctypes, checked on a known vector; False if unavailable.

    Callers ``import ctypes`` themselves for its types: it is loaded by then, so that costs nothing.
    """
    global _keccak_lib
    if _keccak_lib is None:
        _keccak_lib = False
        try:
            _keccak_lib = _find_c_keccak()
        except (ImportError, OSError, AttributeError):  # pragma: no cover - fall back to the wrapper
            _keccak_lib = False
    return _keccak_lib


def _find_c_keccak() -> ctypes.CDLL | Literal[False]:
    # lazy: only big manifests and the fallback without safe-pysha3 need ctypes (a few ms of start-up)
    import ctypes
    import importlib.machinery
    import importlib.util

    spec = importlib.util.find_spec("Crypto.Hash")
    if spec is None or not spec.origin:
        return False
    folder = os.path.dirname(spec.origin)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = os.path.join(folder, "_keccak" + suffix)
        if os.path.exists(candidate):
            lib = ctypes.CDLL(candidate)
            break
    else:
        return False
    vp, size_t, u8 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_ubyte
    lib.keccak_init.argtypes = [ctypes.POINTER(vp), size_t, u8]
    lib.keccak_destroy.argtypes = [vp]
    lib.keccak_reset.argtypes = [vp]
    lib.keccak_absorb.argtypes = [vp, ctypes.c_char_p, size_t]
    lib.keccak_digest.argtypes = [vp, ctypes.c_char_p, size_t, u8]
    state = vp()
    if lib.keccak_init(ctypes.byref(state), 64, 24):
        return False
    out = ctypes.create_string_buffer(32)
    ok = lib.keccak_digest(state, out, 32, 1) == 0 and out.raw == _KECCAK_EMPTY
    lib.keccak_destroy(state)
    return lib if ok else False


_local = threading.local()


def _c_keccak256(lib: ctypes.CDLL, data: bytes) -> bytes:
    state = getattr(_local, "state", None)
    if state is None:
        import ctypes  # loaded already by load_c_keccak; once per thread

        state = ctypes.c_void_p()
        if lib.keccak_init(ctypes.byref(state), 64, 24):  # pragma: no cover
            raise MemoryError("keccak_init failed")
        _local.state = state
        _local.out = ctypes.create_string_buffer(32)
    else:
        lib.keccak_reset(state)
    out: ctypes.Array[ctypes.c_char] = _local.out
    lib.keccak_absorb(state, data, len(data))
    lib.keccak_digest(state, out, 32, 1)
    return out.raw


class _Keccak256(Protocol):
    """safe-pysha3's ``keccak_256`` as used here (the package ships no types)."""

    def __call__(self, data: bytes, /) -> _Digest: ...


class _Digest(Protocol):
    def digest(self) -> bytes: ...


def _load_pysha3() -> _Keccak256 | None:
    """safe-pysha3's keccak_256 constructor, checked on the empty input; None if unavailable."""
    try:
        from sha3 import keccak_256
    except ImportError:
        return None
    constructor: _Keccak256 = keccak_256
    return constructor if constructor(b"").digest() == _KECCAK_EMPTY else None


def _slow_keccak256(data: bytes) -> bytes:
    """keccak256 as the EVM computes it (not NIST SHA3-256), without safe-pysha3."""
    lib = load_c_keccak()
    if lib is not False:
        return _c_keccak256(lib, bytes(data))
    from Crypto.Hash import keccak  # lazy: the last fallback; pycryptodome's wrapper costs ~50 ms to import

    digest: bytes = keccak.new(digest_bits=256, data=data).digest()
    return digest


def _fast(constructor: _Keccak256) -> Callable[[bytes], bytes]:
    def keccak256(data: bytes) -> bytes:
        """keccak256 as the EVM computes it (not NIST SHA3-256)."""
        return constructor(data).digest()

    return keccak256


_pysha3 = _load_pysha3()

# the slow path only without safe-pysha3, which the pinned environment has
keccak256 = _fast(_pysha3) if _pysha3 is not None else _slow_keccak256

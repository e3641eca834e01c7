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

_KECCAK_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
_keccak_lib: object = None  # None: not tried yet; False: unavailable


def load_c_keccak():
    """pycryptodome's C keccak through ctypes, checked on a known vector; False if unavailable."""
    global _keccak_lib
    if _keccak_lib is None:
        _keccak_lib = False
        try:
            # lazy: only big manifests and the fallback without safe-pysha3 need ctypes (a few ms of start-up)
            import ctypes
            import importlib.machinery
            import importlib.util

            spec = importlib.util.find_spec("Crypto.Hash")
            folder = os.path.dirname(spec.origin) if spec and spec.origin else None
            for suffix in importlib.machinery.EXTENSION_SUFFIXES if folder else ():
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
            if ok:
                _keccak_lib = (lib, ctypes)
        except (ImportError, OSError, AttributeError):  # pragma: no cover - fall back to the wrapper
            _keccak_lib = False
    return _keccak_lib



_local = threading.local()


def _c_keccak256(lib, ctypes, data: bytes) -> bytes:
    state = getattr(_local, "state", None)
    if state is None:
        state = ctypes.c_void_p()
        if lib.keccak_init(ctypes.byref(state), 64, 24):  # pragma: no cover
            raise MemoryError("keccak_init failed")
        _local.state = state
        _local.out = ctypes.create_string_buffer(32)
    else:
        lib.keccak_reset(state)
    out = _local.out
    lib.keccak_absorb(state, data, len(data))
    lib.keccak_digest(state, out, 32, 1)
    return out.raw


def _load_pysha3():
    """safe-pysha3's keccak_256 constructor, checked on the empty input; None if unavailable."""
    try:
        from sha3 import keccak_256
    except ImportError:
        return None
    return keccak_256 if keccak_256(b"").digest() == _KECCAK_EMPTY else None


def _slow_keccak256(data: bytes) -> bytes:
    """keccak256 as the EVM computes it (not NIST SHA3-256), without safe-pysha3."""
    loaded = load_c_keccak()
    if loaded:
        return _c_keccak256(*loaded, bytes(data))
    from Crypto.Hash import keccak  # lazy: the last fallback; pycryptodome's wrapper costs ~50 ms to import

    return keccak.new(digest_bits=256, data=data).digest()


_pysha3 = _load_pysha3()

if _pysha3 is not None:

    def keccak256(data: bytes) -> bytes:
        """keccak256 as the EVM computes it (not NIST SHA3-256)."""
        return _pysha3(data).digest()

else:  # pragma: no cover - the pinned environment has safe-pysha3
    keccak256 = _slow_keccak256

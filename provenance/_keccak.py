"""Ethereum's keccak256, imported lazily: commands that never need it skip the import."""

from __future__ import annotations


def keccak256(data: bytes) -> bytes:
    """keccak256 as the EVM computes it (not NIST SHA3-256)."""
    from Crypto.Hash import keccak

    return keccak.new(digest_bits=256, data=data).digest()

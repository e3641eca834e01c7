"""keccak256: the C extension and the pycryptodome path agree, on known vectors and random inputs."""

from __future__ import annotations

import os

import pytest

from provenance import _keccak


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 64, 135, 136, 137, 272, 1000, 65537])
def test_implementations_agree(size):
    data = os.urandom(size)
    assert _keccak.keccak256(data) == _keccak._slow_keccak256(data)
    assert _keccak.keccak256(bytearray(data)) == _keccak.keccak256(data)


def test_known_vectors():
    assert _keccak.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    # the selector of transfer(address,uint256), as every EVM tool computes it
    assert _keccak.keccak256(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"


def test_the_c_extension_is_in_use():
    assert _keccak._pysha3 is not None, "safe-pysha3 is pinned: the fast path should be loaded"

"""Shared fixtures: a real anvil node from node_modules and fresh registries on it.

Plain helpers (ports, the CLI, deploy-and-fund) are in ``tests/helpers.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from tests.helpers import account_factory, free_port, fresh_registry, start_anvil
from tests.postgres import index_target, postgres_server  # noqa: F401 (fixtures, shared by every module)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "covers(*codes): the verdict codes a scenario asserts (tests/test_verify_scenarios.py checks that every"
        " code has a scenario, and that each scenario asserts exactly what it declares)",
    )


@pytest.fixture(scope="session", autouse=True)
def _anvil_pages_into_a_scratch_home():
    """Every anvil the tests start (in this process or through the CLI) pages old states into a folder
    removed at the end, not into ~/.foundry/anvil/tmp, where they would stay (provenance.localchain)."""
    scratch = tempfile.mkdtemp(prefix="anvil-home-")
    before = os.environ.get("PROVENANCE_ANVIL_HOME")
    os.environ["PROVENANCE_ANVIL_HOME"] = scratch
    yield
    if before is None:
        os.environ.pop("PROVENANCE_ANVIL_HOME", None)
    else:
        os.environ["PROVENANCE_ANVIL_HOME"] = before
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def anvil_url():
    """One anvil node for the whole session; tests deploy their own registry on it."""
    port = free_port()
    process = start_anvil(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def ledger(anvil_url):
    """A Ledger pointing at a registry deployed for this test alone."""
    return fresh_registry(anvil_url)


@pytest.fixture
def make_account(anvil_url):
    """Factory of fresh funded accounts."""
    # lazy: web3 only for chain tests (conftest is imported in every run)
    from provenance.ledger import Ledger

    return account_factory(Ledger.connect(anvil_url))

"""Importing eth-account or web3 leaves Python's recursion limit as it was.

py_ecc (imported by eth-account, so by web3) raises the limit to 100,000; with it, ``json.loads``
of deeply nested input overflows the C stack and the process dies instead of raising
RecursionError. The library imports them through :func:`provenance._imports.recursion_limit_kept`.
Each check runs in a fresh interpreter, so that a segfault fails the test instead of the run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import ROOT

AFTER_EVERY_IMPORT_SITE = """
import json
import sys
import tempfile
from pathlib import Path

before = sys.getrecursionlimit()

# what `provenance verify` and `provenance serve` import, and the service app they run
import cli.main, cli.context, cli.commands.verify, cli.commands.serve  # noqa: E401
from api.app import create_app
from api.settings import ServiceSettings
from provenance import verifier, publish, signing, keys  # noqa: F401
from provenance.errors import ProvenanceError
from provenance.keys import Keystore
from provenance.ledger import Ledger

with tempfile.TemporaryDirectory() as home:
    create_app(ServiceSettings(rpc_url="http://127.0.0.1:9", registry="0x" + "11" * 20,
                               index_path=Path(home) / "index.sqlite"))
    # every site that imports eth-account or web3 at run time
    ledger = Ledger(None, "http://127.0.0.1:9", 1, None, timeout=0.2)
    ledger._w3
    with ledger._web3_errors():
        pass
    try:
        ledger.receipt(b"\\x00" * 32)
    except ProvenanceError:
        pass  # nothing listens there: the import is what counts
    store = Keystore(Path(home))
    store.create("k", "correct horse battery staple", scrypt_n=2)
    store.unlock("k", "correct horse battery staple")
    key = Path(home) / "key.hex"
    key.write_text("11" * 32)
    store.import_file("imported", key, "correct horse battery staple", scrypt_n=2)

assert "py_ecc" in sys.modules, "eth-account was not imported: this check proves nothing"
assert sys.getrecursionlimit() == before, (sys.getrecursionlimit(), before)
try:
    json.loads("[" * 1_000_000)
except RecursionError:
    print("RecursionError")
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_deep_json_raises_recursion_error_after_everything_verify_and_serve_import():
    done = _run(AFTER_EVERY_IMPORT_SITE)
    assert done.returncode == 0, f"exit {done.returncode} (-11 is a segfault): {done.stderr[-2000:]}"
    assert done.stdout.strip() == "RecursionError"


def test_importing_eth_account_alone_would_raise_the_limit():
    """The hazard is real (so the test above means something): py_ecc raises the limit on import."""
    done = _run("import sys, eth_account; print(sys.getrecursionlimit())")
    assert done.returncode == 0 and int(done.stdout) >= 100_000


def _runtime_imports(tree: ast.AST) -> list[tuple[ast.AST, list[ast.AST]]]:
    """Every import of eth_account or web3 with its enclosing nodes, outside ``if TYPE_CHECKING:``."""
    found: list[tuple[ast.AST, list[ast.AST]]] = []

    def visit(node: ast.AST, parents: list[ast.AST]) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        if any(name.split(".")[0] in ("eth_account", "web3", "py_ecc", "eth_keyfile") for name in names):
            found.append((node, parents))
        for child in ast.iter_child_nodes(node):
            visit(child, [*parents, node])

    visit(tree, [])
    return found


def test_every_run_time_import_of_eth_account_or_web3_keeps_the_limit():
    unguarded = []
    for path in sorted(Path(ROOT).glob("provenance/**/*.py")) + sorted(Path(ROOT).glob("api/**/*.py")) + sorted(
            Path(ROOT).glob("cli/**/*.py")):
        for node, parents in _runtime_imports(ast.parse(path.read_text())):
            guarded = any(
                isinstance(p, ast.With) and any(
                    isinstance(item.context_expr, ast.Call)
                    and getattr(item.context_expr.func, "id", None) == "recursion_limit_kept" for item in p.items)
                for p in parents)
            if not guarded:
                unguarded.append(f"{path.relative_to(ROOT)}:{node.lineno}")  # type: ignore[attr-defined]
    assert not unguarded, f"imports outside recursion_limit_kept(): {unguarded}"

"""The local chain: an anvil node on 127.0.0.1 whose state lives under PROVENANCE_HOME.

``up`` starts anvil (from the npm package ``@foundry-rs/anvil``) detached, with
``--state`` so the chain survives ``down`` and ``up``, deploys the registry the
first time (through the deterministic deployment proxy, so at the address it has
on every chain: :mod:`provenance.deployment`) and records its address per chain
id in ``networks.json``. ``up`` is idempotent; ``down`` stops the node gracefully
so it writes its state.

The node is a development sandbox: its accounts' keys are public and any local
process can write to it. Every anvil the project starts (:func:`spawn_anvil`)
runs with ``--no-cors``, so a web page open in a browser cannot call it over
HTTP (anvil answers ``Access-Control-Allow-Origin: *`` by default, and its
``anvil_*`` methods rewrite balances and storage). Its WebSocket endpoint on the
same port still accepts any origin (anvil has no option to check it), which is
one more reason to keep nothing of value on it. It inherits the environment
without ``PROVENANCE_KEY_PASSWORD``.

Layout under the home directory::

    chain/anvil.json   port and RPC URL of the node, and its pid while it runs
    chain/state.json   anvil's dumped state (blocks, accounts, contracts)
    chain/anvil.log    anvil's output, shown when it fails to start
    networks.json      {"<chainId>": {"registry": "0x…", "rpcUrl": "…", "deployBlock": N}}

``deployBlock`` (when known) is the block the registry was created in: an
index of its events starts there (:class:`provenance.indexer.Indexer`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypedDict

from provenance._files import write_atomic
from provenance.deployment import deploy_registry
from provenance.errors import ChainError, LedgerUnavailable, ProvenanceError
from provenance.ledger import Ledger
from provenance.record import parse_address

__all__ = [
    "LocalChain",
    "ChainStatus",
    "find_anvil",
    "spawn_anvil",
    "child_environment",
    "load_networks",
    "record_registry",
]

DEFAULT_PORT = 8545
LOCAL_CHAIN_ID = 31337
_START_TIMEOUT = 20.0
_STOP_TIMEOUT = 20.0
#: Variables a child process never needs and must not see (``/proc/<pid>/environ``, crash reports).
_SECRET_VARIABLES = ("PROVENANCE_KEY_PASSWORD",)


def find_anvil() -> Path:
    """The anvil binary: $PROVENANCE_ANVIL, the project's node_modules, or PATH."""
    explicit = os.environ.get("PROVENANCE_ANVIL")
    if explicit:
        return Path(explicit)
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = platform.system().lower()
    package = f"@foundry-rs/anvil-{system}-{arch}"
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / package / "bin" / "anvil"
            if candidate.is_file():
                return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ChainError(
        "cannot find the anvil binary",
        hint="run `npm ci` in the project folder (it installs @foundry-rs/anvil), or set PROVENANCE_ANVIL",
    )


class _NodeInfo(TypedDict, total=False):
    """``chain/anvil.json`` as :meth:`LocalChain._start` writes it (``pid`` None once the node is stopped)."""

    pid: int | None
    port: int
    rpcUrl: str


def load_networks(home: Path) -> dict[str, dict[str, Any]]:
    path = home / "networks.json"
    if not path.exists():
        return {}
    try:
        networks: dict[str, dict[str, Any]] = json.loads(path.read_text())
        return networks
    except json.JSONDecodeError as err:
        raise ChainError(f"{path} is not valid JSON ({err}); fix or delete it") from None


def record_registry(home: Path, chain_id: int, registry: str, rpc_url: str, *, deploy_block: int | None = None) -> None:
    """Remember the registry deployed on ``chain_id`` and, when known, the block it was created in (written
    atomically)."""
    networks = load_networks(home)
    entry: dict[str, Any] = {"registry": registry, "rpcUrl": rpc_url}
    if deploy_block is not None:
        entry["deployBlock"] = deploy_block
    networks[str(chain_id)] = entry
    _write_json(home / "networks.json", networks)


def _write_json(path: Path, data: object) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def child_environment() -> dict[str, str]:
    """This process's environment without the key password, for the processes it starts.

    With ``PROVENANCE_ANVIL_HOME`` set, anvil's HOME is that folder: anvil pages the states it keeps no
    longer in memory to ``$HOME/.foundry/anvil/tmp`` and leaves them there when stopped (about 0.7 GB per
    3,000 blocks), so the test suite points it at a folder it removes.
    """
    env = {name: value for name, value in os.environ.items() if name not in _SECRET_VARIABLES}
    if env.get("PROVENANCE_ANVIL_HOME"):
        env["HOME"] = env["PROVENANCE_ANVIL_HOME"]
    return env


def _port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (connections in TIME_WAIT don't count, as for anvil)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (ours, not yet reaped) counts as dead.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def spawn_anvil(
    port: int,
    *extra: str,
    output: int | IO[Any] = subprocess.DEVNULL,
    detached: bool = False,
    started: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start anvil on 127.0.0.1:port and return once it answers JSON-RPC.

    It runs with ``--no-cors`` (no web page may call it) and without the key
    password in its environment. ``started`` is called with the process as soon as it exists (to record its
    pid before waiting). If anvil exits or stays silent for 20 s it is stopped
    and a ChainError names the port.
    """
    process = subprocess.Popen(
        [str(find_anvil()), "--host", "127.0.0.1", "--port", str(port), "--no-cors", *extra],
        stdin=subprocess.DEVNULL,
        env=child_environment(),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=detached,
    )
    if started is not None:
        started(process)
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise ChainError(f"anvil exited at start (code {process.returncode}) on port {port}")
        try:
            Ledger.connect(f"http://127.0.0.1:{port}", timeout=1.0)
            return process
        except LedgerUnavailable:
            if time.monotonic() > deadline:
                process.terminate()
                raise ChainError(f"anvil did not answer on port {port} within {_START_TIMEOUT:.0f} s") from None
            time.sleep(0.1)


@dataclass(frozen=True)
class ChainStatus:
    running: bool
    rpc_url: str
    chain_id: int | None
    block_number: int | None
    registry: str | None
    pid: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "running": self.running,
            "rpcUrl": self.rpc_url,
            "chainId": self.chain_id,
            "blockNumber": self.block_number,
            "registry": self.registry,
            "pid": self.pid,
        }


class LocalChain:
    """The anvil node kept under ``home``; ``port`` applies when it is (re)started."""

    def __init__(self, home: Path, port: int | None = None) -> None:
        self.home = home
        self.dir = home / "chain"
        self._requested_port = port

    # ------------------------------------------------------------ bookkeeping

    @property
    def _info_path(self) -> Path:
        return self.dir / "anvil.json"

    def _info(self) -> _NodeInfo | None:
        try:
            info: _NodeInfo = json.loads(self._info_path.read_text())
            return info
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    @property
    def port(self) -> int:
        if self._requested_port is not None:
            return self._requested_port
        info = self._info()
        return int(info["port"]) if info else DEFAULT_PORT

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _running_pid(self) -> int | None:
        info = self._info()
        pid = info.get("pid") if info else None
        if pid and _pid_alive(int(pid)):
            return int(pid)
        return None

    # ------------------------------------------------------------ lifecycle

    def up(self) -> ChainStatus:
        """Start the node if it is not running and deploy the registry once. Idempotent."""
        self.ledger()
        return self.status()

    @property
    def running(self) -> bool:
        return self._running_pid() is not None

    def ledger(self) -> Ledger:
        """Like :meth:`up`, returning the connected ledger pointed at the registry (fewest RPCs)."""
        pid = self._running_pid()
        info = self._info()
        if pid is not None and info is not None:
            if self._requested_port not in (None, int(info["port"])):
                raise ChainError(
                    f"the local chain already runs on port {info['port']}, not {self._requested_port}",
                    hint="run `provenance chain down` first to move it",
                )
        else:
            self._start()
        ledger = self._connect()
        self._ensure_registry(ledger)
        return ledger

    def _start(self) -> None:
        port = self.port
        if not _port_is_free(port):
            raise ChainError(
                f"port {port} on 127.0.0.1 is already in use by another program",
                hint="stop that program or choose another port with `provenance chain up --port N`",
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        extra = ["--chain-id", str(LOCAL_CHAIN_ID), "--state", str(self.dir / "state.json"), "--state-interval", "1"]

        def remember(process: subprocess.Popen[bytes]) -> None:
            _write_json(self._info_path, {"pid": process.pid, "port": port, "rpcUrl": f"http://127.0.0.1:{port}"})

        with open(self.dir / "anvil.log", "ab") as log:
            try:
                spawn_anvil(port, *extra, output=log, detached=True, started=remember)
            except ChainError as err:
                self._forget_pid()
                raise ChainError(f"{err}:\n{self._log_tail()}") from None

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join((self.dir / "anvil.log").read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def _connect(self) -> Ledger:
        return Ledger.connect(self.rpc_url)

    def _ensure_registry(self, ledger: Ledger) -> str:
        entry = load_networks(self.home).get(str(ledger.chain_id))
        if entry:
            try:
                ledger.use_registry(entry["registry"])
                if isinstance(entry.get("deployBlock"), int):
                    ledger.deploy_block = entry["deployBlock"]
                return str(entry["registry"])
            except LedgerUnavailable:
                raise
            except ProvenanceError:
                pass  # the recorded registry is gone (the chain state was reset): deploy again
        # at the registry's deterministic address (provenance.deployment), as on every other chain
        deployer = parse_address(ledger.rpc("eth_accounts")[0], "anvil's first account")
        done = deploy_registry(ledger, deployer)
        record_registry(self.home, ledger.chain_id, done.address, self.rpc_url, deploy_block=done.block_number)
        ledger.deploy_block = done.block_number
        return done.address

    def down(self) -> bool:
        """Stop the node so that it writes its state; False when it was not running."""
        pid = self._running_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT
        while _pid_alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        self._forget_pid()
        return True

    def _forget_pid(self) -> None:
        """Keep the port for the next ``up``; drop the pid of a node that is gone."""
        info = self._info() or {}
        info["pid"] = None
        _write_json(self._info_path, info)

    def status(self) -> ChainStatus:
        pid = self._running_pid()
        if pid is None:
            entry = load_networks(self.home).get(str(LOCAL_CHAIN_ID), {})
            return ChainStatus(False, self.rpc_url, None, None, entry.get("registry"), None)
        ledger = self._connect()
        entry = load_networks(self.home).get(str(ledger.chain_id), {})
        return ChainStatus(True, self.rpc_url, ledger.chain_id, ledger.block_number(), entry.get("registry"), pid)

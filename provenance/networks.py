"""Named networks: which chain a name stands for, how many confirmations it wants, where its explorer is.

``--network NAME`` (or ``$PROVENANCE_NETWORK``) picks one of :data:`BUILTIN`
(``local``, ``sepolia``, ``holesky``, ``base-sepolia``) or one the user
describes in ``$PROVENANCE_HOME/networks.yaml``::

    hoodi:
      chainId: 560048
      confirmations: 3                        # optional (default 1)
      explorer: https://hoodi.etherscan.io    # optional: transactions are printed as <explorer>/tx/<hash>
      registry: "0x…"                          # optional: else the recorded or the deterministic one
      deployBlock: 123456                     # optional: the block the registry was created in

A network never carries its RPC URL: a provider's URL holds an API key, so it
comes from the environment only (``--rpc-url``, ``$PROVENANCE_<NAME>_RPC_URL``,
then ``$PROVENANCE_RPC_URL``; :func:`rpc_variable`), never from a file that may be
shared or committed. A node whose chain id is not the network's is refused
(:func:`check_chain_id`): a URL pasted under the wrong name would otherwise
anchor records on a chain nobody looks at.

``networks.json`` beside it is another file: what was deployed where (the
registry address per chain id, and the block it was created in, :mod:`provenance.localchain`).
Where neither file names that block, it is found on the chain
(:func:`provenance.deployment.find_deploy_block`) before a fresh index's first sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.errors import InvalidInput, UsageError
from provenance.record import parse_address

__all__ = [
    "Network",
    "BUILTIN",
    "CONFIG_FILE",
    "load_networks_config",
    "find_network",
    "rpc_variable",
    "check_chain_id",
]

#: The user's own networks, under PROVENANCE_HOME.
CONFIG_FILE = "networks.yaml"

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_KEYS = {"chainId", "confirmations", "explorer", "registry", "deployBlock"}


@dataclass(frozen=True)
class Network:
    """One chain under a name. ``confirmations``: blocks on top of a transaction's before it counts as final
    (0: its own block suffices)."""

    name: str
    chain_id: int
    confirmations: int = 1
    explorer: str | None = None
    registry: str | None = None
    deploy_block: int | None = None  # the block the registry was created in (an index starts there)

    @property
    def local(self) -> bool:
        """The local anvil node (:mod:`provenance.localchain`): started on demand, funded by the CLI."""
        return self.name == "local"

    def tx_url(self, tx_hash: bytes | str) -> str | None:
        """The explorer's page of a transaction, or None when the network has no explorer."""
        if self.explorer is None:
            return None
        text = tx_hash if isinstance(tx_hash, str) else "0x" + tx_hash.hex()
        return f"{self.explorer}/tx/{text}"

    def address_url(self, address: str) -> str | None:
        return None if self.explorer is None else f"{self.explorer}/address/{address}"


#: The networks known without configuration. Confirmations: three 12-second slots on the Ethereum
#: testnets; ten 2-second blocks on Base Sepolia (an OP Stack rollup, its sequencer orders blocks).
BUILTIN: dict[str, Network] = {
    n.name: n
    for n in (
        Network("local", 31337, 0),  # anvil mines a block per transaction and never reorganises
        Network("sepolia", 11155111, 3, "https://sepolia.etherscan.io"),
        Network("holesky", 17000, 3, "https://holesky.etherscan.io"),
        Network("base-sepolia", 84532, 10, "https://sepolia.basescan.org"),
    )
}


def rpc_variable(name: str) -> str:
    """The environment variable holding ``name``'s RPC URL: ``PROVENANCE_<NAME>_RPC_URL`` (``-`` → ``_``)."""
    return f"PROVENANCE_{name.upper().replace('-', '_')}_RPC_URL"


def load_networks_config(home: Path) -> dict[str, Network]:
    """The networks of ``home/networks.yaml`` (none when the file does not exist), each checked."""
    from provenance._documents import parse_yaml, read_text

    path = home / CONFIG_FILE
    if not path.exists():
        return {}
    data = parse_yaml(read_text(path, what="networks file", option="PROVENANCE_HOME", error=InvalidInput),
                      path, what="networks file", error=InvalidInput)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"networks file {path} must map network names to their settings")
    return {str(name): _parse(str(name), entry, path) for name, entry in data.items()}


def _parse(name: str, entry: Any, path: Path) -> Network:
    where = f"networks file {path}, network {name!r}"
    if not _NAME.match(name):
        raise InvalidInput(f"{where}: a name is lowercase letters, digits and '-', starting with a letter")
    if name == "local":
        raise InvalidInput(f"{where}: 'local' is the local anvil chain and cannot be redefined")
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where}: expected a mapping with chainId (and confirmations, explorer, registry)")
    if "rpcUrl" in entry or "rpc_url" in entry:
        raise InvalidInput(
            f"{where}: RPC URLs are not read from files (a provider's URL carries its API key)",
            hint=f"remove it and set {rpc_variable(name)} in the environment",
        )
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise InvalidInput(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    chain_id = entry.get("chainId")
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or not 0 < chain_id < 2**64:
        raise InvalidInput(f"{where}: chainId must be a positive integer, got {chain_id!r}")
    confirmations = entry.get("confirmations", 1)
    if not isinstance(confirmations, int) or isinstance(confirmations, bool) or not 0 <= confirmations <= 1000:
        raise InvalidInput(f"{where}: confirmations must be an integer from 0 to 1000, got {confirmations!r}")
    explorer = entry.get("explorer")
    if explorer is not None and (not isinstance(explorer, str) or not explorer.startswith("https://")):
        raise InvalidInput(f"{where}: explorer must be an https:// URL, got {explorer!r}")
    registry = entry.get("registry")
    if registry is not None:
        registry = parse_address(str(registry), f"{where}: registry")
    deploy_block = entry.get("deployBlock")
    if deploy_block is not None and (not isinstance(deploy_block, int) or isinstance(deploy_block, bool)
                                     or not 0 <= deploy_block < 2**63):
        raise InvalidInput(f"{where}: deployBlock must be a block number (an integer >= 0), got {deploy_block!r}")
    return Network(name, chain_id, confirmations, explorer.rstrip("/") if explorer else None, registry, deploy_block)


def find_network(name: str, home: Path) -> Network:
    """The network called ``name``: the user's file first (it may redefine a built-in one), then the built-ins."""
    known = {**BUILTIN, **load_networks_config(home)}
    found = known.get(name)
    if found is None:
        raise UsageError(
            f"unknown network {name!r}; known: {', '.join(sorted(known))}",
            hint=f"describe it in {home / CONFIG_FILE} (chainId, confirmations, explorer), or use --rpc-url alone",
        )
    return found


def check_chain_id(network: Network, chain_id: int, where: str) -> None:
    """Refuse a node (named ``where``, redacted) whose chain is not the network's."""
    if chain_id != network.chain_id:
        raise UsageError(
            f"--network {network.name} is chain {network.chain_id}, but the node at {where} is chain {chain_id}",
            hint=f"check {rpc_variable(network.name)} / --rpc-url, or choose the network of that node",
        )

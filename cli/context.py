"""Settings resolved once at the edge from options and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    rpc_url: str | None
    registry: str | None
    network: str


def settings_from(args) -> Settings:
    """Options win over environment variables, which win over defaults."""
    home = args.home or os.environ.get("PROVENANCE_HOME") or "~/.provenance"
    rpc_url = args.rpc_url or os.environ.get("PROVENANCE_RPC_URL")
    registry = args.registry or os.environ.get("PROVENANCE_REGISTRY")
    network = args.network or ("custom" if rpc_url else "local")
    return Settings(Path(home).expanduser(), rpc_url, registry, network)


def open_ledger(settings: Settings, *, need_registry: bool = True):
    """Connect to the configured chain; the local chain is started when it is needed and not running."""
    import sys

    from provenance.errors import RegistryNotFound
    from provenance.ledger import Ledger
    from provenance.localchain import LocalChain, load_networks

    if settings.rpc_url:
        ledger = Ledger.connect(settings.rpc_url)
        registry = settings.registry or load_networks(settings.home).get(str(ledger.chain_id), {}).get("registry")
        if registry:
            ledger.use_registry(registry)
        elif need_registry:
            raise RegistryNotFound(
                f"no registry address is known for chain {ledger.chain_id} at {settings.rpc_url}",
                hint="pass --registry or set PROVENANCE_REGISTRY",
            )
        return ledger
    chain = LocalChain(settings.home)
    if not chain.status().running:
        print(f"starting the local chain on {chain.rpc_url} (stop it with `provenance chain down`)", file=sys.stderr)
    status = chain.up()
    ledger = Ledger.connect(status.rpc_url)
    registry = settings.registry or status.registry
    ledger.use_registry(registry)
    return ledger

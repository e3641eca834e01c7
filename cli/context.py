"""Settings resolved once at the edge from options and the environment.

An RPC URL may carry a provider's API key (in its path, user info or query):
messages name the node by :func:`provenance._rpc.redact_url` only.
"""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from argparse import ArgumentParser

    from eth_account.signers.local import LocalAccount

    from provenance.errors import LedgerUnavailable, WaitTimedOut
    from provenance.index import Index
    from provenance.ledger import Ledger
    from provenance.networks import Network
    from provenance.store import Store
    from provenance.verifier import StatementSource


@dataclass(frozen=True)
class Settings:
    home: Path
    rpc_url: str | None
    registry: str | None
    network: str  # a named network's name, "local", or "custom" for an --rpc-url without --network
    insecure_rpc: bool = False  # --insecure-rpc: plain http:// to a node not on this machine is accepted
    chain: Network | None = None  # the named network (--network / $PROVENANCE_NETWORK), None for "custom"
    max_fee_gwei: float | None = None  # --max-fee-gwei / $PROVENANCE_MAX_FEE_GWEI: no transaction offers more a gas
    replace_after: float | None = None  # --replace-after / $PROVENANCE_REPLACE_AFTER: seconds unmined, then replaced
    wait_timeout: float | None = None  # --timeout of a chain-writing command (0 with --no-wait); None: no such option

    def tx_url(self, tx_hash: bytes | str) -> str | None:
        """The explorer's page of a transaction on the named network, when it has an explorer."""
        return None if self.chain is None else self.chain.tx_url(tx_hash)


def settings_from(args: Namespace) -> Settings:
    """Options win over environment variables, which win over defaults.

    The RPC URL: --rpc-url, else ``$PROVENANCE_<NETWORK>_RPC_URL`` for a named network, else
    ``$PROVENANCE_RPC_URL`` (provenance.networks: URLs come from the environment, never from a file).
    """
    home = Path(args.home or os.environ.get("PROVENANCE_HOME") or "~/.provenance").expanduser()
    name = args.network or os.environ.get("PROVENANCE_NETWORK") or None
    chain = None
    if name is not None:
        from provenance.networks import find_network, rpc_variable

        chain = find_network(name, home)
    rpc_url = (args.rpc_url or (os.environ.get(rpc_variable(name)) if name else None)
               or os.environ.get("PROVENANCE_RPC_URL"))
    registry = args.registry or os.environ.get("PROVENANCE_REGISTRY")
    network = name or ("custom" if rpc_url else "local")
    cap = getattr(args, "max_fee_gwei", None) or os.environ.get("PROVENANCE_MAX_FEE_GWEI") or None
    replace = getattr(args, "replace_after", None) or os.environ.get("PROVENANCE_REPLACE_AFTER") or None
    return Settings(home, rpc_url, registry, network, bool(getattr(args, "insecure_rpc", False)), chain,
                    _gwei_cap(cap), _seconds(replace, chain), _wait_timeout(args))


#: Seconds a chain-writing command waits for its transaction to be mined and confirmed (``--timeout``).
DEFAULT_WAIT_TIMEOUT = 300.0
#: The exit code of a command whose transaction was sent but is not final within --timeout.
EXIT_NOT_FINAL = 3


def add_wait_options(parser: ArgumentParser, *, no_wait: bool = True) -> None:
    """``--timeout`` (and ``--no-wait``) of a command that sends a transaction and waits for it."""
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_WAIT_TIMEOUT, metavar="SECONDS",
        help=f"how long to wait for the transaction to be mined and confirmed (default {DEFAULT_WAIT_TIMEOUT:.0f}); "
        f"after it the command exits {EXIT_NOT_FINAL}, the transaction kept in the journal",
    )
    if no_wait:
        parser.add_argument(
            "--no-wait", action="store_true",
            help="return once the transaction is sent (exit 0); the next chain command or "
            "`provenance journal retry TX` finishes it",
        )


def _wait_timeout(args: Namespace) -> float | None:
    """--timeout (refused unless > 0), 0 with --no-wait, None for a command without them."""
    from provenance.errors import UsageError

    value = getattr(args, "timeout", None)
    if value is None:
        return None
    if not 0 < value <= 7 * 86_400:
        raise UsageError(f"--timeout must be a number of seconds above 0 (at most a week), got {value}")
    return 0.0 if getattr(args, "no_wait", False) else float(value)


#: Seconds a transaction may wait unmined on a named public network before it is replaced (15 Ethereum slots).
DEFAULT_REPLACE_AFTER = 180.0


def _seconds(value: str | None, chain: Network | None) -> float | None:
    """--replace-after: given, else the default on a named network other than the local chain, else never."""
    from provenance.errors import UsageError

    if value is None:
        return DEFAULT_REPLACE_AFTER if chain is not None and not chain.local else None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86_400:
        raise UsageError(f"--replace-after must be a number of seconds from 0 to 86400, got {value!r}")
    return seconds


def _gwei_cap(value: str | float | None) -> float | None:
    from provenance.errors import UsageError

    if value is None:
        return None
    try:
        cap = float(value)
    except ValueError:
        cap = -1.0
    if not 0 < cap < 10**9:
        raise UsageError(f"--max-fee-gwei must be a positive number of gwei, got {value!r}")
    return cap


def _capped(settings: Settings, ledger: Ledger) -> Ledger:
    """The ledger with the user's fee cap (provenance.fees: a fee above it is refused before signing)."""
    if settings.max_fee_gwei is not None:
        ledger.max_fee = int(settings.max_fee_gwei * 10**9)
    ledger.replace_after = settings.replace_after
    ledger.wait_timeout = settings.wait_timeout
    return ledger


def watch_waits(ledger: Ledger, *, json: bool = False) -> None:
    """Show a progress line while the ledger waits for a transaction (a terminal's only, not --json's)."""
    from cli.terminal import WaitLine

    line = WaitLine.for_command(json=json)
    if line.enabled:
        ledger.watch = line


def not_final(
    settings: Settings, err: WaitTimedOut, *, no_wait: bool, as_json: bool,
    fields: dict[str, object] | None = None, lines: Sequence[str] = (),
) -> int:
    """A transaction sent but not final: with --no-wait the command's answer (exit 0: ``lines`` then what was
    sent; ``fields`` added to the JSON), else the error (exit 3), naming the transaction, its explorer page
    and the command that finishes it."""
    import json
    import sys

    from provenance.errors import WaitTimedOut

    shown, sent = "0x" + err.tx_hash.hex(), "0x" + err.sent.hex()
    url = settings.tx_url(sent)
    if not no_wait:
        explorer = f"; explorer: {url}" if url else ""
        raise WaitTimedOut(str(err) + explorer, tx_hash=err.tx_hash, sent=err.sent, block_number=err.block_number,
                           confirmations=err.confirmations, needed=err.needed, url=err.url, hint=err.hint) from None
    state = "sent, not yet mined" if err.block_number is None else (
        f"mined in block {err.block_number}, {err.confirmations} of {err.needed} confirmations")
    finish = f"provenance journal retry {shown}"
    if as_json:
        print(json.dumps({
            **(fields or {}), "state": "sending", "txHash": shown, "sentTxHash": sent,
            "blockNumber": err.block_number, "confirmations": err.confirmations, "needed": err.needed, "txUrl": url,
            "finish": finish,
        }, indent=2))
    else:
        for line in lines:
            print(line)
        print(f"sent:      tx {sent} ({state})")
        if url:
            print(f"explorer:  {url}")
        print(f"the journal finishes it: the next chain command does, or `{finish}`; `provenance journal list` "
              "shows it")
    sys.stdout.flush()
    return 0


def connect_chain(settings: Settings) -> Ledger:
    """The node of ``settings.rpc_url``, its URL checked, its chain id the named network's; no registry yet."""
    from provenance._rpc import redact_url
    from provenance.ledger import Ledger, check_rpc_url
    from provenance.networks import check_chain_id

    assert settings.rpc_url is not None  # callers handle the local chain
    check_rpc_url(settings.rpc_url, insecure=settings.insecure_rpc)
    confirmations = settings.chain.confirmations if settings.chain is not None else 0
    ledger = Ledger.connect(settings.rpc_url, confirmations=confirmations)
    if settings.chain is not None:
        check_chain_id(settings.chain, ledger.chain_id, redact_url(settings.rpc_url))
    return _capped(settings, ledger)


def require_rpc_url(settings: Settings) -> None:
    """A named network other than the local chain has no default node: its URL must be in the environment."""
    from provenance.errors import UsageError
    from provenance.networks import rpc_variable

    if settings.rpc_url is None and settings.chain is not None and not settings.chain.local:
        raise UsageError(
            f"--network {settings.chain.name} needs the URL of one of its nodes",
            hint=f"set {rpc_variable(settings.chain.name)} (or PROVENANCE_RPC_URL, or pass --rpc-url); "
            "docs/testnet.md lists providers",
        )


def open_ledger(settings: Settings, *, need_registry: bool = True) -> Ledger:
    """Connect to the configured chain; the local chain is started when it is needed and not running.

    The registry on another chain: --registry, else the named network's (networks.yaml), else the one
    recorded for the chain id in networks.json, else the deterministic address when it holds code
    (provenance.deployment); whichever it is, it is checked (code, ``version()``, domain separator) before use.
    """
    import sys

    from provenance._rpc import redact_url
    from provenance.deployment import registry_address
    from provenance.errors import RegistryNotFound
    from provenance.localchain import LocalChain, load_networks

    require_rpc_url(settings)
    if settings.rpc_url:
        ledger = connect_chain(settings)
        registry = (settings.registry or (settings.chain.registry if settings.chain is not None else None)
                    or load_networks(settings.home).get(str(ledger.chain_id), {}).get("registry"))
        if not registry and ledger.has_code(deterministic := registry_address()):
            registry = deterministic
        if registry:
            ledger.use_registry(registry)
            ledger.deploy_block = _known_deploy_block(settings, ledger)
        elif need_registry:
            raise RegistryNotFound(
                f"no registry address is known for chain {ledger.chain_id} at {redact_url(settings.rpc_url)}, and "
                f"none is at its deterministic address {registry_address()}",
                hint="deploy it with `provenance chain deploy`, or pass --registry or set PROVENANCE_REGISTRY",
            )
        return ledger
    chain = LocalChain(settings.home)
    if not chain.running:
        print(f"starting the local chain on {chain.rpc_url} (stop it with `provenance chain down`)", file=sys.stderr)
    ledger = _capped(settings, chain.ledger())
    if settings.registry and settings.registry.lower() != (ledger.registry or "").lower():
        ledger.use_registry(settings.registry)
    return ledger


def _known_deploy_block(settings: Settings, ledger: Ledger) -> int | None:
    """The block the ledger's registry was created in, where the network's entry (networks.yaml) or the
    deployment recorded for its chain (networks.json) names it for that registry; else None (the indexer
    finds it on the chain when it needs it)."""
    from provenance.localchain import load_networks

    registry = (ledger.registry or "").lower()
    chain = settings.chain
    if chain is not None and chain.deploy_block is not None and (chain.registry or registry).lower() == registry:
        return chain.deploy_block
    entry = load_networks(settings.home).get(str(ledger.chain_id), {})
    block = entry.get("deployBlock")
    if isinstance(block, int) and str(entry.get("registry", "")).lower() == registry:
        return block
    return None


def unlock_key(settings: Settings, name: str | None) -> LocalAccount:
    """The publisher's account: key ``name``, or the only key when there is one; asked before any write."""
    from cli.terminal import password
    from provenance.errors import KeystoreError
    from provenance.keys import Keystore

    keystore = Keystore(settings.home)
    if name is None:
        names = keystore.names()
        if len(names) != 1:
            known = ", ".join(names) if names else "none yet"
            raise KeystoreError(
                f"--key NAME is needed: {'several keys exist' if names else 'no key exists'} (known: {known})",
                hint="create one with `provenance keys new NAME`",
            )
        name = names[0]
    keystore.info(name)  # an unknown name fails before the password is asked
    return keystore.unlock(name, password(confirm=False))


def ensure_funds(settings: Settings, ledger: Ledger, address: str) -> None:
    """On the local chain a new key is given test ether; elsewhere an empty account is an error."""
    import sys

    from provenance._rpc import redact_url
    from provenance.errors import Conflict

    if ledger.balance(address) >= 10**16:
        return
    if settings.network == "local":
        ledger.rpc("anvil_setBalance", [address, hex(10**20)])
        print(f"funded {address} with 100 test ETH on the local chain", file=sys.stderr)
        return
    raise Conflict(
        f"account {address} has no ETH to pay for gas on chain {ledger.chain_id} ({redact_url(ledger.rpc_url)})",
        hint="fund it (on a testnet from a faucet: docs/testnet.md) and run the command again",
    )


def open_store(settings: Settings, ledger: Ledger) -> Store:
    """The local store, after finishing whatever a previous run left open on this chain."""
    import sys

    from provenance.publish import resume
    from provenance.store import Store

    store = Store.open(settings.home)
    for line in resume(store, ledger):
        print(f"resumed: {line}", file=sys.stderr)
    return store


def kept_hint(what: str) -> str:
    return f"{what} is kept in the local store; run `provenance anchor` (or any chain command) to resume"


def registry_of(ledger: Ledger) -> str:
    """The ledger's registry address; ``open_ledger(settings)`` has set one (or raised this already)."""
    from provenance._rpc import redact_url
    from provenance.errors import RegistryNotFound

    if ledger.registry is None:
        raise RegistryNotFound(
            f"no registry address is known for chain {ledger.chain_id} at {redact_url(ledger.rpc_url)}",
            hint="pass --registry or set PROVENANCE_REGISTRY",
        )
    return ledger.registry


def open_index(settings: Settings, ledger: Ledger) -> Index:
    """The local event index of this chain and registry (one file each, under PROVENANCE_HOME/index)."""
    from provenance.index import Index

    path = settings.home / "index" / f"{ledger.chain_id}-{registry_of(ledger).lower()}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return Index.open(path)


def statement_sources(settings: Settings, index: Index) -> list[StatementSource]:
    """Where the verifier looks for Statements: the local store (when there is one) and the index."""
    from provenance.store import STORE_FILE, Store

    sources: list[StatementSource] = []
    if (settings.home / STORE_FILE).exists():
        sources.append(Store.open(settings.home))
    if hasattr(index, "statements_for"):
        sources.append(index)
    return sources


def kept_summary(settings: Settings) -> str:
    """What the local store keeps for the chain, for a node-down message; opens no store that does not exist."""
    from provenance.store import STORE_FILE, Store

    if not (settings.home / STORE_FILE).exists():
        return "nothing was written; run the command again when the node answers"
    store = Store.open(settings.home)
    try:
        states, open_txs = store.unfinished()
    finally:
        store.close()
    parts = [f"{count} {state} record{'s' if count != 1 else ''}" for state, count in sorted(states.items())]
    if open_txs:
        parts.append(f"{open_txs} journaled transaction{'s' if open_txs != 1 else ''} not yet confirmed")
    if not parts:
        return "nothing was waiting for the chain; run the command again when the node answers"
    return (
        f"kept in the local store {settings.home}: " + ", ".join(parts)
        + "; nothing is lost: run `provenance anchor` (or any chain command) when the node answers to resume"
    )


def chain_unavailable(settings: Settings, err: LedgerUnavailable) -> LedgerUnavailable:
    """The same LedgerUnavailable, naming the URL, with a hint saying what the local store keeps."""
    from provenance.errors import LedgerUnavailable

    return LedgerUnavailable(err.url, hint=kept_summary(settings))

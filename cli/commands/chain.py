"""`provenance chain up|down|status|deploy`: manage the local anvil node; deploy the registry to any chain."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from cli.context import Settings
    from provenance.localchain import ChainStatus


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("chain", help="start, stop or inspect the local chain (anvil); deploy the registry")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    up = actions.add_parser("up", help="start the local chain and deploy the registry (idempotent)")
    up.add_argument("--port", type=int, help="port on 127.0.0.1 (default 8545, or the last one used)")
    up.add_argument("--json", action="store_true", help="print the status as JSON")
    up.set_defaults(handler=run)
    down = actions.add_parser("down", help="stop the local chain; its state is kept")
    down.set_defaults(handler=run)
    status = actions.add_parser(
        "status", help="print RPC URL, chain id, block number and registry (of --rpc-url when given)"
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=run)
    deploy = actions.add_parser(
        "deploy", help="deploy the registry at its deterministic address (the same on every chain; idempotent)"
    )
    deploy.add_argument("--key", help="key that pays for the deployment (default: the only key; "
                        "the local chain uses its own account)")
    deploy.add_argument("--install-proxy", action="store_true",
                        help="where the chain lacks the deterministic deployment proxy, fund its one-time deployer "
                        "with 0.01 ETH from the key and send its presigned transaction")
    deploy.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="seconds to wait for each transaction to be mined (default 300); after it the command "
                        "exits 3, naming what was sent: run it again once that is mined")
    deploy.add_argument("--json", action="store_true", help="print the result as JSON")
    deploy.set_defaults(handler=run)


def _print_status(status: ChainStatus, as_json: bool, network: str) -> None:
    if as_json:
        print(json.dumps({**status.to_json(), "network": network}, indent=2))
        return
    print(f"network:      {network}")
    print(f"state:        {'running' if status.running else 'stopped'}")
    print(f"rpc url:      {status.rpc_url}")
    print(f"chain id:     {status.chain_id if status.chain_id is not None else '-'}")
    print(f"block number: {status.block_number if status.block_number is not None else '-'}")
    print(f"registry:     {status.registry or '-'}")


def run(args: Namespace) -> int:
    from cli.context import settings_from
    from provenance.errors import UsageError
    from provenance.localchain import LocalChain

    settings = settings_from(args)
    port = getattr(args, "port", None)
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    if args.action == "deploy":
        return _deploy(settings, args)
    chain = LocalChain(settings.home, port)
    if args.action == "up":
        status = chain.up()
        _print_status(status, args.json, settings.network)
    elif args.action == "down":
        stopped = chain.down()
        print("local chain stopped; its state is kept" if stopped else "local chain was not running")
    elif settings.rpc_url:
        _print_status(_remote_status(settings), args.json, settings.network)
    else:
        _print_status(chain.status(), args.json, settings.network)
    return 0


def _deploy(settings: Settings, args: Namespace) -> int:
    """The registry at its deterministic address on the configured chain: found and recorded, or created."""
    import sys

    from cli.context import connect_chain, require_rpc_url, unlock_key, watch_waits
    from provenance._rpc import redact_url
    from provenance.deployment import Deployment, deploy_registry, find_deploy_block, install_proxy
    from provenance.errors import UsageError, WaitTimedOut
    from provenance.localchain import LocalChain, load_networks, record_registry

    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    require_rpc_url(settings)  # a named network without a node: say which variable names one
    if not settings.rpc_url:
        status = LocalChain(settings.home).up()  # deploys as `chain up` does, from anvil's own account
        assert status.registry is not None and status.chain_id is not None  # up() deploys or raises
        done = Deployment(status.registry, status.chain_id, sent=False)
    else:
        account = unlock_key(settings, args.key)  # asked before anything is sent
        ledger = connect_chain(settings)
        watch_waits(ledger, json=args.json)
        try:
            if args.install_proxy and install_proxy(ledger, account, timeout=args.timeout):
                print(f"installed the deterministic deployment proxy on chain {ledger.chain_id}", file=sys.stderr)
            done = deploy_registry(ledger, account, timeout=args.timeout)
        except WaitTimedOut as err:  # not journaled, but idempotent: run again, it finds what was mined
            url = settings.tx_url(err.sent)
            raise WaitTimedOut(
                str(err) + (f"; explorer: {url}" if url else ""), tx_hash=err.tx_hash, url=err.url,
                hint="run `provenance chain deploy` again once it is mined: it finds the registry at its address "
                "and records it, sending nothing twice (while it is pending, the command says so and sends nothing)",
            ) from None
        # the block it was created in: the indexer's first block (found when it was there already)
        block = done.block_number if done.block_number is not None else find_deploy_block(ledger, done.address)
        # where it was deployed, by scheme, host and port: a provider's URL carries its API key
        record_registry(settings.home, ledger.chain_id, done.address, redact_url(settings.rpc_url),
                        deploy_block=block)
    explorer = settings.chain.address_url(done.address) if settings.chain else None
    tx_url = settings.tx_url(done.tx_hash) if done.tx_hash else None
    deploy_block = load_networks(settings.home).get(str(done.chain_id), {}).get("deployBlock")
    if args.json:
        print(json.dumps({**done.to_json(), "network": settings.network, "registryUrl": explorer, "txUrl": tx_url,
                          "deployBlock": deploy_block}, indent=2))
        return 0
    print(f"registry:  {done.address} on chain {done.chain_id} ({settings.network})")
    if done.sent:
        assert done.tx_hash is not None
        print(f"deployed:  tx 0x{done.tx_hash.hex()} in block {done.block_number} ({done.gas_used:,} gas)")
    elif not settings.rpc_url:
        print("deployed:  by the local chain at its first start (from anvil's own account)")
    else:
        print("deployed:  already there, and its code is the registry's: nothing sent")
    for url in (explorer, tx_url):
        if url:
            print(f"explorer:  {url}")
    created = f", created in block {deploy_block}" if deploy_block is not None else ""
    print(f"recorded in {settings.home / 'networks.json'}{created}")
    return 0


def _remote_status(settings: Settings) -> ChainStatus:
    """Status of the node named by --rpc-url (and its registry, checked, when one is known)."""
    from cli.context import open_ledger
    from provenance._rpc import redact_url
    from provenance.localchain import ChainStatus

    ledger = open_ledger(settings, need_registry=False)
    # shown by scheme, host and port: a provider's URL carries its API key
    return ChainStatus(True, redact_url(ledger.rpc_url), ledger.chain_id, ledger.block_number(), ledger.registry, None)

"""`provenance chain up|down|status`: manage the local anvil node."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from cli.context import Settings
    from provenance.localchain import ChainStatus


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("chain", help="start, stop or inspect the local chain (anvil)")
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


def _print_status(status: ChainStatus, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.to_json(), indent=2))
        return
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
    chain = LocalChain(settings.home, port)
    if args.action == "up":
        status = chain.up()
        _print_status(status, args.json)
    elif args.action == "down":
        stopped = chain.down()
        print("local chain stopped; its state is kept" if stopped else "local chain was not running")
    elif settings.rpc_url:
        _print_status(_remote_status(settings), args.json)
    else:
        _print_status(chain.status(), args.json)
    return 0


def _remote_status(settings: Settings) -> ChainStatus:
    """Status of the node named by --rpc-url (and its registry, checked, when one is known)."""
    from cli.context import open_ledger
    from provenance._rpc import redact_url
    from provenance.localchain import ChainStatus

    ledger = open_ledger(settings, need_registry=False)
    # shown by scheme, host and port: a provider's URL carries its API key
    return ChainStatus(True, redact_url(ledger.rpc_url), ledger.chain_id, ledger.block_number(), ledger.registry, None)

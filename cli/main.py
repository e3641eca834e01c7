"""The `provenance` command: a thin layer over the library.

Each sub-command lives in ``cli/commands/<name>.py`` and exposes ``add_parser``;
heavy modules (web3, FastAPI) are imported inside the handlers, so ``--help``
stays fast. Only :class:`provenance.errors.ProvenanceError` is caught here: its
message is printed and the process exits with the documented code
(0 success, 1 verification failed, 2 bad input or could not do the work, 3 a
transaction was sent but is not final within ``--timeout``: the journal keeps it).
Messages never show the configured RPC URL whole (it may carry a provider's
API key): the library names a node by scheme, host and port, and this edge
redacts the URL once more wherever a message would quote it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Order is the order shown by --help.
COMMANDS = (
    "chain", "keys", "hash", "claims", "register", "evaluate", "anchor", "verify", "history", "status", "disclose",
    "export", "serve", "journal",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="provenance",
        description="Provenance ledger for AI models and datasets: hash, sign, anchor and verify.",
    )
    parser.add_argument("--home", help="state directory (default: $PROVENANCE_HOME or ~/.provenance)")
    parser.add_argument("--network", default=None,
                        help="local (default), sepolia, holesky, base-sepolia, or one of $PROVENANCE_HOME/networks.yaml"
                        " (default: $PROVENANCE_NETWORK); its node's URL from $PROVENANCE_<NAME>_RPC_URL")
    parser.add_argument("--rpc-url", help="Ethereum JSON-RPC URL (default: $PROVENANCE_<NETWORK>_RPC_URL, "
                        "$PROVENANCE_RPC_URL or the local chain)")
    parser.add_argument("--insecure-rpc", action="store_true", help="allow plain http:// to a node not on this machine")
    parser.add_argument("--max-fee-gwei", default=None, metavar="GWEI",
                        help="refuse to sign a transaction offering more than this a gas "
                        "(default: $PROVENANCE_MAX_FEE_GWEI, else no cap)")
    parser.add_argument("--replace-after", default=None, metavar="SECONDS",
                        help="replace a transaction not mined after this long (same nonce, fees +12.5%%; default: "
                        "$PROVENANCE_REPLACE_AFTER, else 180 on a named public network, never on others)")
    parser.add_argument("--registry",
                        help="ProvenanceRegistry address (default: $PROVENANCE_REGISTRY or the recorded one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"cli.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    # pydantic looks for plugins through every installed distribution's entry points on first use
    # (~30 ms of a short command); the project uses none. A user's explicit setting wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser = build_parser()
    args = parser.parse_args(argv)
    from provenance.errors import ProvenanceError

    try:
        code = args.handler(args)
    except ProvenanceError as err:
        if args.verbose:
            import traceback

            traceback.print_exc()
        from provenance._text import printable  # messages quote file names and other untrusted text

        print("error: " + printable(_redacted(str(err), args), keep="\n"), file=sys.stderr)
        if err.hint:
            print("hint: " + printable(_redacted(err.hint, args), keep="\n"), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


def _redacted(text: str, args: argparse.Namespace) -> str:
    """``text`` with the RPC URLs of the options and environment shown by scheme, host and port only."""
    import os

    from provenance._rpc import redact_url
    from provenance.networks import rpc_variable

    network = getattr(args, "network", None) or os.environ.get("PROVENANCE_NETWORK")
    named = os.environ.get(rpc_variable(network)) if network else None
    for url in (getattr(args, "rpc_url", None), os.environ.get("PROVENANCE_RPC_URL"), named):
        if url:
            text = text.replace(url, redact_url(url))
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

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
from typing import NoReturn

# The modules under cli/commands; order is the order shown by --help.
COMMANDS = (
    "chain", "keys", "hash", "claims", "register", "evaluate", "anchor", "verify", "history", "status", "disclose",
    "export", "serve", "journal",
)
MODULE_OF = {"revoke": "status", "supersede": "status", "endorse": "status", "dispute": "status"}
"""Sub-commands whose module has another name (a module may add several)."""


def build_parser(module: str | None = None) -> argparse.ArgumentParser:
    """The whole command line's parser; with ``module``, one that knows that module's sub-commands only.

    A command's own parser is all a run needs once the command is known
    (:func:`command_named`): importing and building the other thirteen costs
    about 20 ms of every command's start.
    """
    parser = _options()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS if module is None else (module,):
        importlib.import_module(f"cli.commands.{name}").add_parser(sub)
    return parser


def command_named(argv: list[str]) -> str | None:
    """The module of the sub-command ``argv`` names, read as the whole parser reads it; None when it names
    none (or is wrong: the whole parser then says what it accepts)."""
    parser = _options(_Silent, add_help=False)
    parser.add_argument("-h", "--help", action="store_true")  # the whole list of commands is asked for
    parser.add_argument("command", nargs="?")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        known, _unknown = parser.parse_known_args(argv)
    except _Wrong:
        return None
    if known.help:
        return None
    module = MODULE_OF.get(known.command, known.command)
    return module if module in COMMANDS else None


class _Wrong(Exception):
    pass


class _Silent(argparse.ArgumentParser):
    """A parser that raises instead of printing an error and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _Wrong(message)


def _options(
    kind: type[argparse.ArgumentParser] = argparse.ArgumentParser, *, add_help: bool = True
) -> argparse.ArgumentParser:
    """The parser of the options that come before the sub-command."""
    parser = kind(
        prog="provenance",
        description="Provenance ledger for AI models and datasets: hash, sign, anchor and verify.",
        add_help=add_help,
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
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    # pydantic looks for plugins through every installed distribution's entry points on first use
    # (~30 ms of a short command); the project uses none. A user's explicit setting wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(command_named(argv))
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


def console() -> int:
    """The ``provenance`` executable: :func:`main`, then nothing left for the exit's garbage collection.

    At exit the interpreter collects every object still alive, the imports'
    (pydantic's schemas, the rules) included: about 50 ms of a command that
    took 250. Frozen objects are skipped; what they hold is the operating
    system's to reclaim, and nothing here leaves data to a finalizer (files
    are written and closed, databases committed, before ``main`` returns).
    """
    code = main()
    import gc

    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())

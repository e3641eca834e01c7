"""`provenance journal list|retry|abandon`: the transaction journal, without editing the store by hand.

``list`` reads the local store only (no node). ``retry TX`` sends a journaled
transaction again (the same signed bytes, or its newest replacement) and waits
for it; ``abandon TX`` gives one up, which the journal allows only once it can
never be mined: its nonce was used by another transaction (another wallet
holding the same key, say). Its record is then marked failed, or its batch's
records are queued again for the next ``anchor``.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from provenance.ledger import Ledger
    from provenance.store import Store


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("journal", help="list, retry or abandon journaled transactions")
    actions = parser.add_subparsers(dest="journal_action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="the journaled transactions not yet final (--all: every one)")
    listing.add_argument("--all", action="store_true", help="also the mined and failed ones")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    listing.set_defaults(handler=run_list)
    retry = actions.add_parser("retry", help="send a journaled transaction again and wait for it")
    retry.add_argument("tx", help="its hash (0x...), as `provenance journal list` shows it")
    from cli.context import add_wait_options

    add_wait_options(retry, no_wait=False)
    retry.set_defaults(handler=run_retry)
    abandon = actions.add_parser("abandon", help="give up a transaction whose nonce another transaction used")
    abandon.add_argument("tx", help="its hash (0x...), as `provenance journal list` shows it")
    abandon.set_defaults(handler=run_abandon)


def _tx_hash(text: str) -> bytes:
    from provenance.errors import InvalidValue

    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise InvalidValue(f"a transaction hash is 0x and 64 hex digits, got {text!r}")
    return value


def run_list(args: Namespace) -> int:
    from cli.context import settings_from
    from provenance.store import Store

    store = Store.open(settings_from(args).home)
    try:
        entries = store.journal.entries(open_only=not args.all)
        rows: list[dict[str, Any]] = [{
            "txHash": "0x" + e.tx_hash.hex(), "chainId": e.chain_id, "sender": e.sender, "nonce": e.nonce,
            "purpose": e.purpose, "ref": e.ref, "status": e.status, "blockNumber": e.block_number,
            "replacements": ["0x" + h.hex() for h in store.journal.replacements(e.tx_hash)],
            "error": store.journal.error(e.tx_hash),
        } for e in entries]
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no journaled transaction" + ("" if args.all else " is waiting"))
    for row in rows:
        extra = f", {len(row['replacements'])} replacement(s)" if row["replacements"] else ""
        block = f" in block {row['blockNumber']}" if row["blockNumber"] is not None else ""
        print(f"{row['txHash']}  {row['status']}{block}  chain {row['chainId']}  {row['purpose']} {row['ref']}  "
              f"from {row['sender']} nonce {row['nonce']}{extra}")
        if row["error"]:
            print(f"    {row['error']}")
    return 0


def _open(args: Namespace) -> tuple[Ledger, Store]:
    from cli.context import open_ledger, settings_from, watch_waits
    from provenance.store import Store

    settings = settings_from(args)
    ledger = open_ledger(settings)
    watch_waits(ledger)
    return ledger, Store.open(settings.home)  # not open_store: its resume is what may be stuck


def run_retry(args: Namespace) -> int:
    from cli.context import not_final, settings_from
    from provenance.errors import WaitTimedOut
    from provenance.publish import resume

    tx_hash = _tx_hash(args.tx)
    ledger, store = _open(args)
    try:
        try:
            entry = store.journal.retry(ledger, tx_hash)
        except WaitTimedOut as err:  # still not final: it stays open, as it was
            return not_final(settings_from(args), err, no_wait=False, as_json=False)
        print(f"0x{tx_hash.hex()}: {entry.status}" + (f" in block {entry.block_number}" if entry.block_number else ""))
        for line in resume(store, ledger):
            print(f"resumed: {line}")
    finally:
        store.close()
    return 0


def run_abandon(args: Namespace) -> int:
    from provenance.publish import resume

    tx_hash = _tx_hash(args.tx)
    ledger, store = _open(args)
    try:
        entry = store.journal.abandon(ledger, tx_hash)
        print(f"0x{tx_hash.hex()}: abandoned (nonce {entry.nonce} of {entry.sender} was used by another transaction)")
        for line in resume(store, ledger):
            print(f"resumed: {line}")
    finally:
        store.close()
    return 0

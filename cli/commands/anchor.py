"""`provenance anchor`: anchor every queued record of the publisher in one transaction."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from provenance.store import Store


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("anchor", help="anchor the queued records in one batch (one transaction)")
    parser.add_argument("--key", help="key name (default: the only key)")
    parser.add_argument("--uri", default="",
                        help="where the batch document is published (recorded on chain; docs/fetching.md): "
                        "https://..., ipfs://CID[/PATH], hf://[datasets/]ORG/NAME@REVISION/PATH, file:///PATH")
    parser.add_argument("--out", help="also write the batch document (every member's Statement) here")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    from cli.context import add_wait_options

    add_wait_options(parser)
    parser.set_defaults(handler=run)


def run(args: Namespace) -> int:
    import shutil

    from cli.context import (
        chain_unavailable,
        ensure_funds,
        not_final,
        open_ledger,
        open_store,
        settings_from,
        unlock_key,
        watch_waits,
    )
    from provenance.errors import LedgerUnavailable, WaitTimedOut
    from provenance.publish import Publisher, batch_document_path
    from provenance.record import hex32

    settings = settings_from(args)
    from provenance.fetch import check_uri

    check_uri(args.uri)  # a bad uri is refused (exit 2) before the key is unlocked
    account = unlock_key(settings, args.key)
    store: Store | None = None
    try:
        ledger = open_ledger(settings)
        watch_waits(ledger, json=args.json)
        store = open_store(settings, ledger)
        ensure_funds(settings, ledger, account.address)
        result = Publisher(store, ledger, account).anchor(args.uri)
    except LedgerUnavailable as err:
        # whether the node was down from the start or went away half-way: say what the store keeps
        raise chain_unavailable(settings, err) from None
    except WaitTimedOut as err:  # the batch is sent, not final yet: the journal finishes it later
        entry = store.journal.entry(err.tx_hash) if store is not None else None
        root = entry.ref if entry is not None and entry.purpose == "anchorBatch" else None
        return not_final(settings, err, no_wait=args.no_wait, as_json=args.json,
                         fields={"batchRoot": root} if root else None,
                         lines=[f"batch {root} sent"] if root else ())
    if result is None:
        payload: dict[str, object] = {"anchored": 0}
        print(json.dumps(payload) if args.json else "nothing queued: no transaction sent")
        return 0
    document = batch_document_path(store, result.root)
    if args.out:
        shutil.copyfile(document, args.out)
    payload = {
        "anchored": result.count,
        "batchRoot": hex32(result.root),
        "txHash": hex32(result.tx_hash),
        "blockNumber": result.block_number,
        "gasUsed": result.gas_used,
        "document": str(args.out or document),
        "txUrl": settings.tx_url(result.tx_hash),  # the network's explorer, when it has one
    }
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"anchored {result.count} records in batch {payload['batchRoot']}")
        print(f"tx {payload['txHash']} in block {result.block_number} ({result.gas_used} gas)")
        if payload["txUrl"]:
            print(f"explorer: {payload['txUrl']}")
        print(f"batch document: {payload['document']}")
    return 0

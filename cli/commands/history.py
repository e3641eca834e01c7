"""`provenance history SUBJECT|RECORD|ADDRESS`: everything the registry saw about it, newest first.

A subject's history includes the events of its evaluation records (registered, revoked, ...), marked
``(evaluation)`` in the table and with ``details.evaluationOf`` in ``--json``; their disclosed results
(``details.evaluationResults``) come from the index or the local store, when either holds the Statement.
"""

from __future__ import annotations

import json
import re
from argparse import ArgumentParser, Namespace, _SubParsersAction
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from cli.context import Settings
    from provenance.index import Index
    from provenance.statement import Statement

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("history", help="registrations, anchors, revocations, endorsements and disputes")
    parser.add_argument("target", help="subject or record id (0x + 64 hex), or a publisher address (0x + 40 hex)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def _when(unix: int | None) -> str:
    import datetime

    if unix is None:
        return "-"
    return datetime.datetime.fromtimestamp(unix, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run(args: Namespace) -> int:
    from cli.context import open_index, open_ledger, settings_from
    from provenance.errors import InvalidValue
    from provenance.evalfacts import with_evaluations
    from provenance.indexer import Indexer

    text = args.target
    if not (_HEX32.match(text) or _ADDRESS.match(text)):
        raise InvalidValue(
            f"{text!r} is not a subject, record id or address",
            hint="subjects and record ids are 0x + 64 hex digits; addresses 0x + 40 hex digits",
        )
    settings = settings_from(args)
    ledger = open_ledger(settings)
    index = open_index(settings, ledger)
    Indexer(index, ledger).sync()
    if _ADDRESS.match(text):
        entries, what = index.history(publisher=text), "address"
    else:
        entries, what = index.history(subject=text), "subject"
        if entries:  # the events of its evaluation records too, marked (details.evaluationOf)
            entries = with_evaluations(index, text, entries, _statements(settings, index))
        else:
            entries, what = index.history(record_id=text), "record"
            if not entries and index.batches(text):  # a batch root, anchored by one submitter or more
                entries, what = [e for e in index.events(name="BatchAnchored", limit=10_000)
                                 if e.details.get("root") == text.lower()], "batch"
    items: list[dict[str, Any]] = [
        {
            "event": e.event, "blockNumber": e.block_number, "blockTime": e.block_time,
            "time": _when(e.block_time), "txHash": e.tx_hash, "recordId": e.record_id, "actor": e.actor,
            "details": e.details,
        }
        for e in entries
    ]
    if args.json:
        print(json.dumps({"target": text, "kind": what if items else None, "events": items}, indent=2, default=str))
        return 0
    if not items:
        print(f"nothing on chain {ledger.chain_id} (registry {ledger.registry}) about {text}")
        return 0
    for line in table(items):
        print(line)
    return 0


def _statements(settings: Settings, index: Index) -> Callable[[str], Statement | None]:
    """A record's Statement from the index, else from the local store (what an evaluation discloses)."""
    from provenance.store import STORE_FILE, Store

    store = Store.open(settings.home) if (settings.home / STORE_FILE).exists() else None

    def statement_of(record_id: str) -> Statement | None:
        found = index.statement(record_id)
        return found if found is not None or store is None else store.statement(record_id)

    return statement_of


def table(items: list[dict[str, Any]]) -> list[str]:
    """The lines of the terminal table; cells come from the chain, so they are escaped for the terminal."""
    from provenance._text import printable

    lines = [f"{'TIME (UTC)':21} {'EVENT':20} {'BLOCK':>7}  {'RECORD':20} {'BY':42} TX"]
    for item in items:
        record = printable(str(item["recordId"] or "-"))
        short = record if record == "-" else f"{record[:10]}...{record[-4:]}"
        event, actor, tx = (printable(str(item[key] or "-")) for key in ("event", "actor", "txHash"))
        if (item.get("details") or {}).get("evaluationOf"):  # an evaluation record of the subject, not one of its own
            event = f"{event} (evaluation)"
        lines.append(f"{item['time']:21} {event:20} {item['blockNumber']:>7}  {short:20} {actor:42} {tx}")
    return lines

"""`provenance revoke|supersede|endorse|dispute RECORD`: change or comment on a record's status.

revoke and supersede are for the record's publisher, with a machine-readable
reason code (erasure, wrong_claims, key_compromise, withdrawn, other) and text
for people; endorse and dispute for anyone (auditors, rights holders), who
point at a signed statement of theirs by its keccak256 digest. RECORD is a
record id, or a subject the local store holds exactly one record of. A batched
record the local store holds is proven on chain first (the registry acts on
stored records only).
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from provenance.store import Store

REASON_CODES = ("erasure", "wrong_claims", "key_compromise", "withdrawn", "other")


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    revoke = sub.add_parser("revoke", help="revoke a record you published")
    revoke.add_argument("record", help="record id (or a subject the local store knows)")
    revoke.add_argument("--reason", required=True, help="why, for people (public; e.g. 'erasure request 2026-114')")
    supersede = sub.add_parser("supersede", help="point a record you published at its successor")
    supersede.add_argument("record")
    supersede.add_argument("--by", required=True, metavar="RECORD", help="the successor record")
    supersede.add_argument("--reason", default="", help="why, for people (public; may be empty)")
    for parser in (revoke, supersede):
        parser.add_argument(
            "--reason-code", choices=REASON_CODES, default="other",
            help="why, for machines: verifiers act on it (e.g. erasure reaches every derived artifact); "
            "default: other",
        )
    endorse = sub.add_parser("endorse", help="endorse a record's claims with a signed statement of yours")
    dispute = sub.add_parser("dispute", help="dispute a record's claims with a signed statement of yours")
    for parser in (endorse, dispute):
        parser.add_argument("record")
        parser.add_argument("--statement", required=True, help="your statement file (its keccak256 goes on chain)")
        parser.add_argument("--uri", default="", help="where others can read that statement")
    from cli.context import add_wait_options

    for parser in (revoke, supersede, endorse, dispute):
        parser.add_argument("--key", help="key name (default: the only key)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        add_wait_options(parser)
        parser.set_defaults(handler=run)


def resolve_record(text: str, store: Store) -> bytes:
    """A record id, or the one record the store holds for a subject."""
    from provenance.errors import InvalidValue
    from provenance.record import parse_bytes32

    value = parse_bytes32(text, "RECORD")
    if store.record(value) is not None:
        return value
    matches = store.records_of_subject(value)
    if len(matches) == 1:
        return bytes.fromhex(matches[0].record_id[2:])
    if len(matches) > 1:
        raise InvalidValue(
            f"subject {text} has {len(matches)} records in the local store; give the record id",
            hint="list them with `provenance history " + text + "`",
        )
    return value


def _statement_digest(path: str) -> bytes:
    """keccak256 of the bytes of the endorser's or disputer's statement file, as the registry records it."""
    from provenance._keccak import keccak256
    from provenance.errors import InvalidValue

    try:
        return keccak256(Path(path).read_bytes())
    except OSError as err:
        raise InvalidValue(f"statement file {path} cannot be read: {err.strerror}") from None


def run(args: Namespace) -> int:
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
    from provenance.publish import Publisher
    from provenance.record import ReasonCode, hex32

    settings = settings_from(args)
    comments = args.command in ("endorse", "dispute")
    digest = _statement_digest(args.statement) if comments else b""  # read first: a bad path sends nothing
    account = unlock_key(settings, args.key)
    record_id: bytes | None = None
    try:
        ledger = open_ledger(settings)
        watch_waits(ledger, json=args.json)
        store = open_store(settings, ledger)
        record_id = resolve_record(args.record, store)
        ensure_funds(settings, ledger, account.address)
        publisher = Publisher(store, ledger, account)
        if args.no_wait:  # a batched record is proven first, and waited for: the registry acts on stored records
            ledger.wait_timeout = args.timeout
            for proven in (record_id, *([resolve_record(args.by, store)] if args.command == "supersede" else [])):
                publisher.prove_if_batched(proven)
            ledger.wait_timeout = 0.0
        if args.command == "revoke":
            receipt = publisher.revoke(record_id, args.reason, ReasonCode.parse(args.reason_code))
        elif args.command == "supersede":
            receipt = publisher.supersede(
                record_id, resolve_record(args.by, store), ReasonCode.parse(args.reason_code), args.reason
            )
        else:
            comment = publisher.endorse if args.command == "endorse" else publisher.dispute
            receipt = comment(record_id, digest, args.uri)
    except LedgerUnavailable as err:
        raise chain_unavailable(settings, err) from None
    except WaitTimedOut as err:  # sent (or its proveBatched is), not final yet: the journal finishes it later
        shown = hex32(record_id) if record_id is not None else None
        if "proveBatched" in str(err):  # the record's proof is what is not final: the action is not sent yet
            err.hint = f"{err.hint}; then run `provenance {args.command}` again: the {args.command} is not sent yet"
        return not_final(settings, err, no_wait=args.no_wait, as_json=args.json,
                         fields={"action": args.command, "recordId": shown, "by": account.address},
                         lines=[f"{args.command}: record {shown}"] if shown else ())
    payload: dict[str, object] = {
        "action": args.command, "recordId": hex32(record_id), "by": account.address,
        "txHash": hex32(receipt.tx_hash), "blockNumber": receipt.block_number,
        "txUrl": settings.tx_url(receipt.tx_hash),  # the network's explorer, when it has one
    }
    if args.command in ("revoke", "supersede"):
        payload["reasonCode"] = args.reason_code
        payload["reason"] = args.reason
    if comments:
        payload["statementDigest"] = hex32(digest)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"{args.command}: record {payload['recordId']} (tx {payload['txHash']}, block {receipt.block_number})")
        if payload["txUrl"]:
            print(f"explorer: {payload['txUrl']}")
    return 0

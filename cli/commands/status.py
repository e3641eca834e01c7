"""`provenance revoke|supersede|endorse|dispute RECORD`: change or comment on a record's status.

revoke and supersede are for the record's publisher; endorse and dispute for
anyone (auditors, rights holders), who point at a signed statement of theirs
by its keccak256 digest. RECORD is a record id, or a subject the local store
holds exactly one record of.
"""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    revoke = sub.add_parser("revoke", help="revoke a record you published")
    revoke.add_argument("record", help="record id (or a subject the local store knows)")
    revoke.add_argument("--reason", required=True, help="why (public; e.g. 'erasure request')")
    supersede = sub.add_parser("supersede", help="point a record you published at its successor")
    supersede.add_argument("record")
    supersede.add_argument("--by", required=True, metavar="RECORD", help="the successor record")
    endorse = sub.add_parser("endorse", help="endorse a record's claims with a signed statement of yours")
    dispute = sub.add_parser("dispute", help="dispute a record's claims with a signed statement of yours")
    for parser in (endorse, dispute):
        parser.add_argument("record")
        parser.add_argument("--statement", required=True, help="your statement file (its keccak256 goes on chain)")
        parser.add_argument("--uri", default="", help="where others can read that statement")
    for parser in (revoke, supersede, endorse, dispute):
        parser.add_argument("--key", help="key name (default: the only key)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.set_defaults(handler=run)


def resolve_record(text: str, store) -> bytes:
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


def run(args) -> int:
    from pathlib import Path

    from cli.context import chain_unavailable, ensure_funds, open_ledger, open_store, settings_from, unlock_key
    from provenance._keccak import keccak256
    from provenance.errors import InvalidValue, LedgerUnavailable
    from provenance.publish import Publisher
    from provenance.record import hex32

    settings = settings_from(args)
    digest = None
    if args.command in ("endorse", "dispute"):
        try:
            digest = keccak256(Path(args.statement).read_bytes())
        except OSError as err:
            raise InvalidValue(f"statement file {args.statement} cannot be read: {err.strerror}") from None
    account = unlock_key(settings, args.key)
    try:
        ledger = open_ledger(settings)
        store = open_store(settings, ledger)
        record_id = resolve_record(args.record, store)
        ensure_funds(settings, ledger, account.address)
        publisher = Publisher(store, ledger, account)
        if args.command == "revoke":
            receipt = publisher.revoke(record_id, args.reason)
        elif args.command == "supersede":
            receipt = publisher.supersede(record_id, resolve_record(args.by, store))
        elif args.command == "endorse":
            receipt = publisher.endorse(record_id, digest, args.uri)
        else:
            receipt = publisher.dispute(record_id, digest, args.uri)
    except LedgerUnavailable as err:
        raise chain_unavailable(settings, err) from None
    payload = {
        "action": args.command, "recordId": hex32(record_id), "by": account.address,
        "txHash": hex32(receipt.tx_hash), "blockNumber": receipt.block_number,
    }
    if digest is not None:
        payload["statementDigest"] = hex32(digest)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"{args.command}: record {payload['recordId']} (tx {payload['txHash']}, block {receipt.block_number})")
    return 0

"""`provenance register PATH`: hash, validate the claims, pin the parents, commit, sign, then register or queue.

Everything that can be wrong with the input (the path, the claims file, the
key, its password, an unknown or ambiguous parent) is checked before anything
is written, so bad input leaves no trace in the store, the journal or the chain.
Parents the claims name by a plain subject are pinned to a record before the
claims are committed (:func:`provenance.pins.pin_parents`), and the output
says to which record, and whose.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("register", help="register an artifact with its claims (directly or into the next batch)")
    parser.add_argument("path", help="the artifact: a file or a directory")
    parser.add_argument("--kind", choices=("model", "dataset", "other"), help="must match the claims file's kind")
    parser.add_argument("--claims", required=True, help="claims file (YAML or JSON, see docs/claims.md)")
    parser.add_argument("--parent", action="append", default=[], metavar="SUBJECT",
                        help="subject of an artifact this one derives from (repeatable): an extra on-chain parent "
                        "outside the claims, not pinned to a record; name parents in the claims' lineage to pin them")
    parser.add_argument("--uri", default="",
                        help="where this record's Statement is published (signed, public; docs/fetching.md): "
                        "https://..., ipfs://CID[/PATH], hf://[datasets/]ORG/NAME@REVISION/PATH, file:///PATH")
    parser.add_argument("--batch", action="store_true", help="queue for the next `provenance anchor` instead")
    parser.add_argument("--key", help="key name (default: the only key)")
    parser.add_argument("--allow-unknown-parent", action="store_true",
                        help="accept parents no record registers, and pins to records not known here")
    parser.add_argument("--allow-symlinks", action="store_true", help="follow symlinks that stay inside the artifact")
    parser.add_argument("--out", help="where to write the Statement (default: beside the artifact)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from pathlib import Path

    from cli.context import (
        chain_unavailable,
        ensure_funds,
        open_index,
        open_ledger,
        open_store,
        settings_from,
        unlock_key,
    )
    from cli.terminal import ProgressBar
    from provenance.claims import Claims
    from provenance.errors import LedgerUnavailable, ManifestError, UnknownParent, UsageError
    from provenance.index import Index
    from provenance.indexer import Indexer
    from provenance.manifest import Manifest
    from provenance.pins import pin_parents
    from provenance.publish import Publisher, prepare, unknown_parents
    from provenance.record import Kind, hex32, parse_bytes32
    from provenance.statement import statement_path_for

    settings = settings_from(args)
    from provenance.fetch import check_uri

    check_uri(args.uri)  # a bad uri is refused (exit 2) before anything is hashed or signed
    artifact = Path(args.path)
    if not artifact.exists():
        raise ManifestError(f"artifact path {artifact} does not exist", hint="give a file or a directory")
    claims = Claims.from_file(args.claims)
    extra = [parse_bytes32(p, "--parent") for p in args.parent]
    kind = Kind.parse(args.kind) if args.kind else None
    if kind is not None and kind.name.lower() != claims.kind:
        raise UsageError(f"--kind {args.kind} differs from the claims file's kind {claims.kind}")
    account = unlock_key(settings, args.key)
    with ProgressBar("hashing") as bar:
        manifest = Manifest.from_path(artifact, allow_symlinks=args.allow_symlinks, progress=bar)
    index: Index | None = None
    try:
        ledger = open_ledger(settings)
        store = open_store(settings, ledger)
        if claims.parents() or (extra and not args.allow_unknown_parent):
            index = open_index(settings, ledger)  # the registry's events: records of the parents, revocations
            Indexer(index, ledger).sync()
    except LedgerUnavailable as err:
        if index is not None:
            index.close()
        raise chain_unavailable(settings, err) from None
    try:
        # the parents the claims name are pinned to the record relied on, then committed with the claims
        claims, pins = pin_parents(
            claims, publisher=account.address, store=store, index=index, chain_id=ledger.chain_id,
            registry=ledger.domain.verifying_contract, allow_unknown=args.allow_unknown_parent,
        )
        prepared = prepare(
            account=account, domain=ledger.domain, claims=claims, manifest=manifest, kind=kind,
            extra_parents=extra, uri=args.uri, name=artifact.resolve().name,
            statement_path=Path(args.out) if args.out else statement_path_for(artifact),
        )
        pinned = {pin.subject for pin in pins}
        unpinned = [p for p in prepared.statement.record.parents if p not in pinned]
        if unpinned and not args.allow_unknown_parent:
            missing = unknown_parents(unpinned, store=store, ledger=ledger, home=settings.home, index=index)
            if missing:
                raise UnknownParent(
                    "parent not registered on chain " f"{ledger.chain_id}: " + ", ".join(hex32(p) for p in missing),
                    hint="register the parent first, or pass --allow-unknown-parent",
                )
    finally:
        if index is not None:
            index.close()
    statement = prepared.statement
    try:
        if args.batch:
            Publisher(store, ledger, account).queue([prepared])
            state = "queued"
        else:
            ensure_funds(settings, ledger, account.address)
            statement = Publisher(store, ledger, account).register(prepared)
            state = "anchored"
    except LedgerUnavailable as err:
        raise chain_unavailable(settings, err) from None
    anchor = statement.anchor.to_json() if statement.anchor else None
    result = {
        "subject": hex32(statement.subject),
        "recordId": hex32(statement.record_id),
        "publisher": statement.publisher,
        "state": state,
        "statement": str(prepared.statement_path),
        "anchor": anchor,
        "pins": [pin.to_json() for pin in pins],
        "unpinnedParents": [hex32(p) for p in unpinned],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"subject:   {result['subject']}")
        print(f"record id: {result['recordId']}")
        print(f"publisher: {result['publisher']}")
        for pin in pins:
            print(f"parent:    {pin.describe()}")
        for parent in unpinned:
            print(f"parent:    {hex32(parent)}, not pinned to a record")
        if anchor:
            print(f"anchored:  tx {anchor['txHash']} in block {anchor['blockNumber']}")
        else:
            print("queued:    run `provenance anchor` to anchor the batch")
        print(f"statement: {result['statement']}")
    return 0

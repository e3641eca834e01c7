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
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from provenance.bundle import Gathered
    from provenance.claims import Claims
    from provenance.index import Index
    from provenance.ledger import Ledger
    from provenance.pins import Pin
    from provenance.remote import ServiceSource
    from provenance.statement import Statement
    from provenance.store import Store


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("register", help="register an artifact with its claims (directly or into the next batch)")
    parser.add_argument("path", help="the artifact: a file or a directory")
    parser.add_argument("--kind", choices=("model", "dataset", "other", "evaluation"),
                        help="must match the claims file's kind")
    parser.add_argument("--claims", required=True, help="claims file (YAML or JSON, see docs/claims.md)")
    parser.add_argument("--parent", action="append", default=[], metavar="SUBJECT",
                        help="subject of an artifact this one derives from (repeatable): an extra on-chain parent "
                        "outside the claims, not pinned to a record; name parents in the claims' lineage to pin them")
    parser.add_argument("--uri", default="",
                        help="where this record's Statement is published (signed, public; docs/fetching.md): "
                        "https://..., ipfs://CID[/PATH], hf://[datasets/]ORG/NAME@REVISION/PATH, file:///PATH")
    parser.add_argument("--parent-statement", action="append", default=[], metavar="FILE",
                        help="a pinned parent's Statement to carry in this one's lineage (repeatable); others are "
                        "taken from the local store, the parent record's uri or --service")
    parser.add_argument("--service", metavar="URL",
                        help="a verifier service to ask for the Statements of pinned parents (batched records)")
    parser.add_argument("--batch", action="store_true", help="queue for the next `provenance anchor` instead")
    parser.add_argument("--key", help="key name (default: the only key)")
    parser.add_argument("--allow-unknown-parent", action="store_true",
                        help="accept parents no record registers, and pins to records not known here")
    parser.add_argument("--allow-symlinks", action="store_true", help="follow symlinks that stay inside the artifact")
    parser.add_argument("--out", help="where to write the Statement (default: beside the artifact)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    from cli.context import add_wait_options

    add_wait_options(parser)
    parser.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from cli.context import (
        chain_unavailable,
        ensure_funds,
        not_final,
        open_index,
        open_ledger,
        open_store,
        settings_from,
        unlock_key,
        watch_waits,
    )
    from cli.terminal import ProgressBar
    from provenance.claims import Claims
    from provenance.errors import LedgerUnavailable, ManifestError, UnknownParent, UsageError, WaitTimedOut
    from provenance.indexer import Indexer
    from provenance.manifest import Manifest
    from provenance.pins import WithStatements, pin_parents
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
    from provenance.remote import ServiceSource
    from provenance.statement import Statement

    given = [Statement.from_file(Path(f)) for f in args.parent_statement]
    service = ServiceSource(args.service) if args.service else None
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
        watch_waits(ledger, json=args.json)
        store = open_store(settings, ledger)
        if claims.parents() or (extra and not args.allow_unknown_parent):
            index = open_index(settings, ledger)  # the registry's events: records of the parents, revocations
            Indexer(index, ledger).sync()
    except LedgerUnavailable as err:
        if index is not None:
            index.close()
        raise chain_unavailable(settings, err) from None
    try:
        # Statements of parents given as files or kept by --service: checked against the chain, then they
        # are known records too (a parent in another publisher's batch is on chain only as the batch root)
        known = _parent_statements(claims, given, service, ledger=ledger, index=index) if index else []
        # the parents the claims name are pinned to the record relied on, then committed with the claims
        claims, pins = pin_parents(
            claims, publisher=account.address, store=store,
            index=WithStatements(index, known) if index is not None else None, chain_id=ledger.chain_id,
            registry=ledger.domain.verifying_contract, allow_unknown=args.allow_unknown_parent,
        )
        prepared = prepare(
            account=account, domain=ledger.domain, claims=claims, manifest=manifest, kind=kind,
            extra_parents=extra, uri=args.uri, name=artifact.resolve().name,
            statement_path=Path(args.out) if args.out else statement_path_for(artifact),
        )
        carried = _lineage(pins, given, store=store, index=index, service=service,
                           home=settings.home)
        prepared = replace(prepared, statement=prepared.statement.with_lineage(carried.statements))
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
    except WaitTimedOut as err:  # sent, not final yet: the journal finishes it later
        return not_final(
            settings, err, no_wait=args.no_wait, as_json=args.json,
            fields={"subject": hex32(statement.subject), "recordId": hex32(statement.record_id),
                    "publisher": statement.publisher, "statement": str(prepared.statement_path)},
            lines=[f"subject:   {hex32(statement.subject)}", f"record id: {hex32(statement.record_id)}",
                   f"publisher: {statement.publisher}", f"statement: {prepared.statement_path} (no anchor yet)"],
        )
    anchor = statement.anchor.to_json() if statement.anchor else None
    result = {
        "subject": hex32(statement.subject),
        "recordId": hex32(statement.record_id),
        "publisher": statement.publisher,
        "state": state,
        "statement": str(prepared.statement_path),
        "anchor": anchor,
        "txUrl": settings.tx_url(str(anchor["txHash"])) if anchor else None,  # the network's explorer, if any
        "pins": [pin.to_json() for pin in pins],
        "lineage": [hex32(s.record_id) for s in statement.lineage],
        "lineageMissing": [hex32(r) for r in carried.missing],
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
        if statement.lineage:
            print(f"lineage:   {len(statement.lineage)} ancestor Statement(s) carried in the Statement")
        for record_id in carried.missing:
            print(f"lineage:   no Statement of record {hex32(record_id)} was found to carry; verifiers will need "
                  "its record's uri or a service (--parent-statement FILE carries it)")
        if anchor:
            print(f"anchored:  tx {anchor['txHash']} in block {anchor['blockNumber']}")
            if result["txUrl"]:
                print(f"explorer:  {result['txUrl']}")
        else:
            print("queued:    run `provenance anchor` to anchor the batch")
        print(f"statement: {result['statement']}")
    return 0


def _lineage(pins: Sequence[Pin], given: Sequence[Statement], *, store: Store,
             index: Index | None, service: ServiceSource | None, home: Path) -> Gathered:
    """The Statements of the pinned parents and their pinned ancestors (:func:`provenance.bundle.gather`):
    from the files given, the local store, the index, the record's uri, then the service."""
    from provenance.bundle import gather
    from provenance.errors import NotFound
    from provenance.fetch import MAX_BATCH_DOCUMENT_BYTES, Fetcher
    from provenance.located import statement_of

    fetcher = Fetcher.from_environment(home, allow_file=True)
    documents = Fetcher.from_environment(home, allow_file=True, max_bytes=MAX_BATCH_DOCUMENT_BYTES)

    def find(record_id: bytes) -> Statement | None:
        found = store.statement(record_id) or (index.statement(record_id) if index is not None else None)
        if found is None and index is not None and (record := index.record(record_id)) is not None:
            try:
                found = statement_of(record, fetcher.fetch, index, fetch_document=documents.fetch)
            except NotFound:
                found = None
        if found is None and service is not None:
            found = service.statement(record_id)
        return found

    return gather([pin.record_id for pin in pins], find, carried=given)


def _parent_statements(claims: Claims, given: Sequence[Statement], service: ServiceSource | None, *,
                       ledger: Ledger, index: Index) -> list[Statement]:
    """The parents' Statements given with --parent-statement and those --service keeps for the claims'
    parent subjects, each verified against the chain as a service would before keeping it
    (:meth:`provenance.verifier.Verifier.accept_statement`): a given one that does not verify is refused."""
    from provenance.errors import UsageError
    from provenance.policy import Policy
    from provenance.record import hex32
    from provenance.verifier import Verifier

    verifier = Verifier(ledger, index, Policy.default(), sync=False)
    for statement in given:
        acceptance = verifier.accept_statement(statement)
        if not acceptance.accepted:
            raise UsageError(f"--parent-statement of record {hex32(statement.record_id)}: {acceptance.reason()}")
    offered: list[Statement] = []
    for subject in claims.parents() if service is not None else ():
        offered += service.statements_for(subject) if service is not None else []
    return [*given, *(s for s in offered if verifier.accept_statement(s).accepted)]

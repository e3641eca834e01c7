"""`provenance disclose PATH|SUBJECT|STATEMENT --fields a,b --out FILE`: reveal more claim fields later.

The salts and values of every field stay in the local store; this writes a
copy of the record's Statement that also reveals the chosen fields (sections
such as ``privacy`` stand for all their fields), each with its salt and Merkle
proof against the signed claimsRoot (:meth:`provenance.store.Store.disclosing`).
The record is the one of the target's Statement: a Statement file, the one
beside the artifact, else the local store's of its subject
(:mod:`provenance.targets`). No chain access is needed.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("disclose", help="write a Statement revealing more claim fields (from the local store)")
    parser.add_argument("target", metavar="PATH|SUBJECT|STATEMENT",
                        help="the artifact (its Statement beside it), a Statement file, or the artifact's 0x subject")
    parser.add_argument("--fields", required=True,
                        help="comma-separated fields or sections, e.g. privacy,copyright.holders")
    parser.add_argument("--out", required=True, help="where to write the new Statement")
    parser.add_argument("--json", action="store_true", help="print the disclosed fields as JSON")
    parser.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from pathlib import Path

    from cli.context import settings_from
    from cli.terminal import ProgressBar
    from provenance.claims import resolve_fields
    from provenance.errors import NotInStore
    from provenance.store import STORE_FILE, Store
    from provenance.targets import resolve_target, statement_for

    settings = settings_from(args)
    target = resolve_target(args.target)
    fields = resolve_fields([f.strip() for f in args.fields.split(",") if f.strip()])  # bad names told first
    if not (settings.home / STORE_FILE).exists():
        raise NotInStore(
            f"no local store at {settings.home}: only the publisher's store holds the salts",
            hint="run this where the record was registered (same PROVENANCE_HOME)",
        )
    store = Store.open(settings.home)
    with ProgressBar("hashing") as bar:  # an artifact without its Statement beside it is hashed
        statement = statement_for(target, store, progress=bar)
    out = store.disclosing(statement.record_id, fields)
    out.write(Path(args.out))
    disclosed = [d["field"] for d in out.disclosures]
    if args.json:
        print(json.dumps({"statement": args.out, "disclosed": disclosed}, indent=2))
    else:
        print(f"wrote {args.out} disclosing {len(disclosed)} fields: {', '.join(disclosed)}")
    return 0

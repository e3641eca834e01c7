"""`provenance disclose PATH|STATEMENT --fields a,b --out FILE`: reveal more claim fields later.

The salts and values of every field stay in the local store; this writes a
copy of the record's Statement that also reveals the chosen fields (sections
such as ``privacy`` stand for all their fields), each with its salt and Merkle
proof against the signed claimsRoot. No chain access is needed.
"""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    parser = sub.add_parser("disclose", help="write a Statement revealing more claim fields (from the local store)")
    parser.add_argument("target", help="the artifact (its Statement beside it) or a Statement file")
    parser.add_argument("--fields", required=True, help="comma-separated fields or sections, e.g. privacy,copyright.holders")
    parser.add_argument("--out", required=True, help="where to write the new Statement")
    parser.add_argument("--json", action="store_true", help="print the disclosed fields as JSON")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dataclasses import replace
    from pathlib import Path

    from cli.context import settings_from
    from provenance.claims import resolve_fields
    from provenance.errors import StatementError
    from provenance.statement import Statement, statement_path_for
    from provenance.store import STORE_FILE, Store

    settings = settings_from(args)
    target = Path(args.target)
    if not target.exists():
        raise StatementError(f"{target} does not exist", hint="give the artifact's path or its Statement file")
    source = target if target.is_file() and target.name.endswith(".json") else statement_path_for(target)
    statement = Statement.from_file(source)
    fields = resolve_fields([f.strip() for f in args.fields.split(",") if f.strip()])
    if not (settings.home / STORE_FILE).exists():
        raise StatementError(f"no local store at {settings.home}: only the publisher's store holds the salts")
    store = Store.open(settings.home)
    stored = store.record(statement.record_id)
    if stored is None:
        raise StatementError(
            f"record {'0x' + statement.record_id.hex()} is not in the local store {store.path}",
            hint="run this where the record was registered (same PROVENANCE_HOME)",
        )
    commitment = store.commitment(statement.record_id)
    already = {d["field"] for d in stored.statement.disclosures}
    disclosures = [d.to_dict() for d in commitment.disclose(sorted(already | set(fields)))]
    # the stored Statement is the freshest (it has the anchor even if the file beside the artifact is older)
    out = replace(stored.statement, disclosures=tuple(disclosures))
    out.write(Path(args.out))
    if args.json:
        print(json.dumps({"statement": args.out, "disclosed": [d["field"] for d in disclosures]}, indent=2))
    else:
        print(f"wrote {args.out} disclosing {len(disclosures)} fields: {', '.join(d['field'] for d in disclosures)}")
    return 0

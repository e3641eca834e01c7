"""``provenance export PATH|SUBJECT --format FORMAT``: evidence in other ecosystems' formats.

``--format in-toto`` writes the artifact's Statement (the provenance.json
receipt); ``--format spdx`` an SPDX 3.0.1 JSON-LD document of the artifact and
its lineage (docs/export.md). Both find the Statement beside PATH, in a
Statement file, or for a SUBJECT in the local store. ``--format oms`` writes
an OpenSSF Model Signing bundle (Sigstore bundle, DSSE, in-toto Statement v1)
of the artifact at PATH, signed with the EC key given by ``--key`` (PEM,
P-256), that ``model_signing verify key --public_key PUB.pem --signature FILE
PATH`` accepts. ``--format hf-card`` prints the YAML metadata a publisher
adds to the artifact's Hugging Face card (license, base_model, datasets, a
provenance entry naming the record and, for a model, a model-index of its
evaluations; docs/huggingface.md). ``--format in-toto-test-result`` writes an
evaluation record's results as an in-toto Statement with the test-result
predicate (docs/export.md).
"""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser, Namespace, _SubParsersAction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from provenance.statement import Statement
    from provenance.store import Store


def _export_oms(args: Namespace) -> int:
    from cli.terminal import PASSWORD_ENV, ProgressBar, password
    from provenance.errors import InvalidValue, SignatureError, UsageError
    from provenance.manifest import DEFAULT_IGNORES, Manifest
    from provenance.oms import load_private_key, sign_manifest

    if not args.key:
        raise UsageError("--format oms needs --key KEY.pem (an EC P-256 private key in PEM)")
    given = os.environ.get(PASSWORD_ENV)
    try:
        key = load_private_key(args.key, given.encode() if given else None)
    except SignatureError as err:
        if "encrypted" not in str(err) or given or not sys.stdin.isatty():
            raise
        key = load_private_key(args.key, password(prompt=f"password for {args.key}: ").encode())

    from provenance.hfcache import HubCache
    from provenance.targets import artifact_path

    root = artifact_path(args.target, hub=HubCache(download=args.download))  # hf://: the cached snapshot
    single_file = os.path.isfile(root)
    ignore = list(DEFAULT_IGNORES)
    if args.out and not single_file:
        # a bundle written inside the artifact is not part of it (model_signing does the same)
        rel = os.path.relpath(os.path.realpath(args.out), os.path.realpath(root))
        if not rel.startswith(".."):
            ignore.append(rel.replace(os.sep, "/"))

    with ProgressBar("hashing") as bar:
        manifest = Manifest.from_path(root, allow_symlinks=args.allow_symlinks, ignore=ignore, progress=bar)
    name = os.path.basename(os.path.normpath(os.path.abspath(root)))
    bundle = sign_manifest(
        manifest,
        key,
        model_name=name,
        single_file=single_file,
        ignore_paths=ignore,
        allow_symlinks=args.allow_symlinks,
    )
    if args.out:
        try:
            bundle.write(args.out)
        except OSError as err:
            raise InvalidValue(f"{args.out}: cannot write the bundle ({err.strerror})") from None
        count = len(manifest.entries) - len(bundle.left_out)
        print(f"wrote {args.out}: OMS bundle of {count} file{'s' if count != 1 else ''}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(bundle.data)
        sys.stdout.flush()
    if bundle.left_out:
        left_out = ", ".join(bundle.left_out)
        print(f"note: left out of the bundle, as model_signing ignores git files by default: {left_out}",
              file=sys.stderr)
    return 0


def _find_statement(args: Namespace) -> tuple[Statement, Store | None]:
    """The target's Statement (provenance.targets), and the local store when there is one."""
    from cli.context import settings_from
    from cli.terminal import ProgressBar
    from provenance.hfcache import HubCache
    from provenance.store import STORE_FILE, Store
    from provenance.targets import resolve_target, statement_for

    target = resolve_target(args.target, hub=HubCache(download=args.download))
    settings = settings_from(args)
    store = Store.open(settings.home) if (settings.home / STORE_FILE).exists() else None
    with ProgressBar("hashing") as bar:  # an artifact without its Statement beside it is hashed
        return statement_for(target, store, progress=bar), store


def _write(args: Namespace, text: str) -> None:
    from provenance.errors import InvalidValue

    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as err:
            raise InvalidValue(f"{args.out}: cannot write ({err.strerror})") from None
    else:
        sys.stdout.write(text)


def _export_intoto(args: Namespace) -> int:
    from provenance.spdx import dumps, intoto_document

    statement, _ = _find_statement(args)
    _write(args, dumps(intoto_document(statement)))
    return 0


def _export_test_result(args: Namespace) -> int:
    from provenance.spdx import dumps, intoto_test_result

    statement, _ = _find_statement(args)
    _write(args, dumps(intoto_test_result(statement)))
    return 0


def _export_spdx(args: Namespace) -> int:
    from provenance.record import Kind
    from provenance.spdx import dumps, spdx_document

    statement, store = _find_statement(args)
    ancestors: dict[bytes, Statement] = {}
    pending = list(statement.record.parents)
    while pending and store is not None and len(ancestors) < 256:
        subject = pending.pop()
        if subject in ancestors:
            continue
        found = store.statements_for(subject)
        if found:
            ancestors[subject] = found[-1]
            pending.extend(found[-1].record.parents)
    evaluations = _evaluations(args, statement, store) if statement.record.kind == Kind.MODEL else []
    _write(args, dumps(spdx_document(statement, ancestors, evaluations=evaluations)))
    return 0


def _evaluations(args: Namespace, statement: Statement, store: Store | None) -> list[Statement]:
    """The evaluation records of ``statement``'s model: the ``--evaluation`` files, then the local store's
    (records of kind evaluation naming the subject as a parent; each record once)."""
    from pathlib import Path

    from provenance.record import Kind
    from provenance.statement import Statement as _Statement

    found: dict[bytes, Statement] = {}
    for path in args.evaluation or ():
        given = _Statement.from_file(Path(path))
        if given.record.kind != Kind.EVALUATION:
            from provenance.errors import InvalidValue

            raise InvalidValue(f"{path}: the Statement of a record of kind {given.record.kind.name.lower()}; "
                               "--evaluation takes the Statement of an evaluation record")
        found.setdefault(given.record_id, given)
    if store is not None:
        for stored in store.records():
            record = stored.statement.record
            if record.kind == Kind.EVALUATION and statement.subject in record.parents and stored.state != "failed":
                found.setdefault(stored.statement.record_id, stored.statement)
    return list(found.values())


def _export_hf_card(args: Namespace) -> int:
    from provenance.hfcard import card_block

    statement, store = _find_statement(args)
    parents: dict[bytes, Statement] = {}
    for subject in statement.record.parents:  # a parent's Hub name, when its Statement is not carried
        found = store.statements_for(subject) if store is not None else []
        if found:
            parents[subject] = found[-1]
    _write(args, card_block(statement, parents, _evaluations(args, statement, store)))
    return 0


# name -> handler
FORMATS = {"in-toto": _export_intoto, "in-toto-test-result": _export_test_result, "spdx": _export_spdx,
           "oms": _export_oms, "hf-card": _export_hf_card}


def add_parser(subparsers: _SubParsersAction[ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "export",
        help="export an artifact's evidence: in-toto Statement, SPDX 3.0 JSON-LD, an OMS bundle, or an HF card block",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""),
    )
    p.add_argument("target", metavar="PATH|SUBJECT|STATEMENT",
                   help="the artifact's path, its 0x subject, a Statement file, or "
                   "hf://[datasets/]ORG/NAME[@REV][/PATH] (found in the Hugging Face cache)")
    p.add_argument("--download", action="store_true",
                   help="hf:// targets: fetch what the cache lacks with huggingface_hub (network)")
    p.add_argument("--format", required=True, metavar="FORMAT", help=f"one of: {', '.join(FORMATS)}")
    p.add_argument("--key", metavar="KEY.pem",
                   help="oms: EC private key (PEM) to sign with; password from $PROVENANCE_KEY_PASSWORD")
    p.add_argument("--evaluation", action="append", metavar="STATEMENT",
                   help="hf-card, spdx of a model: the Statement of an evaluation record of the model (repeatable); "
                   "its results join the card's model-index (the SPDX ai_metric), with those of the evaluation records "
                   "in the local store")
    p.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    p.add_argument(
        "--allow-symlinks",
        action="store_true",
        help="follow symbolic links that stay inside PATH (model_signing verify then needs --allow_symlinks)",
    )
    p.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from provenance.errors import InvalidValue, UsageError

    handler = FORMATS.get(args.format)
    if handler is None:
        raise InvalidValue(f"unknown export format {args.format!r}; accepted: {', '.join(FORMATS)}")
    if args.format == "oms" and not args.target.startswith("hf://") and not os.path.exists(args.target):
        raise UsageError(f"--format oms needs the artifact's path; {args.target} does not exist")
    return handler(args)

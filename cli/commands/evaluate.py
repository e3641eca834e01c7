"""`provenance evaluate MODEL --results FILE`: sign an evaluation of a model's exact weights and register it.

The results document (an lm-evaluation-harness results JSON or a model card's
``model-index``, :mod:`provenance.evalimport`) is the artifact: its record's
subject is the file's digest, its kind ``evaluation``, its parents the
model's and the benchmarks' subjects, pinned to their records as ``register``
pins lineage; its claims are the evaluation's facts, all disclosed.

Before anything is signed: the results must name MODEL (a local path of
other weights, another Hub repository or another commit is refused; results
naming no model need --accept-unchecked-model), the model must have a record
(else "register the model first", unless --allow-unknown-parent), and the
claims and parents are shown and confirmed (--yes on a non-terminal). Then
the claims go through ``provenance register`` itself (:func:`cli.commands.register.run`),
so direct, batched, Statement and journal behave exactly as there.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser, Namespace, _SubParsersAction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from provenance.claims import Claims
    from provenance.evalimport import Imported
    from provenance.pins import Pin

CATEGORIES = ("capability", "safety", "bias", "privacy", "other")


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("evaluate", help="register an evaluation's results, tied to the model's exact weights")
    parser.add_argument("model", metavar="MODEL",
                        help="the evaluated model: a file, a directory, or hf://ORG/NAME[@REVISION] (its cached "
                        "snapshot)")
    parser.add_argument("--results", required=True, metavar="FILE",
                        help="the results: an lm-evaluation-harness results JSON or a model card with a model-index")
    parser.add_argument("--format", choices=("lm-eval", "model-index"),
                        help="the results' format (default: detected from the content)")
    parser.add_argument("--benchmark", action="append", default=[], metavar="SUBJECT[=RECORD]",
                        help="a benchmark dataset evaluated on (repeatable): its subject, optionally pinned to its "
                        "record; a parent of the evaluation")
    parser.add_argument("--category", choices=CATEGORIES, default="capability",
                        help="what the evaluation measures (default: capability)")
    parser.add_argument("--evaluator", metavar="NAME", help="who ran the evaluation (signed text)")
    parser.add_argument("--accept-unchecked-model", action="store_true",
                        help="sign results that name no model (or one that cannot be compared here) as MODEL's")
    parser.add_argument("--allow-unknown-parent", action="store_true",
                        help="accept a model or benchmark no record registers")
    parser.add_argument("--allow-symlinks", action="store_true", help="follow symlinks that stay inside MODEL")
    parser.add_argument("--batch", action="store_true", help="queue for the next `provenance anchor` instead")
    parser.add_argument("--key", help="key name (default: the only key)")
    parser.add_argument("--uri", default="", help="where this record's Statement is published (as for register)")
    parser.add_argument("--out", help="where to write the Statement (default: beside the results file)")
    parser.add_argument("--yes", action="store_true", help="sign without asking (needed when stdin is no terminal)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be signed, sign nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from cli.context import chain_unavailable, open_index, open_ledger, open_store, settings_from
    from cli.terminal import ProgressBar
    from provenance.errors import LedgerUnavailable, ManifestError, UnknownParent, UsageError
    from provenance.evalimport import EvaluatedModel, check_model, load_results
    from provenance.fetch import check_uri
    from provenance.indexer import Indexer
    from provenance.manifest import Manifest
    from provenance.pins import pin_parents
    from provenance.targets import artifact_path

    settings = settings_from(args)
    check_uri(args.uri)
    results = Path(args.results)
    imported = load_results(results, args.format)
    benchmarks = [_benchmark(text) for text in args.benchmark]
    model_path = Path(artifact_path(args.model))
    if not model_path.exists():
        raise ManifestError(f"model path {model_path} does not exist", hint="give a file, a directory or hf://ORG/NAME")
    with ProgressBar("hashing") as bar:
        subject = Manifest.from_path(model_path, allow_symlinks=args.allow_symlinks, progress=bar).subject
    model = EvaluatedModel.of(args.model, model_path, subject)
    check = check_model(imported.model, model, subject_of=lambda p: Manifest.from_path(p).subject)
    if not check.checked and not args.accept_unchecked_model:
        raise UsageError(
            f"{check.how}: it cannot be told whether these are results of {model.describe()}",
            hint="pass --accept-unchecked-model to sign them as results of MODEL all the same",
        )
    claims = _claims(imported, model, benchmarks, category=args.category, evaluator=args.evaluator)
    address = _publisher(settings, args.key)
    try:
        ledger = open_ledger(settings)
        store = open_store(settings, ledger)
        index = open_index(settings, ledger)
    except LedgerUnavailable as err:
        raise chain_unavailable(settings, err) from None
    try:
        try:
            Indexer(index, ledger).sync()
        except LedgerUnavailable as err:
            raise chain_unavailable(settings, err) from None
        claims, pins = pin_parents(
            claims, publisher=address, store=store, index=index, chain_id=ledger.chain_id,
            registry=ledger.domain.verifying_contract, allow_unknown=args.allow_unknown_parent,
        )
    finally:
        index.close()
    pinned = {pin.subject for pin in pins}
    if subject not in pinned and not args.allow_unknown_parent:
        raise UnknownParent(
            f"the model {model.describe()} has no record on chain {ledger.chain_id}: register the model first",
            hint="`provenance register MODEL --claims FILE`, or pass --allow-unknown-parent",
        )
    _show(claims, pins, check.how if check.checked else f"not checked ({check.how})", model, results,
          imported, out=sys.stderr if args.json else sys.stdout)
    if args.dry_run:
        print("dry run: nothing signed", file=sys.stderr if args.json else sys.stdout)
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("stdin is not a terminal, so the evaluation cannot be confirmed",
                             hint="pass --yes to sign it without asking")
        answer = input("sign and register this evaluation? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not signed", file=sys.stderr)
            return 2
    return _register(args, claims, results)


def _benchmark(text: str) -> dict[str, str] | str:
    """``SUBJECT`` or ``SUBJECT=RECORD``, checked as subjects and record ids are."""
    from provenance.record import hex32, parse_bytes32

    subject, sep, record = text.partition("=")
    plain = hex32(parse_bytes32(subject.strip(), "--benchmark SUBJECT"))
    if not sep:
        return plain
    return {"subject": plain, "record": hex32(parse_bytes32(record.strip(), "--benchmark RECORD"))}


def _claims(imported: Imported, model: Any, benchmarks: list[dict[str, str] | str], *, category: str,
            evaluator: str | None) -> Claims:
    """The evaluation's claims: every fact of ``imported``, for ``model``, all disclosed."""
    from provenance.claims import Claims
    from provenance.record import hex32

    only = None
    if len(benchmarks) == 1:  # one benchmark: every result was measured on it
        only = benchmarks[0] if isinstance(benchmarks[0], str) else benchmarks[0]["subject"]
    results = [{**r.model_dump(mode="json"), "benchmark": only} for r in imported.results]
    named = imported.model.name if imported.model and imported.model.name else model.text
    data = {
        "kind": "evaluation",
        "name": f"{named} evaluation ({imported.format})",
        "evaluation": {
            "model": hex32(model.subject),
            "benchmarks": benchmarks,
            "category": category,
            "evaluator": evaluator,
            "date": imported.date.isoformat() if imported.date else None,
            "harness": imported.harness.model_dump(mode="json") if imported.harness else None,
            "config_digest": imported.config_digest,
            "results": results,
        },
        "disclose": ["evaluation"],
    }
    return Claims.from_mapping(data, source="built from the results")


def _publisher(settings: Any, name: str | None) -> str:
    """The address of the key that will sign (read without its password, as unlock_key chooses it)."""
    from provenance.errors import KeystoreError
    from provenance.keys import Keystore

    keystore = Keystore(settings.home)
    if name is None:
        names = keystore.names()
        if len(names) != 1:
            known = ", ".join(names) if names else "none yet"
            raise KeystoreError(
                f"--key NAME is needed: {'several keys exist' if names else 'no key exists'} (known: {known})",
                hint="create one with `provenance keys new NAME`",
            )
        name = names[0]
    return keystore.info(name).address


def _show(claims: Claims, pins: tuple[Pin, ...], how: str, model: Any, results: Path, imported: Imported,
          *, out: Any) -> None:
    """What will be signed: the artifact, the model check, the parents and the claims file."""
    import yaml

    from provenance._text import printable

    data = claims.model_dump(mode="json", exclude={"copyright", "privacy", "lineage"})
    print(f"artifact:  {printable(str(results))} (the {imported.format} results document)", file=out)
    print(f"model:     {printable(model.describe())}: {printable(how)}", file=out)
    for pin in pins:
        print(f"parent:    {pin.describe()}", file=out)
    for note in imported.skipped:
        print(f"skipped:   {printable(note)}", file=out)
    print("claims:", file=out)
    print(printable(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), keep="\n").rstrip(), file=out)


def _register(args: Namespace, claims: Claims, results: Path) -> int:
    """``provenance register RESULTS --kind evaluation --claims <these claims>`` with this command's options."""
    import json
    import tempfile

    from cli.commands import register
    from cli.main import build_parser

    with tempfile.TemporaryDirectory(prefix="provenance-evaluate-") as folder:
        claims_file = Path(folder) / "claims.json"
        claims_file.write_text(json.dumps(claims.model_dump(mode="json", exclude={"copyright", "privacy",
                                                                                   "lineage"})))
        ns = build_parser().parse_args(["register", str(results), "--kind", "evaluation", "--claims",
                                        str(claims_file)])
        for key, value in vars(args).items():  # global options, and the ones register shares with evaluate
            if key in vars(ns) and key not in ("path", "claims", "kind", "handler", "command"):
                setattr(ns, key, value)
        return register.run(ns)

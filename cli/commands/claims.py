"""`provenance claims from-card PATH|hf://ORG/NAME[@REV]`: a claims draft from a Hugging Face card.

PATH is a card (``README.md``) or a directory holding one: a copy of a model
or dataset repository, or a Hugging Face cache snapshot (its repository id and
revision are read from the cache layout); hf://ORG/NAME[@REV] is found in the
local cache (--download fetches it when it is not there). The card's metadata
is read from the file with huggingface_hub's card classes. The draft (YAML with
comments, docs/huggingface.md) goes to standard output or ``--out FILE``.
Datasets and base models the card names are resolved to subjects and records
from the local store and index of ``PROVENANCE_HOME`` (and ``--service``);
what is not found is a ``# TODO`` line. Nothing is signed or sent.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser, Namespace, _SubParsersAction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from cli.context import Settings
    from provenance.hfcard import CardKind
    from provenance.index import Index


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("claims", help="draft claims files (from a Hugging Face card)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    card = actions.add_parser(
        "from-card",
        help="draft a claims file from a model or dataset card's metadata",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""),
    )
    card.add_argument("target", metavar="PATH|hf://ORG/NAME[@REV]",
                      help="a README.md, a directory holding one, or a repository in the local Hugging Face cache")
    card.add_argument("--kind", choices=("model", "dataset"),
                      help="the card's kind (default: the cache's repository type, else its metadata)")
    card.add_argument("--name", metavar="ORG/NAME",
                      help="the repository id (default: read from the cache layout or hf://)")
    card.add_argument("--service", metavar="URL", help="a verifier service to ask for the records of named parents")
    card.add_argument("--key", help="your key name: your own records of a parent are preferred (default: the only key)")
    card.add_argument("--download", action="store_true",
                      help="hf:// targets: fetch what the cache lacks with huggingface_hub (network)")
    card.add_argument("--out", metavar="FILE", help="write the draft to FILE, which must not exist (default: stdout)")
    card.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from cli.context import settings_from
    from provenance.errors import InvalidValue, UsageError
    from provenance.hfcard import Resolver, ServiceRecords, draft_claims, load_card
    from provenance.store import STORE_FILE, Store

    settings = settings_from(args)
    if args.out and Path(args.out).exists():
        raise UsageError(f"{args.out} exists; the draft is not written over a file", hint="give another --out FILE")
    target, repo_id, revision, kind = _target(args.target, download=args.download)
    card = load_card(target, kind=args.kind or kind, repo_id=args.name or repo_id, revision=revision)
    store = Store.open(settings.home) if (settings.home / STORE_FILE).exists() else None
    indexes = _indexes(settings)
    service = ServiceRecords(args.service) if args.service else None
    try:
        resolver = Resolver(store=store, indexes=indexes, service=service, publisher=_publisher(settings, args.key),
                            registry=settings.registry)  # fmt: skip
        text = draft_claims(card, resolver, name=args.name)
    finally:
        for index in indexes:
            index.close()
        if store is not None:
            store.close()
    if service is not None:
        for problem in service.problems:
            print(f"note: {problem}", file=sys.stderr)
        if service.truncated:
            print(f"note: only the newest registrations the service lists were searched ({service.url})",
                  file=sys.stderr)
    if args.out:
        try:
            with open(args.out, "x", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as err:
            raise InvalidValue(f"{args.out}: cannot write ({err.strerror})") from None
        todo = sum(1 for line in text.splitlines() if "TODO" in line)
        print(f"wrote {args.out}: a {card.kind} claims draft with {todo} line(s) marked TODO", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _target(text: str, *, download: bool) -> tuple[Path, str | None, str | None, CardKind | None]:
    """(card path, repository id, revision, kind) of the command-line target; ``hf://`` in the local cache."""
    from provenance.errors import UsageError
    from provenance.hfcache import HubCache, parse_target, snapshot_of

    if not text.startswith("hf://"):
        if download:
            raise UsageError("--download is for hf:// targets only")
        return Path(text), None, None, None
    target = parse_target(text)
    if target.repo_type not in ("model", "dataset"):
        raise UsageError(f"{text}: a {target.repo_type}'s card describes an app, not a model or a dataset")
    path = HubCache(download=download).locate(target)
    snapshot = snapshot_of(path)
    kind: CardKind = "model" if target.repo_type == "model" else "dataset"
    return path, target.repo_id, snapshot.commit if snapshot is not None else None, kind


def _indexes(settings: Settings) -> list[Index]:
    """The local indexes of the registry's events under PROVENANCE_HOME (of ``--registry`` when given)."""
    from provenance.index import Index

    folder = settings.home / "index"
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.db"))
    if settings.registry:
        paths = [p for p in paths if p.stem.lower().endswith("-" + settings.registry.lower())]
    return [Index.open(p) for p in paths]


def _publisher(settings: Settings, name: str | None) -> str | None:
    """The address of ``--key``, else of the only key; None without keys (nothing is unlocked)."""
    from provenance.keys import Keystore

    keystore = Keystore(settings.home)
    if name is not None:
        return keystore.info(name).address
    names = keystore.names()
    return keystore.info(names[0]).address if len(names) == 1 else None

"""`provenance verify PATH|SUBJECT|STATEMENT`: is this what a trusted publisher registered, and may I use it?

Exit codes: 0 pass (warnings included unless --strict), 1 fail, 2 could not
verify (bad input, nothing known of the target, chain unreachable).

With ``--network`` a policy that does not set ``confirmations`` asks for the
network's (its blocks on top of the record's): a record anchored fewer blocks
ago is ``UNCONFIRMED``.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
import threading
from argparse import ArgumentParser, Namespace, _SubParsersAction
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from provenance.manifest import Manifest
    from provenance.remote import ServiceSource
    from provenance.verdict import Verdict


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("verify", help="verify an artifact, a subject or a Statement against the chain")
    parser.add_argument("target", help="artifact path (file or directory), subject (0x + 64 hex), Statement file, "
                        "or hf://[datasets/]ORG/NAME[@REV][/PATH] (found in the Hugging Face cache)")
    parser.add_argument("--download", action="store_true",
                        help="hf:// targets: fetch what the cache lacks with huggingface_hub (network)")
    parser.add_argument("--policy", help="trust policy file (YAML; see docs/policy.md); default: built-in policy")
    parser.add_argument("--use", help="intended use, overriding the policy's: commercial, research, ...")
    parser.add_argument("--statement", action="append", default=[], metavar="FILE",
                        help="Statement files: the artifact's own when none sits beside it (the first given, "
                        "unless another is of the artifact's subject), and others (e.g. of parents) to resolve "
                        "the lineage with")
    parser.add_argument("--service", metavar="URL",
                        help="a verifier service to ask for Statements the chain does not hold (batched records)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON (docs/verdicts.md)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    parser.set_defaults(handler=run)


def run(args: Namespace) -> int:
    collecting, callers_frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()  # until this command is imported: see _imported
    try:
        with ExitStack() as stack:  # the progress bar, if any, is gone before the verdict is printed
            verdict, service = _verdict(args, stack)
    finally:
        if not callers_frozen:  # what _imported froze is collectable again (a test runs this in its own process)
            gc.unfreeze()
        (gc.enable if collecting else gc.disable)()
    for problem in service.problems if service is not None else ():
        print(f"warning: {problem}", file=sys.stderr)
    if args.json:
        print(verdict.to_json_text(strict=args.strict))
    else:
        print(_results_apart(verdict.to_table(strict=args.strict)))
    sys.stdout.flush()
    return verdict.exit_code(strict=args.strict)


def _verdict(args: Namespace, stack: ExitStack) -> tuple[Verdict, ServiceSource | None]:
    # a directory's hashing starts first, while the rest of this command is imported and the chain is read
    # (hashing processes share the cores, not the GIL): resolve_target names a directory an artifact
    early = None
    if os.path.isdir(args.target) and not args.target.startswith("hf://") and not args.download:
        from provenance._hashing import PROCESSES_FROM, start_workers

        if own_bytes(args.target) >= PROCESSES_FROM:  # else the walk decides (a small artifact: threads)
            start_workers()  # their interpreters start while the hashing's own modules are imported
        early = (Path(args.target), *_hash_with_bar(Path(args.target), args.json, stack))
    from cli.context import open_index, open_ledger, settings_from, statement_sources
    from provenance.fetch import MAX_BATCH_DOCUMENT_BYTES, Fetcher
    from provenance.policy import Policy
    from provenance.remote import ServiceSource
    from provenance.statement import Statement
    from provenance.targets import ArtifactTarget, StatementTarget, SubjectTarget, resolve_target
    from provenance.verifier import Verifier

    _imported()

    settings = settings_from(args)
    policy = Policy.from_file(args.policy) if args.policy else Policy.default()
    if args.use:
        policy = policy.with_use(args.use)
    if settings.chain is not None and "confirmations" not in policy.given:
        # the network's finality (blocks on top of the record's) where the policy does not say: the policy
        # counts the record's own block too, so a record is UNCONFIRMED until the journal would call it final
        policy = dataclasses.replace(policy, confirmations=settings.chain.confirmations + 1)
    extra = [Statement.from_file(Path(f)) for f in args.statement]
    from provenance.hfcache import HubCache

    # before the chain: bad input is told without a node
    target = resolve_target(args.target, hub=HubCache(download=args.download))
    hashed = bar = None
    if isinstance(target, ArtifactTarget):  # hashed while the chain and the index are reached
        if early is not None and early[0] == target.path:
            _path, hashed, bar = early
        else:
            hashed, bar = _hash_with_bar(target.path, args.json, stack)
    service = ServiceSource(args.service) if args.service else None
    ledger = open_ledger(settings)
    index = open_index(settings, ledger)
    sources = statement_sources(settings, index)
    if service is not None:
        sources.append(service)
    # a record's Statement no source holds is fetched from its uri (docs/fetching.md); file:// too, here
    fetcher = Fetcher.from_environment(settings.home, allow_file=True)
    documents = Fetcher.from_environment(settings.home, allow_file=True, max_bytes=MAX_BATCH_DOCUMENT_BYTES)
    verifier = Verifier(ledger, index, policy, sources, extra_statements=extra, fetch=fetcher.fetch,
                        fetch_document=documents.fetch)
    match target:
        case StatementTarget(statement=statement):
            verdict = verifier.verify_statement(statement)
        case SubjectTarget(subject=subject):
            verdict = verifier.verify_subject(subject)
        case ArtifactTarget(path=path):  # with its Statement beside it, given, or found by its subject
            verdict = verifier.verify_path(path, given=extra, progress=bar, hashed=hashed)
    return verdict, service


def _imported() -> None:
    """The cycle collector back on, the objects the imports created set apart (frozen): its passes over them
    (the rules, the chain's modules, the index's) cost a verify CPU (about 10 ms while pydantic's schemas were
    among them), taken from the hashing processes beside it; enabled without the freeze, its first pass would
    cost as much. From here on it watches only what the verification itself creates. Nothing is frozen where
    the process holds frozen objects already (a caller's own, in its process): they could not be told apart
    from these when thawed."""
    import provenance.index  # noqa: F401 - imported by open_index, with the chain's modules: here, uncollected
    import provenance.indexer  # noqa: F401
    import provenance.ledger  # noqa: F401

    if not gc.get_freeze_count():
        gc.freeze()
    gc.enable()


def own_bytes(folder: str) -> int:
    """The bytes of the files directly in ``folder`` (links followed; 0 when it cannot be listed): a hint,
    before the walk, of whether its hashing will want worker processes (a model's weights sit at its top)."""
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        total += entry.stat().st_size
                except OSError:  # gone, or a dangling link: the walk will say
                    continue
    except OSError:
        return 0
    return total


def _results_apart(table: str, width: int = 120) -> str:
    """The table with a long evaluations line's results one per line under its REASON: an lm-eval run
    lists a dozen results, which one line of several hundred columns would bury."""
    lines = table.split("\n")
    column = next((line.index("REASON") for line in lines if line.startswith("CHECK ")), None)
    if column is None:
        return table
    out: list[str] = []
    for line in lines:
        head, colon, rest = line[column:].partition(": ")
        if not line.startswith("evaluations ") or len(line) <= width or "; " not in rest:
            out.append(line)
            continue
        out.append(line[:column] + head + ":")
        out += [" " * (column + 2) + item for item in rest.split("; ")]
    return "\n".join(out)


def _hash_with_bar(path: Path, json: bool, stack: ExitStack) -> tuple[Callable[[], Manifest], Any]:
    """:func:`_hash_in_background` with a progress bar (a terminal's only), closed with ``stack``."""
    from cli.terminal import ProgressBar

    bar = stack.enter_context(ProgressBar.for_command("hashing", json=json))
    return _hash_in_background(path, bar), bar


SET_UP_WAIT = 2.0
"""Seconds the command waits at most for its hashing to be under way before it goes on (see below)."""


class _UnderWay:
    """Progress that also tells when the first bytes are hashed."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.event = threading.Event()

    def start(self, files: int, total_bytes: int) -> None:
        self.progress.start(files, total_bytes)

    def advance(self, files: int, nbytes: int) -> None:
        self.event.set()
        self.progress.advance(files, nbytes)


def _hash_in_background(path: Path, progress: Any) -> Callable[[], Manifest]:
    """Start ``Manifest.from_path(path)`` on a thread now; the callable waits for it and returns its
    manifest or raises its error (a daemon thread: an error before the verdict does not wait for it).

    Returns once the hashing is under way: the walk and the start of the hashing processes are Python
    work that needs the GIL, which this command's own imports would otherwise share with them; from
    then on the processes hash while this thread reaches the chain and the index.
    """
    from provenance.manifest import Manifest

    outcome: list[Any] = []
    told = _UnderWay(progress)

    def hash_now() -> None:
        try:
            outcome.append(Manifest.from_path(path, progress=told))
        except BaseException as err:  # handed to the caller, which raises it where the hashing was asked for
            outcome.append(err)
        finally:
            told.event.set()

    thread = threading.Thread(target=hash_now, name="provenance-verify-hash", daemon=True)
    thread.start()
    told.event.wait(SET_UP_WAIT)

    def result() -> Manifest:
        while thread.is_alive():
            thread.join(0.2)  # a timeout keeps Ctrl-C responsive
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        manifest: Manifest = outcome[0]
        return manifest

    return result

"""``provenance hash PATH``: the manifest and subject of a file or a directory.

Prints the subject (0x-hex), the file count, the bytes and the time taken;
``--json`` prints the whole manifest (version 1, see docs/manifests.md).
``--check MANIFEST`` hashes PATH and compares it with a manifest saved before:
changed files (expected and found digests), missing and extra files; exit 1
when they differ. ``--oms-bundle SIG --public-key PUB.pem`` verifies an OpenSSF
Model Signing signature of PATH and takes its files as the manifest (exit 1 when
PATH does not match it).

A progress bar (files, bytes, rate, time left) is drawn on stderr when stdout
and stderr are terminals, without --json, and the work lasts more than about a
second; nothing extra is written to pipes. Without --json, --check or
--oms-bundle only the subject and counts are kept, not the manifest, so a tree
of 10^6 small files hashes in about 125 MiB (all its processes summed).
"""

from __future__ import annotations

import re
import sys
import time
from argparse import ArgumentParser, Namespace, _SubParsersAction

from cli.terminal import ProgressBar, human_bytes

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tib": 1 << 40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
}


def parse_size(text: str) -> int:
    """``1GiB``, ``512MiB``, ``500MB``, ``1048576``: binary units for KiB/MiB/GiB (and K/M/G), decimal for KB/MB/GB."""
    from provenance.errors import InvalidValue

    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS:
        raise InvalidValue(
            f"invalid size {text!r}",
            hint="use a number of bytes or a unit: KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal)",
        )
    value = int(match.group(1)) * _UNITS[unit]
    if value <= 0:
        raise InvalidValue(f"invalid size {text!r}: must be more than 0 bytes")
    return value


def add_parser(subparsers: _SubParsersAction[ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "hash",
        help="hash a file or directory: its manifest and subject",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""),
    )
    p.add_argument("path", metavar="PATH",
                   help="a file or a directory, or hf://[datasets/]ORG/NAME[@REV][/PATH] in the Hugging Face cache")
    p.add_argument("--download", action="store_true",
                   help="hf:// targets: fetch what the cache lacks with huggingface_hub (network)")
    p.add_argument("--json", action="store_true", help="print the whole manifest as JSON (version 1)")
    p.add_argument("--check", metavar="MANIFEST", help="compare PATH with a manifest JSON file; exit 1 on differences")
    p.add_argument(
        "--allow-symlinks",
        action="store_true",
        help="follow symbolic links whose target stays inside PATH (refused by default)",
    )
    p.add_argument(
        "--shard-size",
        metavar="SIZE",
        help="hash files larger than SIZE (e.g. 1GiB) as shards of SIZE bytes; default: one SHA-256 per file",
    )
    p.add_argument("--oms-bundle", metavar="SIG", help="verify PATH against this model_signing bundle first")
    p.add_argument("--public-key", metavar="PUB.pem", help="the EC public key (PEM) that signed --oms-bundle")
    p.set_defaults(handler=run)


def run(args: Namespace) -> int:
    import json

    from provenance._text import printable
    from provenance.errors import ManifestError, UsageError
    from provenance.manifest import Manifest, Summary, summarize

    path = args.path
    if path.startswith("hf://") or args.download:  # an hf:// target: its cached snapshot (imports kept off the path)
        from provenance.hfcache import HubCache
        from provenance.targets import artifact_path

        path = artifact_path(path, hub=HubCache(download=args.download))
    shard_size = parse_size(args.shard_size) if args.shard_size else None
    expected = None
    oms = None
    if args.oms_bundle or args.public_key:
        if not (args.oms_bundle and args.public_key):
            raise UsageError("--oms-bundle and --public-key go together")
        if shard_size is not None or args.check:
            raise UsageError("--oms-bundle cannot be combined with --shard-size or --check")
        from provenance.oms import OmsSignature, load_public_key

        try:
            with open(args.oms_bundle, "rb") as f:
                oms = OmsSignature.from_bundle(f.read(), load_public_key(args.public_key))
        except OSError as err:
            raise ManifestError(f"{args.oms_bundle}: cannot read the bundle ({err.strerror})") from None
    if args.check:
        if shard_size is not None:
            raise UsageError("--check uses the manifest's own shard size; drop --shard-size")
        try:
            with open(args.check, "rb") as f:
                expected = Manifest.from_json(f.read())
        except OSError as err:
            raise ManifestError(f"{args.check}: cannot read the manifest ({err.strerror})") from None

    started = time.perf_counter()
    manifest = summary = None
    with ProgressBar.for_command("hashing", json=args.json) as bar:
        if expected is not None:
            diff = expected.check(path, allow_symlinks=args.allow_symlinks, progress=bar)
        elif oms is not None:
            manifest = oms.check(path, bundle_path=args.oms_bundle, progress=bar)
        elif args.json:
            manifest = Manifest.from_path(
                path, allow_symlinks=args.allow_symlinks, shard_size=shard_size, progress=bar
            )
        else:  # the subject and counts only: no entries kept
            summary = summarize(path, allow_symlinks=args.allow_symlinks, shard_size=shard_size, progress=bar)
    elapsed = time.perf_counter() - started

    out = sys.stdout
    if expected is not None:
        if args.json:
            report = {"subject": expected.subject_hex, **diff.to_dict()}
            out.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        else:
            for line in diff.lines():  # file names are the checked folder's: escaped for the terminal
                out.write(printable(line) + "\n")
            out.write(f"{printable(args.path)}: {diff.summary()} (manifest {expected.subject_hex})\n")
        return 0 if diff.ok else 1

    if args.json:
        assert manifest is not None  # --json hashes a whole manifest
        out.write(manifest.to_json())
        return 0
    if summary is None:
        assert manifest is not None  # made by --oms-bundle
        summary = Summary(
            manifest.subject, manifest.file_count, manifest.total_size, len(manifest.entries), manifest.shard_size
        )
    size = summary.total_size
    rate = f" ({size / elapsed / 1e9:.2f} GB/s)" if elapsed > 0 else ""
    out.write(f"subject  {summary.subject_hex}\n")
    out.write(f"files    {summary.file_count}\n")
    out.write(f"bytes    {size} ({human_bytes(size)})\n")
    if summary.shard_size:
        out.write(f"shards   {summary.entry_count} entries of up to {summary.shard_size} bytes\n")
    if oms is not None:
        out.write(f"oms      signature of {printable(repr(oms.model_name))} verified; files match\n")
    out.write(f"time     {elapsed:.2f} s{rate}\n")
    return 0

"""``provenance export PATH|SUBJECT --format FORMAT``: evidence in other ecosystems' formats.

``--format oms`` writes an OpenSSF Model Signing bundle (Sigstore bundle, DSSE,
in-toto Statement v1) of the artifact at PATH, signed with the EC key given by
``--key`` (PEM, P-256), that ``model_signing verify key --public_key PUB.pem
--signature FILE PATH`` accepts. A SUBJECT (0x…) needs the local store, which
does not exist yet: pass the artifact's path.
"""

from __future__ import annotations

import os
import re
import sys

_SUBJECT = re.compile(r"0x[0-9a-fA-F]{64}")


def _export_oms(args) -> int:
    from cli.commands.hash import ProgressBar
    from provenance.errors import ProvenanceError
    from provenance.manifest import DEFAULT_IGNORES, Manifest
    from provenance.oms import load_private_key, sign_manifest

    if not args.key:
        raise ProvenanceError("--format oms needs --key KEY.pem (an EC P-256 private key in PEM)")
    password = os.environ.get("PROVENANCE_KEY_PASSWORD")
    try:
        key = load_private_key(args.key, password.encode() if password else None)
    except ProvenanceError as err:
        if "encrypted" not in str(err) or password or not sys.stdin.isatty():
            raise
        import getpass

        key = load_private_key(args.key, getpass.getpass(f"password for {args.key}: ").encode())

    root = args.target
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
            raise ProvenanceError(f"{args.out}: cannot write the bundle ({err.strerror})") from None
        count = len(manifest.entries) - len(bundle.left_out)
        print(f"wrote {args.out}: OMS bundle of {count} file{'s' if count != 1 else ''}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(bundle.data)
        sys.stdout.flush()
    if bundle.left_out:
        print(
            f"note: left out of the bundle, as model_signing ignores git files by default: {', '.join(bundle.left_out)}",
            file=sys.stderr,
        )
    return 0


# name -> handler; in-toto and spdx join when their issues land
FORMATS = {"oms": _export_oms}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export an artifact's evidence in another format (oms: OpenSSF Model Signing)",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""),
    )
    p.add_argument("target", metavar="PATH|SUBJECT", help="the artifact's path (or its 0x subject, once stored locally)")
    p.add_argument("--format", required=True, metavar="FORMAT", help=f"one of: {', '.join(FORMATS)}")
    p.add_argument("--key", metavar="KEY.pem", help="oms: EC private key (PEM) to sign with; password from $PROVENANCE_KEY_PASSWORD")
    p.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    p.add_argument(
        "--allow-symlinks",
        action="store_true",
        help="follow symbolic links that stay inside PATH (model_signing verify then needs --allow_symlinks)",
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    from provenance.errors import ProvenanceError

    handler = FORMATS.get(args.format)
    if handler is None:
        raise ProvenanceError(
            f"unknown export format {args.format!r}; accepted: {', '.join(FORMATS)}",
            hint="in-toto and spdx are planned but not available yet",
        )
    if not os.path.exists(args.target) and _SUBJECT.fullmatch(args.target):
        raise ProvenanceError(
            f"subject {args.target} is not known locally, and the local store does not exist yet",
            hint="pass the artifact's path instead of its subject",
        )
    return handler(args)

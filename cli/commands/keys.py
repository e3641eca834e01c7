"""`provenance keys new|list|import|show`: encrypted publisher keys under PROVENANCE_HOME.

``import`` encrypts the key anew (scrypt at the default cost, whatever the file
used), derives its address from the key and refuses a file stating another one;
it never replaces a key of the same name unless ``--force`` is given.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace, _SubParsersAction


def add_parser(sub: _SubParsersAction[ArgumentParser]) -> None:
    parser = sub.add_parser("keys", help="create, import and list encrypted publisher keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    new = actions.add_parser("new", help="generate a key, encrypted with a password (scrypt)")
    new.add_argument("name")
    imp = actions.add_parser("import", help="import a hex private key file or a keystore JSON file")
    imp.add_argument("name")
    imp.add_argument("keyfile")
    imp.add_argument("--force", action="store_true", help="replace an existing key of the same name")
    listing = actions.add_parser("list", help="list key names and addresses")
    show = actions.add_parser("show", help="show a key's address and file (never the key)")
    show.add_argument("name")
    for action in (new, imp, listing, show):
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=run)


def run(args: Namespace) -> int:
    from pathlib import Path

    from cli.context import settings_from
    from cli.terminal import password
    from provenance.keys import Keystore

    store = Keystore(settings_from(args).home)
    if args.action == "new":
        infos = [store.create(args.name, password(confirm=True))]
    elif args.action == "import":
        infos = [store.import_file(args.name, Path(args.keyfile), password(confirm=False), replace=args.force)]
    elif args.action == "show":
        infos = [store.info(args.name)]
    else:
        infos = store.list()
    if args.json:
        payload = [i.to_json() for i in infos]
        print(json.dumps(payload if args.action == "list" else payload[0], indent=2))
    else:
        from provenance._text import printable

        for info in infos:
            print(f"{info.name}\t{info.address}\t{printable(str(info.path))}")
    return 0

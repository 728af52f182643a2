"""The ``intersystems_pyprod`` command: bind the classes of a pyprod script in the store."""

from __future__ import annotations

import argparse
import os
import sys

from intersystems_pyprod import loader
from iop.errors import IopError
from iop.store import open_store

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intersystems_pyprod",
        description="Bind the messages, adapters and business hosts of a pyprod script in the "
                    "namespace's store (IOP_NAMESPACE, default USER), under "
                    "<iris_package_name>.<ClassName>.",
    )
    parser.add_argument("input_script", nargs="?", help="path to the .py file to load")
    parser.add_argument("-m", "--module", help="dotted module to load instead of a file")
    parser.add_argument("-n", "--namespace", help="namespace to bind in (default: IOP_NAMESPACE "
                        "or USER)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 and one ``error:`` line when loading fails)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.input_script) == bool(args.module):
        parser.print_usage(sys.stderr)
        print("error: give either a path to a .py file or -m MODULE", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        if args.module:
            sys.path.insert(0, os.getcwd())
            module = loader.import_module(args.module)
        else:
            module = loader.import_script(args.input_script)
        store = open_store(args.namespace)
        try:
            loader.load(store, module)
        finally:
            store.close()
    except IopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

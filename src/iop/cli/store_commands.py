"""`iop --check-store` and `iop --check-store --repair`: always this host's store of the
namespace (the file or the IOP_DATABASE_URL it uses), whatever remote mode would select,
and run before any client opens it, so that a damaged store can still be checked."""

from __future__ import annotations

import os
from typing import Any

from iop.cli.arguments import print_json
from iop.errors import CliError

__all__ = ["run"]


def run(args: Any) -> int | None:
    """Run --check-store (with --repair); None when the command line asks for neither."""
    if args.repair and not args.check_store:
        raise CliError("--repair goes with --check-store: iop --check-store --repair")
    if not args.check_store:
        return None
    from iop.store import DEFAULT_NAMESPACE
    from iop.store.check import check_store, repair_store

    namespace = args.namespace or os.environ.get("IOP_NAMESPACE") or DEFAULT_NAMESPACE
    if args.repair:
        result = repair_store(namespace)
        print_json(result)
        return 0 if result["ok"] else 1
    result = check_store(namespace)
    print_json(result)
    return 0 if result["ok"] else 1

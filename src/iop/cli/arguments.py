"""Small pieces every CLI command module shares: body arguments and JSON output (and
``CliError``, the user-error type, importable from here as well as from ``iop.errors``)."""

from __future__ import annotations

import json
from typing import Any

from iop.errors import CliError

__all__ = ["CliError", "print_json", "read_body"]


def read_body(value: str | None) -> str | None:
    """A -B argument: inline text, or ``@path`` for a file's contents."""
    if value is None or not value.startswith("@"):
        return value
    path = value[1:]
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CliError(f"cannot read body file {path}: {exc.strerror}") from exc


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=4, ensure_ascii=False))

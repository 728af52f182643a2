"""Small pieces every CLI command module shares: the user-error type, body arguments, JSON."""

from __future__ import annotations

import json
from typing import Any


class CliError(Exception):
    """A user mistake on the command line."""


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

"""Small pieces every CLI command module shares: body arguments and JSON output (and
``CliError``, the user-error type, importable from here as well as from ``iop.errors``)."""

from __future__ import annotations

import json
from typing import Any

from iop.errors import CliError
from iop.messages import json_body

__all__ = ["BadBodyArgument", "CliError", "print_json", "read_body"]

BODY_FLAG = "argument -B/--body"


class BadBodyArgument(CliError):
    """A -B value (or its @file) that cannot be read or decoded: a usage mistake, reported
    like argparse's own (one line, exit code 2)."""


def read_body(value: str | None, json_only: bool = False) -> str | None:
    """A -B argument: inline text, or ``@path`` for a file's contents, decoded strictly:
    valid UTF-8, within the size limit, and valid JSON within the depth limit when it is
    JSON (always with ``json_only``; text that does not start like JSON may fill a message
    whose one field is a string)."""
    if value is None:
        return None
    raw: bytes | str = value
    what = f"{BODY_FLAG}: the body"
    if value.startswith("@"):
        path = value[1:]
        what = f"{BODY_FLAG}: body file {path}"
        try:
            with open(path, "rb") as fh:
                raw = fh.read(json_body.MAX_BODY_BYTES + 1)
        except OSError as exc:
            raise BadBodyArgument(f"{BODY_FLAG}: cannot read body file {path}: "
                                  f"{exc.strerror}") from exc
    try:
        text = json_body.decode_utf8(raw, what)
        if json_only or json_body.looks_like_json(text):
            json_body.check_json(text, what)
    except json_body.BodyError as exc:
        raise BadBodyArgument(str(exc)) from exc
    return text


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=4, ensure_ascii=False))

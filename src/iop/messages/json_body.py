"""The one set of limits on a message body given as JSON text, and its one strict parser.

Every edge where a body enters (the CLI's ``-B``/``@file``, the API's test and resubmit
routes and request bodies, the portal's test page and edited resubmit) reads it through
``parse_json`` or checks it with ``check_json``: valid UTF-8, at most ``MAX_BODY_BYTES`` bytes,
arrays and objects nested at most ``MAX_JSON_DEPTH`` deep (checked before parsing, which would
recurse that deep). A body that breaks a limit is refused with one line saying which.
docs/security.md lists the limits.
"""

from __future__ import annotations

import json
import re
from typing import Any

from iop.errors import BodyRefused

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "BodyError", "check_depth", "check_json",
           "check_unicode",
           "decode_utf8", "looks_like_json", "parse_json"]

MAX_JSON_DEPTH = 64  # nested arrays/objects in a body; deeper is refused
MAX_BODY_BYTES = 32 * 1024 * 1024  # a message body's largest size (the server's default too)


class BodyError(BodyRefused):
    """A body that is not valid UTF-8 or JSON, or breaks a size or depth limit."""


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def check_depth(raw: bytes | str, limit: int = MAX_JSON_DEPTH, what: str = "body") -> None:
    """BodyError when ``raw`` nests arrays/objects deeper than ``limit`` (brackets inside
    strings do not count)."""
    data = raw.encode("utf-8", errors="replace") if isinstance(raw, str) else raw
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b"", data)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            raise BodyError(f"{what} nests JSON deeper than {limit} levels")


def _check_size(size: int, what: str) -> None:
    if size > MAX_BODY_BYTES:
        raise BodyError(f"{what} is {size} bytes, larger than the limit of {MAX_BODY_BYTES} "
                        "bytes")


def decode_utf8(raw: bytes | str, what: str = "body") -> str:
    """``raw`` as text, refused unless it is valid UTF-8 within the size limit. A ``str``
    that came from undecodable bytes (command-line arguments, surrogate escapes) is refused
    too."""
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BodyError(f"{what} is not valid UTF-8 (undecodable byte at character "
                            f"{exc.start})") from exc
        _check_size(len(data), what)
        return raw
    _check_size(len(raw), what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        kind = "binary data" if b"\x00" in raw[:4096] else "not valid UTF-8"
        raise BodyError(f"{what} is {kind} (byte 0x{raw[exc.start]:02x} at offset "
                        f"{exc.start})") from exc
    nul = raw.find(b"\0")
    if nul >= 0:
        raise BodyError(f"{what} is binary data (NUL byte at offset {nul})")
    return text


def check_unicode(value: Any, what: str = "body") -> None:
    """Refuse decoded data holding text that is not valid Unicode: a lone surrogate from a
    JSON escape such as ``"\\udce9"``, which no store can write as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BodyError(f"{what} holds text that is not valid Unicode (lone surrogate "
                        f"{exc.object[exc.start:exc.end]!a})") from exc
    except (RecursionError, TypeError, ValueError):
        return  # not JSON data (a Director's Python objects): the codec checks it


def looks_like_json(text: str) -> bool:
    """Text meant as JSON (an object, array or string), rather than plain text for a message
    whose one field is a string."""
    return text.lstrip()[:1] in ("{", "[", '"')


def parse_json(raw: bytes | str, what: str = "body") -> Any:
    """Decode ``raw`` strictly (UTF-8, size, depth, JSON syntax) and return the value."""
    text = decode_utf8(raw, what)
    check_depth(text, what=what)
    try:
        value = json.loads(text)
    except RecursionError as exc:  # cannot happen under the depth limit; kept as a guard
        raise BodyError(f"{what} nests JSON too deeply") from exc
    except json.JSONDecodeError as exc:
        raise BodyError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column "
                        f"{exc.colno})") from exc
    except ValueError as exc:  # an integer of thousands of digits
        raise BodyError(f"{what} is not valid JSON: {str(exc).splitlines()[0]}") from exc
    check_unicode(value, what)
    return value


def check_json(raw: bytes | str, what: str = "body") -> None:
    """Refuse ``raw`` unless ``parse_json`` accepts it."""
    parse_json(raw, what)

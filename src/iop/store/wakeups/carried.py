"""A stored message carried with a wake-up, so the woken process need not read it back.

A waiting caller gets its response with its ring (a datagram on one host, a ``NOTIFY``
payload on PostgreSQL); a sleeping job gets a synchronous request handed straight to it.
The form is one kind byte, then JSON: [leading numbers..., header fields..., body text].
"""

from __future__ import annotations

import json
from typing import Any

from iop.store import records as r

_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_HEADER_FIELDS = r.Header.__dataclass_fields__


def pack_header(kind: bytes, header: r.Header, body: str | None, *leading: int) -> bytes:
    """``kind``, then the header, its body text and ``leading`` numbers first, as JSON."""
    return kind + _to_json([*leading, *(getattr(header, name) for name in _HEADER_FIELDS),
                            body]).encode()


def unpack_header(data: bytes, leading: int) -> tuple[list[Any], r.Header, str | None] | None:
    """What :func:`pack_header` wrote with ``leading`` numbers first; None when unreadable."""
    try:
        fields = json.loads(data[1:])
        return fields[:leading], r.Header(*fields[leading:-1]), fields[-1]
    except (ValueError, TypeError):
        return None


def find_reply(received: list[bytes], request_id: int) -> tuple[r.Header, str | None] | None:
    """The carried response to ``request_id`` among ``received`` (newest first), if any."""
    for data in reversed(received):
        unpacked = unpack_header(data, 0)
        if unpacked is not None and unpacked[1].corresponding_id == request_id:
            return unpacked[1], unpacked[2]
    return None

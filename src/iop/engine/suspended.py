"""Operator actions on suspended messages: list, resubmit, edit and resubmit, discard.

A message is suspended when its operation's ReplyCodeActions say so (``S``). Resubmitting
puts the same message back in its target's queue; editing creates a new message with the
new body in the same session and discards the original, so the trace shows both.
"""

from __future__ import annotations

import json
from typing import Any

from iop.engine.errors import EngineError
from iop.errors import BodyRefused
from iop.messages import codec, json_body
from iop.store import records as r
from iop.store.base import Store


class NotSuspended(EngineError):
    """The message is not (or no longer) suspended."""


def list_suspended(store: Store, limit: int = 1000) -> list[r.Header]:
    """Suspended messages, oldest first."""
    return store.query_headers(status=r.SUSPENDED, limit=limit, oldest_first=True)


def _suspended_header(store: Store, header_id: int) -> r.Header:
    header = store.get_header(header_id)
    if header is None:
        raise NotSuspended(f"message {header_id} does not exist")
    if header.status != r.SUSPENDED:
        raise NotSuspended(f"message {header_id} is {header.status}, not suspended")
    return header


def resubmit(store: Store, header_ids: list[int]) -> list[dict[str, Any]]:
    """Queue each suspended message again; all or nothing."""
    for header_id in header_ids:
        _suspended_header(store, header_id)
    with store.transaction() as tx:
        for header_id in header_ids:
            if not tx.requeue(header_id):
                raise NotSuspended(f"message {header_id} is no longer suspended")
        tx.log([_note(header_id, f"message {header_id} resubmitted") for header_id in header_ids])
    return [{"id": header_id, "status": r.QUEUED} for header_id in header_ids]


def resubmit_edited(store: Store, header_id: int, body: str,
                    check_body: bool = True) -> dict[str, Any]:
    """Send a corrected copy of a suspended message and discard the original (the server
    checks the body against its class in its contained child and passes ``check_body=False``)."""
    header = _suspended_header(store, header_id)
    data = json_body.parse_json(body, f"the new body of message {header_id}")
    if not isinstance(data, dict):
        raise BodyRefused(f"the new body of message {header_id} must be a JSON object")
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if check_body:
        check_body_fits(header.body_class, text)
    draft = r.MessageDraft(source=header.source, target=header.target,
                           body_class=header.body_class, body_text=text, priority=r.ASYNC,
                           session_id=header.session_id,
                           description=f"edited copy of suspended message {header_id}")
    with store.transaction() as tx:
        new_id = tx.insert_message(draft)
        if not tx.change_status(header_id, r.SUSPENDED, r.DISCARDED,
                                f"resubmitted with an edited body as message {new_id}"):
            raise NotSuspended(f"message {header_id} is no longer suspended")
        tx.log([_note(header_id, f"message {header_id} resubmitted with an edited body as "
                      f"message {new_id}")])
    return {"id": header_id, "status": r.DISCARDED, "resubmitted_as": new_id}


def discard(store: Store, header_ids: list[int]) -> list[dict[str, Any]]:
    """Give up on suspended messages for good (they stay in the trace); all or nothing."""
    for header_id in header_ids:
        _suspended_header(store, header_id)
    with store.transaction() as tx:
        for header_id in header_ids:
            if not tx.change_status(header_id, r.SUSPENDED, r.DISCARDED):
                raise NotSuspended(f"message {header_id} is no longer suspended")
        tx.log([_note(header_id, f"message {header_id} discarded") for header_id in header_ids])
    return [{"id": header_id, "status": r.DISCARDED} for header_id in header_ids]


def check_body_fits(body_class: str | None, text: str) -> None:
    """Refuse an edited body its message class cannot read or whose fields are not of their
    declared types, when that class can be imported here (the job checks it otherwise)."""
    if not body_class:
        return
    try:
        codec.resolve_class(body_class)
    except codec.MessageError:
        return  # the class lives in user code this process cannot import; the job checks it
    try:
        codec.decode(body_class, text, strict=True)
    except codec.MessageError as exc:
        raise BodyRefused(f"the new body does not fit {body_class}: {exc}") from exc


def _note(header_id: int, text: str) -> r.LogEntry:
    return r.LogEntry(type="info", text=text, message_id=header_id,
                      source_class="iop.engine.suspended", source_method="operator")

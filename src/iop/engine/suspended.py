"""Operator actions on suspended messages: list, resubmit, edit and resubmit, discard.

A message is suspended when its operation's ReplyCodeActions say so (``S``). Resubmitting
puts the same message back in its target's queue; editing creates a new message with the
new body in the same session and discards the original, so the trace shows both.

Where a resubmission's response goes (:func:`response_route`): a business process instance
that asked for it still waits (suspending does not answer it), so the response reaches its
``on_response`` as the original's would have, and discarding answers it with an error. A
synchronous caller could not wait for an operator: it was answered with the error when the
message was suspended, so a later response is kept in the trace only (marked discarded),
and the list and the event log say so before and when it is resubmitted.
"""

from __future__ import annotations

import json
import re
from typing import Any

from iop.engine.errors import EngineError
from iop.engine.outcomes.outcome import EMPTY, respond
from iop.errors import BodyRefused
from iop.messages import codec, json_body
from iop.store import records as r
from iop.store.base import Store


class NotSuspended(EngineError):
    """The message is not (or no longer) suspended."""


# Where the response of a resubmitted message goes (response_route's first part).
TO_PROCESS, ANSWERED, NOBODY = "process", "answered", "nobody"


def list_suspended(store: Store, limit: int = 1000) -> list[r.Header]:
    """Suspended messages, oldest first."""
    return store.query_headers(status=r.SUSPENDED, limit=limit, oldest_first=True)


def process_waits(header: r.Header) -> bool:
    """Whether a business process instance asked for this request's response (and is not
    blocked in a synchronous call, which could not wait for an operator)."""
    return not header.reply_to and header.response_required and header.context_id is not None


def response_route(store: Store, header: r.Header) -> tuple[str, str]:
    """Where the response goes once ``header`` (suspended) is resubmitted, and why, in words
    for the operator: (TO_PROCESS | ANSWERED | NOBODY, text)."""
    waited = bool(header.reply_to) or process_waits(header)
    if not waited:
        return NOBODY, ("nobody waits for its response (sent without asking for one); it is "
                        "kept in the trace")
    if store.find_response(header.id) is None and header.context_id is not None \
            and store.load_context(header.context_id) is not None:
        return TO_PROCESS, (f"its response goes to business process {header.source}, whose "
                            "instance waits for it")
    how = "called synchronously and could not wait" if header.reply_to else \
        "was answered before iop-engine kept business processes waiting"
    return ANSWERED, (f"its response cannot reach {header.source}: the caller {how}, so it was "
                      "answered with the error when this message was suspended; a response "
                      "to a resubmission is kept in the trace only")


def _suspended_header(store: Store, header_id: int) -> r.Header:
    header = store.get_header(header_id)
    if header is None:
        raise NotSuspended(f"message {header_id} does not exist")
    if header.status != r.SUSPENDED:
        raise NotSuspended(f"message {header_id} is {header.status}, not suspended")
    return header


def resubmit(store: Store, header_ids: list[int]) -> list[dict[str, Any]]:
    """Queue each suspended message again; all or nothing. The event log says where each
    one's response will go (:func:`response_route`)."""
    headers = [_suspended_header(store, header_id) for header_id in header_ids]
    routes = [response_route(store, header) for header in headers]
    with store.transaction() as tx:
        for header, (route, _) in zip(headers, routes, strict=True):
            if not tx.requeue(header.id):
                raise NotSuspended(f"message {header.id} is no longer suspended")
            if route == ANSWERED:  # its caller has its answer: a later one is for the trace
                tx.forget_caller(header.id)
        tx.log([_note(header, f"message {header.id} resubmitted; {text}")
                for header, (_, text) in zip(headers, routes, strict=True)])
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
    route, where = response_route(store, header)
    draft = r.MessageDraft(source=header.source, target=header.target,
                           body_class=header.body_class, body_text=text, priority=r.ASYNC,
                           session_id=header.session_id,
                           description=f"edited copy of suspended message {header_id}")
    if route == TO_PROCESS:  # the copy answers the process instance the original would have
        draft.response_required, draft.context_id = True, header.context_id
        draft.completion_key = header.completion_key
    with store.transaction() as tx:
        new_id = tx.insert_message(draft)
        if not tx.change_status(header_id, r.SUSPENDED, r.DISCARDED,
                                f"resubmitted with an edited body as message {new_id}"):
            raise NotSuspended(f"message {header_id} is no longer suspended")
        tx.log([_note(header, f"message {header_id} resubmitted with an edited body as "
                      f"message {new_id}; {where}")])
    return {"id": header_id, "status": r.DISCARDED, "resubmitted_as": new_id}


def discard(store: Store, header_ids: list[int]) -> list[dict[str, Any]]:
    """Give up on suspended messages for good (they stay in the trace); all or nothing. A
    business process instance still waiting for one's response gets an error response."""
    headers = [_suspended_header(store, header_id) for header_id in header_ids]
    waiting = {h.id for h in headers if response_route(store, h)[0] == TO_PROCESS}
    with store.transaction() as tx:
        for header in headers:
            if not tx.change_status(header.id, r.SUSPENDED, r.DISCARDED):
                raise NotSuspended(f"message {header.id} is no longer suspended")
            if header.id in waiting:
                respond(tx, header, EMPTY, f"discarded by an operator after it was suspended: "
                                           f"{header.error}")
        tx.log([_note(h, f"message {h.id} discarded" + (
            f"; business process {h.source} was answered with an error" if h.id in waiting
            else "")) for h in headers])
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


NOTE_SOURCE = "iop.engine.suspended"  # the source class of the operator's log lines here
_RESUBMITTED_NOTE = re.compile(r"^message (\d+) resubmitted(?: with an edited body as message "
                               r"(\d+))?; (.*)$", re.S)


def resubmissions(log: list[r.LogEntry]) -> list[tuple[int, int, str]]:
    """The resubmissions a session's event log records (oldest first, the last per
    message): (original id, id of the message that carried it, where its response went)."""
    found: dict[int, tuple[int, int, str]] = {}
    for entry in log:
        if entry.source_class != NOTE_SOURCE:
            continue
        note = _RESUBMITTED_NOTE.match(entry.text or "")
        if note is not None:
            original = int(note.group(1))
            carrier = int(note.group(2)) if note.group(2) else original
            found[original] = (original, carrier, note.group(3))
    return list(found.values())


def _note(header: r.Header, text: str) -> r.LogEntry:
    """An event log line about ``header``, in its session (so its trace lists it)."""
    return r.LogEntry(type="info", text=text, message_id=header.id, item=header.target,
                      session_id=header.session_id, source_class=NOTE_SOURCE,
                      source_method="operator")

"""Outcome: everything one delivery changes, and apply_outcome, which writes it in the
delivery's completion transaction while the job still holds the lease."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iop.store import records as r
from iop.store.base import Tx

# A response body ready to store: class name, JSON text, typed-table row (PersistentMessage).
Encoded = tuple[str | None, str | None, Any]
EMPTY: Encoded = (None, None, None)


@dataclass(slots=True)
class Outcome:
    """Everything one delivery changes, applied only while its lease is still held."""

    delivery: r.Delivery
    status: str = r.COMPLETED
    error: str | None = None
    error_code: str | None = None  # an exception's status code, for ReplyCodeActions E#<code>
    responses: list[tuple[r.Header, Encoded, str | None]] = field(default_factory=list)
    sends: list[r.MessageDraft] = field(default_factory=list)
    statuses: list[tuple[int, str, str | None]] = field(default_factory=list)
    save_context: r.Context | None = None
    delete_context: int | None = None
    logs: list[r.LogEntry] = field(default_factory=list)
    release: bool = False  # put the message back in its queue instead of completing it


def apply_outcome(tx: Tx, outcome: Outcome, owner: str) -> bool:
    """Write an outcome; False (and nothing written) when the job no longer holds the lease."""
    header = outcome.delivery.header
    if outcome.release:
        released = tx.release_delivery(outcome.delivery.queue_id, header.id, owner)
        tx.log(outcome.logs)
        return released
    changed = outcome.status != header.status or bool(outcome.error)
    # The usual answer to a waiting caller (the handler's only effect) is stored with the
    # completion itself, so that a store can send both at once.
    responses = outcome.responses
    answer = None
    no_other_messages = not outcome.sends and not outcome.statuses
    if changed and header.reply_to and no_other_messages and len(responses) == 1 \
            and responses[0][0].id == header.id:
        answer = _response_draft(header, responses[0][1], responses[0][2])
        responses = []
    # A response nobody waits for, with no body and no error, is not stored.
    responses = [response for response in responses if not _writes_nothing(*response)]
    # When nothing else written depends on whether the lease was still held, the store may
    # learn that only at commit (PostgreSQL then sends the completion with the commit).
    alone = no_other_messages and not responses and \
        outcome.save_context is None and outcome.delete_context is None
    finished, status_set = tx.complete_delivery(outcome.delivery.queue_id, owner, header.id,
                                                outcome.status if changed else None,
                                                outcome.error, answer=answer, defer=alone)
    if not finished:
        return False
    if answer is not None and status_set:
        tx.wake_address(header.reply_to, answer)
    abandoned: set[int] = set()  # requests whose synchronous caller gave up waiting
    if changed and not status_set:
        abandoned.add(header.id)
    for header_id, status, error in outcome.statuses:
        if not tx.set_status(header_id, status, error):
            abandoned.add(header_id)
    # The handler's own calls precede its reply, in ids as in the trace (IRIS shows them so).
    for draft in outcome.sends:
        tx.insert_message(draft)
    for request, encoded, error in responses:
        respond(tx, request, encoded, error, late=request.id in abandoned)
    if outcome.save_context is not None:
        tx.save_context(outcome.save_context)
    if outcome.delete_context is not None:
        tx.delete_context(outcome.delete_context)
    tx.log(outcome.logs)
    return True


def _response_draft(request: r.Header, encoded: Encoded, error: str | None) -> r.MessageDraft:
    """The response to ``request`` (not queued anywhere)."""
    body_class, body_text, typed = encoded
    return r.MessageDraft(
        source=request.target, target=request.source, body_class=body_class, body_text=body_text,
        typed=typed,
        type=r.RESPONSE, priority=request.priority, session_id=request.session_id,
        corresponding_id=request.id, status=r.ERROR if error else r.COMPLETED, error=error,
        enqueue=False,
    )


def _writes_nothing(request: r.Header, encoded: Encoded, error: str | None) -> bool:
    """Whether an answer is not stored at all: an empty, error-free answer to a request
    no caller and no business process waits for (a caller that gave up has a ``reply_to``)."""
    return encoded[0] is None and error is None and not request.reply_to and not (
        request.response_required and request.context_id is not None)


def respond(tx: Tx, request: r.Header, encoded: Encoded, error: str | None,
             late: bool = False) -> None:
    """Store the answer to ``request`` (never one that :func:`_writes_nothing` holds for:
    apply_outcome leaves those out)."""
    draft = _response_draft(request, encoded, error)
    if late:
        draft.status = r.DISCARDED  # nobody waits for it any more; kept for the trace
        tx.insert_message(draft)
    elif request.reply_to:
        tx.insert_message(draft)
        tx.wake_address(request.reply_to, draft)
    elif request.response_required and request.context_id is not None:
        draft.enqueue = True
        draft.context_id = request.context_id
        draft.completion_key = request.completion_key
        if not error:
            draft.status = r.QUEUED
        tx.insert_message(draft)
    else:  # a body or an error nobody waits for: kept for the trace
        draft.status = r.DISCARDED if not error else r.ERROR
        tx.insert_message(draft)

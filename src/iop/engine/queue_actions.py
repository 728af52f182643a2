"""Operator actions on the messages waiting in an item's queue: list them, abort them, or
suspend them (IRIS's queue page and Ens.Queue's AbortItem).

An aborted message leaves the queue for good with its header marked ``aborted``; a
suspended one leaves it marked ``suspended``, where the Suspended page's Resubmit puts it
back. A message a job holds (in progress) is refused: its job may finish it any moment.
Aborting gives a caller or business process waiting for the answer an error response at
once, so nobody waits for a message that will not come. Suspending does the same for a
synchronous caller (it cannot wait for an operator), while a business process instance keeps
waiting, as when ReplyCodeActions suspend a message: a resubmission answers it
(iop.engine.suspended).
"""

from __future__ import annotations

from typing import Any

from iop.engine import suspended
from iop.engine.errors import EngineError
from iop.engine.outcomes.outcome import EMPTY, respond
from iop.store import records as r
from iop.store.base import Store, Tx

ACTIONS = {"abort": r.ABORTED, "suspend": r.SUSPENDED}
MAX_PAGE = 500


class NotWaiting(EngineError):
    """The message is not waiting in that queue (gone, in progress, or never there)."""


def entry_view(entry: r.QueueEntry) -> dict[str, Any]:
    """A queue entry as JSON: its header and where it stands in the queue."""
    view = entry.header.to_dict()
    view.update(queue_id=entry.queue_id, enqueued=r.format_time(entry.enqueued),
                in_progress=entry.lease_owner is not None, lease_owner=entry.lease_owner,
                lease_until=r.format_time(entry.lease_until) if entry.lease_until else None,
                wakes_process=entry.context_id is not None)
    return view


def queue_page(store: Store, item: str, after_id: int | None = None,
               limit: int = 50) -> dict[str, Any]:
    """One page of ``item``'s queue, oldest first, and the queue id to ask for the next."""
    limit = max(1, min(MAX_PAGE, limit))
    entries = store.queue_entries(item, after_id=after_id, limit=limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    return {"item": item, "messages": [entry_view(e) for e in entries],
            "next_after_id": entries[-1].queue_id if more else None}


def _waiting(store: Store, item: str, header_id: int, action: str) -> r.QueueEntry:
    """``header_id``'s entry in ``item``'s queue; NotWaiting says why it cannot be taken out
    now (not there, in progress, or answering a business process when suspending)."""
    entry = store.queued_entry(item, header_id)
    if entry is None:
        reason = f"message {header_id} is not waiting in the queue of {item}"
    elif entry.lease_owner is not None:
        reason = (f"message {header_id} is in progress (held by job {entry.lease_owner}); "
                  f"only waiting messages can be {ACTIONS[action]}")
    elif action == "suspend" and entry.context_id is not None:
        reason = (f"message {header_id} answers a business process instance and cannot be "
                  "resubmitted later; abort it instead")
    else:
        return entry
    raise NotWaiting(f"{reason}; nothing was {ACTIONS[action]}")


def act(store: Store, item: str, header_ids: list[int], action: str,
        user: str = "") -> list[dict[str, Any]]:
    """Abort or suspend (``action``) the waiting messages ``header_ids`` of ``item``'s queue,
    all or nothing; each is logged with who did it."""
    if action not in ACTIONS:
        raise EngineError(f"unknown queue action {action!r}: use abort or suspend")
    if not header_ids:
        raise EngineError(f"no message given to {action}")
    entries = [_waiting(store, item, header_id, action) for header_id in header_ids]
    status = ACTIONS[action]
    note = f"{status} by {user or 'an anonymous user'} from the queue of {item}"
    with store.transaction() as tx:
        for entry in entries:
            header = entry.header
            if not tx.withdraw_queued(item, header.id, status, note):
                raise NotWaiting(f"message {header.id} left the queue of {item} meanwhile; "
                                 f"nothing was {status}")
            if header.type == r.REQUEST and not (status == r.SUSPENDED
                                                 and suspended.process_waits(header)):
                _answer_waiters(tx, header, note)
        tx.log([r.LogEntry("info", f"message {e.header.id} {note}", item,
                           session_id=e.header.session_id, message_id=e.header.id,
                           source_class="iop.engine.queue_actions", source_method=action)
                for e in entries])
    store.flush_acknowledged()  # durable before the operator is told
    return [{"id": header_id, "status": status} for header_id in header_ids]


def _answer_waiters(tx: Tx, header: r.Header, note: str) -> None:
    """Give a waiting caller (or business process) an error response now."""
    waits = header.reply_to or (header.response_required and header.context_id is not None)
    if waits:
        timed_out = (header.error or "").startswith(r.TIMED_OUT)
        respond(tx, header, EMPTY, note, late=timed_out)

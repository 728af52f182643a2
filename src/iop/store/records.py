"""Plain records the store reads and writes; shared by every backend."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# Message header statuses (DESIGN.md, "The store").
CREATED, QUEUED, DELIVERED, COMPLETED = "created", "queued", "delivered", "completed"
ERROR, DISCARDED, SUSPENDED, ABORTED = "error", "discarded", "suspended", "aborted"
STATUSES = (CREATED, QUEUED, DELIVERED, COMPLETED, ERROR, DISCARDED, SUSPENDED, ABORTED)

REQUEST, RESPONSE = "request", "response"

# Error text prefix of a synchronous request whose caller stopped waiting; such a request
# keeps its error status when the target finishes late, and the late response is discarded.
TIMED_OUT = "timed out"
SYNC, ASYNC = "sync", "async"

# Event log entry types, capitalised as the remote API reports them.
LOG_TYPES = {"info": "Info", "warning": "Warning", "error": "Error", "alert": "Alert",
             "trace": "Trace", "assert": "Assert"}


@dataclass(slots=True)
class MessageDraft:
    """A message about to be stored: header fields plus its serialised body."""

    source: str
    target: str
    body_class: str | None
    body_text: str | None
    type: str = REQUEST
    priority: str = ASYNC
    session_id: int | None = None
    corresponding_id: int | None = None
    reply_to: str | None = None
    response_required: bool = False
    context_id: int | None = None
    completion_key: str | None = None
    description: str | None = None
    status: str = QUEUED
    error: str | None = None
    enqueue: bool = True
    # PersistentMessage bodies also get a row in their class's table: (table, types, values).
    typed: tuple[str, dict[str, str], dict[str, Any]] | None = None
    # With no session_id: join the session of this earlier draft of the same commit (a
    # service input's first send opens a session whose id is only known once stored).
    session_from: MessageDraft | None = None
    header_id: int | None = None  # set once stored

    def known_session(self) -> int | None:
        """The session to store this draft in; None: a new one, named by its own id."""
        if self.session_id is not None:
            return self.session_id
        opener = self.session_from
        if opener is not None and opener.header_id is not None:
            return opener.session_for(opener.header_id)
        return None

    def session_for(self, header_id: int) -> int:
        """The session this draft is stored in, given the id it is stored under."""
        session = self.known_session()
        return header_id if session is None else session

    def has_body(self) -> bool:
        return self.body_class is not None or self.body_text is not None

    def body_id_for(self, header_id: int) -> int | None:
        """A stored draft's body shares its header's id; None when it has no body."""
        return header_id if self.has_body() else None

    def stored_header(self, header_id: int, created: float, body_id: int | None) -> Header:
        """The header this draft was stored as, under ``header_id``."""
        final = self.status in (COMPLETED, ERROR, DISCARDED)
        return Header(header_id, self.session_for(header_id), self.corresponding_id,
                      self.source, self.target, self.body_class, body_id, self.type,
                      self.priority, self.status, self.error, created,
                      created if final else None, 0, self.reply_to, self.response_required,
                      self.context_id, self.completion_key, self.description)


@dataclass(slots=True)
class ItemCounts:
    """An item's message counters: received by status (it was the target), sent (it was
    the source), and the time of its last activity (epoch seconds, 0 for none)."""

    received: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    last: float = 0.0


@dataclass(slots=True)
class Header:
    """A stored message header."""

    id: int
    session_id: int
    corresponding_id: int | None
    source: str
    target: str
    body_class: str | None
    body_id: int | None
    type: str
    priority: str
    status: str
    error: str | None
    created: float
    processed: float | None
    attempts: int
    reply_to: str | None
    response_required: bool
    context_id: int | None
    completion_key: str | None
    description: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, times formatted as the IRIS portal shows them."""
        return {
            "id": self.id, "session_id": self.session_id,
            "corresponding_id": self.corresponding_id, "source": self.source,
            "target": self.target, "body_class": self.body_class, "type": self.type,
            "priority": self.priority, "status": self.status, "error": self.error,
            "time_created": format_time(self.created),
            "time_processed": format_time(self.processed), "attempts": self.attempts,
            "description": self.description,
        }


@dataclass(slots=True)
class Delivery:
    """A queue entry claimed by a job, with its header and body."""

    queue_id: int
    header: Header
    body_text: str | None
    attempts: int


@dataclass(slots=True)
class QueueEntry:
    """A message in an item's queue as the operator sees it: waiting, or held by a job
    (``lease_owner``) while that job works on it."""

    queue_id: int
    header: Header
    enqueued: float
    lease_owner: str | None
    lease_until: float | None
    context_id: int | None  # set when the entry wakes a business process instance


@dataclass
class Context:
    """A business process instance between calls."""

    id: int
    item: str
    request_id: int
    state: str
    response_class: str | None = None
    response_text: str | None = None
    pending: int = 0
    replied: bool = False
    failed: str | None = None


@dataclass
class LogEntry:
    """One event log line."""

    type: str
    text: str
    item: str = ""
    job: str = ""
    session_id: int | None = None
    message_id: int | None = None
    source_class: str = ""
    source_method: str = ""
    time: float = field(default_factory=time.time)
    id: int = 0
    # Logged by a service input before its session was stored: the input's first send,
    # whose id names the session once stored.
    session_from: MessageDraft | None = field(default=None, repr=False, compare=False)

    def stored_session(self) -> int | None:
        """The session id to store: known, or that of the stored send named above."""
        if self.session_id is None and self.session_from is not None \
                and self.session_from.header_id is not None:
            self.session_id = self.session_from.session_for(self.session_from.header_id)
        return self.session_id

    def to_dict(self) -> dict[str, Any]:
        """The remote API's log entry shape."""
        return {
            "id": self.id, "time_logged": format_time(self.time),
            "type": LOG_TYPES.get(self.type, "Unknown"), "config_name": self.item,
            "job": self.job, "message_id": self.message_id if self.message_id is not None else "",
            "session_id": self.session_id if self.session_id is not None else "",
            "source_class": self.source_class, "source_method": self.source_method,
            "text": self.text,
        }


ALERT_STATES = ("new", "acknowledged", "closed")  # a managed alert's states, in order


@dataclass
class AlertNote:
    """One operator action on a managed alert: who, when, what, and any words added."""

    time: float
    author: str
    action: str
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"time": format_time(self.time), "user": self.author, "action": self.action,
                "text": self.text}


@dataclass
class ManagedAlert:
    """An alert as IRIS's Managed Alerts keep it: the alert itself (from its event log
    entry), its state and owner, and the actions taken on it (``notes``, oldest first)."""

    id: int
    log_id: int | None
    time: float
    production: str
    item: str
    session_id: int | None
    text: str
    state: str
    owner: str
    updated: float
    notes: list[AlertNote] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "log_id": self.log_id, "time": format_time(self.time),
                "production": self.production, "item": self.item,
                "session_id": self.session_id, "text": self.text, "state": self.state,
                "owner": self.owner, "updated": format_time(self.updated),
                "notes": [n.to_dict() for n in self.notes]}


@dataclass
class JobRecord:
    """A job process as recorded in the runtime state."""

    id: str
    item: str
    slot: int
    pid: int
    host: str
    state: str
    started: float
    heartbeat: float
    processed: int = 0


# Runtime statuses in which no supervisor runs: stopped, or suspended (stopped with
# synchronous requests still queued, as IRIS reports it).
AT_REST = ("stopped", "suspended", "")


@dataclass
class RuntimeState:
    """Which production runs in the namespace, and which supervisor (one per host) runs it."""

    production: str = ""
    status: str = "stopped"
    supervisor_pid: int = 0
    host: str = ""
    heartbeat: float = 0.0
    requested: str = ""
    # Seconds since the heartbeat by the store's clock (the database server's on PostgreSQL,
    # so hosts with skewed clocks agree); None when not read from the store.
    age: float | None = None

    @property
    def live(self) -> bool:
        """Whether the row says a supervisor runs (it may have died since)."""
        return self.status not in AT_REST


@dataclass
class Binding:
    """Class registry entry: class name → Python module and class."""

    class_name: str
    module: str
    classname: str
    classpath: str
    kind: str
    generated: bool = True


def format_time(value: float | None) -> str:
    """UTC ``YYYY-MM-DD HH:MM:SS.fff`` as IRIS prints times, or ``""``."""
    if not value:
        return ""
    t = time.gmtime(value)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + f".{int((value % 1) * 1000):03d}"

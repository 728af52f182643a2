"""The engine side of a business host: sends, sync waits, replies and log lines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from iop.engine import registry
from iop.engine.alerts import ALERT_ITEM, alert_draft
from iop.engine.cluster import production_status
from iop.engine.config import parse_production
from iop.engine.durability import apply_setting
from iop.engine.errors import MessageTimeout, RemoteError, UnknownItem
from iop.engine.input_batch import InputBatcher, InputScope
from iop.engine.outage import Outage, spell_entries
from iop.errors import InputsPaused, StoreUnavailable
from iop.messages import codec
from iop.store import records as r
from iop.store.base import Listener, Store

_SLOW_POLL = 0.5  # seconds between store reads while waiting, in case a wake-up is lost

T = TypeVar("T")


@dataclass(slots=True)
class HandlerScope:
    """What one handler invocation has produced so far; committed with its completion."""

    delivery: r.Delivery | None
    session_id: int | None
    context: r.Context | None = None
    sends: list[r.MessageDraft] = field(default_factory=list)
    reply: tuple[Any, bool] | None = None  # (response, set) once reply() was called


class HostRuntime:
    """Implements :class:`iop.components.engine_services.EngineServices` for one item in one
    process."""

    def __init__(self, store: Store, item: str, job_id: str, production: str | None = None) -> None:
        self.store = store
        self.item = item
        self.job_id = job_id
        registry.use_message_bindings(store)
        self.production = production  # None: whichever production runs in the namespace
        self._targets: frozenset[str] = frozenset()
        self._items_read = float("-inf")
        self._local = threading.local()
        self.logs: list[r.LogEntry] = []
        self._logs_lock = threading.Lock()
        # Store outages are waited out (iop.engine.outage); one per process and item.
        self.outage = Outage(f"item {item} ({job_id})", record=store.outage_record)
        self._inputs = InputBatcher(self._store_send)
        # Whether a wait may go on, asked by every wait of this runtime (a synchronous call's,
        # at least every _SLOW_POLL seconds; a retry's through an outage, between tries).
        # A job's raises SystemExit when the job must end at once (its supervisor gone, its
        # lease lost) and returns True when it is asked to stop: a retry through an outage
        # then gives up, while a synchronous call waits on for its answer (the stop's waves
        # keep its target running). Outside a job (a Director) nothing ends a wait early.
        self.stop_waiting: Callable[[], bool] = lambda: False

    # ------------------------------------------------------------ scopes
    @property
    def scope(self) -> HandlerScope | None:
        return getattr(self._local, "scope", None)

    def enter(self, scope: HandlerScope) -> HandlerScope | None:
        """A handler starts: its async sends and log lines wait for the completion
        transaction. Returns the scope to give back to :meth:`leave` (handlers may nest)."""
        previous = getattr(self._local, "scope", None)
        self._local.scope = scope
        return previous

    def leave(self, previous: HandlerScope | None) -> None:
        """The handler returned (or raised)."""
        self._local.scope = previous

    @contextmanager
    def begin_input(self, host: Any) -> Iterator[None]:
        """One service input: the first send opens a session that later sends share, and
        its asynchronous sends are committed together (see :mod:`iop.engine.input_batch`).
        Refused while inputs are paused (the store's disk is nearly full)."""
        previous = getattr(self._local, "input", None)
        if previous is None:
            self._refuse_if_paused()
        scope = self._local.input = self._inputs.open()
        try:
            yield
        finally:
            self._local.input = previous
            try:
                self._inputs.close(scope)
            finally:
                self.flush_logs()
                if previous is None:
                    self.acknowledge()  # the adapter or the Director's caller acks next

    def acknowledge(self) -> None:
        """Before the outside is told: flush what this process committed to stable storage
        (iop.engine.durability), waiting out a store outage."""
        self.ride(self.store.flush_acknowledged)

    def _from_outside(self) -> bool:
        """A send made by no handler and no service input (a Director or test call)."""
        return self.scope is None and self._input() is None

    def _refuse_if_paused(self) -> None:
        paused = self.store.inputs_paused()
        if paused:
            raise InputsPaused(f"{paused}; new input is refused until space is freed")

    def _stop_riding(self) -> bool:
        """When a send waiting out an outage gives up: a job's handler waits until it is
        asked to stop; new input (no handler: a service's input, a Director or test call)
        also gives up once inputs are paused, as the disk is (nearly) full."""
        if self.stop_waiting():
            return True
        return self.scope is None and bool(self.store.inputs_paused())

    def _input(self) -> InputScope | None:
        return getattr(self._local, "input", None)

    def _session(self) -> int | None:
        scope = self.scope
        if scope is not None:
            return scope.session_id
        current = self._input()
        return current.session if current is not None and current.session else None

    # ------------------------------------------------------------ sending
    def send(self, host: Any, target: str, request: Any, *, sync: bool, timeout: float = -1,
             response_required: bool = True, completion_key: str | None = None,
             description: str | None = None) -> Any:
        if not isinstance(target, str) or not target:
            raise ValueError(f"{self.item}: send target must be an item name, got {target!r}")
        outside = self._from_outside()
        if outside:
            self._refuse_if_paused()  # a send from outside (a test call): new input
        if target not in self._targets:
            self._check_target(target)
        class_name, text = codec.encode(request)
        draft = r.MessageDraft(
            source=self.item, target=target, body_class=class_name, body_text=text,
            priority=r.SYNC if sync else r.ASYNC, session_id=self._session(),
            description=description, typed=codec.typed_row_of(request),
        )
        if sync:
            answer = self._send_sync(draft, timeout)
            if outside:
                self.acknowledge()
            return answer
        scope = self.scope
        if scope is not None:
            if response_required and scope.context is not None:
                draft.response_required = True
                draft.context_id = scope.context.id
                draft.completion_key = completion_key
                scope.context.pending += 1
            scope.sends.append(draft)
            return None
        current = self._input()
        if current is not None:
            self._inputs.add(current, draft)
        else:
            self._store_send([draft])
            self.acknowledge()
        return None

    def ride(self, action: Callable[[], T], deadline: float | None = None) -> T:
        """``action()`` (a store call), tried again through a store outage until it succeeds
        (or the monotonic ``deadline`` passes: the outage's StoreUnavailable is raised)."""
        try:
            result = self.outage.call(action, self._stop_riding, deadline)
        except StoreUnavailable:
            if self.scope is None:
                self._refuse_if_paused()
            raise
        if self.outage.ended:
            self.note_outages()
        return result

    def note_outages(self) -> None:
        """Event log lines (sent with the next ones) for the outages this process rode out.
        They belong to the process, not to the message or input in hand: built apart from
        :meth:`entry`, which would take the input's lock, held by a send that rides an
        outage (input_batch.send_now), and so hang that send."""
        entries = [entry for spell in self.outage.take_ended()
                   for entry in spell_entries(spell, lambda level, text: r.LogEntry(
                       type=level, text=f"{self.job_id}: {text}", item=self.item,
                       job=self.job_id, source_class="iop", source_method="store"))]
        if entries:
            with self._logs_lock:
                self.logs[:0] = entries

    def _store_send(self, drafts: list[r.MessageDraft], deadline: float | None = None) -> list[int]:
        """Store ``drafts`` with the log lines pending, waiting out a store outage. (A send
        whose commit was cut by the outage may be stored twice: at least once.)"""
        logs = self.take_logs()
        try:
            return self.ride(lambda: self.store.send(drafts, logs), deadline)
        except BaseException:
            with self._logs_lock:
                self.logs[:0] = logs
            raise

    def _load_items(self) -> str | None:
        """Re-read the production's item names; returns its name, None when there is none."""
        # Over every host (PostgreSQL), then the default production when none runs yet.
        name = self.production or production_status(self.store)[0] \
            or self.store.get_meta("default_production")
        definition = self.store.get_production(name) if name else None
        self._items_read = time.monotonic()
        if definition is None:
            return None
        config = parse_production(definition)
        self._targets = frozenset(item.name for item in config.items)
        apply_setting(self.store, config.settings)
        return name

    def _check_target(self, target: str) -> None:
        """Refuse a target the production does not contain, as IRIS does, instead of queueing
        a message nobody will ever take. Item names are re-read when one is not known yet, so
        items added by an update are found."""
        name = self.ride(self._load_items)
        if name is not None and target not in self._targets:
            raise UnknownItem(f"{target} is not an item of production {name} "
                              f"(sent by {self.item})")

    def has_item(self, name: str) -> bool:
        """Whether the production has the item ``name`` (names re-read at most every 2 s)."""
        if name not in self._targets and time.monotonic() - self._items_read > 2.0:
            self._load_items()
        return name in self._targets

    def _route_alert(self, text: str) -> None:
        """Deliver an alert to the Ens.Alert item, when the production has one."""
        if self.item == ALERT_ITEM or not self.has_item(ALERT_ITEM):
            return
        draft = alert_draft(self.item, text, self._session())
        scope = self.scope
        if scope is not None:
            scope.sends.append(draft)
        else:
            self._store_send([draft])

    def _listener(self) -> Listener:
        listener = getattr(self._local, "listener", None)
        if listener is None:
            listener = self.store.notifier.listen_private()
            self._local.listener = listener
        return listener

    def request_encoded(self, target: str, body_class: str, body_text: str, timeout: float,
                        typed: tuple[str, dict[str, str], dict[str, Any]] | None = None,
                        on_sent: Callable[[int], None] | None = None
                        ) -> tuple[str, str | None] | None:
        """Send an already encoded request and wait for its answer, left encoded: the
        server's test call must not import the project's message classes. ``on_sent`` is
        told the request's session once it is stored (the portal links its trace)."""
        self._refuse_if_paused()
        if target not in self._targets:
            self._check_target(target)
        draft = r.MessageDraft(source=self.item, target=target, body_class=body_class,
                               body_text=body_text, priority=r.SYNC, session_id=self._session(),
                               typed=typed)
        try:
            answer = self._send_sync(draft, timeout, decode=False)
            self.acknowledge()
            return answer  # type: ignore[no-any-return]
        finally:
            if on_sent is not None and draft.header_id is not None:
                on_sent(draft.session_for(draft.header_id))
            listener = getattr(self._local, "listener", None)
            if listener is not None:
                listener.close()
                self._local.listener = None

    def _send_sync(self, draft: r.MessageDraft, timeout: float, decode: bool = True) -> Any:
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        try:
            listener = self.ride(self._listener, deadline)
        except InputsPaused:
            raise
        except StoreUnavailable as exc:
            raise MessageTimeout(f"{draft.target} could not be sent a message within "
                                 f"{timeout} s: {exc}") from exc
        listener.drain()
        draft.reply_to = listener.address
        draft.response_required = True
        scope = self.scope
        pending = []
        if scope is not None and scope.sends:
            # Keep the order of this handler's sends: earlier async ones go first.
            pending, scope.sends = scope.sends, []
        current = self._input()
        try:
            if current is not None and not pending:
                header_id = self.ride(lambda: self._inputs.send_now(current, draft), deadline)
            else:
                header_id = self._store_send([*pending, draft], deadline)[-1]
        except InputsPaused:
            raise
        except StoreUnavailable as exc:
            raise MessageTimeout(f"{draft.target} could not be sent a message within {timeout} s: "
                                 f"{exc}") from exc
        while True:
            # The listener existed before the send, so the responder's ring cannot be missed;
            # the store is read after each ring and every _SLOW_POLL seconds regardless.
            wait = _SLOW_POLL
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    listener.drain()
                    found = listener.take_reply(header_id) or self._find_response(header_id)
                    if found is not None:
                        return self._response_value(*found, decode=decode)
                    self._time_out(draft, header_id, timeout)
                wait = min(wait, remaining)
            listener.wait(wait, spin=True)
            self.stop_waiting()  # may end the wait (SystemExit); a stop alone does not
            found = listener.take_reply(header_id) or self._find_response(header_id)
            if found is not None:
                return self._response_value(*found, decode=decode)

    def _find_response(self, header_id: int) -> tuple[r.Header, str | None] | None:
        """The stored response, if any; None while the store is unavailable (the caller
        goes on waiting within its timeout, the outage noted once)."""
        try:
            found = self.store.find_response(header_id)
        except StoreUnavailable as exc:
            self.outage.hit(exc)
            return None
        if self.outage.since is not None and self.outage.back() is not None:
            self.note_outages()
        return found

    def _time_out(self, draft: r.MessageDraft, header_id: int, timeout: float) -> None:
        """Give up waiting: mark the request timed out (when the store answers) and raise."""
        try:
            self.store.log([*self.take_logs(), self.entry(
                "error", f"no response from {draft.target} to message {header_id} within "
                f"{timeout} s", "send_request_sync")])
            with self.store.transaction() as tx:
                tx.set_status(header_id, r.ERROR, f"{r.TIMED_OUT} after {timeout} s")
        except StoreUnavailable as exc:
            self.outage.hit(exc)  # the store is out: its answer, if it comes, is discarded
        raise MessageTimeout(
            f"{draft.target} did not answer message {header_id} within {timeout} s"
        )

    def _response_value(self, header: r.Header, body_text: str | None,
                        decode: bool = True) -> Any:
        if header.status == r.ERROR:
            raise RemoteError(f"{header.source} failed on message {header.corresponding_id}: "
                              f"{header.error}")
        if header.body_class is None:
            return None
        if not decode:
            return header.body_class, body_text
        return codec.decode(header.body_class, body_text)

    def reply(self, host: Any, response: Any) -> None:
        scope = self.scope
        if scope is None or scope.context is None:
            raise RuntimeError("reply() is only available while a business process handles a request")
        scope.reply = (response, True)

    # ------------------------------------------------------------ logging
    def entry(self, level: str, text: str, method: str, host: Any = None) -> r.LogEntry:
        scope = self.scope
        session = message = None
        if scope is not None:
            session = scope.session_id
            if scope.delivery is not None:
                message = scope.delivery.header.id
        else:
            session = self._session()
        source = f"{type(host).__module__}.{type(host).__qualname__}" if host is not None else "iop"
        entry = r.LogEntry(type=level, text=text, item=self.item, job=self.job_id,
                           session_id=session, message_id=message, source_class=source,
                           source_method=method)
        current = self._input() if scope is None else None
        if session is None and current is not None:
            current.note_log(entry)  # joins the input's session once that is stored
        return entry

    def log(self, host: Any, level: str, text: str, method: str) -> None:
        entry = self.entry(level, text, method, host)
        with self._logs_lock:
            self.logs.append(entry)
        if level == "alert":
            self._route_alert(text)
        if self.scope is None and self._input() is None:
            self.flush_logs()

    def take_logs(self) -> list[r.LogEntry]:
        with self._logs_lock:
            logs, self.logs = self.logs, []
        return logs

    def flush_logs(self) -> None:
        """Write the pending log lines; while the store is unavailable they are kept for
        the next flush (the outage noted once), never lost and never fatal."""
        logs = self.take_logs()
        if not logs:
            return
        try:
            self.store.log(logs)
        except StoreUnavailable as exc:
            self.outage.hit(exc)
            with self._logs_lock:
                self.logs[:0] = logs

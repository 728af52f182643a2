"""Run handlers for claimed messages and turn their effects into one completion transaction."""

from __future__ import annotations

import base64
import pickle
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

from iop.components import kinds
from iop.engine.alerts import ALERT_ITEM
from iop.engine.host_runtime import HandlerScope
from iop.engine.hosts import LiveHost
from iop.messages import codec
from iop.store import records as r
from iop.store.base import Store, Tx

# A response body ready to store: class name, JSON text, typed-table row (PersistentMessage).
Encoded = tuple[str | None, str | None, Any]
_EMPTY: Encoded = (None, None, None)


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
        _respond(tx, request, encoded, error, late=request.id in abandoned)
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


def _respond(tx: Tx, request: r.Header, encoded: Encoded, error: str | None,
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


def _encode_response(value: Any) -> Encoded:
    if value is None:
        return _EMPTY
    class_name, text = codec.encode(value)
    return class_name, text, codec.typed_row_of(value)



def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Handler:
    """Dispatches deliveries to one live host and reports outcomes."""

    def __init__(self, store: Store, live: LiveHost) -> None:
        self.store = store
        self.live = live
        self.runtime = live.runtime
        self.is_process = live.kind == kinds.PROCESS
        self._base_state = dict(live.host.__dict__)

    def handle(self, delivery: r.Delivery) -> Outcome:
        """Run the handler for one delivery and return what must be committed."""
        header = delivery.header
        if self.is_process and header.type == r.RESPONSE:
            return self._handle_process_response(delivery)
        outcome = Outcome(delivery)
        scope = HandlerScope(delivery=delivery, session_id=header.session_id)
        if self.is_process:
            scope.context = r.Context(id=header.id, item=self.live.item.name,
                                      request_id=header.id, state="")
            self._reset_state(None)
        try:
            message = codec.decode(header.body_class, delivery.body_text) if header.body_class else None
        except codec.MessageError as exc:
            return self._fail(outcome, scope, header, f"cannot read message {header.id}: {exc}", None)
        runtime = self.runtime
        previous = runtime.enter(scope)
        try:
            method = self._method_for(message)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = method(message)
            for warned in caught:
                # e.g. the default on_message's "message was ignored": a warning in the
                # event log, where the operator looks, rather than on a job's stderr.
                self.runtime.logs.append(self.runtime.entry(
                    "warning", f"{warned.category.__name__}: {warned.message}",
                    method.__name__, self.live.host))
            if self.is_process:
                return self._after_process_step(outcome, scope, header, message, result, False)
            encoded = _encode_response(result)
        except Exception as exc:
            return self._fail(outcome, scope, header, _error_text(exc), exc)
        finally:
            runtime.leave(previous)
        outcome.sends = scope.sends
        outcome.responses.append((header, encoded, None))
        outcome.logs = self.runtime.take_logs()
        return outcome

    def _method_for(self, message: Any) -> Any:
        name = self.live.dispatch.method_for(message) if message is not None else None
        if name is None:
            name = "on_request" if self.is_process else "on_message"
        return getattr(self.live.host, name)

    def _fail(self, outcome: Outcome, scope: HandlerScope, request: r.Header, text: str,
              exc: BaseException | None) -> Outcome:
        detail = "".join(traceback.format_exception(exc)) if exc is not None else text
        self.runtime.logs.append(self.runtime.entry(
            "error", f"error handling message {outcome.delivery.header.id}: {detail}".rstrip(),
            "on_message", self.live.host))
        outcome.status = r.ERROR
        outcome.error = text
        code = getattr(exc, "code", None) or getattr(exc, "status_code", None)
        outcome.error_code = str(code) if code is not None else None
        # Calls of a failed handler are dropped, except the alerts it raised about its failure.
        outcome.sends = [d for d in scope.sends if d.target == ALERT_ITEM]
        if outcome.delivery.header.id != request.id:
            outcome.statuses.append((request.id, r.ERROR, text))
        outcome.responses = [(request, _EMPTY, text)]
        if scope.context is not None and self.is_process:
            outcome.delete_context = scope.context.id
        outcome.logs = self.runtime.take_logs()
        return outcome

    # ------------------------------------------------------------ business processes
    def _reset_state(self, state: str | None) -> None:
        host = self.live.host
        host.__dict__.clear()
        host.__dict__.update(self._base_state)
        if state:
            host.__dict__.update(pickle.loads(base64.b64decode(state)))

    def _snapshot_state(self) -> str:
        changed = {}
        for key, value in self.live.host.__dict__.items():
            if key in self._base_state and self._base_state[key] is value:
                continue
            try:
                pickle.dumps(value)
            except Exception:
                continue  # connections and the like come back from on_init, not from the context
            changed[key] = value
        return base64.b64encode(pickle.dumps(changed)).decode("ascii")

    def _after_process_step(self, outcome: Outcome, scope: HandlerScope, request: r.Header,
                            request_msg: Any, result: Any, had_calls: bool) -> Outcome:
        ctx = scope.context
        assert ctx is not None
        host = self.live.host
        if scope.reply is not None:
            encoded = _encode_response(scope.reply[0])
            ctx.response_class, ctx.response_text = encoded[0], encoded[1]
            outcome.responses.append((request, encoded, None))
            ctx.replied = True
            scope.reply = None
        elif result is not None and not ctx.replied:
            ctx.response_class, ctx.response_text = _encode_response(result)[:2]
        had_calls = had_calls or ctx.pending > 0
        if ctx.pending == 0:
            if had_calls:
                response = self._context_response(ctx)
                host.on_complete(request_msg, response)
                if scope.reply is not None:
                    encoded = _encode_response(scope.reply[0])
                    ctx.response_class, ctx.response_text = encoded[0], encoded[1]
                    outcome.responses.append((request, encoded, None))
                    ctx.replied = True
                if ctx.pending > 0:  # on_complete made new calls: keep waiting
                    return self._keep(outcome, scope)
            if not ctx.replied:
                outcome.responses.append((request, (ctx.response_class, ctx.response_text, None),
                                          None))
            if outcome.delivery.header.id != request.id:
                outcome.statuses.append((request.id, r.COMPLETED, None))
            if outcome.delivery.header.id != ctx.id:
                outcome.delete_context = ctx.id
            outcome.sends = scope.sends
            outcome.logs = self.runtime.take_logs()
            return outcome
        return self._keep(outcome, scope)

    def _keep(self, outcome: Outcome, scope: HandlerScope) -> Outcome:
        ctx = scope.context
        assert ctx is not None
        ctx.state = self._snapshot_state()
        outcome.save_context = ctx
        if outcome.delivery.header.id == ctx.request_id:
            outcome.status = r.DELIVERED  # the request stays in progress until the process completes
        outcome.sends = scope.sends
        outcome.logs = self.runtime.take_logs()
        return outcome

    def _context_response(self, ctx: r.Context) -> Any:
        if ctx.response_class is None:
            return None
        return codec.decode(ctx.response_class, ctx.response_text)

    def _handle_process_response(self, delivery: r.Delivery) -> Outcome:
        header = delivery.header
        outcome = Outcome(delivery, status=r.COMPLETED if header.status != r.ERROR else r.ERROR)
        ctx = self.store.load_context(header.context_id) if header.context_id is not None else None
        if ctx is None:
            outcome.status = r.DISCARDED
            return outcome
        request = self.store.get_header(ctx.request_id)
        call_request = self.store.get_header(header.corresponding_id or 0)
        assert request is not None
        scope = HandlerScope(delivery=delivery, session_id=header.session_id, context=ctx)
        self._reset_state(ctx.state)
        ctx.pending = max(ctx.pending - 1, 0)
        previous = self.runtime.enter(scope)
        try:
            request_msg = codec.decode(request.body_class, self.store.get_body(request)) \
                if request.body_class else None
            if header.status == r.ERROR:
                raise RuntimeError(f"call to {header.source} failed: {header.error}")
            call_msg = codec.decode(call_request.body_class, self.store.get_body(call_request)) \
                if call_request is not None and call_request.body_class else None
            response_msg = codec.decode(header.body_class, delivery.body_text) \
                if header.body_class else None
            result = self.live.host.on_response(
                request_msg, self._context_response(ctx), call_msg, response_msg,
                header.completion_key,
            )
            return self._after_process_step(outcome, scope, request, request_msg, result, True)
        except Exception as exc:
            failed = self._fail(outcome, scope, request, _error_text(exc), exc)
            failed.status = r.COMPLETED if header.status != r.ERROR else r.ERROR
            failed.delete_context = ctx.id
            return failed
        finally:
            self.runtime.leave(previous)

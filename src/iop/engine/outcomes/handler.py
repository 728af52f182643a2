"""Handler: runs a live host's handler for each claimed message and collects its effects
(sends, responses, context changes, log lines) into an :class:`Outcome`."""

from __future__ import annotations

import base64
import pickle
import traceback
import warnings
from typing import Any

from iop.components import kinds
from iop.engine.alerts import ALERT_ITEM
from iop.engine.host_runtime import HandlerScope
from iop.engine.hosts import LiveHost
from iop.engine.outcomes.outcome import EMPTY, Encoded, Outcome
from iop.errors import ConnectorError, StoreUnavailable
from iop.messages import codec
from iop.store import records as r
from iop.store.base import Store


def _encode_response(value: Any) -> Encoded:
    if value is None:
        return EMPTY
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
        except StoreUnavailable:
            raise  # an outage is no failure of the message: the job waits and handles it again
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
        # An outside system that failed (a connector's one-line error) is no bug to trace.
        detail = text if exc is None or isinstance(exc, ConnectorError) else \
            "".join(traceback.format_exception(exc))
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
        outcome.responses = [(request, EMPTY, text)]
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
        except StoreUnavailable:
            raise
        except Exception as exc:
            failed = self._fail(outcome, scope, request, _error_text(exc), exc)
            failed.status = r.COMPLETED if header.status != r.ERROR else r.ERROR
            failed.delete_context = ctx.id
            return failed
        finally:
            self.runtime.leave(previous)

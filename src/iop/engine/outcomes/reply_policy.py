"""What a job does with a handler's outcome before committing it: ReplyCodeActions (retry,
suspend, disable, fail, complete, warn) for operations, and AlertOnError for every host.

A retried message keeps its lease and is tried again every RetryInterval seconds in the
same job, so an operation's messages stay in order; earlier outcomes of the batch are
committed first so nothing else waits on the retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from iop.components import kinds
from iop.engine.alerts import ALERT_ITEM, alert_draft
from iop.engine.outcomes.handler import Handler
from iop.engine.outcomes.outcome import EMPTY, Outcome
from iop.engine.outcomes.reply_code_actions import Decision, Failure, ReplyCodeActions
from iop.store import records as r

# Retries logged one by one up to this attempt, then every LOG_EVERY-th, so a message retried
# forever does not flood the event log.
_LOG_FIRST = 3
_LOG_EVERY = 10


def _number(host: Any, name: str, default: float) -> float:
    try:
        return float(getattr(host, name, default))
    except (TypeError, ValueError):
        return default


class ReplyPolicy:
    """Applies one item's reply and alert settings to the outcomes of its handler."""

    def __init__(self, handler: Handler, pause: Callable[[float], bool]) -> None:
        self.handler = handler
        self.runtime = handler.runtime
        self.store = handler.store
        self._pause = pause  # sleeps, keeping the job alive; False when the job must stop
        host = handler.live.host
        self.item = handler.live.item.name
        is_operation = handler.live.kind == kinds.OPERATION
        # Parsed at start: a malformed setting stops the item with a clear error.
        self.rules = ReplyCodeActions(getattr(host, "ReplyCodeActions", "")) \
            if is_operation else None
        self.has_rules = bool(self.rules and self.rules.rules)
        self.retry_interval = max(_number(host, "RetryInterval", 5.0), 0.0)
        self.failure_timeout = _number(host, "FailureTimeout", 15.0)
        self.alert_on_error = str(getattr(host, "AlertOnError", False)).lower() in ("true", "1")
        self.grace = max(_number(host, "AlertRetryGracePeriod", 0.0), 0.0)
        self.disable_requested = False

    # ------------------------------------------------------------ the one entry point
    def handle(self, delivery: r.Delivery, flush: Callable[[], None]) -> Outcome | None:
        """The outcome to commit, or None when the job is stopping mid-retry (the message
        stays in the queue for the next job)."""
        outcome = self.handler.handle(delivery)
        decision = self._decide(outcome)
        if decision is None:
            if outcome.status == r.ERROR:
                self._alert(outcome, outcome.error or "")
            return outcome
        alerted = False
        if decision.retry:
            started = time.monotonic()
            attempt = 1
            while decision is not None and decision.retry:
                elapsed = time.monotonic() - started
                if 0 <= self.failure_timeout <= elapsed:
                    break
                if self.alert_on_error and not alerted and elapsed >= self.grace:
                    self._alert_now(outcome, f"{outcome.error} (retrying)")
                    alerted = True
                if attempt <= _LOG_FIRST or attempt % _LOG_EVERY == 0:
                    self._log_now(outcome, "warning", self._retry_text(outcome, attempt))
                flush()
                if not self._pause(self.retry_interval):
                    return None
                outcome = self.handler.handle(delivery)
                attempt += 1
                decision = self._decide(outcome)
            if decision is None:
                self._note(outcome, "info", f"message {delivery.header.id} succeeded after "
                           f"{attempt} attempt(s)")
                return outcome
            if decision.retry:
                outcome.error = (f"{outcome.error or 'no reply message'} (gave up after "
                                 f"{attempt} attempts in {time.monotonic() - started:.0f} s)")
        return self._final(outcome, decision, alerted)

    # ------------------------------------------------------------ decisions
    def _decide(self, outcome: Outcome) -> Decision | None:
        """The ReplyCodeActions decision, or None for an outcome to commit as it is."""
        if self.rules is None:
            return None
        if outcome.status == r.ERROR:
            failure = Failure(outcome.error, outcome.error_code)
        elif not self.has_rules or outcome.status != r.COMPLETED:
            return None
        elif any(encoded[0] is not None for _, encoded, _ in outcome.responses):
            return None  # a reply: completed OK
        else:
            failure = Failure(None, has_reply=False)
        decision = self.rules.decide(failure)
        for rule in decision.warnings:
            what = outcome.error or "no reply message"
            self._note(outcome, "warning", f"message {outcome.delivery.header.id}: {what} "
                       f"(ReplyCodeActions {rule})")
        if outcome.status != r.ERROR and decision.completes:
            return None
        return decision

    def _final(self, outcome: Outcome, decision: Decision, alerted: bool) -> Outcome:
        action = decision.final()
        header = outcome.delivery.header
        if action == "C":
            if outcome.status == r.ERROR:
                outcome.status, outcome.error = r.COMPLETED, None
                outcome.responses = [(header, EMPTY, None)]
            return outcome
        if outcome.status != r.ERROR:
            outcome.status, outcome.error = r.ERROR, outcome.error or "no reply message"
            outcome.responses = [(header, EMPTY, outcome.error)]
        if not alerted:
            self._alert(outcome, outcome.error or "")
        if action == "S":
            outcome.status = r.SUSPENDED
            # A business process instance that asked for the response keeps waiting (its
            # context is stored): a resubmission answers it, a discard answers it with an
            # error. A synchronous caller cannot wait that long; it gets the error now.
            process_waits = not header.reply_to and header.response_required \
                and header.context_id is not None
            outcome.responses = [] if process_waits else [
                (header, EMPTY, f"suspended: {outcome.error}")]
            waiting = f"; business process {header.source} waits for its response" \
                if process_waits else ""
            self._note(outcome, "error", f"message {header.id} to {self.item} suspended: "
                       f"{outcome.error}{waiting}; resubmit or discard it (iop --suspended)")
        elif action == "D":
            outcome.release = True
            self.disable_requested = True
            self._note(outcome, "error", f"item {self.item} disabled by ReplyCodeActions: "
                       f"{outcome.error}; message {header.id} waits in its queue")
        return outcome

    # ------------------------------------------------------------ log lines and alerts
    def _retry_text(self, outcome: Outcome, attempt: int) -> str:
        limit = "forever" if self.failure_timeout < 0 else f"up to {self.failure_timeout:g} s"
        return (f"message {outcome.delivery.header.id} failed (attempt {attempt}): "
                f"{outcome.error}; retrying every {self.retry_interval:g} s, {limit}")

    def _entry(self, outcome: Outcome, level: str, text: str) -> r.LogEntry:
        header = outcome.delivery.header
        entry = self.runtime.entry(level, text, "reply_policy", self.handler.live.host)
        entry.session_id, entry.message_id = header.session_id, header.id
        return entry

    def _note(self, outcome: Outcome, level: str, text: str) -> None:
        """A log line committed with the outcome."""
        outcome.logs.append(self._entry(outcome, level, text))

    def _log_now(self, outcome: Outcome, level: str, text: str) -> None:
        self.store.log([self._entry(outcome, level, text)])

    def _alert(self, outcome: Outcome, text: str) -> None:
        """AlertOnError: an alert committed with the outcome."""
        if not self.alert_on_error:
            return
        message = f"{self.item}: {text}"
        outcome.logs.append(self._entry(outcome, "alert", message))
        if self.item != ALERT_ITEM and self.runtime.has_item(ALERT_ITEM):
            outcome.sends.append(alert_draft(self.item, message, outcome.delivery.header.session_id))

    def _alert_now(self, outcome: Outcome, text: str) -> None:
        """An alert sent at once (a message still being retried is not committed yet)."""
        message = f"{self.item}: {text}"
        drafts = []
        if self.item != ALERT_ITEM and self.runtime.has_item(ALERT_ITEM):
            drafts.append(alert_draft(self.item, message, outcome.delivery.header.session_id))
        self.store.send(drafts, [self._entry(outcome, "alert", message)])

"""What the messaging-system connectors (RabbitMQ, MQTT, NATS, Kafka) share.

**Inbound**: ``BrokerInboundAdapter`` runs a consumer of its own on a thread
(``consume_until``, written per broker); each received message is handed to the job's
thread (``InputHandoff``) and the broker is acknowledged only when ``deliver`` said
``STORED``: at least once. A consumer that loses its broker connects again every
``BrokerRetryInterval`` seconds until the job stops; what it has to say goes to the event
log from the job's thread (the store is only used there).

**Services and operations**: ``BrokerService`` sends each received message to its
``TargetConfigNames``; ``BrokerOperation`` hands each request to its adapter's
``send_message``, whose error (ConnectorError) the operation's ReplyCodeActions,
RetryInterval and FailureTimeout act on.
"""

from __future__ import annotations

import enum
import hashlib
import threading
import time
from typing import Any

from iop.components.adapters import InboundAdapter
from iop.components.operation import BusinessOperation
from iop.components.service import BusinessService
from iop.components.settings import Category, setting, target
from iop.connectors.inbound import InputHandoff, QueueLimit, queue_limit_setting, targets_of
from iop.errors import ConnectorError

__all__ = [
    "BrokerInboundAdapter",
    "BrokerOperation",
    "BrokerService",
    "DeliveryOutcome",
    "body_text",
    "connector_error",
    "is_on",
    "stable_client_id",
]

# The most bytes one received message may have unless the adapter says otherwise.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# How long tear-down waits for a consumer thread to end.
_JOIN_SECONDS = 10.0


class DeliveryOutcome(enum.Enum):
    """What became of a message handed to the service."""

    STORED = "stored"        # committed: acknowledge the broker
    FAILED = "failed"        # not stored (an error, or the job stops): the broker keeps it
    REJECTED = "rejected"    # never storable (too large): the broker may drop or dead-letter it


def is_on(value: Any) -> bool:
    """A boolean setting's value, given as a bool or as production text."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def stable_client_id(adapter: Any, prefix: str, limit: int = 23) -> str:
    """A client id that is the same every time this item runs (a broker keeps a persistent
    session or a consumer group by it): ``prefix`` and a hash of the item's name."""
    runtime = getattr(adapter, "_iop_runtime", None)
    item = str(getattr(runtime, "item", "") or type(adapter).__name__)
    digest = hashlib.sha1(item.encode("utf-8")).hexdigest()
    return (prefix + digest)[:limit]


def connector_error(system: str, where: str, exc: BaseException | str) -> ConnectorError:
    """One line: the system, host:port (or URL), and the cause."""
    cause = exc if isinstance(exc, str) else (str(exc).strip() or type(exc).__name__)
    cause = " ".join(cause.split())
    return ConnectorError(f"{system} {where}: {cause}")


def body_text(request: Any) -> str:
    """The text a request carries: a broker message's own field, else a string or a
    stream container's contents."""
    for name in ("StringValue", "Stream", "encodedContent", "value"):
        text = getattr(request, name, None)
        if isinstance(text, str):
            return text
    raise ConnectorError(f"{type(request).__name__} carries no text to publish "
                         "(StringValue, Stream, encodedContent or value)")


class BrokerInboundAdapter(InboundAdapter):
    """A broker consumer on a thread of its own, feeding the service through the job's
    thread; subclasses write ``consume_until``."""

    QueueLimit = queue_limit_setting()
    BrokerRetryInterval = setting(5, category=Category.ADDITIONAL,
                                  description="Seconds between two attempts to connect to the "
                                              "broker after it could not be reached")
    BrokerRetryInterval.python_type = "float"
    MaxMessageSize = setting(DEFAULT_MAX_MESSAGE_BYTES, category=Category.ADDITIONAL,
                             description="Largest message body accepted, in bytes; a larger one "
                                         "is logged as an error and not stored")

    # Names the broker in log lines ("RabbitMQ", "MQTT", ...).
    system = "broker"

    # ------------------------------------------------------------ job thread

    def on_task(self) -> None:
        self._start_consumer()
        self._write_notes()
        limit = self._limit
        seconds = max(float(self.CallInterval or 0.1), 0.1)
        self._handoff.drain(seconds, limit)
        self._write_notes()

    def on_tear_down(self) -> None:
        stopping = getattr(self, "_stopping", None)
        if stopping is None:
            return
        stopping.set()
        self._handoff.close()
        self.interrupt_consumer()
        thread = self._thread
        if thread is not None:
            thread.join(_JOIN_SECONDS)
        self._write_notes()

    def _start_consumer(self) -> None:
        if getattr(self, "_thread", None) is not None:
            return
        self._handoff = InputHandoff(self)
        self._limit = QueueLimit(self, int(self.QueueLimit or 0))
        self._stopping = threading.Event()
        self._notes: list[tuple[str, str]] = []
        self._notes_lock = threading.Lock()
        self._last_problem = ""
        self._thread: threading.Thread | None = threading.Thread(
            target=self._consume_forever, name=f"{self.system} consumer", daemon=True)
        self._thread.start()

    def _write_notes(self) -> None:
        with self._notes_lock:
            notes, self._notes = self._notes, []
        alert = is_on(getattr(self.business_host, "AlertOnError", False))
        for level, text in notes:
            if level == "error":
                self.log_error(text)
                if alert:
                    self.log_alert(text)
            else:
                self.log_info(text)

    # ------------------------------------------------------------ consumer thread

    def note(self, level: str, text: str) -> None:
        """Queue a line for the event log (written from the job's thread)."""
        with self._notes_lock:
            self._notes.append((level, text))

    def stopping(self) -> bool:
        return self._stopping.is_set()

    def pause(self, seconds: float) -> None:
        """Wait, ending early when the job stops."""
        self._stopping.wait(max(seconds, 0.0))

    def deliver(self, data: Any, size: int) -> DeliveryOutcome:
        """Hand ``data`` (a message of ``size`` bytes) to the service and wait until it is
        stored; the caller acknowledges the broker only on STORED."""
        limit = int(self.MaxMessageSize or 0)
        if limit > 0 and size > limit:
            self.note("error", f"{self.system}: a message of {size} bytes is larger than "
                               f"MaxMessageSize ({limit}); not stored")
            return DeliveryOutcome.REJECTED
        try:
            self._handoff.submit(data)
        except ConnectorError as exc:
            if not self.stopping():
                self.note("error", f"{self.system}: {exc}")
            return DeliveryOutcome.FAILED
        except Exception as exc:
            self.note("error", f"{self.system}: the service failed on a message, which the "
                               f"broker keeps: {type(exc).__name__}: {exc}")
            return DeliveryOutcome.FAILED
        return DeliveryOutcome.STORED

    def _consume_forever(self) -> None:
        while not self.stopping():
            try:
                self.consume_until()
            except Exception as exc:
                if self.stopping():
                    break
                problem = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, ConnectorError):
                    problem = str(exc)
                if problem != self._last_problem:  # once per outage, not every retry
                    self._last_problem = problem
                    self.note("error", f"{self.system} consumer: {problem}; connecting again "
                                       f"every {float(self.BrokerRetryInterval or 5):g} s")
                self.pause(float(self.BrokerRetryInterval or 5))
            else:
                if not self.stopping():
                    self.pause(float(self.BrokerRetryInterval or 5))

    def connected(self, where: str) -> None:
        """Called by a consumer when it (re)connected: says so once after a problem."""
        if self._last_problem:
            self._last_problem = ""
            self.note("info", f"{self.system} consumer connected again to {where}")

    def consume_until(self) -> None:
        """Connect, consume and acknowledge until ``stopping()``; raise on a broker error
        (the adapter connects again after BrokerRetryInterval)."""
        raise NotImplementedError

    def interrupt_consumer(self) -> None:
        """Wake the consumer thread from a blocking wait (tear-down); by default it looks at
        ``stopping()`` often enough by itself."""


class BrokerService(BusinessService):
    """Sends each message its adapter receives to every item of TargetConfigNames."""

    TargetConfigNames = target(multi_select=True,
                               description="Items each received message is sent to")

    def on_process_input(self, message_input: Any = None) -> None:
        for item in targets_of(self.adapter):
            self.send_request_async(item, message_input)


class BrokerOperation(BusinessOperation):
    """Publishes each request through its adapter's ``send_message``."""

    def on_message(self, request: Any) -> None:
        self.adapter.send_message(request)


def wait_until(predicate: Any, seconds: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``seconds`` pass; whether it became true."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True

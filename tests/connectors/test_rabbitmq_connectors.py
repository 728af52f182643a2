"""EnsLib.RabbitMQ.* run by the real CLI: RabbitMQ -> service -> operation -> RabbitMQ,
on the machine's shared broker (unique queues) and on a node of the test's own that is
restarted mid-stream (nothing lost; duplicates only as at least once allows)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from messaging_support import PRODUCTION, RabbitNode, free_port, log_texts, production, unique

pika = pytest.importorskip("pika")

SHARED_PORT = 5672


def _connect(port: int) -> Any:
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", port, credentials=pika.PlainCredentials("guest", "guest"),
        connection_attempts=1, socket_timeout=5))


def _declare(port: int, *queues: str) -> None:
    connection = _connect(port)
    channel = connection.channel()
    for queue in queues:
        channel.queue_declare(queue=queue, durable=True)
    connection.close()


def _publish(port: int, queue: str, bodies: list[str]) -> None:
    connection = _connect(port)
    channel = connection.channel()
    channel.confirm_delivery()
    for body in bodies:
        channel.basic_publish("", queue, body.encode(), pika.BasicProperties(
            delivery_mode=2, headers={"origin": "test"}))
    connection.close()


class _Collector:
    """Takes every message off a queue (acknowledged), surviving broker restarts."""

    def __init__(self, port: int, queue: str) -> None:
        self.port, self.queue = port, queue
        self.bodies: list[str] = []

    def take(self) -> list[str]:
        try:
            connection = _connect(self.port)
            channel = connection.channel()
            while True:
                method, _props, body = channel.basic_get(self.queue)
                if method is None:
                    break
                self.bodies.append(body.decode())
                channel.basic_ack(method.delivery_tag)
            connection.close()
        except pika.exceptions.AMQPError:
            pass  # the broker restarts: look again later
        return self.bodies


def _queue_depth(port: int, queue: str) -> int:
    connection = _connect(port)
    depth = connection.channel().queue_declare(queue=queue, durable=True,
                                               passive=True).method.message_count
    connection.close()
    return int(depth)


def _run(make_project: Any, source: str) -> Any:
    project = make_project("", source)
    project.migrate()
    project.start(PRODUCTION)
    return project


def test_round_trip_through_the_shared_broker(make_project: Any, store: Any,
                                              wait_for: Any) -> None:
    qin, qout = unique("iopq-in"), unique("iopq-out")
    _declare(SHARED_PORT, qin, qout)
    sent = [f"message {i}" for i in range(20)]
    _publish(SHARED_PORT, qin, sent)
    _run(make_project, production(
        "EnsLib.RabbitMQ.Service", {"QueueName": qin, "MQHost": "127.0.0.1",
                                    "CallInterval": 0.2},
        "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "RoutingKey": qout}))
    collector = _Collector(SHARED_PORT, qout)
    wait_for(lambda: len(set(collector.take())) == len(sent), timeout=60,
             what="every message published again")
    assert sorted(set(collector.bodies)) == sorted(sent)
    # Each delivery was acknowledged once stored: the input queue is empty.
    wait_for(lambda: _queue_depth(SHARED_PORT, qin) == 0, timeout=20, what="input queue acked")
    stored = [h for h in store.query_headers(source="BrokerIn", limit=100)]
    assert len(stored) >= len(sent)
    assert {h.body_class for h in stored} == {"EnsLib.RabbitMQ.Message"}
    body = store.get_body(stored[0])
    assert '"origin": "test"' in body or '"origin":"test"' in body


def test_unroutable_publish_is_a_one_line_error(make_project: Any, store: Any,
                                                wait_for: Any) -> None:
    qin = unique("iopq-in")
    nowhere = unique("iopq-nowhere")
    _declare(SHARED_PORT, qin)
    _publish(SHARED_PORT, qin, ["lost?"])
    _run(make_project, production(
        "EnsLib.RabbitMQ.Service", {"QueueName": qin, "MQHost": "127.0.0.1",
                                    "CallInterval": 0.2},
        "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "RoutingKey": nowhere},
        {"FailureTimeout": 0}))

    def failed() -> Any:
        return [h for h in store.query_headers(target="BrokerOut", limit=10)
                if h.status == "Error" or (h.error or "")]
    headers = wait_for(failed, timeout=60, what="the operation's error")
    error = headers[0].error or ""
    assert "RabbitMQ 127.0.0.1:5672: message unroutable" in error, error
    assert nowhere in error
    assert "\n" not in error.strip()
    assert "Traceback" not in error
    logged = [t for t in log_texts(store, "BrokerOut") if "message unroutable" in t]
    assert logged and all("\n" not in t and "Traceback" not in t for t in logged), logged


def test_unreachable_broker_is_logged_once_as_one_line(make_project: Any, store: Any,
                                                      wait_for: Any) -> None:
    port = free_port()  # nothing listens there
    _run(make_project, production(
        "EnsLib.RabbitMQ.Service", {"QueueName": "q", "MQHost": "127.0.0.1", "MQPort": port,
                                    "CallInterval": 0.2, "BrokerRetryInterval": 0.5},
        "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "RoutingKey": "x"}))
    wanted = f"RabbitMQ 127.0.0.1:{port}: connection refused; connecting again every 0.5 s"

    def logged() -> Any:
        return [t for t in log_texts(store, "BrokerIn") if "RabbitMQ consumer" in t]
    lines = wait_for(logged, timeout=30, what="the consumer's error")
    assert any(wanted in line for line in lines), lines
    time.sleep(1.5)  # several retries happen meanwhile; the outage is said once
    assert len(logged()) == 1, logged()
    assert all("\n" not in line for line in logged())


@pytest.mark.slow
def test_broker_restart_mid_stream_loses_nothing(make_project: Any,
                                                 wait_for: Any) -> None:
    node = RabbitNode()
    node.start()
    try:
        qin, qout = unique("iopq-in"), unique("iopq-out")
        _declare(node.port, qin, qout)
        _run(make_project, production(
            "EnsLib.RabbitMQ.Service", {"QueueName": qin, "MQHost": "127.0.0.1",
                                        "MQPort": node.port, "CallInterval": 0.2,
                                        "BrokerRetryInterval": 0.5},
            "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "MQPort": node.port,
                                          "RoutingKey": qout},
            {"RetryInterval": 0.5, "FailureTimeout": -1}))
        total = 60
        confirmed: list[str] = []
        stop = threading.Event()

        def publisher() -> None:
            # Publishes 0..total-1 with confirms; what was not confirmed is sent again.
            i = 0
            while i < total and not stop.is_set():
                try:
                    _publish(node.port, qin, [f"m{i}"])
                    confirmed.append(f"m{i}")
                    i += 1
                    time.sleep(0.05)
                except pika.exceptions.AMQPError:
                    time.sleep(0.2)

        thread = threading.Thread(target=publisher, daemon=True)
        thread.start()
        collector = _Collector(node.port, qout)
        wait_for(lambda: len(set(collector.take())) >= 15, timeout=60, what="a first part")
        node.stop()
        node.start()
        wait_for(lambda: not thread.is_alive(), timeout=120, what="the publisher")
        expected = {f"m{i}" for i in range(total)}
        wait_for(lambda: set(collector.take()) >= expected, timeout=120,
                 what="every message after the restart")
        assert set(collector.bodies) == expected
    finally:
        stop.set()
        node.remove()


HOLDER = '''
class Holder(BusinessOperation):
    """Waits for its Gate file, then writes what it received (one JSON line) to Out."""

    Gate = setting("")
    Out = setting("")

    def on_message(self, request):
        while not os.path.exists(self.Gate):
            time.sleep(0.05)
        with open(self.Out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"class": type(request).__name__,
                                 "body": request.encodedContent, "key": request.routingKey,
                                 "headers": request.headers}) + "\\n")
'''


def test_queue_limit_holds_deliveries_back_in_the_broker(make_project: Any, store: Any,
                                                         wait_for: Any, tmp_path: Path
                                                         ) -> None:
    """With QueueLimit 3 and a target that does not get on, the service stops taking
    deliveries: the rest stays in RabbitMQ until the target catches up; then everything
    arrives, decoded as EnsLib.RabbitMQ.Message by a host of the user's own."""
    qin = unique("iopq-in")
    _declare(SHARED_PORT, qin)
    total = 30
    _publish(SHARED_PORT, qin, [f"held {i}" for i in range(total)])
    gate, out = tmp_path / "gate", tmp_path / "out.jsonl"
    project = make_project(HOLDER, f'''
prod = Production("{PRODUCTION}")
svc = prod.service("BrokerIn", class_name="EnsLib.RabbitMQ.Service")
svc.host_setting("TargetConfigNames", "Holder")
svc.adapter_setting("QueueName", {qin!r}).adapter_setting("MQHost", "127.0.0.1")
svc.adapter_setting("CallInterval", "0.2").adapter_setting("QueueLimit", "3")
svc.adapter_setting("PrefetchCount", "2")
prod.operation("Holder", Holder).host_setting("Gate", {str(gate)!r}) \\
    .host_setting("Out", {str(out)!r})
PRODUCTIONS = [prod]
''')
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: len(store.query_headers(source="BrokerIn", limit=100)) >= 3, timeout=60,
             what="the first deliveries stored")
    time.sleep(2)  # time enough to overshoot the limit, were it not held
    stored = len(store.query_headers(source="BrokerIn", limit=100))
    assert stored <= 3, stored
    assert _queue_depth(SHARED_PORT, qin) >= total - 3 - 2 - 1  # stored, prefetched, in hand
    gate.write_text("go", encoding="utf-8")

    def received() -> list[dict[str, Any]]:
        if not out.exists():
            return []
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    wait_for(lambda: {r["body"] for r in received()} >= {f"held {i}" for i in range(total)},
             timeout=90, what="every delivery once the target caught up")
    first = received()[0]
    assert first["class"] == "RabbitMQMessage" and first["key"] == qin
    assert first["headers"] == {"origin": "test"}
    wait_for(lambda: _queue_depth(SHARED_PORT, qin) == 0, timeout=20, what="input queue acked")


def _consumers(port: int, queue: str) -> int:
    connection = _connect(port)
    count = connection.channel().queue_declare(queue=queue, durable=True,
                                               passive=True).method.consumer_count
    connection.close()
    return int(count)


def test_stopping_the_production_closes_the_consumer_promptly(make_project: Any, run_iop: Any,
                                                              wait_for: Any) -> None:
    qin = unique("iopq-in")
    _declare(SHARED_PORT, qin)
    _run(make_project, production(
        "EnsLib.RabbitMQ.Service", {"QueueName": qin, "MQHost": "127.0.0.1",
                                    "CallInterval": 5},
        "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "RoutingKey": qin}))
    wait_for(lambda: _consumers(SHARED_PORT, qin) == 1, timeout=30, what="the consumer")
    started = time.monotonic()
    run_iop("-S")
    assert time.monotonic() - started < 15
    wait_for(lambda: _consumers(SHARED_PORT, qin) == 0, timeout=5, what="the consumer gone")


def test_oversized_delivery_is_rejected_with_one_line(make_project: Any, store: Any,
                                                      wait_for: Any) -> None:
    qin, qout = unique("iopq-in"), unique("iopq-out")
    _declare(SHARED_PORT, qin, qout)
    _publish(SHARED_PORT, qin, ["x" * 5000, "small"])
    _run(make_project, production(
        "EnsLib.RabbitMQ.Service", {"QueueName": qin, "MQHost": "127.0.0.1",
                                    "CallInterval": 0.2, "MaxMessageSize": 1000},
        "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "RoutingKey": qout}))
    collector = _Collector(SHARED_PORT, qout)
    wait_for(lambda: "small" in collector.take(), timeout=60, what="the small message")
    wanted = "RabbitMQ: a message of 5000 bytes is larger than MaxMessageSize (1000); not stored"
    wait_for(lambda: wanted in log_texts(store, "BrokerIn"), timeout=10, what="the error")
    assert collector.take() == ["small"]
    wait_for(lambda: _queue_depth(SHARED_PORT, qin) == 0, timeout=20,
             what="the large one rejected, not requeued")


def test_service_job_killed_mid_stream_loses_nothing(make_project: Any, store: Any,
                                                     wait_for: Any, job_pids: Any) -> None:
    """SIGKILL of the consuming job: what it had not acknowledged goes back to the queue and
    the job started again takes it (stored at least once, nothing lost)."""
    import os
    import signal

    qin, qout = unique("iopq-in"), unique("iopq-out")
    _declare(SHARED_PORT, qin, qout)
    total = 200
    _publish(SHARED_PORT, qin, [f"k{i}" for i in range(total)])
    _run(make_project, production(
        "EnsLib.RabbitMQ.Service", {"QueueName": qin, "MQHost": "127.0.0.1",
                                    "CallInterval": 0.2},
        "EnsLib.RabbitMQ.Operation", {"MQHost": "127.0.0.1", "RoutingKey": qout}))
    wait_for(lambda: len(store.query_headers(source="BrokerIn", limit=100)) >= 20, timeout=60,
             what="a first part stored")
    victim = job_pids(store)["BrokerIn"][0]
    os.kill(victim, signal.SIGKILL)
    assert len(store.query_headers(source="BrokerIn", limit=1000)) < total  # mid-stream
    wait_for(lambda: job_pids(store).get("BrokerIn", [victim]) != [victim], timeout=60,
             what="the service's job started again")
    collector = _Collector(SHARED_PORT, qout)
    expected = {f"k{i}" for i in range(total)}
    wait_for(lambda: set(collector.take()) >= expected, timeout=120,
             what="every message after the kill")
    assert set(collector.bodies) == expected

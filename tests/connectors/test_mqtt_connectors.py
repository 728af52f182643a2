"""EnsLib.MQTT.* run by the real CLI: MQTT -> passthrough service -> passthrough
operation -> MQTT, on the machine's shared Mosquitto (unique topics) and on a Mosquitto of
the test's own that is restarted mid-stream (nothing lost; duplicates only as at least once
allows)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from messaging_support import PRODUCTION, Mosquitto, free_port, log_texts, production, unique

mqtt = pytest.importorskip("paho.mqtt.client")

SHARED_PORT = 1883


def _client(client_id: str = "", clean: bool = True) -> Any:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or
                       f"t-{uuid.uuid4().hex[:12]}", clean_session=clean)


def _subscribe_session(port: int, client_id: str, topic: str) -> None:
    """Create the persistent QoS 1 session a service will resume, so that nothing published
    before the service first connects is dropped."""
    client = _client(client_id, clean=False)
    client.connect("127.0.0.1", port)
    client.loop_start()
    done = threading.Event()
    client.on_subscribe = lambda *_a: done.set()
    client.subscribe(topic, 1)
    assert done.wait(10)
    client.disconnect()
    client.loop_stop()


def _publish(port: int, topic: str, texts: list[str]) -> None:
    client = _client()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for text in texts:
            info = client.publish(topic, text.encode(), 1)
            info.wait_for_publish(10)
            if not info.is_published():
                raise OSError("not acknowledged")
    finally:
        client.disconnect()
        client.loop_stop()


class _Collector:
    """A QoS 1 subscriber in a persistent session, reconnecting by itself."""

    def __init__(self, port: int, topic: str) -> None:
        self.texts: list[str] = []
        self.client = _client(f"c-{uuid.uuid4().hex[:12]}", clean=False)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_message = lambda _c, _u, m: self.texts.append(m.payload.decode())
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _run(make_project: Any, source: str) -> None:
    project = make_project("", source)
    project.migrate()
    project.start(PRODUCTION)


def test_round_trip_through_the_shared_broker(make_project: Any, store: Any,
                                              wait_for: Any) -> None:
    tin, tout = unique("iopq/in"), unique("iopq/out")
    client_id = unique("iopq")
    _subscribe_session(SHARED_PORT, client_id, tin)
    collector = _Collector(SHARED_PORT, tout)
    try:
        sent = [f"reading {i}" for i in range(20)]
        _publish(SHARED_PORT, tin, sent)  # before the production runs: kept by the session
        _run(make_project, production(
            "EnsLib.MQTT.Service.Passthrough", {"Url": "tcp://127.0.0.1:1883", "Topic": tin,
                                                "ClientID": client_id, "CallInterval": 0.2},
            "EnsLib.MQTT.Operation.Passthrough", {"Url": "tcp://127.0.0.1:1883",
                                                  "Topic": tout}))
        wait_for(lambda: set(collector.texts) >= set(sent), timeout=60,
                 what="every message published again")
        assert set(collector.texts) == set(sent)
        stored = store.query_headers(source="BrokerIn", limit=100)
        assert {h.body_class for h in stored} == {"EnsLib.MQTT.Message"}
        assert tin in (store.get_body(stored[0]) or "")
    finally:
        collector.close()


def test_unreachable_broker_is_logged_once_as_one_line(make_project: Any, store: Any,
                                                      wait_for: Any) -> None:
    port = free_port()
    _run(make_project, production(
        "EnsLib.MQTT.Service.Passthrough", {"Url": f"tcp://127.0.0.1:{port}", "Topic": "t",
                                            "CallInterval": 0.2, "BrokerRetryInterval": 0.5},
        "EnsLib.MQTT.Operation.Passthrough", {"Url": f"tcp://127.0.0.1:{port}", "Topic": "t"}))
    wanted = f"MQTT 127.0.0.1:{port}: connection refused; connecting again every 0.5 s"

    def logged() -> Any:
        return [t for t in log_texts(store, "BrokerIn") if "MQTT consumer" in t]
    lines = wait_for(logged, timeout=30, what="the consumer's error")
    assert any(wanted in line for line in lines), lines
    time.sleep(1.5)
    assert len(logged()) == 1, logged()


def test_broker_restart_mid_stream_loses_nothing(make_project: Any, wait_for: Any) -> None:
    broker = Mosquitto()
    broker.start()
    collector = None
    try:
        tin, tout = unique("iopq/in"), unique("iopq/out")
        client_id = unique("iopq")
        _subscribe_session(broker.port, client_id, tin)
        collector = _Collector(broker.port, tout)
        url = f"tcp://127.0.0.1:{broker.port}"
        _run(make_project, production(
            "EnsLib.MQTT.Service.Passthrough", {"Url": url, "Topic": tin, "ClientID": client_id,
                                                "CallInterval": 0.2,
                                                "BrokerRetryInterval": 0.5},
            "EnsLib.MQTT.Operation.Passthrough", {"Url": url, "Topic": tout},
            {"RetryInterval": 0.5, "FailureTimeout": -1}))
        total = 60
        stop = threading.Event()

        def publisher() -> None:
            i = 0
            while i < total and not stop.is_set():
                try:
                    _publish(broker.port, tin, [f"m{i}"])
                    i += 1
                    time.sleep(0.05)
                except (OSError, RuntimeError, ValueError):
                    time.sleep(0.2)

        thread = threading.Thread(target=publisher, daemon=True)
        thread.start()
        wait_for(lambda: len(set(collector.texts)) >= 15, timeout=60, what="a first part")
        broker.stop()
        broker.start()
        wait_for(lambda: not thread.is_alive(), timeout=120, what="the publisher")
        expected = {f"m{i}" for i in range(total)}
        wait_for(lambda: set(collector.texts) >= expected, timeout=120,
                 what="every message after the restart")
        assert set(collector.texts) == expected
    finally:
        if collector is not None:
            collector.close()
        broker.remove()


def test_service_job_killed_mid_stream_loses_nothing(make_project: Any, store: Any,
                                                     wait_for: Any, job_pids: Any) -> None:
    """SIGKILL of the subscribing job: the persistent session keeps what it had not
    acknowledged, and the job started again (same ClientID) gets it."""
    import os
    import signal

    tin, tout = unique("iopq/in"), unique("iopq/out")
    client_id = unique("iopq")
    _subscribe_session(SHARED_PORT, client_id, tin)
    collector = _Collector(SHARED_PORT, tout)
    try:
        total = 200
        _publish(SHARED_PORT, tin, [f"k{i}" for i in range(total)])
        _run(make_project, production(
            "EnsLib.MQTT.Service.Passthrough", {"Url": "tcp://127.0.0.1:1883", "Topic": tin,
                                                "ClientID": client_id, "CallInterval": 0.2,
                                                "BrokerRetryInterval": 0.5},
            "EnsLib.MQTT.Operation.Passthrough", {"Url": "tcp://127.0.0.1:1883",
                                                  "Topic": tout}))
        wait_for(lambda: len(store.query_headers(source="BrokerIn", limit=100)) >= 20,
                 timeout=60, what="a first part stored")
        victim = job_pids(store)["BrokerIn"][0]
        os.kill(victim, signal.SIGKILL)
        assert len(store.query_headers(source="BrokerIn", limit=1000)) < total  # mid-stream
        expected = {f"k{i}" for i in range(total)}
        wait_for(lambda: set(collector.texts) >= expected, timeout=120,
                 what="every message after the kill")
        assert set(collector.texts) == expected
    finally:
        collector.close()

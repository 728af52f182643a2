"""EnsLib.NATS.* (IRIS has no NATS classes; these follow its pattern) run by the real CLI:
JetStream -> service -> operation -> JetStream, on the machine's shared nats-server (unique
streams) and on a nats-server of the test's own restarted mid-stream (nothing lost;
duplicates only as at least once allows)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from messaging_support import PRODUCTION, NatsServer, free_port, log_texts, production, unique

nats = pytest.importorskip("nats")

SHARED_PORT = 4222


async def _connected(port: int) -> Any:
    async def quiet(_exc: Exception) -> None:
        return None
    return await nats.connect(f"nats://127.0.0.1:{port}", connect_timeout=2,
                              allow_reconnect=False, error_cb=quiet)


def _add_streams(port: int, **streams: str) -> None:
    async def run() -> None:
        nc = await _connected(port)
        js = nc.jetstream()
        for name, subject in streams.items():
            await js.add_stream(name=name, subjects=[subject])
        await nc.close()
    asyncio.run(run())


def _delete_streams(port: int, *names: str) -> None:
    async def run() -> None:
        nc = await _connected(port)
        for name in names:
            try:
                await nc.jetstream().delete_stream(name)
            except Exception:
                pass
        await nc.close()
    asyncio.run(run())


def _publish(port: int, subject: str, texts: list[str]) -> None:
    async def run() -> None:
        nc = await _connected(port)
        try:
            js = nc.jetstream()
            for text in texts:
                await js.publish(subject, text.encode(), timeout=5)
        finally:
            await nc.close()
    asyncio.run(run())


def _stream_texts(port: int, stream: str) -> list[str]:
    """Every message the stream holds, by sequence ([] while the server is away)."""
    async def run() -> list[str]:
        nc = await _connected(port)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            texts = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                texts.append((await js.get_msg(stream, seq)).data.decode())
            return texts
        finally:
            await nc.close()
    try:
        return asyncio.run(run())
    except Exception:
        return []


def _run(make_project: Any, source: str) -> None:
    project = make_project("", source)
    project.migrate()
    project.start(PRODUCTION)


def test_round_trip_through_the_shared_server(make_project: Any, store: Any,
                                              wait_for: Any) -> None:
    tag = unique("iopq").replace("-", "_")
    sin, sout = f"IN_{tag}", f"OUT_{tag}"
    _add_streams(SHARED_PORT, **{sin: f"{tag}.in", sout: f"{tag}.out"})
    try:
        sent = [f"event {i}" for i in range(20)]
        _publish(SHARED_PORT, f"{tag}.in", sent)
        _run(make_project, production(
            "EnsLib.NATS.Service", {"Servers": "nats://127.0.0.1:4222", "Subject": f"{tag}.in",
                                    "StreamName": sin, "CallInterval": 0.2},
            "EnsLib.NATS.Operation", {"Servers": "nats://127.0.0.1:4222",
                                      "Subject": f"{tag}.out"}))
        wait_for(lambda: set(_stream_texts(SHARED_PORT, sout)) >= set(sent), timeout=60,
                 what="every message published again")
        assert set(_stream_texts(SHARED_PORT, sout)) == set(sent)
        stored = store.query_headers(source="BrokerIn", limit=100)
        assert {h.body_class for h in stored} == {"EnsLib.NATS.Message"}
    finally:
        _delete_streams(SHARED_PORT, sin, sout)


def test_no_stream_for_the_subject_is_a_one_line_error(make_project: Any, store: Any,
                                                       wait_for: Any) -> None:
    tag = unique("iopq").replace("-", "_")
    _add_streams(SHARED_PORT, **{f"IN_{tag}": f"{tag}.in"})
    try:
        _publish(SHARED_PORT, f"{tag}.in", ["x"])
        _run(make_project, production(
            "EnsLib.NATS.Service", {"Servers": "nats://127.0.0.1:4222", "Subject": f"{tag}.in",
                                    "StreamName": f"IN_{tag}", "CallInterval": 0.2},
            "EnsLib.NATS.Operation", {"Servers": "nats://127.0.0.1:4222",
                                      "Subject": f"{tag}.nowhere"},
            {"FailureTimeout": 0}))

        def failed() -> Any:
            return [h for h in store.query_headers(target="BrokerOut", limit=10) if h.error]
        error = wait_for(failed, timeout=60, what="the operation's error")[0].error
        assert error.strip().endswith(
            f"NATS 127.0.0.1:4222: no stream takes subject {tag}.nowhere"), error
        assert "\n" not in error.strip()
    finally:
        _delete_streams(SHARED_PORT, f"IN_{tag}")


def test_unreachable_server_is_logged_once_as_one_line(make_project: Any, store: Any,
                                                      wait_for: Any) -> None:
    port = free_port()
    _run(make_project, production(
        "EnsLib.NATS.Service", {"Servers": f"nats://127.0.0.1:{port}", "Subject": "s",
                                "CallInterval": 0.2, "BrokerRetryInterval": 0.5},
        "EnsLib.NATS.Operation", {"Servers": f"nats://127.0.0.1:{port}", "Subject": "s"}))
    wanted = f"NATS 127.0.0.1:{port}: connection refused (no server reachable); connecting " \
             "again every 0.5 s"

    def logged() -> Any:
        return [t for t in log_texts(store, "BrokerIn") if "NATS consumer" in t]
    lines = wait_for(logged, timeout=30, what="the consumer's error")
    assert any(wanted in line for line in lines), lines
    time.sleep(1.5)
    assert len(logged()) == 1, logged()


def test_server_restart_mid_stream_loses_nothing(make_project: Any, wait_for: Any) -> None:
    server = NatsServer()
    server.start()
    try:
        url = f"nats://127.0.0.1:{server.port}"
        _add_streams(server.port, IN="r.in", OUT="r.out")
        _run(make_project, production(
            "EnsLib.NATS.Service", {"Servers": url, "Subject": "r.in", "StreamName": "IN",
                                    "CallInterval": 0.2, "BrokerRetryInterval": 0.5},
            "EnsLib.NATS.Operation", {"Servers": url, "Subject": "r.out"},
            {"RetryInterval": 0.5, "FailureTimeout": -1}))
        total = 60
        stop = threading.Event()

        def publisher() -> None:
            i = 0
            while i < total and not stop.is_set():
                try:
                    _publish(server.port, "r.in", [f"m{i}"])
                    i += 1
                    time.sleep(0.05)
                except Exception:
                    time.sleep(0.2)

        thread = threading.Thread(target=publisher, daemon=True)
        thread.start()
        wait_for(lambda: len(set(_stream_texts(server.port, "OUT"))) >= 15, timeout=60,
                 what="a first part")
        server.stop()
        server.start()
        wait_for(lambda: not thread.is_alive(), timeout=120, what="the publisher")
        expected = {f"m{i}" for i in range(total)}
        wait_for(lambda: set(_stream_texts(server.port, "OUT")) >= expected, timeout=120,
                 what="every message after the restart")
        assert set(_stream_texts(server.port, "OUT")) == expected
    finally:
        stop.set()
        server.remove()


def test_service_job_killed_mid_stream_loses_nothing(make_project: Any, store: Any,
                                                     wait_for: Any, job_pids: Any) -> None:
    """SIGKILL of the consuming job: the durable consumer redelivers what was not
    acknowledged (after its ack wait) to the job started again."""
    import os
    import signal

    tag = unique("iopq").replace("-", "_")
    sin, sout = f"IN_{tag}", f"OUT_{tag}"
    _add_streams(SHARED_PORT, **{sin: f"{tag}.in", sout: f"{tag}.out"})
    try:
        total = 200
        _publish(SHARED_PORT, f"{tag}.in", [f"k{i}" for i in range(total)])
        _run(make_project, production(
            "EnsLib.NATS.Service", {"Servers": "nats://127.0.0.1:4222", "Subject": f"{tag}.in",
                                    "StreamName": sin, "CallInterval": 0.2, "AckWait": 2},
            "EnsLib.NATS.Operation", {"Servers": "nats://127.0.0.1:4222",
                                      "Subject": f"{tag}.out"}))
        wait_for(lambda: len(store.query_headers(source="BrokerIn", limit=100)) >= 20,
                 timeout=60, what="a first part stored")
        victim = job_pids(store)["BrokerIn"][0]
        os.kill(victim, signal.SIGKILL)
        assert len(store.query_headers(source="BrokerIn", limit=1000)) < total  # mid-stream
        expected = {f"k{i}" for i in range(total)}
        # The unacknowledged ones come back after the consumer's ack wait (AckWait).
        wait_for(lambda: set(_stream_texts(SHARED_PORT, sout)) >= expected, timeout=120,
                 what="every message after the kill")
        assert set(_stream_texts(SHARED_PORT, sout)) == expected
    finally:
        _delete_streams(SHARED_PORT, sin, sout)

"""HL7 v2 over MLLP through a production run by the real CLI: a sender written here ->
EnsLib.HL7.Service.TCPService -> EnsLib.HL7.Operation.TCPOperation -> a receiver written
here. ACK modes, the receiver restarted mid-stream, the service restarted under a sender,
malformed frames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hl7_support import (
    PG_URL,
    PRODUCTION,
    MllpReceiver,
    MllpSender,
    adt,
    drop_namespace,
    free_port,
    postgres_namespace,
    production_source,
    read_frame,
    wait_listening,
)

from iop.connectors.hl7.hl7_message import HL7Message


def _start(make_project: Any, in_port: int, out_port: int, **kwargs: Any) -> Any:
    project = make_project("", production_source(in_port, out_port, **kwargs))
    project.migrate()
    project.start(PRODUCTION)
    wait_listening(in_port)
    return project


def _msa(reply: bytes) -> tuple[str, str]:
    ack = HL7Message(RawContent=reply.decode("latin-1"))
    return ack.GetValueAt("MSA:1"), ack.GetValueAt("MSA:2")


@pytest.fixture(params=["sqlite", "postgresql"])
def hl7_backend(request: pytest.FixtureRequest, iop_home: Any, run_iop: Any,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The store the production and the test use: SQLite, or a fresh PostgreSQL namespace."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    namespace = postgres_namespace()
    if namespace is None:
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable")
    monkeypatch.setenv("IOP_DATABASE_URL", PG_URL)
    monkeypatch.setenv("IOP_NAMESPACE", namespace)
    try:
        yield "postgresql"
    finally:
        run_iop("-k", check=False)
        drop_namespace(namespace)


def test_messages_flow_in_and_out_with_immediate_acks_and_are_stored_as_er7(
        hl7_backend: str, make_project: Any, wait_for: Any, run_iop: Any) -> None:
    from iop.store import open_store

    store = open_store()
    assert store.backend == hl7_backend
    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port)
    receiver.start()
    try:
        _start(make_project, in_port, out_port)
        sender = MllpSender(in_port)
        for n in range(5):
            assert _msa(sender.send(adt(f"M{n}"))) == ("AA", f"M{n}")
            # The ACK came after the commit: the message is in the store already (no wait).
            assert len(store.query_headers(source="HL7In", limit=10)) == n + 1
        sender.close()
        wait_for(lambda: len(receiver.received) >= 5, timeout=30, what="5 messages out")
        assert receiver.received == [adt(f"M{n}") for n in range(5)]  # byte for byte
        done = wait_for(lambda: [h for h in store.query_headers(source="HL7In", limit=10)
                                 if h.status == "completed"][4:] and
                        store.query_headers(source="HL7In", limit=10), timeout=20,
                        what="the messages to complete")
        first = done[-1] if done[-1].id < done[0].id else done[0]
        assert first.body_class == "EnsLib.HL7.Message" and first.target == "HL7Out"
        assert store.get_body(first) in {adt(f"M{n}") for n in range(5)}
        # A test call to the operation answers with the peer's ACK, as ER7 text.
        tested = run_iop("-t", "HL7Out", "-C", "EnsLib.HL7.Message", "-B", adt("T9"))
        assert "EnsLib.HL7.Message" in tested.stdout and "MSA|AA|T9" in tested.stdout
    finally:
        receiver.stop()
        store.close()


def test_app_mode_returns_the_peers_ack_and_its_nack(make_project: Any, wait_for: Any) -> None:
    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port, answer=lambda text: "AE" if "Bad" in text else "AA")
    receiver.start()
    try:
        _start(make_project, in_port, out_port, ack_mode="App",
               operation_settings={"ReplyCodeActions": ":?E=F,:?R=F,E=F"})
        sender = MllpSender(in_port)
        reply = HL7Message(RawContent=sender.send(adt("APP1")).decode("latin-1"))
        # The peer's own ACK comes back: its control id is the one the receiver made.
        assert reply.GetValueAt("MSA:1") == "AA" and reply.GetValueAt("MSH:10") == "AAPP1"
        code, control = _msa(sender.send(adt("APP2", family="Bad")))
        assert (code, control) == ("AE", "APP2")
        sender.close()
    finally:
        receiver.stop()


@pytest.mark.parametrize("mode", ["Never", "Byte", "Msh"])
def test_never_byte_and_msh_ack_modes(make_project: Any, wait_for: Any, mode: str) -> None:
    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port)
    receiver.start()
    try:
        _start(make_project, in_port, out_port, ack_mode=mode)
        sender = MllpSender(in_port)
        if mode == "Byte":
            assert sender.send(adt("B1")) == b"\x06"
        else:
            if mode == "Msh":  # MSH-15 AL asks for an ACK, NE for none
                assert _msa(sender.send(adt("H1").replace("|P|2.5\r", "|P|2.5|||AL\r")))[0] \
                    == "AA"
            text = adt("N1").replace("|P|2.5\r", "|P|2.5|||NE\r")
            sender.send_raw(b"\x0b" + text.encode() + b"\x1c\x0d")
            sender.sock.settimeout(2)  # type: ignore[union-attr]
            with pytest.raises(TimeoutError):
                sender.sock.recv(10)  # type: ignore[union-attr]
        wait_for(lambda: receiver.received, timeout=30, what="the message out")
        sender.close()
    finally:
        receiver.stop()


def test_malformed_input_is_nacked_and_logged_in_one_line(
        make_project: Any, store: Any, wait_for: Any) -> None:
    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port)
    receiver.start()
    try:
        _start(make_project, in_port, out_port, inbound_settings={"ReadTimeout": "1",
                                                                "MaxMessageSize": "2000"})
        sender = MllpSender(in_port)
        # A frame never finished: NACK after ReadTimeout, the connection is closed.
        cut = MllpSender(in_port)
        cut.send_raw(b"\x0b" + adt("CUT").encode()[:30])
        assert _msa(read_frame(cut.sock, timeout=10))[0] == "AR"  # type: ignore[arg-type]
        with pytest.raises((ConnectionError, OSError)):
            read_frame(cut.sock, timeout=5)  # type: ignore[arg-type]
        cut.close()
        # A frame that is not HL7: AR NACK, the connection stays usable.
        assert _msa(sender.send(b"this is not hl7"))[0] == "AR"
        assert _msa(sender.send(b"\r\n"))[0] == "AR"  # an empty message
        assert _msa(sender.send(adt("OK1"))) == ("AA", "OK1")
        # A frame over MaxMessageSize: NACK AR, the connection is closed.
        big = MllpSender(in_port)
        big.send_raw(b"\x0b" + adt("BIG").encode() + b"NTE|1||" + b"x" * 5000 + b"\x1c\x0d")
        assert _msa(read_frame(big.sock, timeout=10))[0] == "AR"  # type: ignore[arg-type]
        with pytest.raises((ConnectionError, OSError)):
            read_frame(big.sock, timeout=5)  # type: ignore[arg-type]
        big.close()
        # Garbage outside a frame: NACK AR, the connection is closed.
        sender.send_raw(b"garbage\x0b")

        assert _msa(read_frame(sender.sock))[0] == "AR"  # type: ignore[arg-type]
        with pytest.raises((ConnectionError, OSError)):
            read_frame(sender.sock, timeout=5)  # type: ignore[arg-type]
        sender.close()
        def errors() -> list[str]:
            return [e.text for e in store.log_since(0)
                    if e.item == "HL7In" and e.type.lower() == "error"]

        wait_for(lambda: len(errors()) >= 5, timeout=20, what="five error lines")
        logs = errors()
        assert any("not an HL7 message" in t for t in logs)
        assert any("the message is empty" in t for t in logs)
        assert any("outside an MLLP frame" in t for t in logs)
        assert any("not finished within ReadTimeout" in t for t in logs)
        assert any("longer than the limit of 2000 bytes" in t for t in logs)
        assert all("\n" not in t and "Traceback" not in t for t in logs)
        wait_for(lambda: receiver.control_ids() == ["OK1"], timeout=20, what="OK1 out")
    finally:
        receiver.stop()


def test_receiver_restarted_mid_stream_loses_nothing(make_project: Any, wait_for: Any) -> None:
    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port)
    receiver.start()
    try:
        _start(make_project, in_port, out_port)
        sender = MllpSender(in_port)
        ids = [f"R{n:03d}" for n in range(40)]
        for n, control in enumerate(ids):
            assert _msa(sender.send(adt(control)))[0] == "AA"
            if n == 10:
                wait_for(lambda: receiver.received, timeout=20, what="a first message out")
                receiver.stop()
            if n == 25:
                receiver.start()
        sender.close()
        wait_for(lambda: set(receiver.control_ids()) >= set(ids), timeout=60,
                 what="every message at the receiver")
        got = receiver.control_ids()
        # At least once, in order: a duplicate only where the restart cut an exchange.
        assert len(got) - len(set(got)) <= 2
        assert sorted(set(got), key=got.index) == ids
    finally:
        receiver.stop()


def test_sender_reconnects_after_the_service_restarts(
        make_project: Any, run_iop: Any, wait_for: Any) -> None:
    """A sender that resends what was not ACKed, as MLLP senders do, keeps sending while the
    production restarts (iop -r): every message arrives, duplicates only of unACKed ones."""
    import threading

    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port)
    receiver.start()
    acked: list[str] = []
    resent: list[str] = []
    sent_ten, restarted = threading.Event(), threading.Event()

    def send_all() -> None:
        sender = MllpSender(in_port)
        after_restart = 0
        for n in range(5000):  # until 10 more were ACKed after the restart
            control = f"S{n:04d}"
            while True:
                try:
                    if _msa(sender.send(adt(control), timeout=10)) == ("AA", control):
                        acked.append(control)
                        break
                except (OSError, ConnectionError):
                    pass
                resent.append(control)
                sender.close()
                try:
                    wait_listening(in_port, timeout=30)
                except AssertionError:
                    return
            if len(acked) == 10:
                sent_ten.set()
            if restarted.is_set():
                after_restart += 1
                if after_restart == 10:
                    break
        sender.close()

    try:
        _start(make_project, in_port, out_port)
        worker = threading.Thread(target=send_all, daemon=True)
        worker.start()
        assert sent_ten.wait(30)
        run_iop("-r")  # our listener goes away under the sender and comes back
        restarted.set()
        worker.join(90)
        assert not worker.is_alive() and resent, "the restart did not cut the sender"
        ids = [f"S{n:04d}" for n in range(len(acked))]
        assert acked == ids
        wait_for(lambda: set(receiver.control_ids()) >= set(ids), timeout=60,
                 what="every message at the receiver")
        got = receiver.control_ids()
        assert sorted(set(got), key=got.index) == ids  # in order
        duplicates = len(got) - len(set(got))
        assert duplicates <= len(resent)  # only what was sent again without an ACK
    finally:
        receiver.stop()


def test_queue_limit_holds_the_sender_back_until_the_target_drains(
        make_project: Any, wait_for: Any) -> None:
    in_port, out_port = free_port(), free_port()
    receiver = MllpReceiver(out_port)  # not started yet: HL7Out cannot deliver
    project = make_project("", production_source(in_port, out_port))
    project.write_settings(production_source(in_port, out_port,
                                             inbound_settings={"QueueLimit": "2"}))
    project.migrate()
    project.start(PRODUCTION)
    wait_listening(in_port)
    sender = MllpSender(in_port)
    acked = 0
    try:
        for n in range(200):
            try:
                assert _msa(sender.send(adt(f"Q{n}"), timeout=3))[0] == "AA"
                acked += 1
            except TimeoutError:
                break
        # Held back once the queue count (read every 0.1 s) is over the limit.
        assert 2 <= acked < 200, acked
        receiver.start()
        assert _msa(read_frame(sender.sock, timeout=30)) == ("AA", f"Q{acked}")  # type: ignore[arg-type]
        sender.close()
        expected = {f"Q{n}" for n in range(acked + 1)}
        wait_for(lambda: set(receiver.control_ids()) >= expected, timeout=30,
                 what="the held messages out")
    finally:
        receiver.stop()

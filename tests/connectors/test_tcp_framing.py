"""MLLP framing on a real socket pair, and the client's reconnect-once on a stale connection."""

from __future__ import annotations

import socket
import threading

import pytest
from hl7_support import free_port

from iop.connectors.tcp.mllp_client import MllpClient
from iop.connectors.tcp.mllp_framing import FrameReader, FramingError, PeerClosed, mllp_frame
from iop.connectors.tcp.tcp_listener import TcpListener
from iop.errors import ConnectorError


def _pair(max_size: int = 1000) -> tuple[socket.socket, FrameReader]:
    a, b = socket.socketpair()
    return a, FrameReader(b, max_size)


def test_frames_split_across_reads_and_back_to_back_are_taken_one_by_one() -> None:
    peer, reader = _pair()
    data = mllp_frame(b"one") + b"\r\n" + mllp_frame(b"two")
    peer.sendall(data[:3])
    with pytest.raises(TimeoutError):
        reader.read(0.2)  # half a frame: kept for the next read
    peer.sendall(data[3:])
    assert reader.read(1) == b"one" and reader.read(1) == b"two"
    peer.close()
    with pytest.raises(PeerClosed) as closed:
        reader.read(1)
    assert "middle" not in str(closed.value)


def test_garbage_oversize_and_missing_end_block_are_framing_errors() -> None:
    peer, reader = _pair(max_size=10)
    peer.sendall(b"junk" + mllp_frame(b"x"))
    with pytest.raises(FramingError, match="outside an MLLP frame"):
        reader.read(1)
    assert reader.read(1) == b"x"  # the frame after the garbage is intact
    peer.sendall(b"\x0b" + b"y" * 50)
    with pytest.raises(FramingError, match="longer than the limit of 10"):
        reader.read(1)
    peer2, reader2 = _pair()
    peer2.sendall(b"\x0bfirst\x0bsecond\x1c\r")
    with pytest.raises(FramingError, match="missing end block"):
        reader2.read(1)
    peer3, reader3 = _pair()
    peer3.sendall(b"\x0bcut short")
    peer3.close()
    with pytest.raises(PeerClosed, match="middle of a frame"):
        reader3.read(1)


def test_client_reopens_a_stale_connection_once_and_names_the_peer_when_down() -> None:
    port = free_port()
    server = socket.create_server(("127.0.0.1", port))
    served: list[bytes] = []

    def serve(close_after_first: bool) -> None:
        conn, _ = server.accept()
        reader = FrameReader(conn)
        try:
            while True:
                payload = reader.read(5)
                served.append(payload)
                conn.sendall(mllp_frame(b"ack:" + payload))
                if close_after_first:
                    return
        except (PeerClosed, OSError):
            return
        finally:
            conn.close()

    first = threading.Thread(target=serve, args=(True,))
    first.start()
    client = MllpClient("127.0.0.1", port, connect_timeout=1, response_timeout=5, system="HL7 peer")
    assert client.exchange(b"a") == b"ack:a"
    first.join()  # the peer closed: the client's connection is stale now
    second = threading.Thread(target=serve, args=(False,))
    second.start()
    assert client.exchange(b"b") == b"ack:b"
    client.close()
    second.join()
    server.close()
    assert served == [b"a", b"b"]
    with pytest.raises(ConnectorError) as down:
        client.exchange(b"c")
    assert str(down.value).startswith(f"HL7 peer 127.0.0.1:{port}: cannot connect")


def test_a_taken_port_is_one_line_naming_the_address() -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    with pytest.raises(ConnectorError) as taken:
        TcpListener("127.0.0.1", port, lambda conn, peer: None)
    holder.close()
    assert str(taken.value) == f"cannot listen on 127.0.0.1:{port}: address already in use"
    listener = TcpListener("127.0.0.1", port, lambda conn, peer: None)  # free again
    assert listener.port == port
    listener.close()

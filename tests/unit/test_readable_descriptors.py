"""readable() waits on descriptors numbered past select()'s limit of 1024, which a process
holding many files reaches (the pytest run that first hit it held 1,024 descriptors)."""

from __future__ import annotations

import os
import resource
import socket
from collections.abc import Iterator

import pytest

from iop.store.wakeups.readable import readable


@pytest.fixture
def high_socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2048, hard), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    pair = socket.socketpair()
    try:
        yield pair
    finally:
        for s in pair:
            s.close()
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_descriptor_past_1024_is_waited_on(
        high_socket_pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = high_socket_pair
    assert reader.fileno() >= 1024
    assert readable([reader], 0.05) == []
    writer.send(b"ring")
    assert readable([reader], 1.0) == [reader]
    assert readable([writer.fileno(), reader.fileno()], 1.0) == [reader.fileno()]


def test_a_hang_up_counts_as_readable(
        high_socket_pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = high_socket_pair
    writer.close()
    assert readable([reader], 1.0) == [reader]
    assert reader.recv(10) == b""

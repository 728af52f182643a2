"""Frames on a TCP byte stream.

**MLLP** (HL7's Minimal Lower Layer Protocol): a message travels as
``\\x0b <message> \\x1c \\x0d``. ``FrameReader`` takes the frames out of a socket's byte
stream, bounded: a frame longer than ``max_size`` bytes, or bytes outside a frame, are a
``FramingError`` (the caller answers or closes the connection; nothing is half-taken).
"""

from __future__ import annotations

import socket

from iop.errors import ConnectorError

__all__ = ["END_BLOCK", "FramingError", "FrameReader", "PeerClosed", "START_BLOCK", "mllp_frame"]

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
_CHUNK = 65536


class FramingError(ConnectorError):
    """Bytes that are not a well-formed frame (garbage between frames, a frame too long)."""


class PeerClosed(ConnectorError):
    """The peer closed the connection (cleanly between frames, or in the middle of one)."""


def mllp_frame(payload: bytes) -> bytes:
    """``payload`` in an MLLP envelope."""
    return START_BLOCK + payload + END_BLOCK


class FrameReader:
    """Reads MLLP frames from one socket, one at a time."""

    def __init__(self, sock: socket.socket, max_size: int = DEFAULT_MAX_FRAME) -> None:
        self.sock = sock
        self.max_size = max_size
        self._buffer = bytearray()

    @property
    def partial(self) -> bool:
        """Whether part of a frame was read and its end is awaited."""
        return START_BLOCK in self._buffer

    def read(self, timeout: float | None = None) -> bytes:
        """The next frame's payload. ``socket.timeout`` when nothing complete arrived within
        ``timeout`` (the bytes read so far are kept for the next call), PeerClosed when the
        peer closed, FramingError for bytes that are not a frame."""
        self.sock.settimeout(timeout)
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            chunk = self.sock.recv(_CHUNK)
            if not chunk:
                if self._buffer.strip():
                    raise PeerClosed(f"the peer closed the connection in the middle of a frame "
                                     f"({len(self._buffer)} bytes without an end block)")
                raise PeerClosed("the peer closed the connection")
            self._buffer += chunk

    def _take(self) -> bytes | None:
        buffer = self._buffer
        if not buffer:
            return None
        start = buffer.find(START_BLOCK)
        if start < 0:
            # Line ends or blanks between frames are tolerated; anything else is garbage.
            if buffer.strip(b"\r\n \t\x00"):
                garbage = bytes(buffer[:40])
                buffer.clear()
                raise FramingError(f"bytes outside an MLLP frame: {garbage!r}")
            buffer.clear()
            return None
        if start > 0:
            leading = bytes(buffer[:start])
            del buffer[:start]
            if leading.strip(b"\r\n \t\x00"):
                raise FramingError(f"bytes outside an MLLP frame: {leading[:40]!r}")
        end = buffer.find(END_BLOCK, 1)
        if end < 0:
            if len(buffer) - 1 > self.max_size:
                buffer.clear()
                raise FramingError(f"an MLLP frame is longer than the limit of {self.max_size} "
                                   "bytes")
            return None
        payload = bytes(buffer[1:end])
        del buffer[:end + len(END_BLOCK)]
        if START_BLOCK in payload:
            raise FramingError("an MLLP frame starts inside another (missing end block)")
        if len(payload) > self.max_size:
            raise FramingError(f"an MLLP frame is longer than the limit of {self.max_size} bytes")
        return payload

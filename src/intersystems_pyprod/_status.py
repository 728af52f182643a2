"""Status: the success-or-error value every pyprod callback returns first."""

from __future__ import annotations

from typing import Any

from iop.errors import ComponentError

ERROR_CODE = 5001  # IRIS's general error code, used by Status.ERROR


class Status:
    """A callback's outcome: ``Status.OK()`` or ``Status.ERROR("what went wrong")``.

    An OK status is truthy and equals ``1`` (IRIS's ``$$$OK``); an error status is falsy and
    prints as IRIS does: ``ERROR #5001: what went wrong``.
    """

    __slots__ = ("_ok", "_text", "_code")

    def __init__(self, ok: bool = True, text: str = "", code: int = ERROR_CODE) -> None:
        self._ok = bool(ok)
        self._text = "" if ok else str(text)
        self._code = 1 if ok else int(code)

    @staticmethod
    def OK() -> Status:
        """The success status."""
        return Status(True)

    @staticmethod
    def ERROR(text: Any, code: int = ERROR_CODE) -> Status:
        """An error status carrying ``text``."""
        return Status(False, str(text), code)

    Error = ERROR

    @staticmethod
    def IsOK(status: Any) -> bool:
        """True when ``status`` (a Status or a value a callback may return) means success."""
        return as_status(status).ok

    @staticmethod
    def IsError(status: Any) -> bool:
        """True when ``status`` means failure."""
        return not as_status(status).ok

    @property
    def ok(self) -> bool:
        """True for success."""
        return self._ok

    @property
    def text(self) -> str:
        """The error text; empty for success."""
        return self._text

    @property
    def code(self) -> int:
        """1 for success, the error code otherwise."""
        return self._code

    def __bool__(self) -> bool:
        return self._ok

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Status):
            return (self._ok, self._text, self._code) == (other._ok, other._text, other._code)
        if isinstance(other, (bool, int)):
            return self._ok == (other == 1)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._ok, self._text, self._code))

    def __str__(self) -> str:
        return "OK" if self._ok else f"ERROR #{self._code}: {self._text}"

    def __repr__(self) -> str:
        return "Status.OK()" if self._ok else f"Status.ERROR({self._text!r})"


class StatusError(ComponentError):
    """A callback returned an error Status; the engine marks the message it handled as errored."""

    def __init__(self, status: Status) -> None:
        super().__init__(str(status))
        self.status = status


def as_status(value: Any, where: str = "callback") -> Status:
    """Read what a callback returned as its status.

    ``None`` (nothing returned), ``1`` and ``True`` mean success, ``0`` and ``False`` failure;
    a string is IRIS's status text (``"1"`` is success).
    """
    if isinstance(value, Status):
        return value
    if value is None:
        return Status.OK()
    if isinstance(value, (bool, int)):
        return Status.OK() if value == 1 else Status.ERROR(f"{where} returned status {value!r}")
    if isinstance(value, str):
        if value.strip() == "1":
            return Status.OK()
        text = value[2:] if value.startswith("0 ") else value
        return Status.ERROR(text or f"{where} returned an empty status")
    raise TypeError(f"{where} returned {type(value).__name__} where a Status was expected; "
                    "return Status.OK() or (status, response)")


def split_result(result: Any, where: str = "callback") -> tuple[Status, Any]:
    """Split a callback's return value into ``(status, response)``.

    Accepts ``status``, ``(status,)``, ``(status, response)`` and, for code written in the
    iop style, a bare message object (taken as a response with an OK status).
    """
    if isinstance(result, (tuple, list)):
        if len(result) > 2:
            raise TypeError(f"{where} returned {len(result)} values; return (status, response)")
        if not result:
            return Status.OK(), None
        status = as_status(result[0], where)
        return status, result[1] if len(result) == 2 else None
    if result is None or isinstance(result, (Status, bool, int, str)):
        return as_status(result, where), None
    return Status.OK(), result

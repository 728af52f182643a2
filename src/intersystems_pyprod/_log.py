"""IRISLog: write to the event log of the item whose code is running."""

from __future__ import annotations

import logging
import sys
import threading
from types import FrameType
from typing import Any

from intersystems_pyprod._status import as_status
from iop.components import kinds

_fallback = logging.getLogger("intersystems_pyprod")
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
           "alert": logging.CRITICAL, "trace": logging.DEBUG, "assert": logging.ERROR}
_MAX_FRAMES = 40

# The component a job runs (one item per job): used for lines logged from code that is not
# a method of a component, such as a thread the host started.
_process_component: Any = None
_lock = threading.Lock()


def remember_component(component: Any) -> None:
    """Note the component this process runs, for IRISLog calls made outside its methods."""
    global _process_component
    with _lock:
        _process_component = component


def _running(obj: Any) -> bool:
    return kinds.kind_of(type(obj)) is not None and getattr(obj, "_iop_runtime", None) is not None


def _component_of(frame: FrameType | None) -> Any:
    """The nearest running host or adapter up the call stack (``self`` of a method)."""
    depth = 0
    while frame is not None and depth < _MAX_FRAMES:
        candidate = frame.f_locals.get("self")
        if candidate is not None and _running(candidate):
            return candidate
        frame, depth = frame.f_back, depth + 1
    component = _process_component
    return component if component is not None and _running(component) else None


def _write(level: str, message: Any, depth: int = 2) -> None:
    # depth 2: the caller of the IRISLog method that called this function.
    caller = sys._getframe(depth)
    method = caller.f_code.co_name
    component = _component_of(caller)
    if component is None:
        _fallback.log(_LEVELS[level], "%s", message)
        return
    component._iop_runtime.log(component, level, str(message), method)


def warning_from_caller(message: Any) -> None:
    """A Warning entry attributed to whoever called the function that calls this one."""
    _write("warning", message, depth=3)


class IRISLog:
    """Event log entries from anywhere in a host's or adapter's code: ``IRISLog.Info("...")``.

    The entry carries the running item, and the session and message being handled.
    Outside a production the text goes to the ``intersystems_pyprod`` Python logger.
    """

    @staticmethod
    def Info(message: Any) -> None:
        """An Info entry."""
        _write("info", message)

    @staticmethod
    def Warning(message: Any) -> None:
        """A Warning entry."""
        _write("warning", message)

    @staticmethod
    def Error(message: Any) -> None:
        """An Error entry."""
        _write("error", message)

    @staticmethod
    def Alert(message: Any) -> None:
        """An Alert entry."""
        _write("alert", message)

    @staticmethod
    def Trace(message: Any) -> None:
        """A Trace entry."""
        _write("trace", message)

    @staticmethod
    def Assert(message: Any) -> None:
        """An Assert entry."""
        _write("assert", message)

    @staticmethod
    def Status(status: Any) -> None:
        """An Error entry with an error status's text; an Info entry ``OK`` for success."""
        value = as_status(status, "IRISLog.Status")
        _write("info" if value.ok else "error", str(value))

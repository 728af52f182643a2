"""Behaviour shared by every business host: settings, logging, sending, lifecycle hooks."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any, ClassVar

from pydantic import BaseModel

from iop.components import settings as _settings
from iop.components.engine_services import EngineServices, HostNotInProduction
from iop.components.settings import Category, setting
from iop.messages.base import is_message_class

_fallback_log = logging.getLogger("iop")
_FALLBACK_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
                    "alert": logging.CRITICAL, "trace": logging.DEBUG, "assert": logging.ERROR}


def check_message(request: Any) -> None:
    """Refuse, at the sender, a request that is not a message (IoP's TypeError and text)."""
    if request is None or is_message_class(type(request)) or isinstance(request, BaseModel):
        return
    if isinstance(request, str) and not request:  # IoP passes "" on untouched
        return
    if hasattr(request, "__iter__"):
        raise TypeError("You may have tried to invoke a generator function without using the "
                        "'send_generator_request' method. Please use that method to handle "
                        "generator functions.")
    raise TypeError("The message must be an instance of a class that is a subclass of Message "
                    "or IRISObject %Persistent class.")


def _defines_init(cls: type) -> bool:
    """True when ``cls`` or a base other than ``object`` has its own ``__init__``."""
    return any("__init__" in vars(base) for base in cls.__mro__ if base is not object)


class _Component:
    """Base of hosts and adapters: settings from class attributes, logging, lifecycle hooks."""

    _iop_kind: ClassVar[str | None] = None
    _iop_runtime: EngineServices | None = None
    _iop_init_warning: ClassVar[str | None] = None

    # A framework that calls __init__ itself (pyprod) sets this, so no warning is given.
    _iop_runs_init: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _settings.install_annotated_defaults(cls)
        cls._iop_init_warning = None
        if _defines_init(cls) and not cls._iop_runs_init:
            # The engine allocates instances with __new__, as IRIS does: IoP's warning, at
            # class definition and again in the event log when a job creates the host.
            cls._iop_init_warning = (
                f"{cls.__module__}.{cls.__qualname__} defines or inherits __init__(), but "
                "IoP/IRIS instantiates components with __new__() and does not call "
                "__init__(). Move startup logic to on_init(); use class attributes or "
                "iop.Setting for configurable defaults."
            )
            warnings.warn(cls._iop_init_warning, RuntimeWarning, stacklevel=2)

    # -- lifecycle hooks ------------------------------------------------------
    def on_init(self) -> None:
        """Called once when the job starts, after settings are applied."""

    def on_tear_down(self) -> None:
        """Called once when the job stops."""

    def on_connected(self) -> None:
        """Called when the host's connections are (re)established."""

    # -- logging --------------------------------------------------------------
    def _log(self, level: str, message: Any) -> None:
        method = sys._getframe(2).f_code.co_name
        runtime = self._iop_runtime
        if runtime is None:
            _fallback_log.log(_FALLBACK_LEVELS[level], "%s", message)
        else:
            runtime.log(self, level, str(message), method)

    def log_info(self, message: Any) -> None:
        """Write an Info entry to the production's event log."""
        self._log("info", message)

    def log_warning(self, message: Any) -> None:
        """Write a Warning entry to the event log."""
        self._log("warning", message)

    def log_error(self, message: Any) -> None:
        """Write an Error entry to the event log."""
        self._log("error", message)

    def log_alert(self, message: Any) -> None:
        """Write an Alert entry to the event log."""
        self._log("alert", message)

    def log_trace(self, message: Any) -> None:
        """Write a Trace entry to the event log."""
        self._log("trace", message)

    def log_assert(self, message: Any) -> None:
        """Write an Assert entry to the event log."""
        self._log("assert", message)

    def _runtime(self) -> EngineServices:
        if self._iop_runtime is None:
            raise HostNotInProduction(
                f"{type(self).__name__} is not running in a production; "
                "use Director.create_business_service() or start the production"
            )
        return self._iop_runtime


class _BusinessHost(_Component):
    """A service, process or operation: can send messages to other items."""

    AlertOnError = setting(False, category=Category.ALERTING,
                           description="Send an alert whenever this item reports an error")
    InactivityTimeout = setting(0.0, category=Category.ALERTING,
                                description="Alert when the item has handled nothing for this "
                                            "many seconds; 0 never")

    def send_request_sync(self, target: str, request: Any, timeout: float = -1,
                          description: str | None = None) -> Any:
        """Send ``request`` to the item ``target`` and wait for its response."""
        check_message(request)
        return self._runtime().send(self, target, request, sync=True, timeout=timeout,
                                    description=description)

    def send_request_async(self, target: str, request: Any, description: str | None = None) -> None:
        """Queue ``request`` for the item ``target`` without waiting."""
        check_message(request)
        self._runtime().send(self, target, request, sync=False, response_required=False,
                             description=description)

    @classmethod
    def get_adapter_type(cls) -> str | None:
        """Class name of the adapter this host uses, or None."""
        return None


class _QueuedHost(_BusinessHost):
    """A process or operation: has a queue, so queue alerts apply."""

    QueueCountAlert = setting(0, category=Category.ALERTING,
                              description="Alert when more messages than this wait in the "
                                          "item's queue; 0 never")
    QueueWaitAlert = setting(0.0, category=Category.ALERTING,
                             description="Alert when the oldest queued message has waited this "
                                         "many seconds; 0 never")
    AlertRetryGracePeriod = setting(0.0, category=Category.ALERTING,
                                    description="While retrying, alert on errors only when "
                                                "they last longer than this many seconds")

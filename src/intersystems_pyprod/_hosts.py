"""Business services, processes and operations with pyprod's callbacks, run by the iop engine."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from intersystems_pyprod._component import (
    COMMON_CALLBACKS,
    PyprodComponent,
    _OwnHook,
    callback_result,
    is_framework_class,
    report,
)
from intersystems_pyprod._messages import not_persistable
from intersystems_pyprod._properties import IRISParameter
from intersystems_pyprod._status import Status, split_result
from iop.components.engine_services import HostNotInProduction
from iop.components.host import _BusinessHost
from iop.components.operation import BusinessOperation as _IopOperation
from iop.components.process import BusinessProcess as _IopProcess
from iop.components.service import BusinessService as _IopService
from iop.messages.codec import message_class_name


def _failed(exc: Exception) -> Status:
    return Status.ERROR(f"{type(exc).__name__}: {exc}")


class _PyprodHost(PyprodComponent, _BusinessHost):
    """Sending with the ``(status, response)`` convention, and the ADAPTER parameter."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        """The class name in ``ADAPTER = IRISParameter("package.Adapter")``, or None."""
        declared = inspect.getattr_static(cls, "ADAPTER", None)
        value = declared.value if isinstance(declared, IRISParameter) else declared
        return value if isinstance(value, str) and value else None

    def SendRequestSync(self, target_dispatch_name: str, request: Any, timeout: float = -1,
                        description: str = "") -> tuple[Status, Any]:
        """Send ``request`` to the item ``target_dispatch_name`` and wait: ``(status, response)``.

        A failure of the target, a timeout or a bad target gives an error status, not an
        exception, as in IRIS.
        """
        return self._pyprod_send(target_dispatch_name, request, sync=True, timeout=timeout,
                                 description=description or None)

    def _pyprod_send(self, target: str, request: Any, **options: Any) -> tuple[Status, Any]:
        """Send through the engine; what goes wrong comes back as an error status."""
        problem = not_persistable(request, f"the request to {target}")
        if problem:
            return Status.ERROR(problem), None
        try:
            response = self._runtime().send(self, target, request, **options)
        except HostNotInProduction:
            raise
        except Exception as exc:
            return _failed(exc), None
        return Status.OK(), response

    def send_request_sync(self, target_dispatch_name: str, request: Any,  # type: ignore[override]
                          timeout: float = -1, description: str = "") -> tuple[Status, Any]:
        """Snake-case form of :meth:`SendRequestSync`."""
        return self.SendRequestSync(target_dispatch_name, request, timeout, description)

    def SendRequestAsync(self, target_dispatch_name: str, request: Any,
                         description: str = "") -> Status:
        """Queue ``request`` for ``target_dispatch_name`` without waiting; returns a status."""
        status, _ = self._pyprod_send(target_dispatch_name, request, sync=False,
                                      response_required=False, description=description or None)
        return status

    def send_request_async(self, target_dispatch_name: str, request: Any,  # type: ignore[override]
                           description: str = "") -> Status:
        """Snake-case form of :meth:`SendRequestAsync`."""
        return self.SendRequestAsync(target_dispatch_name, request, description)


class BusinessService(_PyprodHost, _IopService):
    """Turns input into messages in ``OnProcessInput(self, input)``, which returns a status.

    Its inbound adapter is named by ``ADAPTER = IRISParameter("package.MyInAdapter")``; a
    service without one is driven by a Director. An error status is written to the event log.
    """

    _pyprod_callbacks = (*COMMON_CALLBACKS, ("OnProcessInput", "on_process_input"))

    def on_process_input(self, message_input: Any = None) -> Any:
        """Engine hook: call ``OnProcessInput`` and return what it returned."""
        callback = getattr(self, "OnProcessInput", None)
        if callback is None:
            raise NotImplementedError(f"{type(self).__name__} must define OnProcessInput")
        return callback(message_input)

    def _iop_process_input(self, data: Any) -> Any:
        runtime = self._runtime()
        begin = getattr(runtime, "begin_input", None)
        if begin is None:
            return self._process_one(data)
        with begin(self):
            return self._process_one(data)

    def _process_one(self, data: Any) -> Any:
        status, output = split_result(self.on_process_input(data),
                                      f"{type(self).__name__}.OnProcessInput")
        if not status.ok:
            report(self, status, "OnProcessInput")
        return status if output is None else (status, output)


class BusinessProcess(_PyprodHost, _IopProcess):
    """Orchestrates in ``OnRequest(self, request)`` returning ``(status, response)``.

    ``OnResponse(self, request, response, call_request, call_response, completion_key)``
    receives the responses to ``SendRequestAsync`` calls. An error status fails the request.
    """

    _pyprod_callbacks = (*COMMON_CALLBACKS, ("OnRequest", "on_request"),
                         ("OnResponse", "on_response"), ("OnComplete", "on_complete"))
    DISPATCH = _OwnHook("on_request")

    def on_request(self, request: Any) -> Any:
        """Engine hook: call ``OnRequest`` and return its response."""
        callback = getattr(self, "OnRequest", None)
        if callback is None:
            raise NotImplementedError(f"{type(self).__name__} must define OnRequest")
        return callback_result(self, "OnRequest", callback(request))

    def on_response(self, request: Any, response: Any, call_request: Any, call_response: Any,
                    completion_key: str) -> Any:
        """Engine hook: call ``OnResponse`` (when defined) and return its response."""
        callback = getattr(self, "OnResponse", None)
        if callback is None:
            return None
        return callback_result(self, "OnResponse", callback(request, response, call_request,
                                                            call_response, completion_key))

    def on_complete(self, request: Any, response: Any) -> Any:
        """Engine hook: call ``OnComplete`` (when defined); a response it returns is the reply."""
        callback = getattr(self, "OnComplete", None)
        if callback is None:
            return None
        final = callback_result(self, "OnComplete", callback(request, response))
        if final is not None:
            self.reply(final)
        return None

    def SendRequestAsync(self, target_dispatch_name: str, request: Any,  # type: ignore[override]
                         response_required: Any = 1, completion_key: Any = 0,
                         description: str = "") -> Status:
        """Queue ``request``; with ``response_required`` its response comes to ``OnResponse``."""
        status, _ = self._pyprod_send(
            target_dispatch_name, request, sync=False, response_required=bool(response_required),
            completion_key=None if completion_key is None else str(completion_key),
            description=description or None,
        )
        return status

    def send_request_async(self, target_dispatch_name: str, request: Any,  # type: ignore[override]
                           response_required: Any = 1, completion_key: Any = 0,
                           description: str = "") -> Status:
        """Snake-case form of :meth:`SendRequestAsync`."""
        return self.SendRequestAsync(target_dispatch_name, request, response_required,
                                     completion_key, description)


class BusinessOperation(_PyprodHost, _IopOperation):
    """Does outbound work: ``MessageMap`` routes by message class name, else ``OnMessage``.

    ``MessageMap = {"package.MyRequest": "handle_my_request"}``; each method (and OnMessage)
    takes the request and returns ``status`` or ``(status, response)``. ``self.ADAPTER`` is
    the outbound adapter named by the ADAPTER parameter.
    """

    _pyprod_callbacks = (*COMMON_CALLBACKS, ("OnMessage", "on_message"))
    DISPATCH = _OwnHook("on_message")
    MessageMap: ClassVar[dict[Any, Any]] = {}
    _pyprod_routes: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if is_framework_class(cls):
            return
        routes: dict[str, str] = {}
        for message, method in dict(cls.MessageMap or {}).items():
            name = message if isinstance(message, str) else message_class_name(message)
            routes[name] = method if isinstance(method, str) else method.__name__
        cls._pyprod_routes = routes

    def _pyprod_method_for(self, request: Any) -> tuple[str, Any]:
        routes = self._pyprod_routes
        if routes and request is not None:
            for cls in type(request).__mro__:
                if cls is object:
                    break
                method = routes.get(message_class_name(cls))
                if method is not None:
                    return method, getattr(self, method)
        callback = getattr(self, "OnMessage", None)
        if callback is None:
            kind = message_class_name(type(request)) if request is not None else "an empty request"
            raise NotImplementedError(f"{type(self).__name__} has no MessageMap entry for "
                                      f"{kind} and no OnMessage")
        return "OnMessage", callback

    def on_message(self, request: Any) -> Any:
        """Engine hook: run the MessageMap method or ``OnMessage`` and return its response."""
        name, method = self._pyprod_method_for(request)
        return callback_result(self, name, method(request))

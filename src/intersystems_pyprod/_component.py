"""What every pyprod host and adapter shares: callback names, __init__, status reporting."""

from __future__ import annotations

import inspect
import threading
from typing import Any, ClassVar

from intersystems_pyprod import _log, _naming
from intersystems_pyprod._messages import not_persistable
from intersystems_pyprod._status import Status, StatusError, split_result
from iop.components.settings import Setting, coerce_setting_value
from iop.messages.dispatch import build_dispatch_table

FRAMEWORK = "intersystems_pyprod"
COMMON_CALLBACKS = (("OnInit", "on_init"), ("OnTearDown", "on_tear_down"))


def is_framework_class(cls: type) -> bool:
    """True for this package's own base classes."""
    return cls.__module__ == FRAMEWORK or cls.__module__.startswith(FRAMEWORK + ".")


def _alias_snake_callbacks(cls: type, pairs: tuple[tuple[str, str], ...]) -> None:
    # pyprod callbacks may be written `OnRequest` or `on_request`; the engine calls the snake
    # name, which must stay this package's wrapper. A snake-case callback moves to its Pascal
    # name (unless the class also defines that one, which pyprod calls first).
    for pascal, snake in pairs:
        function = cls.__dict__.get(snake)
        if function is None:
            continue
        delattr(cls, snake)
        if pascal not in cls.__dict__:
            setattr(cls, pascal, function)


def callback_result(host: Any, name: str, result: Any) -> Any:
    """The response in a callback's ``(status, response)``; an error status raises StatusError."""
    where = f"{type(host).__name__}.{name}"
    status, response = split_result(result, where)
    if not status.ok:
        raise StatusError(status)
    problem = not_persistable(response, f"the response {where} returned")
    if problem:
        raise TypeError(problem)
    return response


def report(component: Any, status: Status, where: str) -> None:
    """Write an error status that has no message to fail (a service input, OnTask) to the log."""
    text = f"{type(component).__name__}.{where} returned {status}"
    runtime = getattr(component, "_iop_runtime", None)
    if runtime is None:
        _log._fallback.error("%s", text)
    else:
        runtime.log(component, "error", text, where)


def _call_user_init(component: Any) -> None:
    init = type(component).__init__
    try:
        takes_argument = len(inspect.signature(init).parameters) > 1
    except (TypeError, ValueError):
        takes_argument = True
    # pyprod's constructor signature is (self, iris_host_object); there is no IRIS object here.
    init(component, None) if takes_argument else init(component)


def _adopt_pascal_settings(component: Any) -> None:
    # IRIS names a property `target_name` TargetName; a production exported from IRIS sets it
    # under that name, which the engine stored as a plain attribute. Move it where it belongs.
    for cls in type(component).__mro__:
        for name, value in vars(cls).items():
            pascal = _naming.snake_to_pascal(name)
            if not isinstance(value, Setting) or pascal == name:
                continue
            if pascal in component.__dict__ and name not in component.__dict__:
                raw = component.__dict__.pop(pascal)
                setattr(component, name, coerce_setting_value(value, raw, name=name))


class _OwnHook:
    """DISPATCH of pyprod hosts: every message goes to the callback wrapper ``hook``.

    The engine would send a message straight to a method whose argument is annotated with
    that message class; a pyprod method returns ``(status, response)``, which only the
    wrapper understands, and pyprod routes by MessageMap, never by annotations.
    """

    _building = threading.local()

    def __init__(self, hook: str) -> None:
        self.hook = hook

    def __get__(self, instance: Any, owner: type) -> dict[str, str]:
        if getattr(self._building, "active", False):
            return {}
        self._building.active = True
        try:
            typed = build_dispatch_table(owner).methods
        finally:
            self._building.active = False
        return {message: self.hook for message in typed}


class PyprodComponent:
    """Mixed in before the iop base class of every pyprod host and adapter."""

    _pyprod_callbacks: ClassVar[tuple[tuple[str, str], ...]] = COMMON_CALLBACKS
    _pyprod_name: ClassVar[str] = ""
    _iop_init_warning: ClassVar[str | None]
    _iop_runs_init: ClassVar[bool] = True  # on_init calls __init__(self, iris_host_object)
    iris_host_object: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if is_framework_class(cls):
            return
        _alias_snake_callbacks(cls, cls._pyprod_callbacks)
        cls._pyprod_name = _naming.full_name(cls)
        # pyprod classes may define __init__(self, iris_host_object); on_init calls it.
        cls._iop_init_warning = None

    def __init__(self, iris_host_object: Any = None) -> None:
        self.iris_host_object = iris_host_object

    def on_init(self) -> None:
        """Engine hook: run the class's ``__init__`` then ``OnInit``; an error status stops the job."""
        _adopt_pascal_settings(self)
        _call_user_init(self)
        _log.remember_component(self)
        callback = getattr(self, "OnInit", None)
        if callback is not None:
            callback_result(self, "OnInit", callback())

    def on_tear_down(self) -> None:
        """Engine hook: run ``OnTearDown``; an error status is logged."""
        callback = getattr(self, "OnTearDown", None)
        if callback is not None:
            status, _ = split_result(callback(), f"{type(self).__name__}.OnTearDown")
            if not status.ok:
                report(self, status, "OnTearDown")

"""The roles a component class can play, read by the DSL, migration and the engine alike."""

from __future__ import annotations

import os
import sys

SERVICE = "service"
PROCESS = "process"
OPERATION = "operation"
INBOUND_ADAPTER = "inbound_adapter"
OUTBOUND_ADAPTER = "outbound_adapter"

HOST_KINDS = (SERVICE, PROCESS, OPERATION)

# IRIS superclass names, as shown by bindings listings (`super` field of the remote API).
IRIS_SUPER = {
    SERVICE: "IOP.BusinessService",
    PROCESS: "IOP.BusinessProcess",
    OPERATION: "IOP.BusinessOperation",
    INBOUND_ADAPTER: "IOP.InboundAdapter",
    OUTBOUND_ADAPTER: "IOP.OutboundAdapter",
}

# Short kinds used by register_component(kind, ...) in seed 001.
SHORT_KINDS = {"bs": SERVICE, "bp": PROCESS, "bo": OPERATION}


def kind_of(cls: object) -> str | None:
    """Return the role of a component class (`service`, `process`, ...) or None."""
    return getattr(cls, "_iop_kind", None)


def module_of(cls: type) -> str:
    """The module other processes import ``cls`` from: a class defined in a script run as
    ``python demo.py`` (module ``__main__``) lives in ``demo`` for them."""
    module = cls.__module__
    if module != "__main__":
        return module
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return str(spec.name)
    path = getattr(main, "__file__", None)
    if path:
        return os.path.splitext(os.path.basename(path))[0]
    return module


def python_class_name(cls: type) -> str:
    """Default class name an item uses for a Python component: `Python.<module>.<Class>`."""
    return f"Python.{module_of(cls)}.{cls.__qualname__}"

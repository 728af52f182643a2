"""Domain errors of the engine; each message names the thing that is wrong.

``EngineError`` itself lives in ``iop.errors`` and is importable from here too.
"""

from iop.errors import EngineError

__all__ = ["AlreadyRunning", "Busy", "EngineError", "MessageTimeout", "NotRunning",
           "RemoteError", "TargetFailed", "UnknownClass", "UnknownItem", "UnknownProduction"]


class UnknownProduction(EngineError):
    """No production of that name in the namespace."""


class UnknownClass(EngineError):
    """A class name that no binding, built-in or import resolves."""


class UnknownItem(EngineError):
    """An item name that the production does not contain."""


class AlreadyRunning(EngineError):
    """Another production already runs in the namespace."""


class NotRunning(EngineError):
    """The operation needs a running production."""


class Busy(EngineError):
    """Another operation on the same thing is still in progress; try again when it is done."""


class MessageTimeout(EngineError):
    """A synchronous request got no response in time."""


class TargetFailed(EngineError):
    """The item that handled a synchronous request failed; carries its error text."""


# The engine's former name for TargetFailed, kept so that existing imports keep working;
# iop.errors.RemoteError is another class: a remote server's refusal.
RemoteError = TargetFailed

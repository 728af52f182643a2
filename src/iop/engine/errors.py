"""Domain errors of the engine; each message names the thing that is wrong."""


class EngineError(RuntimeError):
    """Base of errors a user can fix; the CLI prints them as one line."""


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


class RemoteError(EngineError):
    """The item that handled a request failed; carries its error text."""

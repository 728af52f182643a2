"""The engine services a business host calls (send, reply, log): authoring code only calls them,
the engine provides them (:class:`iop.engine.host_runtime.HostRuntime`)."""

from __future__ import annotations

from typing import Any, Protocol

from iop.errors import ComponentError


class EngineServices(Protocol):
    """What a running business host can ask of the engine."""

    def send(
        self,
        host: Any,
        target: str,
        request: Any,
        *,
        sync: bool,
        timeout: float = -1,
        response_required: bool = True,
        completion_key: str | None = None,
        description: str | None = None,
    ) -> Any: ...

    def reply(self, host: Any, response: Any) -> None: ...

    def log(self, host: Any, level: str, text: str, method: str) -> None: ...


class HostNotInProduction(ComponentError):
    """A host method that needs the engine was called on an instance the engine did not start."""

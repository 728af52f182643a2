"""Business processes: orchestration with persisted context between calls."""

from __future__ import annotations

from typing import Any

from iop.components import kinds
from iop.components.host import _QueuedHost, check_message


class BusinessProcess(_QueuedHost):
    """Orchestrates calls; state survives between ``on_request`` and each ``on_response``."""

    _iop_kind = kinds.PROCESS

    def on_request(self, request: Any) -> Any:
        """Handle the request that starts this process instance."""
        return None

    def on_message(self, request: Any) -> Any:
        """Alias kept for hosts written against the operation style."""
        return self.on_request(request)

    def on_response(self, request: Any, response: Any, call_request: Any, call_response: Any,
                    completion_key: str) -> Any:
        """Handle the response to an asynchronous call made by this instance."""
        return None

    def on_complete(self, request: Any, response: Any) -> Any:
        """Called once no call is pending any more."""
        return None

    def reply(self, response: Any) -> None:
        """Send ``response`` back to whoever sent the original request."""
        self._runtime().reply(self, response)

    # IoP's process signature puts response_required third, where other hosts take description.
    def send_request_async(self, target: str, request: Any,  # type: ignore[override]
                           response_required: bool = True,
                           completion_key: str | None = None,
                           description: str | None = None) -> None:
        """Queue ``request``; when a response is required it comes back to ``on_response``."""
        check_message(request)
        self._runtime().send(self, target, request, sync=False,
                             response_required=response_required,
                             completion_key=completion_key, description=description)

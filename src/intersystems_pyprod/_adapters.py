"""Inbound and outbound adapters with pyprod's callbacks."""

from __future__ import annotations

from typing import Any

from intersystems_pyprod._component import COMMON_CALLBACKS, PyprodComponent, report
from intersystems_pyprod._status import Status, split_result
from iop.components.adapters import InboundAdapter as _IopInboundAdapter
from iop.components.adapters import OutboundAdapter as _IopOutboundAdapter


class InboundAdapter(PyprodComponent, _IopInboundAdapter):
    """Feeds its business service: ``OnTask(self)`` runs every CallInterval seconds.

    ``self.business_host_process_input(data)`` hands any Python value to the service's
    OnProcessInput, in this same process; nothing is persisted until the service sends.
    """

    _pyprod_callbacks = (*COMMON_CALLBACKS, ("OnTask", "on_task"))

    def on_task(self) -> None:
        """Engine hook: run ``OnTask``; an error status it returns is written to the event log."""
        callback = getattr(self, "OnTask", None)
        if callback is None:
            raise NotImplementedError(f"{type(self).__name__} must define OnTask")
        status, _ = split_result(callback(), f"{type(self).__name__}.OnTask")
        if not status.ok:
            report(self, status, "OnTask")

    def business_host_process_input(self, input: Any, in_hint: str = "") -> Any:
        """Pass ``input`` to the service: returns its status, or ``(status, output)``."""
        result = self.business_host._iop_process_input(input)
        if isinstance(result, (Status, tuple)):
            return result
        # An iop service returns its response (or None) rather than a status.
        return Status.OK() if result is None else (Status.OK(), result)

    def BusinessHost_ProcessInput(self, input: Any, in_hint: str = "") -> Any:
        """IRIS-style name of :meth:`business_host_process_input`."""
        return self.business_host_process_input(input, in_hint)


class OutboundAdapter(PyprodComponent, _IopOutboundAdapter):
    """Used by a business operation through ``self.ADAPTER``; its methods are the user's own
    and return a status, or ``(status, output)``."""

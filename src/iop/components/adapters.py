"""Inbound and outbound adapters: the parts of a host that face the outside world."""

from __future__ import annotations

from typing import Any

from iop.components import kinds
from iop.components.host import _Component
from iop.components.settings import Category, setting


class InboundAdapter(_Component):
    """Feeds its business service: ``on_task`` runs every CallInterval seconds."""

    _iop_kind = kinds.INBOUND_ADAPTER
    business_host: Any = None
    # A number of seconds, fractions allowed: IRIS declares it %Numeric(MINVAL = 0.1).
    CallInterval = setting(5, category=Category.BASIC,
                           description="Seconds between two calls of on_task")
    CallInterval.python_type = "float"

    def on_task(self) -> None:
        """Check for new data and hand it to ``business_host_process_input``; by default it
        does nothing (seed 001), as IoP's."""

    def business_host_process_input(self, data: Any) -> Any:
        """Pass ``data`` to the business service, as IRIS's ProcessInput does."""
        return self.business_host._iop_process_input(data)


class OutboundAdapter(_Component):
    """Used by a business operation; ``on_keepalive`` runs every KeepaliveInterval seconds."""

    _iop_kind = kinds.OUTBOUND_ADAPTER
    business_host: Any = None
    KeepaliveInterval = setting(0, category=Category.CONNECTION,
                                description="Seconds between on_keepalive calls; 0 turns them off")

    def on_keepalive(self) -> None:
        """Keep external connections alive."""

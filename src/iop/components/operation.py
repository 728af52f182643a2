"""Business operations: outbound work, one handler per message class."""

from __future__ import annotations

from typing import Any

from iop.components import kinds
from iop.components.host import _BusinessHost


class BusinessOperation(_BusinessHost):
    """Does outbound work; messages go to @handler methods, else to ``on_message``."""

    _iop_kind = kinds.OPERATION
    Adapter: Any = None
    adapter: Any = None

    def on_message(self, request: Any) -> Any:
        """Handle a request no handler claimed; return the response or None."""
        return None

    def on_keepalive(self) -> None:
        """Called every KeepaliveInterval seconds when set."""

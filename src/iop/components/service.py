"""Business services: entry points that turn outside input into messages."""

from __future__ import annotations

import warnings
from typing import Any

from iop.components import kinds
from iop.components.host import _BusinessHost


class BusinessService(_BusinessHost):
    """Entry point of a production; ``on_process_input`` delegates to ``on_message``."""

    _iop_kind = kinds.SERVICE
    Adapter: Any = None
    adapter: Any = None

    def on_message(self, request: Any) -> Any:
        """Handle one input; return an optional response. This default ignores it with IoP's
        RuntimeWarning."""
        warnings.warn(
            f"{self.__class__.__name__} did not override on_message() or on_process_input(); "
            "the incoming service message was ignored. This default no-op handler will raise "
            "NotImplementedError in v5.0.", RuntimeWarning, stacklevel=2)
        return None

    def on_process_input(self, message_input: Any = None) -> Any:
        """IRIS ProcessInput hook; by default calls ``on_message``."""
        return self.on_message(message_input)

    def _iop_process_input(self, data: Any) -> Any:
        # Every call is one unit of work: the engine opens a session around it.
        runtime = self._runtime()
        begin = getattr(runtime, "begin_input", None)
        if begin is None:
            return self.on_process_input(data)
        with begin(self):
            return self.on_process_input(data)


class PollingBusinessService(BusinessService):
    """A service driven by the default inbound adapter: ``on_poll`` runs every CallInterval."""

    def on_poll(self) -> None:
        """Override to poll for data and send it on."""

    def on_process_input(self, message_input: Any = None) -> Any:
        return self.on_poll()

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "Ens.InboundAdapter"

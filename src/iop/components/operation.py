"""Business operations: outbound work, one handler per message class."""

from __future__ import annotations

import warnings
from typing import Any

from iop.components import kinds
from iop.components.host import _QueuedHost
from iop.components.settings import Category, setting


class BusinessOperation(_QueuedHost):
    """Does outbound work; messages go to @handler methods, else to ``on_message``."""

    _iop_kind = kinds.OPERATION
    Adapter: Any = None
    adapter: Any = None
    ReplyCodeActions = setting("", category=Category.ADDITIONAL,
                               description="What to do with failed or empty replies, in IRIS "
                                           "syntax, e.g. E=R,E#6301=F,*=S; empty: errors fail")
    RetryInterval = setting(5.0, category=Category.ADDITIONAL,
                            description="Seconds between two attempts of a message being retried")
    FailureTimeout = setting(15.0, category=Category.ADDITIONAL,
                             description="Seconds to keep retrying a message before its final "
                                         "action; -1 retries forever")

    def on_message(self, request: Any) -> Any:
        """Handle a request no handler claimed; return the response or None. This default
        ignores it with IoP's RuntimeWarning (the engine logs it as a warning)."""
        warnings.warn(
            f"{self.__class__.__name__} did not override on_message(); the incoming operation "
            "message was ignored. This default no-op handler will raise NotImplementedError "
            "in v5.0.", RuntimeWarning, stacklevel=2)
        return None

    def on_keepalive(self) -> None:
        """Called every KeepaliveInterval seconds when set."""

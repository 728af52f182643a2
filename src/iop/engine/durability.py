"""Durable before acknowledged: the production setting that may trade it for speed.

Anything the engine acknowledges outside (a service input returning, after which its adapter
deletes or archives a file or answers its client; a Director call returning; ``iop -t``,
``--resend``, ``--resubmit`` and the API's routes that create messages) follows a flush of
the commits it made (:meth:`iop.store.sql.SQLStore.flush_acknowledged`), so an OS crash or a
power cut never loses a message the outside was told about. ``FlushBeforeAcknowledge`` 0
skips that flush (and, on PostgreSQL, lets every commit return before its WAL flush): faster,
at the risk of losing the last acknowledged messages in an OS crash or power cut (a crash of
an engine process alone still loses nothing). docs/operations.md, "Durability".
"""

from __future__ import annotations

from collections.abc import Mapping

from iop.store.base import Store

__all__ = ["SETTING", "apply_setting", "flush_before_ack"]

SETTING = "FlushBeforeAcknowledge"


def flush_before_ack(settings: Mapping[str, str]) -> bool:
    """The production's choice: True (the default) unless the setting says 0/false/no/off."""
    value = str(settings.get(SETTING, "1")).strip().lower()
    return value not in ("0", "false", "no", "off")


def apply_setting(store: Store, settings: Mapping[str, str]) -> None:
    """Make ``store`` (this process's) follow the production's ``settings``."""
    store.flush_before_ack = flush_before_ack(settings)

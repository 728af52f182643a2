"""Alerts: an event log entry of type alert, also delivered to the production's ``Ens.Alert``
item when it has one (as IRIS routes alerts), where an alert operation can mail or post it."""

from __future__ import annotations

import time

from iop.messages import codec
from iop.messages.builtin import AlertRequest
from iop.store import records as r

ALERT_ITEM = "Ens.Alert"


def alert_draft(source: str, text: str, session_id: int | None) -> r.MessageDraft:
    """The Ens.AlertRequest message an alert sends to the Ens.Alert item."""
    request = AlertRequest(SourceConfigName=source, AlertText=text,
                           AlertTime=r.format_time(time.time()), SessionId=session_id)
    class_name, body = codec.encode(request)
    return r.MessageDraft(source=source, target=ALERT_ITEM, body_class=class_name,
                          body_text=body, priority=r.ASYNC, session_id=session_id,
                          description="alert")

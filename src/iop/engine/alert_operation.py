"""The built-in alert operation: put it in a production as the item ``Ens.Alert`` and every
alert of the production reaches it. It records each alert in the event log and, when
configured, mails it through its adapter (``EnsLib.EMail.OutboundAdapter``, as IRIS's: the
SMTP settings are the adapter's) and/or posts it as JSON to a URL (a chat or paging webhook).
"""

from __future__ import annotations

import json
import urllib.request
from email.message import EmailMessage
from typing import Any

from iop.components.operation import BusinessOperation
from iop.components.settings import Category, setting

# Sender of alert mails when the adapter's From setting names none.
DEFAULT_FROM = "iop@localhost"

# SMTP settings this operation once declared itself; a production that still gives them as
# host settings has them applied to the adapter (which declares them since).
_MOVED_TO_ADAPTER = ("SMTPServer", "SMTPPort", "From", "Recipient")


class AlertOperation(BusinessOperation):
    """EnsLib.EMail.AlertOperation: logs, mails and/or posts every alert it receives."""

    URL = setting("", category=Category.BASIC,
                  description="Webhook URL each alert is POSTed to as JSON; empty posts nothing")
    SubjectPrefix = setting("[iop alert]", category=Category.ADDITIONAL,
                            description="Start of the mail subject")
    Timeout = setting(10, category=Category.CONNECTION,
                      description="Seconds to wait for the URL")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.EMail.OutboundAdapter"

    def on_init(self) -> None:
        adapter = getattr(self, "adapter", None)
        if adapter is None:
            return
        for name in _MOVED_TO_ADAPTER:
            given = self.__dict__.get(name)
            if given and not adapter.__dict__.get(name):
                setattr(adapter, name, given)

    def on_message(self, request: Any) -> None:
        source = getattr(request, "SourceConfigName", "") or "production"
        text = getattr(request, "AlertText", "") or str(request)
        self.log_info(f"alert from {source}: {text}")
        adapter = getattr(self, "adapter", None)
        if adapter is not None and adapter.SMTPServer and (adapter.Recipient or adapter.Cc or
                                                           adapter.Bcc):
            self._mail(source, text, request)
        if self.URL:
            self._post(request)

    def _mail(self, source: str, text: str, request: Any) -> None:
        mail = EmailMessage()
        mail["From"] = self.adapter.From or DEFAULT_FROM
        mail["Subject"] = f"{self.SubjectPrefix} {source}: {text[:120]}".strip()
        mail.set_content(f"{text}\n\nItem: {source}\nTime: {getattr(request, 'AlertTime', '')}\n"
                         f"Session: {getattr(request, 'SessionId', '')}\n")
        self.adapter.send_mail(mail)  # the adapter adds Recipient, Cc and Bcc

    def _post(self, request: Any) -> None:
        body = json.dumps({
            "source": getattr(request, "SourceConfigName", ""),
            "text": getattr(request, "AlertText", ""),
            "time": getattr(request, "AlertTime", ""),
            "session_id": getattr(request, "SessionId", None),
        }).encode()
        post = urllib.request.Request(self.URL, data=body, method="POST",
                                      headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(post, timeout=float(self.Timeout)) as answer:  # noqa: S310
            if answer.status >= 300:
                raise RuntimeError(f"alert URL {self.URL} answered HTTP {answer.status}")

"""The built-in alert operation: put it in a production as the item ``Ens.Alert`` and every
alert of the production reaches it. It records each alert in the event log and, when
configured, mails it (SMTP) and/or posts it as JSON to a URL (a chat or paging webhook).
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from iop.components.operation import BusinessOperation
from iop.components.settings import Category, controls, setting


class AlertOperation(BusinessOperation):
    """EnsLib.EMail.AlertOperation: logs, mails and/or posts every alert it receives."""

    SMTPServer = setting("", category=Category.BASIC,
                         description="Mail server host; empty sends no mail")
    SMTPPort = setting(25, category=Category.BASIC, description="Mail server port")
    From = setting("iop@localhost", category=Category.BASIC, description="Sender address")
    Recipient = setting("", category=Category.BASIC,
                        description="Comma-separated addresses the alerts are mailed to")
    Credentials = setting("", category=Category.CONNECTION, control=controls.credentials(),
                          description="user:password for the mail server, if it needs a login")
    URL = setting("", category=Category.BASIC,
                  description="Webhook URL each alert is POSTed to as JSON; empty posts nothing")
    SubjectPrefix = setting("[iop alert]", category=Category.ADDITIONAL,
                            description="Start of the mail subject")
    Timeout = setting(10, category=Category.CONNECTION,
                      description="Seconds to wait for the mail server or the URL")

    def on_message(self, request: Any) -> None:
        source = getattr(request, "SourceConfigName", "") or "production"
        text = getattr(request, "AlertText", "") or str(request)
        self.log_info(f"alert from {source}: {text}")
        if self.SMTPServer and self.Recipient:
            self._mail(source, text, request)
        if self.URL:
            self._post(request)

    def _mail(self, source: str, text: str, request: Any) -> None:
        mail = EmailMessage()
        mail["From"] = self.From
        mail["To"] = self.Recipient
        mail["Subject"] = f"{self.SubjectPrefix} {source}: {text[:120]}".strip()
        mail.set_content(f"{text}\n\nItem: {source}\nTime: {getattr(request, 'AlertTime', '')}\n"
                         f"Session: {getattr(request, 'SessionId', '')}\n")
        with smtplib.SMTP(self.SMTPServer, int(self.SMTPPort), timeout=float(self.Timeout)) as smtp:
            if self.Credentials and ":" in self.Credentials:
                user, password = self.Credentials.split(":", 1)
                smtp.login(user, password)
            smtp.send_message(mail)

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

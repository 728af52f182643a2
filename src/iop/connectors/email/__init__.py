"""E-mail connectors, on the standard library's smtplib, poplib, imaplib and email:

* ``smtp``: ``EnsLib.EMail.OutboundAdapter``, sends mail through an SMTP server;
* ``pop3``: ``EnsLib.EMail.InboundAdapter``, takes mails from a POP3 mailbox;
* ``imap``: ``EnsLib.EMail.IMAPInboundAdapter`` (ours), takes mails from an IMAP mailbox;
* ``mailbox``: what both inbound adapters share (the poll, Match*, delete after commit);
* ``mail_message``: ``MailMessage``, IRIS's %Net.MailMessage fields on a stored message;
* ``mail_server``: SSLConfig as a TLS mode, and a failure in one line.
"""

from iop.connectors.email.mail_message import MailAttachment, MailMessage

__all__ = ["MailAttachment", "MailMessage"]

"""MailMessage (IRIS's %Net.MailMessage fields) from and to the standard library's mail
objects, stored and read back by the message codec; SSLConfig read as a TLS mode."""

from __future__ import annotations

from email import message_from_bytes, policy
from types import SimpleNamespace

from iop.connectors.email import MailAttachment, MailMessage
from iop.connectors.email.mail_message import address_list, parse_mail, to_email_message
from iop.connectors.email.mail_server import tls_mode
from iop.messages import codec


def test_a_mail_round_trips_through_email_and_the_store() -> None:
    mail = MailMessage(From='"Lab, Central" <lab@example.org>', To=["a@example.org"],
                       Cc=["b@example.org", "c@example.org"], Subject="Résultat 42",
                       TextData="ligne 1\nligne 2\n",
                       Attachments=[MailAttachment("r.pdf", "application/pdf", b"%PDF\x00\xff")])
    raw = to_email_message(mail).as_bytes(policy=policy.SMTP)
    back = parse_mail(raw)
    assert back.From == '"Lab, Central" <lab@example.org>'
    assert back.To == ["a@example.org"] and back.Cc == ["b@example.org", "c@example.org"]
    assert back.Subject == "Résultat 42" and back.TextData == "ligne 1\nligne 2\n"
    assert back.IsHTML is False and back.MessageSize == len(raw)
    assert [(a.FileName, a.ContentType, a.BinaryData) for a in back.Attachments] == \
        [("r.pdf", "application/pdf", b"%PDF\x00\xff")]

    name, text = codec.encode(back)
    stored = codec.decode(name, text)
    assert stored == back
    assert isinstance(stored.Attachments[0], MailAttachment)


def test_html_bodies_and_iris_like_objects() -> None:
    html = parse_mail(b"From: a@x.org\r\nTo: b@y.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
                      b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n")
    assert html.IsHTML and html.TextData.strip() == "<p>hi</p>"

    like = SimpleNamespace(From="ops@x.org", To="a@x.org; b@x.org", Subject="s",
                           TextData="<b>x</b>", IsHTML=True)
    built = message_from_bytes(to_email_message(like).as_bytes(), policy=policy.default)
    assert built["To"] == "a@x.org, b@x.org"
    assert built.get_content_type() == "text/html"


def test_address_lists_split_on_commas_and_semicolons_but_not_in_names() -> None:
    assert address_list('a@x.org; "Doe, Jane" <j@x.org>,b@x.org') == \
        ["a@x.org", '"Doe, Jane" <j@x.org>', "b@x.org"]
    assert address_list(["a@x.org", "b@x.org;c@x.org"]) == ["a@x.org", "b@x.org", "c@x.org"]
    assert address_list("") == [] and address_list(None) == []


def test_ssl_config_names_the_tls_mode() -> None:
    def mode(config: str, check: object = True) -> tuple[bool, bool, bool]:
        found = tls_mode(SimpleNamespace(SSLConfig=config, SSLCheckServerIdentity=check))
        return found.implicit, found.starttls, found.check_identity

    assert mode("") == (False, False, True)
    assert mode("default") == (True, False, True)
    assert mode("default*") == (False, True, True)
    assert mode("default", "0") == (True, False, False)


def test_add_recipients_as_iris_names_them() -> None:
    from email.message import EmailMessage

    from iop.connectors.email.smtp import SMTPOutboundAdapter

    adapter = SMTPOutboundAdapter.__new__(SMTPOutboundAdapter)
    mail = MailMessage(To=["a@x.org"])
    adapter.AddRecipients(mail, "b@x.org; c@x.org")
    adapter.AddCcRecipients(mail, ["d@x.org"])
    adapter.add_bcc_recipients(mail, "e@x.org")
    assert (mail.To, mail.Cc, mail.Bcc) == (["a@x.org", "b@x.org", "c@x.org"], ["d@x.org"],
                                            ["e@x.org"])
    standard = EmailMessage()
    standard["To"] = "a@x.org"
    adapter.add_recipients(standard, ["b@x.org"])
    assert standard["To"] == "a@x.org, b@x.org"

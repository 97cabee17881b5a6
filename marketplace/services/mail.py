"""Sending e-mail through the configured SMTP server, with the standard library (smtplib, email.message).

Configuration (environment, see config.py): SMTP_HOST (empty: e-mail off), SMTP_PORT, SMTP_USER, SMTP_PASSWORD,
SMTP_FROM, SMTP_TLS ("starttls", "ssl" or "none"). Only the background jobs send (notifications.send_emails)."""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from .. import policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


def _connect() -> smtplib.SMTP:
    host = str(policy.setting("SMTP_HOST", ""))
    port = int(policy.setting("SMTP_PORT", 25))
    tls = str(policy.setting("SMTP_TLS", "starttls")).lower()
    timeout = 20
    server: smtplib.SMTP
    if tls == "ssl":
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
        if tls == "starttls":
            server.starttls(context=ssl.create_default_context())
    user = str(policy.setting("SMTP_USER", ""))
    if user:
        server.login(user, str(policy.setting("SMTP_PASSWORD", "")))
    return server


def send_all(messages: list[Message]) -> list[bool]:
    """Send the messages over one connection; for each, whether the server took it. A refused recipient does
    not stop the others; a server that cannot be reached sends nothing (logged, retried by nobody: the
    notification stays in the app)."""
    if not messages:
        return []
    sender = str(policy.setting("SMTP_FROM", "") or policy.setting("SMTP_USER", ""))
    try:
        server = _connect()
    except (OSError, smtplib.SMTPException):
        log.exception("SMTP server %s not reachable", policy.setting("SMTP_HOST", ""))
        return [False] * len(messages)
    results = []
    with server:
        for m in messages:
            try:  # one message that cannot be built or is refused never stops the others
                email = EmailMessage()
                email["From"] = sender
                email["To"] = m.to
                email["Subject"] = " ".join(m.subject.split())  # one line, whatever the text held
                email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
                email.set_content(m.body)
                server.send_message(email)
                results.append(True)
            except (smtplib.SMTPException, ValueError):
                log.exception("e-mail to %s refused", m.to)
                results.append(False)
    return results

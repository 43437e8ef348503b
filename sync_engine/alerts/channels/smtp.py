"""Email over SMTP (stdlib smtplib): plain text, optional STARTTLS and login.

The subject names the state, code and pipeline so a mail filter can route it; the body carries the
counts, the runbook path and the exact `revhub failures list` command. The password is a `Secret`.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Sequence
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from connectors.base import Secret
from sync_engine.alerts.channels.base import Channel, DeliveryError, Route
from sync_engine.alerts.model import Alert

# Long enough that a subject naming a long pipeline stays on one line (RFC 5322 allows 998).
_POLICY = policy.default.clone(max_line_length=250)


def email_message(alert: Alert, sender: str, recipients: Sequence[str]) -> EmailMessage:
    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = f"[revhub] {alert.title}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(alert.occurred_at)
    msg["Message-ID"] = make_msgid(domain="revhub.local")
    msg["X-Revhub-Pipeline"] = alert.pipeline
    msg["X-Revhub-Code"] = alert.code
    msg["X-Revhub-State"] = alert.state.value
    msg.set_content("\n".join([*alert.lines(), "", "-- revhub alerts"]) + "\n")
    return msg


class EmailChannel(Channel):
    kind = "email"

    def __init__(self, name: str, route: Route, *, host: str, port: int, sender: str,
                 recipients: Sequence[str], starttls: bool = False, user: str | None = None,
                 password: Secret | None = None, ca_file: str | None = None, timeout: float = 10.0) -> None:
        super().__init__(name, route, timeout)
        self.host, self.port, self.sender, self.recipients = host, port, sender, tuple(recipients)
        self.starttls, self.user, self._password, self.ca_file = starttls, user, password, ca_file

    def secrets(self) -> Iterable[Secret]:
        return (self._password,) if self._password else ()

    def send(self, alert: Alert) -> None:
        try:
            msg = email_message(alert, self.sender, self.recipients)
        except ValueError as exc:  # e.g. a line break in a header value: refused rather than injected
            raise DeliveryError(f"cannot build the email: {type(exc).__name__}") from None
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.user:
                    smtp.login(self.user, self._password.reveal() if self._password else "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:  # the server's code only: its text may echo input
            raise DeliveryError(f"SMTP {exc.smtp_code} from {self.host}:{self.port}") from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"every recipient was refused by {self.host}:{self.port}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__} talking to {self.host}:{self.port}") from None
        if refused:
            raise DeliveryError(f"{len(refused)} of {len(self.recipients)} recipient(s) refused")

"""What the e-mail connectors share: building the Django message, mapping failures, logging the send.

SMTP goes through Django's SMTP backend; ESPs (SendGrid, Mailgun, ...) through django-anymail's
backends, configured per integration (``api_key``/``api_url`` kwargs) instead of global settings.
"""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any

from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from rest_framework import serializers

from connectors.errors import AuthError, ConfigError, ConnectorError, FatalError, RateLimitedError, TransientError
from integrations.models import Direction, IntegrationLog
from integrations.redaction import redact_text

from .messaging import MessagingConnector, Outgoing, RecipientRejected


def build(message: Outgoing, sender: str, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    domain = sender.rpartition("@")[2] or "hub.invalid"
    headers = {**message.headers}
    if message.idempotency_key:
        # Stable across retries, so a receiving system can drop a duplicate.
        headers["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
    email = EmailMultiAlternatives(subject=message.subject, body=message.body, from_email=sender,
                                   to=[message.to], headers=headers, connection=connection)
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    return email


def classify_smtp(exc: Exception) -> ConnectorError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return AuthError(f"SMTP authentication refused: {exc.smtp_code} {exc.smtp_error!r}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {code for code, _ in exc.recipients.values()}
        if all(500 <= c < 600 for c in codes):
            return RecipientRejected(f"recipient refused: {exc.recipients}")
        return TransientError(f"recipient deferred: {exc.recipients}")
    if isinstance(exc, smtplib.SMTPResponseException):
        cls = TransientError if 400 <= exc.smtp_code < 500 else FatalError
        return cls(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
    if isinstance(exc, smtplib.SMTPException | OSError | socket.timeout):
        return TransientError(f"SMTP connection failed: {type(exc).__name__}: {exc}")
    return FatalError(f"{type(exc).__name__}: {exc}")


def classify_anymail(exc: AnymailError, esp: str) -> ConnectorError:
    if isinstance(exc, AnymailRecipientsRefused):
        return RecipientRejected(f"{esp} refused the recipient")
    status = getattr(exc, "status_code", None)
    text = f"{esp}: {exc.describe_response() or type(exc).__name__}" if isinstance(exc, AnymailRequestsAPIError) \
        else f"{esp}: {exc}"
    text = text.splitlines()[0][:300]
    if status is None:
        return TransientError(text)
    if status in (401, 403):
        return AuthError(text, status_code=status)
    if status == 429:
        return RateLimitedError(text, status_code=status)
    if status >= 500:
        return TransientError(text, status_code=status)
    return FatalError(text, status_code=status)


class EspConfig(serializers.Serializer):
    """Config of an e-mail service provider reached through its API (SendGrid, Mailgun)."""

    from_email = serializers.EmailField()
    priority = serializers.IntegerField(default=20, help_text="Lower is tried first.")
    timeout = serializers.FloatField(min_value=0.1, max_value=120, default=15)


class EmailConnector(MessagingConnector):
    """An e-mail provider: subclasses give ``backend()``; this sends, maps errors and logs."""

    integration_type = "email"
    channel = "email"

    def backend(self) -> BaseEmailBackend:
        raise NotImplementedError

    def map_error(self, exc: Exception) -> ConnectorError:
        if isinstance(exc, AnymailError):
            return classify_anymail(exc, self.display_name)
        return classify_smtp(exc)

    def send(self, message: Outgoing) -> str:
        sender = message.sender or self.config_value("from_email")
        if not sender:
            raise ConfigError(f"{self.display_name} from_email not configured")
        started = time.monotonic()
        try:
            email = build(message, sender, self.backend())
            email.send(fail_silently=False)
        except ConnectorError as exc:
            self._log(message, started, error=exc.message)
            raise
        except Exception as exc:  # noqa: BLE001 - backends raise smtplib/socket/anymail errors: map them all
            err = self.map_error(exc)
            self._log(message, started, error=err.message)
            raise err from exc
        status: Any = getattr(email, "anymail_status", None)
        provider_id = (status.message_id if status is not None and status.message_id else None) \
            or email.extra_headers.get("Message-ID", "")
        self._log(message, started, provider_id=str(provider_id))
        return str(provider_id)

    def _log(self, message: Outgoing, started: float, *, error: str = "", provider_id: str = "") -> None:
        secrets = tuple(str(v) for v in (self.integration.credentials or {}).values() if v and len(str(v)) >= 4)
        IntegrationLog.objects.create(
            organization_id=self.integration.organization_id, integration=self.integration,
            action=f"{self.provider}.send", direction=Direction.OUTBOUND, level="error" if error else "info",
            method="SEND", endpoint=self.endpoint_label()[:1000], duration_ms=int((time.monotonic() - started) * 1000),
            request_excerpt=f"to={message.to} subject={message.subject[:100]!r}",
            response_excerpt=f"message id {provider_id}" if provider_id else "",
            error_message=redact_text(error, secrets),
        )

    def endpoint_label(self) -> str:
        return self.base_url

    def test_connection(self) -> str:
        connection = self.backend()
        try:
            connection.open()
        except Exception as exc:  # noqa: BLE001 - same mapping as a send
            raise self.map_error(exc) from exc
        finally:
            connection.close()
        return f"{self.display_name} accepted the connection settings."

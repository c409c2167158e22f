"""Mailgun (through anymail) against its sandbox over HTTP: rejected credentials are an auth failure."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Message

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _deliver(message: Message) -> Message:
    services.deliver(message.pk)
    message.refresh_from_db()
    return message


def test_rejected_esp_credentials_fail_over(org, smtp_server, smtp_integration, make_integration, live_server):
    make_integration(org, "mailgun", type="email", base_url=f"{live_server.url}/sandbox/mailgun/v3",
                     credentials={"api_key": "wrong"}, config={"from_email": "alerts@acme.test", "priority": 1})
    smtp_integration(org, smtp_server.port, priority=2)
    message = _deliver(services.send(org, "email", ["x@example.com"], context={"subject": "s", "body": "b"}))
    delivery = message.deliveries.get()
    assert delivery.provider == "smtp"
    assert delivery.attempts[0]["provider"] == "mailgun" and delivery.attempts[0]["kind"] == "auth"

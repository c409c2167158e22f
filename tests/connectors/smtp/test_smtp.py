"""SMTP through a real SMTP server (aiosmtpd) on loopback: the message as sent, a refused recipient."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import DeliveryStatus, Message

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _deliver(message: Message) -> Message:
    services.deliver(message.pk)
    message.refresh_from_db()
    return message


def test_smtp_primary_sends_and_records_the_delivery(org, smtp_server, smtp_integration):
    smtp_integration(org, smtp_server.port)
    message = services.send(org, "email", ["Ops@Example.COM"], template="critical_alert",
                            context={"title": "Disk full", "message": "Server 3 is at 99%"})
    assert _deliver(message).status == "sent"
    (received,) = smtp_server.messages
    assert received["to"] == ["Ops@example.com"]  # domain lower-cased, local part kept
    assert received["message"]["Subject"] == "CRITICAL: Disk full"
    delivery = message.deliveries.get()
    assert delivery.provider == "smtp" and delivery.status == DeliveryStatus.SENT
    # The Message-ID is derived from the delivery: a receiver can drop a duplicate.
    assert received["message"]["Message-ID"] == f"<{delivery.idempotency_key}@acme.test>"
    assert [a["ok"] for a in delivery.attempts] == [True]


def test_refused_recipient_fails_without_failover(org, smtp_server, smtp_integration):
    from aiosmtpd.controller import Controller

    from tests.services.conftest import SmtpServer, _Handler, free_port  # a second, refusing server

    refusing = SmtpServer(port=free_port(), refuse_recipients=True)
    controller = Controller(_Handler(refusing), hostname="127.0.0.1", port=refusing.port)
    controller.start()
    try:
        smtp_integration(org, refusing.port, code="strict", priority=1)
        smtp_integration(org, smtp_server.port, code="backup", priority=2)
        message = _deliver(services.send(org, "email", ["gone@example.com"], context={"subject": "s", "body": "b"}))
    finally:
        controller.stop()
    delivery = message.deliveries.get()
    assert message.status == "failed" and delivery.status == DeliveryStatus.FAILED
    assert [a["kind"] for a in delivery.attempts] == ["recipient"]
    assert smtp_server.messages == []  # the backup was not asked to send it too

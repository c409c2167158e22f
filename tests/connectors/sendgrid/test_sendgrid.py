"""SendGrid (through anymail) against its sandbox over HTTP, as the e-mail fallback."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Message
from tests.services.conftest import closed_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _deliver(message: Message) -> Message:
    services.deliver(message.pk)
    message.refresh_from_db()
    return message


def test_smtp_down_fails_over_to_sendgrid_through_anymail(org, smtp_integration, make_integration, live_server):
    import requests

    smtp_integration(org, closed_port(), priority=1)
    make_integration(org, "sendgrid", type="email", base_url=f"{live_server.url}/sandbox/sendgrid/v3",
                     credentials={"api_key": "acme-secret"}, config={"from_email": "alerts@acme.test", "priority": 2})
    requests.post(f"{live_server.url}/sandbox/sendgrid/_control", json={"account": "acme", "action": "reset"},
                  timeout=5)
    message = _deliver(services.send(org, "email", ["buyer@example.com"], template="purchase_order_created",
                                     context={"number": "PO-7", "supplier_name": "Globex", "total": "10.00",
                                              "currency": "USD"}))
    assert message.status == "sent"
    delivery = message.deliveries.get()
    assert delivery.provider == "sendgrid" and delivery.provider_message_id
    outbox = requests.post(f"{live_server.url}/sandbox/sendgrid/_control", json={"account": "acme",
                                                                                 "action": "outbox"}, timeout=5).json()
    assert [m["to"] for m in outbox["outbox"]] == ["buyer@example.com"]
    assert outbox["outbox"][0]["subject"] == "Purchase order PO-7 created"

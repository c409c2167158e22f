"""The demo organization's messaging integrations (seeds) are valid and send through the sandboxes."""

from __future__ import annotations

import pytest

from connectors.registry import get_connector_class
from integrations.models import Integration
from notifications import services

from .sms import control

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _seeded(org, base: str) -> list[Integration]:
    from connectors.sendgrid.seed import demo_integrations as sendgrid
    from connectors.twilio.seed import demo_integrations as twilio
    from connectors.vonage.seed import demo_integrations as vonage

    rows = []
    for spec in twilio(base) + vonage(base) + sendgrid(base):
        cls = get_connector_class(spec["provider"])
        cls.validate_credentials(spec["credentials"])
        cls.validate_config(spec["config"])
        rows.append(Integration.objects.create(organization=org, **spec))
    return rows


def test_seeded_providers_send_sms_and_email_through_the_sandboxes(org, live_server):
    _seeded(org, live_server.url)
    control(live_server, "twilio", "AC" + "0" * 31 + "1", action="reset")
    sms = services.send(org, "sms", ["+44 7911 123456"], template="critical_alert",
                        context={"title": "Fridge", "message": "4°C over"})
    email = services.send(org, "email", ["ops@example.com"], template="daily_report",
                          context={"date": "2026-11-23", "syncs_completed": 4, "syncs_failed": 0, "records": 10,
                                   "webhook_failures": 0})
    for message in (sms, email):
        services.deliver(message.pk)
        message.refresh_from_db()
        assert message.status == "sent", message.deliveries.get().attempts
    assert sms.deliveries.get().provider == "twilio" and email.deliveries.get().provider == "sendgrid"
    (sent,) = control(live_server, "twilio", "AC" + "0" * 31 + "1", action="outbox")["outbox"]
    assert sent["body"] == "CRITICAL: Fridge - 4°C over"

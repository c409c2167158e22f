"""Admin pages of the services hub render, scoped, with secrets masked and health shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Destination
from integrations.models import Integration, IntegrationLog
from integrations.redaction import MASK

pytestmark = [pytest.mark.postgres]

PAGES = ["notifications_message", "notifications_delivery", "notifications_notificationtemplate",
         "notifications_alertrule", "events_destination", "events_outboxevent", "events_eventdelivery",
         "files_storedfile", "health_integrationhealth"]


@pytest.fixture
def staff(org, make_user, client):
    user = make_user(org, "admin", is_staff=True)
    client.force_login(user)
    return client


def test_changelists_render(staff):
    for page in PAGES:
        assert staff.get(reverse(f"admin:{page}_changelist")).status_code == 200, page


def test_health_is_shown_with_its_reasons(org, other_org, staff):
    mine = Integration.objects.create(organization=org, name="Twilio", code="t", provider="twilio", type="sms",
                                      credentials={"account_sid": "AC" + "1" * 32})
    Integration.objects.create(organization=other_org, name="Hidden Vonage", code="v", provider="vonage", type="sms")
    IntegrationLog.objects.create(organization=org, integration=mine, action="x", level="error")
    page = staff.get(reverse("admin:health_integrationhealth_changelist")).content.decode()
    assert "Twilio auth token not configured" in page and "Hidden Vonage" not in page


def test_a_destination_secret_is_masked_and_kept(org, staff):
    dest = Destination.objects.create(organization=org, name="hook", kind="webhook", target="https://x.example/h",
                                      connection="whsec_c2VjcmV0LWtleS1vZi0yNC1ieXRlcyE=")
    url = reverse("admin:events_destination_change", args=[dest.pk])
    page = staff.get(url).content.decode()
    assert "c2VjcmV0" not in page
    form = {"organization": org.pk, "name": "renamed", "kind": "webhook", "target": "https://x.example/h",
            "connection": MASK, "options": "{}", "event_types": "[]", "is_active": "on"}
    assert staff.post(url, form).status_code == 302
    dest.refresh_from_db()
    assert dest.name == "renamed" and dest.connection == "whsec_c2VjcmV0LWtleS1vZi0yNC1ieXRlcyE="

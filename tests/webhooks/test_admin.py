"""The inbox in the admin: scoped to the staff user's organizations, readable, Retry and Mark ignored."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from webhooks.models import EventStatus, WebhookEvent

from .security import sample_body

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/webhooks/webhookevent/"


@pytest.fixture
def staff_client(client, make_user, org):
    def login(role: str):
        user = make_user(org, role, is_staff=True)
        client.force_login(user)
        return client

    return login


@pytest.fixture
def two_orgs_events(client, sender_for, other_org):
    wh = sender_for()
    body = sample_body(secret_note="password=hunter2")
    wh.post(client, body, {**wh.headers(body), "Authorization": "Bearer abcdef123456"})
    mine = WebhookEvent.objects.get(integration=wh.integration)
    theirs_integration = Integration.objects.create(
        organization=other_org, name="Theirs", code="theirs", type="webhook", provider="webhook", webhook_secret="s"
    )
    theirs = WebhookEvent.objects.create(organization=other_org, integration=theirs_integration, provider="webhook",
                                         body=b"{}", dedupe_key="x", status=EventStatus.FAILED)
    return mine, theirs


def test_changelist_and_detail_are_scoped_and_readable(staff_client, two_orgs_events):
    mine, theirs = two_orgs_events
    client = staff_client("viewer")
    page = client.get(CHANGELIST).content.decode()
    assert f"/{mine.pk}/change/" in page
    assert f"/{theirs.pk}/change/" not in page
    detail = client.get(f"{CHANGELIST}{mine.pk}/change/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "order.created" in text and "x-acme-signature" in text
    assert "abcdef123456" not in text  # the Authorization header was masked when stored
    assert client.get(f"{CHANGELIST}{theirs.pk}/change/").status_code == 404
    assert client.get(CHANGELIST, {"status__exact": "pending", "q": mine.event_type}).status_code == 200


def test_retry_and_mark_ignored_actions(staff_client, two_orgs_events):
    mine, _ = two_orgs_events
    WebhookEvent.objects.filter(pk=mine.pk).update(status=EventStatus.FAILED, attempts=6)
    viewer = staff_client("viewer")
    viewer.post(CHANGELIST, {"action": "retry_events", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.status == EventStatus.FAILED  # viewers cannot operate
    viewer.logout()
    manager = staff_client("manager")
    manager.post(CHANGELIST, {"action": "retry_events", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert (mine.status, mine.attempts) == (EventStatus.PENDING, 0)
    manager.post(CHANGELIST, {"action": "mark_ignored", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.status == EventStatus.IGNORED

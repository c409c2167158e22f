"""/api/v1/webhooks: list with filters, get with the body, retry (manager), delete (admin), tenancy."""

from __future__ import annotations

import pytest

from webhooks.models import EventStatus, WebhookEvent

from .security import sample_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(client, sender_for):
    wh = sender_for()
    for _ in range(2):
        body = sample_body()
        wh.post(client, body, wh.headers(body))
    wh.post(client, b"\xff\xfe binary", {"X-Acme-Signature": "0" * 64})  # rejected, not UTF-8
    return wh, list(WebhookEvent.objects.order_by("id"))


def test_list_and_filters(api, events):
    wh, _ = events
    data = api.get("/api/v1/webhooks").json()
    assert data["count"] == 3 and "body" not in data["results"][0]
    assert api.get("/api/v1/webhooks", {"status": "rejected"}).json()["count"] == 1
    assert api.get("/api/v1/webhooks", {"integration": wh.integration.pk, "status": "pending"}).json()["count"] == 2
    assert api.get("/api/v1/webhooks", {"provider": "webhook"}).json()["count"] == 3
    assert api.get("/api/v1/webhooks", {"received_after": "2999-01-01T00:00:00Z"}).json()["count"] == 0
    assert api.get("/api/v1/webhooks", {"received_before": "2999-01-01T00:00:00Z"}).json()["count"] == 3
    # Offsets PostgreSQL does not take (beyond ±15:59) are read in UTC, not passed on (was a 500).
    assert api.get("/api/v1/webhooks", {"received_before": "2999-01-01T00:00:00+23:30"}).json()["count"] == 3
    assert api.get("/api/v1/webhooks", {"received_after": "9999-12-31T23:00:00-05:00"}).status_code == 400


def test_get_shows_body_as_text_or_base64(api, events):
    _, (ok, _, rejected) = events
    detail = api.get(f"/api/v1/webhooks/{ok.pk}").json()
    assert detail["body_encoding"] == "text" and '"order.created"' in detail["body"]
    assert detail["headers"]["content-type"] == "application/json"
    detail = api.get(f"/api/v1/webhooks/{rejected.pk}").json()
    assert detail["body_encoding"] == "base64" and detail["rejection_reason"] == "signature does not match"


def test_retry_needs_manager_and_refuses_rejected(api_client_for, org, events):
    _, (ok, _, rejected) = events
    WebhookEvent.objects.filter(pk=ok.pk).update(status=EventStatus.FAILED, attempts=6, last_error="boom")
    assert api_client_for(org, "viewer").post(f"/api/v1/webhooks/{ok.pk}/retry").status_code == 403
    manager = api_client_for(org, "manager")
    response = manager.post(f"/api/v1/webhooks/{ok.pk}/retry")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    conflict = manager.post(f"/api/v1/webhooks/{rejected.pk}/retry")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"


def test_delete_needs_admin(api_client_for, org, api, events):
    _, (ok, *_) = events
    assert api_client_for(org, "manager").delete(f"/api/v1/webhooks/{ok.pk}").status_code == 403
    assert api.delete(f"/api/v1/webhooks/{ok.pk}").status_code == 204
    assert not WebhookEvent.objects.filter(pk=ok.pk).exists()


def test_another_organizations_events_are_404(api_client_for, other_org, events):
    _, (ok, *_) = events
    other = api_client_for(other_org, "owner")
    assert other.get("/api/v1/webhooks").json()["count"] == 0
    for call in (other.get, other.delete):
        assert call(f"/api/v1/webhooks/{ok.pk}").status_code == 404
    assert other.post(f"/api/v1/webhooks/{ok.pk}/retry").status_code == 404

"""The /api/integrations/... routes: envelope, roles, organization scoping, health from real signals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import Destination
from integrations.models import IntegrationLog
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.postgres]


def test_status_needs_credentials():
    resp = APIClient().get("/api/integrations/status")
    assert resp.status_code == 401
    body = resp.json()
    assert body["success"] is False and body["code"] == "not_authenticated"
    assert body["message"] and isinstance(body["error"], str)


def test_status_counts_integrations_by_health_and_lists_services(org, api, make_integration, smtp_integration):
    smtp_integration(org, 2525)
    make_integration(org, "twilio", type="sms", credentials={"account_sid": "AC" + "1" * 32})  # no auth_token
    body = api.get("/api/integrations/status").json()
    assert body["success"] is True
    data = body["data"]
    assert data["totals"] == {"total": 2, "healthy": 1, "unhealthy": 0, "error": 1, "inactive": 0}
    assert data["integrations_by_type"]["sms"]["error"] == 1
    assert set(data["hubServices"]) == {"notifications", "events", "files", "sync", "webhooks"}
    # The services API document's view: six services, counted by health.
    assert data["services"]["email"] == {"status": "healthy", "name": "Email Service", "type": "communication"}
    assert data["services"]["sms"]["status"] == "error"
    assert data["total"] == 6 and data["healthy"] + data["unhealthy"] + data["error"] == 6 and data["error"] >= 1
    assert data["status"] == "error"


def test_health_of_a_provider_says_what_is_missing(org, api, make_integration):
    make_integration(org, "twilio", type="sms", credentials={"account_sid": "AC" + "1" * 32})
    data = api.get("/api/integrations/health/twilio").json()["data"]
    (twilio,) = data["integrations"]
    assert twilio["status"] == "error" and "Twilio auth token not configured" in twilio["problems"]
    # A known provider the organization has not set up at all.
    data = api.get("/api/integrations/health/vonage").json()["data"]
    assert data["status"] == "error" and data["problems"] == ["Vonage not configured"]
    resp = api.get("/api/integrations/health/no-such-thing")
    assert resp.status_code == 404 and resp.json()["success"] is False


def test_error_rate_and_failed_webhooks_make_an_integration_unhealthy(org, api, smtp_integration):
    smtp = smtp_integration(org, 2525)
    for level in ("error", "error", "error", "error", "info", "info"):
        IntegrationLog.objects.create(organization=org, integration=smtp, action="smtp.send", level=level)
    WebhookEvent.objects.create(organization=org, integration=smtp, provider="smtp", status="failed", body=b"{}")
    (health,) = api.get("/api/integrations/health/smtp").json()["data"]["integrations"]
    assert health["status"] == "unhealthy"
    email = api.get("/api/integrations/health").json()["data"]["email"]
    assert email["status"] == "unhealthy" and "4 of 6 calls failed" in email["error"]
    assert email["details"][smtp.code]["status"] == "warning"
    assert health["signals"]["error_rate"] == round(4 / 6, 3) and health["signals"]["failed_webhooks_24h"] == 1
    assert any("4 of 6 calls failed" in p for p in health["problems"])
    # Old errors fall out of the window.
    IntegrationLog.objects.filter(integration=smtp).update(created_at=timezone.now() - timedelta(hours=3))
    WebhookEvent.objects.all().delete()
    (health,) = api.get("/api/integrations/health/smtp").json()["data"]["integrations"]
    assert health["status"] == "healthy"


def test_a_failed_connection_test_is_an_error(org, api, smtp_integration):
    smtp = smtp_integration(org, 2525)
    smtp.connection_error = "transient: SMTP connection failed"
    smtp.save()
    data = api.get("/api/integrations/health/email").json()["data"]
    assert data["serviceName"] == "email" and data["status"] == "error"
    health = data["details"][smtp.code]
    assert health["status"] == "error" and health["signals"]["last_connection_test_ok"] is False


def test_service_detail_and_unknown_service(api):
    data = api.get("/api/integrations/services/notifications").json()["data"]
    assert data["status"] == "unhealthy" and "no active email provider" in data["problems"]
    resp = api.get("/api/integrations/services/teleport")
    assert resp.status_code == 404 and "known: email, sms" in resp.json()["message"]


def test_another_organizations_integrations_are_not_seen(org, other_org, api, smtp_integration):
    smtp_integration(other_org, 2525)
    assert api.get("/api/integrations/status").json()["data"]["totals"]["total"] == 0
    assert api.get("/api/integrations/health/smtp").status_code == 200  # a provider name: "not configured"
    assert api.get("/api/integrations/health/smtp").json()["data"]["integrations"] == []


def test_viewers_read_managers_test_admins_start_and_stop(org, api_client_for):
    viewer, manager, admin = (api_client_for(org, role) for role in ("viewer", "manager", "admin"))
    assert viewer.get("/api/integrations/metrics").status_code == 200
    resp = viewer.post("/api/integrations/test/event", {}, format="json")
    assert resp.status_code == 403 and resp.json()["success"] is False
    assert manager.post("/api/integrations/test/event", {"message": "hi"}, format="json").status_code == 200
    assert manager.post("/api/integrations/shutdown").status_code == 403
    Destination.objects.create(organization=org, name="s", kind="redis_stream", target="x", connection="redis://")
    assert admin.post("/api/integrations/shutdown").json()["data"]["destinations_paused"] == 1
    assert Destination.objects.get().paused_until > timezone.now() + timedelta(days=3650)
    assert admin.post("/api/integrations/initialize").json()["data"]["destinations_resumed"] == 1
    assert Destination.objects.get().paused_until is None


def test_test_notification_queues_a_message_and_reports_bad_input(org, api, smtp_integration):
    smtp_integration(org, 2525)
    resp = api.post("/api/integrations/test/notification", {"channel": "email", "to": ["a@example.com", "bad"]},
                    format="json")
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert {d["recipient"]: d["status"] for d in data["deliveries"]} == {"a@example.com": "queued", "bad": "failed"}
    for body in ({"channel": "pigeon", "to": "a@example.com"}, {"channel": "email"},
                 {"channel": "email", "to": "a@example.com", "template": "nope"}, {"to": 5}):
        resp = api.post("/api/integrations/test/notification", body, format="json")
        assert resp.status_code == 400, body
        assert resp.json()["success"] is False


def test_test_file_stores_a_document_and_refuses_a_fake_pdf(org, api, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "hub_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    resp = api.post("/api/integrations/test/file", {"name": "r.csv", "content": "sku,qty\n"}, format="json")
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert data["key"].startswith("acme/other/") and (tmp_path / data["key"]).read_bytes() == b"sku,qty\n"
    resp = api.post("/api/integrations/test/file", {"name": "x.pdf", "content": "hello"}, format="json")
    assert resp.status_code == 400 and "not application/pdf" in resp.json()["error"]


def test_test_sync_checks_the_integration(org, other_org, api, make_integration):
    mine = make_integration(org, "demo", type="inventory", status="inactive")
    theirs = make_integration(other_org, "demo", type="inventory", code="theirs")
    assert api.post("/api/integrations/test/sync", {"integration": theirs.pk}, format="json").status_code == 404
    assert api.post("/api/integrations/test/sync", {"integration": mine.code}, format="json").status_code == 409
    mine.status = "active"
    mine.save()
    resp = api.post("/api/integrations/test/sync", {"integration": mine.pk, "streams": ["products"]}, format="json")
    assert resp.status_code == 200 and resp.json()["data"]["jobs"][0]["stream"] == "products"
    bad = api.post("/api/integrations/test/sync", {"integration": mine.pk, "streams": ["nope"]}, format="json")
    assert bad.status_code == 400


def test_prometheus_metrics(org, smtp_integration, client):
    from syncjobs.models import SyncJob

    smtp = smtp_integration(org, 2525)
    now = timezone.now()
    SyncJob.objects.create(organization=org, integration=smtp, stream="s", status="completed",
                           started_at=now - timedelta(seconds=20), completed_at=now)
    IntegrationLog.objects.create(organization=org, integration=smtp, action="smtp.send", level="error",
                                  direction="outbound", duration_ms=40)
    text = client.get("/metrics").content.decode()
    for name in ("hub_sync_jobs", "hub_records_synced_total", "hub_webhook_events_window",
                 "hub_provider_calls_window", "hub_sync_job_duration_seconds", "hub_notifications_window"):
        assert name in text
    assert 'hub_provider_calls_window{outcome="error",provider="smtp"} 1.0' in text
    assert 'hub_provider_call_duration_seconds_bucket{le="0.05",provider="smtp"} 1.0' in text
    assert 'hub_sync_job_duration_seconds_bucket{le="5",status="completed"} 0.0' in text
    assert 'hub_sync_job_duration_seconds_bucket{le="30",status="completed"} 1.0' in text
    assert 'hub_sync_job_duration_seconds_sum{status="completed"} 20.0' in text


WHSEC = "whsec_" + "c2VjcmV0LWtleS1vZi0yNC1ieXRlcyE="


def test_webhook_subscriptions_through_the_api(org, other_org, api_client_for):
    admin, viewer = api_client_for(org, "admin"), api_client_for(org, "viewer")
    body = {"name": "ERP hook", "kind": "webhook", "target": "https://erp.example/hooks", "connection": WHSEC,
            "event_types": ["record.*", "sync.finished"]}
    assert viewer.post("/api/v1/event-destinations", body, format="json").status_code == 403
    for bad in ({"connection": "nope"}, {"target": "ftp://x"}, {"connection": "whsec_AAAA"},
                {"options": {"a": {"nested": 1}}}, {"connection": ""}):
        resp = admin.post("/api/v1/event-destinations", {**body, **bad}, format="json")
        assert resp.status_code == 400, bad
    resp = admin.post("/api/v1/event-destinations", body, format="json")
    assert resp.status_code == 201
    data = resp.json()
    assert "connection" not in data and data["has_connection"] is True
    assert Destination.objects.get(pk=data["id"]).connection == WHSEC  # stored (encrypted at rest)
    assert viewer.get(f"/api/v1/event-destinations/{data['id']}").status_code == 200
    # Changing the name keeps the secret.
    assert admin.patch(f"/api/v1/event-destinations/{data['id']}", {"name": "ERP"}, format="json").status_code == 200
    assert Destination.objects.get(pk=data["id"]).connection == WHSEC
    other = api_client_for(other_org, "admin")
    assert other.get(f"/api/v1/event-destinations/{data['id']}").status_code == 404
    assert other.get("/api/v1/event-destinations").json()["count"] == 0


def test_event_deliveries_log_and_replay(org, api_client_for):
    from events.models import EventDelivery, OutboxEvent

    dest = Destination.objects.create(organization=org, name="s", kind="redis_stream", target="x",
                                      connection="redis://127.0.0.1:1/0")
    event = OutboxEvent.objects.create(organization=org, type="hub.test", aggregate="a", data={"message": "m"})
    delivery = EventDelivery.objects.create(event=event, destination=dest, organization=org, status="failed",
                                            attempts=12, last_error="redis: ConnectionError")
    viewer, manager = api_client_for(org, "viewer"), api_client_for(org, "manager")
    (row,) = viewer.get("/api/v1/event-deliveries?status=failed").json()["results"]
    assert row["event_type"] == "hub.test" and row["last_error"] == "redis: ConnectionError"
    assert viewer.post(f"/api/v1/event-deliveries/{delivery.pk}/replay").status_code == 403
    resp = manager.post(f"/api/v1/event-deliveries/{delivery.pk}/replay")
    assert resp.status_code == 202 and resp.json()["status"] == "pending"


def test_messages_and_files_are_listed_per_organization(org, other_org, api_client_for, smtp_integration):
    from notifications.services import send

    smtp_integration(org, 2525)
    send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"})
    (msg,) = api_client_for(org, "viewer").get("/api/v1/notifications").json()["results"]
    assert msg["deliveries"][0]["recipient"] == "a@example.com"
    assert api_client_for(other_org, "viewer").get("/api/v1/notifications").json()["count"] == 0
    assert api_client_for(org, "viewer").get("/api/v1/files").json()["count"] == 0


def test_nul_characters_are_a_400_not_a_500(org, api):
    for route, body in (("test/notification", {"to": "a@example.com", "context": {"body": "a\x00b"}}),
                        ("test/event", {"message": "a\x00"}), ("test/sync", {"integration": "x\x00"}),
                        ("test/file", {"name": "a\x00.txt", "content": "x"})):
        resp = api.post(f"/api/integrations/{route}", body, format="json")
        assert resp.status_code == 400, route


def test_each_sync_job_duration_series_appears_once(org, smtp_integration, client):
    """Several finished jobs of one status are one series (not one copy per job)."""
    from syncjobs.models import SyncJob

    smtp = smtp_integration(org, 2525)
    now = timezone.now()
    for took, status_ in ((3, "completed"), (20, "completed"), (40, "completed"), (100, "completed"),
                          (7, "failed"), (8, "failed")):
        SyncJob.objects.create(organization=org, integration=smtp, stream="s", status=status_,
                               started_at=now - timedelta(seconds=took), completed_at=now)
    lines = [line for line in client.get("/metrics").content.decode().splitlines()
             if line.startswith("hub_sync_job_duration_seconds")]
    assert len(lines) == len(set(lines)), "a series is repeated"
    series = [line.rsplit(" ", 1)[0] for line in lines]
    assert len(series) == len(set(series))
    assert 'hub_sync_job_duration_seconds_count{status="completed"} 4.0' in lines
    assert 'hub_sync_job_duration_seconds_count{status="failed"} 2.0' in lines
    assert 'hub_sync_job_duration_seconds_bucket{le="30",status="completed"} 2.0' in lines
    assert 'hub_sync_job_duration_seconds_sum{status="completed"} 163.0' in lines
    # two statuses, 7 buckets and +Inf each
    assert sum(1 for s in series if s.startswith("hub_sync_job_duration_seconds_bucket")) == 2 * 8


def test_metrics_token_is_required_when_set(db, client, settings, caplog):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "Basic s3cret-scrape-token"},
                    {"HTTP_AUTHORIZATION": "Bearer s3cret-scrape-token-longer"}):
        resp = client.get("/metrics", **headers)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "not_authenticated"
        assert resp["WWW-Authenticate"].startswith("Bearer")
    assert "/metrics refused" in caplog.text and "s3cret" not in caplog.text
    resp = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert resp.status_code == 200 and b"hub_sync_jobs" in resp.content
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("value", [[1], {"a": 1}, 12, True])
def test_test_file_with_content_base64_not_a_string_is_a_400(org, api, settings, tmp_path, value):
    settings.STORAGES = {**settings.STORAGES, "hub_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    resp = api.post("/api/integrations/test/file", {"name": "a.txt", "content_base64": value}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["details"]["content_base64"]

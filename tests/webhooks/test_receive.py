"""The receive endpoint: answers, what is stored, and what is refused before anything is stored."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
import requests

from connectors.signatures import sign_hmac_sha256_hex
from integrations.models import IntegrationLog, IntegrationStatus
from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

from .security import sample_body

FIXTURES = Path(__file__).resolve().parents[2] / "connectors" / "generic_webhook" / "fixtures"
pytestmark = pytest.mark.django_db


def test_unknown_key_is_404_json_and_logged(client, caplog):
    with caplog.at_level(logging.WARNING, logger="webhooks.receive"):
        response = client.post("/api/webhooks/receive/no-such-key-000", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "unknown key no-suc" in caplog.text
    assert "no-such-key-000" not in caplog.text  # only a prefix of a key is ever logged
    assert not WebhookEvent.objects.exists()


def test_inactive_integration_keeps_deliveries_without_processing_them(client, sender_for, api_client_for):
    wh = sender_for()
    wh.integration.status = IntegrationStatus.INACTIVE
    wh.integration.save()
    body = sample_body()
    # Still verified: a bad signature is refused as for an active integration.
    assert wh.post(client, body, {}).status_code == 401
    response = wh.post(client, body, wh.headers(body))
    assert response.status_code == 200 and response.json()["status"] == "held"
    event = WebhookEvent.objects.get(pk=response.json()["id"])
    assert event.status == EventStatus.IGNORED and "inactive" in event.result
    # Reactivated, the operator replays it from the inbox.
    wh.integration.status = IntegrationStatus.ACTIVE
    wh.integration.save()
    api = api_client_for(wh.integration.organization, "manager")
    assert api.post(f"/api/v1/webhooks/{event.pk}/retry").status_code == 202
    event.refresh_from_db()
    assert event.status == EventStatus.PENDING


def test_no_secret_configured_refuses_instead_of_skipping_verification(client, make_webhook_integration):
    integration = make_webhook_integration(secret="")
    body = sample_body()
    response = client.post(f"/api/webhooks/receive/{integration.webhook_key}", body,
                           content_type="application/json", headers=sign_hmac_sha256_hex(body, "anything"))
    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.REJECTED and "no webhook secret" in event.rejection_reason
    log = IntegrationLog.objects.get(integration=integration)
    assert (log.action, log.direction, log.level, log.status_code) == ("webhook.received", "inbound", "warning", 401)


def test_oversize_body_is_413_before_reading_and_not_stored(client, sender_for, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    wh = sender_for()
    body = sample_body(padding="x" * 200)
    response = wh.post(client, body, wh.headers(body))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not WebhookEvent.objects.exists()
    small = sample_body()[:100]
    assert wh.post(client, small, wh.headers(small)).status_code == 200  # exactly at the limit


def test_only_post(client, sender_for):
    response = client.get(sender_for().url)
    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("fixture", "content_type"),
    [
        ("order_created.json", "application/json"),
        ("order_created.form", "application/x-www-form-urlencoded"),
        ("order_created.xml", "application/xml"),
    ],
)
def test_json_form_and_xml_bodies_are_stored_raw(client, sender_for, fixture, content_type):
    wh = sender_for()
    wh.content_type = content_type
    body = (FIXTURES / fixture).read_bytes()
    response = wh.post(client, body, wh.headers(body))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body and event.content_type == content_type
    assert process_batch().processed == 1
    event.refresh_from_db()
    assert (event.status, event.result) == (EventStatus.COMPLETED, "stored")


def test_malformed_json_with_a_valid_signature_is_stored_for_processing_to_decide(client, sender_for):
    wh = sender_for("standard-webhooks")  # its verifier also looks into the body for the event type
    body = b'{"type": "order.created", "data": '  # truncated
    response = wh.post(client, body, wh.headers(body))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, bytes(event.body), event.event_type) == (EventStatus.PENDING, body, "")


def test_stored_delivery_keeps_headers_lowercased_with_credentials_masked(client, sender_for):
    wh = sender_for()
    body = sample_body()
    headers = {**wh.headers(body), "Authorization": "Bearer top-secret-token", "X-Api-Key": "k-123456",
               "X-Request-Id": "req-1"}
    assert wh.post(client, body, headers).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.headers["authorization"] == "********" and event.headers["x-api-key"] == "********"
    assert event.headers["x-request-id"] == "req-1"
    assert event.headers["x-acme-signature"] == headers["X-Acme-Signature"]  # a digest, kept for audit
    assert "top-secret-token" not in json.dumps(event.headers)
    assert wh.integration.webhook_key not in event.endpoint
    assert event.remote_ip == "127.0.0.1" and len(event.body_sha256) == 64
    assert event.max_retries == 5


def test_dedupe_on_a_configured_event_id_else_on_the_body_hash(client, sender_for):
    by_id = sender_for(event_id_field="id", event_type_field="type", code="by-id")
    body = sample_body()
    by_id.post(client, body, by_id.headers(body))
    event = WebhookEvent.objects.get(integration=by_id.integration)
    payload = json.loads(body)
    assert (event.event_id, event.dedupe_key, event.event_type) == (payload["id"], payload["id"], "order.created")

    by_hash = sender_for(code="by-hash")
    by_hash.post(client, body, by_hash.headers(body))
    event = WebhookEvent.objects.get(integration=by_hash.integration)
    assert event.event_id == "" and event.dedupe_key == f"sha256:{event.body_sha256}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_concurrent_deliveries_of_one_event_make_one_row_processed_once(live_server, sender_for):
    wh = sender_for("standard-webhooks")
    body = sample_body()
    headers = {**wh.headers(body, msg_id="msg_concurrent"), "Content-Type": "application/json"}
    barrier = threading.Barrier(3)
    answers: list[dict] = []

    def deliver():
        barrier.wait()
        answers.append(requests.post(live_server.url + wh.url, data=body, headers=headers, timeout=10).json())

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["status"] for a in answers) == ["accepted", "duplicate", "duplicate"]
    event = WebhookEvent.objects.get(integration=wh.integration)
    assert event.duplicates == 2
    assert process_batch().processed == 1 and process_batch().processed == 0
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.COMPLETED, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dead_or_reset_database_connection_costs_no_delivery(client, sender_for):
    """The hot path skips Django's per-request health check; it reconnects or re-prepares instead."""
    import psycopg
    from django.db import connection

    wh = sender_for()

    def deliver() -> int:
        body = sample_body()
        return wh.post(client, body, wh.headers(body)).status_code

    assert deliver() == 200
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does to prepared statements
    assert deliver() == 200
    pid = connection.connection.info.backend_pid
    settings_dict = connection.settings_dict
    with psycopg.connect(host=settings_dict["HOST"] or "127.0.0.1", port=settings_dict["PORT"] or 5432,
                         user=settings_dict["USER"], password=settings_dict["PASSWORD"] or None,
                         dbname=settings_dict["NAME"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert deliver() == 200  # the server closed our persistent connection meanwhile
    assert WebhookEvent.objects.filter(integration=wh.integration, status=EventStatus.PENDING).count() == 3

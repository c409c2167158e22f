"""Validly signed webhooks whose JSON is nested thousands deep: never a 503 (the sender would retry a
delivery we never store, forever). With ``event_id_field`` configured the generic receiver stores and
answers it, and processing fails it once with the reason; provider receivers reject it (stored)."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from connectors.signatures import sign_standard_webhooks
from integrations.jsonlimits import MAX_DEPTH
from integrations.models import Integration, IntegrationLog
from sandboxes.stripe.sandbox import stripe_signature
from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

from .conftest import STANDARD_SECRET

pytestmark = pytest.mark.django_db


def nested(depth: int) -> bytes:
    return (b'{"a":' * depth) + b'"x"' + (b"}" * depth)


def deep_event(depth: int) -> bytes:
    """An event with an id and a type, whose data is ``depth`` levels deep."""
    return b'{"id":"evt_deep_%s","type":"order.created","data":' % uuid.uuid4().hex.encode() + nested(depth) + b"}"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5_000, 10_000])
@pytest.mark.parametrize("scheme", ["hmac-sha256-hex", "standard-webhooks"])
def test_generic_with_event_id_field_stores_answers_then_fails_once(client, sender_for, caplog, scheme, depth):
    wh = sender_for(scheme, event_id_field="id", event_type_field="type")
    body = deep_event(depth)
    resp = wh.post(client, body, wh.headers(body))
    assert resp.status_code == 200 and resp.json()["status"] == "accepted", resp.content[:300]
    event = WebhookEvent.objects.get(pk=resp.json()["id"])
    assert event.status == EventStatus.PENDING and bytes(event.body) == body  # stored as sent

    caplog.set_level(logging.WARNING, "webhooks")
    assert process_batch().processed == 1
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED and event.attempts == 1 and event.next_attempt_at is None
    assert f"nested deeper than {MAX_DEPTH} levels" in event.last_error and "(id and type)" in event.last_error
    assert f"webhook event {event.pk} failed after 1 attempt(s)" in caplog.text
    assert IntegrationLog.objects.filter(integration=wh.integration, action="webhook.failed", level="error").exists()
    assert process_batch().processed == 0  # not retried
    again = wh.post(client, body, wh.headers(body))
    assert again.status_code == 200


def test_generic_without_event_fields_still_stores_and_completes(client, sender_for):
    wh = sender_for("hmac-sha256-hex")
    body = deep_event(10_000)
    resp = wh.post(client, body, wh.headers(body))
    assert resp.status_code == 200
    assert process_batch().processed == 1
    assert WebhookEvent.objects.get(pk=resp.json()["id"]).status == EventStatus.COMPLETED  # stored (no fields read)


@pytest.mark.parametrize("depth", [5_000, 10_000])
def test_stripe_rejects_a_signed_deep_body_with_400_and_stores_it(client, org, depth):
    stripe = Integration.objects.create(organization=org, name="Stripe", code="stripe", provider="stripe",
                                        type="payment_gateway", credentials={"secret_key": "sk_test_x"},
                                        webhook_secret="whsec_deep")
    body = deep_event(depth)
    resp = client.post(f"/api/webhooks/receive/{stripe.webhook_key}", body, content_type="application/json",
                       headers={"Stripe-Signature": stripe_signature("whsec_deep", body, int(time.time()))})
    assert resp.status_code == 400 and "nested deeper than" in resp.json()["error"]["message"]
    assert WebhookEvent.objects.get(integration=stripe).status == EventStatus.REJECTED


def test_demo_store_rejects_a_signed_deep_body_with_400(client, org):
    demo = Integration.objects.create(organization=org, name="Demo", code="demo", provider="demo", type="api",
                                      base_url="http://127.0.0.1:9/", webhook_secret=STANDARD_SECRET,
                                      credentials={"client_id": "a", "client_secret": "b"})
    body = deep_event(10_000)
    headers = sign_standard_webhooks(f"msg_{uuid.uuid4().hex}", int(time.time()), body, STANDARD_SECRET)
    resp = client.post(f"/api/webhooks/receive/{demo.webhook_key}", body, content_type="application/json",
                       headers=headers)
    assert resp.status_code == 400
    assert WebhookEvent.objects.get(integration=demo).status == EventStatus.REJECTED


@pytest.mark.parametrize("depth", [900, 10_000])
def test_payme_answers_a_deep_call_with_its_parse_error(client, org, depth):
    payme = Integration.objects.create(organization=org, name="Payme", code="payme", provider="payme",
                                       type="payment_gateway", credentials={"key": "k"})
    resp = client.post(f"/api/payments/payme/{payme.webhook_key}", nested(depth), content_type="application/json")
    assert resp.status_code == 200
    assert resp.json()["error"]["code"] == -32700


SANDBOX_JSON_ENDPOINTS = [
    "/sandbox/click/_control", "/sandbox/payme/_control", "/sandbox/stripe/_control",
    "/sandbox/sendgrid/v3/mail/send", "/sandbox/vonage/sms/json", "/sandbox/demo/_control",
    "/sandbox/demo/api/products", "/sandbox/kiotviet/_control",
]


@pytest.mark.parametrize("url", SANDBOX_JSON_ENDPOINTS)
def test_sandboxes_answer_deep_json_without_a_500(client, url):
    resp = client.post(url, nested(10_000), content_type="application/json",
                       headers={"Authorization": "Bearer x"})
    assert resp.status_code < 500, (resp.status_code, resp.content[:300])

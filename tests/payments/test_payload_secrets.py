"""Stripe's PaymentIntent ``client_secret`` reaches the payer's checkout once (the create answer) and
is kept nowhere: not in the ledger's ``raw``/``data``, history rows, integration logs, the webhook
inbox, nor any later answer. One list per provider (``payload_secret_fields``) drives all of them."""

from __future__ import annotations

import json
import time

import pytest

from connectors.base import strip_payload_secrets
from connectors.stripe.client import StripeConnector
from integrations.models import IntegrationLog
from payments.models import GatewayCallback, PaymentStateChange, PaymentTransaction
from sandboxes.stripe.sandbox import stripe_signature
from tests.payments.conftest import WHSEC
from webhooks.models import WebhookEvent
from webhooks.processing import process_batch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def stored_anywhere(secret: str) -> list[str]:
    """Every stored place that holds ``secret`` (as text)."""
    found = []
    for tx in PaymentTransaction.objects.all():
        if secret in json.dumps(tx.raw) or secret in json.dumps(tx.data):
            found.append(f"payment {tx.pk} raw/data")
    for change in PaymentStateChange.objects.all():
        if secret in json.dumps(change.data) or secret in change.reason:
            found.append(f"history {change.pk}")
    for row in IntegrationLog.objects.all():
        if secret in f"{row.endpoint} {row.request_excerpt} {row.response_excerpt} {row.error_message}":
            found.append(f"log {row.pk} {row.action}")
    for event in WebhookEvent.objects.all():
        if secret.encode() in bytes(event.body):
            found.append(f"webhook event {event.pk}")
    for call in GatewayCallback.objects.all():
        if secret.encode() in bytes(call.body) or secret in json.dumps(call.response):
            found.append(f"callback {call.pk}")
    return found


def test_stripe_declares_its_client_secret():
    assert "client_secret" in StripeConnector.payload_secret_fields


def test_strip_payload_secrets_at_any_depth_without_changing_the_input():
    payload = {"id": "pi_1", "client_secret": "x", "nested": [{"client_secret": "y", "ok": 1}], "n": None}
    assert strip_payload_secrets(payload, ("client_secret",)) == {"id": "pi_1", "nested": [{"ok": 1}], "n": None}
    assert payload["client_secret"] == "x"  # a copy
    deep: dict = {"client_secret": "z"}
    for _ in range(20_000):  # no recursion limit
        deep = {"a": deep}
    stripped = strip_payload_secrets(deep, ("client_secret",))
    for _ in range(20_000):
        stripped = stripped["a"]
    assert stripped == {}


@pytest.mark.parametrize("payment_method", [None, "pm_card_visa"])
def test_client_secret_is_answered_once_and_kept_nowhere(api, stripe, stripe_sandbox, payment_method):
    body = {"integration": stripe.code, "amount": 1999, "currency": "USD", "reference": "CS-1"}
    if payment_method:
        body["payment_method"] = payment_method
    created = api.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="cs-1")
    assert created.status_code == 201, created.content
    answer = created.json()
    secret = answer["checkout"]["client_secret"]
    assert secret.startswith(answer["gateway_transaction_id"] + "_secret_")  # the checkout gets it
    assert "client_secret" not in json.dumps(answer["raw"])  # ...once, in checkout only
    assert answer["raw"]["id"] == answer["gateway_transaction_id"]  # the rest of the payload is kept

    assert stored_anywhere(secret) == []
    for url in (f"/api/v1/payments/{answer['id']}", f"/api/v1/payments/{answer['id']}/", "/api/v1/payments",
                "/api/v1/integration-logs"):
        resp = api.get(url)
        assert resp.status_code == 200 and secret not in resp.content.decode(), url
    repeat = api.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="cs-1")
    assert repeat.json()["id"] == answer["id"] and secret not in repeat.content.decode()


def test_a_webhook_carrying_the_client_secret_is_stored_and_processed_without_it(api, client, stripe):
    tx = PaymentTransaction.objects.create(organization=stripe.organization, integration=stripe, provider="stripe",
                                           reference="CS-2", amount=1999, currency="USD")
    secret = "pi_3Pcs000000000000000001_secret_Q1w2e3r4t5y6"
    event = {"id": "evt_cs_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_3Pcs000000000000000001", "object": "payment_intent", "amount": 1999, "currency": "usd",
        "status": "succeeded", "client_secret": secret, "metadata": {"hub_payment_id": str(tx.pk)}}}}
    raw = json.dumps(event).encode()
    resp = client.post(f"/api/webhooks/receive/{stripe.webhook_key}", raw, content_type="application/json",
                       headers={"Stripe-Signature": stripe_signature(WHSEC, raw, int(time.time()))})
    assert resp.status_code == 200 and resp.json()["status"] == "accepted"
    assert process_batch().processed == 1
    tx.refresh_from_db()
    assert tx.state == "paid" and tx.raw["id"] == "pi_3Pcs000000000000000001"
    assert stored_anywhere(secret) == []
    stored = WebhookEvent.objects.get(integration=stripe)
    assert json.loads(bytes(stored.body))["data"]["object"]["amount"] == 1999
    detail = api.get(f"/api/v1/webhooks/{stored.pk}")
    assert detail.status_code == 200 and secret not in detail.content.decode()

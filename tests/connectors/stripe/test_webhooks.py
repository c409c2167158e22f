"""Stripe webhooks through the hub's receiver: Stripe-Signature valid / tampered / expired / replayed
(the shared security contract), and each fixture event moving the ledger, processed once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from payments.models import PaymentState, PaymentTransaction
from sandboxes.stripe.sandbox import stripe_signature
from tests.webhooks.security import Sender, WebhookSecurityContract
from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "stripe" / "fixtures"
WHSEC = "whsec_test_c3RyaXBlLXNlY3JldA"
PI = "pi_3Ptest000000000000000001"


def stripe_integration(org, code="stripe", secret=WHSEC):
    from integrations.models import Integration

    return Integration.objects.create(organization=org, name="Stripe", code=code, provider="stripe",
                                      type="payment_gateway", credentials={"secret_key": "sk_test_4eC39HqLyjWDarjtT1"},
                                      webhook_secret=secret, base_url="http://127.0.0.1:9/")


def sign(body: bytes, secret: str, *, timestamp: int, msg_id: str | None = None) -> dict[str, str]:
    return {"Stripe-Signature": stripe_signature(secret, body, timestamp)}


class TestStripeWebhookSecurity(WebhookSecurityContract):
    signs_timestamp = True

    @pytest.fixture
    def wh(self, org):
        return Sender(stripe_integration(org), WHSEC, sign)


pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe(org):
    return stripe_integration(org)


@pytest.fixture
def payment(stripe):
    tx = PaymentTransaction.objects.create(organization=stripe.organization, integration=stripe, provider="stripe",
                                           reference="A-100", amount=1999, currency="USD")
    return tx


def fixture_body(name: str, payment: PaymentTransaction, **changes) -> bytes:
    text = (FIXTURES / f"{name}.json").read_text().replace("__PAYMENT__", str(payment.pk))
    event = json.loads(text)
    event["data"]["object"].update(changes)
    return json.dumps(event).encode()


def deliver(client, stripe, body: bytes, *, timestamp: int | None = None, secret: str = WHSEC):
    return client.post(f"/api/webhooks/receive/{stripe.webhook_key}", body, content_type="application/json",
                       headers=sign(body, secret, timestamp=timestamp or int(time.time())))


def test_succeeded_event_pays_and_a_redelivery_is_processed_once(client, stripe, payment):
    body = fixture_body("payment_intent.succeeded", payment)
    first = deliver(client, stripe, body)
    # Stripe re-sends the same event (same id) with a new signature and timestamp.
    again = deliver(client, stripe, body, timestamp=int(time.time()) - 60)
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    assert process_batch().processed == 1
    payment.refresh_from_db()
    assert (payment.state, payment.gateway_transaction_id, payment.gateway_state) == ("paid", PI, "succeeded")
    assert payment.history.filter(to_state="paid").count() == 1
    assert process_batch().processed == 0


def test_expired_signature_is_rejected(client, stripe, payment):
    response = deliver(client, stripe, fixture_body("payment_intent.succeeded", payment),
                       timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert WebhookEvent.objects.get(integration=stripe).status == EventStatus.REJECTED


def test_rotated_secrets_either_verifies(client, org):
    stripe = stripe_integration(org, code="rotating", secret=f"whsec_old_one {WHSEC}")
    tx = PaymentTransaction.objects.create(organization=org, integration=stripe, provider="stripe", amount=1999,
                                           currency="USD")
    body = fixture_body("payment_intent.succeeded", tx)
    assert deliver(client, stripe, body, secret="whsec_old_one").status_code == 200
    assert deliver(client, stripe, body, secret=WHSEC).json()["status"] == "duplicate"


def test_out_of_order_events_never_move_a_payment_back(client, stripe, payment):
    deliver(client, stripe, fixture_body("payment_intent.succeeded", payment))
    deliver(client, stripe, fixture_body("payment_intent.processing", payment))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID
    stale = WebhookEvent.objects.get(event_type="payment_intent.processing")
    assert stale.status == EventStatus.COMPLETED and "stale" in stale.result


def test_failed_then_succeeded_after_a_retry(client, stripe, payment):
    deliver(client, stripe, fixture_body("payment_intent.payment_failed", payment))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.FAILED and payment.cancel_reason == "insufficient_funds"
    deliver(client, stripe, fixture_body("payment_intent.succeeded", payment))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID


def test_canceled_event(client, stripe, payment):
    deliver(client, stripe, fixture_body("payment_intent.canceled", payment))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.CANCELLED and payment.cancel_reason == "abandoned"


def test_charge_refunded_partial_then_full(client, stripe, payment):
    deliver(client, stripe, fixture_body("payment_intent.succeeded", payment))
    process_batch()
    partial = json.loads(fixture_body("charge.refunded", payment, amount_refunded=500, refunded=False))
    partial["id"] = "evt_partial"
    deliver(client, stripe, json.dumps(partial).encode())
    process_batch()
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == (PaymentState.PAID, 500)
    deliver(client, stripe, fixture_body("charge.refunded", payment))
    process_batch()
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == (PaymentState.REFUNDED, 1999)


def test_event_for_a_payment_intent_not_ours_is_ignored(client, stripe, payment):
    body = fixture_body("payment_intent.succeeded", payment, id="pi_elsewhere", metadata={})
    deliver(client, stripe, body)
    process_batch()
    assert WebhookEvent.objects.get(integration=stripe).status == EventStatus.IGNORED
    payment.refresh_from_db()
    assert payment.state == PaymentState.CREATED


def test_another_organizations_payment_is_never_touched(client, other_org, stripe, payment):
    other = stripe_integration(other_org, code="stripe-globex")
    deliver(client, other, fixture_body("payment_intent.succeeded", payment))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.CREATED
    assert WebhookEvent.objects.get(integration=other).status == EventStatus.IGNORED


def test_not_a_stripe_event_is_rejected(client, stripe):
    response = deliver(client, stripe, b'{"hello": "world"}')
    assert response.status_code == 400

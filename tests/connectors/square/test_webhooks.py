"""Square webhooks through the hub's receiver: x-square-hmacsha256-signature over (notification URL as
registered + raw body) valid / tampered / wrong key / replayed / missing (the shared security
contract), fixture events moving the ledger once, stale events changing nothing, eight concurrent
deliveries processed once, and the sandbox driving the ledger through a real worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from connectors.square.client import SquareConnector
from payments.models import PaymentState, PaymentTransaction
from sandboxes.square.sandbox import signature
from tests.conftest import wait_for
from tests.payments.test_concurrency import at_once
from tests.webhooks.security import Sender, WebhookSecurityContract
from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

from .conftest import SIGNATURE_KEY, TOKEN, hook_up

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "square" / "fixtures"
PAYMENT_ID = "R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY"


def square_integration(org, code="square", **config):
    from integrations.models import Integration

    return Integration.objects.create(organization=org, name="Square", code=code, provider="square",
                                      type="payment_gateway", webhook_secret=SIGNATURE_KEY,
                                      credentials={"access_token": TOKEN}, base_url="http://127.0.0.1:9/",
                                      config={"location_id": "LSANDBOX0001", "environment": "sandbox", **config})


def signer(integration):
    def sign(body: bytes, secret: str, *, timestamp: int = 0, msg_id: str | None = None) -> dict[str, str]:
        url = SquareConnector.notification_url(integration)
        return {"X-Square-HmacSha256-Signature": signature(secret, url, body)}

    return sign


class TestSquareWebhookSecurity(WebhookSecurityContract):
    @pytest.fixture
    def wh(self, org):
        square = square_integration(org)
        return Sender(square, SIGNATURE_KEY, signer(square))


pytestmark = pytest.mark.django_db


@pytest.fixture
def square(org):
    return square_integration(org)


@pytest.fixture
def payment(square):
    return PaymentTransaction.objects.create(organization=square.organization, integration=square, provider="square",
                                             reference="A-100", amount=1999, currency="USD",
                                             state=PaymentState.PENDING, gateway_transaction_id=PAYMENT_ID)


def fixture_body(name: str, payment_id: str = PAYMENT_ID) -> bytes:
    return (FIXTURES / f"{name}.json").read_text().replace("__PAYMENT_ID__", payment_id).encode()


def deliver(client, integration, body: bytes, url: str | None = None):
    url = url or SquareConnector.notification_url(integration)
    return client.post(f"/api/webhooks/receive/{integration.webhook_key}", body, content_type="application/json",
                       headers={"X-Square-HmacSha256-Signature": signature(SIGNATURE_KEY, url, body)})


def test_completed_pays_once_and_a_late_created_changes_nothing(client, square, payment):
    assert deliver(client, square, fixture_body("payment.updated")).json()["status"] == "accepted"
    assert deliver(client, square, fixture_body("payment.updated")).json()["status"] == "duplicate"  # event_id
    deliver(client, square, fixture_body("payment.created"))  # APPROVED, after COMPLETED
    deliver(client, square, fixture_body("payment.updated.failed"))
    assert process_batch().processed == 3
    payment.refresh_from_db()
    assert (payment.state, payment.gateway_state) == (PaymentState.PAID, "COMPLETED")
    assert payment.history.filter(to_state="paid").count() == 1
    stale = WebhookEvent.objects.get(event_type="payment.created")
    assert stale.status == EventStatus.COMPLETED and "no change" in stale.result


def test_canceled_and_failed(client, square, payment, org):
    deliver(client, square, fixture_body("payment.updated.canceled"))
    process_batch()
    payment.refresh_from_db()
    assert (payment.state, payment.cancel_reason) == (PaymentState.CANCELLED, "canceled")
    other = PaymentTransaction.objects.create(organization=org, integration=square, provider="square", amount=1999,
                                              currency="USD", gateway_transaction_id="OTHERPAYMENT0001")
    deliver(client, square, fixture_body("payment.updated.failed", "OTHERPAYMENT0001"))
    process_batch()
    other.refresh_from_db()
    assert other.state == PaymentState.FAILED


def test_a_webhook_before_our_create_answer_finds_the_payment_by_reference(client, square, org):
    tx = PaymentTransaction.objects.create(organization=org, integration=square, provider="square", amount=1999,
                                           currency="USD", reference="A-100")
    deliver(client, square, fixture_body("payment.updated"))
    process_batch()
    tx.refresh_from_db()
    assert (tx.state, tx.gateway_transaction_id) == (PaymentState.PAID, PAYMENT_ID)


def test_a_signature_over_another_notification_url_is_rejected(client, square, payment):
    response = deliver(client, square, fixture_body("payment.updated"), url="https://elsewhere.example/hook")
    assert response.status_code == 401
    registered = square_integration(payment.organization, code="sq-proxy",
                                    notification_url="https://shop.example/square/hook")
    assert deliver(client, registered, fixture_body("payment.created")).status_code == 200


def test_another_organizations_payment_is_never_touched(client, other_org, square, payment):
    other = square_integration(other_org, code="sq-globex")
    deliver(client, other, fixture_body("payment.updated"))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING
    assert WebhookEvent.objects.get(integration=other).status == EventStatus.IGNORED


def test_an_unhandled_event_is_ignored(client, square):
    body = json.dumps({"type": "customer.created", "event_id": "e-1", "data": {}}).encode()
    assert deliver(client, square, body).status_code == 200
    process_batch()
    assert WebhookEvent.objects.get(integration=square).status == EventStatus.IGNORED


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_one_event_delivered_eight_times_at_once_is_stored_and_processed_once(live_server, square, payment):
    body = fixture_body("payment.updated")
    url = f"{live_server.url}/api/webhooks/receive/{square.webhook_key}"
    headers = {"Content-Type": "application/json",
               "X-Square-HmacSha256-Signature": signature(SIGNATURE_KEY, SquareConnector.notification_url(square),
                                                          body)}
    statuses = at_once(8, lambda i: requests.post(url, data=body, headers=headers, timeout=30).json()["status"])
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * 7
    assert WebhookEvent.objects.filter(integration=square).count() == 1
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID and payment.history.filter(to_state="paid").count() == 1


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sandbox_webhooks_drive_the_ledger_through_a_real_worker(api, org, live_server, celery_worker_proc):
    """Approved at create; the seller completes it at Square; a refund completes later: a worker applies both."""
    from integrations.models import Integration

    sandbox = f"{live_server.url}/sandbox/square"
    square = Integration.objects.create(organization=org, name="sq", code="sq-e2e", provider="square",
                                        type="payment_gateway", base_url=sandbox, webhook_secret=SIGNATURE_KEY,
                                        credentials={"access_token": TOKEN},
                                        config={"location_id": "LSANDBOX0001", "environment": "sandbox",
                                                "autocomplete": False})
    hook_up(sandbox, live_server, square)
    created = api.post("/api/v1/payments", {"integration": square.code, "amount": 2500, "currency": "USD",
                                            "reference": "E2E-S", "payment_method": "cnon:card-nonce-ok"},
                       format="json").json()
    assert created["state"] == "pending"
    requests.post(f"{sandbox}/v2/payments/{created['gateway_transaction_id']}/complete",
                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    try:
        wait_for(lambda: PaymentTransaction.objects.get(pk=created["id"]).state == PaymentState.PAID, timeout=60,
                 message="paid by payment.updated")
        api.post(f"/api/v1/payments/{created['id']}/refund", {}, format="json")
        wait_for(lambda: PaymentTransaction.objects.get(pk=created["id"]).state == PaymentState.REFUNDED,
                 timeout=60, message="refunded by refund.updated")
        wait_for(lambda: not WebhookEvent.objects.filter(integration=square).exclude(
            status=EventStatus.COMPLETED).exists(), timeout=60, message="every event processed")
    except BaseException:
        print(list(WebhookEvent.objects.values("event_type", "status", "result", "last_error")),
              celery_worker_proc.log()[-4000:])
        raise
    assert {"payment.created", "payment.updated", "refund.created", "refund.updated"} == set(
        WebhookEvent.objects.filter(integration=square).values_list("event_type", flat=True))

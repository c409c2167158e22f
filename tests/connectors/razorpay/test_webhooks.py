"""Razorpay webhooks through the hub's receiver: X-Razorpay-Signature valid / tampered / wrong secret /
replayed / missing (the shared security contract), each fixture event moving the ledger once, stale
and out-of-order events changing nothing, one event delivered eight times at once processed once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from payments.models import PaymentState, PaymentTransaction
from sandboxes.razorpay.sandbox import sign
from tests.conftest import wait_for
from tests.payments.test_concurrency import at_once
from tests.webhooks.security import Sender, WebhookSecurityContract
from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

from .conftest import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, control

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "razorpay" / "fixtures"
ORDER = "order_FIXTURE000001"


def razorpay_integration(org, code="razorpay", **config):
    from integrations.models import Integration

    # capture=razorpay: these tests need no API (Razorpay captures; the hub only listens).
    return Integration.objects.create(organization=org, name="Razorpay", code=code, provider="razorpay",
                                      type="payment_gateway", webhook_secret=WEBHOOK_SECRET,
                                      credentials={"key_id": KEY_ID, "key_secret": "unused-secret-01"},
                                      config={"capture": "razorpay", **config}, base_url="http://127.0.0.1:9/")


def headers_for(body: bytes, secret: str, *, timestamp: int = 0, msg_id: str | None = None) -> dict[str, str]:
    return {"X-Razorpay-Signature": sign(body, secret), "X-Razorpay-Event-Id": msg_id or f"evt_{time.time_ns()}"}


class TestRazorpayWebhookSecurity(WebhookSecurityContract):
    delivery_id_in_headers = True

    @pytest.fixture
    def wh(self, org):
        return Sender(razorpay_integration(org), WEBHOOK_SECRET, headers_for)


pytestmark = pytest.mark.django_db


@pytest.fixture
def razorpay(org):
    return razorpay_integration(org)


@pytest.fixture
def payment(razorpay):
    return PaymentTransaction.objects.create(organization=razorpay.organization, integration=razorpay,
                                             provider="razorpay", reference="A-100", amount=50_000, currency="INR",
                                             state=PaymentState.PENDING, gateway_transaction_id=ORDER)


def fixture_body(name: str, payment: PaymentTransaction) -> bytes:
    return (FIXTURES / f"{name}.json").read_text().replace("__PAYMENT__", str(payment.pk)).replace(
        "__ORDER__", payment.gateway_transaction_id).encode()


def deliver(client, integration, body: bytes, event_id: str | None = None, secret: str = WEBHOOK_SECRET):
    return client.post(f"/api/webhooks/receive/{integration.webhook_key}", body, content_type="application/json",
                       headers=headers_for(body, secret, msg_id=event_id))


def state_of(payment) -> tuple[str, int]:
    payment.refresh_from_db()
    return payment.state, payment.refunded_amount


def test_captured_pays_once_and_order_paid_after_it_changes_nothing(client, razorpay, payment):
    assert deliver(client, razorpay, fixture_body("payment.captured", payment), "evt_1").json()["status"] == "accepted"
    assert deliver(client, razorpay, fixture_body("payment.captured", payment), "evt_1").json()["status"] == \
        "duplicate"
    deliver(client, razorpay, fixture_body("order.paid", payment), "evt_2")
    assert process_batch().processed == 2
    assert state_of(payment) == (PaymentState.PAID, 0)
    assert payment.data["razorpay_payment_id"] == "pay_FIXTURE0000001"
    assert payment.history.filter(to_state="paid").count() == 1


def test_a_late_authorized_event_never_moves_a_paid_payment_back(client, razorpay, payment):
    deliver(client, razorpay, fixture_body("payment.captured", payment), "evt_1")
    deliver(client, razorpay, fixture_body("payment.authorized", payment), "evt_0")
    deliver(client, razorpay, fixture_body("payment.failed", payment), "evt_f")
    process_batch()
    assert state_of(payment)[0] == PaymentState.PAID
    late = WebhookEvent.objects.get(event_type="payment.authorized")
    assert late.status == EventStatus.COMPLETED and "no change" in late.result


def test_failed_attempt_then_a_captured_retry(client, razorpay, payment):
    deliver(client, razorpay, fixture_body("payment.failed", payment), "evt_f")
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.FAILED and payment.cancel_reason == "payment_failed"
    deliver(client, razorpay, fixture_body("payment.captured", payment), "evt_c")
    process_batch()
    assert state_of(payment)[0] == PaymentState.PAID


def test_refund_processed_before_and_after_capture(client, razorpay, payment):
    # Out of order: the refund arrives first; it waits for nothing and changes nothing on an unpaid payment.
    deliver(client, razorpay, fixture_body("refund.processed", payment), "evt_r")
    process_batch()
    assert state_of(payment) == (PaymentState.PENDING, 0)
    deliver(client, razorpay, fixture_body("payment.captured", payment), "evt_c")
    process_batch()
    deliver(client, razorpay, fixture_body("refund.processed", payment), "evt_r2")
    process_batch()
    assert state_of(payment) == (PaymentState.REFUNDED, 50_000)


def test_an_order_of_another_organization_is_never_touched(client, other_org, razorpay, payment):
    other = razorpay_integration(other_org, code="rzp-globex")
    deliver(client, other, fixture_body("payment.captured", payment), "evt_x")
    process_batch()
    assert state_of(payment)[0] == PaymentState.PENDING
    assert WebhookEvent.objects.get(integration=other).status == EventStatus.IGNORED


def test_an_unhandled_event_is_ignored(client, razorpay):
    body = json.dumps({"entity": "event", "event": "subscription.charged", "payload": {}}).encode()
    assert deliver(client, razorpay, body, "evt_s").status_code == 200
    process_batch()
    assert WebhookEvent.objects.get(integration=razorpay).status == EventStatus.IGNORED


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_one_event_delivered_eight_times_at_once_is_stored_and_processed_once(live_server, razorpay, payment):
    body = fixture_body("payment.captured", payment)
    url = f"{live_server.url}/api/webhooks/receive/{razorpay.webhook_key}"
    statuses = at_once(8, lambda i: requests.post(url, data=body, headers={
        "Content-Type": "application/json", **headers_for(body, WEBHOOK_SECRET, msg_id="evt_once")}, timeout=30,
    ).json()["status"])
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * 7
    assert WebhookEvent.objects.filter(integration=razorpay).count() == 1
    process_batch()
    assert state_of(payment)[0] == PaymentState.PAID and payment.history.filter(to_state="paid").count() == 1


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sandbox_webhooks_drive_the_ledger_through_a_real_worker(api, org, live_server, celery_worker_proc):
    """The sandbox signs and sends; a Celery worker processes: authorized → the hub captures → paid → refund."""
    from integrations.models import Integration

    sandbox = f"{live_server.url}/sandbox/razorpay"
    razorpay = Integration.objects.create(organization=org, name="rzp", code="rzp-e2e", provider="razorpay",
                                          type="payment_gateway",
                                          base_url=sandbox, webhook_secret=WEBHOOK_SECRET,
                                          credentials={"key_id": KEY_ID, "key_secret": KEY_SECRET})
    control(sandbox, "webhook_endpoint", url=f"{live_server.url}/api/webhooks/receive/{razorpay.webhook_key}",
            secret=WEBHOOK_SECRET)
    created = api.post("/api/v1/payments", {"integration": razorpay.code, "amount": 25_000, "currency": "INR",
                                            "reference": "E2E-R"}, format="json").json()
    assert control(sandbox, "pay", order_id=created["gateway_transaction_id"]).status_code == 200
    try:
        wait_for(lambda: PaymentTransaction.objects.get(pk=created["id"]).state == PaymentState.PAID, timeout=60,
                 message="captured by the worker and paid")
        refunded = api.post(f"/api/v1/payments/{created['id']}/refund", {}, format="json").json()
        assert refunded["state"] == "refunded"
        wait_for(lambda: WebhookEvent.objects.filter(integration=razorpay, event_type="refund.processed",
                                                     status=EventStatus.COMPLETED).exists(),
                 timeout=60, message="refund.processed processed")
        wait_for(lambda: not WebhookEvent.objects.filter(integration=razorpay).exclude(
            status=EventStatus.COMPLETED).exists(), timeout=60, message="every event processed")
    except BaseException:
        print(list(WebhookEvent.objects.values("event_type", "status", "result", "last_error")),
              celery_worker_proc.log()[-4000:])
        raise
    events = WebhookEvent.objects.filter(integration=razorpay)
    assert set(events.values_list("event_type", flat=True)) == {
        "payment.authorized", "payment.captured", "order.paid", "refund.processed"}
    tx = PaymentTransaction.objects.get(pk=created["id"])
    assert [h.to_state for h in tx.history.all()].count("paid") == 1


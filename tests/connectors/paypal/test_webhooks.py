"""PayPal webhooks through the hub's receiver, verified offline against the signing certificate
(SHA256withRSA over transmission id|time|webhook id|crc32 body): valid / tampered / wrong webhook id /
replayed / missing headers (the shared security contract), an untrusted certificate URL, the
verify-webhook-signature call, events moving the ledger once, eight concurrent deliveries processed
once, and the sandbox driving approval → capture → refund through a real worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from connectors.paypal import webhooks as paypal_webhooks
from payments.models import PaymentState, PaymentTransaction
from sandboxes.paypal.sandbox import CERT_NAME, signing_material, transmission_headers
from tests.conftest import wait_for
from tests.payments.test_concurrency import at_once
from tests.webhooks.security import Sender, WebhookSecurityContract
from webhooks.models import EventStatus, WebhookEvent
from webhooks.processing import process_batch

from .conftest import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, control

FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "paypal" / "fixtures"
CERT_URL = f"https://api.sandbox.paypal.com/v1/notifications/certs/{CERT_NAME}"
ORDER, CAPTURE = "5O190127TN364715T", "3C679366HH908993F"


@pytest.fixture(autouse=True)
def known_certificate():
    # As if fetched from PayPal before: the tests without a server verify against the cached copy.
    paypal_webhooks.remember_cert(CERT_URL, signing_material()[1])


def paypal_integration(org, code="paypal", **config):
    from integrations.models import Integration

    return Integration.objects.create(organization=org, name="PayPal", code=code, provider="paypal",
                                      type="payment_gateway", webhook_secret=WEBHOOK_ID, base_url="http://127.0.0.1:9/",
                                      credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                                      config={"environment": "sandbox", **config})


def sign(body: bytes, secret: str, *, timestamp: int = 0, msg_id: str | None = None) -> dict[str, str]:
    return transmission_headers(body, secret, CERT_URL)


class TestPayPalWebhookSecurity(WebhookSecurityContract):
    @pytest.fixture
    def wh(self, org):
        return Sender(paypal_integration(org), WEBHOOK_ID, sign)


pytestmark = pytest.mark.django_db


@pytest.fixture
def paypal(org):
    return paypal_integration(org)


@pytest.fixture
def payment(paypal):
    return PaymentTransaction.objects.create(organization=paypal.organization, integration=paypal, provider="paypal",
                                             reference="A-100", amount=1999, currency="USD",
                                             state=PaymentState.PENDING, gateway_transaction_id=ORDER)


def fixture_body(name: str, payment: PaymentTransaction) -> bytes:
    return (FIXTURES / f"{name}.json").read_text().replace("__ORDER__", ORDER).replace(
        "__CAPTURE__", CAPTURE).replace("__PAYMENT__", str(payment.pk)).encode()


def deliver(client, integration, body: bytes, **overrides):
    headers = {**sign(body, WEBHOOK_ID), **overrides}
    return client.post(f"/api/webhooks/receive/{integration.webhook_key}", body, content_type="application/json",
                       headers=headers)


def test_capture_completed_pays_once_and_a_late_denied_changes_nothing(client, paypal, payment):
    assert deliver(client, paypal, fixture_body("PAYMENT.CAPTURE.COMPLETED", payment)).json()["status"] == "accepted"
    assert deliver(client, paypal, fixture_body("PAYMENT.CAPTURE.COMPLETED", payment)).json()["status"] == \
        "duplicate"  # the same event id, signed again
    deliver(client, paypal, fixture_body("PAYMENT.CAPTURE.DENIED", payment))
    assert process_batch().processed == 2
    payment.refresh_from_db()
    assert (payment.state, payment.data["paypal_capture_id"]) == (PaymentState.PAID, CAPTURE)
    assert payment.history.filter(to_state="paid").count() == 1
    late = WebhookEvent.objects.get(event_type="PAYMENT.CAPTURE.DENIED")
    assert late.status == EventStatus.COMPLETED and "no change" in late.result


def test_denied_fails_and_refunded_applies_paypals_total(client, paypal, payment, org):
    deliver(client, paypal, fixture_body("PAYMENT.CAPTURE.DENIED", payment))
    process_batch()
    payment.refresh_from_db()
    assert (payment.state, payment.cancel_reason) == (PaymentState.FAILED, "declined")
    deliver(client, paypal, fixture_body("PAYMENT.CAPTURE.COMPLETED", payment))
    deliver(client, paypal, fixture_body("PAYMENT.CAPTURE.REFUNDED", payment))
    process_batch()
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == (PaymentState.REFUNDED, 1999)


def test_a_certificate_url_off_paypals_hosts_is_refused(client, paypal, payment):
    body = fixture_body("PAYMENT.CAPTURE.COMPLETED", payment)
    for url in ("https://evil.example/cert.pem", "http://api.sandbox.paypal.com/v1/notifications/certs/x",
                "https://api.sandbox.paypal.com@evil.example/v1/notifications/certs/x"):
        response = deliver(client, paypal, body, **transmission_headers(body, WEBHOOK_ID, url))
        assert response.status_code == 401, url
    assert WebhookEvent.objects.filter(status=EventStatus.REJECTED).count() == 3
    algo = deliver(client, paypal, body, **{"PAYPAL-AUTH-ALGO": "SHA1withRSA"})
    assert algo.status_code == 401


def test_another_organizations_payment_is_never_touched(client, other_org, paypal, payment):
    other = paypal_integration(other_org, code="pp-globex")
    deliver(client, other, fixture_body("PAYMENT.CAPTURE.COMPLETED", payment))
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING
    assert WebhookEvent.objects.get(integration=other).status == EventStatus.IGNORED


def test_an_unhandled_event_is_ignored(client, paypal):
    body = json.dumps({"id": "WH-X", "event_type": "BILLING.PLAN.CREATED", "resource": {}}).encode()
    assert deliver(client, paypal, body).status_code == 200
    process_batch()
    assert WebhookEvent.objects.get(integration=paypal).status == EventStatus.IGNORED


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_certificate_is_fetched_from_the_trusted_host_and_the_api_check_agrees(live_server, make_paypal,
                                                                                 sandbox):
    from django.core.cache import cache

    body = json.dumps({"id": "WH-LIVE-1", "event_type": "BILLING.PLAN.CREATED", "resource": {}}).encode()
    cert_url = f"{sandbox}/v1/notifications/certs/{CERT_NAME}"
    offline = make_paypal(sandbox, code="pp-offline")
    api = make_paypal(sandbox, code="pp-api", verification="api")
    for integration, expected in ((offline, 200), (api, 200)):
        url = f"{live_server.url}/api/webhooks/receive/{integration.webhook_key}"
        good = requests.post(url, data=body, timeout=10, headers={
            "Content-Type": "application/json", **transmission_headers(body, WEBHOOK_ID, cert_url)})
        assert good.status_code == expected, good.content
        bad = requests.post(url, data=body, timeout=10, headers={
            "Content-Type": "application/json", **transmission_headers(body, "another-webhook", cert_url)})
        assert bad.status_code == 401, bad.content
    assert cache.get(paypal_webhooks._cert_key(cert_url)) == signing_material()[1]  # fetched once, then cached


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_one_event_delivered_eight_times_at_once_is_stored_and_processed_once(live_server, paypal, payment):
    body = fixture_body("PAYMENT.CAPTURE.COMPLETED", payment)
    url = f"{live_server.url}/api/webhooks/receive/{paypal.webhook_key}"
    statuses = at_once(8, lambda i: requests.post(url, data=body, timeout=30, headers={
        "Content-Type": "application/json", **sign(body, WEBHOOK_ID)}).json()["status"])
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * 7
    process_batch()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID and payment.history.filter(to_state="paid").count() == 1


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sandbox_webhooks_drive_the_ledger_through_a_real_worker(api, live_server, make_paypal, sandbox,
                                                                 celery_worker_proc):
    """The payer approves; CHECKOUT.ORDER.APPROVED makes the worker capture; the capture's and the
    refund's events are verified against the sandbox's certificate and applied once."""
    paypal = make_paypal(sandbox, code="pp-e2e")
    control(sandbox, "webhook_endpoint", url=f"{live_server.url}/api/webhooks/receive/{paypal.webhook_key}",
            webhook_id=WEBHOOK_ID)
    created = api.post("/api/v1/payments", {"integration": paypal.code, "amount": 2500, "currency": "USD",
                                            "reference": "E2E-P"}, format="json").json()
    control(sandbox, "approve", order_id=created["gateway_transaction_id"])
    try:
        wait_for(lambda: PaymentTransaction.objects.get(pk=created["id"]).state == PaymentState.PAID, timeout=60,
                 message="captured by the worker and paid")
        refunded = api.post(f"/api/v1/payments/{created['id']}/refund", {}, format="json").json()
        assert refunded["state"] == "refunded"
        wait_for(lambda: WebhookEvent.objects.filter(integration=paypal, event_type="PAYMENT.CAPTURE.REFUNDED",
                                                     status=EventStatus.COMPLETED).exists(),
                 timeout=60, message="PAYMENT.CAPTURE.REFUNDED processed")
    except BaseException:
        print(list(WebhookEvent.objects.values("event_type", "status", "result", "last_error")),
              celery_worker_proc.log()[-4000:])
        raise
    assert set(WebhookEvent.objects.filter(integration=paypal).values_list("event_type", flat=True)) == {
        "CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED"}
    tx = PaymentTransaction.objects.get(pk=created["id"])
    assert [h.to_state for h in tx.history.all()].count("paid") == 1

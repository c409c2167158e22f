"""Razorpay through the payments API against our sandbox over HTTP: order → the payer's checkout →
the signature checked and the authorization captured → refunds; idempotency, failover, faults."""

from __future__ import annotations

import pytest
import requests

from connectors.errors import AuthError
from connectors.razorpay import seed
from connectors.razorpay.client import RazorpayConnector, payment_signature
from payments import reconciliation
from payments.models import GatewayCallback, PaymentState, PaymentTransaction
from records.models import Order
from tests.payments.test_concurrency import at_once

from .conftest import KEY_ID, KEY_SECRET, control

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def create(api, **body):
    return api.post("/api/v1/payments", body, format="json")


def checkout(live_server, integration, fields: dict) -> requests.Response:
    return requests.post(f"{live_server.url}/api/payments/razorpay/{integration.webhook_key}/checkout",
                         data=fields, timeout=10)


def test_order_checkout_capture_and_refunds(api, live_server, razorpay, sandbox):
    Order.objects.create(organization=razorpay.organization, number="R-1", total="500.00", currency="INR", status="new")
    created = create(api, integration=razorpay.code, amount=50_000, currency="INR", reference="R-1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "pending" and body["gateway_transaction_id"].startswith("order_")
    assert body["checkout"]["order_id"] == body["gateway_transaction_id"] and body["checkout"]["key_id"] == KEY_ID
    assert body["checkout"]["callback_url"].endswith(f"/api/payments/razorpay/{razorpay.webhook_key}/checkout")
    order = requests.get(f"{sandbox}/v1/orders/{body['gateway_transaction_id']}", auth=(KEY_ID, KEY_SECRET),
                         timeout=10).json()
    assert (order["amount"], order["currency"], order["receipt"]) == (50_000, "INR", "R-1")

    handed = control(sandbox, "pay", order_id=order["id"]).json()  # what Checkout gives the merchant page
    answer = checkout(live_server, razorpay, handed)
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "paid"
    tx = PaymentTransaction.objects.get(pk=body["id"])
    assert tx.state == PaymentState.PAID and tx.data["razorpay_payment_id"] == handed["razorpay_payment_id"]
    assert requests.get(f"{sandbox}/v1/payments/{handed['razorpay_payment_id']}", auth=(KEY_ID, KEY_SECRET),
                        timeout=10).json()["status"] == "captured"
    # The browser posts again (a reload): nothing changes, the answer is the same.
    assert checkout(live_server, razorpay, handed).json()["status"] == "paid"
    assert tx.history.filter(to_state="paid").count() == 1
    assert GatewayCallback.objects.filter(integration=razorpay, method="checkout").count() == 2
    row = next(r for r in reconciliation.reconcile(razorpay.organization)["rows"] if r["transaction"] == tx.pk)
    assert (row["document_number"], row["issues"]) == ("R-1", [])  # reconciled by our reference

    partial = api.post(f"/api/v1/payments/{tx.pk}/refund", {"amount": 20_000}, format="json").json()
    assert (partial["state"], partial["refunded_amount"]) == ("paid", 20_000)
    full = api.post(f"/api/v1/payments/{tx.pk}/refund", {}, format="json").json()
    assert (full["state"], full["refunded_amount"]) == ("refunded", 50_000)


def test_a_checkout_whose_signature_does_not_match_pays_nothing(api, live_server, razorpay, sandbox):
    body = create(api, integration=razorpay.code, amount=10_000, currency="INR", reference="R-2").json()
    handed = control(sandbox, "pay", order_id=body["gateway_transaction_id"]).json()
    tampered = {**handed, "razorpay_signature": handed["razorpay_signature"][:-1] + "0"}
    if tampered == handed:
        tampered["razorpay_signature"] = handed["razorpay_signature"][:-1] + "1"
    wrong_key = {**handed, "razorpay_signature": payment_signature(handed["razorpay_order_id"],
                                                                   handed["razorpay_payment_id"], "other-secret")}
    # A genuine signature of another order's payment, posted against this order.
    other = create(api, integration=razorpay.code, amount=10_000, currency="INR", reference="R-3").json()
    other_pay = control(sandbox, "pay", order_id=other["gateway_transaction_id"]).json()
    swapped = {**other_pay, "razorpay_order_id": handed["razorpay_order_id"]}
    for fields in (tampered, wrong_key, swapped, {"razorpay_order_id": handed["razorpay_order_id"]}):
        answer = checkout(live_server, razorpay, fields)
        assert answer.status_code == 400, (fields, answer.content)
    assert PaymentTransaction.objects.get(pk=body["id"]).state == PaymentState.PENDING
    assert checkout(live_server, razorpay, handed).json()["status"] == "paid"


def test_same_create_with_one_idempotency_key_eight_times_is_one_payment(live_server, org, razorpay):
    from integrations.models import ApiKey

    _, key = ApiKey.issue(org, name="k", role="manager")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "rzp-once"}
    body = {"integration": razorpay.code, "amount": 10_000, "currency": "INR", "reference": "R-IDEM"}
    answers = at_once(8, lambda i: requests.post(f"{live_server.url}/api/v1/payments", json=body, headers=headers,
                                                 timeout=30))
    assert {a.status_code for a in answers} <= {201, 409} and 201 in {a.status_code for a in answers}
    assert PaymentTransaction.objects.filter(organization=org).count() == 1
    # A repeat that arrives while the first is still at Razorpay gets the same payment (maybe unfinished).
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    listed = requests.get(f"{razorpay.base_url}/v1/orders", auth=(KEY_ID, KEY_SECRET), timeout=10).json()
    assert [o["receipt"] for o in listed["items"]] == ["R-IDEM"]  # one order at Razorpay


def test_failover_only_when_the_first_gateway_surely_was_not_reached(api, make_razorpay, razorpay, sandbox):
    down = make_razorpay("http://127.0.0.1:1", code="rzp-down")
    body = create(api, integrations=[down.code, razorpay.code], amount=10_000, currency="INR", reference="R-F1")
    assert body.status_code == 201, body.content
    assert [a["outcome"] for a in body.json()["attempts"]] == ["unreachable", "created"]
    assert PaymentTransaction.objects.get(integration=down).state == PaymentState.FAILED

    # A 500 answer may have created the order: no failover, the outcome is left open.
    other = make_razorpay(sandbox, code="rzp-second", key_id="rzp_test_HubTests0002")
    control(sandbox, "fault", status=500, times=1)
    answer = create(api, integrations=[razorpay.code, other.code], amount=10_000, currency="INR", reference="R-F2")
    assert answer.status_code == 502
    assert [a["outcome"] for a in answer.json()["error"]["details"]["attempts"]] == ["transient"]
    assert not PaymentTransaction.objects.filter(integration=other).exists()


def test_a_429_is_retried_and_a_wrong_secret_is_an_auth_error(razorpay, make_razorpay, sandbox):
    control(sandbox, "fault", status=429, times=1)
    assert RazorpayConnector(razorpay).test_connection() == "Connected to Razorpay (test mode)."
    wrong = make_razorpay(sandbox, code="rzp-wrong", key_secret="not-the-first-secret")
    with pytest.raises(AuthError):
        RazorpayConnector(wrong).test_connection()


def test_test_payment_endpoint_opens_a_test_order(api, razorpay):
    response = api.post("/api/integrations/test/payment", {"provider": "razorpay"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["test_mode"] is True and data["currency"] == "INR" and data["state"] == "pending"
    assert data["checkout"]["order_id"].startswith("order_")


@pytest.mark.parametrize(("currency", "amount", "status"), [("JPY", 500, 201), ("KWD", 1_000, 201),
                                                            ("KWD", 1_005, 400)])
def test_amounts_go_out_in_the_currency_minor_units(api, razorpay, sandbox, currency, amount, status):
    response = create(api, integration=razorpay.code, amount=amount, currency=currency)
    assert response.status_code == status, response.content
    if status == 201:
        order = requests.get(f"{sandbox}/v1/orders/{response.json()['gateway_transaction_id']}",
                             auth=(KEY_ID, KEY_SECRET), timeout=10).json()
        assert (order["amount"], order["currency"]) == (amount, currency)


def test_sandbox_errors_are_razorpay_shaped(sandbox):
    assert requests.post(f"{sandbox}/v1/orders", json={"amount": 100}, timeout=10).status_code == 401
    bad = requests.post(f"{sandbox}/v1/orders", json={"amount": 99, "currency": "INR"}, auth=(KEY_ID, KEY_SECRET),
                        timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "BAD_REQUEST_ERROR" and bad.json()["error"]["field"] == "amount"


def test_demo_seed_is_valid():
    (spec,) = seed.demo_integrations("http://hub.test")
    assert RazorpayConnector.validate_credentials(spec["credentials"])["key_id"].startswith("rzp_test_")
    assert spec["base_url"] == "http://hub.test/sandbox/razorpay"

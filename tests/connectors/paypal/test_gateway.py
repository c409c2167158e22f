"""PayPal through the payments API against our sandbox over HTTP: OAuth2 token (cached, renewed once,
race-safe) → order with its approve link → the payer approves → the hub captures → refunds;
PayPal-Request-Id idempotency, failover, faults, amounts in each currency's exponent."""

from __future__ import annotations

import pytest
import requests

from connectors.paypal import seed
from connectors.paypal.amounts import decimal_value, minor_units
from connectors.paypal.client import PayPalConnector
from payments import reconciliation
from payments.models import PaymentTransaction
from records.models import Order
from tests.payments.test_concurrency import at_once

from .conftest import CLIENT_ID, control

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def create(api, **body):
    return api.post("/api/v1/payments", body, format="json")


def payer_returns(live_server, integration, order_id: str) -> requests.Response:
    return requests.get(f"{live_server.url}/api/payments/paypal/{integration.webhook_key}/return",
                        params={"token": order_id, "PayerID": "QYR5Z8XDVJNXQ"}, timeout=10)


def test_order_approval_capture_and_refunds(api, live_server, paypal, sandbox):
    Order.objects.create(organization=paypal.organization, number="P-1", total="19.99", currency="USD", status="new")
    created = create(api, integration=paypal.code, amount=1999, currency="USD", reference="P-1")
    assert created.status_code == 201, created.content
    body = created.json()
    order_id = body["gateway_transaction_id"]
    assert body["state"] == "pending" and body["checkout"]["approve_url"].endswith(f"token={order_id}")
    early = payer_returns(live_server, paypal, order_id)  # not approved yet: PayPal refuses the capture
    assert early.status_code == 409 and "ORDER_NOT_APPROVED" in early.json()["error"]["message"]

    assert control(sandbox, "approve", order_id=order_id).json()["status"] == "APPROVED"
    back = payer_returns(live_server, paypal, order_id)
    assert back.status_code == 200 and back.json()["status"] == "paid", back.content
    assert payer_returns(live_server, paypal, order_id).json()["status"] == "paid"  # a reload changes nothing
    tx = PaymentTransaction.objects.get(pk=body["id"])
    assert tx.data["paypal_capture_id"] and tx.history.filter(to_state="paid").count() == 1
    row = next(r for r in reconciliation.reconcile(paypal.organization)["rows"] if r["transaction"] == tx.pk)
    assert (row["document_number"], row["issues"]) == ("P-1", [])  # reconciled by our reference

    partial = api.post(f"/api/v1/payments/{tx.pk}/refund", {"amount": 999}, format="json").json()
    assert (partial["state"], partial["refunded_amount"]) == ("paid", 999)
    full = api.post(f"/api/v1/payments/{tx.pk}/refund", {}, format="json").json()
    assert (full["state"], full["refunded_amount"]) == ("refunded", 1999)


def test_a_declined_capture_fails_the_payment(api, live_server, paypal, sandbox):
    order_id = create(api, integration=paypal.code, amount=500, currency="USD").json()["gateway_transaction_id"]
    control(sandbox, "decline_next_capture")
    control(sandbox, "approve", order_id=order_id)
    assert payer_returns(live_server, paypal, order_id).json()["status"] == "failed"


def test_the_token_is_cached_renewed_once_on_401_and_fetched_once_by_racing_workers(make_paypal, paypal, sandbox):
    connector = PayPalConnector(paypal)
    for _ in range(3):
        connector.call("POST", "v2/checkout/orders", action="t", request_id=None, json={
            "intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}]})
    assert control(sandbox, "stats").json()["tokens_issued"] == 1
    control(sandbox, "expire_tokens")  # PayPal revoked it early: one 401, one renewal
    paypal.refresh_from_db()
    fresh = PayPalConnector(paypal)
    fresh.call("POST", "v2/checkout/orders", action="t", json={
        "intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}]})
    assert control(sandbox, "stats").json()["tokens_issued"] == 2

    racing = make_paypal(sandbox, code="pp-race", client_id="AZsandboxHubTests0002")
    at_once(8, lambda i: PayPalConnector(type(racing).objects.get(pk=racing.pk)).http.token())
    assert control(sandbox, "stats", client_id="AZsandboxHubTests0002").json()["tokens_issued"] == 1


def test_same_create_with_one_idempotency_key_eight_times_is_one_payment(live_server, org, paypal, sandbox):
    from integrations.models import ApiKey

    _, key = ApiKey.issue(org, name="k", role="manager")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "pp-once"}
    body = {"integration": paypal.code, "amount": 700, "currency": "USD", "reference": "P-IDEM"}
    answers = at_once(8, lambda i: requests.post(f"{live_server.url}/api/v1/payments", json=body, headers=headers,
                                                 timeout=30))
    assert {a.status_code for a in answers} <= {201, 409} and 201 in {a.status_code for a in answers}
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    assert PaymentTransaction.objects.filter(organization=org).count() == 1


def test_failover_only_when_the_first_gateway_surely_was_not_reached(api, make_paypal, paypal, sandbox):
    down = make_paypal("http://127.0.0.1:1", code="pp-down")
    ok = create(api, integrations=[down.code, paypal.code], amount=900, currency="USD")
    assert ok.status_code == 201, ok.content
    assert [a["outcome"] for a in ok.json()["attempts"]] == ["unreachable", "created"]
    # One 500: retried with the same PayPal-Request-Id, one order at PayPal.
    control(sandbox, "fault", status=500, times=1)
    assert create(api, integration=paypal.code, amount=900, currency="USD").status_code == 201
    other = make_paypal(sandbox, code="pp-second", client_id="AZsandboxHubTests0003")
    control(sandbox, "fault", status=500, times=3)
    failed = create(api, integrations=[paypal.code, other.code], amount=900, currency="USD")
    assert failed.status_code == 502
    assert not PaymentTransaction.objects.filter(integration=other).exists()


def test_test_payment_endpoint_opens_an_order_to_approve(api, paypal):
    response = api.post("/api/integrations/test/payment", {"provider": "paypal"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["state"] == "pending" and "token=" in data["checkout"]["approve_url"]


@pytest.mark.parametrize(("currency", "amount", "value"), [("USD", 1999, "19.99"), ("JPY", 500, "500"),
                                                           ("KWD", 1005, None), ("HUF", 150, None)])
def test_amounts_go_out_as_decimals_in_the_currency_exponent(api, paypal, sandbox, currency, amount, value):
    response = create(api, integration=paypal.code, amount=amount, currency=currency)
    if value is None:
        assert response.status_code == 400, response.content  # PayPal cannot take it: nothing sent
        return
    order = response.json()["checkout"]
    tx = PaymentTransaction.objects.get(pk=response.json()["id"])
    assert tx.raw["purchase_units"][0]["amount"] == {"currency_code": currency, "value": value}, order


def test_decimal_conversion_both_ways():
    assert [decimal_value(a, c) for a, c in [(1999, "USD"), (500, "JPY"), (1005, "KWD"), (5, "EUR")]] == [
        "19.99", "500", "1.005", "0.05"]
    assert minor_units({"currency_code": "KWD", "value": "1.005"}) == (1005, "KWD")
    assert minor_units({"currency_code": "USD", "value": "1.005"}) == (None, "USD")


def test_demo_seed_is_valid():
    (spec,) = seed.demo_integrations("http://hub.test")
    assert PayPalConnector.validate_credentials(spec["credentials"])["client_id"]
    assert PayPalConnector.validate_config(spec["config"])["environment"] == "sandbox"
    assert CLIENT_ID != spec["credentials"]["client_id"]

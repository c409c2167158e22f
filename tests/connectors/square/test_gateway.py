"""Square through the payments API against our sandbox over HTTP: a card token charged (or approved,
then completed) → refunds completed by refund.updated; idempotency keys, failover, faults, declines."""

from __future__ import annotations

import time

import pytest
import requests

from connectors.square import seed
from connectors.square.client import SquareConnector
from payments import reconciliation
from payments.models import PaymentState, PaymentTransaction
from records.models import Order
from tests.payments.test_concurrency import at_once
from webhooks.processing import process_batch

from .conftest import TOKEN, control, hook_up

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def create(api, **body):
    return api.post("/api/v1/payments", body, format="json")


def settle(tx: PaymentTransaction, predicate, timeout: float = 15) -> PaymentTransaction:
    """Process webhook deliveries (the sandbox sends them from threads) until ``predicate(tx)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process_batch()
        tx.refresh_from_db()
        if predicate(tx):
            return tx
        time.sleep(0.1)
    pytest.fail(f"payment {tx.pk} stayed {tx.state} / refunded {tx.refunded_amount}")


def test_approved_then_completed_then_refunded_in_two_parts(api, live_server, make_square, sandbox):
    square = make_square(sandbox, autocomplete=False)
    hook_up(sandbox, live_server, square)
    Order.objects.create(organization=square.organization, number="S-1", total="19.99", currency="USD", status="new")
    created = create(api, integration=square.code, amount=1999, currency="USD", reference="S-1",
                     payment_method="cnon:card-nonce-ok")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "pending" and body["gateway_state"] == "APPROVED"
    at_square = requests.get(f"{sandbox}/v2/payments/{body['gateway_transaction_id']}", headers=AUTH,
                             timeout=10).json()["payment"]
    assert at_square["amount_money"] == {"amount": 1999, "currency": "USD"} and at_square["reference_id"] == "S-1"
    # The seller completes (captures) it at Square: payment.updated tells the hub.
    requests.post(f"{sandbox}/v2/payments/{body['gateway_transaction_id']}/complete", headers=AUTH, timeout=10)
    tx = settle(PaymentTransaction.objects.get(pk=body["id"]), lambda t: t.state == PaymentState.PAID)
    row = next(r for r in reconciliation.reconcile(square.organization)["rows"] if r["transaction"] == tx.pk)
    assert (row["document_number"], row["issues"]) == ("S-1", [])  # reconciled by our reference

    partial = api.post(f"/api/v1/payments/{tx.pk}/refund", {"amount": 999}, format="json").json()
    assert partial["state"] == "paid"  # Square answers PENDING; refund.updated completes it
    settle(tx, lambda t: t.refunded_amount == 999)
    rest = api.post(f"/api/v1/payments/{tx.pk}/refund", {}, format="json")
    assert rest.status_code == 200, rest.content
    tx = settle(tx, lambda t: t.state == PaymentState.REFUNDED)
    assert tx.refunded_amount == 1999
    assert tx.history.filter(to_state="paid").exclude(from_state="paid").count() == 1  # (paid→paid: the partial refund)


def test_a_card_token_is_charged_at_once_and_a_decline_is_failed(api, square):
    paid = create(api, integration=square.code, amount=500, currency="USD", payment_method="cnon:card-nonce-ok")
    assert paid.status_code == 201 and paid.json()["state"] == "paid"
    declined = create(api, integration=square.code, amount=500, currency="USD",
                      payment_method="cnon:card-nonce-declined")
    assert declined.status_code == 201, declined.content
    assert (declined.json()["state"], declined.json()["cancel_reason"]) == ("failed", "GENERIC_DECLINE")
    before = PaymentTransaction.objects.count()
    missing = create(api, integration=square.code, amount=500, currency="USD")
    assert missing.status_code == 400 and "payment_method" in missing.json()["error"]["details"], missing.content
    assert PaymentTransaction.objects.count() == before  # refused before anything is recorded or sent


def test_same_create_with_one_idempotency_key_eight_times_is_one_payment(live_server, org, square, sandbox):
    from integrations.models import ApiKey

    _, key = ApiKey.issue(org, name="k", role="manager")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "sq-once"}
    body = {"integration": square.code, "amount": 700, "currency": "USD", "reference": "S-IDEM",
            "payment_method": "cnon:card-nonce-ok"}
    answers = at_once(8, lambda i: requests.post(f"{live_server.url}/api/v1/payments", json=body, headers=headers,
                                                 timeout=30))
    assert {a.status_code for a in answers} <= {201, 409} and 201 in {a.status_code for a in answers}
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    tx = PaymentTransaction.objects.get(organization=org)
    assert tx.state == PaymentState.PAID


def test_failover_only_when_the_first_gateway_surely_was_not_reached(api, make_square, square, sandbox):
    down = make_square("http://127.0.0.1:1", code="sq-down")
    ok = create(api, integrations=[down.code, square.code], amount=900, currency="USD",
                payment_method="cnon:card-nonce-ok")
    assert ok.status_code == 201, ok.content
    assert [a["outcome"] for a in ok.json()["attempts"]] == ["unreachable", "created"]

    # One 500: retried with the same idempotency_key, Square charges once.
    control(sandbox, "fault", status=500, times=1)
    once = create(api, integration=square.code, amount=900, currency="USD", payment_method="cnon:card-nonce-ok")
    assert once.status_code == 201 and once.json()["state"] == "paid"
    # 5xx on every try: it may have charged, so no failover.
    other = make_square(sandbox, code="sq-second", token="EAAAlSandboxHubTests000000000002")
    control(sandbox, "fault", status=500, times=3)
    failed = create(api, integrations=[square.code, other.code], amount=900, currency="USD",
                    payment_method="cnon:card-nonce-ok")
    assert failed.status_code == 502
    assert not PaymentTransaction.objects.filter(integration=other).exists()


def test_test_payment_endpoint_charges_the_sandbox_test_token(api, square):
    response = api.post("/api/integrations/test/payment", {"provider": "square"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["state"] == "paid" and response.json()["data"]["test_mode"] is True


@pytest.mark.parametrize(("currency", "amount"), [("JPY", 500), ("KWD", 1_005)])
def test_amounts_go_out_in_the_currency_minor_units(api, square, sandbox, currency, amount):
    body = create(api, integration=square.code, amount=amount, currency=currency,
                  payment_method="cnon:card-nonce-ok").json()
    at_square = requests.get(f"{sandbox}/v2/payments/{body['gateway_transaction_id']}", headers=AUTH,
                             timeout=10).json()["payment"]
    assert at_square["amount_money"] == {"amount": amount, "currency": currency}


def test_sandbox_keys_errors_and_connection(square, sandbox):
    assert SquareConnector(square).test_connection().startswith("Connected to Square (sandbox)")
    assert requests.get(f"{sandbox}/v2/locations/L1", timeout=10).json()["errors"][0]["code"] == "UNAUTHORIZED"
    body = {"idempotency_key": "k1", "source_id": "cnon:card-nonce-ok", "amount_money": {"amount": 100,
                                                                                      "currency": "USD"}}
    first = requests.post(f"{sandbox}/v2/payments", json=body, headers=AUTH, timeout=10).json()
    again = requests.post(f"{sandbox}/v2/payments", json=body, headers=AUTH, timeout=10).json()
    assert first["payment"]["id"] == again["payment"]["id"]
    reused = requests.post(f"{sandbox}/v2/payments", json={**body, "amount_money": {"amount": 101, "currency": "USD"}},
                           headers=AUTH, timeout=10)
    assert reused.status_code == 400 and reused.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_demo_seed_is_valid():
    (spec,) = seed.demo_integrations("http://hub.test")
    assert SquareConnector.validate_credentials(spec["credentials"])["access_token"]
    assert SquareConnector.validate_config(spec["config"])["location_id"] == "LSANDBOX0001"

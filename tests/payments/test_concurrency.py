"""The same gateway call arriving several times at once produces one transaction: parallel requests
over real HTTP (live_server's threads) against PostgreSQL, released together by a barrier."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from connectors.payme import gateway as merchant
from payments.models import PaymentState, PaymentStateChange, PaymentTransaction
from tests.payments.helpers import click_fields, click_integration, open_payment, payme_auth, payme_integration

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
N = 8


def at_once(n: int, call) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def payme_rpc(url: str, method: str, params: dict, request_id: int = 1) -> dict:
    response = requests.post(url, json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
                             headers={"Authorization": payme_auth()}, timeout=30)
    assert response.status_code == 200
    return response.json()


def test_concurrent_create_and_perform_transaction_make_one_payme_transaction(live_server, org):
    payme = payme_integration(org)
    payment = open_payment(payme, "A-1", 50_000)
    url = f"{live_server.url}/api/payments/payme/{payme.webhook_key}"
    params = {"id": "payme-tx-1", "time": merchant.now_ms(), "amount": 50_000, "account": {"order_id": "A-1"}}

    created = at_once(N, lambda i: payme_rpc(url, "CreateTransaction", params, i))
    results = [a.get("result") for a in created]
    assert all(r is not None for r in results), created
    assert len({(r["transaction"], r["create_time"]) for r in results}) == 1
    assert PaymentTransaction.objects.filter(integration=payme).count() == 1

    performed = at_once(N, lambda i: payme_rpc(url, "PerformTransaction", {"id": "payme-tx-1"}, i))
    assert len({(a["result"]["perform_time"], a["result"]["state"]) for a in performed}) == 1
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID
    assert PaymentStateChange.objects.filter(transaction=payment, to_state="paid").count() == 1
    assert PaymentStateChange.objects.filter(transaction=payment, to_state="pending").count() == 1


def test_concurrent_creates_with_different_payme_ids_let_one_hold_the_order(live_server, org):
    payme = payme_integration(org)
    open_payment(payme, "A-2", 50_000)
    url = f"{live_server.url}/api/payments/payme/{payme.webhook_key}"
    answers = at_once(N, lambda i: payme_rpc(url, "CreateTransaction", {
        "id": f"payme-{i}", "time": merchant.now_ms(), "amount": 50_000, "account": {"order_id": "A-2"}}, i))
    winners = [a for a in answers if "result" in a]
    assert len(winners) == 1
    assert {a["error"]["code"] for a in answers if "error" in a} == {-31051}


def test_concurrent_click_prepare_and_complete_pay_once(live_server, org):
    click = click_integration(org)
    payment = open_payment(click, "C-1", 1_000_000)
    url = f"{live_server.url}/api/payments/click/{click.webhook_key}"
    prepare = click_fields(0, merchant_trans_id="C-1", amount="10000.00")
    prepared = at_once(N, lambda i: requests.post(url, data=prepare, timeout=30).json())
    assert {(p["error"], p["merchant_prepare_id"]) for p in prepared} == {(0, payment.pk)}

    complete = click_fields(1, merchant_trans_id="C-1", amount="10000.00", prepare_id=str(payment.pk))
    completed = at_once(N, lambda i: requests.post(url, data=complete, timeout=30).json())
    codes = sorted(c["error"] for c in completed)
    assert codes == [-4] * (N - 1) + [0]  # one completes, the repeats are "already paid"
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID
    assert PaymentStateChange.objects.filter(transaction=payment, to_state="paid").count() == 1
    assert PaymentTransaction.objects.filter(integration=click).count() == 1


def test_concurrent_api_creates_with_one_idempotency_key_make_one_payment(live_server, org, api_client_for):
    from integrations.models import ApiKey

    click = click_integration(org)
    _, key = ApiKey.issue(org, name="k", role="manager")
    body = {"integration": click.code, "amount": 10_000, "currency": "UZS", "reference": "I-1"}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "same-key"}
    statuses = at_once(N, lambda i: requests.post(f"{live_server.url}/api/v1/payments", json=body, headers=headers,
                                                  timeout=30).status_code)
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert PaymentTransaction.objects.filter(organization=org).count() == 1


def test_one_stripe_event_delivered_many_times_at_once_is_stored_and_processed_once(live_server, org):
    import json
    import time

    from integrations.models import Integration
    from sandboxes.stripe.sandbox import stripe_signature
    from webhooks.models import WebhookEvent
    from webhooks.processing import process_batch

    secret = "whsec_concurrent"
    stripe = Integration.objects.create(organization=org, name="s", code="s", provider="stripe",
                                        credentials={"secret_key": "sk_test_concurrent01"}, webhook_secret=secret)
    tx = PaymentTransaction.objects.create(organization=org, integration=stripe, provider="stripe", amount=100,
                                           currency="USD")
    body = json.dumps({"id": "evt_once", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_once", "object": "payment_intent", "status": "succeeded", "amount": 100,
        "metadata": {"hub_payment_id": str(tx.pk)}}}}).encode()
    url = f"{live_server.url}/api/webhooks/receive/{stripe.webhook_key}"

    def deliver(i: int) -> str:
        signature = stripe_signature(secret, body, int(time.time()))
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        return requests.post(url, data=body, headers=headers, timeout=30).json()["status"]

    statuses = at_once(N, deliver)
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * (N - 1)
    assert WebhookEvent.objects.filter(integration=stripe).count() == 1
    process_batch()
    tx.refresh_from_db()
    assert tx.state == PaymentState.PAID and tx.history.filter(to_state="paid").count() == 1


def test_concurrent_click_attempts_for_one_order_end_with_one_payment(live_server, org):
    click = click_integration(org)
    open_payment(click, "C-2", 1_000_000)
    url = f"{live_server.url}/api/payments/click/{click.webhook_key}"
    attempts = [click_fields(0, click_trans_id=f"77{i}", merchant_trans_id="C-2", amount="10000") for i in range(N)]
    prepared = at_once(N, lambda i: requests.post(url, data=attempts[i], timeout=30).json())
    assert all(p["error"] == 0 for p in prepared), prepared  # each later attempt supersedes the earlier one
    completes = [click_fields(1, click_trans_id=f"77{i}", merchant_trans_id="C-2", amount="10000",
                              prepare_id=str(prepared[i]["merchant_prepare_id"])) for i in range(N)]
    completed = at_once(N, lambda i: requests.post(url, data=completes[i], timeout=30).json())
    assert sorted(c["error"] for c in completed) == [-9] * (N - 1) + [0]
    assert PaymentTransaction.objects.filter(reference="C-2", state=PaymentState.PAID).count() == 1

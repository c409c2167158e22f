"""End to end with a real Celery worker: the Stripe sandbox signs and sends its webhooks to the hub's
receiver over HTTP; the worker moves the ledger; each event is processed once."""

from __future__ import annotations

import pytest
import requests

from payments.models import PaymentState, PaymentTransaction
from tests.conftest import wait_for
from tests.payments.conftest import WHSEC
from webhooks.models import EventStatus, WebhookEvent

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def state_of(pk: int) -> str:
    return PaymentTransaction.objects.values_list("state", flat=True).get(pk=pk)


def test_payer_confirms_at_stripe_and_the_webhook_pays_then_a_refund(api, live_server, stripe, stripe_sandbox,
                                                                     celery_worker_proc):
    key = stripe.credentials["secret_key"]
    hook = requests.post(f"{stripe_sandbox}/_control", json={
        "secret_key": key, "action": "webhook_endpoint", "secret": WHSEC,
        "url": f"{live_server.url}/api/webhooks/receive/{stripe.webhook_key}"}, timeout=10)
    assert hook.status_code == 200

    created = api.post("/api/v1/payments", {"integration": stripe.code, "amount": 4200, "currency": "USD",
                                            "reference": "E2E-1"}, format="json").json()
    assert created["state"] == "pending"
    # The payer confirms in the browser (Stripe.js): Stripe, not the hub, hears about it first.
    confirm = requests.post(f"{stripe_sandbox}/v1/payment_intents/{created['gateway_transaction_id']}/confirm",
                            data={"payment_method": "pm_card_visa"}, headers={"Authorization": f"Bearer {key}"},
                            timeout=10)
    assert confirm.json()["status"] == "succeeded"
    try:
        wait_for(lambda: state_of(created["id"]) == PaymentState.PAID, timeout=60, message="paid by the webhook")
        refunded = api.post(f"/api/v1/payments/{created['id']}/refund", {}, format="json").json()
        assert refunded["state"] == "refunded"
        wait_for(lambda: WebhookEvent.objects.filter(event_type="charge.refunded",
                                                     status=EventStatus.COMPLETED).exists(),
                 timeout=60, message="charge.refunded processed")
    except BaseException:
        print(list(WebhookEvent.objects.values("event_type", "status", "result", "last_error")),
              celery_worker_proc.log()[-4000:])
        raise
    events = WebhookEvent.objects.filter(integration=stripe)
    assert set(events.values_list("event_type", flat=True)) == {
        "payment_intent.created", "payment_intent.succeeded", "charge.refunded"}
    assert not events.exclude(status=EventStatus.COMPLETED).exists()
    tx = PaymentTransaction.objects.get(pk=created["id"])
    assert [h.to_state for h in tx.history.all()].count("refunded") == 1
    assert [h.to_state for h in tx.history.all()].count("paid") == 1

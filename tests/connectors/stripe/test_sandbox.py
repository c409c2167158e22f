"""Our Stripe sandbox behaves like Stripe where the connector depends on it: API keys, idempotency keys
(replay, and a key reused with other parameters refused), refunds bounded, the demo seed valid."""

from __future__ import annotations

import pytest
import requests

from connectors.stripe import seed
from connectors.stripe.client import StripeConnector

pytestmark = [pytest.mark.django_db(transaction=True)]
KEY = {"Authorization": "Bearer sk_test_sandbox0001"}


@pytest.fixture
def base(live_server) -> str:
    return f"{live_server.url}/sandbox/stripe"


def test_api_key_is_required(base):
    assert requests.post(f"{base}/v1/payment_intents", data={"amount": 1}, timeout=10).status_code == 401
    assert requests.get(f"{base}/v1/balance", headers={"Authorization": "Bearer sk_live_x"}, timeout=10).status_code \
        == 401


def test_idempotency_key_replays_and_refuses_other_parameters(base):
    headers = {**KEY, "Idempotency-Key": "key-1"}
    first = requests.post(f"{base}/v1/payment_intents", data={"amount": 100, "currency": "usd"}, headers=headers,
                          timeout=10)
    again = requests.post(f"{base}/v1/payment_intents", data={"amount": 100, "currency": "usd"}, headers=headers,
                          timeout=10)
    assert first.json()["id"] == again.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    other = requests.post(f"{base}/v1/payment_intents", data={"amount": 101, "currency": "usd"}, headers=headers,
                          timeout=10)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


def test_refund_cannot_exceed_the_charge(base):
    intent = requests.post(f"{base}/v1/payment_intents", headers=KEY, timeout=10, data={
        "amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"}).json()
    assert intent["status"] == "succeeded"
    over = requests.post(f"{base}/v1/refunds", data={"payment_intent": intent["id"], "amount": 101}, headers=KEY,
                         timeout=10)
    assert over.status_code == 400
    ok = requests.post(f"{base}/v1/refunds", data={"payment_intent": intent["id"]}, headers=KEY, timeout=10)
    assert ok.json()["amount"] == 100 and ok.json()["status"] == "succeeded"


def test_demo_seed_is_valid():
    (spec,) = seed.demo_integrations("http://hub.test")
    assert StripeConnector.validate_credentials(spec["credentials"])["secret_key"].startswith("sk_test_")

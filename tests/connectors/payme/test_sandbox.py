"""Our Payme sandbox plays Payme's side over real HTTP: a payer pays the checkout link; the cabinet's
scenarios (perform, cancel after perform) end in the right ledger states; the demo seed is valid."""

from __future__ import annotations

import pytest
import requests

from connectors.payme import seed
from connectors.payme.client import PaymeConnector
from payments.models import PaymentState
from tests.payments.helpers import PAYME_KEY, open_payment, payme_integration

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def cabinet(live_server, org):
    payme = payme_integration(org, checkout_url=f"{live_server.url}/sandbox/payme/checkout")
    merchant_id = payme.credentials["merchant_id"]
    registered = requests.post(f"{live_server.url}/sandbox/payme/_control", json={
        "action": "register", "merchant_id": merchant_id, "key": PAYME_KEY,
        "endpoint": f"{live_server.url}/api/payments/payme/{payme.webhook_key}"}, timeout=10)
    assert registered.status_code == 200
    return payme, f"{live_server.url}/sandbox/payme/_control", merchant_id


def test_payer_pays_the_checkout_link(cabinet):
    payme, _, _ = cabinet
    tx = open_payment(payme, "A-1", 150_000)
    link = PaymeConnector(payme).start_payment(tx, {})["checkout_url"]
    assert requests.get(link, timeout=10).json()["account"] == {"order_id": "A-1"}
    paid = requests.post(link, timeout=30).json()
    assert paid["paid"] is True, paid
    assert [c["method"] for c in paid["calls"]] == ["CheckPerformTransaction", "CreateTransaction",
                                                    "PerformTransaction"]
    tx.refresh_from_db()
    assert tx.state == PaymentState.PAID and len(tx.gateway_transaction_id) == 24


def test_cabinet_scenarios(cabinet):
    payme, control, merchant_id = cabinet
    tx = open_payment(payme, "A-2", 1000)
    calls = requests.post(control, json={"action": "pay", "merchant_id": merchant_id, "account": {"order_id": "A-2"},
                                         "amount": 1000, "then": "perform_cancel"}, timeout=30).json()["calls"]
    assert calls[-1]["answer"]["result"]["state"] == -2
    tx.refresh_from_db()
    assert tx.state == PaymentState.REFUNDED
    wrong = requests.post(control, json={"action": "pay", "merchant_id": merchant_id,
                                         "account": {"order_id": "A-2"}, "amount": 999}, timeout=30).json()["calls"]
    assert wrong[0]["answer"]["error"]["code"] == -31001


def test_demo_seed_is_valid():
    (spec,) = seed.demo_integrations("http://hub.test")
    assert PaymeConnector.validate_credentials(spec["credentials"])["test_key"] == seed.DEMO_TEST_KEY
    assert PaymeConnector.validate_config(spec["config"])["test_mode"] is True

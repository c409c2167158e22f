"""Our Click sandbox plays Click's side over real HTTP: the pay link is paid (Prepare + Complete,
signed); a failure on Click's side cancels; the demo seed is valid."""

from __future__ import annotations

import pytest
import requests

from connectors.click import seed
from connectors.click.client import ClickConnector
from payments.models import PaymentState
from tests.payments.helpers import CLICK_SECRET, click_integration, open_payment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def cabinet(live_server, org):
    click = click_integration(org)
    click.config = {"pay_url": f"{live_server.url}/sandbox/click/services/pay"}
    click.save()
    assert requests.post(f"{live_server.url}/sandbox/click/_control", json={
        "action": "register", "service_id": "21345", "secret_key": CLICK_SECRET,
        "endpoint": f"{live_server.url}/api/payments/click/{click.webhook_key}"}, timeout=10).status_code == 200
    return click, f"{live_server.url}/sandbox/click/_control"


def test_payer_pays_the_pay_link(cabinet):
    click, _ = cabinet
    tx = open_payment(click, "C-7", 1_234_500)
    link = ClickConnector(click).start_payment(tx, {})["checkout_url"]
    assert "amount=12345.00" in link and "transaction_param=C-7" in link
    result = requests.post(link, timeout=30).json()
    assert result["paid"] is True, result
    tx.refresh_from_db()
    assert tx.state == PaymentState.PAID


def test_failure_on_clicks_side_cancels(cabinet):
    click, control = cabinet
    tx = open_payment(click, "C-8", 10_000)
    calls = requests.post(control, json={"action": "pay", "service_id": "21345", "merchant_trans_id": "C-8",
                                         "amount": "100", "click_error": -5017}, timeout=30).json()["calls"]
    assert [c["answer"]["error"] for c in calls] == [0, -9]
    tx.refresh_from_db()
    assert tx.state == PaymentState.CANCELLED


def test_demo_seed_is_valid():
    (spec,) = seed.demo_integrations("http://hub.test")
    assert ClickConnector.validate_credentials(spec["credentials"])["service_id"] == seed.DEMO_SERVICE_ID
    assert ClickConnector.validate_config(spec["config"])["test_mode"] is True

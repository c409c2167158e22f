"""Payme's calls as the spec shows them (connectors/payme/fixtures, in the order Payme makes them):
each fixture, sent as is, gets the answer the spec documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.payme import gateway as merchant
from tests.payments.helpers import open_payment, payme_auth, payme_integration

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "payme" / "fixtures"

# What each answer's result holds (the spec's field sets and states).
EXPECTED = {
    "CheckPerformTransaction": lambda r: r == {"allow": True},
    "CreateTransaction": lambda r: set(r) == {"create_time", "transaction", "state"} and r["state"] == 1,
    "PerformTransaction": lambda r: set(r) == {"transaction", "perform_time", "state"} and r["state"] == 2,
    "CheckTransaction": lambda r: set(r) == {"create_time", "perform_time", "cancel_time", "transaction", "state",
                                             "reason"} and r["state"] == 2 and r["reason"] is None,
    "CancelTransaction": lambda r: set(r) == {"transaction", "cancel_time", "state"} and r["state"] == -2,
    "GetStatement": lambda r: [t["state"] for t in r["transactions"]] == [-2] and r["transactions"][0]["reason"] == 5,
}


def test_each_fixture_in_payme_order_gets_the_documented_answer(client, org):
    payme = payme_integration(org)
    open_payment(payme, "A-10021", 2_500_000)
    now = merchant.now_ms()
    for path in sorted(FIXTURES.glob("*.json")):
        text = path.read_text().replace('"__NOW__"', str(now)).replace('"__FROM__"', str(now - 60_000))
        body = json.loads(text)
        response = client.post(f"/api/payments/payme/{payme.webhook_key}", body, content_type="application/json",
                               HTTP_AUTHORIZATION=payme_auth())
        answer = response.json()
        assert answer["id"] == body["id"] and "error" not in answer, (path.name, answer)
        assert EXPECTED[body["method"]](answer["result"]), (path.name, answer)

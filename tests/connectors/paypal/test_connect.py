"""The console's connect form (the integrations API) validates PayPal's fields and never shows the secret."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_connect_through_the_integrations_api(api):
    credentials = {"client_id": "AZconnectForm000001", "client_secret": "ELconnectSecret0001"}
    response = api.post("/api/v1/integrations", {
        "name": "PayPal", "code": "pp", "type": "payment_gateway", "provider": "paypal",
        "credentials": credentials, "config": {"environment": "sandbox", "verification": "api"},
        "webhook_secret": "8PT597110X687430LKGECATA"}, format="json")
    assert response.status_code == 201, response.content
    assert "/api/webhooks/receive/" in response.json()["callback_url"]
    assert "ELconnectSecret0001" not in response.content.decode()
    bad = api.post("/api/v1/integrations", {"name": "x", "code": "pp-bad", "type": "payment_gateway",
                                            "provider": "paypal", "credentials": {"client_id": "AZconnectForm000001"},
                                            "config": {"environment": "moon"}}, format="json")
    assert bad.status_code == 400

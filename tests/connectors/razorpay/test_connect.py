"""The console's connect form (the integrations API) validates Razorpay's fields and never shows the secret."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_connect_through_the_integrations_api(api):
    credentials = {"key_id": "rzp_test_Abc123Def456", "key_secret": "rzp-secret-value-1"}
    response = api.post("/api/v1/integrations", {
        "name": "Razorpay", "code": "rzp", "type": "payment_gateway", "provider": "razorpay",
        "credentials": credentials, "config": {"capture": "hub"}, "webhook_secret": "rzp-webhook-secret"},
        format="json")
    assert response.status_code == 201, response.content
    assert "/api/webhooks/receive/" in response.json()["callback_url"]
    assert "rzp-secret-value-1" not in response.content.decode()
    for bad in ({"key_id": "rzp_prod_x", "key_secret": "rzp-secret-value-1"}, {"key_id": "rzp_test_Abc123Def456"}):
        refused = api.post("/api/v1/integrations", {"name": "x", "code": "rzp-bad", "type": "payment_gateway",
                                                    "provider": "razorpay", "credentials": bad}, format="json")
        assert refused.status_code == 400, refused.content
    wrong_config = api.post("/api/v1/integrations", {
        "name": "x", "code": "rzp-bad2", "type": "payment_gateway", "provider": "razorpay",
        "credentials": credentials, "config": {"capture": "sometimes"}}, format="json")
    assert wrong_config.status_code == 400

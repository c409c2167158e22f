"""The console's connect form (the integrations API) validates Square's fields and never shows the token."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
TOKEN = "EAAAlConnectFormToken000000000001"


def test_connect_through_the_integrations_api(api):
    response = api.post("/api/v1/integrations", {
        "name": "Square", "code": "sq", "type": "payment_gateway", "provider": "square",
        "credentials": {"access_token": TOKEN}, "config": {"location_id": "L8ZRTY2H4", "environment": "sandbox"},
        "webhook_secret": "sq-signature-key"}, format="json")
    assert response.status_code == 201, response.content
    assert "/api/webhooks/receive/" in response.json()["callback_url"]
    assert TOKEN not in response.content.decode()
    missing_location = api.post("/api/v1/integrations", {
        "name": "x", "code": "sq-bad", "type": "payment_gateway", "provider": "square",
        "credentials": {"access_token": TOKEN}, "config": {}}, format="json")
    assert missing_location.status_code == 400, missing_location.content

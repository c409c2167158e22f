"""One error envelope for the API: 400, 401, 403, 404, 409 and 500 are all {"error": {code, message, details}}."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def envelope(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_400(api):
    error = envelope(api.post("/api/v1/integrations", {"name": ""}, format="json"))
    assert error["code"] == "validation_error" and "name" in error["details"]


def test_401(db):
    assert envelope(APIClient().get("/api/v1/integrations"))["code"] == "not_authenticated"


def test_403(org, api_client_for):
    response = api_client_for(org, "viewer").post("/api/v1/integrations", {}, format="json")
    assert response.status_code == 403
    assert envelope(response)["code"] == "permission_denied"


def test_404_object_and_unknown_endpoint(api):
    response = api.get("/api/v1/integrations/999999")
    assert response.status_code == 404 and envelope(response)["code"] == "not_found"
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and envelope(response)["code"] == "not_found"


def test_405(api):
    response = api.put("/api/v1/integration-logs", {}, format="json")
    assert response.status_code == 405 and envelope(response)["code"] == "method_not_allowed"


def test_500_from_a_real_endpoint_is_json(api, integration):
    # A ciphertext that no longer authenticates: reading the integration fails inside the view.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_integration SET credentials = 'enc:v1:sk0:AAAA' WHERE id = %s",
                       [integration.pk])
    api.raise_request_exception = False
    response = api.get(f"/api/v1/integrations/{integration.pk}")
    assert response.status_code == 500
    error = envelope(response)
    assert error["code"] == "server_error"
    assert "enc:v1" not in response.content.decode() and "Traceback" not in response.content.decode()


@pytest.mark.urls("tests.integrations.crash_urls")
@pytest.mark.parametrize("path", ["/api/test-crash/plain", "/api/test-crash/drf"])
def test_500_is_json_for_plain_and_drf_views(client, path):
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 500
    assert envelope(response)["code"] == "server_error"
    assert "boom" not in response.content.decode()


@pytest.mark.urls("tests.integrations.crash_urls")
def test_500_outside_the_api_is_not_rewritten(client):
    client.raise_request_exception = False
    response = client.get("/not-api/crash")
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")

"""/api/v1/api-keys, /api/v1/integration-logs and /api/v1/providers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiKey, IntegrationLog

pytestmark = pytest.mark.django_db


# --- API keys ---------------------------------------------------------------------------------------
def test_create_key_shows_raw_key_once_and_it_works(api, org):
    response = api.post("/api/v1/api-keys", {"name": "ci", "role": "manager"}, format="json")
    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith(body["prefix"]) and body["role"] == "manager" and body["revoked"] is False

    listed = api.get("/api/v1/api-keys").json()["results"]
    assert {k["name"] for k in listed} >= {"ci"}
    assert all("key" not in item and raw not in str(item) for item in listed)
    assert raw not in api.get(f"/api/v1/api-keys/{body['id']}").content.decode()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/integrations").status_code == 200
    entry = next(k for k in client.get("/api/v1/api-keys").json()["results"] if k["id"] == body["id"])
    assert entry["last_used_at"] is not None
    assert ApiKey.objects.get(pk=body["id"]).organization == org


@pytest.mark.parametrize("how", ["post-revoke", "delete"])
def test_revoke(api, org, how):
    key, raw = ApiKey.issue(org, name="old", role="viewer")
    if how == "delete":
        assert api.delete(f"/api/v1/api-keys/{key.pk}").status_code == 204
    else:
        response = api.post(f"/api/v1/api-keys/{key.pk}/revoke")
        assert response.status_code == 200 and response.json()["revoked"] is True
    key.refresh_from_db()
    assert key.revoked_at is not None  # kept, for the audit trail
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/integrations").status_code == 401
    assert next(k for k in api.get("/api/v1/api-keys").json()["results"] if k["id"] == key.pk)["revoked"] is True


def test_key_of_another_org_cannot_be_revoked(api, other_org):
    key, _ = ApiKey.issue(other_org, name="theirs", role="viewer")
    assert api.post(f"/api/v1/api-keys/{key.pk}/revoke").status_code == 404
    assert api.delete(f"/api/v1/api-keys/{key.pk}").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_invalid_role_is_400(api):
    response = api.post("/api/v1/api-keys", {"name": "x", "role": "emperor"}, format="json")
    assert response.status_code == 400 and "role" in response.json()["error"]["details"]


# --- integration logs -------------------------------------------------------------------------------
@pytest.fixture
def logs(org, integration, make_integration):
    other = make_integration(org, code="second")
    now = timezone.now()
    rows = [
        dict(integration=integration, action="demo.products", status_code=200, level="info", direction="outbound",
             method="GET", endpoint="https://demo.example.com/api/products", created_at=now,
             request_excerpt='{"page_size": 50}', response_excerpt='{"data": []}'),
        dict(integration=integration, action="demo.products", status_code=429, level="warning",
             direction="outbound", method="GET", created_at=now - timedelta(days=3)),
        dict(integration=integration, action="webhook.receive", status_code=401, level="error", direction="inbound",
             created_at=now - timedelta(days=10)),
        dict(integration=other, action="demo.token", status_code=200, level="info", direction="outbound",
             created_at=now - timedelta(days=1)),
    ]
    return [IntegrationLog.objects.create(organization=org, **row) for row in rows]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, [0, 3, 1, 2]),
        ({"integration": "INTEGRATION"}, [0, 1, 2]),
        ({"action": "demo.products"}, [0, 1]),
        ({"status_code": 429}, [1]),
        ({"level": "error"}, [2]),
        ({"direction": "inbound"}, [2]),
        ({"created_after": "DAYS_AGO_2"}, [0, 3]),
        ({"created_before": "DAYS_AGO_2"}, [1, 2]),
        ({"created_after": "DAYS_AGO_5", "created_before": "DAYS_AGO_2", "level": "warning"}, [1]),
    ],
)
def test_log_filters(api, logs, integration, params, expected):
    today = timezone.now().date()
    values = {"INTEGRATION": integration.pk, "DAYS_AGO_2": today - timedelta(days=2),
              "DAYS_AGO_5": today - timedelta(days=5)}
    query = {k: values.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
    response = api.get("/api/v1/integration-logs", query)
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [logs[i].pk for i in expected]


def test_log_detail_has_excerpts(api, logs):
    body = api.get(f"/api/v1/integration-logs/{logs[0].pk}").json()
    assert body["request_excerpt"] == '{"page_size": 50}' and body["response_excerpt"] == '{"data": []}'
    assert body["endpoint"].endswith("/api/products") and body["status_code"] == 200


def test_bad_date_filter_is_400(api, logs):
    response = api.get("/api/v1/integration-logs", {"created_after": "yesterday-ish"})
    assert response.status_code == 400 and "created_after" in response.json()["error"]["details"]


def test_out_of_range_limit_and_offset_are_clamped(api, logs):
    # limit/offset past a bigint went to the database as they were, and failed there (a 500).
    huge = 10**21
    body = api.get("/api/v1/integration-logs", {"limit": huge}).json()
    assert body["count"] == 4 and len(body["results"]) == 4
    body = api.get("/api/v1/integration-logs", {"limit": 2, "offset": huge}).json()
    assert body["count"] == 4 and body["results"] == [] and body["next"] is None
    assert api.get("/api/v1/integration-logs", {"limit": 1, "offset": 2**63 - 1}).status_code == 200


def test_logs_are_read_only(api, logs):
    assert api.delete(f"/api/v1/integration-logs/{logs[0].pk}").status_code == 405
    assert api.post("/api/v1/integration-logs", {"action": "x"}, format="json").status_code == 405


# --- providers --------------------------------------------------------------------------------------
def test_providers_list_the_registry(api):
    from connectors.registry import providers

    response = api.get("/api/v1/providers")
    assert response.status_code == 200
    by_code = {p["code"]: p for p in response.json()}
    assert set(by_code) == set(providers())
    demo = by_code["demo"]
    assert demo["name"] and demo["type"]
    creds = {f["name"]: f for f in demo["credential_fields"]}
    assert creds["client_secret"]["secret"] is True and creds["client_id"]["secret"] is False
    assert creds["client_secret"]["required"] is True
    config = {f["name"]: f for f in demo["config_fields"]}
    assert config["page_size"]["type"] == "integer" and config["page_size"]["default"] == 100
    streams = {s["name"]: s for s in demo["streams"]}
    assert "products" in streams and streams["products"]["model"] == "records.Product"
    webhook = by_code["webhook"]
    assert webhook["supports_webhooks"] is True
    scheme = {f["name"]: f for f in webhook["config_fields"]}["signature_scheme"]
    assert scheme["type"] == "choice" and "standard-webhooks" in scheme["choices"]


def test_provider_detail(api):
    assert api.get("/api/v1/providers/demo").json()["code"] == "demo"
    response = api.get("/api/v1/providers/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"

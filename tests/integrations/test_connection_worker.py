"""POST /integrations/{id}/test end to end: API -> Celery -> real worker -> demo sandbox over HTTP -> outcome."""

from __future__ import annotations

import pytest

from integrations.models import Integration, IntegrationLog

from .test_encryption import find_in_database

pytestmark = [pytest.mark.worker, pytest.mark.postgres]


@pytest.fixture
def sandbox_integration(org, make_integration, live_server):
    return make_integration(
        org, code="sandbox", base_url=f"{live_server.url}/sandbox/demo/", status="testing",
        credentials={"client_id": "shop-7", "client_secret": "shop-7-secret"},
    )


def test_connection_test_runs_in_the_worker_and_records_success(celery_worker_proc, api, sandbox_integration):
    response = api.post(f"/api/v1/integrations/{sandbox_integration.pk}/test?wait=20")
    assert response.status_code == 200, (response.content, celery_worker_proc.log()[-3000:])
    body = response.json()
    assert body["status"] == "done" and body["ok"] is True, body
    # Credential values (even the client id) are masked in what the test reports.
    assert body["message"].startswith("Connected to the Demo Store as ********")
    integration = Integration.objects.get(pk=sandbox_integration.pk)
    assert integration.last_connected_at is not None and integration.connection_error == ""
    assert integration.status == "active"  # testing -> active once the connection works
    entry = IntegrationLog.objects.get(pk=body["log_id"])
    assert entry.action == "connection_test" and entry.level == "info"
    # The provider calls themselves were logged too, by the worker, with secrets redacted.
    calls = IntegrationLog.objects.filter(integration=integration).exclude(action="connection_test")
    assert calls.filter(status_code=200).exists()
    # The token request carried the client secret and its answer the access token: neither is
    # anywhere in the database in plaintext (the token is cached encrypted).
    access_token = integration.token_cache.get("access_token")
    assert access_token
    assert find_in_database("shop-7-secret") == [] and find_in_database(access_token) == []


def test_connection_test_failure_is_recorded(celery_worker_proc, api, sandbox_integration):
    Integration.objects.filter(pk=sandbox_integration.pk).update(status="active")
    integration = Integration.objects.get(pk=sandbox_integration.pk)
    integration.credentials = {"client_id": "shop-7", "client_secret": "wrong-secret-55"}
    integration.save()

    body = api.post(f"/api/v1/integrations/{integration.pk}/test?wait=20").json()
    assert body["status"] == "done" and body["ok"] is False, body
    assert body["message"].startswith("auth") and "wrong-secret-55" not in body["message"]
    integration.refresh_from_db()
    assert integration.status == "error" and integration.connection_error == body["message"]
    assert integration.last_connected_at is None
    assert IntegrationLog.objects.get(pk=body["log_id"]).level == "error"

"""/api/v1/integrations: CRUD, write-only masked secrets, audit, validation, sync and test actions."""

from __future__ import annotations

import json

import pytest

from integrations.models import CredentialAudit, Integration, IntegrationLog
from integrations.redaction import MASK
from syncjobs.models import SyncJob

from .conftest import ALL_SECRETS, CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET, integration_payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations"


def assert_no_secret(response) -> None:
    text = response.content.decode()
    for secret in ALL_SECRETS:
        assert secret not in text


def test_create_answers_id_webhook_url_and_masked_secrets(api, org):
    response = api.post(URL, integration_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    integration = Integration.objects.get(pk=body["id"])
    assert integration.organization == org
    assert body["webhook_url"] == integration.webhook_url and integration.webhook_key in body["webhook_url"]
    # The demo connector takes its callbacks through the generic receiver.
    assert body["callback_url"] == body["webhook_url"]
    assert body["credentials"] == {"client_id": MASK, "client_secret": MASK}
    assert body["webhook_secret_set"] is True
    assert "webhook_secret" not in body
    assert_no_secret(response)
    # Stored as sent (decrypted through the model).
    assert integration.credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert integration.webhook_secret == WEBHOOK_SECRET
    assert integration.config["page_size"] == 50 and integration.config["price_list"] == "retail"


def test_read_list_and_detail_never_show_a_secret(api, integration):
    for response in (api.get(URL), api.get(f"{URL}/{integration.pk}"), api.get(f"{URL}/{integration.pk}/")):
        assert response.status_code == 200
        assert_no_secret(response)
    assert api.get(f"{URL}/{integration.pk}").json()["credentials"] == {"client_id": MASK, "client_secret": MASK}


def test_type_defaults_to_the_providers(api):
    body = integration_payload()
    del body["type"]
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["type"] == "inventory"


def test_mask_means_unchanged_and_credentials_merge_per_field(api, integration):
    response = api.patch(
        f"{URL}/{integration.pk}",
        {"credentials": {"client_id": MASK, "client_secret": MASK}, "webhook_secret": MASK, "name": "Renamed"},
        format="json",
    )
    assert response.status_code == 200, response.content
    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert integration.webhook_secret == WEBHOOK_SECRET
    assert not CredentialAudit.objects.exists()

    # Only the secret is sent: the client id stays.
    response = api.patch(f"{URL}/{integration.pk}", {"credentials": {"client_secret": "new-secret"}}, format="json")
    assert response.status_code == 200
    integration.refresh_from_db()
    assert integration.credentials == {"client_id": CLIENT_ID, "client_secret": "new-secret"}
    assert response.json()["credentials"] == {"client_id": MASK, "client_secret": MASK}
    assert "new-secret" not in response.content.decode()


def test_put_with_masks_keeps_secrets(api, integration):
    body = integration_payload(credentials={"client_id": MASK, "client_secret": MASK}, webhook_secret=MASK)
    response = api.put(f"{URL}/{integration.pk}", body, format="json")
    assert response.status_code == 200, response.content
    integration.refresh_from_db()
    assert integration.credentials["client_secret"] == CLIENT_SECRET
    assert integration.webhook_secret == WEBHOOK_SECRET


def test_every_secret_change_is_audited_without_values(api, org):
    created = api.post(URL, integration_payload(), format="json").json()
    pk = created["id"]
    api.patch(f"{URL}/{pk}", {"credentials": {"client_secret": "rotated-secret-1"}}, format="json")
    api.patch(f"{URL}/{pk}", {"webhook_secret": ""}, format="json")
    api.patch(f"{URL}/{pk}", {"description": "no secret here"}, format="json")

    audits = list(CredentialAudit.objects.filter(integration_id=pk).order_by("id"))
    assert [(a.action, a.fields) for a in audits] == [
        ("created", ["client_id", "client_secret", "webhook_secret"]),
        ("updated", ["client_secret"]),
        ("cleared", ["webhook_secret"]),
    ]
    for audit in audits:
        assert audit.via == "api" and audit.api_key is not None and audit.api_key.organization == org
        assert audit.organization == org
    dump = json.dumps(list(CredentialAudit.objects.values()), default=str)
    for secret in (*ALL_SECRETS, "rotated-secret-1"):
        assert secret not in dump
    listed = api.get("/api/v1/credential-audits", {"integration": pk}).json()
    assert listed["count"] == 3
    assert listed["results"][0]["api_key"] == audits[0].api_key.prefix


def test_audit_records_the_user_for_token_auth(org, make_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = make_user(org, "admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    assert client.post(URL, integration_payload(), format="json").status_code == 201
    audit = CredentialAudit.objects.get()
    assert audit.user == user and audit.api_key is None


@pytest.mark.parametrize(
    "overrides, field, expected",
    [
        ({"provider": "no-such-provider"}, "provider", ["unknown provider"]),
        ({"config": {"page_size": 0}}, "config", None),
        ({"config": "not an object"}, "config", None),
        ({"credentials": {"client_id": "only-an-id"}}, "credentials", None),
        ({"credentials": {"client_id": "x", "client_secret": MASK}}, "credentials", None),
        ({"type": "teleport"}, "type", None),
        ({"base_url": "not a url"}, "base_url", None),
        # PostgreSQL stores no NUL in JSON (the audit keeps credential field names): was a 500.
        ({"provider": "webhook", "credentials": {"key\x00": "x"}}, "credentials", ["Null characters are not allowed."]),
        ({"provider": "webhook", "credentials": {"n": [{"a": "b\x00"}]}}, "credentials", None),
        ({"config": {"page_size": 10, "note": "\x00"}}, "config", ["Null characters are not allowed."]),
    ],
)
def test_invalid_input_is_a_400_with_field_errors(api, overrides, field, expected):
    response = api.post(URL, integration_payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    if expected is not None:
        assert error["details"][field] == expected
    assert not Integration.objects.exists()


def test_config_errors_name_the_field(api):
    details = api.post(URL, integration_payload(config={"page_size": 0}), format="json").json()["error"]["details"]
    assert "page_size" in details["config"]
    details = api.post(URL, integration_payload(credentials={"client_id": "x"}), format="json").json()["error"]
    assert "client_secret" in details["details"]["credentials"]


def test_code_is_unique_per_organization_not_globally(api, org, other_org, api_client_for):
    assert api.post(URL, integration_payload(), format="json").status_code == 201
    again = api.post(URL, integration_payload(), format="json")
    assert again.status_code == 400
    assert "code" in again.json()["error"]["details"]
    assert api_client_for(other_org).post(URL, integration_payload(), format="json").status_code == 201
    second = api.post(URL, integration_payload(code="other"), format="json").json()
    renamed = api.patch(f"{URL}/{second['id']}", {"code": "demo-shop"}, format="json")
    assert renamed.status_code == 400 and "code" in renamed.json()["error"]["details"]


def test_delete(api, integration):
    assert api.delete(f"{URL}/{integration.pk}").status_code == 204
    assert not Integration.objects.filter(pk=integration.pk).exists()


def test_credential_audit_outlives_the_integration(api):
    created = api.post(URL, integration_payload(code="short-lived"), format="json").json()
    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    trail = CredentialAudit.objects.filter(integration_code="short-lived")
    assert trail.count() == 1 and trail.get().integration_id is None


def test_filter_by_provider_and_status(api, org, make_integration):
    make_integration(org, code="a")
    make_integration(org, code="b", status="inactive")
    make_integration(org, code="c", provider="webhook", credentials={}, config={})
    assert api.get(URL, {"provider": "demo"}).json()["count"] == 2
    assert [i["code"] for i in api.get(URL, {"status": "inactive"}).json()["results"]] == ["b"]


# --- sync -------------------------------------------------------------------------------------------
def test_sync_creates_one_job_per_stream(api, integration):
    response = api.post(f"{URL}/{integration.pk}/sync", {}, format="json")
    assert response.status_code == 202, response.content
    ids = response.json()["jobs"]
    jobs = SyncJob.objects.filter(pk__in=ids)
    assert len(ids) == jobs.count() > 1
    assert {j.trigger for j in jobs} == {"api"} and {j.job_type for j in jobs} == {"incremental"}
    assert {j.integration_id for j in jobs} == {integration.pk}


def test_sync_selected_streams_full(api, integration):
    response = api.post(f"{URL}/{integration.pk}/sync", {"streams": ["products"], "full": True}, format="json")
    assert response.status_code == 202
    job = SyncJob.objects.get(pk__in=response.json()["jobs"])
    assert (job.stream, job.job_type) == ("products", "full")


def test_sync_unknown_stream_is_400(api, integration):
    response = api.post(f"{URL}/{integration.pk}/sync", {"streams": ["products", "unicorns"]}, format="json")
    assert response.status_code == 400
    assert "unicorns" in json.dumps(response.json()["error"]["details"]["streams"])
    assert not SyncJob.objects.exists()


def test_sync_of_inactive_integration_is_409(api, org, make_integration):
    integration = make_integration(org, status="inactive")
    response = api.post(f"{URL}/{integration.pk}/sync", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "inactive" in response.json()["error"]["message"]
    assert not SyncJob.objects.exists()


# --- connection test --------------------------------------------------------------------------------
def test_test_connection_is_queued_not_run_in_the_request(api, integration):
    # base_url points at a host that does not exist: if the request called the provider it would
    # record a failure; queued, nothing is recorded until a worker runs it.
    response = api.post(f"{URL}/{integration.pk}/test")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert not IntegrationLog.objects.filter(action="connection_test").exists()
    integration.refresh_from_db()
    assert integration.connection_error == "" and integration.last_connected_at is None


@pytest.mark.parametrize("wait", ["soon", "nan", "-1", "inf"])
def test_test_connection_wait_must_be_a_number(api, integration, wait):
    assert api.post(f"{URL}/{integration.pk}/test?wait={wait}").status_code == 400


def test_new_credentials_drop_the_cached_token_and_null_clears_webhook_secret(api, integration):
    integration.token_cache = {"access_token": "tok-old", "expires_at": 9999999999}
    integration.save()
    api.patch(f"{URL}/{integration.pk}", {"name": "same creds", "credentials": {"client_secret": MASK}}, format="json")
    integration.refresh_from_db()
    assert integration.token_cache["access_token"] == "tok-old"  # unchanged credentials keep the token

    response = api.patch(f"{URL}/{integration.pk}", {"credentials": {"client_secret": "fresh"}, "webhook_secret": None},
                         format="json")
    assert response.status_code == 200 and response.json()["webhook_secret_set"] is False
    integration.refresh_from_db()
    assert integration.token_cache == {} and integration.webhook_secret == ""


def test_test_connection_wait_gives_up_with_202_when_no_worker_answers(api, integration):
    import time

    started = time.monotonic()
    response = api.post(f"{URL}/{integration.pk}/test?wait=0.5")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert 0.5 <= time.monotonic() - started < 5


def test_test_connection_with_the_broker_down_is_503(api, integration, monkeypatch):
    from kombu.exceptions import OperationalError

    from integrations_api import api as integrations_api

    # Redis is shared by every test here and cannot be stopped; what a down broker does to
    # apply_async is raise kombu's OperationalError, so that is what the task's delay raises.
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(integrations_api.test_connection_task, "delay", broker_down)
    response = api.post(f"{URL}/{integration.pk}/test")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "queue_unavailable"

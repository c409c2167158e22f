"""Admin: masked credentials (never plaintext in the page), audit, actions, API keys, read-only logs."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import ApiKey, CredentialAudit, Integration, IntegrationLog
from integrations.redaction import MASK
from syncjobs.models import SyncJob

from .conftest import ALL_SECRETS, CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(org, make_user):
    """A staff user who is an admin of ``org`` only (not a superuser)."""
    return make_user(org, "admin", username="staff-admin", is_staff=True)


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def form_data(integration: Integration | None = None, **overrides) -> dict:
    data = {
        "name": "Shop",
        "code": "shop",
        "type": "inventory",
        "provider": "demo",
        "status": "active",
        "description": "",
        "base_url": "https://demo.example.com/",
        "credentials_masked": json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
        "webhook_secret_masked": WEBHOOK_SECRET,
        "config": json.dumps({"page_size": 20}),
        "sync_interval_minutes": "30",
        "auto_sync_enabled": "",
        "_mode": "json",  # the raw JSON form (the typed form is tested in tests/console)
    }
    if integration is not None:
        data.update(
            name=integration.name, code=integration.code, base_url=integration.base_url,
            credentials_masked=json.dumps({"client_id": MASK, "client_secret": MASK}),
            webhook_secret_masked=MASK, config=json.dumps(integration.config),
        )
    data.update(overrides)
    return data


def test_add_integration_stores_encrypted_and_audits(admin_client, org, staff):
    response = admin_client.post(reverse("admin:integrations_integration_add"),
                                 {**form_data(), "organization": org.pk})
    assert response.status_code == 302, response.content.decode()[:3000]
    integration = Integration.objects.get(code="shop")
    assert integration.organization == org
    assert integration.credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert integration.webhook_secret == WEBHOOK_SECRET
    assert integration.config["page_size"] == 20
    audit = CredentialAudit.objects.get()
    assert (audit.action, audit.via, audit.user, audit.fields) == (
        "created", "admin", staff, ["client_id", "client_secret", "webhook_secret"]
    )


def test_change_page_never_renders_a_secret(admin_client, integration):
    integration.token_cache = {"access_token": "tok-Plaintext-99"}
    integration.save()
    page = admin_client.get(reverse("admin:integrations_integration_change", args=[integration.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for secret in (*ALL_SECRETS, "tok-Plaintext-99"):
        assert secret not in html
    assert MASK in html and integration.webhook_url in html


def test_mask_means_unchanged_in_the_admin(admin_client, integration):
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    response = admin_client.post(url, form_data(integration, name="Renamed"))
    assert response.status_code == 302, response.content.decode()[:3000]
    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert integration.webhook_secret == WEBHOOK_SECRET
    assert not CredentialAudit.objects.exists()

    creds = json.dumps({"client_id": MASK, "client_secret": "changed-in-admin"})
    response = admin_client.post(url, form_data(integration, credentials_masked=creds, webhook_secret_masked=""))
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.credentials == {"client_id": CLIENT_ID, "client_secret": "changed-in-admin"}
    assert integration.webhook_secret == ""
    audit = CredentialAudit.objects.get()
    assert audit.fields == ["client_secret", "webhook_secret"] and audit.via == "admin"


def test_admin_validates_credentials_and_config_with_the_connector(admin_client, integration):
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    bad = form_data(integration, credentials_masked=json.dumps({"client_id": MASK}), config='{"page_size": 0}')
    response = admin_client.post(url, bad)
    assert response.status_code == 200  # the form again, with errors
    errors = response.context["adminform"].form.errors
    assert "client_secret" in str(errors["credentials_masked"]) and "page_size" in str(errors["config"])
    assert CLIENT_SECRET not in response.content.decode()
    integration.refresh_from_db()
    assert integration.credentials["client_secret"] == CLIENT_SECRET


def test_null_characters_are_form_errors_not_a_crash(admin_client, integration):
    # PostgreSQL cannot store NUL in JSON: the API refuses it, and so must the admin.
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    response = admin_client.post(url, form_data(integration, credentials_masked=json.dumps({"client_id\u0000": "x"}),
                                                config=json.dumps({"price_list": "retail\u0000"})))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Null characters" in str(errors["credentials_masked"]) and "Null characters" in str(errors["config"])


def test_duplicate_code_is_a_form_error_not_a_crash(admin_client, org, integration, make_integration):
    other = make_integration(org, code="other")
    url = reverse("admin:integrations_integration_change", args=[other.pk])
    response = admin_client.post(url, form_data(other, code=integration.code))
    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors


def test_sync_now_action(admin_client, integration, make_integration, org):
    inactive = make_integration(org, code="off", status="inactive")
    response = admin_client.post(
        reverse("admin:integrations_integration_changelist"),
        {"action": "sync_now", "_selected_action": [integration.pk, inactive.pk]}, follow=True,
    )
    assert response.status_code == 200
    jobs = SyncJob.objects.filter(integration=integration)
    assert jobs.count() > 1 and {j.trigger for j in jobs} == {"manual"}
    assert not SyncJob.objects.filter(integration=inactive).exists()
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "queued sync job" in text and "inactive" in text


@pytest.mark.redis
def test_test_connection_action_queues_a_task(admin_client, integration):
    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("default")
    response = admin_client.post(
        reverse("admin:integrations_integration_changelist"),
        {"action": "test_connection", "_selected_action": [integration.pk]}, follow=True,
    )
    assert response.status_code == 200
    messages = [json.loads(m) for m in broker.lrange("default", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["integrations.tasks.test_connection"]
    assert str(integration.pk) in messages[0]["headers"]["argsrepr"]
    assert not IntegrationLog.objects.exists()  # nothing ran in the request


def test_viewer_staff_cannot_change_or_act(client, org, make_user, integration):
    client.force_login(make_user(org, "viewer", username="staff-viewer", is_staff=True))
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    page = client.get(url)
    assert page.status_code == 200 and CLIENT_SECRET not in page.content.decode()
    assert client.post(url, form_data(integration, name="Hacked")).status_code == 403
    client.post(reverse("admin:integrations_integration_changelist"),
                {"action": "sync_now", "_selected_action": [integration.pk]})
    assert not SyncJob.objects.exists()
    integration.refresh_from_db()
    assert integration.name != "Hacked"


# --- API keys ---------------------------------------------------------------------------------------
def test_api_key_created_in_admin_is_shown_once(admin_client, org):
    response = admin_client.post(reverse("admin:integrations_apikey_add"),
                                 {"organization": org.pk, "name": "from admin", "role": "viewer"}, follow=True)
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    raw = re.search(r"ihk_[A-Za-z0-9_-]+", text).group(0)
    key = ApiKey.objects.get(name="from admin")
    assert raw.startswith(key.prefix) and key.role == "viewer"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/integrations").status_code == 200
    change = admin_client.get(reverse("admin:integrations_apikey_change", args=[key.pk]))
    assert raw not in change.content.decode()


def test_admin_cannot_issue_a_key_above_own_role(admin_client, org):
    response = admin_client.post(reverse("admin:integrations_apikey_add"),
                                 {"organization": org.pk, "name": "too strong", "role": "owner"})
    assert response.status_code == 200 and "role" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_revoke_action(admin_client, org):
    key, raw = ApiKey.issue(org, name="k", role="viewer")
    admin_client.post(reverse("admin:integrations_apikey_changelist"),
                      {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- logs, audits, organizations ------------------------------------------------------------------
def test_logs_are_readable_and_read_only(admin_client, org, integration):
    entry = IntegrationLog.objects.create(
        organization=org, integration=integration, action="demo.products", method="GET", status_code=200,
        endpoint="https://demo.example.com/api/products", request_excerpt='{"page_size": 50}',
        response_excerpt='{"data": [{"id": "p-1"}]}',
    )
    listing = admin_client.get(reverse("admin:integrations_integrationlog_changelist"),
                               {"integration__id__exact": integration.pk, "level": "info"})
    assert listing.status_code == 200 and "demo.products" in listing.content.decode()
    page = admin_client.get(reverse("admin:integrations_integrationlog_change", args=[entry.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "&quot;page_size&quot;: 50" in html and "p-1" in html
    change_url = reverse("admin:integrations_integrationlog_change", args=[entry.pk])
    assert admin_client.post(change_url, {}).status_code == 403
    assert admin_client.get(reverse("admin:integrations_integrationlog_add")).status_code == 403


def test_credential_audits_listed(admin_client, org, integration, staff):
    CredentialAudit.objects.create(integration=integration, organization=org, action="updated",
                                   fields=["client_secret"], user=staff, via="admin")
    page = admin_client.get(reverse("admin:integrations_credentialaudit_changelist"))
    assert page.status_code == 200 and "client_secret" in page.content.decode()


def test_organizations_are_for_superusers(admin_client, client, org, django_user_model):
    assert admin_client.get(reverse("admin:integrations_organization_changelist")).status_code == 403
    superuser = django_user_model.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(superuser)
    page = client.get(reverse("admin:integrations_organization_change", args=[org.pk]))
    assert page.status_code == 200 and "membership" in page.content.decode().lower()


def test_cannot_add_rows_to_an_org_where_only_a_viewer(client, org, other_org, make_user):
    from integrations.models import Membership

    user = make_user(other_org, "admin", username="mixed-roles", is_staff=True)
    Membership.objects.create(user=user, organization=org, role="viewer")
    client.force_login(user)
    response = client.post(reverse("admin:integrations_integration_add"), {**form_data(), "organization": org.pk})
    assert response.status_code == 200 and "organization" in response.context["adminform"].form.errors
    response = client.post(reverse("admin:integrations_apikey_add"),
                           {"organization": org.pk, "name": "sneaky", "role": "viewer"})
    assert response.status_code == 200 and "organization" in response.context["adminform"].form.errors
    assert not Integration.objects.exists() and not ApiKey.objects.exists()
    # In the organization where they are an admin, they can.
    response = client.post(reverse("admin:integrations_integration_add"), {**form_data(), "organization": other_org.pk})
    assert response.status_code == 302


def test_a_form_with_errors_does_not_echo_typed_secrets(admin_client, org):
    data = {**form_data(config='{"page_size": 0}'), "organization": org.pk}
    response = admin_client.post(reverse("admin:integrations_integration_add"), data)
    assert response.status_code == 200 and "config" in response.context["adminform"].form.errors
    html = response.content.decode()
    for secret in ALL_SECRETS:
        assert secret not in html
    broken = {**form_data(credentials_masked='{"client_secret": "' + CLIENT_SECRET), "organization": org.pk}
    response = admin_client.post(reverse("admin:integrations_integration_add"), broken)
    assert response.status_code == 200 and CLIENT_SECRET not in response.content.decode()
    assert not Integration.objects.exists()


@pytest.mark.parametrize("model", ["integration", "apikey", "membership"])
def test_add_pages_render(client, org, make_user, model):
    client.force_login(make_user(org, "owner", username="staff-owner", is_staff=True))
    # Integrations: the provider picker first, then the provider's form.
    query = "?provider=demo" if model == "integration" else ""
    page = client.get(reverse(f"admin:integrations_{model}_add") + query)
    assert page.status_code == 200 and page.context["adminform"] is not None


def test_members_are_managed_by_owners_not_admins(admin_client):
    assert admin_client.get(reverse("admin:integrations_membership_add")).status_code == 403

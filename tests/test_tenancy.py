"""Tenancy: organization A never reaches organization B's rows — 404 by API and in the admin.

Every check has its positive control (A's own row answers 200 / is listed), so a URL that is
missing or broken fails the test instead of passing as a "404".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def make_integration(org):
    from integrations.models import Integration

    return Integration.objects.create(
        organization=org, name=f"{org.slug} shop", code="shop", provider="demo",
        credentials={"client_id": f"{org.slug}-id", "client_secret": f"{org.slug}-secret"},
        webhook_secret=f"{org.slug}-whsec",
    )


def make_sync_job(org, integration):
    from syncjobs.models import SyncJob

    return SyncJob.objects.create(organization=org, integration=integration, stream="products", status="completed")


def make_webhook_event(org, integration):
    from webhooks.models import WebhookEvent

    return WebhookEvent.objects.create(
        organization=org, integration=integration, provider="demo", event_id=f"{org.slug}-evt-1",
        dedupe_key=f"{org.slug}-evt-1", event_type="product.updated", body=b'{"id": "p-1"}', status="failed",
    )


def make_log(org, integration):
    from integrations.models import IntegrationLog

    return IntegrationLog.objects.create(organization=org, integration=integration, action="demo.products",
                                         status_code=200, endpoint=f"https://{org.slug}.example.com/api/products")


def make_product(org, integration):
    from records.models import Product

    return Product.objects.create(organization=org, integration=integration, external_id="p-1",
                                  name=f"{org.slug} product", last_synced_at=timezone.now())


def make_customer(org, integration):
    from records.models import Customer

    return Customer.objects.create(organization=org, integration=integration, external_id="c-1",
                                   name=f"{org.slug} customer")


def make_order(org, integration):
    from records.models import Order

    return Order.objects.create(organization=org, integration=integration, external_id="o-1",
                                number=f"{org.slug}-o-1", ordered_at=timezone.now())


def make_audit(org, integration):
    from integrations.models import CredentialAudit

    return CredentialAudit.objects.create(organization=org, integration=integration, action="updated",
                                          fields=["client_secret"], via="api")


def make_api_key(org, integration):
    from integrations.models import ApiKey

    return ApiKey.issue(org, name=f"{org.slug} key", role="viewer")[0]


@dataclass
class Resource:
    make: Callable
    api: str | None  # list URL under /api/v1/
    admin: str | None  # admin URL name prefix, "app_model"


RESOURCES = {
    "integration": Resource(lambda org, integration: integration, "integrations", "integrations_integration"),
    "sync-job": Resource(make_sync_job, "sync-jobs", "syncjobs_syncjob"),
    "webhook-event": Resource(make_webhook_event, "webhooks", "webhooks_webhookevent"),
    "integration-log": Resource(make_log, "integration-logs", "integrations_integrationlog"),
    "product": Resource(make_product, "products", "records_product"),
    "customer": Resource(make_customer, "customers", "records_customer"),
    "order": Resource(make_order, "orders", "records_order"),
    "credential-audit": Resource(make_audit, "credential-audits", "integrations_credentialaudit"),
    "api-key": Resource(make_api_key, "api-keys", "integrations_apikey"),
}


@pytest.fixture
def world(org, other_org):
    """The same kinds of rows in both organizations: {name: (A's row, B's row)}."""
    a, b = make_integration(org), make_integration(other_org)
    return {name: (res.make(org, a), res.make(other_org, b)) for name, res in RESOURCES.items()}


# --- API --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, r in RESOURCES.items() if r.api])
def test_api_detail_of_another_org_is_404(api, world, name):
    mine, theirs = world[name]
    base = f"/api/v1/{RESOURCES[name].api}"
    assert api.get(f"{base}/{mine.pk}").status_code == 200, f"{base}/{{id}} does not answer for our own row"
    response = api.get(f"{base}/{theirs.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("name", [n for n, r in RESOURCES.items() if r.api])
def test_api_list_shows_only_own_rows(api, world, name):
    mine, theirs = world[name]
    response = api.get(f"/api/v1/{RESOURCES[name].api}", {"limit": 500})
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert mine.pk in ids and theirs.pk not in ids


@pytest.mark.parametrize("name", ["integration-log", "product", "order", "sync-job", "webhook-event"])
def test_filtering_by_another_orgs_integration_finds_nothing(api, world, name):
    their_integration = world["integration"][1]
    response = api.get(f"/api/v1/{RESOURCES[name].api}", {"integration": their_integration.pk})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["results"] == []


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("patch", "integrations/{integration}", {"name": "taken over"}),
        ("put", "integrations/{integration}", {"name": "taken over"}),
        ("delete", "integrations/{integration}", None),
        ("post", "integrations/{integration}/sync", {}),
        ("post", "integrations/{integration}/test", None),
        ("post", "sync-jobs/{sync-job}/cancel", None),
        ("post", "sync-jobs/{sync-job}/rerun", None),
        ("post", "webhooks/{webhook-event}/retry", None),
        ("delete", "webhooks/{webhook-event}", None),
        ("post", "api-keys/{api-key}/revoke", None),
        ("delete", "api-keys/{api-key}", None),
    ],
)
def test_api_actions_on_another_orgs_rows_are_404(org, api_client_for, world, method, path, body):
    owner = api_client_for(org, "owner")
    url = "/api/v1/" + path.format(**{name: pair[1].pk for name, pair in world.items()})
    response = getattr(owner, method)(url, body, format="json")
    assert response.status_code == 404, (url, response.content)
    from integrations.models import ApiKey, Integration
    from syncjobs.models import SyncJob
    from webhooks.models import WebhookEvent

    theirs = world["integration"][1]
    assert Integration.objects.get(pk=theirs.pk).name == theirs.name
    assert WebhookEvent.objects.get(pk=world["webhook-event"][1].pk).status == "failed"
    assert ApiKey.objects.get(pk=world["api-key"][1].pk).revoked_at is None
    assert SyncJob.objects.filter(integration=theirs).count() == 1


# --- admin ------------------------------------------------------------------------------------------
@pytest.fixture
def staff_client(client, org, make_user):
    client.force_login(make_user(org, "owner", username="acme-staff", is_staff=True))
    return client


@pytest.mark.parametrize("name", [n for n, r in RESOURCES.items() if r.admin])
def test_admin_change_view_of_another_org_is_404(staff_client, world, name):
    mine, theirs = world[name]
    prefix = RESOURCES[name].admin
    assert staff_client.get(reverse(f"admin:{prefix}_change", args=[mine.pk])).status_code == 200
    assert staff_client.get(reverse(f"admin:{prefix}_change", args=[theirs.pk])).status_code == 404
    # Nor can it be deleted through the admin.
    assert staff_client.post(reverse(f"admin:{prefix}_delete", args=[theirs.pk]), {"post": "yes"}).status_code in (
        403, 404
    )
    assert type(theirs).objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("name", [n for n, r in RESOURCES.items() if r.admin])
def test_admin_changelist_lists_only_own_rows(staff_client, world, name):
    mine, theirs = world[name]
    prefix = RESOURCES[name].admin
    page = staff_client.get(reverse(f"admin:{prefix}_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse(f"admin:{prefix}_change", args=[mine.pk]) in html
    assert reverse(f"admin:{prefix}_change", args=[theirs.pk]) not in html
    # The other organization's name appears nowhere: not in rows, not in list filters.
    assert "Globex" not in html and "globex" not in html


def test_superuser_sees_both(client, world, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-for-tests-only"))
    for name, resource in RESOURCES.items():
        for row in world[name]:
            assert client.get(reverse(f"admin:{resource.admin}_change", args=[row.pk])).status_code == 200, name

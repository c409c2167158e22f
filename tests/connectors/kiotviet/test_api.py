"""The seed's KiotViet routes: aliases of the generic API with its auth, roles, org scoping and errors."""

from __future__ import annotations

import pytest

from integrations.models import Integration
from records.models import Product

pytestmark = pytest.mark.django_db

BASE = "/api/integrations/kiotviet"
CREDS = {"client_id": "app-1", "client_secret": "app-1-secret-value", "retailer": "taphoaxyz"}


@pytest.fixture
def integration(api, org):
    resp = api.post(f"{BASE}/config/{org.slug}", {"credentials": CREDS, "webhook_secret": "c2VjcmV0LXNlY3JldA=="},
                    format="json")
    assert resp.status_code == 201, resp.content
    return Integration.objects.get(pk=resp.json()["id"])


def test_create_read_update_delete_the_config(api, org, integration):
    body = api.get(f"{BASE}/config/{org.slug}").json()
    assert body["provider"] == "kiotviet" and body["sync_interval_minutes"] == 30 and body["auto_sync_enabled"]
    assert body["credentials"]["client_secret"] != CREDS["client_secret"]  # masked, never returned
    assert body["config"]["token_url"] == "https://id.kiotviet.vn/connect/token"
    assert body["config"]["page_size"] == 100 and body["config"]["webhook_events"]
    assert body["callback_url"].endswith(f"/api/webhooks/kiotviet?token={integration.webhook_key}")
    assert api.get(f"{BASE}/config").json()["id"] == integration.pk  # org from the caller's key
    assert api.get(f"{BASE}/config/{org.pk}").json()["id"] == integration.pk  # id or slug

    resp = api.put(f"{BASE}/config/{org.slug}", {"config": {"price_book_id": 11}, "base_url": "https://proxy.example"},
                   format="json")
    assert resp.status_code == 200, resp.content
    integration.refresh_from_db()
    assert integration.config["price_book_id"] == 11 and integration.config["page_size"] == 100
    assert integration.base_url == "https://proxy.example"

    assert api.delete(f"{BASE}/config/{org.slug}").status_code == 204
    assert api.get(f"{BASE}/config/{org.slug}").json()["error"]["code"] == "not_found"


def test_bad_config_and_credentials_are_clear_400s(api, org, integration):
    resp = api.put(f"{BASE}/sync/config/{org.slug}", {"config": {"page_size": 500, "price_book_id": "x",
                                                                  "webhook_events": ["order.explode"]}}, format="json")
    assert resp.status_code == 400
    errors = resp.json()["error"]["details"]["config"]
    assert {"page_size", "price_book_id", "webhook_events"} <= set(errors)
    resp = api.put(f"{BASE}/sync/config/{org.slug}", {"name": "renamed"}, format="json")
    assert resp.status_code == 400 and "name" in resp.json()["error"]["details"]
    resp = api.post(f"{BASE}/config/{org.slug}", {"code": "kv2", "credentials": {"client_id": "x"}}, format="json")
    assert resp.status_code == 400
    assert {"client_secret", "retailer"} <= set(resp.json()["error"]["details"]["credentials"])


def test_sync_config_sets_schedule_and_mapping(api, org, integration):
    resp = api.put(f"{BASE}/sync/config/{org.slug}", {"sync_interval_minutes": 15, "auto_sync_enabled": True,
                                                      "config": {"brand_attribute": "Hãng", "default_category": "71"}},
                   format="json")
    assert resp.status_code == 200, resp.content
    integration.refresh_from_db()
    assert (integration.sync_interval_minutes, integration.auto_sync_enabled) == (15, True)
    assert integration.config["brand_attribute"] == "Hãng" and integration.config["default_category"] == "71"


def test_sync_routes_create_jobs_in_dependency_order(api, org, integration, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        resp = api.post(f"{BASE}/sync/from-kiotviet/{org.slug}", {"streams": ["stock", "products"]}, format="json")
    assert resp.status_code == 202
    jobs = resp.json()["jobs"]
    from syncjobs.models import SyncJob

    assert [SyncJob.objects.get(pk=j).stream for j in jobs] == ["products", "stock"]
    with django_capture_on_commit_callbacks(execute=False):
        resp = api.post(f"{BASE}/sync/all", {"full": True}, format="json")
    assert resp.status_code == 202 and resp.json()["integrations"] == [integration.pk]
    bad = api.post(f"{BASE}/sync/from-kiotviet/{org.slug}", {"streams": ["nope"]}, format="json")
    assert bad.status_code == 400 and "nope" in str(bad.json()["error"]["details"])


def test_another_organization_is_a_404_and_sees_nothing(api_client_for, org, other_org, integration):
    theirs = api_client_for(other_org, "admin")
    product = Product.objects.create(organization=org, name="ours")
    for method, url in [("get", f"{BASE}/config/{org.slug}"), ("get", f"{BASE}/config/{org.pk}"),
                        ("put", f"{BASE}/sync/config/{org.slug}"), ("post", f"{BASE}/sync/from-kiotviet/{org.slug}"),
                        ("post", f"{BASE}/sync/product-to-kiotviet/{org.slug}/{product.pk}"),
                        ("get", f"{BASE}/test-connection/{org.slug}"), ("post", f"{BASE}/webhooks/{org.slug}")]:
        resp = getattr(theirs, method)(url, {}, format="json")
        assert resp.status_code == 404, (url, resp.content)
        assert resp.json()["error"]["code"] == "not_found"
    assert theirs.get(f"{BASE}/config").status_code == 404  # their own organization has no KiotViet
    assert theirs.post(f"{BASE}/sync/all", {}, format="json").json()["integrations"] == []


def test_roles_and_authentication_are_those_of_the_api(api_client_for, org, integration, client):
    viewer = api_client_for(org, "viewer")
    assert viewer.get(f"{BASE}/config/{org.slug}").status_code == 200
    assert viewer.post(f"{BASE}/sync/from-kiotviet/{org.slug}", {}, format="json").status_code == 403
    assert viewer.put(f"{BASE}/sync/config/{org.slug}", {"sync_interval_minutes": 5}, format="json").status_code == 403
    assert client.get(f"{BASE}/config/{org.slug}").status_code in (401, 403)


def test_pushing_a_product_of_another_organization_is_a_404(api, org, other_org, integration):
    theirs = Product.objects.create(organization=other_org, name="theirs")
    resp = api.post(f"{BASE}/sync/product-to-kiotviet/{org.slug}/{theirs.pk}")
    assert resp.status_code == 404


def test_the_demo_seed_connects_to_the_sandbox_with_valid_settings():
    from connectors.kiotviet import KiotVietConnector
    from connectors.kiotviet.seed import demo_integrations

    (spec,) = demo_integrations("http://hub.example")
    assert spec["base_url"] == "http://hub.example/sandbox/kiotviet" and spec["sync_interval_minutes"] == 30
    assert KiotVietConnector.validate_config(spec["config"])["token_url"] == \
        "http://hub.example/sandbox/kiotviet/connect/token"
    assert KiotVietConnector.validate_credentials(spec["credentials"])["retailer"] == "demoshop"
    assert spec["credentials"]["client_secret"] == f"{spec['credentials']['client_id']}-secret"  # sandbox rule

"""The field mapping editor through the Django test client: rows saved normalised, per-row errors with
nothing saved, roles (viewer reads, admin saves) and another organization's integration a 404."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from integrations.models import Integration
from records.models import Product
from syncjobs.models import SyncJob, SyncState

pytestmark = pytest.mark.django_db


def make_integration(org, code="shop", **fields) -> Integration:
    values = {"name": f"Shop {code}", "provider": "demo", "type": "inventory",
              "credentials": {"client_id": "id-1", "client_secret": "cs-console-1234"}, "config": {"page_size": 10}}
    values.update(fields)
    return Integration.objects.create(organization=org, code=code, **values)


@pytest.fixture
def admin_client(client, org, make_user):
    client.force_login(make_user(org, "admin", username="map-admin", is_staff=True))
    return client


def url(integration: Integration, stream: str | None = None) -> str:
    if stream is None:
        return reverse("admin:integrations_integration_mappings", args=[integration.pk])
    return reverse("admin:integrations_integration_mapping", args=[integration.pk, stream])


ROWS = {
    "m-0-target": "name", "m-0-source": "title, code", "m-0-t-0-op": "join", "m-0-t-0-params": '{"sep": " / "}',
    "m-0-t-1-op": "upper", "m-0-t-1-params": "",
    # Index gaps (rows removed in the page) and blank rows are fine.
    "m-2-target": "", "m-2-source": "",
    "m-5-target": "price", "m-5-source": "price_cents", "m-5-t-3-op": "minor_to_major", "m-5-t-3-params": "",
}


def test_the_integration_page_links_to_the_streams_and_each_stream_has_an_editor(admin_client, org):
    integration = make_integration(org)
    page = admin_client.get(reverse("admin:integrations_integration_change", args=[integration.pk]))
    assert url(integration) in page.content.decode()
    index = admin_client.get(url(integration))
    assert index.status_code == 200
    html = index.content.decode()
    for stream in ("products", "customers", "orders"):
        assert url(integration, stream) in html
    editor = admin_client.get(url(integration, "products"))
    assert editor.status_code == 200
    # The targets are the record model's fields, with their type word.
    assert 'value="price"' in editor.content.decode() and "price (decimal)" in editor.content.decode()
    assert admin_client.get(url(integration, "no-such-stream")).status_code == 404


def test_save_stores_the_rows_normalised_in_the_config(admin_client, org):
    integration = make_integration(org, config={"page_size": 10, "field_mappings": {"orders": [
        {"target": "number", "source": "code"}]}})
    answer = admin_client.post(url(integration, "products"), {**ROWS, "_save": "1"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    integration.refresh_from_db()
    stored = integration.config["field_mappings"]
    assert stored["products"] == [
        {"target": "name", "source": ["title", "code"], "ref": False,
         "transforms": [{"op": "join", "sep": " / "}, {"op": "upper"}]},
        {"target": "price", "source": "price_cents", "ref": False,
         "transforms": [{"op": "minor_to_major", "exponent": 2}]},
    ]
    assert stored["orders"] == [{"target": "number", "source": "code"}]  # another stream's mapping is kept
    assert integration.config["page_size"] == 10
    # Shown again as rows.
    html = admin_client.get(url(integration, "products")).content.decode()
    assert 'value="title, code"' in html and 'value="{&quot;sep&quot;: &quot; / &quot;}"' in html
    # All rows removed: the stream's override is gone, the others stay.
    admin_client.post(url(integration, "products"), {"_save": "1"})
    integration.refresh_from_db()
    assert "products" not in integration.config["field_mappings"] and "orders" in integration.config["field_mappings"]


def test_a_bad_row_shows_its_error_and_nothing_is_saved(admin_client, org):
    integration = make_integration(org)
    bad = {"m-0-target": "name", "m-0-source": "title",
           "m-1-target": "price", "m-1-source": "price..cents",
           "m-2-target": "cost", "m-2-source": "cost",
           "m-2-t-0-op": "minor_to_major", "m-2-t-0-params": '{"exponent": 9}'}
    answer = admin_client.post(url(integration, "products"), {**bad, "_save": "1"})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "has an empty segment" in html
    assert "transforms[0].exponent" in html
    rows = answer.context["rows"]
    assert rows[0].errors == [] and rows[1].errors and rows[2].errors  # each error on its own row
    assert 'value="price..cents"' in html  # the rows as typed come back
    integration.refresh_from_db()
    assert "field_mappings" not in integration.config

    unparsable = admin_client.post(url(integration, "products"), {
        "m-0-target": "price", "m-0-source": "p", "m-0-t-0-op": "decimal", "m-0-t-0-params": "places=2", "_save": "1"})
    assert unparsable.status_code == 400
    assert "must be a JSON object" in unparsable.content.decode()
    integration.refresh_from_db()
    assert "field_mappings" not in integration.config


def test_viewer_reads_but_cannot_save_or_preview(client, org, make_user):
    integration = make_integration(org, config={"field_mappings": {"products": [
        {"target": "name", "source": "title"}]}})
    client.force_login(make_user(org, "viewer", username="map-viewer", is_staff=True))
    page = client.get(url(integration, "products"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "read only" in html and 'id="hub-save-mapping"' not in html and 'id="hub-preview"' not in html
    assert client.post(url(integration, "products"), {**ROWS, "_save": "1"}).status_code == 403
    assert client.post(url(integration, "products"), {**ROWS, "_preview": "1"}).status_code == 403
    integration.refresh_from_db()
    assert integration.config["field_mappings"]["products"] == [{"target": "name", "source": "title"}]


def test_manager_may_preview_but_not_save(client, org, make_user):
    integration = make_integration(org)
    client.force_login(make_user(org, "manager", username="map-manager", is_staff=True))
    html = client.get(url(integration, "products")).content.decode()
    assert 'id="hub-preview"' in html and 'id="hub-save-mapping"' not in html
    assert client.post(url(integration, "products"), {**ROWS, "_save": "1"}).status_code == 403


def test_another_organizations_mappings_are_404(admin_client, other_org):
    theirs = make_integration(other_org, name="Globex private shop")
    for target in (url(theirs), url(theirs, "products")):
        assert admin_client.get(target).status_code == 404
        assert admin_client.post(target, {**ROWS, "_save": "1"}).status_code == 404
    theirs.refresh_from_db()
    assert "field_mappings" not in theirs.config


# --- preview against the REST sandbox (over HTTP) -------------------------------------------------------------
def rest_integration(org, live_server, account: str) -> Integration:
    from connectors.registry import get_connector_class
    from connectors.rest import seed

    base = f"{live_server.url}/sandbox/rest"
    assert requests.post(f"{base}/_control", json={"account": account, "action": "reset"}, timeout=10).ok
    config = seed.config(live_server.url)
    config["auth"] = {"type": "api_key", "name": "X-API-Key", "in": "header"}
    config["streams"] = [s for s in config["streams"] if s["name"] == "products"]
    config["streams"][0].update(depends_on=[], pagination={**config["streams"][0]["pagination"], "size": 5})
    config["field_mappings"] = {"products": [{"target": "name", "source": "title"}]}
    config["prefetch"] = False
    return Integration.objects.create(
        organization=org, name="Shop API", code="shop-api", provider="rest", base_url=base,
        credentials={"api_key": f"rk_{account}"}, config=get_connector_class("rest").validate_config(config))


def test_preview_shows_what_one_page_would_create_and_update_and_writes_nothing(admin_client, org, live_server):
    integration = rest_integration(org, live_server, "console-preview")
    Product.objects.create(organization=org, integration=integration, external_id="itm-00002", name="Old name",
                           price="1.00", source_hash="stale")
    rows = {"m-0-target": "name", "m-0-source": "title, sku", "m-0-t-0-op": "join", "m-0-t-0-params": '{"sep": " "}',
            "m-1-target": "price", "m-1-source": "price_cents", "m-1-t-0-op": "minor_to_major",
            "m-1-t-0-params": "", "_preview": "1"}
    answer = admin_client.post(url(integration, "products"), rows)
    assert answer.status_code == 200, answer.content.decode()[:3000]
    preview = answer.context["preview"]
    assert [row[0] for row in preview["create_rows"]] == ["itm-00001", "itm-00003", "itm-00004", "itm-00005"]
    assert preview["columns"][:3] == ["external id", "name", "price"]
    assert preview["create_rows"][0][1:3] == ["Item 1 sku-00001", "1.3700"]  # as it would be stored
    [update] = preview["update_rows"]
    assert update["external_id"] == "itm-00002"
    assert ("name", "Old name", "Item 2 sku-00002") in update["changes"]
    html = answer.content.decode()
    assert "4 would be created" in html and "Item 1 sku-00001" in html and "→ Item 2 sku-00002" in html
    # Nothing written: no record, no job, no cursor; the stored mapping is unchanged.
    assert Product.objects.filter(integration=integration).count() == 1
    assert not SyncJob.objects.filter(integration=integration).exists()
    assert not SyncState.objects.filter(integration=integration).exists()
    integration.refresh_from_db()
    assert integration.config["field_mappings"]["products"][0]["source"] == "title"


def test_a_rest_streams_mapping_must_give_the_required_fields(admin_client, org, live_server):
    integration = rest_integration(org, live_server, "console-required")
    editor = admin_client.get(url(integration, "products")).content.decode()
    assert 'id="hub-required"' in editor and "name" in editor
    answer = admin_client.post(url(integration, "products"), {"m-0-target": "sku", "m-0-source": "sku", "_save": "1"})
    assert answer.status_code == 400
    assert "must map name" in answer.content.decode()
    integration.refresh_from_db()
    assert integration.config["field_mappings"]["products"] == [
        {"target": "name", "source": "title", "transforms": [], "ref": False}]


def test_a_provider_error_in_preview_is_shown_not_a_500(admin_client, org, live_server):
    integration = rest_integration(org, live_server, "console-denied")
    integration.credentials = {"api_key": "rk_"}  # no account: the sandbox refuses it
    integration.save()
    answer = admin_client.post(url(integration, "products"), {"m-0-target": "name", "m-0-source": "title",
                                                              "_preview": "1"})
    assert answer.status_code == 200
    [error] = answer.context["preview"]["errors"]
    assert error["message"].startswith("auth"), error
    assert 'id="hub-preview-errors"' in answer.content.decode()


def test_a_key_of_a_json_field_is_a_target(admin_client, org):
    integration = make_integration(org)
    answer = admin_client.post(url(integration, "products"), {
        "m-0-target": "attributes", "m-0-key": "colour", "m-0-source": "variant", "_save": "1"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    integration.refresh_from_db()
    assert integration.config["field_mappings"]["products"][0]["target"] == "attributes.colour"
    html = admin_client.get(url(integration, "products")).content.decode()
    assert 'name="m-0-key" value="colour"' in html and '<option value="attributes" data-kind="json" selected>' in html

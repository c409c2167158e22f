"""Connecting the generic REST connector through the console's form (Django test client): auth and streams
as inputs, not JSON; a bad stream is refused on its input with nothing saved; secrets never come back."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from integrations.models import Integration

pytestmark = pytest.mark.django_db
ADD = reverse("admin:integrations_integration_add") + "?provider=rest"


@pytest.fixture
def logged_in(client, org, make_user):
    client.force_login(make_user(org, "admin", username="rest-admin", is_staff=True))
    return client


def rest_post(org, **overrides) -> dict:
    data = {
        "organization": org.pk, "name": "Shop API", "code": "shop-api", "type": "api", "provider": "rest",
        "status": "active", "description": "", "base_url": "http://127.0.0.1:9/sandbox/rest",
        "cred__api_key": "rk_secret-key-4321", "webhook_secret_masked": "",
        "cfg__auth.type": "api_key", "cfg__auth.name": "X-API-Key", "cfg__auth.in": "header",
        "cfg__auth.__extra": "{}", "cfg__streams.present": "1",
        "cfg__streams-0.name": "products", "cfg__streams-0.path": "/items", "cfg__streams-0.model": "records.Product",
        "cfg__streams-0.records_path": "data.items", "cfg__streams-0.id_path": "id",
        "cfg__streams-0.pagination.style": "cursor", "cfg__streams-0.pagination.cursor_param": "cursor",
        "cfg__streams-0.pagination.cursor_path": "meta.next", "cfg__streams-0.pagination.size_param": "limit",
        "cfg__streams-0.pagination.size": "200",
        "cfg__streams-0.incremental.param": "updated_since", "cfg__streams-0.incremental.field": "updated_at",
        "cfg__streams-0.__extra": "{}",
        "cfg__field_mappings": json.dumps({"products": [{"target": "name", "source": "title"}]}),
        "cfg__prefetch": "on", "sync_interval_minutes": "60",
    }
    data.update(overrides)
    return data


def test_the_rest_form_has_inputs_for_auth_and_streams(logged_in):
    picker = logged_in.get(reverse("admin:integrations_integration_add")).content.decode()
    assert 'data-provider="rest"' in picker
    form = logged_in.get(ADD).content.decode()
    assert 'name="cfg__auth.type"' in form and '<option value="oauth2"' in form
    assert 'name="cred__client_secret"' in form and 'type="password"' in form
    # The stream card the page clones, with the record type as a select of record models.
    assert 'name="cfg__streams-__i__.path"' in form
    assert 'name="cfg__streams-__i__.model"' in form and '<option value="records.Product"' in form
    assert 'name="cfg__streams-__i__.pagination.style"' in form
    assert 'data-shown-when="cfg__auth.type" data-shown-values="oauth2"' in form


def test_connect_stores_the_streams_and_a_bad_stream_is_refused_on_its_input(logged_in, org):
    bad = rest_post(org, **{"cfg__streams-0.pagination.cursor_path": "", "cfg__streams-0.path": "items"})
    answer = logged_in.post(ADD, bad)
    assert answer.status_code == 200
    assert not Integration.objects.filter(code="shop-api").exists()
    html = answer.content.decode()
    card = html.split('data-card="0"')[1].split("</template>")[0]
    assert "a path from the base URL, starting with /" in card and "cursor pagination needs cursor_path" in card
    assert "#1 path: a path from the base URL" in html  # also as a line on the field
    assert 'value="items"' in card  # the card as typed comes back
    assert "rk_secret-key-4321" not in html  # a typed secret is not echoed back

    answer = logged_in.post(ADD, rest_post(org))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    integration = Integration.objects.get(code="shop-api")
    assert integration.credentials == {"api_key": "rk_secret-key-4321"}
    [stream] = integration.config["streams"]
    assert stream["path"] == "/items" and stream["model"] == "records.Product"
    assert stream["pagination"]["style"] == "cursor" and stream["pagination"]["size"] == 200
    assert stream["incremental"] == {"param": "updated_since", "field": "updated_at"}
    assert integration.config["auth"]["type"] == "api_key"

    # The change page shows the stream as a card again, never the key; a blank secret keeps it.
    change = reverse("admin:integrations_integration_change", args=[integration.pk])
    page = logged_in.get(change).content.decode()
    assert 'name="cfg__streams-0.path" value="/items"' in page and "rk_secret-key-4321" not in page
    second = {"cfg__streams-1.name": "categories", "cfg__streams-1.path": "/categories",
              "cfg__streams-1.model": "records.Category", "cfg__streams-1.records_path": "results",
              "cfg__streams-1.pagination.style": "page", "cfg__streams-1.__extra": "{}",
              "cfg__field_mappings": json.dumps({"products": [{"target": "name", "source": "title"}],
                                                 "categories": [{"target": "name", "source": "name"}]})}
    answer = logged_in.post(change, rest_post(org, cred__api_key="", **second))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    integration.refresh_from_db()
    assert [s["name"] for s in integration.config["streams"]] == ["products", "categories"]
    assert integration.credentials == {"api_key": "rk_secret-key-4321"}


def test_a_stream_without_the_required_mapping_is_refused(logged_in, org):
    answer = logged_in.post(ADD, rest_post(org, cfg__field_mappings="{}"))
    assert answer.status_code == 200
    assert not Integration.objects.filter(code="shop-api").exists()
    assert "must give name" in answer.content.decode()


def test_a_viewer_sees_the_rest_integration_and_no_secret(client, org, make_user, logged_in):
    assert logged_in.post(ADD, rest_post(org)).status_code == 302
    integration = Integration.objects.get(code="shop-api")
    client.force_login(make_user(org, "viewer", username="rest-viewer", is_staff=True))
    change = reverse("admin:integrations_integration_change", args=[integration.pk])
    for page in (change, change + "?mode=json",
                 reverse("admin:integrations_integration_mapping", args=[integration.pk, "products"])):
        answer = client.get(page)
        assert answer.status_code == 200, page
        html = answer.content.decode()
        assert "rk_secret-key-4321" not in html and "Shop API" in html, page

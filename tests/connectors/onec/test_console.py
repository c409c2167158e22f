"""Connecting 1C in the console: the form generated from the connector's schemas, saved and tested
against the sandbox in the request (Cyrillic user, entity names per stream as JSON)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from integrations.models import Integration
from sandboxes.onec.dataset import USER

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def logged_in(client, org, make_user):
    client.force_login(make_user(org, "admin", username="console-1c", is_staff=True))
    return client


def form_post(org, box, **overrides) -> dict:
    data = {
        "organization": org.pk, "name": "1C УТ", "code": "ut", "type": "erp", "provider": "1c", "status": "active",
        "description": "", "base_url": box.base, "cred__username": USER, "cred__password": box.password,
        "webhook_secret_masked": "", "cfg__mapping": json.dumps({"orders": "Document_ЗаказКлиента"}),
        "cfg__properties": "{}", "cfg__page_size": "200", "cfg__key_batch": "20", "cfg__document_sync": "date",
        "cfg__document_history_days": "0", "cfg__document_overlap_days": "3", "cfg__main_price_type": "Розничная",
        "cfg__timezone": "Europe/Moscow", "cfg__currency": "RUB", "sync_interval_minutes": "60",
        "auto_sync_enabled": "on",
    }
    data.update(overrides)
    return data


def test_connect_form_saves_tests_and_names_what_is_not_published(logged_in, org, onec_sandbox):
    url = reverse("admin:integrations_integration_add") + "?provider=1c"
    form = logged_in.get(url).content.decode()
    assert 'name="cred__password"' in form and 'name="cfg__mapping"' in form and 'name="cfg__document_sync"' in form

    answer = logged_in.post(url, {**form_post(org, onec_sandbox), "_saveandtest": "1"}, follow=True)
    assert answer.status_code == 200
    integration = Integration.objects.get(code="ut")
    assert integration.credentials == {"username": USER, "password": onec_sandbox.password}
    assert integration.config["mapping"] == {"orders": "Document_ЗаказКлиента"}
    assert integration.connection_error == "" and integration.last_connected_at is not None
    assert onec_sandbox.password not in answer.content.decode()

    bad = logged_in.post(url, form_post(org, onec_sandbox, code="ut2",
                                        cfg__mapping=json.dumps({"products": "Номенклатура"})))
    assert bad.status_code == 200 and not Integration.objects.filter(code="ut2").exists()
    assert "Not an entity set name" in bad.content.decode()

    onec_sandbox.control("unpublish", entity="Catalog_ВидыЦен")  # optional: the test still passes
    onec_sandbox.control("unpublish", entity="Catalog_Склады")
    change = reverse("admin:integrations_integration_change", args=[integration.pk])
    retest = logged_in.post(change, {**form_post(org, onec_sandbox, cred__password=""), "_saveandtest": "1"},
                            follow=True)
    integration.refresh_from_db()
    assert integration.credentials["password"] == onec_sandbox.password  # blank kept it
    assert "Catalog_Склады" in integration.connection_error and "Catalog_ВидыЦен" not in integration.connection_error
    assert "Catalog_Склады" in retest.content.decode()

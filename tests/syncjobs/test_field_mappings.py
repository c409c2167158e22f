"""Staff field mappings on a built-in provider's stream (KiotViet, on its sandbox over HTTP): the runner
applies config["field_mappings"] after the stream's own mapper, without code in the provider."""

from __future__ import annotations

import pytest
from django.db import models

from records.models import Product
from tests.connectors.kiotviet.conftest import kv, kv_sandbox, run_sync  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

SIZES = {"branches": 1, "categories": 2, "products": 12}
OVERRIDE = [
    {"target": "name", "source": "fullName", "transforms": [{"op": "upper"}]},  # overrides the mapper's
    {"target": "attributes.origin", "transforms": [{"op": "default", "value": "VN"}]},  # adds a key
    {"target": "cost", "source": "basePrice", "transforms": [{"op": "decimal"}, {"op": "major_to_minor",
                                                                                   "exponent": 0}]},  # adds a field
]


def test_a_kiotviet_stream_syncs_the_overridden_and_added_fields(kv, api):  # noqa: F811
    connector = kv(sizes=SIZES, config={"field_mappings": {"products": OVERRIDE}})
    integ = connector.integration
    assert integ.config["field_mappings"]["products"][0]["transforms"] == [{"op": "upper"}]  # kept by validation
    jobs = run_sync(connector, ["categories", "products"], full=True)
    assert jobs["products"].status == "completed" and jobs["products"].records_created == 12
    for product in Product.objects.filter(integration=integ):
        assert product.name == product.payload["fullName"].upper()
        assert product.attributes["origin"] == "VN" and "brand" in product.attributes  # the mapper's keys stay
        assert product.cost == product.payload["basePrice"]
        assert product.sku == product.payload["code"]  # fields the mapping does not name are the mapper's

    # Changing the mapping (through the API) rewrites records whose source did not change.
    resp = api.put(f"/api/v1/integrations/{integ.pk}/mappings/products/",
                   {"fields": [{"target": "name", "source": "code"}]}, format="json")
    assert resp.status_code == 200, resp.content
    connector.integration.refresh_from_db()
    again = run_sync(connector, ["products"], full=True)
    assert again["products"].records_updated == 12
    assert all(p.name == p.sku for p in Product.objects.filter(integration=integ))
    # The same mapping again: nothing to write.
    assert run_sync(connector, ["products"], full=True)["products"].records_skipped == 12


def test_an_incremental_run_after_a_mapping_change_re_maps_every_record(kv, api):  # noqa: F811
    connector = kv(sizes=SIZES)
    integ = connector.integration
    run_sync(connector, ["categories", "products"], full=True)
    quiet = run_sync(connector, ["products"])["products"]  # incremental, nothing changed at KiotViet
    assert quiet.records_created + quiet.records_updated == 0 and "mapping_changed" not in quiet.progress

    resp = api.put(f"/api/v1/integrations/{integ.pk}/mappings/products/",
                   {"fields": [{"target": "name", "source": "code"}]}, format="json")
    assert resp.status_code == 200, resp.content
    connector.integration.refresh_from_db()
    job = run_sync(connector, ["products"])["products"]  # incremental: the source did not change either
    assert (job.status, job.records_updated, job.progress.get("mapping_changed")) == ("completed", 12, True)
    assert all(p.name == p.sku for p in Product.objects.filter(integration=integ))
    after = run_sync(connector, ["products"])["products"]  # the re-read is done once
    assert after.records_updated == 0 and "mapping_changed" not in after.progress

    # Removing the mapping is a change too: the mapper's own names come back.
    assert api.put(f"/api/v1/integrations/{integ.pk}/mappings/products/", {"fields": []},
                   format="json").status_code == 200
    connector.integration.refresh_from_db()
    assert run_sync(connector, ["products"])["products"].records_updated == 12
    assert not Product.objects.filter(integration=integ, name=models.F("sku")).exists()


def test_the_mapping_api_validates_against_the_streams_model(kv, api):  # noqa: F811
    integ = kv(sizes=SIZES).integration
    body = api.get(f"/api/v1/integrations/{integ.pk}/mappings/").json()
    assert body["stock"]["model"] == "records.StockLevel" and body["products"]["fields"] == []
    resp = api.put(f"/api/v1/integrations/{integ.pk}/mappings/stock/",
                   {"fields": [{"target": "name", "source": "x"}]}, format="json")
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "target"
    # Through the integration's config as well: refused with the stream named.
    resp = api.patch(f"/api/v1/integrations/{integ.pk}/", {"config": {
        **integ.config, "field_mappings": {"stock": [{"target": "name", "source": "x"}]}}}, format="json")
    assert resp.status_code == 400
    assert "entry 0, target" in resp.json()["error"]["details"]["config"]["field_mappings"]["stock"][0]


def test_a_stored_mapping_that_no_longer_validates_fails_the_job_as_config(kv):  # noqa: F811
    connector = kv(sizes=SIZES)
    integ = connector.integration
    integ.config = {**integ.config, "field_mappings": {"products": [{"target": "colour", "source": "x"}]}}
    integ.save()
    job = run_sync(connector, ["products"], full=True)["products"]
    assert (job.status, job.error_kind) == ("failed", "config")
    assert "the field mapping of stream 'products' is invalid: entry 0: target: 'colour'" in job.error_message
    assert not Product.objects.filter(integration=integ).exists()


def test_a_record_the_mapping_cannot_map_fails_alone_with_the_entry_named(kv):  # noqa: F811
    connector = kv(sizes=SIZES, config={"field_mappings": {"products": [
        {"target": "price", "source": "name", "transforms": [{"op": "number"}]}]}})
    job = run_sync(connector, ["products"], full=True)["products"]
    assert job.status == "completed" and job.records_failed == 12
    assert "MappingError: field mapping #0 (target 'price', source 'name'):" in job.error_details[0]["error"]
    assert "is not a number" in job.error_details[0]["error"]

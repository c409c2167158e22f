"""Field mappings and preview through the API (the REST connector on its sandbox, and a built-in one)."""

from __future__ import annotations

import pytest

from records.models import Category, Product
from syncjobs.models import SyncJob, SyncState
from tests.connectors.kiotviet.conftest import run_sync

pytestmark = pytest.mark.django_db

BAD_FIELDS = [
    {"target": "name", "source": "title"},
    {"target": "colour", "source": "c"},  # no such field
    {"target": "price", "source": "p", "transforms": [{"op": "minor_to_major", "exponent": 9}]},
    {"target": "name", "source": "other"},  # mapped twice
    {"target": "sku", "source": ["a", "b"]},  # several sources need a join
]


def url(integration, tail: str) -> str:
    return f"/api/v1/integrations/{integration.pk}/{tail}"


def test_get_mappings_lists_streams_targets_and_stored_entries(make_rest, api):
    integ = make_rest(streams=["categories", "products"]).integration
    body = api.get(url(integ, "mappings/")).json()
    assert set(body) == {"categories", "products"}
    assert body["products"]["model"] == "records.Product"
    assert body["products"]["targets"]["price"] == "decimal" and body["products"]["targets"]["category"] == "ref"
    assert body["categories"]["fields"] == [{"target": "name", "source": "name", "transforms": [], "ref": False}]


def test_put_mapping_normalises_and_saves(make_rest, api):
    integ = make_rest(streams=["categories"]).integration
    resp = api.put(url(integ, "mappings/categories/"), {"fields": [
        {"target": "name", "source": "name", "transforms": [{"op": "upper"}]}]}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"fields": [{"target": "name", "source": "name", "transforms": [{"op": "upper"}],
                                       "ref": False}]}
    integ.refresh_from_db()
    assert integ.config["field_mappings"]["categories"][0]["transforms"] == [{"op": "upper"}]
    assert integ.config["streams"][0]["name"] == "categories"  # the rest of the config is kept


def test_a_bad_mapping_is_a_400_per_entry_and_nothing_is_saved(make_rest, api):
    integ = make_rest(streams=["products"]).integration
    before = dict(integ.config)
    resp = api.put(url(integ, "mappings/products/"), {"fields": BAD_FIELDS}, format="json")
    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {
        (1, "target"), (2, "transforms[0].exponent"), (3, "target"), (4, "source")}
    assert any("'name' is already mapped by entry 0" in e["message"] for e in errors)
    integ.refresh_from_db()
    assert integ.config == before


def test_a_rest_mapping_must_give_the_required_fields(make_rest, api):
    integ = make_rest(streams=["products"]).integration
    resp = api.put(url(integ, "mappings/products/"), {"fields": [{"target": "sku", "source": "sku"}]}, format="json")
    assert resp.status_code == 400
    assert resp.json()["errors"] == [{"index": None, "field": "fields",
                                      "message": "must map name (required fields of records.Product)"}]


def test_unknown_stream_and_bad_body(make_rest, api):
    integ = make_rest(streams=["categories"]).integration
    resp = api.put(url(integ, "mappings/nope/"), {"fields": []}, format="json")
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "stream"
    resp = api.put(url(integ, "mappings/categories/"), {"entries": []}, format="json")
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "fields"
    resp = api.post(url(integ, "preview/"), {"stream": "nope"}, format="json")
    assert resp.status_code == 400 and "unknown stream 'nope'" in resp.json()["error"]["details"]["stream"][0]


def test_mappings_are_scoped_to_the_organization(make_rest, other_org, api_client_for):
    integ = make_rest(streams=["categories"]).integration
    other = api_client_for(other_org, "admin")
    assert other.get(url(integ, "mappings/")).status_code == 404
    assert other.put(url(integ, "mappings/categories/"), {"fields": []}, format="json").status_code == 404
    assert other.post(url(integ, "preview/"), {"stream": "categories"}, format="json").status_code == 404


def test_a_viewer_may_read_but_not_change_or_preview(make_rest, org, api_client_for):
    integ = make_rest(streams=["categories"]).integration
    viewer = api_client_for(org, "viewer")
    assert viewer.get(url(integ, "mappings/")).status_code == 200
    assert viewer.put(url(integ, "mappings/categories/"), {"fields": []}, format="json").status_code == 403
    assert viewer.post(url(integ, "preview/"), {"stream": "categories"}, format="json").status_code == 403


def counts(integ) -> tuple:
    return (Product.objects.filter(integration=integ).count(), Category.objects.filter(integration=integ).count(),
            SyncJob.objects.filter(integration=integ).count(), list(SyncState.objects.filter(integration=integ)
                                                                    .values_list("stream", "cursor")))


def test_preview_shows_create_update_unchanged_and_writes_nothing(make_rest, api, rest_sandbox, account):
    connector = make_rest(streams=["categories", "products"])
    integ = connector.integration
    before = counts(integ)
    resp = api.post(url(integ, "preview/"), {"stream": "products"}, format="json")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["stream"], body["model"], len(body["create"]), body["update"], body["unchanged"], body["delete"],
            body["errors"]) == ("products", "records.Product", 500, [], 0, [], [])
    first = body["create"][0]
    assert first == {"external_id": "itm-00001", "refs": {"category": "cat-2"}, "warnings": [], "fields": {
        "name": "Item 1 Blue", "sku": "SKU-00001", "barcode": "4006381000001", "price": "1.3700", "cost": "1.8600",
        "currency": "EUR", "unit": "pcs", "is_active": True,
        "attributes": {"released": "2025-01-02", "updated_at": "2026-01-01T00:00:01+00:00", "weight_g": 1}}}
    assert counts(integ) == before  # nothing written: no record, no job, no cursor

    run_sync(connector, full=True)
    rest_sandbox.control(account, "touch", start=2, count=1)  # item 2 moves to the end of the order
    after_sync = counts(integ)
    # An unsaved mapping previews against what is stored: every row of the page changes its name.
    fields = [{"target": "name", "source": "title", "transforms": [{"op": "lower"}]}]
    body = api.post(url(integ, "preview/"), {"stream": "products", "fields": fields}, format="json").json()
    assert body["create"] == [] and body["unchanged"] == 0 and len(body["update"]) == 500
    assert body["update"][0] == {"external_id": "itm-00001", "changes": {"name": ["Item 1 Blue", "item 1"]}}
    # The stored mapping: only what changed at the source (item 2 left the first page: 3 is first now).
    body = api.post(url(integ, "preview/"), {"stream": "products"}, format="json").json()
    assert (len(body["update"]), body["unchanged"]) == (0, 500)
    assert counts(integ) == after_sync


def test_preview_with_a_bad_mapping_is_a_400(make_rest, api):
    integ = make_rest(streams=["products"]).integration
    resp = api.post(url(integ, "preview/"), {"stream": "products", "fields": BAD_FIELDS}, format="json")
    assert resp.status_code == 400 and len(resp.json()["errors"]) == 4


def test_preview_reports_a_provider_error_and_bad_records(make_rest, api, rest_sandbox, account):
    integ = make_rest(streams=["products"]).integration
    rest_sandbox.control(account, "fault", kind="missing_path", resource="items")
    body = api.post(url(integ, "preview/"), {"stream": "products"}, format="json").json()
    assert body["create"] == [] and body["errors"] == [{"external_id": "", "message": (
        "fatal: stream 'products': the answer has no records at 'data.items' (it has: unexpected); "
        "nothing of this page was written")}]
    fields = [{"target": "name", "source": "title"},
              {"target": "price", "source": "sku", "transforms": [{"op": "number"}]}]
    body = api.post(url(integ, "preview/"), {"stream": "products", "fields": fields}, format="json").json()
    assert body["create"] == [] and len(body["errors"]) == 500
    assert body["errors"][0] == {"external_id": "itm-00001", "message": (
        "MappingError: field mapping #1 (target 'price', source 'sku'): 'sku-00001' is not a number")}

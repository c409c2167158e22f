"""The read-only records API: external references, filters, pagination, tenancy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from connectors.base import RecordRow
from records.api import RECORD_TYPES
from records.models import Order, Product
from records.upsert import child_rows, mark_deleted, upsert_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def products(integration, *ids: str, **fields):
    rows = [RecordRow(i, {"name": f"Tea {i}", "sku": f"SKU-{i}", **fields}, payload={"id": i, **fields})
            for i in ids]
    result = upsert_rows(integration, Product, rows)
    assert result.failed == 0, result.errors


@pytest.fixture
def viewer(org, api_client_for):
    return api_client_for(org, "viewer")


def test_list_shows_external_reference_and_count(viewer, integration):
    products(integration, "p1", "p2", "p3")
    body = viewer.get("/api/v1/products/", {"limit": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    item = body["results"][0]
    stored = Product.objects.get(external_id=item["external_ref"]["external_id"])
    assert item["id"] == stored.pk and item["name"] == stored.name
    assert item["external_ref"] == {
        "integration": integration.pk,
        "provider": "webhook",
        "external_id": stored.external_id,
        "sync_status": "synced",
        "last_synced_at": item["external_ref"]["last_synced_at"],
        "source_hash": stored.source_hash,
    }
    assert "payload" not in item

    detail = viewer.get(f"/api/v1/products/{stored.pk}").json()
    assert detail["payload"] == stored.payload


def test_filters_integration_external_id_search_and_updated_since(org, viewer, integration):
    from integrations.models import Integration

    second = Integration.objects.create(organization=org, name="Shop", code="shop", provider="webhook")
    products(integration, "p1", "p2")
    products(second, "x1")
    cut = timezone.now()
    products(integration, "p2", price="9")  # changed after the cut

    def ids(**params):
        body = viewer.get("/api/v1/products", params).json()
        return sorted(r["external_ref"]["external_id"] for r in body["results"])

    assert ids() == ["p1", "p2", "x1"]
    assert ids(integration=integration.pk) == ["p1", "p2"]
    assert ids(integration=second.pk) == ["x1"]
    assert ids(external_id="p1") == ["p1"]
    assert ids(search="sku-x") == ["x1"]
    assert ids(updated_since=cut.isoformat()) == ["p2"]
    assert ids(updated_since=(cut + dt.timedelta(hours=1)).isoformat()) == []
    bad = viewer.get("/api/v1/products", {"updated_since": "not a date"})
    assert bad.status_code == 400
    # Any UTC offset Python parses works (PostgreSQL alone refuses beyond ±15:59: was a 500).
    far = (cut - dt.timedelta(days=1)).astimezone(timezone.get_fixed_timezone(-(23 * 60 + 30))).isoformat()
    assert ids(updated_since=far) == ["p1", "p2", "x1"]
    assert viewer.get("/api/v1/products", {"updated_since": "0001-01-01T00:00:00+01:00"}).status_code == 400


def test_soft_deleted_records_are_hidden_unless_asked(viewer, integration):
    products(integration, "p1", "p2")
    mark_deleted(integration, Product, ["p2"])

    listed = viewer.get("/api/v1/products").json()
    assert [r["external_ref"]["external_id"] for r in listed["results"]] == ["p1"]
    everything = viewer.get("/api/v1/products", {"include_deleted": "true"}).json()
    assert everything["count"] == 2
    assert viewer.get("/api/v1/products", {"include_deleted": "perhaps"}).status_code == 400
    gone = Product.objects.get(external_id="p2")
    detail = viewer.get(f"/api/v1/products/{gone.pk}").json()
    assert detail["deleted_at"] and detail["external_ref"]["sync_status"] == "deleted"


def test_another_organizations_records_are_404_and_never_listed(viewer, integration, other_integration):
    products(integration, "mine")
    products(other_integration, "theirs")
    upsert_rows(other_integration, Order, [RecordRow("o1", {"number": "B-1"})])
    theirs = Product.objects.get(external_id="theirs")
    their_order = Order.objects.get(external_id="o1")

    assert viewer.get(f"/api/v1/products/{theirs.pk}").status_code == 404
    assert viewer.get(f"/api/v1/orders/{their_order.pk}").status_code == 404
    listed = viewer.get("/api/v1/products", {"integration": other_integration.pk, "include_deleted": "true"}).json()
    assert listed["count"] == 0
    assert viewer.get("/api/v1/orders").json()["count"] == 0


def test_orders_carry_their_live_lines(viewer, integration):
    products(integration, "p1")
    upsert_rows(integration, Order, [RecordRow("o1", {"number": "A-1", "total": "30"})])
    lines = [RecordRow(str(n), {"line_no": n, "quantity": n, "unit_price": "10"}, refs={"product": "p1"})
             for n in (1, 2)]
    upsert_rows(integration, "records.OrderLine", child_rows("order", "o1", lines))
    mark_deleted(integration, "records.OrderLine", ["o1/2"])

    order = viewer.get("/api/v1/orders").json()["results"][0]
    assert order["number"] == "A-1"
    assert [(line["line_no"], line["external_ref"]["external_id"]) for line in order["lines"]] == [(1, "o1/1")]
    assert order["lines"][0]["product"] == Product.objects.get(external_id="p1").pk


@pytest.mark.parametrize("prefix", [prefix for prefix, *_ in RECORD_TYPES])
def test_every_record_type_is_listed_read_only(viewer, prefix):
    response = viewer.get(f"/api/v1/{prefix}/")
    assert response.status_code == 200 and response.json()["count"] == 0
    assert viewer.post(f"/api/v1/{prefix}/", {}, format="json").status_code in (403, 405)


def test_unauthenticated_is_refused(client, integration):
    products(integration, "p1")
    assert client.get("/api/v1/products").status_code in (401, 403)


def test_listing_orders_with_lines_costs_no_query_per_order(viewer, integration):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int) -> int:
        orders = [RecordRow(f"o{count}-{i}", {"number": f"N{i}"}) for i in range(count)]
        upsert_rows(integration, Order, orders)
        lines = [row for o in orders for row in child_rows("order", o.external_id, [RecordRow("1", {"line_no": 1})])]
        upsert_rows(integration, "records.OrderLine", lines)
        with CaptureQueriesContext(connection) as ctx:
            assert viewer.get("/api/v1/orders", {"limit": 100}).status_code == 200
        return len(ctx.captured_queries)

    viewer.get("/api/v1/orders")  # the key's first use records its last-used time
    assert queries_for(2) == queries_for(20)

"""The batch upsert on PostgreSQL, the production path (COPY + INSERT … ON CONFLICT)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.utils import timezone

from connectors.base import RecordRow
from records.models import Category, Location, OrderLine, Product, StockLevel, SyncStatus
from records.upsert import (
    child_rows,
    mark_deleted,
    mark_missing_children,
    mark_missing_deleted,
    prepare_rows,
    upsert_rows,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def product(ext: str, name: str = "Tea", price: str = "10.50", **extra) -> RecordRow:
    payload = {"id": ext, "name": name, "price": price, **extra}
    return RecordRow(external_id=ext, fields={"name": name, "price": price, "sku": f"SKU-{ext}"}, payload=payload)


def test_insert_then_update_counts_and_stores_binding(integration):
    first = upsert_rows(integration, Product, [product("p1"), product("p2", price="3")])
    assert (first.created, first.updated, first.skipped, first.failed) == (2, 0, 0, 0)

    p1 = Product.objects.get(integration=integration, external_id="p1")
    assert p1.organization_id == integration.organization_id
    assert p1.price == Decimal("10.5000") and p1.sku == "SKU-p1"
    assert p1.payload == {"id": "p1", "name": "Tea", "price": "10.50"}
    assert len(p1.source_hash) == 64 and p1.sync_status == SyncStatus.SYNCED and p1.last_synced_at

    second = upsert_rows(integration, "records.Product", [product("p1", name="Green tea"), product("p3")])
    assert (second.created, second.updated, second.skipped) == (1, 1, 0)
    p1.refresh_from_db()
    assert p1.name == "Green tea"
    assert Product.objects.filter(integration=integration).count() == 3


def test_unchanged_rows_are_skipped_without_a_write(integration):
    upsert_rows(integration, Product, [product("p1"), product("p2")])
    before = dict(Product.objects.values_list("external_id", "updated_at"))
    synced_before = Product.objects.get(external_id="p1").last_synced_at

    result = upsert_rows(integration, Product, [product("p1"), product("p2", price="4")])

    assert (result.created, result.updated, result.skipped) == (0, 1, 1)
    after = dict(Product.objects.values_list("external_id", "updated_at"))
    assert after["p1"] == before["p1"]
    assert after["p2"] > before["p2"]
    assert Product.objects.get(external_id="p1").last_synced_at == synced_before


def test_force_rewrites_unchanged_rows(integration):
    upsert_rows(integration, Product, [product("p1")])
    before = Product.objects.get(external_id="p1").updated_at
    result = upsert_rows(integration, Product, [product("p1")], force=True)
    assert (result.updated, result.skipped) == (1, 0)
    assert Product.objects.get(external_id="p1").updated_at > before


def test_same_batch_twice_creates_no_duplicates(integration):
    rows = [product(f"p{i}") for i in range(50)]
    upsert_rows(integration, Product, rows)
    again = upsert_rows(integration, Product, rows)
    assert (again.created, again.updated, again.skipped) == (0, 0, 50)
    assert Product.objects.filter(integration=integration).count() == 50


def test_duplicate_ids_in_one_batch_keep_the_last(integration):
    result = upsert_rows(integration, Product, [product("p1", name="old"), product("p1", name="new")])
    assert (result.created, result.skipped) == (1, 1)
    assert Product.objects.get(external_id="p1").name == "new"


def statements_for(integration, rows, monkeypatch) -> int:
    """Statements sent for one upsert call (Django's cursors are psycopg cursors too)."""
    sent = []
    real_execute = psycopg.Cursor.execute

    def spy(self, query, *args, **kwargs):
        sent.append(query)
        return real_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    result = upsert_rows(integration, Product, rows)
    monkeypatch.undo()
    assert result.failed == 0
    return len(sent)


def test_a_batch_costs_the_same_few_statements_whatever_its_size(integration, monkeypatch):
    Category.objects.create(organization=integration.organization, integration=integration, external_id="c1",
                            name="Drinks")

    def rows(n: int, version: int) -> list[RecordRow]:
        return [RecordRow(f"p{i}", {"name": f"P{i}"}, refs={"category": "c1"}, payload={"i": i, "v": version})
                for i in range(n)]

    small = statements_for(integration, rows(3, 1), monkeypatch)
    large = statements_for(integration, rows(600, 2), monkeypatch)  # 3 updates, 597 inserts
    # hash comparison, reference lookup, staging table, truncate, upsert (+ COPY), pending references
    # (two EXISTS); no savepoint
    assert small == large <= 6
    assert set(Product.objects.values_list("category__external_id", flat=True)) == {"c1"}


def test_soft_deleted_record_is_revived(integration):
    upsert_rows(integration, Product, [product("p1")])
    assert mark_deleted(integration, Product, ["p1", "unknown"]) == 1
    gone = Product.objects.get(external_id="p1")
    assert gone.deleted_at and gone.sync_status == SyncStatus.DELETED

    result = upsert_rows(integration, Product, [product("p1")])  # same payload: still rewritten

    assert result.updated == 1
    back = Product.objects.get(external_id="p1")
    assert back.deleted_at is None and back.sync_status == SyncStatus.SYNCED


def test_refs_resolve_and_a_missing_required_ref_fails_only_that_row(integration, other_integration):
    upsert_rows(integration, Product, [product("p1")])
    upsert_rows(integration, Location, [RecordRow("l1", {"name": "Main", "kind": "store"})])
    # Same external id under another organization's integration must never be linked.
    upsert_rows(other_integration, Product, [product("p2")])

    rows = [
        RecordRow("s1", {"quantity": "5"}, refs={"product": "p1", "location": "l1"}),
        RecordRow("s2", {"quantity": "1"}, refs={"product": "p2", "location": "l1"}),
        RecordRow("s3", {"quantity": "1"}, refs={"location": "l1"}),
    ]
    result = upsert_rows(integration, StockLevel, rows)

    assert (result.created, result.failed) == (1, 2)
    assert {e["external_id"] for e in result.errors} == {"s2", "s3"}
    assert "p2" in next(e["error"] for e in result.errors if e["external_id"] == "s2")
    level = StockLevel.objects.get(external_id="s1")
    assert level.product.external_id == "p1" and level.location.external_id == "l1"
    assert level.quantity == Decimal("5")
    assert not StockLevel.objects.filter(external_id__in=["s2", "s3"]).exists()


def test_a_row_without_payload_is_rewritten_when_only_its_reference_changes(integration):
    upsert_rows(integration, Product, [product("p1")])
    upsert_rows(integration, Location, [RecordRow("l1", {"name": "A", "kind": "store"}),
                                        RecordRow("l2", {"name": "B", "kind": "store"})])
    upsert_rows(integration, StockLevel, [RecordRow("s1", {"quantity": "5"}, refs={"product": "p1", "location": "l1"})])

    same = upsert_rows(integration, StockLevel, [RecordRow("s1", {"quantity": "5"},
                                                           refs={"product": "p1", "location": "l1"})])
    moved = upsert_rows(integration, StockLevel, [RecordRow("s1", {"quantity": "5"},
                                                            refs={"product": "p1", "location": "l2"})])

    assert (same.skipped, moved.updated) == (1, 1)
    level = StockLevel.objects.get(external_id="s1")
    assert level.payload is None and level.location.external_id == "l2"


def test_a_prepared_batch_writes_as_the_rows_would(integration, django_assert_num_queries):
    rows = [product("p1"), product("p2", price="not a number"), RecordRow("", {"name": "x"}), product("p1", name="B")]
    with django_assert_num_queries(0):  # a sync's reader thread prepares the next page
        prepared = prepare_rows(Product, rows)

    result = upsert_rows(integration, Product, prepared)

    assert (result.created, result.skipped, result.failed) == (1, 1, 2)
    assert {e["external_id"] for e in result.errors} == {"", "p2"}
    assert Product.objects.get(integration=integration, external_id="p1").name == "B"
    with pytest.raises(TypeError):
        upsert_rows(integration, StockLevel, prepare_rows(Product, [product("p3")]))


def test_numeric_refs_are_external_ids_as_text(integration):
    upsert_rows(integration, Category, [RecordRow("17", {"name": "Tea"})])
    result = upsert_rows(integration, Product, [RecordRow("p1", {"name": "Tea"}, refs={"category": 17})])
    assert result.created == 1 and not result.errors
    assert Product.objects.get(external_id="p1").category.external_id == "17"


def test_missing_optional_ref_is_null_and_resolved_when_the_referenced_record_arrives(integration):
    row = RecordRow("p1", {"name": "Tea"}, refs={"category": "c9"}, payload={"id": "p1", "cat": "c9"})
    upsert_rows(integration, Product, [row])
    p = Product.objects.get(external_id="p1")
    assert p.category_id is None and "c9" in p.sync_error

    upsert_rows(integration, Category, [RecordRow("c9", {"name": "Tea"})])  # linked now (PendingReference)
    p.refresh_from_db()
    assert p.category.external_id == "c9" and p.sync_error == ""

    result = upsert_rows(integration, Product, [row])  # clean again: the next sync skips it
    assert (result.updated, result.skipped) == (0, 1)


def test_parent_in_the_same_batch_is_linked(integration):
    rows = [
        RecordRow("child", {"name": "Green"}, refs={"parent": "root"}),
        RecordRow("root", {"name": "Tea"}),
    ]
    result = upsert_rows(integration, Category, rows)
    assert result.created == 2 and not result.errors
    assert Category.objects.get(external_id="child").parent.external_id == "root"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "x" * 501}, "name: longer than 500"),
        ({"name": "Tea", "price": "abc"}, "price: is not a valid number"),
        ({"name": "Tea", "price": "1e20"}, "price: has more than 14 digits"),
        ({"name": "Tea", "is_active": "perhaps"}, "is_active: is not a boolean"),
        ({"name": "Tea\x00"}, "name: contains a NUL"),
        ({"name": "Tea", "colour": "red"}, "unknown field(s): colour"),
        ({"name": "Tea", "currency": "EURO"}, "currency: longer than 3"),
        ({"name": "Tea", "attributes": {"x": object()}}, "attributes: is not JSON"),
    ],
)
def test_a_bad_value_fails_only_its_row(integration, fields, error):
    rows = [product("good1"), RecordRow("bad", fields, payload={"id": "bad"}), product("good2")]
    result = upsert_rows(integration, Product, rows)
    assert (result.created, result.failed) == (2, 1)
    assert result.errors[0]["external_id"] == "bad" and error in result.errors[0]["error"]
    assert set(Product.objects.values_list("external_id", flat=True)) == {"good1", "good2"}


@pytest.mark.parametrize(
    ("external_id", "payload", "error"),
    [
        ("bad", {"price": float("nan")}, "payload"),
        ("bad", {"name": "\ud800"}, "payload"),  # a lone surrogate cannot be UTF-8
        ("bad", {"note": "a\x00b"}, "payload"),
        ("b\x00d", {"id": 1}, "external_id"),
        ("", {"id": 1}, "external_id"),
    ],
)
def test_a_payload_or_id_the_database_would_refuse_fails_only_its_row(integration, external_id, payload, error):
    rows = [product("good1"), RecordRow(external_id, {"name": "Tea"}, payload=payload), product("good2")]
    result = upsert_rows(integration, Product, rows)
    assert (result.created, result.failed) == (2, 1)
    assert error in result.errors[0]["error"]


def test_values_are_coerced(integration):
    upsert_rows(integration, Location, [RecordRow("l1", {"name": "Main"})])
    upsert_rows(integration, Product, [RecordRow("p1", {"name": "Tea"})])
    upsert_rows(integration, "records.Order", [RecordRow("o1", {"number": "A1", "ordered_at": "2026-03-01T10:00:00",
                                                                  "total": 12.345678})])
    upsert_rows(integration, Location, [RecordRow("l2", {"name": "Depot", "kind": ""})])
    assert Location.objects.get(external_id="l2").kind == "branch"  # an empty choice takes the default
    order = OrderLine.order.field.related_model.objects.get(external_id="o1")
    assert order.ordered_at == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    assert order.total == Decimal("12.3457")
    bad = upsert_rows(integration, "records.Order", [RecordRow("o2", {"ordered_at": "yesterday"}),
                                                     RecordRow("o3", {"kind": "gift"})])
    assert bad.failed == 2
    assert "ordered_at" in bad.errors[0]["error"] and "kind: 'gift' is not one of" in bad.errors[1]["error"]


def test_mark_missing_deleted_soft_deletes_rows_not_seen_in_a_full_run(integration):
    upsert_rows(integration, Product, [product(f"p{i}") for i in range(5)])
    started = timezone.now()
    upsert_rows(integration, Product, [product("late")])  # e.g. a webhook during the run

    assert mark_missing_deleted(integration, Product, ["p0", "p1", "p2"], started) == 2

    live = set(Product.objects.filter(deleted_at__isnull=True).values_list("external_id", flat=True))
    assert live == {"p0", "p1", "p2", "late"}
    assert Product.objects.count() == 6  # never a hard delete
    assert set(Product.objects.filter(sync_status=SyncStatus.DELETED).values_list("external_id", flat=True)) == {
        "p3", "p4"}


def test_order_lines_bound_to_their_order(integration):
    upsert_rows(integration, "records.Order", [RecordRow("o1", {"number": "A1"})])
    lines = [RecordRow("1", {"line_no": 1, "quantity": 2}), RecordRow("2", {"line_no": 2, "quantity": 1})]
    result = upsert_rows(integration, OrderLine, child_rows("order", "o1", lines))
    assert result.created == 2
    assert list(OrderLine.objects.values_list("external_id", "order__external_id")) == [("o1/1", "o1"), ("o1/2", "o1")]

    assert mark_missing_children(integration, OrderLine, "order", ["o1"], ["o1/1"]) == 1
    assert OrderLine.objects.get(external_id="o1/2").deleted_at is not None

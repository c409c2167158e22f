"""The ORM write path (SQLite, the embedded default) behaves like the COPY path.

Runs on whichever database the suite uses: on PostgreSQL the ORM backend is forced, so both
paths are exercised in one run.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.base import RecordRow
from records import upsert
from records.models import Category, Product, StockLevel, SyncStatus
from records.upsert import mark_deleted, upsert_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def orm_path(monkeypatch):
    monkeypatch.setattr(upsert, "BACKENDS", {})


def row(ext: str, name: str, price: str = "1") -> RecordRow:
    return RecordRow(ext, {"name": name, "price": price}, refs={"category": "c1"}, payload={"id": ext, "n": name})


def test_orm_path_insert_update_skip_revive_and_failures(integration):
    upsert_rows(integration, Category, [RecordRow("c1", {"name": "Drinks"})])
    first = upsert_rows(integration, Product, [row("p1", "Tea"), row("p2", "Coffee"), row("bad", "x" * 600)])
    assert (first.created, first.failed) == (2, 1)
    assert Product.objects.get(external_id="p1").category.external_id == "c1"

    before = Product.objects.get(external_id="p2").updated_at
    second = upsert_rows(integration, Product, [row("p1", "Green tea", "2.5"), row("p2", "Coffee")])
    assert (second.created, second.updated, second.skipped) == (0, 1, 1)
    assert Product.objects.get(external_id="p2").updated_at == before
    p1 = Product.objects.get(external_id="p1")
    assert (p1.name, p1.price) == ("Green tea", Decimal("2.5"))

    mark_deleted(integration, Product, ["p2"])
    third = upsert_rows(integration, Product, [row("p2", "Coffee")])
    assert third.updated == 1
    p2 = Product.objects.get(external_id="p2")
    assert p2.deleted_at is None and p2.sync_status == SyncStatus.SYNCED
    assert Product.objects.count() == 2

    failed = upsert_rows(integration, StockLevel, [RecordRow("s1", {"quantity": 1}, refs={"product": "p1"})])
    assert failed.failed == 1 and "location" in failed.errors[0]["error"]

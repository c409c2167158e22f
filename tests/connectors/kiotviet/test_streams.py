"""KiotViet streams against the sandbox over real HTTP: paging, cursors, deletions, mapping, bad input."""

from __future__ import annotations

import pytest

from connectors.kiotviet.streams import STREAMS
from integrations.models import IntegrationLog
from records.models import (
    Account,
    Category,
    Charge,
    Customer,
    Invoice,
    InvoiceLine,
    Location,
    Order,
    OrderLine,
    Payment,
    Product,
    ProductRelation,
    StaffUser,
    StockLevel,
    Supplier,
)

from .conftest import read_all, run_sync

pytestmark = pytest.mark.django_db

SIZES = {"branches": 3, "categories": 5, "products": 23, "customers": 7, "users": 4, "suppliers": 3,
         "bankaccounts": 2, "surcharges": 2, "pricebooks": 2, "orders": 6, "invoices": 8, "returns": 3,
         "purchaseorders": 4, "transfers": 3, "cashflow": 5}


def test_products_page_through_every_record_once(kv):
    connector = kv(sizes=SIZES)
    pages = read_all(connector, "products", full=True)
    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) == 23
    # page size 10, 2 API pages per committed page: 3 API pages -> 2 committed pages + the final one.
    calls = IntegrationLog.objects.filter(integration=connector.integration, action="kiotviet.products.list")
    assert calls.count() == 3
    assert pages[-1].records == [] and pages[-1].cursor["since"]


def test_incremental_reads_only_changes_and_removed_ids(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    cursor = read_all(connector, "products", full=True)[-1].cursor
    changed = kv_sandbox.control(connector, "update", entity="products", ids=[1000003, 1000017])["updated"]
    deleted = kv_sandbox.control(connector, "delete", entity="products", count=1)["deleted"]

    pages = read_all(connector, "products", cursor)

    records = [r["id"] for p in pages for r in p.records]
    # The 2-second overlap re-reads the last generated products (1 s apart in the sandbox) too.
    assert set(changed) <= set(records) and records[-2:] == changed
    assert [i for p in pages for i in p.deleted_ids] == [str(d) for d in deleted] == ["1000023"]
    stock_gone = [i for p in read_all(connector, "stock", {"since": cursor["since"]}) for i in p.deleted_ids]
    assert stock_gone == ["1000023:3101", "1000023:3102", "1000023:3103"]  # its stock, in every branch


@pytest.mark.parametrize("exclusive", [False, True])
def test_reads_are_exact_whether_last_modified_from_is_inclusive_or_not(kv, kv_sandbox, exclusive):
    connector = kv(sizes=SIZES, config={"overlap_seconds": 0, "page_size": 2})
    kv_sandbox.control(connector, "set_since_bound", exclusive=exclusive)
    kv_sandbox.control(connector, "update", entity="products", ids=[1000001])
    full = read_all(connector, "products", full=True)
    cursor = full[-1].cursor

    assert sorted(r["id"] for p in full for r in p.records) == list(range(1000001, 1000024))
    assert not any(p.records for p in read_all(connector, "products", cursor))  # nothing new: nothing read
    kv_sandbox.control(connector, "update", entity="products", ids=[1000004, 1000009, 1000013])
    pages = read_all(connector, "products", cursor)

    assert [r["id"] for p in pages for r in p.records] == [1000004, 1000009, 1000013]

    # A bulk change: five rows share one modifiedDate, more than a page of 2 can hold.
    bulk = [1000002, 1000005, 1000006, 1000010, 1000020]
    kv_sandbox.control(connector, "update", entity="products", ids=bulk, same_time=True)
    pages = read_all(connector, "products", pages[-1].cursor)
    assert [r["id"] for p in pages for r in p.records] == bulk
    assert not any(p.records for p in read_all(connector, "products", pages[-1].cursor))


def test_a_resumed_read_continues_exactly_after_its_checkpoint(kv):
    connector = kv(sizes=SIZES)
    pages = read_all(connector, "products", full=True)
    first = [r["id"] for r in pages[0].records]

    resumed = read_all(connector, "products", pages[0].cursor)

    rest = [r["id"] for p in resumed for r in p.records]
    assert sorted(first + rest) == sorted(r["id"] for p in pages for r in p.records)


def test_full_sync_of_every_stream_maps_into_records(kv):
    connector = kv(sizes=SIZES)
    jobs = run_sync(connector, full=True)
    integ = connector.integration

    assert {name: job.status for name, job in jobs.items()} == {name: "completed" for name in STREAMS}
    assert {name: job.records_failed for name, job in jobs.items() if job.records_failed} == {}
    # KiotViet's list answers say how many rows the read holds: the progress bar shows "23 of 23".
    assert (jobs["products"].progress["total"], jobs["orders"].progress["total"]) == (23, 6)
    live = {"integration": integ}
    assert Location.objects.filter(**live, kind="branch").count() == 3
    assert Category.objects.filter(**live).count() == 5 and Category.objects.filter(**live, parent__isnull=False)
    assert Product.objects.filter(**live).count() == 23
    assert StockLevel.objects.filter(**live).count() == 23 * 3
    assert Customer.objects.filter(**live).count() == 7 and StaffUser.objects.filter(**live).count() == 4
    assert Supplier.objects.filter(**live).count() == 3 and Account.objects.filter(**live).count() == 2
    assert Charge.objects.filter(**live).count() == 2
    assert Order.objects.filter(**live, kind="sales").count() == 6
    assert Order.objects.filter(**live, kind="purchase").count() == 4
    assert Order.objects.filter(**live, kind="transfer", to_location__isnull=False).count() == 3
    assert Invoice.objects.filter(**live, kind="sales").count() == 8
    assert Invoice.objects.filter(**live, kind="return").count() == 3
    assert OrderLine.objects.filter(**live).count() and InvoiceLine.objects.filter(**live).count()
    assert Payment.objects.filter(**live, external_id__startswith="cf:").count() == 5
    assert Payment.objects.filter(**live, external_id__startswith="pay:", invoice__isnull=False).count() == 8
    kinds = set(ProductRelation.objects.filter(**live).values_list("kind", flat=True))
    assert {"attribute", "unit", "price", "serial", "batch", "warranty", "shelf"} <= kinds
    product = Product.objects.get(**live, external_id="1000005")
    assert product.currency == "VND" and product.attributes["brand"] and product.units and product.category

    again = run_sync(connector, full=True)  # nothing changed: nothing written, nothing duplicated
    assert sum(j.records_created + j.records_updated for j in again.values()) == 0
    assert Product.objects.filter(**live).count() == 23


def test_documents_deleted_at_kiotviet_are_marked_deleted_by_a_full_sync_each_kind_apart(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    run_sync(connector, full=True)
    integ = connector.integration
    entities = ["orders", "invoices", "returns", "purchaseorders", "transfers", "cashflow", "surcharges"]
    for entity in entities:  # the newest of each: KiotViet lists no removed ids for these
        kv_sandbox.control(connector, "delete", entity=entity, count=1)
    deleted = {"integration": integ, "deleted_at__isnull": False}

    run_sync(connector)  # incremental: cannot tell a deletion from no change
    assert sum(m.objects.filter(**deleted).count() for m in (Order, Invoice, Payment, Charge)) == 0

    jobs = run_sync(connector, full=True)

    assert {name: job.status for name, job in jobs.items()} == {name: "completed" for name in STREAMS}
    assert {jobs[n].records_deleted for n in ("orders", "invoices", "returns", "purchase-orders", "transfers",
                                              "cashflow", "surcharges")} == {1}
    for model, scope in ((Order, {"kind": "sales"}), (Order, {"kind": "purchase"}), (Order, {"kind": "transfer"}),
                         (Invoice, {"kind": "sales"}), (Invoice, {"kind": "return"}),
                         (Payment, {"external_id__startswith": "cf:"}), (Charge, {})):
        assert model.objects.filter(**deleted, **scope).count() == 1, (model, scope)
    # an invoice's own payments are rows of the invoices stream, not cash flow: none deleted
    assert not Payment.objects.filter(**deleted, external_id__startswith="pay:").exclude(
        invoice__deleted_at__isnull=False).exists()
    assert Order.objects.filter(integration=integ, kind="sales", deleted_at__isnull=True).count() == 6 - 1


def test_combo_components_come_from_the_product_detail(kv):
    connector = kv(sizes={**SIZES, "products": 100})
    run_sync(connector, ["categories", "branches", "products"], full=True)
    components = ProductRelation.objects.filter(integration=connector.integration, kind="component")
    assert components.exists() and {c.product.external_id for c in components} == {"1000097"}
    assert IntegrationLog.objects.filter(integration=connector.integration, action="kiotviet.products.get").count() == 1


def test_field_mapping_price_book_and_brand(kv):
    connector = kv(sizes=SIZES, config={"price_book_id": 12, "brand_attribute": "Khối lượng"})
    run_sync(connector, ["categories", "branches", "products"], full=True)
    product = Product.objects.get(integration=connector.integration, external_id="1000001")
    assert product.price == int(product.prices["12"].split(".")[0])
    assert product.attributes["brand"] == product.attributes["Khối lượng"]


def test_bad_records_fail_alone_with_a_clear_error(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    run_sync(connector, ["branches", "categories", "products"], full=True)
    kv_sandbox.control(connector, "update", entity="products", ids=[1000004], fields={"name": ""})
    kv_sandbox.control(connector, "update", entity="stock", ids=[1000006], fields={"99999": 5})

    jobs = run_sync(connector, ["products", "stock"])

    assert jobs["products"].status == "completed" and jobs["stock"].status == "completed"
    assert [e["external_id"] for e in jobs["products"].error_details] == ["1000004"]
    assert "missing name" in jobs["products"].error_details[0]["error"]
    stock_errors = jobs["stock"].error_details
    assert [e["external_id"] for e in stock_errors] == ["1000006:99999"]
    assert "location" in stock_errors[0]["error"] and "99999" in stock_errors[0]["error"]
    assert StockLevel.objects.filter(integration=connector.integration).count() == 23 * 3


def test_a_branch_opened_after_the_branches_job_becomes_a_location_when_stock_names_it(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    run_sync(connector, ["branches", "categories", "products"], full=True)
    kv_sandbox.control(connector, "set_sizes", sizes={**SIZES, "branches": 4})  # a fourth branch opens

    job = run_sync(connector, ["stock"], full=True)["stock"]

    assert job.status == "completed" and job.records_failed == 0
    integ = connector.integration
    assert Location.objects.get(integration=integ, external_id="3104").name
    assert StockLevel.objects.filter(integration=integ, location__external_id="3104").count() == 23
    # the branch list is read once for the run, not once per page
    assert IntegrationLog.objects.filter(integration=integ, action="kiotviet.stock.branches").count() == 1


def test_a_malformed_page_fails_its_records_not_the_job(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    run_sync(connector, ["branches", "categories"], full=True)
    kv_sandbox.control(connector, "fault", kind="malformed", path="/products")

    job = run_sync(connector, ["products"], full=True)["products"]

    assert job.status == "completed" and job.records_failed == 2
    errors = sorted(e["error"] for e in job.error_details)
    assert "expected an object" in errors[0] and "missing name" in errors[1]
    products = Product.objects.filter(integration=connector.integration)
    assert products.count() == 21  # the other 21 written; the two lost ones come with the next full sync
    run_sync(connector, ["products"], full=True)
    assert products.count() == 23


def test_relations_a_product_no_longer_has_are_marked_deleted(kv, kv_sandbox):
    connector = kv(sizes=SIZES)
    run_sync(connector, ["branches", "categories", "products"], full=True)
    relations = ProductRelation.objects.filter(integration=connector.integration, product__external_id="1000002")
    assert set(relations.values_list("kind", flat=True)) == {"attribute", "price"}
    brand = {"productId": 1000002, "attributeName": "Thương hiệu", "attributeValue": "Vinamilk"}
    kv_sandbox.control(connector, "update", entity="products", ids=[1000002],
                       fields={"attributes": [brand], "priceBooks": []})

    run_sync(connector, ["products"])

    live = relations.filter(deleted_at__isnull=True)
    assert list(live.values_list("external_id", flat=True)) == ["attribute:1000002:Thương hiệu"]
    assert relations.filter(deleted_at__isnull=False).count() == 3  # one attribute, two price-book prices
    others = ProductRelation.objects.filter(integration=connector.integration, deleted_at__isnull=False)
    assert others.count() == 3  # no other product's relations touched

"""End to end: sync jobs -> a real Celery worker -> the 1C OData sandbox over real HTTP -> records.

The worker is a separate process on the same PostgreSQL and Redis; it calls the sandbox served by
live_server. Each job is started as the API and beat start them (``syncjobs.services.start_sync``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest
import requests

from connectors.onec.schemas import DEFAULT_ENTITIES
from integrations.models import Integration, IntegrationLog
from records.models import (
    Category,
    Customer,
    Invoice,
    InvoiceLine,
    Location,
    Order,
    OrderLine,
    Product,
    ProductRelation,
    StockLevel,
    Supplier,
)
from sandboxes.onec.dataset import USER
from syncjobs.models import SyncJob
from syncjobs.services import start_sync
from tests.conftest import wait_for

from .conftest import SIZES

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]
STREAMS = ("categories", "products", "suppliers", "customers", "warehouses", "prices", "stock", "orders", "sales",
           "purchases")
FINISHED = ("completed", "failed", "skipped", "cancelled")


def sync(integration: Integration, streams: tuple[str, ...] = STREAMS, full: bool = False) -> dict[str, SyncJob]:
    ids = [job.pk for job in start_sync(integration, list(streams), full=full)]
    wait_for(lambda: SyncJob.objects.filter(pk__in=ids, status__in=FINISHED).count() == len(ids),
             timeout=120, message=f"1C sync jobs {streams} to finish")
    return {job.stream: job for job in SyncJob.objects.filter(pk__in=ids)}


def counterparties(flag: str) -> int:
    # The sandbox: counterparty n is a supplier unless n % 3 == 1, a customer unless n % 3 == 2.
    skip = 1 if flag == "supplier" else 2
    return sum(1 for n in range(1, SIZES["counterparties"] + 1) if n % 3 != skip)


def test_full_sync_of_every_stream_then_incremental_reads_less(celery_worker_proc, onec_integration, onec_sandbox):
    integ = onec_integration(config={"page_size": 10, "main_price_type": "Розничная", "timezone": "Europe/Moscow"})
    stock_rows = len(onec_sandbox.get("AccumulationRegister_ТоварыНаСкладах/Balance()").json()["value"])

    jobs = sync(integ, full=True)
    expected = {"categories": SIZES["groups"], "products": SIZES["products"],
                "suppliers": counterparties("supplier"), "customers": counterparties("customer"),
                "warehouses": SIZES["warehouses"], "prices": SIZES["products"] * SIZES["price_types"],
                "stock": stock_rows, "orders": SIZES["orders"], "sales": SIZES["sales"],
                "purchases": SIZES["purchases"]}
    assert {s: (j.status, j.records_created, j.records_failed) for s, j in jobs.items()} == {
        s: ("completed", n, 0) for s, n in expected.items()}, {s: j.error_message for s, j in jobs.items()}
    assert jobs["products"].pages == 3 and jobs["prices"].pages == 5  # $top=10: several pages each

    # References resolved: products -> groups (two levels), lines -> products, stock -> warehouses.
    assert not Product.objects.filter(integration=integ, category=None).exists()
    assert Category.objects.filter(integration=integ, parent__isnull=False).exists()
    assert OrderLine.objects.filter(integration=integ, product__isnull=False).count() == \
        SIZES["orders"] * SIZES["lines"]
    assert InvoiceLine.objects.filter(integration=integ, product__isnull=False).count() == \
        (SIZES["sales"] + SIZES["purchases"]) * SIZES["lines"]
    assert not StockLevel.objects.filter(integration=integ, location=None).exists()
    assert set(Location.objects.filter(integration=integ).values_list("kind", flat=True)) == {"warehouse", "store"}
    assert Invoice.objects.filter(integration=integ, kind="sales", order__isnull=False).count() == SIZES["sales"]
    assert Invoice.objects.filter(integration=integ, kind="purchase", supplier__isnull=False).count() == \
        SIZES["purchases"]
    assert Order.objects.filter(integration=integ, customer__isnull=False).count() == SIZES["orders"]
    assert Supplier.objects.filter(integration=integ).exclude(tax_id="").count() == expected["suppliers"]
    assert Customer.objects.filter(integration=integ, phone__startswith="+7").count() == expected["customers"]
    # Prices: a price-book row per type, the product's prices, and its price from the main type.
    priced = Product.objects.filter(integration=integ).first()
    retail = ProductRelation.objects.get(integration=integ, product=priced, kind="price", name="Розничная")
    assert priced.price == retail.amount and set(priced.prices) == {"Розничная", "Оптовая"}
    assert Order.objects.filter(integration=integ).first().ordered_at.utcoffset() is not None

    # Changes in 1C: two products edited, one marked for deletion, a new order, a price register unchanged.
    onec_sandbox.control("update", kind="products", ids=[2, 5])
    onec_sandbox.control("mark_deleted", kind="products", ids=[7])
    onec_sandbox.control("create", kind="orders", count=1)
    onec_sandbox.control("remove", kind="counterparties", ids=[4])  # a customer deleted physically
    inc = sync(integ)
    assert {s: j.status for s, j in inc.items()} == {s: "completed" for s in STREAMS}
    # Products: the listing of versions, then only the two changed objects fetched by key.
    assert (inc["products"].records_processed, inc["products"].records_updated,
            inc["products"].records_deleted) == (2, 2, 1)
    assert inc["categories"].records_processed == 0 and inc["suppliers"].records_processed == 0
    assert (inc["customers"].records_processed, inc["customers"].records_deleted) == (0, 1)
    assert inc["orders"].records_created == 1 and inc["orders"].records_processed < SIZES["orders"]
    names = Product.objects.filter(integration=integ, name__contains="(v2)").count()
    assert names == 2
    marked = Product.objects.get(integration=integ, deleted_at__isnull=False)
    assert marked.payload["DeletionMark"] is False  # soft-deleted from its mark; the last copy read is kept
    calls = IntegrationLog.objects.filter(sync_job_id=inc["products"].pk, action="1c.products.list")
    urls = [unquote_plus(u) for u in calls.values_list("endpoint", flat=True).order_by("created_at", "pk")]
    assert len(urls) == 4 and "Ref_Key eq guid'" in urls[-1]  # 3 pages of versions, then one by key
    assert all("$select=Ref_Key,DataVersion,DeletionMark&" in u for u in urls[:3])

    # Un-marking brings the product back; a full run re-reads everything and changes nothing else.
    onec_sandbox.control("unmark", kind="products", ids=[7])
    again = sync(integ, ("products",))
    assert again["products"].records_updated == 1 and Product.objects.get(pk=marked.pk).deleted_at is None
    onec_sandbox.control("remove", kind="orders", ids=[2])  # gone from 1C: only a full listing can tell
    full = sync(integ, ("products", "orders"), full=True)
    assert full["products"].records_processed == SIZES["products"] and full["products"].records_updated == 0
    assert full["orders"].records_deleted == 1 and full["orders"].records_processed == SIZES["orders"]
    gone = Order.objects.get(integration=integ, number="ЗК00-000002")
    assert gone.deleted_at is not None
    assert not OrderLine.objects.filter(order=gone, deleted_at__isnull=True).exists()  # its lines follow it


def fault_sync(box, integ: Integration, stream: str, **fault: Any) -> SyncJob:
    box.control("clear_faults")
    box.control("fault", count=20, **fault)
    job = sync(integ, (stream,))[stream]
    box.control("clear_faults")
    return job


def test_every_fault_class_is_a_clear_per_stream_error(celery_worker_proc, onec_integration, onec_sandbox):
    integ = onec_integration(config={"page_size": 10})
    # Documents first: a stream whose dependency's last job failed is skipped, not run.
    cases = [
        ({"kind": "forbidden", "path": "ЗаказКлиента"}, "orders", "config",
         "no right to read it (403: 1C error 5: Недостаточно прав"),
        ({"kind": "malformed", "path": "ПриобретениеТоваров"}, "purchases", "fatal", "not JSON"),
        ({"kind": "odata_error", "status": 400, "code": "14", "message": "Неверное значение свойства 'Поставщик'",
          "path": "Контрагенты"}, "suppliers", "config", "1C error 14: Неверное значение свойства 'Поставщик'"),
        ({"kind": "odata_error", "path": "Контрагенты"}, "customers", "transient",
         "1C error -1: Произошла внутренняя ошибка OData сервиса"),
        ({"kind": "exception", "path": "Склады"}, "warehouses", "transient",
         "1C platform exception: Не обнаружено свободной лицензии!"),
        ({"kind": "html", "status": 502, "path": "Номенклатура"}, "categories", "transient",
         "HTML page ('502 Bad Gateway')"),
        ({"kind": "html", "status": 200, "path": "Номенклатура"}, "categories", "fatal",
         "instead of 1C's OData JSON: is the base URL the publication's address?"),
    ]
    for fault, stream, kind, message in cases:
        job = fault_sync(onec_sandbox, integ, stream, **fault)
        assert job.status == "failed", (fault, job.status)
        assert message in job.error_message and f"{stream} ({DEFAULT_ENTITIES[stream]})" in job.error_message, \
            (fault, job.error_message)
        assert job.error_kind == kind, (fault, job.error_kind, job.error_message)

    onec_sandbox.control("unpublish", entity="Catalog_Склады")
    missing = sync(integ, ("warehouses",))["warehouses"]
    assert missing.status == "failed" and missing.error_kind == "config"
    assert "warehouses (Catalog_Склады) is not published in this infobase's standard OData interface (404" in \
        missing.error_message
    onec_sandbox.control("publish", entity="Catalog_Склады")

    # A wrong password: a 401 said as such, the integration flagged; the worker is still there.
    integ.credentials = {"username": USER, "password": "неверный"}
    integ.save()
    refused = sync(integ, ("warehouses",))["warehouses"]
    assert refused.status == "failed" and refused.error_kind == "auth"
    assert "1C refused the user name or password (401)" in refused.error_message
    assert "неверный" not in refused.error_message
    logged = IntegrationLog.objects.filter(integration=integ).values_list(
        "endpoint", "request_excerpt", "response_excerpt", "error_message")
    assert not any(secret in str(row) for row in logged for secret in ("неверный", onec_sandbox.password))
    integ.credentials = onec_sandbox.credentials
    integ.save()
    healed = sync(integ, ("warehouses", "suppliers"))
    assert {s: j.status for s, j in healed.items()} == {"warehouses": "completed", "suppliers": "completed"}
    assert celery_worker_proc.proc.poll() is None


def test_demo_seed_integration_syncs_from_the_sandbox(celery_worker_proc, org, live_server, settings):
    from connectors.onec.seed import demo_integrations

    [spec] = demo_integrations(live_server.url)
    integ = Integration.objects.create(organization=org, **spec)
    requests.post(f"{live_server.url}/sandbox/1c/_control", timeout=10, json={
        "publication": "demo-trade", "password": spec["credentials"]["password"], "action": "reset"})
    jobs = sync(integ, full=True)
    assert {s: j.status for s, j in jobs.items()} == {s: "completed" for s in STREAMS}, \
        {s: j.error_message for s, j in jobs.items()}
    assert Product.objects.filter(integration=integ, price__isnull=False).count() == 30
    # Counterparty 10 of the 10 is marked for deletion in 1C: listed, not written; 6 live customers of 7.
    assert Customer.objects.filter(integration=integ).count() == jobs["customers"].records_processed == 6


def test_a_run_failing_midway_resumes_at_its_page(celery_worker_proc, onec_integration, onec_sandbox):
    integ = onec_integration(config={"page_size": 10})
    # The third page of products fails with 1C's internal error, past the HTTP client's retries
    # (the requests: page 1, the units lookup, page 2, then page 3).
    onec_sandbox.control("fault", kind="odata_error", path="Номенклатура", after=3, count=10)
    failed = sync(integ, ("products",), full=True)["products"]
    assert failed.status == "failed" and failed.pages == 2 and failed.records_created == 20
    assert "1C error -1: Произошла внутренняя ошибка OData сервиса" in failed.error_message
    onec_sandbox.control("clear_faults")
    resumed = sync(integ, ("products",))["products"]
    assert resumed.status == "completed" and resumed.cursor_before == {"skip": 20}
    assert (resumed.records_processed, resumed.records_created) == (SIZES["products"] - 20, SIZES["products"] - 20)
    assert Product.objects.filter(integration=integ, deleted_at=None).count() == SIZES["products"]

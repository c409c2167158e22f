"""End to end with a real Celery worker: API -> job -> worker -> Demo Store sandbox (HTTP) -> records.

Also the bad days: a provider failing midway, a worker SIGKILLed mid-sync, a cancel while running.
Re-runs resume from the last committed page and never duplicate a record.
"""

from __future__ import annotations

import time

import pytest

from records.models import Category, Order, OrderLine, PendingReference, Product, StockLevel
from syncjobs.models import JobStatus, SyncJob
from syncjobs.tasks import reap_stale_jobs
from tests.conftest import start_worker, wait_for

from .conftest import PAGE_SIZE, SIZES

pytestmark = [pytest.mark.worker, pytest.mark.postgres]
PRODUCTS = SIZES["products"]


def sync(client, integration, *streams, **body) -> list[int]:
    resp = client.post(f"/api/v1/integrations/{integration.pk}/sync", {"streams": list(streams), **body},
                       format="json")
    assert resp.status_code == 202, resp.content
    return resp.json()["jobs"]


def finished(*job_ids: int, timeout: float = 60) -> list[SyncJob]:
    def done():
        jobs = list(SyncJob.objects.filter(pk__in=job_ids).order_by("pk"))
        return jobs if all(j.status not in ("pending", "running") for j in jobs) else None

    return wait_for(done, timeout=timeout, message=f"sync jobs {job_ids} to finish")


def running_past(job_id: int, pages: int) -> SyncJob:
    return wait_for(lambda: SyncJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, pages__gte=pages).first(),
                    timeout=30, message=f"job {job_id} to commit {pages} pages")


def test_api_sync_on_the_worker_then_an_incremental_run(api, demo_integration, sandbox, celery_worker_proc):
    sandbox.control("update", entity="products", ids=[5], fields={"cost": "not-a-number"})

    categories, products = finished(*sync(api, demo_integration, "products", "categories"))

    assert (categories.status, products.status) == ("completed", "completed"), products.error_message
    assert categories.completed_at <= products.started_at  # dependency order: categories first
    detail = api.get(f"/api/v1/sync-jobs/{products.pk}").json()
    assert detail["counts"] | {"pages": 0} == {"processed": PRODUCTS, "created": PRODUCTS - 1, "updated": 0,
                                              "skipped": 0, "failed": 1, "deleted": 0, "pages": 0}
    assert detail["error_details"][0]["external_id"] == "5"
    assert Category.objects.filter(integration=demo_integration).count() == SIZES["categories"]
    assert Product.objects.filter(integration=demo_integration, category__isnull=False).count() == PRODUCTS - 1

    sandbox.control("update", entity="products", ids=[5], fields={"cost": "1.50"})  # fixed at the source
    sandbox.control("update", entity="products", ids=[8, 9])
    deleted = sandbox.control("delete", entity="products", count=2)["deleted"]
    (again,) = finished(*sync(api, demo_integration, "products"))

    assert again.status == "completed" and again.cursor_before == products.cursor_after
    assert (again.records_processed, again.records_created, again.records_updated, again.records_deleted) == (
        3, 1, 2, 2)
    assert Product.objects.filter(integration=demo_integration, deleted_at__isnull=True).count() == PRODUCTS - 2
    assert set(Product.objects.filter(deleted_at__isnull=False).values_list("external_id", flat=True)) == {
        str(i) for i in deleted}


def test_provider_failing_midway_then_rerun_resumes(api, api_client_for, org, demo_integration, sandbox,
                                                    celery_worker_proc):
    # From the third page on, 500s: past the HTTP client's retries and the task's one re-run.
    sandbox.control("fault", kind="status", status=500, after=2, count=1000)

    (failed,) = finished(*sync(api, demo_integration, "products"))

    assert (failed.status, failed.error_kind, failed.attempts, failed.pages) == ("failed", "transient", 2, 2)
    assert "500" in failed.error_message
    assert Product.objects.filter(integration=demo_integration).count() == 2 * PAGE_SIZE

    sandbox.control("clear_faults")
    resp = api_client_for(org, "manager").post(f"/api/v1/sync-jobs/{failed.pk}/rerun")
    assert resp.status_code == 202
    (rerun,) = finished(resp.json()["id"])

    assert rerun.status == "completed" and rerun.cursor_before == failed.cursor_after
    assert rerun.records_processed == rerun.records_created == PRODUCTS - 2 * PAGE_SIZE
    assert Product.objects.filter(integration=demo_integration).count() == PRODUCTS


@pytest.fixture
def fast_recovery(monkeypatch):
    """Worker settings for recovery in seconds: a killed worker's messages come back after 3 s, a
    dependent looks again every 0.3 s (set before the worker starts: it reads its environment)."""
    monkeypatch.setenv("BROKER_VISIBILITY_TIMEOUT", "3")
    monkeypatch.setenv("SYNC_DEPENDENCY_WAIT_SECONDS", "0.3")


def test_worker_killed_mid_full_sync_dependents_wait_and_the_job_retries_and_resumes(
    api, demo_integration, sandbox, fast_recovery, celery_worker_proc, settings, tmp_path
):
    """The issue's experiment, small: SIGKILL mid full products sync, with stock and orders behind it."""
    first = finished(*sync(api, demo_integration, "locations", "categories", "customers", full=True))
    assert {j.status for j in first} == {"completed"}
    sandbox.control("fault", kind="hang", seconds=5, after=2, count=1)  # the third products page takes long
    products_id, stock_id, orders_id = sync(api, demo_integration, "products", "stock-levels", "orders", full=True)
    running_past(products_id, 2)
    time.sleep(0.3)  # inside the slow third page
    celery_worker_proc.kill()

    settings.SYNC_HEARTBEAT_STALE_SECONDS = 1
    wait_for(lambda: reap_stale_jobs()["reaped"], timeout=10, message="the reaper to take the lost job")
    lost = SyncJob.objects.get(pk=products_id)
    # Not failed for good: pending again, its attempt and next try visible, resuming at page 3.
    assert (lost.status, lost.error_kind, lost.attempts, lost.pages) == ("pending", "worker_lost", 1, 2)
    assert lost.next_retry_at is not None and "retrying in" in lost.error_message
    assert [j.status for j in SyncJob.objects.filter(pk__in=[stock_id, orders_id])] == ["pending", "pending"]
    assert not StockLevel.objects.filter(integration=demo_integration).exists()
    assert not OrderLine.objects.filter(integration=demo_integration).exists()

    # No rerun, no manual step: a new worker takes the retry (queued by the reaper) and, once the
    # killed worker's message comes back, the dependents behind it.
    (tmp_path / "second").mkdir()
    worker = start_worker(tmp_path / "second", keep_messages=True)
    try:
        products, stock, orders = finished(products_id, stock_id, orders_id, timeout=60)
    except BaseException:  # what the jobs and the worker were doing, for the failure report
        for j in SyncJob.objects.filter(pk__in=[products_id, stock_id, orders_id]).order_by("pk"):
            print(j.pk, j.stream, j.status, j.attempts, j.pages, j.error_kind, j.error_message, j.next_retry_at)
        print(worker.log()[-6000:])
        raise
    finally:
        worker.stop()

    assert (products.status, stock.status, orders.status) == ("completed",) * 3, (
        products.error_message, stock.error_message, orders.error_message)
    # Resumed from its last committed page: every product read and created once over the two attempts.
    assert products.attempts == 2 and products.progress["resumed_from"]
    assert products.records_processed == products.records_created == PRODUCTS
    assert Product.objects.filter(integration=demo_integration).count() == PRODUCTS
    # The dependents started only once every product was there, and found every reference.
    assert stock.started_at >= products.completed_at and orders.started_at >= products.completed_at
    assert (stock.attempts, stock.records_failed, orders.records_failed) == (1, 0, 0)
    stock_rows = StockLevel.objects.filter(integration=demo_integration)
    assert stock_rows.count() == PRODUCTS * SIZES["locations"] == stock.records_created
    lines = OrderLine.objects.filter(integration=demo_integration)
    expected_lines = sum(len(o.payload["lines"]) for o in Order.objects.filter(integration=demo_integration))
    assert Order.objects.filter(integration=demo_integration).count() == SIZES["orders"]
    assert lines.count() == expected_lines > 0
    assert not lines.filter(product__isnull=True).exists() and not lines.exclude(sync_error="").exists()
    assert not PendingReference.objects.filter(integration=demo_integration).exists()


def test_cancel_stops_a_running_sync_at_the_next_page(api, demo_integration, sandbox, celery_worker_proc):
    sandbox.control("fault", kind="hang", seconds=1.5, after=1, count=1)  # the second page takes long
    (job_id,) = sync(api, demo_integration, "products")
    running_past(job_id, 1)

    resp = api.post(f"/api/v1/sync-jobs/{job_id}/cancel")
    assert resp.status_code == 200 and resp.json()["cancel_requested"] is True
    (job,) = finished(job_id)

    assert (job.status, job.pages) == ("cancelled", 2)  # the page in flight is kept, no further page read
    assert Product.objects.filter(integration=demo_integration).count() == 2 * PAGE_SIZE

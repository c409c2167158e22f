"""The runner in this process against the Demo Store sandbox over real HTTP (live_server)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from integrations.models import IntegrationLog
from records.models import Product
from syncjobs.models import JobStatus, SyncJob, SyncState
from syncjobs.runner import run_job
from syncjobs.services import rerun_job, start_sync
from tests.conftest import wait_for

from .conftest import PAGE_SIZE, SIZES

pytestmark = [pytest.mark.postgres]
PRODUCTS = SIZES["products"]
PRODUCT_PAGES = -(-PRODUCTS // PAGE_SIZE)


def run(integration, streams=("products",), **kw) -> SyncJob:
    job = start_sync(integration, streams=list(streams), **kw)[-1]
    outcome = run_job(job.pk)
    job.refresh_from_db()
    assert outcome.status == job.status
    return job


def live_products(integration):
    return Product.objects.filter(integration=integration, deleted_at__isnull=True)


def test_first_run_imports_every_record_and_checkpoints(demo_integration):
    job = run(demo_integration)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert (job.records_processed, job.records_created, job.records_updated, job.records_failed) == (
        PRODUCTS, PRODUCTS, 0, 0)
    assert job.pages == PRODUCT_PAGES
    assert job.progress["records"] == PRODUCTS
    assert live_products(demo_integration).count() == PRODUCTS
    state = SyncState.objects.get(integration=demo_integration, stream="products")
    assert state.cursor == job.cursor_after and state.cursor["last_id"] == PRODUCTS
    assert state.resume_cursor is None and state.last_success_at
    demo_integration.refresh_from_db()
    assert demo_integration.last_sync_at and demo_integration.next_sync_at > demo_integration.last_sync_at
    assert demo_integration.metadata["sync"]["products"]["created"] == PRODUCTS
    actions = set(IntegrationLog.objects.filter(sync_job_id=job.pk).values_list("action", flat=True))
    assert {"sync.started", "sync.completed", "demo.products.list"} <= actions


def test_incremental_run_reads_only_changes_and_deletions(demo_integration, sandbox):
    run(demo_integration)
    sandbox.control("update", entity="products", ids=[3, 7, 11])
    deleted = sandbox.control("delete", entity="products", count=2)["deleted"]

    job = run(demo_integration)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert (job.records_processed, job.records_updated, job.records_created, job.records_deleted) == (3, 3, 0, 2)
    assert live_products(demo_integration).count() == PRODUCTS - 2
    assert set(Product.objects.filter(deleted_at__isnull=False).values_list("external_id", flat=True)) == {
        str(i) for i in deleted}
    assert Product.objects.get(integration=demo_integration, external_id="7").name.endswith("(v2)")


def test_one_bad_record_fails_alone(demo_integration, sandbox):
    sandbox.control("update", entity="products", ids=[5], fields={"cost": "not-a-number"})

    job = run(demo_integration)

    assert job.status == JobStatus.COMPLETED
    assert (job.records_failed, job.records_created) == (1, PRODUCTS - 1)
    assert job.error_details[0]["external_id"] == "5" and "not a number" in job.error_details[0]["error"]
    assert not Product.objects.filter(integration=demo_integration, external_id="5").exists()


def test_fault_midway_fails_and_rerun_resumes_from_checkpoint(demo_integration, sandbox, settings):
    settings.SYNC_TRANSIENT_RETRIES = 0
    sandbox.control("fault", kind="status", status=500, after=2, count=50)

    failed = run(demo_integration)

    assert failed.status == JobStatus.FAILED and failed.error_kind == "transient"
    assert failed.pages == 2 and live_products(demo_integration).count() == 2 * PAGE_SIZE
    demo_integration.refresh_from_db()
    assert demo_integration.consecutive_failures == 1 and demo_integration.status == "active"

    sandbox.control("clear_faults")
    rerun = rerun_job(failed)
    run_job(rerun.pk)
    rerun.refresh_from_db()

    assert rerun.status == JobStatus.COMPLETED and rerun.retry_of_id == failed.pk
    assert rerun.cursor_before == failed.cursor_after and rerun.progress["resumed_from"]
    assert (rerun.records_processed, rerun.records_created) == (PRODUCTS - 2 * PAGE_SIZE, PRODUCTS - 2 * PAGE_SIZE)
    assert Product.objects.filter(integration=demo_integration).count() == PRODUCTS
    demo_integration.refresh_from_db()
    assert demo_integration.consecutive_failures == 0


def test_transient_failure_is_requeued_then_resumes(demo_integration, sandbox):
    sandbox.control("fault", kind="status", status=503, after=1, count=3)  # past the HTTP client's 2 retries
    job = start_sync(demo_integration, streams=["products"])[0]

    outcome = run_job(job.pk)
    job.refresh_from_db()
    assert 0.1 <= outcome.retry_in <= 0.2 and job.status == JobStatus.PENDING and job.pages == 1
    assert job.next_retry_at is not None and job.attempts == 1

    early = run_job(job.pk)  # a copy of the message before the backoff: not an attempt
    assert early.status == JobStatus.PENDING and 0 < early.retry_in <= 0.2
    time.sleep(early.retry_in)
    assert run_job(job.pk).status == JobStatus.COMPLETED
    job.refresh_from_db()
    assert (job.attempts, job.records_created, job.records_processed) == (2, PRODUCTS, PRODUCTS)


def test_auth_error_flags_the_integration_and_failures_disable_it(demo_integration, settings):
    settings.SYNC_FAILURE_WARN_AFTER = 1
    settings.SYNC_FAILURE_DISABLE_AFTER = 2
    demo_integration.credentials = {**demo_integration.credentials, "client_secret": "wrong"}
    demo_integration.save()

    job = run(demo_integration)

    assert (job.status, job.error_kind) == (JobStatus.FAILED, "auth"), job.error_message
    demo_integration.refresh_from_db()
    assert demo_integration.consecutive_failures == 1 and demo_integration.status == "error"
    assert demo_integration.connection_error == job.error_message
    assert IntegrationLog.objects.filter(integration=demo_integration, action="sync.failing").exists()

    run(demo_integration)
    demo_integration.refresh_from_db()
    assert demo_integration.status == "inactive" and "Disabled after 2" in demo_integration.connection_error
    assert IntegrationLog.objects.filter(integration=demo_integration, action="integration.disabled").count() == 1


def test_full_run_with_dependencies_in_order_and_second_claim_does_nothing(demo_integration):
    jobs = start_sync(demo_integration, streams=["orders", "products", "categories"], full=True)
    assert [j.stream for j in jobs] == ["categories", "products", "orders"]
    for job in jobs:
        assert run_job(job.pk).status == JobStatus.COMPLETED
        assert run_job(job.pk).status == "not_claimed"
    order_job = SyncJob.objects.get(pk=jobs[-1].pk)
    assert order_job.progress["extra"]["records.OrderLine"]["created"] > 0
    assert Product.objects.filter(integration=demo_integration, category__isnull=False).count() == PRODUCTS


def test_a_reaped_job_whose_worker_was_only_slow_stops_writing(demo_integration, sandbox):
    """The reaper gave up on a slow worker: when it wakes up it must not write a page more."""
    sandbox.control("fault", kind="hang", seconds=1, after=1, count=1)  # the second page is slow
    job = start_sync(demo_integration, streams=["products"])[0]
    outcome = {}

    def work():
        try:
            outcome["value"] = run_job(job.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    wait_for(lambda: SyncJob.objects.filter(pk=job.pk, pages=1).exists(), timeout=10, message="first page")
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_kind="worker_lost")
    thread.join(15)

    assert outcome["value"].status == "lost"
    job.refresh_from_db()
    assert (job.status, job.pages) == (JobStatus.FAILED, 1)
    assert live_products(demo_integration).count() == PAGE_SIZE

"""A stream never runs against half its references: it waits while a stream it depends on is pending or
running, and is skipped, with the reason, when that stream's last job failed. References written
before their records arrived are linked when they do. In this process, through the real runner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import IntegrationLog
from records.models import Order, OrderLine, PendingReference, Product
from syncjobs.models import JobStatus, SyncJob
from syncjobs.runner import dependency_block, run_job
from syncjobs.services import start_sync

from .conftest import SIZES

pytestmark = [pytest.mark.postgres]


def test_a_dependent_waits_while_its_dependency_runs_and_is_skipped_when_it_failed(idle_integration, settings):
    settings.SYNC_DEPENDENCY_WAIT_SECONDS = 7
    products, stock = start_sync(idle_integration, streams=["stock-levels", "products"])
    SyncJob.objects.filter(pk=products.pk).update(status=JobStatus.RUNNING)

    outcome = run_job(stock.pk)

    stock.refresh_from_db()
    assert (outcome.status, outcome.retry_in) == (JobStatus.PENDING, 7)
    assert (stock.status, stock.attempts, stock.started_at) == (JobStatus.PENDING, 0, None)  # not an attempt
    assert stock.error_message == f"waiting for products (job #{products.pk} is running)"
    assert stock.queued_at > timezone.now() + timedelta(seconds=5)  # the reaper does not take it for lost
    assert IntegrationLog.objects.filter(sync_job_id=stock.pk, action="sync.waiting").count() == 1
    run_job(stock.pk)
    assert IntegrationLog.objects.filter(sync_job_id=stock.pk, action="sync.waiting").count() == 1  # logged once

    SyncJob.objects.filter(pk=products.pk).update(status=JobStatus.FAILED, error_kind="transient",
                                                  error_message="HTTP 503 from the provider")
    assert run_job(stock.pk).status == JobStatus.SKIPPED

    stock.refresh_from_db()
    assert (stock.status, stock.error_kind, stock.attempts) == (JobStatus.SKIPPED, "dependency", 0)
    assert stock.error_message == (f"products did not finish (job #{products.pk} failed: "
                                   "transient: HTTP 503 from the provider)")
    assert IntegrationLog.objects.filter(sync_job_id=stock.pk, action="sync.skipped").exists()

    # Until products completes, a later request of another of its dependents is skipped as well.
    (orders,) = start_sync(idle_integration, streams=["orders"])
    wait, reason = dependency_block(orders)
    assert not wait and reason.startswith("products did not finish")


def test_a_dependent_gives_up_waiting_after_the_maximum(idle_integration, settings):
    settings.SYNC_DEPENDENCY_MAX_WAIT_SECONDS = 60
    products, stock = start_sync(idle_integration, streams=["products", "stock-levels"])
    SyncJob.objects.filter(pk=products.pk).update(status=JobStatus.RUNNING)
    SyncJob.objects.filter(pk=stock.pk).update(created_at=timezone.now() - timedelta(seconds=61))

    assert run_job(stock.pk).status == JobStatus.SKIPPED
    stock.refresh_from_db()
    assert stock.error_message.startswith("gave up after 60")


def test_a_dependency_never_synced_does_not_block_and_its_records_are_linked_when_they_arrive(
    demo_integration, sandbox
):
    (orders,) = start_sync(demo_integration, streams=["orders"], full=True)
    assert dependency_block(orders) is None
    assert run_job(orders.pk).status == JobStatus.COMPLETED

    lines = OrderLine.objects.filter(integration=demo_integration)
    expected = sum(len(order.payload["lines"]) for order in Order.objects.filter(integration=demo_integration))
    assert lines.count() == expected > 0
    assert not lines.filter(product__isnull=False).exists()  # no product synced yet
    assert PendingReference.objects.filter(integration=demo_integration, field="product").count() == expected

    (products,) = start_sync(demo_integration, streams=["products"], full=True)
    assert run_job(products.pk).status == JobStatus.COMPLETED

    assert Product.objects.filter(integration=demo_integration).count() == SIZES["products"]
    assert lines.filter(product__isnull=True).count() == 0
    assert lines.exclude(sync_error="").count() == 0
    assert not PendingReference.objects.filter(integration=demo_integration, field="product").exists()
    for line in lines.select_related("product"):
        assert line.product.external_id == str(line.payload["product_id"])

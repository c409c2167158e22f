"""Fairness in the sync pool: one organization's jobs never take every slot (issue 12, item 8)."""

from __future__ import annotations

import time
import uuid

import pytest

from integrations.models import Integration
from syncjobs.models import JobStatus, SyncJob
from syncjobs.services import start_sync
from syncjobs.tasks import OrganizationSlot, _redis
from tests.conftest import start_worker, wait_for

from .conftest import PAGE_SIZE, Sandbox

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _cap_one(settings, monkeypatch):
    settings.SYNC_MAX_JOBS_PER_ORGANIZATION = 1
    settings.SYNC_ORG_CAP_RETRY_SECONDS = 0.5
    monkeypatch.setenv("SYNC_MAX_JOBS_PER_ORGANIZATION", "1")
    monkeypatch.setenv("SYNC_ORG_CAP_RETRY_SECONDS", "0.5")


@pytest.fixture(autouse=True)
def _clean_slots():
    _redis().delete(*(_redis().keys("syncjobs:org-slots:*") or ["-"]))
    yield
    _redis().delete(*(_redis().keys("syncjobs:org-slots:*") or ["-"]))


def test_slots_cap_an_organization_and_free_on_release_or_expired_lease(settings, org, other_org):
    a1, a2 = OrganizationSlot(org.pk, _running_job(org).pk), OrganizationSlot(org.pk, _running_job(org).pk)
    b1 = OrganizationSlot(other_org.pk, _running_job(other_org).pk)
    assert a1.acquire() is True
    assert a2.acquire() is False  # same organization: over the cap of 1
    assert b1.acquire() is True  # another organization is not affected
    a1.release()
    assert a2.acquire() is True
    a2.release()
    b1.release()


def _running_job(organization) -> SyncJob:
    code = f"elsewhere-{uuid.uuid4().hex[:6]}"
    integ = Integration.objects.create(organization=organization, name=code, code=code,
                                       provider="demo", base_url="http://127.0.0.1:9/", credentials={})
    return SyncJob.objects.create(organization=organization, integration=integ, stream="products",
                                  status=JobStatus.RUNNING, celery_task_id=str(uuid.uuid4()))


@pytest.mark.django_db
def test_a_dead_workers_slot_frees_when_its_lease_ends_or_its_job_is_reaped(settings, org):
    settings.SYNC_ORG_SLOT_LEASE_SECONDS = 0.5
    job = _running_job(org)
    dead = OrganizationSlot(org.pk, job.pk)
    assert dead.acquire() is True
    dead._stop.set()  # a worker killed mid-job: nobody renews or releases its slot
    assert OrganizationSlot(org.pk, 5).acquire() is False  # its job still runs (as far as anyone knows)
    time.sleep(0.7)
    assert OrganizationSlot(org.pk, 5).acquire() is True  # the lease ran out
    OrganizationSlot(org.pk, 5).release()

    settings.SYNC_ORG_SLOT_LEASE_SECONDS = 120
    assert OrganizationSlot(org.pk, job.pk).acquire() is True
    assert OrganizationSlot(org.pk, 6).acquire() is False
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)  # what reap_stale_jobs does
    assert OrganizationSlot(org.pk, 6).acquire() is True  # no need to wait two minutes for the lease


def _demo(organization, live_server, name: str) -> Integration:
    box = Sandbox(f"{live_server.url}/sandbox/demo", f"fair-{uuid.uuid4().hex[:10]}")
    box.control("set_sizes", sizes={"locations": 2, "categories": 4, "products": 30, "customers": 3, "orders": 3})
    return Integration.objects.create(
        organization=organization, name=name, code=name, provider="demo", base_url=box.base_url,
        credentials=box.credentials, config={"page_size": PAGE_SIZE, "price_list": "retail"},
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_capped_organization_waits_in_the_queue_while_another_tenant_runs(org, other_org, live_server, tmp_path):
    busy = [_demo(org, live_server, f"acme-{i}") for i in range(2)]
    other = _demo(other_org, live_server, "globex")
    # Organization ``org`` already runs a job elsewhere (its one slot is taken).
    elsewhere_job = _running_job(org)
    elsewhere = OrganizationSlot(org.pk, elsewhere_job.pk)
    assert elsewhere.acquire()
    worker = start_worker(tmp_path, queues="sync", concurrency=2, name="sync")
    try:
        acme_jobs = [job.pk for integ in busy for job in start_sync(integ, ["categories"])]
        (globex_job,) = [job.pk for job in start_sync(other, ["categories"])]
        wait_for(lambda: SyncJob.objects.get(pk=globex_job).status == JobStatus.COMPLETED, timeout=60,
                 message="the other tenant's job completed")
        time.sleep(2)  # several deferrals later, the capped jobs have still not run
        assert set(SyncJob.objects.filter(pk__in=acme_jobs).values_list("status", flat=True)) == {JobStatus.PENDING}
        assert "deferred: its organization already runs its maximum" in worker.log()

        elsewhere.release()
        wait_for(lambda: all(s == JobStatus.COMPLETED for s in
                             SyncJob.objects.filter(pk__in=acme_jobs).values_list("status", flat=True)),
                 timeout=60, message="the capped jobs completed once a slot was free")
        first, second = SyncJob.objects.filter(pk__in=acme_jobs).order_by("started_at")
        assert first.completed_at <= second.started_at  # one at a time for this organization
    finally:
        worker.stop()

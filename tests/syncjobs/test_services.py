"""start_sync / cancel_job / rerun_job: validation, ordering, one active job per stream, queueing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from integrations.models import Integration
from syncjobs import services
from syncjobs.models import JobStatus, SyncJob
from syncjobs.services import JobStateError, UnknownStreamError, cancel_job, rerun_job, start_sync

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_streams_validated_and_ordered_by_dependencies(idle_integration):
    with pytest.raises(UnknownStreamError, match="'nope'.*available: locations"):
        start_sync(idle_integration, streams=["products", "nope"])
    assert not SyncJob.objects.exists()

    jobs = start_sync(idle_integration, streams=["stock-levels", "orders", "categories", "products"], full=True)

    assert [j.stream for j in jobs] == ["categories", "products", "stock-levels", "orders"]
    assert {(j.status, j.job_type, j.trigger) for j in jobs} == {("pending", "full", "api")}
    assert [j.stream for j in start_sync(idle_integration)][:3] == ["locations", "categories", "products"]


def test_jobs_are_queued_after_commit_as_one_chain(idle_integration, sync_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs = start_sync(idle_integration, streams=["products", "categories"])
    assert sync_queue() == []  # nothing before the commit: a worker would not find the jobs
    for callback in callbacks:
        callback()
    # A chain: the first job is queued, the second travels in its message and runs after it.
    assert sync_queue() == [jobs[0].pk]


def test_an_active_stream_is_not_queued_twice(idle_integration, sync_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = start_sync(idle_integration, streams=["products"])[0]
        SyncJob.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING)
        again = start_sync(idle_integration, streams=["categories", "products"])

    assert again[1].pk == first.pk and again[0].stream == "categories"
    assert SyncJob.objects.filter(stream="products").count() == 1
    assert sync_queue() == [first.pk, again[0].pk]


def test_a_concurrent_insert_is_caught_by_the_constraint(idle_integration, monkeypatch):
    """The race: both requests saw no active job; the partial unique index lets one insert win."""
    winner = start_sync(idle_integration, streams=["products"])[0]
    real = services._active_job
    calls = []

    def blind_first(integration, stream):
        calls.append(stream)
        return None if len(calls) == 1 else real(integration, stream)

    monkeypatch.setattr(services, "_active_job", blind_first)
    assert start_sync(idle_integration, streams=["products"])[0].pk == winner.pk
    assert len(calls) == 2


def test_cancel_pending_running_and_finished(idle_integration):
    pending, running, done = (start_sync(idle_integration, streams=[s])[0]
                              for s in ("locations", "categories", "products"))
    SyncJob.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING)
    SyncJob.objects.filter(pk=done.pk).update(status=JobStatus.COMPLETED)

    assert cancel_job(pending).status == JobStatus.CANCELLED
    running = cancel_job(running)
    assert (running.status, running.cancel_requested) == (JobStatus.RUNNING, True)  # stops at its next page
    with pytest.raises(JobStateError, match="already completed"):
        cancel_job(done)


def test_rerun_only_finished_jobs(idle_integration, make_user):
    user = make_user(idle_integration.organization, "manager")
    job = start_sync(idle_integration, streams=["products"], full=True)[0]
    with pytest.raises(JobStateError, match="still pending"):
        rerun_job(job)
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    job.refresh_from_db()

    again = rerun_job(job, user=user)

    assert (again.status, again.retry_of_id, again.job_type, again.trigger, again.requested_by) == (
        JobStatus.PENDING, job.pk, "full", "manual", user)
    assert rerun_job(job).pk == again.pk  # the stream's active job, not a second one


def test_sync_all_active_integrations_of_a_provider(org, other_org):
    for n, (owner, status) in enumerate([(org, "active"), (other_org, "active"), (org, "inactive")]):
        Integration.objects.create(organization=owner, name=f"d{n}", code=f"d{n}", provider="demo", status=status)
    Integration.objects.create(organization=org, name="hook", code="hook", provider="webhook")

    call_command("sync_all", "demo", "--full")

    jobs = SyncJob.objects.all()
    assert {j.integration.code for j in jobs} == {"d0", "d1"}
    assert {(j.job_type, j.trigger) for j in jobs} == {("full", "manual")}

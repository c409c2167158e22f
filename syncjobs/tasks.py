"""Celery tasks: run a job, queue due integrations (beat, every minute), reap lost jobs (beat)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.models import Integration, IntegrationStatus

from .models import JobStatus, SyncJob, Trigger
from .runner import log_event, run_job
from .services import enqueue, start_sync, sync_all

log = logging.getLogger("syncjobs")

WORKER_LOST = "worker lost; re-run to resume"


@shared_task(name="syncjobs.tasks.run_sync_job", bind=True, acks_late=True, max_retries=None)
def run_sync_job(self, job_id: int) -> str:
    """Run one job. Jobs of one request are chained, so streams run in dependency order."""
    outcome = run_job(job_id)
    if outcome.retry_in is not None:
        # Same message options (the rest of the chain included): the job resumes from its checkpoint.
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


@shared_task(name="syncjobs.tasks.dispatch_due_syncs")
def dispatch_due_syncs() -> int:
    """Queue every active auto-sync integration whose next_sync_at is due; returns how many."""
    now = timezone.now()
    due = Integration.objects.filter(
        Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now),
        status=IntegrationStatus.ACTIVE, auto_sync_enabled=True, sync_interval_minutes__gt=0,
    ).only("id", "next_sync_at", "sync_interval_minutes")
    queued = 0
    for integ in due:
        # Moving next_sync_at first, conditionally, is the claim: a second dispatcher queues nothing.
        claimed = Integration.objects.filter(pk=integ.pk, next_sync_at=integ.next_sync_at).update(
            next_sync_at=now + timedelta(minutes=integ.sync_interval_minutes)
        )
        if not claimed:
            continue
        try:
            start_sync(Integration.objects.get(pk=integ.pk), trigger=Trigger.SCHEDULE)
            queued += 1
        except Exception:  # noqa: BLE001 - one broken integration must not stop the others
            log.exception("scheduled sync of integration %s could not start", integ.pk)
    return queued


@shared_task(name="syncjobs.tasks.reap_stale_jobs")
def reap_stale_jobs() -> dict[str, int]:
    """Fail running jobs whose worker died (stale heartbeat); re-queue pending jobs lost on the way."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=int(settings.SYNC_HEARTBEAT_STALE_SECONDS))
    reaped = 0
    stale = SyncJob.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, started_at__lt=stale_before)
    )
    for job in stale:
        # Conditional on the heartbeat we saw: a worker that just checkpointed keeps its job.
        if SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at).update(
            status=JobStatus.FAILED, completed_at=now, error_kind="worker_lost", error_message=WORKER_LOST
        ):
            reaped += 1
            job.refresh_from_db()
            log_event(job, "sync.failed", level="error", error=f"worker_lost: {WORKER_LOST}")

    lost_before = now - timedelta(seconds=int(settings.SYNC_PENDING_STALE_SECONDS))
    busy = SyncJob.objects.filter(status=JobStatus.RUNNING).values("integration_id")
    # A pending job behind a running sibling waits in that chain; it is not lost.
    lost = list(
        SyncJob.objects.filter(status=JobStatus.PENDING)
        .filter(Q(queued_at__lt=lost_before) | Q(queued_at__isnull=True, created_at__lt=lost_before))
        .exclude(integration_id__in=busy)
        .order_by("integration_id", "id")
    )
    for job in lost:
        SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(queued_at=now)
    # One chain per integration keeps the streams in their order (ids were created in dependency order).
    by_integration: dict[int, list[SyncJob]] = {}
    for job in lost:
        by_integration.setdefault(job.integration_id, []).append(job)
    for jobs in by_integration.values():
        enqueue(jobs)
    return {"reaped": reaped, "requeued": len(lost)}


@shared_task(name="syncjobs.tasks.sync_all_of_provider")
def sync_all_of_provider(provider: str, full: bool = False) -> int:
    return len(sync_all(provider, full=full))

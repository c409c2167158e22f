"""Celery tasks: run a job, queue due integrations (beat, every minute), reap lost jobs (beat)."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import timedelta
from functools import lru_cache

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.models import Integration, IntegrationStatus

from .models import JobStatus, SyncJob, Trigger
from .runner import run_job
from .services import RUN_SYNC_JOB, enqueue, reap_lost_job, scheduled_streams, start_sync, sync_all

log = logging.getLogger("syncjobs")


# --- fairness: at most N running jobs per organization in the sync pool --------------------------
# A Redis sorted set per organization: member = job id, score = lease expiry. The lease is renewed
# while the job runs; a worker killed mid-job frees its slot when the lease runs out.
_ACQUIRE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


@lru_cache(maxsize=1)
def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


class OrganizationSlot:
    """One of the SYNC_MAX_JOBS_PER_ORGANIZATION running-job slots of an organization (Redis semaphore)."""

    def __init__(self, organization_id: int, job_id: int):
        self.key = f"syncjobs:org-slots:{organization_id}"
        self.member = str(job_id)
        self.lease = float(settings.SYNC_ORG_SLOT_LEASE_SECONDS)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @classmethod
    def for_job(cls, job_id: int) -> OrganizationSlot | None:
        """The slot to take for ``job_id``; None when there is no cap (no Redis, cap 0, unknown job)."""
        if not settings.REDIS_URL or int(settings.SYNC_MAX_JOBS_PER_ORGANIZATION) <= 0:
            return None
        org_id = SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).values_list(
            "organization_id", flat=True).first()
        return None if org_id is None else cls(org_id, job_id)

    def acquire(self) -> bool:
        """True when the job may run now. A Redis failure lets the job run: fairness is best effort."""
        try:
            got = self._try()
            if not got and self._evict_finished():
                got = self._try()
        except Exception as exc:  # noqa: BLE001 - Redis down: run rather than wait for it
            log.warning("sync fairness slot unavailable (%s); running job %s uncapped",
                        exc.__class__.__name__, self.member)
            return True
        if got:
            self._renewer = threading.Thread(target=self._renew, name=f"org-slot-{self.member}", daemon=True)
            self._renewer.start()
        return bool(got)

    def _try(self) -> bool:
        now = time.time()
        return bool(_redis().eval(_ACQUIRE_SLOT, 1, self.key, now, now + self.lease, self.member,
                                  int(settings.SYNC_MAX_JOBS_PER_ORGANIZATION), int(self.lease) + 60))

    def _evict_finished(self) -> int:
        """Free slots whose job no longer runs (a killed worker's job the reaper failed): the database
        decides, so a crash does not hold the organization's slot for a whole lease."""
        holders = [m.decode() for m in _redis().zrange(self.key, 0, -1)]
        # PENDING: a job that has just taken its slot and is about to be claimed by run_job.
        alive = {str(pk) for pk in SyncJob.objects.filter(
            pk__in=[int(m) for m in holders if m.isdigit()], status__in=[JobStatus.RUNNING, JobStatus.PENDING],
        ).values_list("pk", flat=True)}
        gone = [m for m in holders if m.isdigit() and m not in alive]
        return _redis().zrem(self.key, *gone) if gone else 0

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                _redis().zadd(self.key, {self.member: time.time() + self.lease}, xx=True)
            except Exception:  # noqa: BLE001, S112 - the next renewal tries again
                continue

    def release(self) -> None:
        self._stop.set()
        try:
            _redis().zrem(self.key, self.member)
        except Exception:  # noqa: BLE001 - the lease expires on its own
            log.warning("could not release sync fairness slot of job %s", self.member)


def fairness_countdown() -> float:
    """Seconds before a capped job is offered again (jittered, so waiting jobs do not move in step)."""
    base = float(settings.SYNC_ORG_CAP_RETRY_SECONDS)
    return base * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not security


def defer_for_fairness(job_id: int) -> None:
    """The job stays pending; its queued_at moves so the reaper does not take it for a lost job."""
    SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(queued_at=timezone.now())
    log.info("sync job %s deferred: its organization already runs its maximum of sync jobs", job_id)


@shared_task(name=RUN_SYNC_JOB, bind=True, acks_late=True, max_retries=None)
def run_sync_job(self, job_id: int) -> str:
    """Run one job. Jobs of one request are chained, so streams run in dependency order.

    A job whose organization already runs SYNC_MAX_JOBS_PER_ORGANIZATION jobs goes back to the queue
    with a short countdown instead of taking (and blocking) a sync slot: one tenant never holds them all.
    """
    slot = OrganizationSlot.for_job(job_id)
    if slot is not None and not slot.acquire():
        defer_for_fairness(job_id)
        raise self.retry(countdown=fairness_countdown(), max_retries=None)
    try:
        outcome = run_job(job_id)
    finally:
        if slot is not None:
            slot.release()
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
            integration = Integration.objects.get(pk=integ.pk)
            start_sync(integration, streams=scheduled_streams(integration), trigger=Trigger.SCHEDULE)
            queued += 1
        except Exception:  # noqa: BLE001 - one broken integration must not stop the others
            log.exception("scheduled sync of integration %s could not start", integ.pk)
    return queued


@shared_task(name="syncjobs.tasks.reap_stale_jobs")
def reap_stale_jobs() -> dict[str, int]:
    """Retry (or, out of attempts, fail) running jobs whose worker died (stale heartbeat); re-queue
    pending jobs lost on the way."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=int(settings.SYNC_HEARTBEAT_STALE_SECONDS))
    reaped = 0
    stale = SyncJob.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, started_at__lt=stale_before)
    )
    for job in stale:
        if reap_lost_job(job, now):
            reaped += 1

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

"""Starting, cancelling and re-running sync jobs. The work itself runs in Celery (runner.run_job)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from celery import chain, current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base import Stream
from connectors.registry import get_connector_class
from integrations.models import Integration, IntegrationStatus

from .models import ACTIVE_STATUSES, JobStatus, JobType, SyncJob, Trigger
from .runner import log_event, may_retry, retry_delay

log = logging.getLogger("syncjobs")

# Queued by name: syncjobs.tasks imports this module (its beat tasks start syncs), not the reverse.
RUN_SYNC_JOB = "syncjobs.tasks.run_sync_job"


class UnknownStreamError(ValueError):
    """A requested stream the provider does not have."""


class JobStateError(ValueError):
    """The job is not in a state that allows the operation (e.g. cancelling a finished job)."""


def order_streams(available: dict[str, Stream], wanted: Iterable[str]) -> list[str]:
    """``wanted`` in dependency order (``depends_on`` first), declaration order otherwise.

    Dependencies not asked for are not added: they only order what was asked.
    """
    wanted_set = set(wanted)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name not in wanted_set:
            return
        if name in visiting:
            raise ValueError(f"streams depend on each other in a cycle through {name!r}")
        visiting.add(name)
        for dep in available[name].depends_on:
            visit(dep)
        visiting.discard(name)
        ordered.append(name)

    for name in available:
        visit(name)
    return ordered


def resolve_streams(integration: Integration, streams: Iterable[str] | None) -> list[str]:
    available = get_connector_class(integration.provider).streams_for(integration)
    names = list(dict.fromkeys(streams or available))
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UnknownStreamError(
            f"unknown stream(s) {', '.join(map(repr, unknown))} for provider {integration.provider!r}; "
            f"available: {', '.join(available) or 'none'}"
        )
    return order_streams(available, names)


# Integration.config key of the streams a scheduled (beat) run syncs; empty or absent means every stream.
# A manual run (API, admin) still picks any stream.
SCHEDULED_STREAMS_KEY = "sync_streams"


def scheduled_streams(integration: Integration) -> list[str] | None:
    """The streams staff selected for scheduled runs that the provider still has, or None for all."""
    selected = (integration.config or {}).get(SCHEDULED_STREAMS_KEY)
    if not isinstance(selected, list) or not selected:
        return None
    available = get_connector_class(integration.provider).streams_for(integration)
    kept = [name for name in selected if name in available]
    if len(kept) != len(selected):
        log.warning("integration %s: scheduled streams %s are no longer offered by %s", integration.pk,
                    sorted(set(map(str, selected)) - set(kept)), integration.provider)
    return kept or None


def _active_job(integration: Integration, stream: str) -> SyncJob | None:
    return SyncJob.objects.filter(integration=integration, stream=stream, status__in=ACTIVE_STATUSES).first()


def _create_job(integration: Integration, stream: str, **fields) -> tuple[SyncJob, bool]:
    """A new pending job, or the stream's active one: one_active_job_per_stream decides races."""
    existing = _active_job(integration, stream)
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            job = SyncJob.objects.create(
                organization_id=integration.organization_id, integration=integration, stream=stream,
                status=JobStatus.PENDING, celery_task_id=str(uuid.uuid4()), queued_at=timezone.now(), **fields,
            )
        return job, True
    except IntegrityError:
        existing = _active_job(integration, stream)
        if existing is None:  # the other job finished meanwhile: a genuine integrity problem
            raise
        return existing, False


def enqueue(jobs: list[SyncJob], countdown: float | None = None) -> None:
    """Queue ``jobs`` to run one after another (dependency order) on the "sync" queue.

    ``countdown``: seconds before the first may start (a retry's backoff). A broker failure is
    logged, not raised: the jobs stay pending and reap_stale_jobs re-queues them.
    """
    if not jobs:
        return
    sigs = [current_app.signature(RUN_SYNC_JOB, args=(job.pk,), immutable=True).set(
        task_id=job.celery_task_id, queue="sync") for job in jobs]
    try:
        (sigs[0] if len(sigs) == 1 else chain(*sigs)).apply_async(countdown=countdown)
    except Exception:  # noqa: BLE001 - broker down: the reaper re-queues pending jobs later
        log.exception("could not queue sync jobs %s", [job.pk for job in jobs])


def start_sync(
    integration: Integration,
    streams: Iterable[str] | None = None,
    full: bool = False,
    trigger: str = Trigger.API,
    user=None,
) -> list[SyncJob]:
    """Create one pending job per stream (or return the stream's active one) and queue the new ones.

    Raises UnknownStreamError for a stream the provider does not have. The jobs are queued after
    the surrounding transaction commits, so a worker never looks for a job that is not there yet.
    """
    names = resolve_streams(integration, streams)
    job_type = JobType.FULL if full else JobType.INCREMENTAL
    user = user if getattr(user, "pk", None) else None
    jobs, new = [], []
    with transaction.atomic():
        for name in names:
            job, created = _create_job(integration, name, job_type=job_type, trigger=trigger, requested_by=user)
            jobs.append(job)
            if created:
                new.append(job)
        transaction.on_commit(lambda: enqueue(new))
    return jobs


def cancel_job(job: SyncJob) -> SyncJob:
    """A pending job is cancelled at once; a running one stops at its next page boundary."""
    now = timezone.now()
    if SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, cancel_requested=True, completed_at=now
    ):
        job.refresh_from_db()
        return job
    if not SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True):
        job.refresh_from_db()
        raise JobStateError(f"job {job.pk} is already {job.status}")
    job.refresh_from_db()
    return job


def rerun_job(job: SyncJob, user=None) -> SyncJob:
    """Run a finished job's stream again. An incremental re-run resumes from the last checkpoint."""
    if job.status in ACTIVE_STATUSES:
        raise JobStateError(f"job {job.pk} is still {job.status}")
    user = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        new_job, created = _create_job(
            job.integration, job.stream, job_type=job.job_type, trigger=Trigger.MANUAL, requested_by=user,
            retry_of=job,
        )
        if created:
            transaction.on_commit(lambda: enqueue([new_job]))
    return new_job


def sync_all(provider: str, full: bool = False, trigger: str = Trigger.MANUAL, user=None) -> list[SyncJob]:
    """Sync every active integration of ``provider`` (all streams); one bad integration skips alone."""
    jobs: list[SyncJob] = []
    for integration in Integration.objects.filter(provider=provider, status=IntegrationStatus.ACTIVE):
        try:
            jobs += start_sync(integration, full=full, trigger=trigger, user=user)
        except Exception:  # noqa: BLE001 - keep going with the others
            log.exception("could not start a sync of integration %s", integration.pk)
    return jobs


WORKER_LOST = "worker lost"


def reap_lost_job(job: SyncJob, now=None) -> bool:
    """A running job whose worker died (stale heartbeat): retry it after a backoff, or fail it.

    It is retried like a transient failure (bounded by SYNC_TRANSIENT_RETRIES, resuming from its
    last committed page); once out of attempts it fails. Conditional on the heartbeat seen, so a
    worker that just checkpointed keeps its job. Returns whether the job was taken.
    """
    now = now or timezone.now()
    fresh = SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at)
    if may_retry(job, "worker_lost"):
        delay = retry_delay(job.attempts)
        retry_at = now + timedelta(seconds=delay)
        message = f"attempt {job.attempts}: {WORKER_LOST}; retrying in {delay:.1f} s from its last committed page"
        if not fresh.update(status=JobStatus.PENDING, queued_at=retry_at, next_retry_at=retry_at,
                            error_kind="worker_lost", error_message=message):
            return False
        job.refresh_from_db()
        log_event(job, "sync.retrying", level="warning", error=message)
        enqueue([job], countdown=delay)
        return True
    message = f"{WORKER_LOST} after {job.attempts} attempt(s); re-run to resume"
    if not fresh.update(status=JobStatus.FAILED, completed_at=now, next_retry_at=None,
                        error_kind="worker_lost", error_message=message):
        return False
    job.refresh_from_db()
    log_event(job, "sync.failed", level="error", error=f"worker_lost: {message}")
    return True

"""Run one sync job: read its stream page by page, write the records, checkpoint after every page.

Each page is committed in one transaction together with its checkpoint (``SyncState.resume_cursor``)
and the job's counters, so a run that dies halfway resumes from its last committed page and a
re-run writes no duplicates (records are upserted on ``(integration, external_id)``). A full run
resumes too: its checkpoint is marked full, and the ids each page saw are kept with the page
(``FullScanSeen``) so the full-scan deletion diff after a resume still knows the pages before it.

A job whose stream depends on another (``Stream.depends_on``) does not start while that stream's
job is pending or running (it waits, re-checking every ``SYNC_DEPENDENCY_WAIT_SECONDS``), and is
skipped, with the reason, when that stream's last job failed, was cancelled or was skipped: it
never runs against half its references. A failed attempt whose error may pass (transient, rate
limited, the database gone, worker lost) is retried with backoff, up to ``SYNC_TRANSIENT_RETRIES``
times, resuming from its checkpoint; auth, config and fatal errors and our own bugs are not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors.base import Page, Stream, SyncContext
from connectors.errors import ConfigError, ConnectorError
from connectors.mapping import MappedStream, mapped_stream
from connectors.registry import get_connector_class
from integrations.backoff import backoff_delay
from integrations.db import relaxed_commit
from integrations.models import Direction, Integration, IntegrationLog, IntegrationStatus
from records.upsert import (
    UpsertResult,
    mark_deleted,
    mark_missing_deleted,
    resolve_model,
    resolve_pending_refs,
    upsert_rows,
)

from .models import ACTIVE_STATUSES, MAX_ERROR_DETAILS, FullScanSeen, JobStatus, JobType, SyncJob, SyncState
from .prefetch import PreparedPage, prefetched, prepare_page
from .signals import records_written, sync_finished

log = logging.getLogger("syncjobs")

MAX_ERROR_LENGTH = 500
# Error kinds that need the user to act: the integration is flagged until a sync succeeds.
USER_ACTION_KINDS = frozenset({"auth", "config"})
# Error kinds a later attempt may not meet: the job is retried automatically (bounded, with backoff).
RETRYABLE_KINDS = frozenset({"transient", "rate_limited", "database", "worker_lost"})
# Statuses of a dependency's last job that mean its records are incomplete: dependents are skipped.
UNFINISHED_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SKIPPED)
# run_job's outcome for a job that is not pending (another worker has it, or it finished).
NOT_CLAIMED = "not_claimed"


@dataclass
class Outcome:
    status: str  # the job's status after this run ("not_claimed": not ours to run)
    retry_in: float | None = None  # seconds: the task should run the job again after that


class JobLost(Exception):
    """The job is no longer running under us (reaped as stale, or finished elsewhere): stop writing."""


def run_job(job_id: int) -> Outcome:
    """Claim a pending job and run it. A job another worker claimed first is left alone.

    A job due for a retry later, or whose stream's dependencies are still running, is not claimed:
    the outcome says when to look again. One whose dependency failed is skipped.
    """
    job = SyncJob.objects.select_related("integration").filter(pk=job_id, status=JobStatus.PENDING).first()
    if job is None:
        return Outcome(NOT_CLAIMED)
    now = timezone.now()
    if job.next_retry_at is not None and job.next_retry_at > now:  # a copy of its message came early
        return Outcome(JobStatus.PENDING, retry_in=(job.next_retry_at - now).total_seconds())
    blocked = dependency_block(job)
    if blocked is not None:
        wait, reason = blocked
        return wait_for_dependency(job, reason) if wait else skip_job(job, reason)
    claimed = SyncJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING,
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
        heartbeat_at=now,
        next_retry_at=None,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return Outcome(NOT_CLAIMED)
    job = SyncJob.objects.select_related("integration").get(pk=job_id)
    return JobRun(job).execute()


def dependency_block(job: SyncJob) -> tuple[bool, str] | None:
    """(wait?, reason) when a stream ``job``'s stream depends on is unfinished; None when it may run.

    Wait while the dependency has a pending or running job (it may still complete, retries
    included); skip when its last job failed, was cancelled or skipped. A dependency never synced
    does not block: nothing of it was half written (and references found later are linked then).
    """
    try:
        stream = get_connector_class(job.integration.provider).streams_for(job.integration).get(job.stream)
    except ConnectorError:
        return None  # a config that builds no streams: the run itself fails with the reason
    for dep in getattr(stream, "depends_on", ()):
        jobs = SyncJob.objects.filter(integration_id=job.integration_id, stream=dep)
        active = jobs.filter(status__in=ACTIVE_STATUSES).first()
        if active is not None:
            return True, f"waiting for {dep} (job #{active.pk} is {active.status})"
        last = jobs.order_by("-id").only("id", "status", "error_kind", "error_message").first()
        if last is not None and last.status in UNFINISHED_STATUSES:
            why = f": {last.error_kind or 'error'}: {last.error_message}" if last.error_message else ""
            return False, f"{dep} did not finish (job #{last.pk} {last.status}{why})"[:2000]
    return None


def wait_for_dependency(job: SyncJob, reason: str) -> Outcome:
    """Leave ``job`` pending (not an attempt) and look again later; give up after the max wait."""
    now = timezone.now()
    if (now - job.created_at).total_seconds() > float(settings.SYNC_DEPENDENCY_MAX_WAIT_SECONDS):
        return skip_job(job, f"gave up after {settings.SYNC_DEPENDENCY_MAX_WAIT_SECONDS} s {reason}")
    delay = float(settings.SYNC_DEPENDENCY_WAIT_SECONDS)
    # queued_at ahead: the reaper does not take a waiting job for a lost one.
    updated = SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        queued_at=now + timedelta(seconds=delay), error_kind="dependency", error_message=reason
    )
    if updated and job.error_message != reason:
        log_event(job, "sync.waiting", details={"reason": reason})
    return Outcome(JobStatus.PENDING, retry_in=delay)


def skip_job(job: SyncJob, reason: str) -> Outcome:
    """Finish a pending job without running it: a stream it needs did not finish."""
    now = timezone.now()
    if not SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.SKIPPED, completed_at=now, next_retry_at=None, error_kind="dependency", error_message=reason
    ):
        return Outcome(NOT_CLAIMED)
    job.refresh_from_db()
    log.warning("sync job %s skipped: %s", job.pk, reason)
    log_event(job, "sync.skipped", level="warning", error=reason)
    return Outcome(JobStatus.SKIPPED)


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Wait before attempt ``attempts + 1``: the provider's Retry-After when it said one, else the hub's
    backoff policy (``integrations.backoff``) from SYNC_RETRY_BACKOFF_SECONDS; capped either way."""
    cap = float(settings.SYNC_RETRY_BACKOFF_MAX_SECONDS)
    if retry_after is not None:
        return min(float(retry_after), cap)
    return backoff_delay(max(attempts, 1), base=settings.SYNC_RETRY_BACKOFF_SECONDS, cap=cap)


def may_retry(job: SyncJob, kind: str) -> bool:
    return kind in RETRYABLE_KINDS and job.attempts <= int(settings.SYNC_TRANSIENT_RETRIES)


def log_event(job: SyncJob, action: str, *, level: str = "info", error: str = "", details: Any = None) -> None:
    IntegrationLog.objects.create(
        organization_id=job.organization_id, integration_id=job.integration_id, action=action,
        direction=Direction.INTERNAL, level=level, endpoint=job.stream, sync_job_id=job.pk,
        request_excerpt=json.dumps({"job_type": job.job_type, "trigger": job.trigger, "attempt": job.attempts}),
        response_excerpt=json.dumps(details, default=str) if details is not None else "",
        error_message=error[:2000],
    )


def job_counts(job: SyncJob) -> dict[str, int]:
    return {
        "processed": job.records_processed, "created": job.records_created, "updated": job.records_updated,
        "skipped": job.records_skipped, "failed": job.records_failed, "deleted": job.records_deleted,
        "pages": job.pages,
    }


def _record_error(external_id: Any, error: str, page: int) -> dict[str, Any]:
    return {"external_id": str(external_id or ""), "error": error[:MAX_ERROR_LENGTH], "page": page}


class JobRun:
    def __init__(self, job: SyncJob):
        self.job = job
        self.integration: Integration = job.integration
        self.full = job.job_type == JobType.FULL
        self.started_at = timezone.now()
        self.seen: set[str] = set()
        self.unidentified_failures = 0  # failed records without an id: a full-scan diff would be unsafe
        self.last_cursor: Any = None
        self.state_id: int | None = None
        self.mapping_fp = ""  # the fingerprint of the field mapping this run applies ("" for none)
        self.remapping = False  # reading the whole stream again because that mapping changed

    # --- the run ----------------------------------------------------------------------------------
    def execute(self) -> Outcome:
        job = self.job
        if job.cancel_requested:
            return self._cancel(None)
        connector = None
        try:
            connector = get_connector_class(self.integration.provider)(self.integration)
            connector.http.sync_job_id = job.pk
            # The integration's own streams, each with the field mapping staff stored for it applied.
            streams = connector.streams_for(self.integration)
            if job.stream not in streams:
                raise ConfigError(f"stream {job.stream!r} is not offered by this integration any more")
            stream = mapped_stream(streams[job.stream], self.integration.config)
            self.mapping_fp = stream.variant if isinstance(stream, MappedStream) else ""
            cursor, read_full, resumed = self._start_point(stream)
            log_event(job, "sync.started", details={"cursor": cursor, "resumed": resumed, "full": self.full,
                                                    **({"mapping_changed": True} if self.remapping else {})})
            ctx = SyncContext(self.integration, connector, connector.http, job)
            if job.cursor_before is None and job.attempts <= 1:
                job.cursor_before = cursor
            self.last_cursor = cursor
            job.progress = {**job.progress, "resumed_from": cursor if resumed else None}
            if resumed and self.full and job.job_type != JobType.FULL:
                job.progress["continues_full_run"] = True
            if self.remapping:
                job.progress["mapping_changed"] = True
            job.save(update_fields=["cursor_before", "progress"])
            # A resumed full run reads on from its checkpoint, which is what an incremental read does.
            pages = stream.read(ctx, cursor, read_full)
            if stream.wants_prefetch(ctx):
                pages = prefetched(stream, pages)
            for page in pages:
                if self._commit_page(stream, page):
                    return self._cancel(self.last_cursor)
            return self._complete(stream)
        except JobLost:
            log.warning("sync job %s is no longer running here; stopped", job.pk)
            return Outcome("lost")
        except ConnectorError as exc:
            return self._connector_failure(exc)
        except Exception as exc:  # noqa: BLE001 - a hub bug fails the job, visibly, not the worker
            log.exception("sync job %s crashed", job.pk)
            message = f"{type(exc).__name__}: {exc}"
            # A database that went away under the run may be back later; a bug in our code would not be.
            if isinstance(exc, OperationalError | InterfaceError) and may_retry(self.job, "database"):
                return self._requeue("internal", message)
            return self._fail("internal", message, count_failure=False)
        finally:
            if connector is not None:
                try:
                    connector.http.flush_logs()
                except Exception:  # noqa: BLE001 - the job's own outcome matters more than its last request logs
                    log.exception("sync job %s: could not write its last request logs", job.pk)
                # Every job gives its provider token back, also a failed one (licence seats).
                connector.http.release()

    def _state(self) -> SyncState:
        state, _ = SyncState.objects.get_or_create(integration=self.integration, stream=self.job.stream)
        return state

    def _start_point(self, stream: Stream) -> tuple[Any, bool, bool]:
        """(cursor, read as full?, resumed?) of this run.

        An unfinished full run (this job's earlier attempt, or any run that died) is continued as a
        full run from its checkpoint, with the ids its committed pages saw; a new full run starts
        from the beginning and drops what an earlier one left; an incremental run reads on from
        the unfinished run's checkpoint, or the stream's cursor.
        """
        state = self._state()
        self.state_id = state.pk
        if state.resume_full and state.resume_cursor is not None and stream.supports_incremental:
            self.full = True
            self.started_at = state.resume_started_at or self.started_at
            for ids, unidentified in FullScanSeen.objects.filter(state=state).values_list(
                "external_ids", "unidentified"
            ):
                self.seen.update(ids)
                self.unidentified_failures += unidentified
            return state.resume_cursor, False, True
        if self.full:
            with transaction.atomic():
                FullScanSeen.objects.filter(state=state).delete()
                SyncState.objects.filter(pk=state.pk).update(
                    resume_full=True, resume_started_at=self.started_at, resume_cursor=None
                )
            return None, True, False
        if state.resume_cursor is None and state.cursor is not None and state.mapping_fingerprint != self.mapping_fp:
            # The stored records were mapped otherwise: read from the beginning (no deletion diff), so an
            # unchanged source record is re-mapped too (its hash includes the mapping's fingerprint).
            self.remapping = True
            return None, False, False
        cursor = state.resume_cursor or state.cursor
        return cursor, False, bool(cursor is not None and cursor == state.resume_cursor)

    def _locked_job(self) -> SyncJob:
        job = SyncJob.objects.select_for_update().get(pk=self.job.pk)
        if job.status != JobStatus.RUNNING:
            raise JobLost(job.status)
        return job

    # --- one page ---------------------------------------------------------------------------------
    def _commit_page(self, stream: Stream, page: Page) -> bool:
        """Write one page with its checkpoint and counters in one transaction; True if cancel was asked."""
        page_no = self.job.pages + 1
        prep = page.prepared if isinstance(page.prepared, PreparedPage) else prepare_page(stream, page)
        errors = [_record_error(e["external_id"], e["error"], page_no) for e in prep.errors]
        with transaction.atomic():
            relaxed_commit()  # a page lost in a crash is lost with its checkpoint: the job reads it again
            job = self._locked_job()
            result = upsert_rows(self.integration, stream.model, prep.rows) if prep.rows else UpsertResult()
            errors += [_record_error(e["external_id"], e["error"], page_no) for e in result.errors]
            extra_counts, extra_errors = self._write_extra(page, prep, job.progress.get("extra", {}), page_no)
            deleted = mark_deleted(self.integration, stream.model, page.deleted_ids) if page.deleted_ids else 0
            stream.after_write(self.integration, result, page.deleted_ids)
            records_written.send(sender=JobRun, job=job, integration=self.integration,
                                 model=resolve_model(stream.model), result=result, deleted_ids=page.deleted_ids)
            if page.cursor is not None:
                self.last_cursor = page.cursor
                SyncState.objects.filter(integration=self.integration, stream=job.stream).update(
                    resume_cursor=page.cursor, resume_full=self.full, updated_at=timezone.now()
                )
            unidentified = sum(1 for e in errors if not e["external_id"])
            self.unidentified_failures += unidentified
            if self.full and stream.delete_strategy == "full_scan":  # only the full-scan diff reads them
                page_seen = list(prep.rows.batch) if prep.rows else []
                page_seen += [e["external_id"] for e in errors if e["external_id"]]
                self.seen.update(page_seen)
                if page_seen or unidentified:  # kept with the page: a resumed run diffs with them too
                    FullScanSeen.objects.create(state_id=self.state_id, external_ids=page_seen,
                                                unidentified=unidentified)

            job.pages += 1
            job.records_processed += len(page.records)
            job.records_created += result.created
            job.records_updated += result.updated
            job.records_skipped += result.skipped
            job.records_failed += len(errors)
            job.records_deleted += deleted
            job.error_details = (job.error_details + errors + extra_errors)[:MAX_ERROR_DETAILS]
            job.progress = {
                **job.progress, "pages": job.pages, "records": job.records_processed,
                "last_cursor": self.last_cursor, "extra": extra_counts,
            }
            if page.total is not None:
                job.progress["total"] = page.total
            if prep.warnings:  # records written with something made up (e.g. "Unnamed supplier")
                job.progress["warning_count"] = job.progress.get("warning_count", 0) + len(prep.warnings)
                job.progress["warnings"] = (job.progress.get("warnings", []) + [
                    {**w, "warning": w["warning"][:MAX_ERROR_LENGTH], "page": page_no} for w in prep.warnings
                ])[:MAX_ERROR_DETAILS]
            job.heartbeat_at = timezone.now()
            job.save(update_fields=[
                "pages", "records_processed", "records_created", "records_updated", "records_skipped",
                "records_failed", "records_deleted", "error_details", "progress", "heartbeat_at",
            ])
        self.job = job
        return job.cancel_requested

    def _write_extra(self, page: Page, prep: PreparedPage, totals: dict,
                     page_no: int) -> tuple[dict, list[dict[str, Any]]]:
        """Rows of other models the page carries (e.g. order lines); counted per model in progress."""
        totals = {model: dict(counts) for model, counts in totals.items()}
        errors: list[dict[str, Any]] = []
        for model in page.extra:
            rows = prep.extra.get(model)
            result = upsert_rows(self.integration, model, rows) if rows else UpsertResult()
            errors += [_record_error(e["external_id"], f"{model}: {e['error']}", page_no) for e in result.errors]
            records_written.send(sender=JobRun, job=self.job, integration=self.integration,
                                 model=resolve_model(model), result=result, deleted_ids=[])
            counts = totals.setdefault(model, {})
            for key in ("created", "updated", "skipped", "failed"):
                counts[key] = counts.get(key, 0) + getattr(result, key)
        return totals, errors

    # --- endings ----------------------------------------------------------------------------------
    def _complete(self, stream: Stream) -> Outcome:
        now = timezone.now()
        with transaction.atomic():
            job = self._locked_job()
            if self.full and stream.delete_strategy == "full_scan":
                if self.unidentified_failures:
                    job.progress = {**job.progress, "full_scan_skipped": "records without an id failed"}
                else:
                    job.records_deleted += mark_missing_deleted(
                        self.integration, stream.model, self.seen, self.started_at, stream.delete_scope
                    )
            state = SyncState.objects.select_for_update().get(integration=self.integration, stream=job.stream)
            state.cursor = self.last_cursor if self.last_cursor is not None else state.cursor
            state.resume_cursor = None
            state.resume_full, state.resume_started_at = False, None
            state.last_success_at = now
            state.mapping_fingerprint = self.mapping_fp
            state.save()
            FullScanSeen.objects.filter(state=state).delete()
            # References to this stream's records that an earlier write could not link (a webhook's
            # record, a stream synced before this one): linked now that the whole stream is here.
            for model in dict.fromkeys([stream.model, *getattr(stream, "extra", {})]):
                resolve_pending_refs(self.integration, model)
            job.status = JobStatus.COMPLETED
            job.completed_at = job.heartbeat_at = now
            job.next_retry_at = None
            job.cursor_after = state.cursor
            job.error_message = job.error_kind = ""
            job.save()
            self._update_integration(job, ok=True)
            sync_finished.send(sender=JobRun, job=job)
        self.job = job
        warned = job.progress.get("warning_count", 0)
        log_event(job, "sync.completed", level="warning" if job.records_failed or warned else "info",
                  details={**job_counts(job), **({"warnings": warned} if warned else {})})
        return Outcome(JobStatus.COMPLETED)

    def _cancel(self, cursor: Any) -> Outcome:
        now = timezone.now()
        with transaction.atomic():
            job = self._locked_job()
            job.status = JobStatus.CANCELLED
            job.completed_at = job.heartbeat_at = now
            job.cursor_after = cursor
            job.save()
            sync_finished.send(sender=JobRun, job=job)
        self.job = job
        log_event(job, "sync.cancelled", details=job_counts(job))
        return Outcome(JobStatus.CANCELLED)

    def _connector_failure(self, exc: ConnectorError) -> Outcome:
        if exc.retryable and may_retry(self.job, exc.kind):
            return self._requeue(exc.kind, exc.message, exc.retry_after)
        return self._fail(exc.kind, exc.message)

    def _requeue(self, kind: str, message: str, retry_after: float | None = None) -> Outcome:
        """Put the job back to pending; the task runs it again after a backoff (it resumes)."""
        delay = retry_delay(self.job.attempts, retry_after)
        now = timezone.now()
        with transaction.atomic():
            job = self._locked_job()
            job.status = JobStatus.PENDING
            job.queued_at = job.next_retry_at = now + timedelta(seconds=delay)
            job.heartbeat_at = now
            job.error_kind = kind
            job.error_message = f"attempt {job.attempts} failed, retrying in {delay:.1f} s: {message}"
            job.save()
        self.job = job
        log_event(job, "sync.retrying", level="warning", error=job.error_message)
        return Outcome(JobStatus.PENDING, retry_in=delay)

    def _fail(self, kind: str, message: str, *, count_failure: bool = True) -> Outcome:
        now = timezone.now()
        try:
            with transaction.atomic():
                job = self._locked_job()
                job.status = JobStatus.FAILED
                job.completed_at = job.heartbeat_at = now
                job.cursor_after = self.last_cursor
                job.error_kind = kind
                job.error_message = message
                job.save()
                self._update_integration(job, ok=False, count_failure=count_failure)
                sync_finished.send(sender=JobRun, job=job)
        except JobLost:
            return Outcome("lost")
        self.job = job
        log_event(job, "sync.failed", level="error", error=f"{kind}: {message}", details=job_counts(job))
        return Outcome(JobStatus.FAILED)

    def _update_integration(self, job: SyncJob, *, ok: bool, count_failure: bool = True) -> None:
        """Stats and health of the integration, under its row lock (streams finish concurrently)."""
        integ = Integration.objects.select_for_update().get(pk=self.integration.pk)
        now = timezone.now()
        stats = dict(integ.metadata.get("sync", {}))
        stats[job.stream] = {"status": job.status, "job_id": job.pk, "finished_at": now.isoformat(), **job_counts(job)}
        integ.metadata = {**integ.metadata, "sync": stats}
        fields = ["metadata", "updated_at"]
        if ok:
            integ.last_sync_at = integ.last_connected_at = now
            if integ.sync_interval_minutes > 0:
                integ.next_sync_at = now + timedelta(minutes=integ.sync_interval_minutes)
            integ.consecutive_failures = 0
            fields += ["last_sync_at", "last_connected_at", "next_sync_at", "consecutive_failures"]
            if integ.status == IntegrationStatus.ERROR:  # a successful run proves the connection again
                integ.status, integ.connection_error = IntegrationStatus.ACTIVE, ""
                fields += ["status", "connection_error"]
        elif count_failure:
            integ.consecutive_failures += 1
            fields += ["consecutive_failures", "status", "connection_error"]
            if job.error_kind in USER_ACTION_KINDS and integ.status == IntegrationStatus.ACTIVE:
                integ.status = IntegrationStatus.ERROR
            if job.error_kind in USER_ACTION_KINDS:
                integ.connection_error = job.error_message
            self._failure_alerts(integ, job)
        integ.save(update_fields=fields)
        self.integration = integ

    def _failure_alerts(self, integ: Integration, job: SyncJob) -> None:
        failures = integ.consecutive_failures
        warn_after = int(settings.SYNC_FAILURE_WARN_AFTER)
        disable_after = int(settings.SYNC_FAILURE_DISABLE_AFTER)
        if failures >= disable_after and integ.status != IntegrationStatus.INACTIVE:
            integ.status = IntegrationStatus.INACTIVE
            integ.connection_error = (
                f"Disabled after {failures} consecutive failed syncs; last error: {job.error_message}"
            )[:2000]
            log.error("integration %s disabled after %s failed syncs", integ.pk, failures)
            log_event(job, "integration.disabled", level="error", error=integ.connection_error)
        elif failures == warn_after:
            log.warning("integration %s: %s consecutive failed syncs", integ.pk, failures)
            log_event(job, "sync.failing", level="warning",
                      error=f"{failures} consecutive failed syncs; disabled at {disable_after}")

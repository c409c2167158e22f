"""Sync jobs and the per-stream cursor they checkpoint after every committed page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations.models import Integration, Organization


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # Not run: a stream it depends on failed or did not finish (the reason is in error_message).
    SKIPPED = "skipped", "Skipped"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)


class JobType(models.TextChoices):
    FULL = "full", "Full"
    INCREMENTAL = "incremental", "Incremental"


class Trigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    API = "api", "API"


MAX_ERROR_DETAILS = 100


class SyncJob(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="sync_jobs")
    stream = models.CharField(max_length=64)
    job_type = models.CharField(max_length=16, choices=JobType.choices, default=JobType.INCREMENTAL)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    records_processed = models.PositiveIntegerField(default=0)
    records_created = models.PositiveIntegerField(default=0)
    records_updated = models.PositiveIntegerField(default=0)
    records_skipped = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    records_deleted = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    error_kind = models.CharField(max_length=16, blank=True)
    error_details = models.JSONField(
        default=list, blank=True, help_text=f"Per-record errors, first {MAX_ERROR_DETAILS}."
    )
    cursor_before = models.JSONField(null=True, blank=True)
    cursor_after = models.JSONField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Runs of this job so far (a transient failure may re-queue it, bounded by settings).
    attempts = models.PositiveSmallIntegerField(default=0)
    # When it was last put on the queue: a pending job queued long ago was lost and is re-queued.
    queued_at = models.DateTimeField(null=True, blank=True)
    # A failed attempt that will be retried automatically: not run before this time.
    next_retry_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        # The console's job list (newest first, per organization) and each integration's last job.
        indexes = [
            # The list's order; the INCLUDEd columns let the dashboard's per-day chart (30 days of jobs)
            # run as an index-only scan instead of reading every job's row.
            models.Index(fields=["organization", "-created_at", "-id"], name="syncjob_org_created",
                         include=["status", "records_created", "records_updated", "records_deleted"]),
            models.Index(fields=["integration", "-created_at"], name="syncjob_integration_created"),
        ]
        constraints = [
            # One pending or running job per integration and stream.
            models.UniqueConstraint(
                fields=["integration", "stream"],
                condition=Q(status__in=["pending", "running"]),
                name="one_active_job_per_stream",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.integration} {self.stream} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        from django.utils import timezone

        end = self.completed_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 3)


class SyncState(models.Model):
    """Where a stream stands: its cursor (with a tie-breaker), checkpointed after each page."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="sync_states")
    stream = models.CharField(max_length=64)
    cursor = models.JSONField(null=True, blank=True)
    # Cursor of a run that has not finished: a re-run resumes here instead of starting over.
    resume_cursor = models.JSONField(null=True, blank=True)
    # The unfinished run is a full one: a re-run continues it as full (deletion diff included), and
    # when it began (rows synced since then are not diffed away).
    resume_full = models.BooleanField(default=False)
    resume_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # The field mapping (connectors.mapping.fingerprint) the stored records were written under: when
    # staff change it, the next incremental run reads the whole stream so every record is re-mapped.
    mapping_fingerprint = models.CharField(max_length=32, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "stream"], name="uniq_sync_state")]

    def __str__(self) -> str:
        return f"{self.integration} {self.stream}"


class FullScanSeen(models.Model):
    """External ids one committed page of an unfinished full run saw, for its full-scan deletion diff.

    The diff soft-deletes what a full run did not see; a run resumed after a crash has not seen the
    pages before it in memory, so each page's ids are kept with the page (one row per page) until
    the run completes.
    """

    state = models.ForeignKey(SyncState, on_delete=models.CASCADE, related_name="+")
    external_ids = models.JSONField(default=list)
    # Records of the page that failed without an id: the diff is skipped (it could delete them).
    unidentified = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.state} page of {len(self.external_ids)} ids"

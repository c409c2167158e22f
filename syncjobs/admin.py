"""Admin: sync jobs with live progress, counts and duration; Cancel and Re-run; sync states read-only."""

from __future__ import annotations

from django.contrib import admin, messages

from integrations.admin_base import ReadOnlyOrgAdmin, has_org_role
from integrations.models import Role

from .models import SyncJob, SyncState
from .services import JobStateError, cancel_job, rerun_job


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyOrgAdmin):
    list_display = ["id", "integration", "stream", "job_type", "trigger", "status", "progress_text",
                    "records_created", "records_updated", "records_skipped", "records_failed", "records_deleted",
                    "duration", "created_at"]
    list_filter = ["status", "trigger", "job_type", "stream", ("integration", admin.RelatedOnlyFieldListFilter),
                   "created_at"]
    search_fields = ["integration__name", "integration__code", "stream", "error_message"]
    list_select_related = ["integration"]
    date_hierarchy = "created_at"
    actions = ["cancel_jobs", "rerun_jobs"]
    fieldsets = [
        (None, {"fields": ["organization", "integration", "stream", "job_type", "trigger", "status",
                           "requested_by", "retry_of", "attempts", "celery_task_id"]}),
        ("Timing", {"fields": ["created_at", "queued_at", "started_at", "heartbeat_at", "completed_at", "duration"]}),
        ("Progress", {"fields": ["progress_text", "pages", "records_processed", "records_created",
                                 "records_updated", "records_skipped", "records_failed", "records_deleted",
                                 "progress", "cancel_requested"]}),
        ("Outcome", {"fields": ["error_kind", "error_message", "error_details", "cursor_before", "cursor_after"]}),
    ]
    readonly_fields = ["duration", "progress_text"]

    @admin.display(description="progress")
    def progress_text(self, obj: SyncJob) -> str:
        progress = obj.progress or {}
        return f"{progress.get('pages', obj.pages)} pages, {progress.get('records', obj.records_processed)} records"

    @admin.display(description="duration")
    def duration(self, obj: SyncJob) -> str:
        seconds = obj.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    def _operate(self, request, queryset, operation, verb: str) -> None:
        done, refused = [], []
        for job in queryset.select_related("integration"):
            if not has_org_role(request, job.organization_id, Role.MANAGER):
                refused.append(f"#{job.pk}: needs the manager role")
                continue
            try:
                done.append(operation(job))
            except JobStateError as exc:
                refused.append(f"#{job.pk}: {exc}")
        if done:
            self.message_user(request, f"{verb}: {', '.join(f'#{j.pk}' for j in done)}.")
        if refused:
            self.message_user(request, "Not done: " + "; ".join(refused), level=messages.WARNING)

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset) -> None:
        self._operate(request, queryset, cancel_job, "Cancelled (running jobs stop at their next page)")

    @admin.action(description="Re-run selected jobs")
    def rerun_jobs(self, request, queryset) -> None:
        self._operate(request, queryset, lambda job: rerun_job(job, user=request.user), "Queued re-runs")


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyOrgAdmin):
    org_field = "integration__organization"
    list_display = ["integration", "stream", "last_success_at", "resumable", "updated_at"]
    list_filter = ["stream", ("integration", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["integration__name", "stream"]
    list_select_related = ["integration"]

    @admin.display(boolean=True, description="resumable")
    def resumable(self, obj: SyncState) -> bool:
        return obj.resume_cursor is not None

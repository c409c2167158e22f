"""Admin: sync jobs with coloured status, a live progress bar, counts and duration; Cancel and Re-run
buttons on the job page; a link to the job's provider calls; sync states read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integrations.admin_base import LargeTableMixin, OrgRelatedFilter, ReadOnlyOrgAdmin, has_org_role
from integrations.admin_display import badge, json_block, number, truncate, when
from integrations.models import Role

from .models import ACTIVE_STATUSES, SyncJob, SyncState
from .services import JobStateError, cancel_job, rerun_job


def job_progress(job: SyncJob) -> dict:
    """What the progress bar shows: pages, records and, when the provider reported a total, a percentage."""
    progress = job.progress or {}
    pages, records = progress.get("pages", job.pages), progress.get("records", job.records_processed)
    total = progress.get("total")
    percent = None
    if isinstance(total, int) and total > 0:
        percent = min(100, round(100 * records / total))
    elif job.status not in ACTIVE_STATUSES:
        percent = 100
    text = f"{number(pages)} page{'s' if pages != 1 else ''} · {number(records)} records"
    if isinstance(total, int) and total > 0:
        text += f" of {number(total)}"
    return {"id": job.pk, "status": job.status, "active": job.status in ACTIVE_STATUSES, "pages": pages,
            "records": records, "total": total, "percent": percent, "text": text,
            "badge": str(badge(job.status, job.get_status_display())), "counts": str(job_counts(job))}


def job_counts(job: SyncJob) -> str:
    failed = ""
    if job.records_failed:
        failed = format_html(' <span class="hub-badge hub-badge--danger">{} failed</span>', number(job.records_failed))
    return format_html('<span class="hub-num" data-job-counts="{}">{} / {} / {}</span>{}', job.pk,
                       number(job.records_created), number(job.records_updated), number(job.records_deleted), failed)


@admin.register(SyncJob)
class SyncJobAdmin(LargeTableMixin, ReadOnlyOrgAdmin):
    list_display = ["id", "integration", "stream", "status_label", "progress_bar", "counts", "duration", "created",
                    "error"]
    # No "stream" filter: its choices would be DISTINCT over every job (search finds a stream).
    list_filter = ["status", "trigger", "job_type", ("integration", OrgRelatedFilter), "created_at"]
    search_fields = ["integration__name", "integration__code", "stream"]
    list_select_related = ["integration"]
    actions = ["cancel_jobs", "rerun_jobs"]
    change_form_outer_before_template = "console/syncjob_actions.html"
    fieldsets = [
        (None, {"fields": ["organization", "integration", "stream", "job_type", "trigger", "status_label",
                           "requested_by", "retry_of", "attempts", "provider_calls"]}),
        ("Progress", {"fields": ["progress_bar", "pages", "records_processed", "records_created",
                                 "records_updated", "records_skipped", "records_failed", "records_deleted",
                                 "cancel_requested"]}),
        ("Timing", {"fields": ["created", "queued_at", "started_at", "heartbeat_at", "completed_at", "duration"]}),
        ("Outcome", {"fields": ["error_kind", "error_message", "error_details_pretty", "cursor_before_pretty",
                                "cursor_after_pretty", "progress_pretty"]}),
    ]
    readonly_fields = ["duration", "progress_bar", "status_label", "created", "provider_calls",
                       "error_details_pretty", "cursor_before_pretty", "cursor_after_pretty", "progress_pretty"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/progress.json", view(self.progress_view), name="syncjobs_syncjob_progress"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="syncjobs_syncjob_cancel"),
            path("<int:pk>/rerun/", view(self.rerun_view), name="syncjobs_syncjob_rerun"),
            *super().get_urls(),
        ]

    def _job(self, request: HttpRequest, pk: int) -> SyncJob:
        job = self.get_queryset(request).filter(pk=pk).first()  # scoped: another organization's job is a 404
        if job is None or not self.has_view_permission(request, job):
            raise Http404("No such job.")
        return job

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(job_progress(self._job(request, pk)))

    def _post_operation(self, request: HttpRequest, pk: int, operation, verb: str) -> HttpResponseRedirect:
        job = self._job(request, pk)
        target = reverse("admin:syncjobs_syncjob_change", args=[job.pk])
        if request.method != "POST":
            return HttpResponseRedirect(target)
        if not has_org_role(request, job.organization_id, Role.MANAGER):
            self.message_user(request, "This needs the manager role.", messages.ERROR)
            return HttpResponseRedirect(target)
        try:
            result = operation(job)
        except JobStateError as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return HttpResponseRedirect(target)
        self.message_user(request, f"{verb} #{result.pk}.")
        return HttpResponseRedirect(reverse("admin:syncjobs_syncjob_change", args=[result.pk]))

    def cancel_view(self, request: HttpRequest, pk: int):
        return self._post_operation(request, pk, cancel_job, "Cancel requested for job")

    def rerun_view(self, request: HttpRequest, pk: int):
        return self._post_operation(request, pk, lambda job: rerun_job(job, user=request.user), "Queued re-run as job")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        job = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if job is not None:
            extra.update(hub_job=job, hub_active=job.status in ACTIVE_STATUSES,
                         hub_may_operate=has_org_role(request, job.organization_id, Role.MANAGER))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: SyncJob) -> str:
        return format_html('<span data-job-status="{}">{}</span>', obj.pk, badge(obj.status, obj.get_status_display()))

    @admin.display(description="progress")
    def progress_bar(self, obj: SyncJob) -> str:
        data = job_progress(obj)
        width = f"width: {data['percent']}%" if data["percent"] is not None else ""
        state = "done" if obj.status == "completed" else "failed" if obj.status in ("failed", "cancelled") else ""
        indeterminate = "indeterminate" if data["percent"] is None else ""
        return format_html(
            '<div class="hub-progress" data-job-id="{}" data-active="{}" data-url="{}">'
            '<div class="hub-progress-track"><div class="hub-progress-fill {} {}" style="{}"></div></div>'
            '<div class="hub-progress-text">{}</div></div>',
            obj.pk, "1" if data["active"] else "0", reverse("admin:syncjobs_syncjob_progress", args=[obj.pk]),
            state, indeterminate, width, data["text"],
        )

    @admin.display(description="new / upd / del")
    def counts(self, obj: SyncJob) -> str:
        return format_html('<span data-job-counts-cell="{}">{}</span>', obj.pk, job_counts(obj))

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: SyncJob) -> str:
        return when(obj.created_at)

    @admin.display(description="error")
    def error(self, obj: SyncJob) -> str:
        return truncate(obj.error_message, 40)

    @admin.display(description="duration")
    def duration(self, obj: SyncJob) -> str:
        seconds = obj.duration_seconds
        return "" if seconds is None else f"{seconds:,.1f} s"

    @admin.display(description="provider calls")
    def provider_calls(self, obj: SyncJob) -> str:
        url = reverse("admin:integrations_integrationlog_changelist")
        return format_html('<a class="hub-btn" href="{}?sync_job_id={}&integration__id__exact={}">'
                           "Provider calls of this job</a>", url, obj.pk, obj.integration_id)

    @admin.display(description="error details")
    def error_details_pretty(self, obj: SyncJob) -> str:
        return json_block(obj.error_details, open_=False)

    @admin.display(description="cursor before")
    def cursor_before_pretty(self, obj: SyncJob) -> str:
        return json_block(obj.cursor_before, open_=False)

    @admin.display(description="cursor after")
    def cursor_after_pretty(self, obj: SyncJob) -> str:
        return json_block(obj.cursor_after, open_=False)

    @admin.display(description="progress details")
    def progress_pretty(self, obj: SyncJob) -> str:
        return json_block(obj.progress, open_=False)

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

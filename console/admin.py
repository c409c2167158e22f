"""The console's admin: dashboard as the index, third-party admins in the console's look."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from health.checks import integration_health
from integrations.admin_display import badge, number, truncate, when
from integrations.models import CredentialAudit, Integration, IntegrationLog
from integrations_api.admin import IntegrationAdmin, IntegrationLogAdmin
from records.models import SyncedRecord
from syncjobs.admin import SyncJobAdmin
from syncjobs.models import SyncJob
from webhooks.admin import WebhookEventAdmin
from webhooks.models import WebhookEvent

from .mappings import mapping_view, streams_of

admin.site.index_template = "console/dashboard.html"
admin.site.index_title = "Dashboard"


# Users and groups, beat's schedules: the stock admins, restyled (Advanced in the sidebar).
for model in (User, Group, PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    pass


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(beat_admin.IntervalScheduleAdmin, ModelAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    pass


@admin.register(SolarSchedule)
class SolarScheduleAdmin(beat_admin.SolarScheduleAdmin, ModelAdmin):
    pass


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ModelAdmin):
    pass


# --- the integration page: tabs Overview, Connection, Settings, Sync jobs, Webhooks, Logs, Credential audit ---
class _ReadOnlyTab(TabularInline):
    """A tab listing the integration's rows, newest first, ten a page (the page was org-checked already)."""

    extra = 0
    can_delete = False
    show_change_link = True
    tab = True
    per_page = 10

    def has_view_permission(self, request, obj=None) -> bool:
        return True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SyncJobTab(_ReadOnlyTab):
    model = SyncJob
    verbose_name_plural = "Sync jobs"
    fields = ["stream", "job_type", "status_label", "progress_bar", "counts", "created", "error"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at", "-id")

    status_label = SyncJobAdmin.status_label
    progress_bar = SyncJobAdmin.progress_bar
    counts = SyncJobAdmin.counts
    created = SyncJobAdmin.created
    error = SyncJobAdmin.error


class WebhookTab(_ReadOnlyTab):
    model = WebhookEvent
    verbose_name_plural = "Webhooks"
    fields = ["received", "event_type", "status_label", "attempts", "error"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-received_at").defer("body", "headers")

    received = WebhookEventAdmin.received
    status_label = WebhookEventAdmin.status_label
    error = WebhookEventAdmin.error


class LogTab(_ReadOnlyTab):
    model = IntegrationLog
    verbose_name_plural = "Logs"
    fields = ["created", "action", "level_label", "call", "status", "duration"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at").defer("request_excerpt", "response_excerpt")

    created = IntegrationLogAdmin.created
    level_label = IntegrationLogAdmin.level_label
    call = IntegrationLogAdmin.call
    status = IntegrationLogAdmin.status
    duration = IntegrationLogAdmin.duration


class CredentialAuditTab(_ReadOnlyTab):
    model = CredentialAudit
    verbose_name_plural = "Credential audit"
    fields = ["created_at", "action", "fields", "user", "api_key", "via"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


def _records_by_type(integration_id: int) -> list[tuple[str, int]]:
    """Live records of each type the integration holds, one query over every record table."""
    models = [m for m in apps.get_app_config("records").get_models() if issubclass(m, SyncedRecord)]
    union = " UNION ALL ".join(
        f"SELECT %s AS kind, COUNT(*) AS n FROM {connection.ops.quote_name(m._meta.db_table)} "  # noqa: S608
        f"WHERE integration_id = %s AND deleted_at IS NULL" for m in models
    )
    params: list = []
    for m in models:
        params += [str(m._meta.verbose_name_plural), integration_id]
    with connection.cursor() as cursor:
        cursor.execute(union, params)
        return [(kind, n) for kind, n in cursor.fetchall() if n]


admin.site.unregister(Integration)


@admin.register(Integration)
class ConsoleIntegrationAdmin(IntegrationAdmin):
    inlines = [SyncJobTab, WebhookTab, LogTab, CredentialAuditTab]
    readonly_fields = [*IntegrationAdmin.readonly_fields, "overview_health", "overview_sync", "overview_records",
                       "overview_errors"]

    def get_urls(self):
        mappings = self.admin_site.admin_view(self.mappings_view)
        return [path("<int:pk>/mappings/", mappings, name="integrations_integration_mappings"),
                path("<int:pk>/mappings/<str:stream>/", mappings, name="integrations_integration_mapping"),
                *super().get_urls()]

    def mappings_view(self, request, pk: int, stream: str | None = None):
        return mapping_view(self, request, pk, stream)

    def panel_context(self, request, obj: Integration) -> dict:
        context = super().panel_context(request, obj)
        if streams_of(obj):
            context["hub_mappings_url"] = reverse("admin:integrations_integration_mappings", args=[obj.pk])
        return context

    def get_inline_instances(self, request, obj=None):
        # The tabs only show rows: a save does not post them back (nothing there to validate).
        if obj is None or request.method == "POST":
            return []
        return super().get_inline_instances(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        overview = ("Overview", {"fields": ["overview_health", "overview_sync", "overview_records",
                                            "overview_errors"], "classes": ["tab"]})
        tabs = []
        for name, opts in fieldsets:
            tabs.append((name or "General", {**opts, "classes": [*opts.get("classes", []), "tab"]}))
        return [overview, *tabs]

    @admin.display(description="health")
    def overview_health(self, obj: Integration) -> str:
        found = integration_health([obj])
        if not found:
            return "—"
        health = found[0]
        problems = format_html_join("", "<li>{}</li>", ((p,) for p in health.problems))
        return format_html("{}<ul style='margin-top:.5rem'>{}</ul>", badge(health.status), problems)

    @admin.display(description="sync")
    def overview_sync(self, obj: Integration) -> str:
        last = obj.sync_jobs.order_by("-created_at").first()
        outcome = badge(last.status, last.get_status_display()) if last else "never"
        return format_html(
            "<div>Last sync: {} {}</div><div>Next sync: {}</div><div>Every {} min, automatic sync {}</div>",
            when(obj.last_sync_at), outcome, when(obj.next_sync_at) if obj.auto_sync_enabled else "manual only",
            obj.sync_interval_minutes, "on" if obj.auto_sync_enabled else "off",
        )

    @admin.display(description="records held")
    def overview_records(self, obj: Integration) -> str:
        rows = _records_by_type(obj.pk)
        if not rows:
            return "none yet"
        return format_html('<table class="hub-table">{}</table>', format_html_join(
            "", '<tr><td>{}</td><td class="r hub-num">{}</td></tr>', ((k, number(n)) for k, n in rows)))

    @admin.display(description="recent errors")
    def overview_errors(self, obj: Integration) -> str:
        errors = list(obj.logs.filter(level="error").order_by("-created_at")
                      .values_list("created_at", "action", "error_message")[:5])
        jobs = list(obj.sync_jobs.filter(status="failed").order_by("-created_at")
                    .values_list("created_at", "stream", "error_message")[:5])
        rows = sorted([*errors, *jobs], key=lambda r: r[0], reverse=True)[:6]
        if not rows:
            return "none"
        return format_html('<table class="hub-table">{}</table>', format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((when(at), what, truncate(message, 90)) for at, what, message in rows)))

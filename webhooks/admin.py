"""Webhook inbox in the admin: read-only deliveries, raw body and headers readable; Retry, Mark ignored."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from connectors.registry import provider_choices
from integrations.admin_base import LargeTableMixin, OrgRelatedFilter, OrgScopedAdmin, has_org_role
from integrations.admin_display import badge, json_block, truncate, when
from integrations.models import Role

from . import processing, queue
from .models import WebhookEvent
from .serializers import body_text


class ProviderFilter(admin.SimpleListFilter):
    """Providers from the registry, not DISTINCT over every stored delivery."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return provider_choices()

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(LargeTableMixin, OrgScopedAdmin):
    list_display = ["id", "received", "integration", "event_type", "status_label", "attempts", "error"]
    change_form_outer_before_template = "console/webhook_actions.html"
    list_filter = ["status", ProviderFilter, ("integration", OrgRelatedFilter), "received_at"]
    search_fields = ["event_id", "event_type", "dedupe_key"]
    list_select_related = ["integration"]
    actions = ["retry_events", "mark_ignored"]
    readonly_fields = [
        "organization", "integration", "provider", "endpoint", "event_id", "event_type", "dedupe_key", "status",
        "rejection_reason", "attempts", "max_retries", "next_attempt_at", "last_error", "result", "duplicates",
        "content_type", "remote_ip", "body_sha256", "received_at", "processed_at", "headers_pretty", "body_pretty",
    ]
    exclude = ["headers", "body"]

    def has_add_permission(self, request) -> bool:
        return False  # deliveries come from senders only

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only record; state changes go through the actions

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and has_org_role(request, self._obj_org_id(obj), Role.ADMIN)

    def _may_operate(self, request, queryset) -> bool:
        orgs = set(queryset.values_list("organization_id", flat=True))
        return all(has_org_role(request, org_id, Role.MANAGER) for org_id in orgs)

    @admin.display(description="received", ordering="received_at")
    def received(self, obj: WebhookEvent) -> str:
        return when(obj.received_at)

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: WebhookEvent) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="error")
    def error(self, obj: WebhookEvent) -> str:
        return truncate(obj.last_error or obj.rejection_reason, 48)

    def get_urls(self):
        view = self.admin_site.admin_view(self.retry_view)
        return [path("<int:pk>/retry/", view, name="webhooks_webhookevent_retry"), *super().get_urls()]

    def retry_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        event = self.get_queryset(request).filter(pk=pk).first()  # scoped: another organization's is a 404
        if event is None:
            raise Http404("No such event.")
        target = reverse("admin:webhooks_webhookevent_change", args=[pk])
        if request.method == "POST":
            self.retry_events(request, self.get_queryset(request).filter(pk=pk))
        return HttpResponseRedirect(target)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        event = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if event is not None:
            extra.update(hub_event=event, hub_may_operate=has_org_role(request, event.organization_id, Role.MANAGER),
                         hub_retryable=event.status in ("failed", "ignored", "completed"))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description="Headers")
    def headers_pretty(self, obj: WebhookEvent) -> str:
        return json_block(obj.headers)  # signatures and authorization headers masked

    @admin.display(description="Body")
    def body_pretty(self, obj: WebhookEvent) -> str:
        text, encoding = body_text(obj.body)
        return format_html("<div>{}</div>{}", encoding, json_block(text, is_body=True))

    @admin.action(description="Retry")
    def retry_events(self, request, queryset):
        if not self._may_operate(request, queryset):
            self.message_user(request, "Retrying needs the manager role.", messages.ERROR)
            return
        count = processing.requeue(list(queryset.values_list("pk", flat=True)))
        if count:
            queue.kick()
        self.message_user(request, f"{count} event(s) queued for another attempt (rejected ones are skipped).")

    @admin.action(description="Mark ignored")
    def mark_ignored(self, request, queryset):
        if not self._may_operate(request, queryset):
            self.message_user(request, "This needs the manager role.", messages.ERROR)
            return
        count = processing.mark_ignored(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} event(s) marked ignored.")

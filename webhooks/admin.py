"""Webhook inbox in the admin: read-only deliveries, raw body and headers readable; Retry, Mark ignored."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from integrations.admin_base import OrgScopedAdmin, has_org_role
from integrations.admin_display import json_block
from integrations.models import Role

from . import processing, queue
from .models import WebhookEvent
from .serializers import body_text


@admin.register(WebhookEvent)
class WebhookEventAdmin(OrgScopedAdmin):
    list_display = ["id", "received_at", "integration", "provider", "event_type", "event_id", "status",
                    "attempts", "duplicates"]
    list_filter = ["status", "provider", "integration"]
    search_fields = ["event_id", "event_type", "dedupe_key"]
    date_hierarchy = "received_at"
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

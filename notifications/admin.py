from django.contrib import admin
from unfold.admin import TabularInline

from integrations.admin_base import OrgScopedAdmin, ReadOnlyOrgAdmin

from .models import AlertRule, AlertState, Delivery, Message, NotificationTemplate


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(OrgScopedAdmin):
    list_display = ("name", "channel", "subject", "organization", "updated_at")
    list_filter = ("name", "channel")


class DeliveryInline(TabularInline):
    model = Delivery
    fields = ("recipient", "status", "provider", "provider_message_id", "attempts", "error", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyOrgAdmin):
    list_display = ("id", "channel", "template", "subject", "status", "organization", "created_at")
    list_filter = ("channel", "template", "status")
    search_fields = ("subject", "idempotency_key")
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyOrgAdmin):
    list_display = ("id", "recipient", "status", "provider", "provider_message_id", "sent_at", "organization")
    list_filter = ("status", "provider")
    search_fields = ("recipient", "provider_message_id")


@admin.register(AlertRule)
class AlertRuleAdmin(OrgScopedAdmin):
    list_display = ("name", "kind", "channel", "template", "threshold", "is_active", "organization")
    list_filter = ("kind", "channel", "is_active")


@admin.register(AlertState)
class AlertStateAdmin(ReadOnlyOrgAdmin):
    org_field = "rule__organization"
    list_display = ("rule", "subject", "fired_at", "cleared_at")

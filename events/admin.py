from django import forms
from django.contrib import admin, messages
from unfold.admin import TabularInline

from integrations.admin_base import OrgScopedAdmin, ReadOnlyOrgAdmin
from integrations.audit import is_mask
from integrations.inputs import MaskedTextInput

from .dispatch import replay
from .models import DeliveryAttempt, Destination, EventDelivery, OutboxEvent


class DestinationForm(forms.ModelForm):
    class Meta:
        model = Destination
        fields = ("organization", "name", "kind", "target", "connection", "options", "event_types", "is_active")
        widgets = {"connection": MaskedTextInput(attrs={"autocomplete": "off", "size": 80})}

    def clean_connection(self) -> str:
        # The secret is never sent to the page: the mask coming back means "unchanged".
        value = self.cleaned_data.get("connection", "")
        return self.instance.connection if is_mask(value) else value


@admin.register(Destination)
class DestinationAdmin(OrgScopedAdmin):
    form = DestinationForm
    list_display = ("name", "kind", "target", "is_active", "consecutive_failures", "last_delivered_at",
                    "organization")
    list_filter = ("kind", "is_active")
    readonly_fields = ("locked_until", "paused_until", "consecutive_failures", "last_error", "last_delivered_at")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyOrgAdmin):
    list_display = ("id", "type", "version", "aggregate", "fanned_out", "occurred_at", "organization")
    list_filter = ("type", "fanned_out")
    search_fields = ("aggregate", "uid")


class AttemptInline(TabularInline):
    model = DeliveryAttempt
    fields = ("created_at", "ok", "status_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyOrgAdmin):
    list_display = ("id", "event", "destination", "status", "attempts", "delivered_at", "last_error")
    list_filter = ("status", "destination__kind")
    inlines = [AttemptInline]
    actions = ["replay_failed"]

    @admin.action(description="Replay failed deliveries")
    def replay_failed(self, request, queryset) -> None:
        count = replay(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None) -> bool:
        # Replaying is an operator's action; the rows themselves stay read-only in the form.
        return False

from django.contrib import admin
from django.utils.html import format_html_join

from integrations.admin_base import ReadOnlyOrgAdmin

from .checks import integration_health
from .models import IntegrationHealth


@admin.register(IntegrationHealth)
class IntegrationHealthAdmin(ReadOnlyOrgAdmin):
    """Each integration with its computed health and the signals behind it."""

    list_display = ("name", "provider", "type", "health", "problems", "last_connected_at", "consecutive_failures")
    list_filter = ("type", "provider", "status")

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One batch of health queries for the page, not one set per row; kept on the rows themselves
        # (the admin instance is shared by concurrent requests).
        rows = list(changelist.result_list)
        found = {h.id: h for h in integration_health(rows)}
        for row in rows:
            row.hub_health = found.get(row.pk)
        changelist.result_list = rows
        return changelist

    @admin.display(description="health")
    def health(self, obj) -> str:
        found = getattr(obj, "hub_health", None)
        return found.status if found else ""

    @admin.display(description="problems")
    def problems(self, obj) -> str:
        found = getattr(obj, "hub_health", None)
        if not found or not found.problems:
            return "-"
        return format_html_join("", "<div>{}</div>", ((p,) for p in found.problems))

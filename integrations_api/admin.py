"""Admin for tenants, API keys, integrations (masked secrets), their logs and credential audits."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from integrations import audit
from integrations.admin_base import OrgScopedAdmin, ReadOnlyOrgAdmin, has_org_role, user_org_roles
from integrations.models import (
    ApiKey,
    CredentialAudit,
    Integration,
    IntegrationLog,
    IntegrationStatus,
    Membership,
    Organization,
    Role,
    role_at_least,
)

from .forms import IntegrationAdminForm


# --- organizations and members --------------------------------------------------------------------
class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Tenants are created and managed by superusers only."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    change_role = Role.OWNER  # owners manage members
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user"]


# --- API keys -------------------------------------------------------------------------------------
class ApiKeyAdminForm(forms.ModelForm):
    request = None  # set by ApiKeyAdmin.get_form

    class Meta:
        model = ApiKey
        fields = ["organization", "name", "role"]

    def clean(self):
        data = super().clean()
        request, organization, role = self.request, data.get("organization"), data.get("role")
        if request and organization and role and not request.user.is_superuser:
            own = user_org_roles(request).get(organization.pk, "")
            if not role_at_least(own, role):
                self.add_error("role", f"You cannot create a key with a role above your own ({own or 'none'}).")
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(OrgScopedAdmin):
    form = ApiKeyAdminForm
    list_display = ["name", "prefix", "organization", "role", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def get_readonly_fields(self, request, obj=None):
        # A key's organization and role are fixed once issued: issue a new key instead.
        return [*self.readonly_fields, "organization", "role"] if obj else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, raw = ApiKey.issue(obj.organization, name=obj.name, role=obj.role, created_by=request.user)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = issued.pk, issued.prefix, issued.key_hash, issued.created_at
        obj._state.adding = False
        messages.warning(request, f"The new API key is {raw} — copy it now: it is shown only this once.")

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request, queryset) -> None:
        done = 0
        for key in queryset:
            if has_org_role(request, key.organization_id, self.change_role):
                key.revoke()
                done += 1
        self.message_user(request, f"Revoked {done} key(s).")


# --- integrations ---------------------------------------------------------------------------------
@admin.register(Integration)
class IntegrationAdmin(OrgScopedAdmin):
    form = IntegrationAdminForm
    list_display = ["name", "code", "provider", "organization", "status", "auto_sync_enabled", "last_sync_at",
                    "last_connected_at", "has_connection_error"]
    list_filter = ["status", "provider", "type", "auto_sync_enabled",
                   ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "code", "provider", "description"]
    readonly_fields = ["webhook_url", "callback_url", "last_sync_at", "next_sync_at", "last_connected_at",
                       "connection_error", "consecutive_failures", "metadata", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "code", "type", "provider", "status", "description"]}),
        ("Connection", {"fields": ["base_url", "credentials_masked", "webhook_secret_masked", "webhook_url",
                                   "callback_url", "config"]}),
        ("Sync", {"fields": ["sync_interval_minutes", "auto_sync_enabled", "last_sync_at", "next_sync_at"]}),
        ("Health", {"fields": ["last_connected_at", "connection_error", "consecutive_failures", "metadata",
                               "created_at", "updated_at"]}),
    ]
    actions = ["test_connection", "sync_now"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization"] if obj else self.readonly_fields

    @admin.display(boolean=True, description="Error")
    def has_connection_error(self, obj: Integration) -> bool:
        return bool(obj.connection_error)

    def save_model(self, request, obj: Integration, form, change: bool) -> None:
        before = audit.snapshot({})
        if change:
            stored = Integration.objects.get(pk=obj.pk)
            before = audit.snapshot(stored.credentials, stored.webhook_secret)
        super().save_model(request, obj, form, change)
        after = audit.snapshot(obj.credentials, obj.webhook_secret)
        fields = audit.changed_fields(before, after)
        audit.record_change(
            obj, fields, action=audit.audit_action(not change, after, fields), via="admin", user=request.user
        )

    def _operable(self, request, queryset) -> list[Integration]:
        allowed = [i for i in queryset if has_org_role(request, i.organization_id, Role.MANAGER)]
        if len(allowed) < len(queryset):
            self.message_user(request, "Skipped integrations where you are not a manager.", messages.WARNING)
        return allowed

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset) -> None:
        from .tasks import test_connection

        integrations = self._operable(request, queryset)
        for integration in integrations:
            test_connection.delay(integration.pk)
        self.message_user(
            request, f"Connection test queued for {len(integrations)} integration(s); see their logs for the result."
        )

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset) -> None:
        from syncjobs.services import start_sync

        for integration in self._operable(request, queryset):
            if integration.status == IntegrationStatus.INACTIVE:
                self.message_user(request, f"{integration}: inactive, not synced.", messages.WARNING)
                continue
            try:
                jobs = start_sync(integration, trigger="manual", user=request.user)
            except Exception as exc:  # noqa: BLE001 - report per integration, keep going with the others
                self.message_user(request, f"{integration}: {exc}", messages.ERROR)
                continue
            ids = ", ".join(f"#{job.pk}" for job in jobs) or "none (already running)"
            self.message_user(request, f"{integration}: queued sync job(s) {ids}.")


# --- logs and audits (read-only) -----------------------------------------------------------------
@admin.register(IntegrationLog)
class IntegrationLogAdmin(ReadOnlyOrgAdmin):
    list_display = ["created_at", "integration", "action", "direction", "level", "method", "short_endpoint",
                    "status_code", "duration_ms"]
    list_filter = [("integration", admin.RelatedOnlyFieldListFilter), "action", "level", "direction", "created_at"]
    search_fields = ["endpoint", "error_message", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["integration"]
    fields = ["created_at", "organization", "integration", "action", "direction", "level", "method", "endpoint",
              "status_code", "duration_ms", "sync_job_id", "error_message", "request_text", "response_text"]
    readonly_fields = fields

    @admin.display(description="Endpoint")
    def short_endpoint(self, obj: IntegrationLog) -> str:
        return obj.endpoint if len(obj.endpoint) <= 80 else obj.endpoint[:77] + "…"

    @admin.display(description="Request excerpt")
    def request_text(self, obj: IntegrationLog) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.request_excerpt or "—")

    @admin.display(description="Response excerpt")
    def response_text(self, obj: IntegrationLog) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', obj.response_excerpt or "—")


@admin.register(CredentialAudit)
class CredentialAuditAdmin(ReadOnlyOrgAdmin):
    list_display = ["created_at", "integration", "action", "fields", "user", "api_key", "via"]
    list_filter = ["action", "via", ("integration", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["integration", "user", "api_key"]

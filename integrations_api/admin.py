"""Admin for tenants, API keys, integrations (masked secrets), their logs and credential audits."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from rest_framework.authtoken.admin import TokenProxy
from unfold.admin import ModelAdmin, TabularInline

from connectors.registry import get_connector_class, provider_choices
from integrations import audit
from integrations.admin_base import (
    LargeTableMixin,
    OrgRelatedFilter,
    OrgScopedAdmin,
    ReadOnlyOrgAdmin,
    has_org_role,
    user_org_roles,
)
from integrations.admin_display import badge, json_block, number, truncate, when
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
from integrations.schema_form import CFG_PREFIX, CRED_PREFIX, build_fields
from syncjobs.services import start_sync

from .forms import IntegrationAdminForm, connect_form_for
from .tasks import CONNECTION_TEST_ACTION, run_connection_test
from .tasks import test_connection as test_connection_task


# --- organizations and members --------------------------------------------------------------------
class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(ModelAdmin):
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
    list_display = ["name", "provider", "status_label", "auto_sync_enabled", "last_sync", "next_sync", "error"]
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
    change_form_outer_before_template = "console/integration_panel.html"

    # --- connect a provider: pick one, then its typed form --------------------------------------
    def _provider(self, request, obj=None) -> str:
        if obj is not None and obj.pk:
            return obj.provider
        return request.POST.get("provider") or request.GET.get("provider") or ""

    def _connect_form(self, request, obj=None):
        # "Raw JSON" (?mode=json, or _mode=json posted back) keeps the JSON boxes for what a schema
        # cannot express and for pasting a whole configuration at once.
        if "json" in (request.GET.get("mode"), request.POST.get("_mode")):
            return None
        provider = self._provider(request, obj)
        return connect_form_for(provider) if provider else None

    def get_fieldsets(self, request, obj=None):
        form = self._connect_form(request, obj)
        if form is None:
            return super().get_fieldsets(request, obj)
        names = list(build_fields(form.connector, {}, {}))
        credentials = [n for n in names if n.startswith(CRED_PREFIX)]
        config = [n for n in names if n.startswith(CFG_PREFIX)]
        fieldsets = [
            (None, {"fields": ["organization", "name", "code", "type", "provider", "status", "description"]}),
            ("Credentials", {"fields": [*credentials, "webhook_secret_masked"],
                             "description": "Secrets are never shown again once saved; leave a box blank to keep "
                                            "the stored value."}),
            ("Provider settings", {"fields": ["base_url", *config]}),
            ("Sync", {"fields": ["sync_interval_minutes", "auto_sync_enabled",
                                 *(["sync_streams"] if "sync_streams" in form.base_fields else [])]}),
        ]
        if obj is not None and obj.pk:
            fieldsets.append(("Health", {"fields": ["last_sync_at", "next_sync_at", "last_connected_at",
                                                    "connection_error", "consecutive_failures", "created_at",
                                                    "updated_at"]}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = self._connect_form(request, obj)
        if form is not None:
            kwargs["form"] = form
        return super().get_form(request, obj, change=change, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        provider = self._provider(request)
        if not provider or connect_form_for(provider) is None and provider not in dict(provider_choices()):
            # Step one: pick the provider; its form follows (GET ?provider=<code>).
            context = {**self.admin_site.each_context(request), "title": "Connect a provider",
                       "opts": self.model._meta, "providers": _provider_cards(),
                       "add_url": reverse("admin:integrations_integration_add")}
            return TemplateResponse(request, "console/provider_picker.html", context)
        extra = {**(extra_context or {}), "hub_provider": dict(provider_choices()).get(provider, provider),
                 "hub_save_and_test": True, "hub_json_url": f"?provider={provider}&mode=json"}
        return super().add_view(request, form_url, extra_context=extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        obj = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if obj is not None:
            extra.update(self.panel_context(request, obj))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def panel_context(self, request, obj: Integration) -> dict:
        """The integration page's header: webhook URL to copy, registration state, last connection test."""
        last_test = obj.logs.filter(action=CONNECTION_TEST_ACTION).order_by("-created_at").first()
        try:
            connector = get_connector_class(obj.provider)
        except KeyError:
            connector = None
        registration = None
        if connector is not None and hasattr(connector, "register_webhooks"):
            entry = obj.logs.filter(action__endswith="webhooks.result").order_by("-created_at").first()
            registration = {"ok": entry.level == "info", "message": entry.response_excerpt or entry.error_message,
                            "at": entry.created_at} if entry else {"ok": None, "message": "not registered yet"}
        return {"hub_integration": obj, "hub_webhook_url": obj.callback_url, "hub_last_test": last_test,
                "hub_registration": registration, "hub_save_and_test": True, "hub_json_url": "?mode=json",
                "hub_may_operate": has_org_role(request, obj.organization_id, Role.MANAGER)}

    def get_urls(self):
        view = self.admin_site.admin_view(self.sync_now_view)
        return [path("<int:pk>/sync/", view, name="integrations_integration_sync"), *super().get_urls()]

    def sync_now_view(self, request, pk: int) -> HttpResponseRedirect:
        """The page's "Sync now": queue every stream, then watch the jobs' progress bars."""
        integration = self.get_queryset(request).filter(pk=pk).first()  # another organization's: 404
        if integration is None:
            raise Http404("No such integration.")
        if request.method == "POST":
            self.sync_now(request, self.get_queryset(request).filter(pk=pk))
            return HttpResponseRedirect(
                f"{reverse('admin:syncjobs_syncjob_changelist')}?integration__id__exact={integration.pk}")
        return HttpResponseRedirect(reverse("admin:integrations_integration_change", args=[pk]))

    def response_add(self, request, obj, post_url_continue=None):
        if "_saveandtest" in request.POST:
            return self._test_and_show(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if "_saveandtest" in request.POST:
            return self._test_and_show(request, obj)
        return super().response_change(request, obj)

    def _test_and_show(self, request, obj: Integration) -> HttpResponseRedirect:
        result = run_test_now(obj)
        if result["ok"]:
            self.message_user(request, f"Saved. Connection works: {result['message']}", messages.SUCCESS)
        else:
            self.message_user(request, f"Saved, but the connection test failed: {result['message']}", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:integrations_integration_change", args=[obj.pk]))

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization"] if obj else self.readonly_fields

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: Integration) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="last sync", ordering="last_sync_at")
    def last_sync(self, obj: Integration) -> str:
        return when(obj.last_sync_at)

    @admin.display(description="next sync", ordering="next_sync_at")
    def next_sync(self, obj: Integration) -> str:
        return when(obj.next_sync_at) if obj.auto_sync_enabled else "—"

    @admin.display(description="error")
    def error(self, obj: Integration) -> str:
        return truncate(obj.connection_error, 48)

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
        # Many at once go to the worker; one integration's page answers in the request ("Save and test").
        integrations = self._operable(request, queryset)
        for integration in integrations:
            test_connection_task.delay(integration.pk)
        self.message_user(request, f"Connection test queued for {len(integrations)} integration(s); each "
                                   "integration's page shows its result.")

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset) -> None:
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


def run_test_now(integration: Integration) -> dict:
    """Run the connection test in this request and return its outcome (the provider's own message).

    In the request, not on a worker: the admin saves inside a transaction that another connection
    cannot see yet. It is bounded by the HTTP client's connect/read timeouts and retry budget.
    """
    return run_connection_test(Integration.objects.get(pk=integration.pk))


def _provider_cards() -> list[dict]:
    cards = []
    for code, name in provider_choices():
        connector = get_connector_class(code)
        doc = (connector.__doc__ or "").strip().splitlines()
        cards.append({"code": code, "name": name, "type": connector.integration_type,
                      "initials": "".join(w[0] for w in name.split()[:2]).upper(),
                      "about": doc[0] if doc else "", "typed": connect_form_for(code) is not None})
    return sorted(cards, key=lambda c: c["name"].lower())


# --- logs and audits (read-only) -----------------------------------------------------------------
class LevelFilter(admin.SimpleListFilter):
    """Fixed choices: reading DISTINCT levels from a million log rows costs more than the page."""

    title = "level"
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return [("info", "info"), ("warning", "warning"), ("error", "error")]

    def queryset(self, request, queryset):
        return queryset.filter(level=self.value()) if self.value() else queryset


@admin.register(IntegrationLog)
class IntegrationLogAdmin(LargeTableMixin, ReadOnlyOrgAdmin):
    list_display = ["created", "integration", "action", "level_label", "call", "status", "duration"]
    list_filter = [("integration", OrgRelatedFilter), LevelFilter, "direction", "created_at"]
    search_fields = ["endpoint", "error_message", "action"]
    list_select_related = ["integration"]
    fields = ["created_at", "organization", "integration", "action", "direction", "level", "method", "endpoint",
              "status_code", "duration_ms", "sync_job_id", "error_message", "request_text", "response_text"]
    readonly_fields = fields

    @admin.display(description="at", ordering="created_at")
    def created(self, obj: IntegrationLog) -> str:
        return when(obj.created_at)

    @admin.display(description="level", ordering="level")
    def level_label(self, obj: IntegrationLog) -> str:
        return badge(obj.level, obj.level)

    @admin.display(description="call")
    def call(self, obj: IntegrationLog) -> str:
        return truncate(f"{obj.method} {obj.endpoint}".strip(), 56)

    @admin.display(description="HTTP", ordering="status_code")
    def status(self, obj: IntegrationLog) -> str:
        if not obj.status_code:
            return badge("failed", obj.error_message[:20] or "no answer") if obj.error_message else "—"
        return badge("ok" if obj.status_code < 400 else "failed", str(obj.status_code))

    @admin.display(description="ms", ordering="duration_ms")
    def duration(self, obj: IntegrationLog) -> str:
        return number(obj.duration_ms)

    @admin.display(description="Request excerpt")
    def request_text(self, obj: IntegrationLog) -> str:
        return json_block(obj.request_excerpt, is_body=True)

    @admin.display(description="Response excerpt")
    def response_text(self, obj: IntegrationLog) -> str:
        return json_block(obj.response_excerpt, is_body=True)


@admin.register(CredentialAudit)
class CredentialAuditAdmin(ReadOnlyOrgAdmin):
    list_display = ["created_at", "integration", "action", "fields", "user", "api_key", "via"]
    list_filter = ["action", "via", ("integration", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["integration", "user", "api_key"]


# --- DRF's user tokens: hidden. A token's key is its primary key, so every link, checkbox and URL of
# its admin pages would carry the secret itself; users get and drop tokens through the API.
admin.site.unregister(TokenProxy)

"""The ledger in the admin: transactions with their state history (read-only), a Refund action, the
stored gateway callbacks, and a reconciliation view with CSV export."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import TabularInline

from connectors.errors import ConnectorError
from connectors.money import exponent, to_major
from integrations.admin_base import ReadOnlyOrgAdmin, has_org_role, user_org_roles
from integrations.admin_display import badge, json_block, truncate, when
from integrations.models import Integration, Role

from . import reconciliation, services
from .models import GatewayCallback, PaymentStateChange, PaymentTransaction

log = logging.getLogger("payments.admin")


def format_money(amount: int | None, currency: str) -> str:
    """Minor units as the major amount with separators and the currency: 1000 USD -> "10.00 USD"."""
    if amount is None:
        return "—"
    digits = exponent(currency)
    return format_html('<span class="hub-num">{} {}</span>', f"{to_major(amount, currency):,.{digits}f}", currency)


class StateChangeInline(TabularInline):
    model = PaymentStateChange
    fields = ["at", "from_state", "to_state", "gateway_state", "reason", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReconciliationFilter(admin.SimpleListFilter):
    """The dashboard's "paid with no order or invoice" link: paid transactions nothing of ours matches."""

    title = "reconciliation"
    parameter_name = "reconciliation"

    def lookups(self, request, model_admin):
        return [("unmatched", "Paid, no order or invoice linked")]

    def queryset(self, request, queryset):
        if self.value() == "unmatched":
            return queryset.filter(state="paid", order__isnull=True, invoice__isnull=True)
        return queryset


@admin.register(PaymentTransaction)
class PaymentTransactionAdmin(ReadOnlyOrgAdmin):
    list_display = ["id", "created", "integration", "reference_short", "money", "state_label", "gateway_state"]
    show_full_result_count = False
    list_filter = ["provider", "state", ReconciliationFilter, "integration", "created_at", "test_mode"]
    search_fields = ["reference", "gateway_transaction_id"]
    date_hierarchy = "created_at"
    list_select_related = ["integration"]
    inlines = [StateChangeInline]
    actions = ["refund_payments"]
    exclude = ["raw", "data"]
    readonly_fields = ["organization", "integration", "provider", "order", "invoice", "reference", "description",
                       "money", "refunded", "gateway_transaction_id", "state", "gateway_state",
                       "cancel_reason", "gateway_time", "test_mode", "idempotency_key", "created_at", "pending_at",
                       "paid_at", "cancelled_at", "refunded_at", "failed_at", "raw_pretty"]
    change_list_template = "admin/payments/paymenttransaction/change_list.html"

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: PaymentTransaction) -> str:
        return when(obj.created_at)

    @admin.display(description="reference")
    def reference_short(self, obj: PaymentTransaction) -> str:
        return truncate(obj.reference, 28)

    @admin.display(description="amount", ordering="amount")
    def money(self, obj: PaymentTransaction) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description="refunded")
    def refunded(self, obj: PaymentTransaction) -> str:
        return format_money(obj.refunded_amount, obj.currency)

    @admin.display(description="state", ordering="state")
    def state_label(self, obj: PaymentTransaction) -> str:
        return badge(obj.state, obj.get_state_display())

    @admin.display(description="Gateway payload")
    def raw_pretty(self, obj: PaymentTransaction) -> str:
        return json_block(obj.raw)

    @admin.action(description="Refund (what is left) through the gateway")
    def refund_payments(self, request, queryset):
        orgs = set(queryset.values_list("organization_id", flat=True))
        if not all(has_org_role(request, org_id, Role.MANAGER) for org_id in orgs):
            self.message_user(request, "Refunding needs the manager role.", messages.ERROR)
            return
        for tx in queryset.select_related("integration"):
            try:
                tx = services.refund(tx, source="admin")
            except (services.PaymentConflict, ConnectorError) as exc:
                self.message_user(request, f"Payment {tx.pk}: {exc}", messages.ERROR)
            except Exception as exc:  # noqa: BLE001 - one payment's failure is reported, the others go on
                log.exception("admin refund of payment %s failed", tx.pk)
                self.message_user(request, f"Payment {tx.pk}: unexpected {exc.__class__.__name__}; the outcome is "
                                           "unknown (a repeat is safe)", messages.ERROR)
            else:
                self.message_user(request, f"Payment {tx.pk}: {tx.refunded_amount} refunded, now {tx.state}.")

    # --- reconciliation ------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view(self.reconciliation_view)
        return [path("reconciliation/", view, name="payments_reconciliation"), *super().get_urls()]

    def reconciliation_view(self, request):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        orgs = list(user_org_roles(request)) if not request.user.is_superuser else None
        gateways = Integration.objects.filter(provider__in=services.gateway_providers())
        if orgs is not None:
            gateways = gateways.filter(organization__in=orgs)
        form = ReconciliationForm(request.GET or None, gateways=gateways)
        report = None
        if form.is_valid():
            integration = form.cleaned_data["integration"]
            report = reconciliation.reconcile(integration.organization, integration=integration,
                                              start=form.cleaned_data.get("start"), end=form.cleaned_data.get("end"))
            if request.GET.get("export") == "csv":
                response = HttpResponse(reconciliation.to_csv(report), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = 'attachment; filename="reconciliation.csv"'
                return response
        context = {**self.admin_site.each_context(request), "title": "Payment reconciliation", "form": form,
                   "report": report, "opts": self.model._meta,
                   "export_url": f"{reverse('admin:payments_reconciliation')}?{request.GET.urlencode()}&export=csv"}
        return TemplateResponse(request, "admin/payments/reconciliation.html", context)


class ReconciliationForm(forms.Form):
    integration = forms.ModelChoiceField(queryset=Integration.objects.none())
    start = forms.DateTimeField(required=False, help_text="From (inclusive), e.g. 2026-11-01 00:00")
    end = forms.DateTimeField(required=False, help_text="To (exclusive)")

    def __init__(self, *args, gateways=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["integration"].queryset = gateways


@admin.register(GatewayCallback)
class GatewayCallbackAdmin(ReadOnlyOrgAdmin):
    list_display = ["id", "received_at", "integration", "provider", "method", "error_code", "transaction",
                    "answered_at"]
    list_filter = ["provider", "method", "integration"]
    date_hierarchy = "received_at"
    list_select_related = ["integration"]
    exclude = ["body", "headers", "response"]
    readonly_fields = ["organization", "integration", "provider", "method", "endpoint", "remote_ip", "received_at",
                       "transaction", "error_code", "answered_at", "headers_pretty", "body_text", "response_pretty"]

    @admin.display(description="Headers")
    def headers_pretty(self, obj: GatewayCallback) -> str:
        return json_block(obj.headers)

    @admin.display(description="Body")
    def body_text(self, obj: GatewayCallback) -> str:
        return json_block(obj.body, is_body=True)

    @admin.display(description="Answer")
    def response_pretty(self, obj: GatewayCallback) -> str:
        return json_block(obj.response)

"""The console's sidebar, grouped by task; each link shown only to users whose admin may open it."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse


def console_css(request: HttpRequest) -> str:
    return static("console/console.css")


def console_js(request: HttpRequest) -> str:
    return static("console/console.js")


def _model_item(title: str, icon: str, label: str) -> dict[str, Any] | None:
    model = apps.get_model(label)
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return None
    opts = model._meta
    try:
        link = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        return None

    def permission(request: HttpRequest) -> bool:
        return model_admin.has_module_permission(request) and model_admin.has_view_permission(request)

    return {"title": title, "icon": icon, "link": link, "permission": permission}


# (group title, [(link title, Material Symbols icon, "app_label.Model")]); models staff never touch
# (beat's schedules, users and groups) are under Advanced, DRF's token admin is not registered at all.
GROUPS: list[tuple[str, bool, list[tuple[str, str, str]]]] = [
    ("Connections", False, [
        ("Integrations", "hub", "integrations.Integration"),
        ("Health", "monitor_heart", "health.IntegrationHealth"),
        ("Event destinations", "output", "events.Destination"),
    ]),
    ("Activity", False, [
        ("Sync jobs", "sync", "syncjobs.SyncJob"),
        ("Webhook events", "webhook", "webhooks.WebhookEvent"),
        ("Provider calls", "receipt_long", "integrations.IntegrationLog"),
        ("Outbox events", "outbox", "events.OutboxEvent"),
        ("Event deliveries", "send", "events.EventDelivery"),
        ("Sync states", "bookmark", "syncjobs.SyncState"),
    ]),
    ("Data", True, [
        ("Products", "inventory_2", "records.Product"),
        ("Stock levels", "stacks", "records.StockLevel"),
        ("Categories", "category", "records.Category"),
        ("Locations", "store", "records.Location"),
        ("Customers", "group", "records.Customer"),
        ("Suppliers", "local_shipping", "records.Supplier"),
        ("Orders", "shopping_cart", "records.Order"),
        ("Order lines", "list", "records.OrderLine"),
        ("Invoices", "request_quote", "records.Invoice"),
        ("Invoice lines", "list", "records.InvoiceLine"),
        ("Payments (synced)", "payments", "records.Payment"),
        ("Staff users", "badge", "records.StaffUser"),
        ("Accounts", "account_balance", "records.Account"),
        ("Charges", "sell", "records.Charge"),
        ("Product relations", "link", "records.ProductRelation"),
        ("Files", "description", "files.StoredFile"),
    ]),
    ("Payments", False, [
        ("Transactions", "credit_card", "payments.PaymentTransaction"),
        ("Gateway callbacks", "call_received", "payments.GatewayCallback"),
    ]),
    ("Messaging", True, [
        ("Messages", "mail", "notifications.Message"),
        ("Deliveries", "outgoing_mail", "notifications.Delivery"),
        ("Templates", "article", "notifications.NotificationTemplate"),
        ("Alert rules", "notifications_active", "notifications.AlertRule"),
        ("Alert states", "notification_important", "notifications.AlertState"),
    ]),
    ("Settings", False, [
        ("Organizations", "domain", "integrations.Organization"),
        ("Members", "person", "integrations.Membership"),
        ("API keys", "key", "integrations.ApiKey"),
        ("Credential audit", "policy", "integrations.CredentialAudit"),
    ]),
    ("Advanced", True, [
        ("Periodic tasks", "schedule", "django_celery_beat.PeriodicTask"),
        ("Intervals", "timer", "django_celery_beat.IntervalSchedule"),
        ("Crontabs", "event_repeat", "django_celery_beat.CrontabSchedule"),
        ("Solar schedules", "wb_sunny", "django_celery_beat.SolarSchedule"),
        ("Clocked schedules", "alarm", "django_celery_beat.ClockedSchedule"),
        ("Users", "manage_accounts", "auth.User"),
        ("Groups", "groups", "auth.Group"),
    ]),
]


def navigation(request: HttpRequest) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = [{"items": [
        {"title": "Dashboard", "icon": "dashboard", "link": reverse("admin:index")},
    ]}]
    for title, collapsible, entries in GROUPS:
        items = [item for entry in entries if (item := _model_item(*entry))]
        if title == "Payments" and items:
            reconciliation = {"title": "Reconciliation", "icon": "balance", "link": _reverse_or_none(
                "admin:payments_reconciliation"), "permission": items[0]["permission"]}
            if reconciliation["link"]:
                items.insert(1, reconciliation)
        if any(item["permission"](request) for item in items):
            groups.append({"title": title, "separator": True, "collapsible": collapsible, "items": items})
    return groups


def _reverse_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None

"""Built-in templates (Django template syntax). An organization overrides one in the admin."""

from __future__ import annotations

# (name, channel) -> (subject, body)
DEFAULT_TEMPLATES: dict[tuple[str, str], tuple[str, str]] = {
    ("low_stock_alert", "email"): (
        "Low stock: {{ product_name }} at {{ location_name }}",
        "{{ product_name }} ({{ sku }}) is down to {{ quantity }} at {{ location_name }} "
        "(threshold {{ threshold }}).",
    ),
    ("low_stock_alert", "sms"): ("", "Low stock: {{ product_name }} {{ quantity }} left at {{ location_name }}"),
    ("expiry_alert", "email"): (
        "Expiring soon: {{ product_name }}",
        "{{ product_name }} (batch {{ batch }}) expires on {{ expires_at }} at {{ location_name }}.",
    ),
    ("expiry_alert", "sms"): ("", "{{ product_name }} batch {{ batch }} expires {{ expires_at }}"),
    ("daily_report", "email"): (
        "Daily report {{ date }}",
        "Syncs: {{ syncs_completed }} completed, {{ syncs_failed }} failed. "
        "Records written: {{ records }}. Webhook failures: {{ webhook_failures }}.",
    ),
    ("daily_report", "sms"): ("", "Report {{ date }}: {{ syncs_failed }} failed syncs, {{ records }} records"),
    ("purchase_order_created", "email"): (
        "Purchase order {{ number }} created",
        "Purchase order {{ number }} for {{ supplier_name }}, total {{ total }} {{ currency }}.",
    ),
    ("purchase_order_created", "sms"): ("", "PO {{ number }} created: {{ total }} {{ currency }}"),
    ("critical_alert", "email"): ("CRITICAL: {{ title }}", "{{ message }}"),
    ("critical_alert", "sms"): ("", "CRITICAL: {{ title }} - {{ message }}"),
    ("custom", "email"): ("{{ subject }}", "{{ body }}"),
    ("custom", "sms"): ("", "{{ body }}"),
}

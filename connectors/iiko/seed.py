"""The demo organization's iiko integration, connected to this hub's iiko sandbox (``manage.py seed_demo``)."""

from __future__ import annotations

LOGIN = "demo-chain"  # the sandbox answers login L to the password "L-password"


def demo_integrations(base: str) -> list[dict]:
    """Integration specs pointed at the sandbox under ``base`` (the hub's public URL)."""
    return [{
        "code": "iiko",
        "name": "iiko (sandbox)",
        "provider": "iiko",
        "type": "erp",
        "base_url": f"{base}/sandbox/iiko",
        "credentials": {"login": LOGIN, "password": f"{LOGIN}-password"},
        "config": {"invoice_window_days": 7, "invoice_history_days": 30, "timezone": "Europe/Moscow"},
        "auto_sync_enabled": True,
        "sync_interval_minutes": 60,
        "description": "The built-in iikoServer sandbox: restaurants, stores, suppliers, products and invoices.",
    }]

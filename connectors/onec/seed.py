"""The demo organization's 1C integration, connected to this hub's 1C sandbox (``manage.py seed_demo``)."""

from __future__ import annotations

PUBLICATION = "demo-trade"  # the sandbox's infobase; its user Администратор has the password "пароль-demo-trade"


def demo_integrations(base: str) -> list[dict]:
    """Integration specs pointed at the sandbox under ``base`` (the hub's public URL)."""
    return [{
        "code": "1c-trade",
        "name": "1C:Управление торговлей (sandbox)",
        "provider": "1c",
        "type": "erp",
        "base_url": f"{base}/sandbox/1c/{PUBLICATION}",
        "credentials": {"username": "Администратор", "password": f"пароль-{PUBLICATION}"},
        "config": {"timezone": "Europe/Moscow", "main_price_type": "Розничная", "page_size": 100},
        "auto_sync_enabled": True,
        "sync_interval_minutes": 60,
        "description": "The built-in 1C OData sandbox: nomenclature, counterparties, warehouses, prices, stock, "
                       "customer orders, sales and purchases of a typical УТ 11 infobase.",
    }]

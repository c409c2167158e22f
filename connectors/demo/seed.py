"""The demo organization's Demo Store integration (read by ``manage.py seed_demo``)."""

from __future__ import annotations

import base64
import secrets


def demo_integrations(base: str) -> list[dict]:
    """Integration specs pointed at this hub's sandbox under ``base`` (the hub's public URL)."""
    whsec = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    return [{
        "code": "demo-store",
        "name": "Demo Store (sandbox)",
        "provider": "demo",
        "type": "inventory",
        "base_url": f"{base}/sandbox/demo",
        "credentials": {"client_id": "demo-retail", "client_secret": "demo-retail-secret"},
        "webhook_secret": whsec,
        "auto_sync_enabled": True,
        "sync_interval_minutes": 30,
        "description": "The built-in Demo Store sandbox: a faithful retail API served by this hub.",
    }]

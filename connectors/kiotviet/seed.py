"""The demo organization's KiotViet integration, connected to this hub's KiotViet sandbox."""

from __future__ import annotations

import base64
import secrets


def demo_integrations(base: str) -> list[dict]:
    """Integration specs pointed at the sandbox under ``base`` (the hub's public URL)."""
    # KiotViet asks for a random secret of 8+ characters, sent in its Base64 form.
    webhook_secret = base64.b64encode(secrets.token_bytes(24)).decode()
    return [{
        "code": "kiotviet",
        "name": "KiotViet (sandbox)",
        "provider": "kiotviet",
        "type": "inventory",
        "base_url": f"{base}/sandbox/kiotviet",
        "credentials": {"client_id": "demo-kiotviet", "client_secret": "demo-kiotviet-secret",
                        "retailer": "demoshop"},
        "config": {"token_url": f"{base}/sandbox/kiotviet/connect/token"},
        "webhook_secret": webhook_secret,
        "auto_sync_enabled": True,
        "sync_interval_minutes": 30,
        "description": "KiotViet sandbox served by this hub: retailer 'demoshop', generated retail data.",
    }]

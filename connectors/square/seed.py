"""The demo organization's Square integration on our Square sandbox (sandbox token, signed webhooks)."""

from __future__ import annotations

import secrets


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "square-sandbox",
        "name": "Square (sandbox)",
        "provider": "square",
        "type": "payment_gateway",
        "base_url": f"{base}/sandbox/square",
        "credentials": {"access_token": "EAAAl" + secrets.token_urlsafe(30)},
        "config": {"location_id": "LSANDBOX0001", "environment": "sandbox", "autocomplete": True},
        "webhook_secret": secrets.token_urlsafe(16),
        "description": "Payments and refunds against /sandbox/square/ (source cnon:card-nonce-ok succeeds).",
    }]

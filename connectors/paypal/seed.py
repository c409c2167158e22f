"""The demo organization's PayPal integration on our PayPal sandbox (sandbox app, signed webhooks)."""

from __future__ import annotations

import secrets


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "paypal-sandbox",
        "name": "PayPal (sandbox)",
        "provider": "paypal",
        "type": "payment_gateway",
        "base_url": f"{base}/sandbox/paypal",
        "credentials": {"client_id": "AZsandbox" + secrets.token_hex(12),
                        "client_secret": "EL" + secrets.token_hex(16)},
        "config": {"environment": "sandbox", "verification": "offline"},
        "webhook_secret": "WH" + secrets.token_hex(8).upper(),  # the PayPal webhook id
        "description": "Orders v2, capture and refunds against /sandbox/paypal/ (approve with its _control call).",
    }]

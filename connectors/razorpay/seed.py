"""The demo organization's Razorpay integration on our Razorpay sandbox (test keys, signed webhooks)."""

from __future__ import annotations

import secrets


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "razorpay-sandbox",
        "name": "Razorpay (sandbox)",
        "provider": "razorpay",
        "type": "payment_gateway",
        "base_url": f"{base}/sandbox/razorpay",
        "credentials": {"key_id": "rzp_test_" + secrets.token_hex(7), "key_secret": secrets.token_urlsafe(18)},
        "webhook_secret": secrets.token_urlsafe(24),
        "description": "Orders, capture and refunds against /sandbox/razorpay/ (pay an order with its _control call).",
    }]

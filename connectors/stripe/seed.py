"""The demo organization's Stripe integration on our Stripe sandbox (test key, signed webhooks)."""

from __future__ import annotations

import secrets


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "stripe-sandbox",
        "name": "Stripe (sandbox)",
        "provider": "stripe",
        "type": "payment_gateway",
        "base_url": f"{base}/sandbox/stripe",
        "credentials": {"secret_key": "sk_test_demo_" + secrets.token_hex(8)},
        "webhook_secret": "whsec_" + secrets.token_urlsafe(24),
        "description": "PaymentIntents and refunds against /sandbox/stripe/ (pm_card_visa succeeds).",
    }]

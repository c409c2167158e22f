"""The demo organization's Payme integration, in test mode, paying through our Payme sandbox."""

from __future__ import annotations

# Sandbox-only values (documented in the README so the demo's test cabinet can be registered).
DEMO_MERCHANT_ID = "demo-cashbox-0001"
DEMO_TEST_KEY = "demo-payme-test-key"


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "payme-sandbox",
        "name": "Payme (test mode, sandbox cabinet)",
        "provider": "payme",
        "type": "payment_gateway",
        "credentials": {"merchant_id": DEMO_MERCHANT_ID, "key": "demo-payme-production-key-unused",
                        "test_key": DEMO_TEST_KEY},
        "config": {"account_field": "order_id", "test_mode": True, "checkout_url": f"{base}/sandbox/payme/checkout"},
        "description": "Payme merchant API in test mode; /sandbox/payme/ plays Payme's side.",
    }]

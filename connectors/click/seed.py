"""The demo organization's Click integration, in test mode, paying through our Click sandbox."""

from __future__ import annotations

# Sandbox-only values (documented in the README so the sandbox cabinet can be registered).
DEMO_SERVICE_ID = "90001"
DEMO_SECRET_KEY = "demo-click-secret-key"  # noqa: S105 - the sandbox's, documented


def demo_integrations(base: str) -> list[dict]:
    return [{
        "code": "click-sandbox",
        "name": "Click (test mode, sandbox cabinet)",
        "provider": "click",
        "type": "payment_gateway",
        "credentials": {"service_id": DEMO_SERVICE_ID, "merchant_id": "90002", "secret_key": DEMO_SECRET_KEY,
                        "merchant_user_id": "90003"},
        "config": {"test_mode": True, "pay_url": f"{base}/sandbox/click/services/pay"},
        "description": "Click SHOP API in test mode; /sandbox/click/ plays Click's side.",
    }]

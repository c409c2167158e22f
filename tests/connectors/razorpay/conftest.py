"""Razorpay integrations on our sandbox over real HTTP (live_server)."""

from __future__ import annotations

import pytest
import requests

KEY_ID = "rzp_test_HubTests0001"
KEY_SECRET = "razorpay-key-secret-0001"
WEBHOOK_SECRET = "razorpay-webhook-secret"


@pytest.fixture(autouse=True)
def two_retries(settings):
    """The failover tests count on two tries (tests/connectors/conftest.py's fast_http allows three)."""
    settings.CONNECTOR_HTTP_MAX_RETRIES = 2


@pytest.fixture
def make_razorpay(org):
    from integrations.models import Integration

    def make(base_url: str, code: str = "razorpay", organization=None, key_id: str = KEY_ID,
             key_secret: str = KEY_SECRET, **extra):
        return Integration.objects.create(organization=organization or org, name=code, code=code,
                                          provider="razorpay", type="payment_gateway", base_url=base_url,
                                          credentials={"key_id": key_id, "key_secret": key_secret},
                                          webhook_secret=WEBHOOK_SECRET, **extra)

    return make


@pytest.fixture
def sandbox(live_server) -> str:
    return f"{live_server.url}/sandbox/razorpay"


@pytest.fixture
def razorpay(make_razorpay, sandbox):
    return make_razorpay(sandbox)


def control(sandbox: str, action: str, key_id: str = KEY_ID, **body) -> requests.Response:
    return requests.post(f"{sandbox}/_control", json={"key_id": key_id, "action": action, **body}, timeout=10)

"""Stripe integrations on the sandbox over real HTTP (live_server), fast HTTP retries."""

from __future__ import annotations

import pytest

WHSEC = "whsec_payments_tests_secret"


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.CONNECTOR_HTTP_BACKOFF_BASE = 0.01
    settings.CONNECTOR_HTTP_BACKOFF_MAX = 0.05
    settings.CONNECTOR_HTTP_TIMEOUT = 5.0
    settings.CONNECTOR_HTTP_MAX_RETRIES = 2


@pytest.fixture
def make_stripe(org):
    from integrations.models import Integration

    def make(base_url: str, code: str = "stripe", key: str = "sk_test_payments0001", organization=None, **extra):
        return Integration.objects.create(organization=organization or org, name=code, code=code, provider="stripe",
                                          type="payment_gateway", base_url=base_url, credentials={"secret_key": key},
                                          webhook_secret=WHSEC, **extra)

    return make


@pytest.fixture
def stripe_sandbox(live_server) -> str:
    return f"{live_server.url}/sandbox/stripe"


@pytest.fixture
def stripe(make_stripe, stripe_sandbox):
    return make_stripe(stripe_sandbox)

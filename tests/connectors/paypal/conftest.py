"""PayPal integrations on our sandbox over real HTTP (live_server); the
sandbox's certificate URL is trusted (as PayPal's own hosts are in production)."""

from __future__ import annotations

import pytest
import requests

CLIENT_ID = "AZsandboxHubTests0001"
CLIENT_SECRET = "ELsandboxSecret0001"
WEBHOOK_ID = "8PT597110X687430LKGECATA"


@pytest.fixture(autouse=True)
def two_retries(settings):
    """The failover tests count on two tries (tests/connectors/conftest.py's fast_http allows three)."""
    settings.CONNECTOR_HTTP_MAX_RETRIES = 2


@pytest.fixture
def make_paypal(org):
    from integrations.models import Integration

    def make(base_url: str, code: str = "paypal", organization=None, client_id: str = CLIENT_ID, **config):
        return Integration.objects.create(
            organization=organization or org, name=code, code=code, provider="paypal", type="payment_gateway",
            base_url=base_url, credentials={"client_id": client_id, "client_secret": CLIENT_SECRET},
            webhook_secret=WEBHOOK_ID, config={"environment": "sandbox", **config})

    return make


@pytest.fixture
def sandbox(live_server, settings) -> str:
    settings.PAYPAL_CERT_URL_PREFIXES = (f"{live_server.url}/sandbox/paypal/",)
    return f"{live_server.url}/sandbox/paypal"


@pytest.fixture
def paypal(make_paypal, sandbox):
    return make_paypal(sandbox)


def control(sandbox: str, action: str, client_id: str = CLIENT_ID, **body) -> requests.Response:
    return requests.post(f"{sandbox}/_control", json={"client_id": client_id, "action": action, **body}, timeout=10)

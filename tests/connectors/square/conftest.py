"""Square integrations on our sandbox over real HTTP (live_server)."""

from __future__ import annotations

import pytest
import requests

TOKEN = "EAAAlSandboxHubTests000000000001"
SIGNATURE_KEY = "sq-signature-key-0001"


@pytest.fixture(autouse=True)
def two_retries(settings):
    """The failover tests count on two tries (tests/connectors/conftest.py's fast_http allows three)."""
    settings.CONNECTOR_HTTP_MAX_RETRIES = 2


@pytest.fixture
def make_square(org):
    from integrations.models import Integration

    def make(base_url: str, code: str = "square", organization=None, token: str = TOKEN, **config):
        return Integration.objects.create(
            organization=organization or org, name=code, code=code, provider="square", type="payment_gateway",
            base_url=base_url, credentials={"access_token": token}, webhook_secret=SIGNATURE_KEY,
            config={"location_id": "LSANDBOX0001", "environment": "sandbox", **config})

    return make


@pytest.fixture
def sandbox(live_server) -> str:
    return f"{live_server.url}/sandbox/square"


@pytest.fixture
def square(make_square, sandbox):
    return make_square(sandbox)


def control(sandbox: str, action: str, token: str = TOKEN, **body) -> requests.Response:
    return requests.post(f"{sandbox}/_control", json={"access_token": token, "action": action, **body}, timeout=10)


def hook_up(sandbox: str, live_server, integration, token: str = TOKEN) -> None:
    """Subscribe the integration's receiver; Square signs with the notification URL as registered."""
    from connectors.square.client import SquareConnector

    control(sandbox, "webhook_endpoint", token, url=f"{live_server.url}/api/webhooks/receive/{integration.webhook_key}",
            signature_key=SIGNATURE_KEY, notification_url=SquareConnector.notification_url(integration))

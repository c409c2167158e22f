"""Fixtures for the HTTP client and connector tests: fast backoffs, a scripted server, the demo sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connectors.base import Connector
from tests.connectors.fakeserver import Answer, FakeServer

CLIENT_SECRET = "cs-very-secret-value-42"
WEBHOOK_SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


@pytest.fixture(autouse=True)
def fast_http(settings):
    """Retries in milliseconds, so fault tests stay fast (the rules are the same)."""
    settings.CONNECTOR_HTTP_BACKOFF_BASE = 0.01
    settings.CONNECTOR_HTTP_BACKOFF_MAX = 0.05
    settings.CONNECTOR_HTTP_TIMEOUT = 5.0
    settings.CONNECTOR_HTTP_MAX_RETRIES = 3


@pytest.fixture
def server() -> Iterator[FakeServer]:
    srv = FakeServer().start()
    srv.defaults["/token"] = Answer(200, srv.new_token)
    srv.defaults["/items"] = Answer(200, {"data": [1, 2, 3]})
    yield srv
    srv.stop()


class ScriptedConnector(Connector):
    """A minimal connector (not registered) whose token comes from the scripted server."""

    provider = "scripted"
    display_name = "Scripted"

    def obtain_token(self) -> dict[str, Any]:
        creds = self.integration.credentials
        body = self.http.request(
            "POST", "/token", action="scripted.token", auth=False, idempotent=True,
            data={"grant_type": "client_credentials", "client_id": creds["client_id"],
                  "client_secret": creds["client_secret"]},
        ).json()
        return {"access_token": body["access_token"], "expires_at": time.time() + body["expires_in"]}


@pytest.fixture
def make_integration(org):
    from integrations.models import Integration

    def make(base_url: str, provider: str = "scripted", code: str = "int", **extra: Any) -> Integration:
        values = {"credentials": {"client_id": "acme-client", "client_secret": CLIENT_SECRET},
                  "webhook_secret": WEBHOOK_SECRET, **extra}
        return Integration.objects.create(organization=org, name=code, code=code, provider=provider,
                                          base_url=base_url, **values)

    return make


@pytest.fixture
def scripted(server, make_integration):
    return ScriptedConnector(make_integration(server.url))


# --- the demo sandbox -----------------------------------------------------------------------------
class Sandbox:
    """Drives the demo sandbox's control endpoint over HTTP."""

    def __init__(self, base: str):
        self.base = base

    def control(self, client_id: str, action: str, **body: Any) -> dict[str, Any]:
        from sandboxes.demo.dataset import account_secret

        resp = requests.post(f"{self.base}/_control", timeout=30, json={
            "client_id": client_id, "client_secret": account_secret(client_id), "action": action, **body})
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def sandbox(live_server) -> Sandbox:
    return Sandbox(live_server.url + "/sandbox/demo")


@pytest.fixture
def demo(sandbox, make_integration, request):
    """``demo(client_id, sizes=..., **integration fields)`` -> a DemoConnector on the live sandbox."""
    from connectors.demo import DemoConnector
    from sandboxes.demo.dataset import credentials_for

    def make(client_id: str | None = None, sizes: dict[str, int] | None = None, **extra: Any) -> DemoConnector:
        client_id = client_id or f"acct-{request.node.name[:40]}"
        if sizes:
            sandbox.control(client_id, "set_sizes", sizes=sizes)
        extra.setdefault("config", {"page_size": 10, "price_list": "retail"})
        integration = make_integration(sandbox.base, provider="demo", code=client_id[:90],
                                       credentials=credentials_for(client_id), **extra)
        connector = DemoConnector(integration)
        connector.client_id = client_id
        return connector

    return make

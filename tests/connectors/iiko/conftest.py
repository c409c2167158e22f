"""iiko fixtures: the sandbox on live_server (driven through its control endpoint) and connectors on it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from sandboxes.iiko.dataset import password_for

SIZES = {"restaurants": 3, "stores": 5, "suppliers": 7, "groups": 4, "products": 25, "invoices": 12, "lines": 3,
         "invoice_days": 10}


class IikoSandbox:
    """One sandbox account (login) of a test."""

    def __init__(self, base: str, login: str):
        self.base = base
        self.login = login
        self.password = password_for(login)
        self.credentials = {"login": login, "password": self.password}

    def control(self, action: str, **body: Any) -> dict[str, Any]:
        resp = requests.post(f"{self.base}/_control", timeout=30,
                             json={"login": self.login, "password": self.password, "action": action, **body})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def stats(self) -> dict[str, Any]:
        return self.control("stats")


@pytest.fixture(autouse=True)
def _short_sync_timings(monkeypatch, settings):
    # For this process and for a worker started later (its settings read the environment).
    monkeypatch.setenv("SYNC_TRANSIENT_RETRIES", "0")
    monkeypatch.setenv("CONNECTOR_HTTP_MAX_RETRIES", "2")
    settings.SYNC_TRANSIENT_RETRIES = 0
    settings.CONNECTOR_HTTP_MAX_RETRIES = 2


@pytest.fixture
def iiko_sandbox(live_server) -> IikoSandbox:
    box = IikoSandbox(f"{live_server.url}/sandbox/iiko", f"chain-{uuid.uuid4().hex[:8]}")
    box.control("set_sizes", sizes=SIZES)
    return box


@pytest.fixture
def iiko_integration(org, iiko_sandbox):
    from integrations.models import Integration

    def make(organization=None, code: str = "iiko", **extra: Any) -> Integration:
        values = {"credentials": iiko_sandbox.credentials, "config": {"page_size": 10}, **extra}
        return Integration.objects.create(organization=organization or org, name="iiko", code=code, provider="iiko",
                                          base_url=iiko_sandbox.base, **values)

    return make


@pytest.fixture
def iiko(iiko_integration):
    from connectors.iiko import IikoConnector

    def make(**extra: Any) -> IikoConnector:
        return IikoConnector(iiko_integration(**extra))

    return make

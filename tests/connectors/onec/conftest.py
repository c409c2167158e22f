"""1C fixtures: the OData sandbox on live_server (driven through its control endpoint) and connectors on it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from sandboxes.onec.dataset import USER, password_for

SIZES = {"groups": 3, "products": 23, "counterparties": 9, "warehouses": 3, "price_types": 2, "orders": 6,
         "sales": 5, "purchases": 4, "lines": 3, "days": 20}


class OneCSandbox:
    """One published infobase of a test."""

    def __init__(self, root: str, publication: str):
        self.root = root  # /sandbox/1c
        self.publication = publication
        self.base = f"{root}/{publication}"  # what a user enters as the base URL
        self.odata = f"{self.base}/odata/standard.odata"
        self.password = password_for(publication)
        self.credentials = {"username": USER, "password": self.password}

    def control(self, action: str, **body: Any) -> dict[str, Any]:
        resp = requests.post(f"{self.root}/_control", timeout=30, json={
            "publication": self.publication, "password": self.password, "action": action, **body})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def get(self, resource: str, auth: tuple[str, str] | None = None, **params: Any) -> requests.Response:
        from connectors.onec.client import basic_header

        user, password = auth or (USER, self.password)
        return requests.get(f"{self.odata}/{resource}", params={"$format": "json", **params}, timeout=30,
                            headers={"Authorization": basic_header(user, password)})


@pytest.fixture(autouse=True)
def _short_sync_timings(monkeypatch, settings):
    # For this process and for a worker started later (its settings read the environment).
    monkeypatch.setenv("SYNC_TRANSIENT_RETRIES", "0")
    monkeypatch.setenv("CONNECTOR_HTTP_MAX_RETRIES", "1")
    monkeypatch.setenv("SYNC_RETRY_BACKOFF_SECONDS", "0.2")
    settings.SYNC_TRANSIENT_RETRIES = 0
    settings.CONNECTOR_HTTP_MAX_RETRIES = 1


@pytest.fixture
def onec_sandbox(live_server) -> OneCSandbox:
    box = OneCSandbox(f"{live_server.url}/sandbox/1c", f"ut-{uuid.uuid4().hex[:8]}")
    box.control("set_sizes", sizes=SIZES)
    return box


@pytest.fixture
def onec_integration(org, onec_sandbox):
    from integrations.models import Integration

    def make(organization=None, code: str = "", **extra: Any) -> Integration:
        code = code or f"1c-{uuid.uuid4().hex[:6]}"
        values = {"credentials": onec_sandbox.credentials, "config": {"page_size": 10}, **extra}
        return Integration.objects.create(organization=organization or org, name="1C", code=code, provider="1c",
                                          type="erp", base_url=onec_sandbox.base, **values)

    return make


@pytest.fixture
def onec(onec_integration):
    from connectors.onec import OneCConnector

    def make(**extra: Any) -> OneCConnector:
        return OneCConnector(onec_integration(**extra))

    return make

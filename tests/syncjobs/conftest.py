"""Sync-job fixtures: a Demo Store integration on the hub's own sandbox (live_server) and its control."""

from __future__ import annotations

import uuid

import pytest
import requests

from sandboxes.demo.dataset import credentials_for

# Small accounts keep every sync a handful of pages.
SIZES = {"locations": 2, "categories": 4, "products": 45, "customers": 3, "orders": 3}
PAGE_SIZE = 10


@pytest.fixture(autouse=True)
def _short_sync_timings(monkeypatch, settings):
    # Settings for this process; the environment for a worker started later (its settings read it).
    monkeypatch.setenv("SYNC_TRANSIENT_RETRIES", "1")
    monkeypatch.setenv("SYNC_RETRY_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("CONNECTOR_HTTP_MAX_RETRIES", "2")
    settings.SYNC_TRANSIENT_RETRIES = 1
    settings.SYNC_RETRY_BACKOFF_SECONDS = 0.2
    settings.CONNECTOR_HTTP_MAX_RETRIES = 2
    settings.CONNECTOR_HTTP_BACKOFF_BASE = 0.02
    settings.CONNECTOR_HTTP_BACKOFF_MAX = 0.1


class Sandbox:
    """The Demo Store sandbox account of one test, driven through its control endpoint."""

    def __init__(self, base_url: str, client_id: str):
        self.base_url = base_url
        self.client_id = client_id
        self.credentials = credentials_for(client_id)

    def control(self, action: str, **body) -> dict:
        resp = requests.post(f"{self.base_url}/_control", json={"action": action, **self.credentials, **body},
                             timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def sandbox(live_server) -> Sandbox:
    box = Sandbox(f"{live_server.url}/sandbox/demo", f"sync-{uuid.uuid4().hex[:10]}")
    box.control("set_sizes", sizes=SIZES)
    return box


@pytest.fixture
def demo_integration(org, sandbox):
    from integrations.models import Integration

    return Integration.objects.create(
        organization=org, name="Demo store", code="demo", provider="demo", base_url=sandbox.base_url,
        credentials=sandbox.credentials, config={"page_size": PAGE_SIZE, "price_list": "retail"},
        sync_interval_minutes=30,
    )


@pytest.fixture
def idle_integration(org):
    """A Demo Store integration nothing calls (service, task, API and admin tests)."""
    from integrations.models import Integration

    return Integration.objects.create(
        organization=org, name="Idle demo", code="idle", provider="demo", base_url="http://127.0.0.1:9/unused",
        credentials=credentials_for("idle"),
    )


@pytest.fixture
def sync_queue(settings):
    """Job ids waiting on the Redis "sync" queue (kombu keeps a queue as a list under its name)."""
    import base64
    import json

    import redis

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs the Redis broker")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("sync")

    def job_ids() -> list[int]:
        ids = []
        for raw in reversed(client.lrange("sync", 0, -1)):  # LPUSH: oldest last
            message = json.loads(raw)
            ids.append(json.loads(base64.b64decode(message["body"]))[0][0])
        return ids

    return job_ids

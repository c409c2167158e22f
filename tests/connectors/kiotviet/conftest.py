"""Fixtures: the KiotViet sandbox on live_server, driven over HTTP, and connectors pointed at it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

WEBHOOK_SECRET = "c2VjcmV0LWZvci1raW90dmlldC10ZXN0cw=="  # Base64, as KiotViet asks for


class KvSandbox:
    def __init__(self, base: str):
        self.base = base

    def control(self, connector, action: str, **body: Any) -> dict[str, Any]:
        from sandboxes.kiotviet.dataset import client_secret_for

        creds = connector.integration.credentials
        resp = requests.post(f"{self.base}/_control", timeout=30, json={
            "client_id": creds["client_id"], "client_secret": client_secret_for(creds["client_id"]),
            "retailer": creds["retailer"], "action": action, **body})
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def kv_sandbox(live_server) -> KvSandbox:
    return KvSandbox(live_server.url + "/sandbox/kiotviet")


@pytest.fixture
def kv(kv_sandbox, org, request):
    """``kv(retailer, sizes=..., org=..., **integration fields)`` -> a KiotVietConnector on the live sandbox."""
    from connectors.kiotviet import KiotVietConnector
    from integrations.models import Integration
    from sandboxes.kiotviet.dataset import client_secret_for

    def make(retailer: str | None = None, sizes: dict[str, int] | None = None, organization=None,
             config: dict[str, Any] | None = None, **extra: Any) -> KiotVietConnector:
        retailer = retailer or f"shop{abs(hash(request.node.name)) % 10**8}"
        client_id = f"app-{retailer}"
        values = {"credentials": {"client_id": client_id, "client_secret": client_secret_for(client_id),
                                  "retailer": retailer},
                  "webhook_secret": WEBHOOK_SECRET, **extra}
        full_config = KiotVietConnector.validate_config(
            # In-process syncs run inside the test's transaction: a reader thread's own connection could
            # not see the integration, so only the worker (end-to-end tests) prefetches.
            {"token_url": f"{kv_sandbox.base}/connect/token", "page_size": 10, "pages_per_batch": 2,
             "prefetch": False, **(config or {})})
        integration = Integration.objects.create(
            organization=organization or org, name=f"KiotViet {retailer}", code=retailer[:90], provider="kiotviet",
            base_url=kv_sandbox.base, config=full_config, **values)
        connector = KiotVietConnector(integration)
        kv_sandbox.control(connector, "reset")
        if sizes:
            kv_sandbox.control(connector, "set_sizes", sizes=sizes)
        return connector

    return make


def read_all(connector, stream_name: str, cursor=None, full: bool = False) -> list:
    from connectors.base import SyncContext

    ctx = SyncContext(integration=connector.integration, connector=connector, http=connector.http)
    return list(connector.streams[stream_name].read(ctx, cursor, full))


def run_sync(connector, streams=None, full: bool = False) -> dict:
    """Every stream (dependency order) through the real runner, in this process."""
    from syncjobs.models import SyncJob
    from syncjobs.runner import run_job
    from syncjobs.services import resolve_streams

    jobs = {}
    for name in resolve_streams(connector.integration, streams):
        job = SyncJob.objects.create(organization=connector.integration.organization,
                                     integration=connector.integration, stream=name,
                                     job_type="full" if full else "incremental", status="pending")
        run_job(job.pk)
        job.refresh_from_db()
        jobs[name] = job
    return jobs

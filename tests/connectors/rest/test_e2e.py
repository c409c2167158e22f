"""End to end, configured only through the API: a generic REST integration on the sandbox over HTTP,
synced by a real Celery worker on PostgreSQL: 10,000 records through a cursor, then incrementally,
with a mapping that uses every transform; a bad answer mid-run fails the job and writes nothing of that page."""

from __future__ import annotations

import pytest

from connectors.mapping import TRANSFORMS
from connectors.rest import seed
from records.models import Category, Product
from syncjobs.models import SyncJob
from tests.conftest import start_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def worker(live_server, monkeypatch, transactional_db, tmp_path):
    monkeypatch.setenv("HUB_PUBLIC_URL", live_server.url)
    monkeypatch.setenv("SYNC_RETRY_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("CONNECTOR_HTTP_TIMEOUT", "5.0")
    proc = start_worker(tmp_path)
    yield proc
    proc.stop()


def create(api, rest_sandbox, account: str, code: str = "generic") -> int:
    """POST the integration (config + secret), then PUT the products mapping: nothing but the API."""
    config = {
        "auth": {"type": "oauth2", "token_url": f"{rest_sandbox.base}/oauth/token", "client_id": account,
                 "scopes": "read"},
        "streams": [s for s in seed.streams() if s["name"] in ("categories", "products")],
        "field_mappings": {"categories": [{"target": "name", "source": "name"}],
                           "products": [{"target": "name", "source": "title"}]},
    }
    resp = api.post("/api/v1/integrations/", {
        "name": "Generic", "code": code, "provider": "rest", "base_url": rest_sandbox.base, "config": config,
        "credentials": {"client_secret": f"{account}-secret"}}, format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["credentials"] == {"client_secret": "********"}  # stored encrypted, never shown again
    pk = body["id"]
    mapping = seed.product_mapping()
    assert {t["op"] for e in mapping for t in e.get("transforms", [])} == set(TRANSFORMS)  # every transform
    resp = api.put(f"/api/v1/integrations/{pk}/mappings/products/", {"fields": mapping}, format="json")
    assert resp.status_code == 200, resp.content
    return pk


def sync(api, pk: int, full: bool) -> dict[str, SyncJob]:
    resp = api.post(f"/api/v1/integrations/{pk}/sync/", {"full": full}, format="json")
    assert resp.status_code == 202, resp.content
    ids = resp.json()["jobs"]
    wait_for(lambda: SyncJob.objects.filter(pk__in=ids, status__in=["completed", "failed"]).count() == len(ids),
             timeout=240, message="sync jobs to finish")
    return {job.stream: job for job in SyncJob.objects.filter(pk__in=ids)}


def test_ten_thousand_records_by_cursor_then_incrementally(worker, api, rest_sandbox, account):
    pk = create(api, rest_sandbox, account)
    jobs = sync(api, pk, full=True)
    products = jobs["products"]
    assert (products.status, products.records_created, products.records_failed, products.pages) == (
        "completed", 10_000, 0, 20)
    assert Product.objects.filter(integration_id=pk).count() == 10_000
    assert Category.objects.filter(integration_id=pk).count() == 20
    p = Product.objects.select_related("category").get(integration_id=pk, external_id="itm-00007")
    assert (p.name, p.sku, p.barcode, str(p.price), str(p.cost), p.currency, p.unit, p.is_active) == (
        "Item 7 Blue", "SKU-00007", "4006381000007", "3.5900", "13.0000", "EUR", "pcs", False)
    assert p.attributes == {"released": "2025-01-08", "updated_at": "2026-01-01T00:00:07+00:00", "weight_g": 7}
    assert p.category.external_id == "cat-8"

    rest_sandbox.control(account, "touch", start=100, count=30)
    inc = sync(api, pk, full=False)["products"]
    assert inc.status == "completed" and inc.records_updated == 30 and inc.records_created == 0
    assert inc.records_processed == 31  # the 30 changed and the last one again (the filter is inclusive)
    assert str(Product.objects.get(integration_id=pk, external_id="itm-00100").price) == "39.0000"  # 38.00 + 1.00


def test_a_bad_answer_mid_run_fails_the_job_and_writes_nothing_of_that_page(worker, api, rest_sandbox, account):
    rest_sandbox.control(account, "sizes", sizes={"items": 2000})
    pk = create(api, rest_sandbox, account)
    rest_sandbox.control(account, "fault", kind="malformed", resource="items", **{"from": 3, "to": 3})
    job = sync(api, pk, full=True)["products"]
    assert (job.status, job.error_kind, job.pages) == ("failed", "fatal", 2)
    assert "GET /sandbox/rest/items answered 200 with a body that is not JSON" in job.error_message
    assert Product.objects.filter(integration_id=pk).count() == 1000  # the two pages before it, whole
    # The next run resumes from the last good page.
    rest_sandbox.control(account, "clear_faults")
    again = sync(api, pk, full=False)["products"]
    assert again.status == "completed" and again.records_created == 1000
    assert Product.objects.filter(integration_id=pk).count() == 2000

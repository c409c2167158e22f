"""End to end: the REST aliases -> a real Celery worker -> the KiotViet sandbox over real HTTP -> records;
webhooks from the sandbox -> the hub's KiotViet URL -> stored -> processed by the worker."""

from __future__ import annotations

import pytest
import requests

from integrations.models import IntegrationLog
from records.models import Location, Product, StockLevel
from syncjobs.models import SyncJob
from tests.conftest import start_worker, wait_for
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

SIZES = {"branches": 3, "categories": 4, "products": 25, "customers": 5, "users": 3, "suppliers": 2,
         "bankaccounts": 2, "surcharges": 2, "pricebooks": 1, "orders": 4, "invoices": 5, "returns": 2,
         "purchaseorders": 3, "transfers": 2, "cashflow": 4}
EXPECTED = {"branches": 3, "categories": 4, "products": 25, "stock": 75, "customers": 5, "users": 3, "suppliers": 2,
            "bank-accounts": 2, "surcharges": 2, "orders": 4, "invoices": 5, "returns": 2, "purchase-orders": 3,
            "transfers": 2, "cashflow": 4}


@pytest.fixture
def worker(live_server, monkeypatch, transactional_db, tmp_path):
    # The worker registers webhooks at this hub's public URL: the live server.
    monkeypatch.setenv("HUB_PUBLIC_URL", live_server.url)
    monkeypatch.setenv("SYNC_RETRY_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("CONNECTOR_HTTP_TIMEOUT", "1.0")
    monkeypatch.setenv("CONNECTOR_HTTP_MAX_RETRIES", "6")
    monkeypatch.setenv("CONNECTOR_HTTP_RETRY_AFTER_MAX", "2")
    proc = start_worker(tmp_path)
    yield proc
    proc.stop()


def sync(api, org, full: bool) -> dict[str, SyncJob]:
    resp = api.post(f"/api/integrations/kiotviet/sync/from-kiotviet/{org.slug}", {"full": full}, format="json")
    assert resp.status_code == 202, resp.content
    ids = resp.json()["jobs"]
    wait_for(lambda: SyncJob.objects.filter(pk__in=ids, status__in=["completed", "failed"]).count() == len(ids),
             timeout=120, message="sync jobs to finish")
    return {job.stream: job for job in SyncJob.objects.filter(pk__in=ids)}


def test_full_incremental_delete_push_and_webhooks(worker, kv, kv_sandbox, api, org):
    connector = kv(sizes=SIZES, config={"prefetch": True})
    integ = connector.integration

    jobs = sync(api, org, full=True)
    assert {s: (j.status, j.records_processed - j.records_failed) for s, j in jobs.items()} == {
        s: ("completed", n) for s, n in EXPECTED.items()}
    assert Product.objects.filter(integration=integ).count() == 25

    # Incremental: only what changed (plus the 2 s overlap), a deletion marked, a stock change.
    kv_sandbox.control(connector, "update", entity="products", ids=[1000002, 1000011], emit=False)
    kv_sandbox.control(connector, "delete", entity="products", ids=[1000025], emit=False)
    kv_sandbox.control(connector, "update", entity="stock", ids=[1000003], fields={"3101": 777}, emit=False)
    inc = sync(api, org, full=False)
    assert inc["products"].records_updated == 2 and inc["products"].records_deleted == 1
    assert inc["products"].records_processed <= 2 + 3  # the changes and the overlap window, not the catalogue
    # The product's other branches are re-read but unchanged: only the changed branch is written.
    assert inc["stock"].records_updated == 1
    assert inc["customers"].records_created + inc["customers"].records_updated == 0  # re-read overlap, unchanged
    assert "(v2)" in Product.objects.get(integration=integ, external_id="1000002").name
    assert Product.objects.get(integration=integ, external_id="1000025").deleted_at is not None
    assert StockLevel.objects.get(integration=integ, external_id="1000003:3101").quantity == 777

    # Push a hub product to KiotViet; it reads back there and is bound to the new id here.
    mine = Product.objects.create(organization=org, name="Bánh mì hub", sku="HUB-1", price=25000)
    resp = api.post(f"/api/integrations/kiotviet/sync/product-to-kiotviet/{org.slug}/{mine.pk}?wait=20")
    assert resp.status_code == 200 and resp.json()["ok"], resp.content
    mine.refresh_from_db()
    assert mine.integration_id == integ.pk and mine.external_id
    back = connector.get(f"products/{mine.external_id}", action="test.readback")
    assert (back["name"], back["code"], back["basePrice"]) == ("Bánh mì hub", "HUB-1", 25000)
    bad = Product.objects.create(organization=org, name="x" * 300)
    resp = api.post(f"/api/integrations/kiotviet/sync/product-to-kiotviet/{org.slug}/{bad.pk}?wait=20")
    assert resp.status_code == 200 and not resp.json()["ok"]
    assert "KiotViet refused the product: ValidationException" in resp.json()["message"]

    # Webhooks: registered through KiotViet's API, then a change at KiotViet lands without a sync.
    resp = api.post(f"/api/integrations/kiotviet/webhooks/{org.slug}?wait=20")
    assert resp.status_code == 200 and resp.json()["ok"], resp.content
    hooks = kv_sandbox.control(connector, "webhooks")["data"]
    assert sorted(h["type"] for h in hooks) == ["product.delete", "product.update", "stock.update"]
    assert all(integ.webhook_key in h["url"] and h["isActive"] for h in hooks)
    sent = kv_sandbox.control(connector, "update", entity="products", ids=[1000007], fields={"name": "Từ webhook"})
    assert sent["webhook_statuses"] == [200]
    wait_for(lambda: Product.objects.get(integration=integ, external_id="1000007").name == "Từ webhook",
             timeout=30, message="the webhook to update the product")
    kv_sandbox.control(connector, "update", entity="stock", ids=[1000008], fields={"3102": 5})
    wait_for(lambda: StockLevel.objects.get(integration=integ, external_id="1000008:3102").quantity == 5,
             timeout=30, message="the stock webhook")

    # A forgery: recorded as rejected, never processed, and answered so KiotViet keeps the hook on.
    forged = kv_sandbox.control(connector, "send_webhook", type="product.update", ids=[1000009],
                                secret="bm90LXRoZS1yaWdodC1zZWNyZXQ=")
    assert forged["status"] == 200
    rejected = WebhookEvent.objects.get(integration=integ, status="rejected")
    assert "does not match" in rejected.rejection_reason
    assert all(h["isActive"] for h in kv_sandbox.control(connector, "webhooks")["data"])
    assert Product.objects.get(integration=integ, external_id="1000009").name == connector.get(
        "products/1000009", action="t")["name"]  # unchanged: nothing processed from the forgery


def test_faults_still_end_with_exactly_the_sandbox_records(worker, kv, kv_sandbox, api, org):
    # Smaller pages: more requests, so every kind of fault shows; reads prefetched in a thread.
    connector = kv(sizes=SIZES, config={"page_size": 4, "prefetch": True})
    # 20% of requests fail (5xx, 429 + Retry-After, hangs past the client's timeout), and the token
    # is revoked mid-sync.
    kv_sandbox.control(connector, "fault_rate", rate=0.2, kinds=["status", "rate_limit", "hang"], seed=7,
                       seconds=1.5, retry_after=1)
    kv_sandbox.control(connector, "fault", kind="expire_token", after=12)

    jobs = sync(api, org, full=True)

    assert {s: j.status for s, j in jobs.items()} == {s: "completed" for s in EXPECTED}
    integ = connector.integration
    assert Product.objects.filter(integration=integ).count() == 25
    assert StockLevel.objects.filter(integration=integ).count() == 75
    assert Location.objects.filter(integration=integ).count() == 3
    logs = IntegrationLog.objects.filter(integration=integ, level="warning")
    assert logs.filter(status_code__gte=500).exists() and logs.filter(status_code=429).exists()
    assert logs.filter(error_message__startswith="timeout").exists()
    assert logs.filter(status_code=401, error_message__contains="renewing").exists()
    assert IntegrationLog.objects.filter(integration=integ, action="kiotviet.token").count() >= 2
    kv_sandbox.control(connector, "clear_faults")
    assert requests.get(f"{kv_sandbox.base}/branches", timeout=5).status_code == 401  # no token, no data

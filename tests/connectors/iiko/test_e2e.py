"""End to end: the seed's routes -> a real Celery worker -> the iiko sandbox over real HTTP -> records.

The API is called in this process (DRF's client); the worker is a separate process on the same
PostgreSQL and Redis, and calls the sandbox served by live_server.
"""

from __future__ import annotations

import pytest

from integrations.models import Integration, IntegrationLog
from records.models import Invoice, InvoiceLine, Supplier
from syncjobs.models import JobStatus, SyncJob

from .conftest import SIZES

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]
RESULT_KEYS = {"total", "created", "updated", "errors", "error_details"}


def url(org, tail: str) -> str:
    return f"/api/v1/accounts/{org.slug}/integrations/iiko/{tail}"


def sync(api, org, entity: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"wait": 20, **params}.items())
    resp = api.post(url(org, f"sync/{entity}?{query}"))
    assert resp.status_code == 200, resp.content
    return resp.json()


def connect(api, org, box, **body) -> dict:
    resp = api.post(url(org, "connect?wait=20"), {"username": box.login, "password": box.password,
                                                  "base_url": box.base, **body}, format="json")
    assert resp.status_code == 200, resp.content
    return resp.json()


def test_connect_sync_every_entity_status_and_logs(celery_worker_proc, org, other_org, api, api_client_for,
                                                   iiko_sandbox):
    bad = connect(api, org, iiko_sandbox, password="wrong")
    assert not bad["is_connected"] and "refused the login or password" in bad["connection_error"]

    body = connect(api, org, iiko_sandbox)
    assert body["is_connected"] and body["last_connected_at"] and body["test"]["ok"]
    integration = Integration.objects.get(organization=org, provider="iiko")
    assert integration.credentials["password"] == iiko_sandbox.password  # stored (encrypted), never shown
    assert iiko_sandbox.password not in str(api.get(f"/api/v1/integrations/{integration.pk}").json())

    results = {entity: sync(api, org, entity) for entity in ("restaurants", "stores", "suppliers", "products",
                                                             "invoices")}
    for entity, result in results.items():
        job = SyncJob.objects.get(pk=result["job_id"])
        assert result["status"] == JobStatus.COMPLETED, (entity, result)
        assert set(result["result"]) == RESULT_KEYS
        assert result["result"] == {"total": job.records_processed, "created": job.records_created,
                                    "updated": job.records_updated, "errors": job.records_failed,
                                    "error_details": job.error_details}
    assert results["suppliers"]["result"]["created"] == SIZES["suppliers"]
    assert results["products"]["result"]["created"] == SIZES["products"] and len(results["products"]["jobs"]) == 2
    invoices = Invoice.objects.filter(integration=integration)
    assert invoices.count() == SIZES["invoices"] and not invoices.filter(supplier=None).exists()
    assert set(invoices.values_list("location__kind", flat=True)) == {"store"}  # linked to its store
    assert InvoiceLine.objects.filter(integration=integration, product__isnull=False).count() == \
        SIZES["invoices"] * SIZES["lines"]

    unchanged = sync(api, org, "suppliers")  # revisionFrom: nothing changed, nothing read
    assert unchanged["result"]["total"] == 0
    iiko_sandbox.control("update", entity="suppliers", ids=[3])
    again = sync(api, org, "suppliers")
    assert {k: again["result"][k] for k in ("total", "created", "updated", "errors")} == {
        "total": 1, "created": 0, "updated": 1, "errors": 0}

    status = api.get(url(org, "status")).json()
    assert status["is_connected"] and status["entities"]["suppliers"]["job_id"] == again["job_id"]
    assert status["entities"]["invoices"]["result"]["created"] == SIZES["invoices"]

    logs = api.get(url(org, "logs?action=iiko.suppliers.list")).json()
    # One or more calls per job: a job starting while the previous one is still logging out gets a 401 and
    # logs in again.
    assert len({e["sync_job_id"] for e in logs["results"]}) == 3
    assert all(e["integration"] == integration.pk for e in logs["results"])
    name = Supplier.objects.filter(integration=integration).first().name
    found = api.get(url(org, f"suppliers?search={name[5:12]}")).json()
    assert name in [s["name"] for s in found["results"]]
    assert iiko_sandbox.stats()["open_seats"] == 0

    # Another organization's key, or a viewer, gets nowhere.
    theirs = api_client_for(other_org)
    assert theirs.get(url(org, "status")).status_code == 404
    assert theirs.get(f"/api/v1/accounts/{org.pk}/integrations/iiko/logs").status_code == 404
    assert theirs.get(url(other_org, "status")).json()["error"]["code"] == "not_found"  # no iiko there
    viewer = api_client_for(org, "viewer")
    assert viewer.get(url(org, "status")).status_code == 200
    assert viewer.post(url(org, "sync/suppliers")).status_code == 403
    assert viewer.post(url(org, "connect"), {"password": "x"}, format="json").status_code == 403
    assert api.post(url(org, "sync/employees")).status_code == 404
    assert api_client_for(org).__class__().get(url(org, "status")).status_code == 401


def test_fifty_syncs_some_failing_midway_leave_no_licence_seat(celery_worker_proc, org, api, iiko_sandbox):
    connect(api, org, iiko_sandbox)
    Integration.objects.filter(organization=org).update(
        config={"page_size": 10, "invoice_window_days": 3, "invoice_history_days": 10})
    # Faults that fail a job after it has already read (and committed) something.
    faults = [{"kind": "malformed", "after": 2}, {"kind": "status", "status": 500, "count": 5, "after": 1},
              {"kind": "html", "after": 1}, {"kind": "expire_token", "after": 1}, {"kind": "wrong_root", "after": 2}]
    entities = ["invoices", "products", "suppliers", "restaurants", "stores"]
    statuses = []
    for n in range(50):
        if n % 3 == 0:
            iiko_sandbox.control("clear_faults")
            iiko_sandbox.control("fault", **faults[(n // 3) % len(faults)])
        statuses.append(sync(api, org, entities[n % len(entities)], full="true")["status"])

    failed = statuses.count(JobStatus.FAILED)
    assert failed >= 5 and statuses.count(JobStatus.COMPLETED) >= 25, statuses
    stats = iiko_sandbox.stats()
    assert stats["open_seats"] == 0, stats
    assert stats["logins"] >= 50
    midway = SyncJob.objects.filter(status=JobStatus.FAILED, pages__gt=0).count()
    assert midway >= 1  # failed after committing pages: the job still gave its token back
    logouts = IntegrationLog.objects.filter(action="iiko.logout").count()
    assert logouts >= stats["logins"]  # every token obtained was logged out (some already expired)

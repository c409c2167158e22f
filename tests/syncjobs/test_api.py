"""/api/v1/sync-jobs: list with filters, detail, cancel and re-run by role, organization scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Integration
from syncjobs.models import JobStatus, SyncJob
from syncjobs.services import start_sync

pytestmark = [pytest.mark.postgres]
URL = "/api/v1/sync-jobs"


@pytest.fixture
def jobs(idle_integration):
    categories, products = start_sync(idle_integration, streams=["products", "categories"])
    SyncJob.objects.filter(pk=categories.pk).update(
        status=JobStatus.COMPLETED, records_created=4, pages=1, progress={"pages": 1, "records": 4},
        cursor_after={"updated_since": "2025-01-01T00:00:00Z", "last_id": 4}, trigger="schedule",
    )
    return products, categories


def test_list_filter_and_detail(api, jobs, idle_integration):
    products, categories = jobs
    body = api.get(URL).json()
    assert body["count"] == 2

    assert [j["id"] for j in api.get(URL, {"status": "completed"}).json()["results"]] == [categories.pk]
    assert [j["id"] for j in api.get(URL, {"stream": "products"}).json()["results"]] == [products.pk]
    assert [j["id"] for j in api.get(URL, {"trigger": "schedule"}).json()["results"]] == [categories.pk]
    assert api.get(URL, {"integration": idle_integration.pk}).json()["count"] == 2
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get(URL, {"created_after": later}).json()["count"] == 0

    detail = api.get(f"{URL}/{categories.pk}").json()
    assert detail["status"] == "completed" and detail["counts"]["created"] == 4
    assert detail["progress"] == {"pages": 1, "records": 4} and detail["cursor_after"]["last_id"] == 4
    assert detail["integration_name"] == "Idle demo"


def test_date_time_filters_take_any_utc_offset(api, jobs):
    # PostgreSQL refuses offsets beyond ±15:59 that Python parses (was a 500); the filter works in UTC.
    now = timezone.now()
    ahead = (now + timedelta(minutes=1)).astimezone(timezone.get_fixed_timezone(23 * 60 + 30)).isoformat()
    behind = (now - timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(-(23 * 60 + 59))).isoformat()
    assert "+23:30" in ahead and "-23:59" in behind
    assert api.get(URL, {"created_after": ahead}).json()["count"] == 0
    assert api.get(URL, {"created_after": behind, "created_before": ahead}).json()["count"] == 2
    # An instant before year 1 once in UTC: invalid input in the error envelope, not a crash.
    response = api.get(URL, {"created_before": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"created_before": ["Enter a valid date/time."]}


def test_cancel_and_rerun_need_a_manager(org, api_client_for, jobs):
    products, categories = jobs
    viewer, manager = api_client_for(org, "viewer"), api_client_for(org, "manager")

    assert viewer.post(f"{URL}/{products.pk}/cancel").status_code == 403
    resp = manager.post(f"{URL}/{products.pk}/cancel")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"

    conflict = manager.post(f"{URL}/{products.pk}/cancel")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"

    assert viewer.post(f"{URL}/{categories.pk}/rerun").status_code == 403
    rerun = manager.post(f"{URL}/{categories.pk}/rerun")
    assert rerun.status_code == 202
    assert (rerun.json()["retry_of"], rerun.json()["status"], rerun.json()["stream"]) == (
        categories.pk, "pending", "categories")


def test_another_organizations_jobs_are_not_found(other_org, api_client_for, jobs):
    products, _ = jobs
    stranger = api_client_for(other_org, "owner")
    Integration.objects.create(organization=other_org, name="x", code="x", provider="demo")

    assert stranger.get(URL).json()["count"] == 0
    assert stranger.get(f"{URL}/{products.pk}").status_code == 404
    assert stranger.post(f"{URL}/{products.pk}/cancel").status_code == 404
    assert stranger.post(f"{URL}/{products.pk}/rerun").status_code == 404

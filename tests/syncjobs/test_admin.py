"""Admin: jobs listed with progress and duration, Cancel and Re-run actions by role, org scoping."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import Integration
from syncjobs.models import JobStatus, SyncJob, SyncState
from syncjobs.services import start_sync

pytestmark = [pytest.mark.postgres]
CHANGELIST = "admin:syncjobs_syncjob_changelist"


@pytest.fixture
def staff_client(client, make_user, org):
    def login(role: str):
        client.force_login(make_user(org, role, username=f"staff-{role}", is_staff=True))
        return client

    return login


def test_changelist_shows_progress_and_hides_other_orgs(staff_client, idle_integration, other_org):
    job = start_sync(idle_integration, streams=["products"])[0]
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now(), pages=3,
                                             progress={"pages": 3, "records": 30})
    foreign = Integration.objects.create(organization=other_org, name="Foreign", code="f", provider="demo")
    theirs = start_sync(foreign, streams=["products"])[0]
    SyncState.objects.create(integration=foreign, stream="products", cursor={"last_id": 1})
    client = staff_client("viewer")

    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "3 pages · 30 records" in page.content.decode() and b"Foreign" not in page.content
    assert client.get(reverse("admin:syncjobs_syncjob_change", args=[job.pk])).status_code == 200
    assert client.get(reverse("admin:syncjobs_syncjob_change", args=[theirs.pk])).status_code == 404
    assert b"Foreign" not in client.get(reverse("admin:syncjobs_syncstate_changelist")).content


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("manager", True)])
def test_cancel_and_rerun_actions(staff_client, idle_integration, role, allowed):
    pending, failed = (start_sync(idle_integration, streams=[s])[0] for s in ("products", "categories"))
    SyncJob.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED)
    client = staff_client(role)

    client.post(reverse(CHANGELIST), {"action": "cancel_jobs", "_selected_action": [pending.pk]})
    client.post(reverse(CHANGELIST), {"action": "rerun_jobs", "_selected_action": [failed.pk]})

    pending.refresh_from_db()
    assert (pending.status == JobStatus.CANCELLED) is allowed
    assert SyncJob.objects.filter(retry_of=failed).exists() is allowed

"""A full run that fails halfway is retried from its last committed page, and its full-scan deletion
diff still counts the pages read before the failure (KiotViet surcharges: no removed ids, so a full
run soft-deletes what it did not see). In this process, through the real runner, over HTTP.
"""

from __future__ import annotations

import time

import pytest

from records.models import Charge
from syncjobs.models import FullScanSeen, JobStatus, SyncJob, SyncState
from syncjobs.runner import run_job

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SURCHARGES = 50  # page_size 10 x pages_per_batch 2: committed pages of 20


def full_job(connector) -> SyncJob:
    integration = connector.integration
    return SyncJob.objects.create(organization=integration.organization, integration=integration,
                                  stream="surcharges", job_type="full", status="pending")


def run_until_done(job: SyncJob) -> SyncJob:
    for _ in range(5):
        outcome = run_job(job.pk)
        if outcome.retry_in is None:
            break
        time.sleep(outcome.retry_in)
    job.refresh_from_db()
    return job


def test_failed_full_run_resumes_and_its_deletion_diff_keeps_what_it_saw_before(kv, kv_sandbox, settings):
    settings.CONNECTOR_HTTP_MAX_RETRIES = 0
    settings.SYNC_TRANSIENT_RETRIES = 1
    settings.SYNC_RETRY_BACKOFF_SECONDS = 0.05
    connector = kv(sizes={"surcharges": SURCHARGES})
    first = run_until_done(full_job(connector))
    assert first.status == JobStatus.COMPLETED and first.records_created == SURCHARGES
    live = Charge.objects.filter(integration=connector.integration, deleted_at__isnull=True)
    assert live.count() == SURCHARGES

    gone = kv_sandbox.control(connector, "delete", entity="surcharges", count=1)["deleted"]
    kv_sandbox.control(connector, "fault", kind="status", status=500, after=2, count=1)  # the 3rd request
    job = full_job(connector)

    outcome = run_job(job.pk)  # one committed page (20 unchanged rows), then the provider fails
    job.refresh_from_db()
    assert (outcome.status, job.status, job.error_kind, job.attempts, job.pages) == (
        JobStatus.PENDING, JobStatus.PENDING, "transient", 1, 1)
    assert job.next_retry_at is not None and "retrying in" in job.error_message
    state = SyncState.objects.get(integration=connector.integration, stream="surcharges")
    assert state.resume_full and state.resume_cursor
    seen_before = FullScanSeen.objects.filter(state=state).values_list("external_ids", flat=True)
    assert sum(map(len, seen_before)) == job.records_processed > 0

    job = run_until_done(job)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.attempts == 2 and job.progress["resumed_from"] == state.resume_cursor
    # Resumed, not started over: every surcharge read once over both attempts.
    assert job.records_processed == SURCHARGES - 1 and job.records_created == 0
    # The diff deleted only the one deleted at the source, not the 20 read before the failure.
    assert job.records_deleted == 1
    assert live.count() == SURCHARGES - 1
    assert set(Charge.objects.filter(deleted_at__isnull=False).values_list("external_id", flat=True)) == {
        str(i) for i in gone}
    state.refresh_from_db()
    assert (state.resume_cursor, state.resume_full) == (None, False)
    assert not FullScanSeen.objects.filter(state=state).exists()

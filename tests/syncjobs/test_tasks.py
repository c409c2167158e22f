"""Beat tasks: the dispatcher queues due integrations once; the reaper fails lost jobs, re-queues lost messages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.registry import get_connector_class
from integrations.models import Integration, IntegrationLog
from syncjobs.models import JobStatus, SyncJob
from syncjobs.services import start_sync
from syncjobs.tasks import dispatch_due_syncs, reap_stale_jobs

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def make(org, code, **fields) -> Integration:
    defaults = {"provider": "demo", "auto_sync_enabled": True, "sync_interval_minutes": 15, "status": "active"}
    return Integration.objects.create(organization=org, name=code, code=code, **{**defaults, **fields})


def test_dispatcher_queues_due_integrations_once(org, sync_queue, django_capture_on_commit_callbacks):
    now = timezone.now()
    due = make(org, "due", next_sync_at=now - timedelta(minutes=1))
    never = make(org, "never-synced", next_sync_at=None)
    make(org, "later", next_sync_at=now + timedelta(minutes=5))
    make(org, "manual", auto_sync_enabled=False)
    make(org, "interval-0", sync_interval_minutes=0)
    make(org, "inactive", status="inactive")

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_syncs() == 2
        assert dispatch_due_syncs() == 0  # next_sync_at moved: a second beat queues nothing

    jobs = SyncJob.objects.all()
    assert {j.integration_id for j in jobs} == {due.pk, never.pk}
    assert {j.trigger for j in jobs} == {"schedule"}
    assert jobs.count() == 2 * len(get_connector_class("demo").streams)  # every stream, incremental
    assert len(sync_queue()) == 2  # one chain per integration
    for integ in (due, never):
        integ.refresh_from_db()
        assert integ.next_sync_at > now + timedelta(minutes=14)


def test_reaper_retries_running_jobs_with_a_stale_heartbeat_then_fails_them(idle_integration, settings,
                                                                              sync_queue):
    settings.SYNC_HEARTBEAT_STALE_SECONDS = 60
    settings.SYNC_TRANSIENT_RETRIES = 1
    settings.SYNC_RETRY_BACKOFF_SECONDS = 30
    lost, alive = (start_sync(idle_integration, streams=[s])[0] for s in ("products", "categories"))
    now = timezone.now()
    stale = {"status": JobStatus.RUNNING, "heartbeat_at": now - timedelta(seconds=61)}
    SyncJob.objects.filter(pk=lost.pk).update(attempts=1, **stale)
    SyncJob.objects.filter(pk=alive.pk).update(status=JobStatus.RUNNING, heartbeat_at=now - timedelta(seconds=5))
    sync_queue()  # empties the queue

    assert reap_stale_jobs()["reaped"] == 1

    lost.refresh_from_db()
    alive.refresh_from_db()
    # Attempt 1 of 2 died with its worker: pending again, with its next try visible, and queued.
    assert (lost.status, lost.error_kind, lost.attempts) == (JobStatus.PENDING, "worker_lost", 1)
    # The hub's backoff policy: half to all of the first step (SYNC_RETRY_BACKOFF_SECONDS).
    wait = (lost.next_retry_at - now).total_seconds()
    assert 14 < wait < 31
    said = re.search(r"retrying in ([\d.]+) s", lost.error_message)
    assert said and abs(float(said.group(1)) - wait) < 1.5
    assert sync_queue() == [lost.pk]
    assert alive.status == JobStatus.RUNNING
    assert IntegrationLog.objects.filter(sync_job_id=lost.pk, action="sync.retrying").exists()
    assert reap_stale_jobs()["reaped"] == 0

    # Attempt 2 dies too: out of attempts, it fails for good.
    SyncJob.objects.filter(pk=lost.pk).update(attempts=2, **stale)
    assert reap_stale_jobs()["reaped"] == 1
    lost.refresh_from_db()
    assert (lost.status, lost.error_kind, lost.next_retry_at) == (JobStatus.FAILED, "worker_lost", None)
    assert lost.error_message == "worker lost after 2 attempt(s); re-run to resume"
    assert IntegrationLog.objects.filter(sync_job_id=lost.pk, action="sync.failed").exists()


def test_reaper_requeues_pending_jobs_whose_message_was_lost(idle_integration, settings, sync_queue):
    settings.SYNC_PENDING_STALE_SECONDS = 600
    old = timezone.now() - timedelta(seconds=601)
    lost = start_sync(idle_integration, streams=["products"])[0]
    fresh = start_sync(idle_integration, streams=["categories"])[0]
    SyncJob.objects.filter(pk=lost.pk).update(queued_at=old)
    # A pending job behind a running sibling waits in that sibling's chain: not lost.
    other = Integration.objects.create(organization=idle_integration.organization, name="b", code="b",
                                       provider="demo")
    waiting, running = start_sync(other, streams=["products", "stock-levels"])
    SyncJob.objects.filter(pk=waiting.pk).update(status=JobStatus.RUNNING)
    SyncJob.objects.filter(pk=running.pk).update(queued_at=old)

    assert reap_stale_jobs() == {"reaped": 0, "requeued": 1}

    assert sync_queue() == [lost.pk]
    lost.refresh_from_db()
    assert lost.queued_at > old and fresh.status == JobStatus.PENDING


@pytest.mark.parametrize(("env", "timeout", "sweep"), [({"BROKER_VISIBILITY_TIMEOUT": "77"}, 77, 7), ({}, 1200, 60)])
def test_a_killed_workers_messages_come_back_after_the_configured_visibility_timeout(env, timeout, sweep):
    """What the Celery app of a worker process reads: the timeout from the environment (default 20
    minutes, not kombu's hour) and a sweep for such messages at a tenth of it."""
    import json
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k != "BROKER_VISIBILITY_TIMEOUT" and not k.startswith("PYTEST")}
    code = ("import django; django.setup(); from config.celery import app; import json; "
            "print(json.dumps(app.conf.broker_transport_options))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60,
                         env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true",
                              "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15", **env})
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert (options["visibility_timeout"], options["unacked_restore_interval"]) == (timeout, sweep)
    assert options["unacked_restore_throttle"] == 1


def test_a_scheduled_run_syncs_the_streams_staff_selected(org, sync_queue, django_capture_on_commit_callbacks):
    # config["sync_streams"] is what the console's Settings tab stores; a stream the provider dropped is ignored.
    selected = make(org, "selected", next_sync_at=None, config={"sync_streams": ["products", "gone"]})
    every = make(org, "every", next_sync_at=None, config={"sync_streams": []})

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_syncs() == 2

    assert set(SyncJob.objects.filter(integration=selected).values_list("stream", flat=True)) == {"products"}
    assert SyncJob.objects.filter(integration=every).count() == len(get_connector_class("demo").streams)
    # a manual run still picks any stream
    assert [j.stream for j in start_sync(selected, streams=["categories"])] == ["categories"]

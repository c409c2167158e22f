"""Health shows a worker that stopped consuming: its consumer heartbeat goes stale while the broker is away."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import start_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_heartbeat_goes_stale_while_the_broker_is_down_and_fresh_again_after(client, tmp_path, redis_server,
                                                                              monkeypatch, settings):
    monkeypatch.setenv("WORKER_HEARTBEAT_SECONDS", "0.5")
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 3
    env = {"CELERY_BROKER_URL": redis_server.url}
    webhooks = start_worker(tmp_path, queues="webhooks,default", env=env, name="webhooks")
    sync = start_worker(tmp_path, queues="sync", env=env, name="sync")
    try:
        def answer() -> tuple[int, dict]:
            response = client.get("/healthz/workers")
            return response.status_code, response.json()

        wait_for(lambda: answer()[0] == 200, timeout=20, message="both workers consuming")
        code, body = answer()
        assert sorted(w["name"].split("@")[0] for w in body["workers"] if w["consuming"]) == ["sync", "webhooks"]
        name = next(w["name"] for w in body["workers"] if w["name"].startswith("sync@"))
        call_command("worker_health", "--name", name)  # exits 0
        metrics = client.get("/metrics").content.decode()
        assert f'hub_worker_heartbeat_age_seconds{{queues="sync",worker="{name}"}}' in metrics

        redis_server.stop()
        # Both processes live on (retrying the broker), but neither consumes: health says so.
        wait_for(lambda: set(answer()[1]["queues_without_consumer"]) == {"default", "sync", "webhooks"},
                 timeout=30, message="stale heartbeats reported for every queue")
        assert answer()[0] == 503
        assert webhooks.proc.poll() is None and sync.proc.poll() is None
        with pytest.raises(CommandError, match="last consumed"):
            call_command("worker_health", "--name", name)

        redis_server.start()
        wait_for(lambda: answer()[0] == 200, timeout=60, message="heartbeats fresh after the broker is back")
    finally:
        webhooks.stop()
        sync.stop()

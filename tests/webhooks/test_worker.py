"""End to end with the real Celery worker (and, for the broker outage, a real gunicorn)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, _worker_env, start_worker, wait_for
from webhooks.models import EventStatus, WebhookEvent
from webhooks.tasks import sweep_pending_events

from .security import sample_body
from .test_processing import closed_port_url

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def status_of(event_id: int) -> str:
    return WebhookEvent.objects.values_list("status", flat=True).get(pk=event_id)


def test_signed_post_is_stored_pending_then_completed_by_the_worker(client, sender_for, celery_worker_proc):
    wh = sender_for("standard-webhooks")
    body = sample_body()
    response = wh.post(client, body, wh.headers(body))
    assert response.status_code == 200
    event_id = response.json()["id"]
    assert status_of(event_id) in (EventStatus.PENDING, EventStatus.PROCESSING, EventStatus.COMPLETED)
    wait_for(lambda: status_of(event_id) == EventStatus.COMPLETED, timeout=30, message="event completed")
    event = WebhookEvent.objects.get(pk=event_id)
    assert (event.attempts, event.result) == (1, "stored")


@pytest.fixture
def fast_retry_worker(transactional_db, tmp_path, monkeypatch):
    # The worker reads these from its environment (settings first, then the environment).
    monkeypatch.setenv("WEBHOOK_RETRY_BACKOFF_BASE", "0.3")
    monkeypatch.setenv("WEBHOOK_RETRY_BACKOFF_MAX", "1")
    worker = start_worker(tmp_path)
    yield worker
    worker.stop()


def test_failing_handler_is_retried_with_backoff_then_failed(client, sender_for, settings, fast_retry_worker):
    settings.WEBHOOK_MAX_RETRIES = 2  # stamped on the event when it is received
    wh = sender_for(forward_url=closed_port_url())
    body = sample_body()
    event_id = wh.post(client, body, wh.headers(body)).json()["id"]
    try:
        wait_for(lambda: status_of(event_id) == EventStatus.FAILED, timeout=60, message="event failed")
    except BaseException:
        print(WebhookEvent.objects.filter(pk=event_id).values().first(), fast_retry_worker.log()[-5000:])
        raise
    event = WebhookEvent.objects.get(pk=event_id)
    assert event.attempts == 3 and "TransientError" in event.last_error
    logs = event.integration.logs.filter(action="webhook.failed").order_by("id")
    # The batch's log rows are written just after the event's status: wait for them too.
    wait_for(lambda: logs.count() == 3, timeout=10, message="failure logs")
    assert list(logs.values_list("level", flat=True)) == ["warning", "warning", "error"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hub_with_broker_down(transactional_db, tmp_path):
    """The hub under gunicorn on the test database, its Celery broker pointing at a closed port."""
    port = free_port()
    env = {**_worker_env(), "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url + "/healthz"), timeout=30, message="gunicorn up")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_broker_down_at_receive_time_still_2xx_then_the_sweep_queues_it(sender_for, hub_with_broker_down, tmp_path):
    wh = sender_for()
    bodies = [sample_body() for _ in range(3)]
    started = time.monotonic()
    answers = [requests.post(hub_with_broker_down + wh.url, data=b, timeout=10,
                             headers={**wh.headers(b), "Content-Type": "application/json"}) for b in bodies]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert time.monotonic() - started < 3  # a dead broker does not hold the answers
    ids = [a.json()["id"] for a in answers]
    assert {status_of(i) for i in ids} == {EventStatus.PENDING}

    worker = start_worker(tmp_path)  # a healthy worker, but nothing was queued for it
    try:
        time.sleep(2)
        assert {status_of(i) for i in ids} == {EventStatus.PENDING}
        assert sweep_pending_events(older_than=0) is True  # what beat runs every 30 s
        wait_for(lambda: {status_of(i) for i in ids} == {EventStatus.COMPLETED}, timeout=30,
                 message="swept events completed")
    finally:
        worker.stop()

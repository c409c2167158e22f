"""The queues the hub uses are declared, so a bare ``celery -A config worker`` (no ``-Q``) consumes them all."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app
from tests.conftest import start_worker, wait_for
from webhooks import queue
from webhooks.models import EventStatus, WebhookEvent
from webhooks.tasks import drain_events

from .security import sample_body

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_every_routed_queue_is_declared():
    declared = set(app.amqp.queues)
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= declared


def test_worker_without_q_consumes_default_sync_and_webhooks(client, sender_for, tmp_path, monkeypatch):
    # Nothing queued by the receive itself: each event is processed only by the drain we route below.
    monkeypatch.setattr(queue, "event_stored", lambda: None)
    wh = sender_for()
    worker = start_worker(tmp_path, queues=None)
    try:
        for name in ("default", "sync", "webhooks"):
            body = sample_body()
            event_id = wh.post(client, body, wh.headers(body)).json()["id"]
            drain_events.apply_async(queue=name)
            wait_for(lambda pk=event_id: WebhookEvent.objects.get(pk=pk).status == EventStatus.COMPLETED,
                     timeout=30, message=f"a drain routed to {name!r} processed by a worker started without -Q")
    finally:
        worker.stop()

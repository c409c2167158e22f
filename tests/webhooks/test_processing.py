"""Processing in the worker's code path (run in-process here): outcomes, retries, leases, sweep."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import IntegrationLog
from webhooks import processing, queue
from webhooks.models import EventStatus, WebhookEvent
from webhooks.tasks import drain_events, sweep_pending_events

from .security import sample_body

pytestmark = pytest.mark.django_db


def closed_port_url() -> str:
    # A port nobody listens on: connecting is refused, a real transient failure.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def deliver(client, wh, n: int = 1) -> list[WebhookEvent]:
    for _ in range(n):
        body = sample_body()
        assert wh.post(client, body, wh.headers(body)).status_code == 200
    return list(WebhookEvent.objects.filter(integration=wh.integration).order_by("id"))


def make_due(event: WebhookEvent) -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_completed_with_the_handlers_message_and_logged(client, sender_for):
    wh = sender_for()
    [event] = deliver(client, wh)
    assert processing.process_batch().processed == 1
    event.refresh_from_db()
    assert (event.status, event.result, event.attempts) == (EventStatus.COMPLETED, "stored", 1)
    assert event.processed_at is not None and event.next_attempt_at is None
    log = IntegrationLog.objects.get(integration=wh.integration, action="webhook.processed")
    assert log.direction == "inbound" and log.request_excerpt == f"webhook event {event.pk}"
    assert log.response_excerpt == "stored"


def test_failing_handler_is_retried_with_backoff_then_failed(client, sender_for, settings):
    settings.WEBHOOK_MAX_RETRIES = 2
    settings.CONNECTOR_HTTP_MAX_RETRIES = 0
    wh = sender_for(forward_url=closed_port_url())
    [event] = deliver(client, wh)
    delays = []
    for attempt in (1, 2):
        before = timezone.now()
        assert processing.process_batch().processed == 1
        event.refresh_from_db()
        assert (event.status, event.attempts) == (EventStatus.PENDING, attempt)
        assert "TransientError" in event.last_error
        delays.append((event.next_attempt_at - before).total_seconds())
        assert processing.process_batch().processed == 0  # not due yet
        make_due(event)
    assert 15 <= delays[0] <= 31 and 30 <= delays[1] <= 61  # exponential, with jitter
    assert processing.process_batch().processed == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.FAILED, 3)  # 1 + max_retries
    assert "TransientError" in event.last_error and event.next_attempt_at is None
    levels = list(IntegrationLog.objects.filter(integration=wh.integration, action="webhook.failed")
                  .order_by("id").values_list("level", flat=True))
    assert levels == ["warning", "warning", "error"]


def test_backoff_grows_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BACKOFF_BASE = 10
    settings.WEBHOOK_RETRY_BACKOFF_MAX = 60
    assert 5 <= processing.backoff_seconds(1) <= 10
    assert 20 <= processing.backoff_seconds(3) <= 40
    assert 30 <= processing.backoff_seconds(10) <= 60


def test_claims_skip_what_another_drain_holds(client, sender_for):
    wh = sender_for()
    deliver(client, wh, 3)
    first = processing.claim_batch(2)
    second = processing.claim_batch(10)
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    assert WebhookEvent.objects.filter(status=EventStatus.PROCESSING).count() == 3


def test_sweep_returns_expired_leases_and_queues_waiting_events(client, sender_for):
    wh = sender_for()
    a, b = deliver(client, wh, 2)
    processing.claim_batch(1)  # a: processing, as if its worker died now
    assert sweep_pending_events(older_than=60) is False  # b is fresh: its kick covers it
    WebhookEvent.objects.filter(pk=a.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert sweep_pending_events(older_than=60) is True
    a.refresh_from_db()
    assert a.status == EventStatus.PENDING and a.attempts == 1
    assert sweep_pending_events(older_than=0) is True


def test_an_event_handed_out_again_is_processed_once(client, sender_for):
    wh = sender_for()
    [event] = deliver(client, wh)
    [claimed] = processing.claim_batch(1)  # worker A claims it, then stalls past its lease
    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert sweep_pending_events(older_than=60) is True  # the sweep hands it out again
    assert processing.process_batch().processed == 1  # worker B processes it
    # Worker A resumes its batch: the event is no longer its claim, so it is not processed again.
    assert processing._renew_claim(claimed) is False
    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.COMPLETED, 2)
    assert IntegrationLog.objects.filter(integration=wh.integration, action="webhook.processed").count() == 1


def test_each_event_commits_on_its_own(client, sender_for, settings):
    # A failing handler's event is retried later while the batch's other events complete: outcomes are
    # per event, each committed before the next starts.
    settings.CONNECTOR_HTTP_MAX_RETRIES = 0
    good, bad = sender_for(code="good"), sender_for(code="bad", forward_url=closed_port_url())
    [ok] = deliver(client, good)
    [failing] = deliver(client, bad)
    assert processing.process_batch().processed == 2
    ok.refresh_from_db()
    failing.refresh_from_db()
    assert ok.status == EventStatus.COMPLETED and failing.status == EventStatus.PENDING


def test_drain_processes_everything_and_clears_the_kick(client, sender_for):
    wh = sender_for()
    deliver(client, wh, 5)
    client_redis = queue.redis_client()
    if client_redis is not None:
        client_redis.set(queue.KICK_KEY, b"1", px=60_000)
    assert drain_events() == 5
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {EventStatus.COMPLETED}
    if client_redis is not None:
        assert client_redis.get(queue.KICK_KEY) is None


def test_manual_retry_and_mark_ignored_leave_rejected_events_alone(client, sender_for):
    wh = sender_for()
    [event] = deliver(client, wh)
    rejected = wh.post(client, b"{}", {"X-Acme-Signature": "0" * 64})
    assert rejected.status_code == 401
    processing.process_batch()
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED, attempts=6)
    assert processing.requeue(list(WebhookEvent.objects.values_list("pk", flat=True))) == 1
    event.refresh_from_db()
    assert (event.status, event.attempts, event.next_attempt_at) == (EventStatus.PENDING, 0, None)
    assert processing.mark_ignored([event.pk]) == 1
    assert WebhookEvent.objects.filter(status=EventStatus.REJECTED).count() == 1


def test_an_integration_that_cannot_be_loaded_affects_only_its_own_events(client, sender_for):
    gone, ok = sender_for(code="gone"), sender_for(code="ok")
    [lost] = deliver(client, gone)
    [fine] = deliver(client, ok)
    gone.integration.provider = "uninstalled-provider"
    gone.integration.save()
    assert processing.process_batch().processed == 2
    lost.refresh_from_db()
    fine.refresh_from_db()
    assert lost.status == EventStatus.IGNORED and "not installed" in lost.result
    assert fine.status == EventStatus.COMPLETED

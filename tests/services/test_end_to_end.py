"""Through the API with a real Celery worker: a bulk e-mail over a down primary and a rate limit,
and a test event reaching a Redis stream after the commit."""

from __future__ import annotations

import json
import uuid

import pytest

from events.models import Destination
from notifications.models import Delivery, Message
from tests.conftest import start_worker, wait_for

from .conftest import closed_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]
RECIPIENTS = 32
PER_MINUTE = 30  # a burst of 30, then one every 2 s


@pytest.fixture
def worker(transactional_db, tmp_path, monkeypatch):
    # The worker reads its settings from the environment.
    monkeypatch.setenv("NOTIFICATIONS_EMAIL_PER_MINUTE", str(PER_MINUTE))
    monkeypatch.setenv("NOTIFICATIONS_RATE_MAX_WAIT", "0")
    monkeypatch.setenv("EVENTS_RETRY_BASE", "0.1")
    proc = start_worker(tmp_path)
    yield proc
    proc.stop()


def test_bulk_email_over_a_down_primary_and_a_rate_limit_is_sent_once_each(
        worker, org, api_client_for, smtp_server, smtp_integration):
    smtp_integration(org, closed_port(), code="primary", priority=1)
    smtp_integration(org, smtp_server.port, code="backup", priority=2)
    api = api_client_for(org, "manager")
    recipients = [f"customer{i}@example.com" for i in range(RECIPIENTS)]
    resp = api.post("/api/integrations/test/notification", {"channel": "email", "to": recipients,
                                                            "idempotency_key": "bulk-1"}, format="json")
    assert resp.status_code == 200
    message = Message.objects.get(pk=resp.json()["data"]["id"])
    wait_for(lambda: len(smtp_server.messages) >= PER_MINUTE, timeout=60, message="the first burst")
    # The budget is spent: the rest waits queued (not dropped, not failed) until it refills.
    assert Delivery.objects.filter(message=message, status="failed").count() == 0
    wait_for(lambda: Message.objects.get(pk=message.pk).status == "sent", timeout=60, message="all sent")
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted(recipients)  # each exactly once
    chains = {tuple(a["ok"] for a in d.attempts) for d in Delivery.objects.filter(message=message)}
    assert chains == {(False, True)}  # primary refused, backup took it
    # The same key again: the same message, nothing re-sent.
    again = api.post("/api/integrations/test/notification", {"channel": "email", "to": recipients,
                                                             "idempotency_key": "bulk-1"}, format="json")
    assert again.json()["data"]["id"] == message.pk
    assert len(smtp_server.messages) == RECIPIENTS


def test_an_event_reaches_redis_streams_after_the_commit(worker, org, api_client_for, settings):
    import redis

    stream = f"hub-e2e-{uuid.uuid4().hex[:8]}"
    Destination.objects.create(organization=org, name="stream", kind="redis_stream", target=stream,
                               connection=settings.REDIS_URL)
    resp = api_client_for(org, "manager").post("/api/integrations/test/event", {"message": "ping"}, format="json")
    assert resp.status_code == 200
    client = redis.Redis.from_url(settings.REDIS_URL)
    entries = wait_for(lambda: client.xrange(stream), timeout=30, message="the event in the stream")
    client.delete(stream)
    (entry,) = entries
    envelope = json.loads(entry[1][b"envelope"])
    assert envelope["id"] == resp.json()["data"]["id"] and envelope["data"] == {"message": "ping"}


def test_a_sync_publishes_its_record_and_finish_events_once(worker, org, api_client_for, live_server, settings):
    import redis

    from integrations.models import Integration
    from records.models import Product
    from sandboxes.demo.dataset import credentials_for
    from syncjobs.models import SyncJob

    stream = f"hub-e2e-sync-{uuid.uuid4().hex[:8]}"
    Destination.objects.create(organization=org, name="stream", kind="redis_stream", target=stream,
                               connection=settings.REDIS_URL, event_types=["record.*", "sync.finished"])
    integ = Integration.objects.create(organization=org, name="Demo", code="demo", provider="demo", type="inventory",
                                       base_url=f"{live_server.url}/sandbox/demo",
                                       credentials=credentials_for(f"svc-e2e-{uuid.uuid4().hex[:6]}"))
    resp = api_client_for(org, "manager").post(f"/api/v1/integrations/{integ.pk}/sync", {"full": True},
                                               format="json")
    assert resp.status_code == 202
    jobs = SyncJob.objects.filter(integration=integ)
    wait_for(lambda: jobs.exists() and not jobs.filter(status__in=["pending", "running"]).exists(), timeout=120,
             message="the sync jobs")
    assert set(jobs.values_list("status", flat=True)) == {"completed"}
    client = redis.Redis.from_url(settings.REDIS_URL)

    def published():
        envelopes = [json.loads(f[b"envelope"]) for _, f in client.xrange(stream)]
        done = [e for e in envelopes if e["type"] == "sync.finished"]
        return envelopes if len(done) == jobs.count() else None

    envelopes = wait_for(published, timeout=60, message="every job's sync.finished")
    client.delete(stream)
    product_ids = [i for e in envelopes if e["type"] == "record.created" and e["data"]["model"] == "records.Product"
                   for i in e["data"]["external_ids"]]
    stored = set(Product.objects.filter(integration=integ).values_list("external_id", flat=True))
    assert sorted(product_ids) == sorted(stored) and len(product_ids) == len(stored) > 0  # each once
    assert len(envelopes) < len(stored)  # events per page, not per record

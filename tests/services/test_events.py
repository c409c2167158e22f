"""Events: the outbox commits or rolls back with the change; Redis Streams, RabbitMQ, Kafka and
webhook subscriptions really receive the events, in order per aggregate, once, across outages."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import transaction

from connectors.signatures import STANDARD_WEBHOOKS
from events import dispatch, schemas
from events.models import DeliveryStatus, Destination, EventDelivery, OutboxEvent
from events.outbox import NewEvent, emit

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _emit(org, *events: tuple[str, str]) -> None:
    with transaction.atomic():
        emit(org.pk, [NewEvent("hub.test", aggregate, {"message": text}) for aggregate, text in events])


def _dest(org, kind: str, target: str, connection: str, **extra) -> Destination:
    return Destination.objects.create(organization=org, name=f"{kind} test", kind=kind, target=target,
                                      connection=connection, **extra)


def _resume(dest: Destination) -> None:
    Destination.objects.filter(pk=dest.pk).update(paused_until=None)


def test_a_rolled_back_change_publishes_nothing(org):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(org.pk, [NewEvent("hub.test", "a", {"message": "never"})])
        raise RuntimeError("the change fails")
    assert not OutboxEvent.objects.exists()
    _emit(org, ("a", "kept"))
    assert OutboxEvent.objects.get().data == {"message": "kept"}


def test_events_are_validated_against_their_schema(org):
    with pytest.raises(schemas.SchemaError, match="message"):
        emit(org.pk, [NewEvent("hub.test", "a", {"message": 3})])
    with pytest.raises(schemas.SchemaError, match="unknown event type"):
        emit(org.pk, [NewEvent("no.such.type", "a", {})])


def test_a_sync_page_becomes_a_few_events_carrying_ids(org, settings):
    from integrations.models import Integration
    from records.models import Product
    from records.upsert import UpsertResult
    from syncjobs.runner import JobRun
    from syncjobs.signals import records_written

    settings.EVENTS_RECORD_IDS_PER_EVENT = 2
    integ = Integration.objects.create(organization=org, name="d", code="d", provider="demo", type="inventory")
    with transaction.atomic():
        records_written.send(sender=JobRun, job=None, integration=integ, model=Product,
                             result=UpsertResult(created=3, created_ids=["1", "2", "3"], updated=1,
                                                 updated_ids=["9"]), deleted_ids=["7"])
    rows = list(OutboxEvent.objects.values_list("type", "aggregate", "data"))
    assert [(t, d["external_ids"]) for t, _, d in rows] == [
        ("record.created", ["1", "2"]), ("record.created", ["3"]), ("record.updated", ["9"]),
        ("record.deleted", ["7"])]
    assert {a for _, a, _ in rows} == {f"records.Product:{integ.pk}"}


def test_a_payment_state_change_is_an_event_in_the_same_transaction(org):
    from integrations.models import Integration
    from payments.models import PaymentTransaction
    from payments.services import transition

    integ = Integration.objects.create(organization=org, name="p", code="p", provider="payme",
                                       type="payment_gateway")
    tx = PaymentTransaction.objects.create(organization=org, integration=integ, provider="payme", amount=150000,
                                           currency="UZS", reference="ORDER-9")
    with pytest.raises(RuntimeError), transaction.atomic():
        assert transition(tx, "pending", source="test")
        raise RuntimeError("rolled back")
    assert not OutboxEvent.objects.exists()
    tx.refresh_from_db()
    with transaction.atomic():
        assert transition(tx, "pending", source="test")
    event = OutboxEvent.objects.get()
    assert (event.type, event.aggregate) == ("payment.state_changed", f"payment:{tx.pk}")
    assert event.data == {**event.data, "old_state": "created", "new_state": "pending", "amount": 150000,
                          "reference": "ORDER-9"}


def test_redis_stream_receives_the_events_in_order(org, settings):
    import redis

    stream = f"hub-test-{uuid.uuid4().hex[:8]}"
    _dest(org, "redis_stream", stream, settings.REDIS_URL)
    _emit(org, ("a", "1"), ("b", "2"), ("a", "3"))
    assert dispatch.dispatch_all() == {"fanned_out": 3, "delivered": 3}
    client = redis.Redis.from_url(settings.REDIS_URL)
    entries = client.xrange(stream)
    client.delete(stream)
    assert [json.loads(fields[b"envelope"])["data"]["message"] for _, fields in entries] == ["1", "2", "3"]
    assert dispatch.dispatch_all()["delivered"] == 0  # nothing twice


def test_a_broker_outage_loses_nothing_and_delivers_once_in_order(org, own_redis, settings):
    import redis

    settings.EVENTS_RETRY_BASE = 0.01
    dest = _dest(org, "redis_stream", "orders", own_redis.url)
    _emit(org, ("order:1", "created"), ("order:2", "created"))
    own_redis.stop()  # the broker goes down
    assert dispatch.dispatch_all()["delivered"] == 0
    _emit(org, ("order:1", "paid"))  # changes keep committing during the outage
    _resume(dest)
    assert dispatch.dispatch_all()["delivered"] == 0
    dest.refresh_from_db()
    assert dest.consecutive_failures == 2 and "redis" in dest.last_error
    assert EventDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3

    own_redis.start()  # back up (empty: a new server)
    _resume(dest)
    assert dispatch.dispatch_all()["delivered"] == 3
    entries = redis.Redis.from_url(own_redis.url).xrange("orders")
    seen = [(f[b"aggregate"].decode(), json.loads(f[b"envelope"])["data"]["message"]) for _, f in entries]
    assert seen == [("order:1", "created"), ("order:2", "created"), ("order:1", "paid")]
    assert len({f[b"id"] for _, f in entries}) == 3
    dest.refresh_from_db()
    assert dest.consecutive_failures == 0


def _rabbit_queue(url: str, exchange: str):
    from kombu import Connection, Exchange, Queue

    conn = Connection(url)
    queue = Queue(f"{exchange}-q", Exchange(exchange, type="topic", durable=True), routing_key="#",
                  auto_delete=False, durable=False)
    queue(conn.default_channel).declare()
    return conn, queue


def _drain(conn, queue) -> list:
    bound = queue(conn.default_channel)
    out = []
    while (message := bound.get(no_ack=True)) is not None:
        out.append(message)
    return out


def test_rabbitmq_receives_the_events_after_an_outage_once_and_in_order(org, settings, rabbitmq):
    from .conftest import closed_port

    settings.EVENTS_RETRY_BASE = 0.01
    exchange = f"hub-test-{uuid.uuid4().hex[:8]}"
    conn, queue = _rabbit_queue(rabbitmq, exchange)
    try:
        dest = _dest(org, "rabbitmq", exchange, f"amqp://guest:guest@127.0.0.1:{closed_port()}//")
        _emit(org, ("a", "1"), ("a", "2"))
        assert dispatch.dispatch_all()["delivered"] == 0  # broker unreachable
        dest = Destination.objects.get(pk=dest.pk)
        dest.connection = rabbitmq  # the broker is reachable again
        dest.save()
        _resume(dest)
        _emit(org, ("a", "3"))
        assert dispatch.dispatch_all()["delivered"] == 3
        messages = _drain(conn, queue)
        assert [json.loads(m.body)["data"]["message"] for m in messages] == ["1", "2", "3"]
        assert messages[0].properties["message_id"] == str(OutboxEvent.objects.order_by("id")[0].uid)
        assert messages[0].delivery_info["routing_key"] == "hub.test"
    finally:
        queue(conn.default_channel).delete()
        conn.default_channel.exchange_delete(exchange)
        conn.release()


def test_kafka_through_confluent_kafka_against_librdkafkas_mock_cluster(org):
    """No Kafka broker runs here: librdkafka's built-in mock cluster speaks the real protocol."""
    from confluent_kafka import Consumer

    from events.publishers import kafka_producer

    dest = _dest(org, "kafka", "hub-events", "", options={"test.mock.num.brokers": 1})
    _emit(org, ("k", "1"), ("k", "2"))
    assert dispatch.dispatch_all()["delivered"] == 2
    producer = kafka_producer(Destination.objects.get(pk=dest.pk))
    broker = next(iter(producer.list_topics(timeout=5).brokers.values()))
    consumer = Consumer({"bootstrap.servers": f"{broker.host}:{broker.port}", "group.id": "t",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["hub-events"])
    got = []
    for _ in range(50):
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            got.append((msg.key(), json.loads(msg.value())["data"]["message"]))
        if len(got) == 2:
            break
    consumer.close()
    assert got == [(b"k", "1"), (b"k", "2")]


def test_webhook_subscription_is_signed_retried_and_logged(org, receiver, settings):
    import base64

    settings.EVENTS_RETRY_BASE = 0.01
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    dest = _dest(org, "webhook", receiver.url, secret, event_types=["hub.*"])
    receiver.statuses = [500]  # the subscriber fails once
    _emit(org, ("a", "1"), ("a", "2"))
    assert dispatch.dispatch_all()["delivered"] == 0
    _resume(dest)
    assert dispatch.dispatch_all()["delivered"] == 2
    first, retry, second = receiver.requests
    assert first["headers"]["webhook-id"] == retry["headers"]["webhook-id"]  # same id on retry
    for request in (retry, second):
        msg_id = STANDARD_WEBHOOKS.verify({k.lower(): v for k, v in request["headers"].items()}, request["body"],
                                          [secret])
        assert msg_id == json.loads(request["body"])["id"]
    delivery = EventDelivery.objects.order_by("event_id").first()
    assert [(a.ok, a.status_code) for a in delivery.log.order_by("id")] == [(False, 500), (True, 200)]


def test_webhook_subscriptions_only_get_their_event_types(org, receiver):
    _dest(org, "webhook", receiver.url, "whsec_" + "a" * 32, event_types=["record.*"])
    _emit(org, ("a", "1"))
    dispatch.dispatch_all()
    assert receiver.requests == [] and not EventDelivery.objects.exists()


def test_events_never_reach_another_organizations_destinations(org, other_org, receiver):
    _dest(other_org, "webhook", receiver.url, "whsec_" + "a" * 32)
    _emit(org, ("a", "1"))
    dispatch.dispatch_all()
    assert receiver.requests == []


def test_old_finished_events_are_pruned_pending_ones_kept(org, receiver):
    from datetime import timedelta

    from django.utils import timezone

    dest = _dest(org, "webhook", receiver.url, "whsec_" + "a" * 32)
    _emit(org, ("a", "1"))
    dispatch.dispatch_all()
    Destination.objects.filter(pk=dest.pk).update(paused_until=timezone.now() + timedelta(days=1))
    _emit(org, ("a", "2"))
    dispatch.dispatch_all()  # fanned out, still pending: the destination is paused
    OutboxEvent.objects.update(occurred_at=timezone.now() - timedelta(days=30))
    assert dispatch.prune(14) == 1 + 1 + 1  # the delivered event, its delivery and its log row
    assert list(OutboxEvent.objects.values_list("data__message", flat=True)) == ["2"]

"""One publisher per destination kind. ``publish`` sends events in order and stops at the first
failure, returning one outcome per event it tried (so the dispatcher keeps per-aggregate order).

Every event goes out as the same JSON envelope (``OutboxEvent.envelope``) with its id as the
message id (Kafka header ``id``, AMQP ``message_id``, stream field ``id``, ``webhook-id``): delivery
is at-least-once, and consumers dedupe on that id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import requests
from django.conf import settings

from .models import Destination, DestinationKind, OutboxEvent


@dataclass
class Outcome:
    ok: bool
    error: str = ""
    status_code: int | None = None
    response_excerpt: str = ""
    duration_ms: int = 0


def _body(event: OutboxEvent) -> bytes:
    return json.dumps(event.envelope(), separators=(",", ":"), sort_keys=True).encode()


def _timed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# --- Redis Streams -----------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)


def publish_redis(dest: Destination, events: list[OutboxEvent]) -> list[Outcome]:
    started = time.monotonic()
    maxlen = dest.options.get("maxlen")
    try:
        # MULTI/EXEC: the batch is appended whole or not at all.
        pipe = _redis(dest.connection).pipeline(transaction=True)
        for event in events:
            pipe.xadd(dest.target, {"id": str(event.uid), "type": event.type, "aggregate": event.aggregate,
                                    "envelope": _body(event)}, maxlen=maxlen, approximate=True)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - any Redis failure: nothing of the batch was appended
        return [Outcome(False, f"redis: {type(exc).__name__}: {exc}", duration_ms=_timed(started))]
    return [Outcome(True, duration_ms=_timed(started)) for _ in events]


# --- RabbitMQ (AMQP 0-9-1 through kombu) --------------------------------------------------------------
def publish_rabbitmq(dest: Destination, events: list[OutboxEvent]) -> list[Outcome]:
    from kombu import Connection, Exchange

    outcomes: list[Outcome] = []
    exchange = Exchange(dest.target, type=dest.options.get("exchange_type", "topic"), durable=True)
    started = time.monotonic()
    try:
        # Publisher confirms: publish() returns once the broker has taken the message.
        with Connection(dest.connection, connect_timeout=5, transport_options={"confirm_publish": True}) as conn:
            producer = conn.Producer(serializer=None)
            for event in events:
                started = time.monotonic()
                producer.publish(_body(event), exchange=exchange, routing_key=event.type, declare=[exchange],
                                 content_type="application/json", content_encoding="utf-8",
                                 message_id=str(event.uid), delivery_mode=2, retry=False,
                                 headers={"type": event.type, "aggregate": event.aggregate})
                outcomes.append(Outcome(True, duration_ms=_timed(started)))
    except Exception as exc:  # noqa: BLE001 - connection refused, channel closed, nack...
        outcomes.append(Outcome(False, f"rabbitmq: {type(exc).__name__}: {exc}", duration_ms=_timed(started)))
    return outcomes


# --- Kafka (confluent-kafka) --------------------------------------------------------------------------
_producers: dict[tuple, object] = {}
_producers_lock = threading.Lock()


def kafka_producer(dest: Destination):
    """One long-lived idempotent producer per bootstrap servers and options (librdkafka batches)."""
    from confluent_kafka import Producer

    timeout_ms = int(float(settings.EVENTS_PUBLISH_TIMEOUT) * 1000)
    config = {"bootstrap.servers": dest.connection, "enable.idempotence": True, "acks": "all",
              # A message not acknowledged in time is reported failed, never sent later behind our back.
              "message.timeout.ms": timeout_ms, **dest.options}
    key = tuple(sorted((k, str(v)) for k, v in config.items()))
    with _producers_lock:
        if key not in _producers:
            _producers[key] = Producer(config)
        return _producers[key]


def publish_kafka(dest: Destination, events: list[OutboxEvent]) -> list[Outcome]:
    started = time.monotonic()
    reports: dict[int, str | None] = {}
    try:
        producer = kafka_producer(dest)
        for index, event in enumerate(events):
            def report(err, msg, index=index) -> None:
                reports[index] = None if err is None else str(err)

            # Keyed by aggregate: one partition per aggregate keeps its events in order.
            producer.produce(dest.target, value=_body(event), key=event.aggregate.encode(), on_delivery=report,
                             headers={"id": str(event.uid), "type": event.type})
        producer.flush(float(settings.EVENTS_PUBLISH_TIMEOUT) + 5)
    except Exception as exc:  # noqa: BLE001 - bad config, buffer full
        return [Outcome(False, f"kafka: {type(exc).__name__}: {exc}", duration_ms=_timed(started))]
    outcomes = []
    for index in range(len(events)):
        error = reports.get(index, "no delivery report")
        outcomes.append(Outcome(error is None, f"kafka: {error}" if error else "", duration_ms=_timed(started)))
        if error is not None:
            break
    return outcomes


# --- Webhook subscriptions (Standard Webhooks) ---------------------------------------------------------
def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(base64-decoded secret, "id.timestamp.body")>`` (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def publish_webhook(dest: Destination, events: list[OutboxEvent]) -> list[Outcome]:
    outcomes = []
    for event in events:
        body, now = _body(event), int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "IntegrationHub-Webhooks/1",
                   "webhook-id": str(event.uid), "webhook-timestamp": str(now),
                   "webhook-signature": sign(dest.connection, str(event.uid), now, body)}
        started = time.monotonic()
        try:
            resp = requests.post(dest.target, data=body, headers=headers, allow_redirects=False,
                                 timeout=float(settings.EVENTS_PUBLISH_TIMEOUT))
        except requests.RequestException as exc:
            outcomes.append(Outcome(False, f"{type(exc).__name__}: {exc}", duration_ms=_timed(started)))
            break
        ok = 200 <= resp.status_code < 300
        outcomes.append(Outcome(ok, "" if ok else f"HTTP {resp.status_code}", resp.status_code,
                                resp.text[:500], _timed(started)))
        if not ok:
            break
    return outcomes


PUBLISHERS: dict[str, Callable[[Destination, list[OutboxEvent]], list[Outcome]]] = {
    DestinationKind.REDIS_STREAM: publish_redis,
    DestinationKind.RABBITMQ: publish_rabbitmq,
    DestinationKind.KAFKA: publish_kafka,
    DestinationKind.WEBHOOK: publish_webhook,
}

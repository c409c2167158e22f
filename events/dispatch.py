"""From the outbox to the destinations: fan out, then publish in order per destination.

1. ``fan_out``: committed, not yet fanned-out events get one ``EventDelivery`` per matching active
   destination of their organization (one fan-out at a time: an advisory lock on PostgreSQL).
2. ``publish_destination``: under a lease on the destination row (one publisher per destination),
   its pending deliveries go out in event order, in batches. The first failure stops the batch and
   pauses the destination with backoff: later events wait behind it, so each aggregate's events
   arrive in order and a broker outage loses nothing. After ``EVENTS_MAX_ATTEMPTS`` tries an event is
   marked failed (replayable from the admin) and the destination moves on.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.backoff import backoff_delay

from .models import DeliveryAttempt, DeliveryStatus, Destination, EventDelivery, OutboxEvent
from .outbox import kick
from .publishers import PUBLISHERS

FAN_OUT_LOCK = 0x6576_656E_7473  # "events": pg_advisory_xact_lock key


def fan_out(limit: int = 1000) -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FAN_OUT_LOCK])
        # Only what routing needs: a thousand sync events carry up to a million external ids in
        # their payloads, which loaded as Python objects were a worker's peak memory (~60 MB).
        events = list(OutboxEvent.objects.filter(fanned_out=False).order_by("id")
                      .only("id", "organization_id", "type")[:limit])
        if not events:
            return 0
        by_org: dict[int, list[Destination]] = defaultdict(list)
        for dest in Destination.objects.filter(organization_id__in={e.organization_id for e in events},
                                               is_active=True):
            by_org[dest.organization_id].append(dest)
        rows = [EventDelivery(event=event, destination=dest, organization_id=event.organization_id)
                for event in events for dest in by_org[event.organization_id] if dest.wants(event.type)]
        EventDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(fanned_out=True)
        return len(events)


def _claim(dest_id: int) -> bool:
    now = timezone.now()
    lease = now + timedelta(seconds=float(settings.EVENTS_LEASE_SECONDS))
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    ready = Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    return bool(Destination.objects.filter(free & ready, pk=dest_id, is_active=True).update(locked_until=lease))


def publish_destination(dest_id: int, batch: int | None = None) -> int | None:
    """Publish the destination's pending deliveries in order; return how many were delivered, or
    None when another dispatcher holds the destination (paused destinations count as claimed-nothing)."""
    if not _claim(dest_id):
        return None
    delivered = 0
    try:
        dest = Destination.objects.get(pk=dest_id)
        publisher = PUBLISHERS[dest.kind]
        if batch is None:
            batch = int(settings.EVENTS_BATCH_SIZE)
            if dest.kind == "webhook":
                # One HTTP call per event, each up to the timeout: keep a batch well inside the lease
                # (renewed between batches), or a second worker could take the destination over.
                lease, timeout = float(settings.EVENTS_LEASE_SECONDS), float(settings.EVENTS_PUBLISH_TIMEOUT)
                batch = max(1, min(batch, int(lease / (2 * timeout))))
        while True:
            pending = list(EventDelivery.objects.filter(destination=dest, status=DeliveryStatus.PENDING)
                           .select_related("event").order_by("event_id")[:batch])
            if not pending:
                break
            outcomes = publisher(dest, [d.event for d in pending])
            ok = [d.pk for d, o in zip(pending, outcomes, strict=False) if o.ok]
            now = timezone.now()
            if ok:
                EventDelivery.objects.filter(pk__in=ok).update(status=DeliveryStatus.DELIVERED, delivered_at=now,
                                                               attempts=F("attempts") + 1, last_error="")
                delivered += len(ok)
            _log_attempts(dest, pending, outcomes)
            failure = next((o for o in outcomes if not o.ok), None)
            if failure is not None:
                _failed(dest, pending[len(ok)], failure.error)
                return delivered
            Destination.objects.filter(pk=dest.pk).update(consecutive_failures=0, last_error="",
                                                          last_delivered_at=now, paused_until=None)
            # Extend the lease while there is work.
            Destination.objects.filter(pk=dest.pk).update(
                locked_until=now + timedelta(seconds=float(settings.EVENTS_LEASE_SECONDS)))
    finally:
        Destination.objects.filter(pk=dest_id).update(locked_until=None)
    return delivered


def _log_attempts(dest: Destination, pending: list[EventDelivery], outcomes: list) -> None:
    # Brokers: one log row per failure (successes are in delivered_at). Webhooks: every call.
    rows = [DeliveryAttempt(delivery=d, organization_id=dest.organization_id, ok=o.ok, status_code=o.status_code,
                            duration_ms=o.duration_ms, error=o.error[:2000], response_excerpt=o.response_excerpt)
            for d, o in zip(pending, outcomes, strict=False) if not o.ok or dest.kind == "webhook"]
    DeliveryAttempt.objects.bulk_create(rows)


def _failed(dest: Destination, delivery: EventDelivery, error: str) -> None:
    attempts = delivery.attempts + 1
    status = DeliveryStatus.FAILED if attempts >= int(settings.EVENTS_MAX_ATTEMPTS) else DeliveryStatus.PENDING
    EventDelivery.objects.filter(pk=delivery.pk).update(attempts=attempts, last_error=error[:2000], status=status)
    failures = dest.consecutive_failures + 1
    delay = backoff_delay(failures, base=settings.EVENTS_RETRY_BASE, cap=settings.EVENTS_RETRY_MAX)
    Destination.objects.filter(pk=dest.pk).update(
        consecutive_failures=failures, last_error=error[:2000], paused_until=timezone.now() + timedelta(seconds=delay))


def dispatch_all() -> dict[str, int]:
    """Fan out everything committed, then publish to every destination with pending work."""
    fanned = 0
    while True:
        n = fan_out()
        fanned += n
        if n == 0:
            break
    delivered = 0
    dest_ids = set(EventDelivery.objects.filter(status=DeliveryStatus.PENDING)
                   .values_list("destination_id", flat=True).distinct())
    busy = False
    for dest_id in sorted(dest_ids):
        n = publish_destination(dest_id)
        busy |= n is None and Destination.objects.filter(pk=dest_id, locked_until__gt=timezone.now()).exists()
        delivered += n or 0
    if busy:
        # Another dispatcher holds a destination and may have finished reading it before our events
        # were fanned out: come back soon rather than leave them to the beat's safety net.

        kick()
    return {"fanned_out": fanned, "delivered": delivered}


def prune(days: int) -> int:
    """Delete events older than ``days`` whose every delivery is done (delivered or failed)."""
    cutoff = timezone.now() - timedelta(days=days)
    done = OutboxEvent.objects.filter(fanned_out=True, occurred_at__lt=cutoff).exclude(
        deliveries__status=DeliveryStatus.PENDING)
    return done.delete()[0]


def replay(delivery_ids: list[int]) -> int:
    """Put failed deliveries back to pending (admin action)."""
    return EventDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0)

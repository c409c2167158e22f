"""Processing stored deliveries: claim a batch, run each through its connector, record the outcome.

Claiming marks events ``processing`` under ``FOR UPDATE SKIP LOCKED``, so concurrent drains never
take the same event, and sets a lease in ``next_attempt_at``: if the worker dies mid-event, the
sweep puts the event back to pending once the lease has expired (at-least-once; handlers must be
idempotent, which upserting on external ids gives). Each event's handler and its status change run
in one transaction, so a failed attempt leaves no half-written records behind.

An event is tried at most ``1 + max_retries`` times: after a failure it goes back to pending with
an exponential backoff with jitter, then ``failed`` with the last error.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connectors.base import Connector
from connectors.errors import IgnoredEvent
from connectors.registry import get_connector_class
from integrations.models import Direction, Integration, IntegrationLog
from integrations.redaction import excerpt

from .models import EventStatus, WebhookEvent

log = logging.getLogger("webhooks.processing")

BATCH_SIZE = 100


def _setting(name: str, default: float) -> float:
    # Settings first; the environment as a fallback lets a test worker run with short backoffs.
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return float(value)


def lease_seconds() -> float:
    return _setting("WEBHOOK_PROCESSING_LEASE_SECONDS", 300)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter after the ``attempt``-th failed attempt (1-based)."""
    base = _setting("WEBHOOK_RETRY_BACKOFF_BASE", 30)
    cap = _setting("WEBHOOK_RETRY_BACKOFF_MAX", 3600)
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay * random.uniform(0.5, 1.0)  # jitter: retries of a burst do not arrive as a burst


def due_filter(now: datetime) -> Q:
    return Q(status=EventStatus.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def claim_batch(limit: int = BATCH_SIZE) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(due_filter(now))
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookEvent.objects.filter(id__in=ids).update(
                status=EventStatus.PROCESSING,
                attempts=F("attempts") + 1,
                next_attempt_at=now + timedelta(seconds=lease_seconds()),
            )
    return ids


@dataclass
class BatchResult:
    processed: int = 0
    retry_at: list[datetime] = field(default_factory=list)


def process_batch(limit: int = BATCH_SIZE) -> BatchResult:
    """Claim and process up to ``limit`` due events."""
    result = BatchResult()
    ids = claim_batch(limit)
    if not ids:
        return result
    connectors: dict[int, Connector | None] = {}
    logs: list[IntegrationLog] = []
    for event in WebhookEvent.objects.filter(id__in=ids).select_related("integration").order_by("id"):
        retry_at = process_event(event, connectors, logs)
        if retry_at is not None:
            result.retry_at.append(retry_at)
        result.processed += 1
    IntegrationLog.objects.bulk_create(logs)
    return result


def _connector(integration: Integration | None, cache: dict[int, Connector | None]) -> Connector | None:
    if integration is None:
        return None
    if integration.pk not in cache:
        try:
            cache[integration.pk] = get_connector_class(integration.provider)(integration)
        except KeyError:
            cache[integration.pk] = None
    return cache[integration.pk]


def process_event(
    event: WebhookEvent, connectors: dict[int, Connector | None], logs: list[IntegrationLog]
) -> datetime | None:
    """Run one claimed event; returns its next attempt time when it is to be retried."""
    now = timezone.now()
    connector = _connector(event.integration, connectors)
    outcome: dict
    try:
        with transaction.atomic():
            if connector is None:
                raise IgnoredEvent(f"provider {event.provider!r} is not installed")
            message = connector.handle_webhook(event) or "done"
            outcome = _finish(event, EventStatus.COMPLETED, now, result=message)
    except IgnoredEvent as exc:
        outcome = _finish(event, EventStatus.IGNORED, now, result=str(exc) or "ignored")
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then failed
        error = f"{exc.__class__.__name__}: {exc}"[:4000]
        if event.attempts > event.max_retries:
            outcome = _finish(event, EventStatus.FAILED, now, last_error=error)
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(event.attempts))
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=EventStatus.PENDING, next_attempt_at=retry_at, last_error=error
            )
            logs.append(_log(event, "webhook.failed", "warning",
                             f"attempt {event.attempts} failed, retry at {retry_at.isoformat()}: {error}"))
            return retry_at
        log.warning("webhook event %s failed after %s attempts: %s", event.pk, event.attempts, error)
    if outcome["status"] == EventStatus.FAILED:
        logs.append(_log(event, "webhook.failed", "error", outcome["last_error"]))
    else:
        logs.append(_log(event, "webhook.processed", "info", "", response=outcome["result"]))
    return None


def _finish(event: WebhookEvent, status: str, now: datetime, result: str = "", last_error: str | None = None) -> dict:
    values = {"status": status, "processed_at": now, "next_attempt_at": None, "result": result[:4000]}
    if last_error is not None:
        values["last_error"] = last_error
    WebhookEvent.objects.filter(pk=event.pk).update(**values)
    return values


def _log(event: WebhookEvent, action: str, level: str, error: str, response: str = "") -> IntegrationLog:
    return IntegrationLog(
        organization_id=event.organization_id,
        integration_id=event.integration_id,
        action=action,
        direction=Direction.INBOUND,
        level=level,
        method="POST",
        endpoint=event.endpoint,
        status_code=None,
        request_excerpt=excerpt(bytes(event.body), limit=1000),
        response_excerpt=response[:1000],
        error_message=error,
    )


def log_rejection(organization_id: int, integration_id: int, endpoint: str, status_code: int,
                  reason: str, body: bytes) -> None:
    """Rejected deliveries are logged at receive time: they never reach processing."""
    IntegrationLog.objects.create(
        organization_id=organization_id,
        integration_id=integration_id,
        action="webhook.received",
        direction=Direction.INBOUND,
        level="warning",
        method="POST",
        endpoint=endpoint,
        status_code=status_code,
        request_excerpt=excerpt(body, limit=1000),
        error_message=f"rejected: {reason}",
    )


def reset_expired_leases(now: datetime) -> int:
    """Events whose worker died mid-processing: back to pending, or failed when out of attempts."""
    expired = WebhookEvent.objects.filter(status=EventStatus.PROCESSING, next_attempt_at__lt=now)
    failed = expired.filter(attempts__gt=F("max_retries")).update(
        status=EventStatus.FAILED, next_attempt_at=None, processed_at=now,
        last_error="worker lost while processing (lease expired)",
    )
    return failed + expired.update(status=EventStatus.PENDING, next_attempt_at=now)


def requeue(event_ids: list[int]) -> int:
    """Manual retry (API, admin): a fresh retry budget, due at once. Rejected events stay rejected."""
    return (
        WebhookEvent.objects.filter(pk__in=event_ids)
        .exclude(status__in=[EventStatus.REJECTED, EventStatus.PROCESSING])
        .update(status=EventStatus.PENDING, attempts=0, next_attempt_at=None, processed_at=None)
    )


def mark_ignored(event_ids: list[int], reason: str = "marked ignored by an operator") -> int:
    return (
        WebhookEvent.objects.filter(pk__in=event_ids)
        .exclude(status__in=[EventStatus.REJECTED, EventStatus.PROCESSING])
        .update(status=EventStatus.IGNORED, next_attempt_at=None, result=reason)
    )

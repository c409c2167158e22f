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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from connectors.base import Connector, StoredEvent, WebhookOutcome
from connectors.errors import FatalError, IgnoredEvent, UnprocessableEvent
from connectors.registry import get_connector_class
from integrations.backoff import backoff_delay
from integrations.models import Direction, Integration, IntegrationLog
from integrations.redaction import excerpt
from records.upsert import mark_deleted, upsert_rows

from .models import EventStatus, WebhookEvent
from .signals import webhook_failed

log = logging.getLogger("webhooks.processing")

BATCH_SIZE = 100


def lease_seconds() -> float:
    return settings.WEBHOOK_PROCESSING_LEASE_SECONDS


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter after the ``attempt``-th failed attempt (1-based)."""
    return backoff_delay(attempt, base=settings.WEBHOOK_RETRY_BACKOFF_BASE, cap=settings.WEBHOOK_RETRY_BACKOFF_MAX)


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


# Outcome columns written back for each event of a batch.
OUTCOME_FIELDS = ["status", "next_attempt_at", "processed_at", "result", "last_error"]


def process_batch(limit: int = BATCH_SIZE) -> BatchResult:
    """Claim and process up to ``limit`` due events, each in its own transaction.

    An event's handler (in a savepoint: a failing handler leaves nothing behind), its outcome and its
    log rows commit together, before the next event starts: a handler that calls its provider never
    holds one long transaction (and the locks it took) open across the whole batch. A worker that
    dies mid-batch loses only the event in hand; the claim's lease expires and it is processed again.
    """
    result = BatchResult()
    ids = claim_batch(limit)
    connectors: dict[int, Connector | Exception] = {}
    for event in WebhookEvent.objects.filter(id__in=ids).order_by("id"):
        logs: list[IntegrationLog] = []
        with transaction.atomic():
            if not _renew_claim(event.pk):  # the lease expired and the sweep handed it out again
                continue
            process_event(event, connectors, logs)
            _save_outcomes([event])
            IntegrationLog.objects.bulk_create(logs)
            if event.status == EventStatus.FAILED:
                webhook_failed.send(sender=WebhookEvent, event=event)
        result.processed += 1
        if event.status == EventStatus.PENDING:
            result.retry_at.append(event.next_attempt_at)
    return result


def _renew_claim(event_id: int) -> bool:
    """Lock the event (until this transaction ends) if it is still ``processing``; renew its lease."""
    lease_end = timezone.now() + timedelta(seconds=lease_seconds())
    return bool(
        WebhookEvent.objects.filter(pk=event_id, status=EventStatus.PROCESSING).update(next_attempt_at=lease_end)
    )


def _save_outcomes(events: list[WebhookEvent]) -> None:
    if connection.vendor != "postgresql":
        for event in events:
            WebhookEvent.objects.filter(pk=event.pk).update(**{f: getattr(event, f) for f in OUTCOME_FIELDS})
        return
    # One statement for the batch (Django's bulk_update builds a CASE per row and column: 10x slower).
    columns = {f: [getattr(e, f) for e in events] for f in OUTCOME_FIELDS}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {WebhookEvent._meta.db_table} AS e SET status = v.status, "  # noqa: S608 - our table
            "next_attempt_at = v.next_attempt_at, processed_at = v.processed_at, result = v.result, "
            "last_error = v.last_error FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], "
            "%s::timestamptz[], %s::text[], %s::text[]) AS v(id, status, next_attempt_at, processed_at, result, "
            "last_error) WHERE e.id = v.id",
            [[e.pk for e in events], *(columns[f] for f in OUTCOME_FIELDS)],
        )


def _connector(integration_id: int | None, cache: dict[int, Connector | Exception]) -> Connector:
    if integration_id is None:
        raise IgnoredEvent("the integration of this event was deleted")
    if integration_id not in cache:
        try:
            integration = Integration.objects.get(pk=integration_id)
            cache[integration_id] = get_connector_class(integration.provider)(integration)
        except KeyError as exc:
            cache[integration_id] = IgnoredEvent(f"provider is not installed: {exc}")
        except Exception as exc:  # noqa: BLE001 - remembered, and raised for each event of it
            cache[integration_id] = exc
    found = cache[integration_id]
    if isinstance(found, Exception):
        raise found
    return found


def process_event(
    event: WebhookEvent, connectors: dict[int, Connector | Exception], logs: list[IntegrationLog]
) -> None:
    """Run one claimed event and set its outcome on ``event`` (saved by the caller)."""
    now = timezone.now()
    event.processed_at, event.next_attempt_at = now, None
    try:
        connector = _connector(event.integration_id, connectors)
        event.integration = connector.integration
        with transaction.atomic():  # a savepoint: what a failing handler wrote is rolled back
            event.result = (handle(connector, event) or "done")[:4000]
        event.status = EventStatus.COMPLETED
        logs.append(_log(event, "webhook.processed", "info", ""))
    except IgnoredEvent as exc:
        event.status, event.result = EventStatus.IGNORED, (str(exc) or "ignored")[:4000]
        logs.append(_log(event, "webhook.processed", "info", ""))
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then failed
        event.last_error = f"{exc.__class__.__name__}: {exc}"[:4000]
        # Retrying cannot change the outcome for these: fail now, with the reason.
        if isinstance(exc, RecursionError):
            event.last_error = "RecursionError: the payload is nested too deep to process"
        never = isinstance(exc, UnprocessableEvent | RecursionError)
        if never or event.attempts > event.max_retries:
            event.status = EventStatus.FAILED
            log.warning("webhook event %s failed after %s attempt(s): %s", event.pk, event.attempts, event.last_error)
            logs.append(_log(event, "webhook.failed", "error", event.last_error, with_body=True))
        else:
            event.status, event.processed_at = EventStatus.PENDING, None
            event.next_attempt_at = now + timedelta(seconds=backoff_seconds(event.attempts))
            logs.append(_log(event, "webhook.failed", "warning", f"attempt {event.attempts} failed, retry at "
                             f"{event.next_attempt_at.isoformat()}: {event.last_error}", with_body=True))


def handle(connector: Connector, event: StoredEvent) -> str:
    """Run the provider's handler on one event and write what it returned; the outcome message.

    Call inside a transaction: the records are written together, or not at all when one fails.
    """
    outcome = connector.handle_webhook(event)
    return apply_outcome(connector.integration, outcome) if isinstance(outcome, WebhookOutcome) else outcome


def apply_outcome(integration: Integration, outcome: WebhookOutcome) -> str:
    """Upsert the outcome's rows (model by model, in its order), then soft-delete its deletions."""
    parts = list(outcome.summary)
    for model, by_id in outcome.upserts.items():
        if not by_id:
            continue
        result = upsert_rows(integration, model, list(by_id.values()))
        if result.failed:  # the event is retried; the savepoint drops what this one wrote
            raise FatalError(f"{model}: {result.errors[0]['external_id']}: {result.errors[0]['error']}")
        parts.append(f"{model}: {result.created} created, {result.updated} updated, {result.skipped} unchanged")
    for model, ids in outcome.deletions.items():
        if ids:
            parts.append(f"{model}: {mark_deleted(integration, model, ids)} marked deleted")
    return "; ".join(parts)


def _log(event: WebhookEvent, action: str, level: str, error: str, with_body: bool = False) -> IntegrationLog:
    # The body is stored with the event; an excerpt (redaction costs per character) only on failures.
    return IntegrationLog(
        organization_id=event.organization_id,
        integration_id=event.integration_id,
        action=action,
        direction=Direction.INBOUND,
        level=level,
        method="POST",
        endpoint=event.endpoint,
        request_excerpt=excerpt(bytes(event.body)[:4000], limit=1000) if with_body else f"webhook event {event.pk}",
        response_excerpt=event.result[:1000],
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

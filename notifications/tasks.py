"""Celery tasks: deliver a message; sweep due retries and lost sends (beat)."""

from __future__ import annotations

from celery import shared_task

from . import services
from .models import AlertKind, AlertRule
from .receivers import check_expiry, send_daily_report


@shared_task(name=services.DELIVER_MESSAGE, acks_late=True)
def deliver_message(message_id: int) -> None:
    retry_in = services.deliver(message_id)
    if retry_in is not None:
        # Rate budget spent or every provider down: come back then (the beat sweep is the safety net).
        deliver_message.apply_async((message_id,), countdown=retry_in)


@shared_task
def sweep_deliveries() -> int:
    """Queue due deliveries whose task was lost (broker outage) and flag sends a dead worker left."""
    services.reap_lost_sends()
    ids = services.due_message_ids()
    for message_id in ids:
        deliver_message.delay(message_id)
    return len(ids)


@shared_task
def check_expiry_alerts() -> int:
    """Hourly: batches that entered an expiry rule's window since the last sync (time passes, data does not)."""
    return sum(check_expiry(rule) for rule in AlertRule.objects.filter(kind=AlertKind.EXPIRY, is_active=True))


@shared_task
def send_daily_reports() -> int:
    """Hourly: each daily-report rule sends once per date (the first run of the day)."""
    return sum(send_daily_report(rule) for rule in AlertRule.objects.filter(kind=AlertKind.DAILY_REPORT,
                                                                            is_active=True))

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .dispatch import dispatch_all, prune
from .outbox import DISPATCH_EVENTS


@shared_task(name=DISPATCH_EVENTS)
def dispatch_events() -> dict[str, int]:
    """Queued after a commit that wrote events, and by beat every few seconds (the safety net)."""
    return dispatch_all()


@shared_task
def prune_outbox() -> int:
    """Daily: events past ``EVENTS_RETENTION_DAYS`` with nothing left to deliver."""
    return prune(int(settings.EVENTS_RETENTION_DAYS))

from __future__ import annotations

from celery import shared_task

from .dispatch import dispatch_all


@shared_task
def dispatch_events() -> dict[str, int]:
    """Queued after a commit that wrote events, and by beat every few seconds (the safety net)."""
    return dispatch_all()

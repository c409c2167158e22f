"""Celery tasks of the webhook inbox (routed to the "webhooks" queue by settings)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from . import processing, queue
from .models import WebhookEvent

log = logging.getLogger("webhooks.tasks")

# One drain hands over after this long, so a backlog does not pin a worker process forever.
DRAIN_MAX_SECONDS = 60
# Retries due sooner than this are scheduled by the drain itself; later ones are left to the sweep.
SWEEP_INTERVAL = 30


@shared_task(name=queue.DRAIN_EVENTS, ignore_result=True)
def drain_events() -> int:
    """Process pending events in batches until none are due; returns how many were processed."""
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    total, retry_at = 0, []

    def batch() -> int:
        nonlocal total
        result = processing.process_batch()
        total += result.processed
        retry_at.extend(result.retry_at)
        return result.processed

    while time.monotonic() < deadline:
        if batch():
            continue
        # Clear the kick key before the last look: an event stored after this point wins its own kick.
        queue.clear_kick()
        last_look = timezone.now()
        if not batch():
            break
    else:
        drain_events.apply_async()
        return total
    # Retries that were not yet due at the last look: come back for the first of them, unless the
    # sweep will be around sooner anyway.
    waiting = [t for t in retry_at if t > last_look]
    if waiting:
        delay = (min(waiting) - timezone.now()).total_seconds()
        if delay < SWEEP_INTERVAL:
            drain_events.apply_async(countdown=max(0.0, delay))
    return total


@shared_task(name="webhooks.tasks.sweep_pending_events", ignore_result=True)
def sweep_pending_events(older_than: float = 10.0) -> bool:
    """Queue a drain if anything is pending for too long or due for retry (also after a broker outage).

    Also returns events whose worker died mid-processing (lease expired) to pending.
    """
    now = timezone.now()
    reset = processing.reset_expired_leases(now)
    stale = now - timedelta(seconds=older_than)
    # Fresh events (no retry time yet) are left to their kick for ``older_than`` seconds.
    waiting = WebhookEvent.objects.filter(
        processing.due_filter(now) & (Q(next_attempt_at__isnull=False) | Q(received_at__lte=stale))
    )
    if reset or waiting.exists():
        log.info("sweep: queuing a drain (%s leases reset)", reset)
        drain_events.apply_async()
        return True
    return False

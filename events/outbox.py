"""Write events into the outbox, inside the caller's transaction; wake the dispatcher on commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import transaction

from . import schemas
from .models import OutboxEvent

KICK_KEY = "events:dispatch-kick"
KICK_SECONDS = 1  # at most one dispatch task queued per second, however many transactions commit
# Queued by name: events.tasks imports this module (through dispatch), not the reverse.
DISPATCH_EVENTS = "events.tasks.dispatch_events"


@dataclass
class NewEvent:
    type: str
    aggregate: str
    data: dict[str, Any]


def emit(organization_id: int, events: list[NewEvent]) -> list[OutboxEvent]:
    """Validate and insert ``events`` (one bulk INSERT); they publish only if the transaction commits."""
    rows = []
    for event in events:
        version = schemas.validate(event.type, event.data)
        rows.append(OutboxEvent(organization_id=organization_id, type=event.type, version=version,
                                aggregate=event.aggregate[:200], data=event.data))
    if not rows:
        return []
    created = OutboxEvent.objects.bulk_create(rows)
    transaction.on_commit(kick)
    return created


def kick() -> None:
    """Queue a dispatch soon; at most one per ``KICK_SECONDS`` however many transactions commit.

    The winner's task runs when the window ends (countdown = window), so it also sees every event
    committed inside the window whose own kick lost the race: none waits for the beat. A kick lost
    to a broker outage is covered by the beat's periodic dispatch.
    """
    if not cache.add(KICK_KEY, 1, KICK_SECONDS):
        return
    try:
        current_app.signature(DISPATCH_EVENTS).apply_async(countdown=KICK_SECONDS)
    except Exception:  # noqa: BLE001 - the broker may be down; the committed outbox waits for the beat
        cache.delete(KICK_KEY)

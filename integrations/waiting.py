"""The one ``?wait=`` parser and poll loop of every API view that queues work and may wait for it.

A view queues a task (a connection test, a sync, a provider's own task), then polls for its outcome
up to ``wait`` seconds: 200 with the outcome when it came in time, else 202 "queued".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from rest_framework import serializers
from rest_framework.request import Request

from .models import Integration, IntegrationLog

T = TypeVar("T")
POLL_INTERVAL = 0.2


def wait_seconds(request: Request, *, cap: float, default: float = 0.0) -> float:
    """``?wait=`` as seconds in [0, cap]; 400 for anything that is not a finite, non-negative number."""
    try:
        wait = float(request.query_params.get("wait") or default)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:  # "nan" would wait forever
        raise serializers.ValidationError({"wait": ["A number of seconds."]})
    return min(wait, cap)


def poll(check: Callable[[], T | None], wait: float) -> T | None:
    """``check()`` until it returns something or ``wait`` seconds passed (once at least when waiting)."""
    deadline = time.monotonic() + wait
    while wait:
        found = check()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_INTERVAL)
    return None


def last_log_id(integration: Integration, action: str) -> int:
    """The newest log line of ``action`` before the work is queued: its outcome comes after it."""
    return IntegrationLog.objects.filter(integration=integration, action=action).order_by("-id").values_list(
        "id", flat=True).first() or 0


def await_log(integration: Integration, action: str, after_id: int, wait: float) -> IntegrationLog | None:
    """The first log line of ``action`` after ``after_id`` (the queued work's outcome), or None in time."""
    return poll(lambda: IntegrationLog.objects.filter(integration=integration, action=action, id__gt=after_id)
                .order_by("id").first(), wait)

"""Sync settings with their defaults: Django settings first, then the environment, then the default.

The environment fallback lets a worker started by the tests (or docker-compose) get short timings
for settings that config/settings.py does not declare yet.
"""

from __future__ import annotations

import os

from django.conf import settings

DEFAULTS: dict[str, int | float] = {
    "SYNC_DEFAULT_INTERVAL_MINUTES": 30,
    # A running job whose heartbeat (one per committed page) is older than this lost its worker.
    "SYNC_HEARTBEAT_STALE_SECONDS": 300,
    # A pending job queued longer ago than this (and no sibling running) lost its message.
    "SYNC_PENDING_STALE_SECONDS": 900,
    # Re-runs of a job after a transient or rate-limited failure (on top of the HTTP client's retries).
    "SYNC_TRANSIENT_RETRIES": 2,
    "SYNC_RETRY_BACKOFF_SECONDS": 30.0,
    "SYNC_RETRY_BACKOFF_MAX_SECONDS": 600.0,
    # Consecutive failed runs of an integration: warn, then switch it off (Airbyte: 20 / 30 jobs).
    "SYNC_FAILURE_WARN_AFTER": 5,
    "SYNC_FAILURE_DISABLE_AFTER": 20,
}


def setting(name: str) -> int | float:
    default = DEFAULTS[name]
    cast = type(default)
    if hasattr(settings, name):
        return cast(getattr(settings, name))
    raw = os.environ.get(name, "")
    return cast(raw) if raw.strip() else default

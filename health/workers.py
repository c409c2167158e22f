"""Worker liveness: each Celery worker's consumer writes a heartbeat row; health reads its age.

The heartbeat is written from the consumer's own event loop (a timer of the consumer blueprint, see
``ConsumerHeartbeat``). While the worker has no broker connection, or its loop is stuck, the consumer
is not running that loop, so the row goes stale even though the process is alive: a stale row means
"not consuming", which a process check alone cannot see.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger("health.workers")


def heartbeat_interval() -> float:
    return float(getattr(settings, "WORKER_HEARTBEAT_SECONDS", 10))


def heartbeat_max_age() -> float:
    return float(getattr(settings, "WORKER_HEARTBEAT_STALE_SECONDS", 60))


def record_heartbeat(name: str, queues: list[str], started_at) -> None:
    """Upsert this worker's row. Never raises: a database hiccup must not stop the consumer."""
    from .models import WorkerHeartbeat  # config.celery imports this module before the apps load

    try:
        close_old_connections()
        WorkerHeartbeat.objects.update_or_create(
            name=name,
            defaults={"queues": ",".join(sorted(queues)), "pid": os.getpid(), "started_at": started_at,
                      "beat_at": timezone.now()},
        )
    except Exception as exc:  # noqa: BLE001 - health bookkeeping is best effort
        log.warning("could not record worker heartbeat: %s", exc.__class__.__name__)


def worker_status(max_age: float | None = None) -> dict[str, Any]:
    """Every known worker with its heartbeat age; ``ok`` when each hub queue has a fresh consumer."""
    from .models import WorkerHeartbeat  # config.celery imports this module before the apps load

    max_age = heartbeat_max_age() if max_age is None else max_age
    now = timezone.now()
    workers, covered = [], set()
    for row in WorkerHeartbeat.objects.all():
        age = (now - row.beat_at).total_seconds()
        fresh = age <= max_age
        queues = [q for q in row.queues.split(",") if q]
        if fresh:
            covered.update(queues)
        workers.append({"name": row.name, "queues": queues, "pid": row.pid, "age_seconds": round(age, 1),
                        "consuming": fresh})
    missing = [q for q in settings.HUB_QUEUES if q not in covered]
    return {"ok": not missing, "queues_without_consumer": missing, "max_age_seconds": max_age,
            "workers": workers}


def forget_stale_workers(older_than: timedelta = timedelta(days=1)) -> int:
    """Rows of workers gone for good (renamed hosts, old containers) are dropped after a day."""
    from .models import WorkerHeartbeat  # config.celery imports this module before the apps load

    return WorkerHeartbeat.objects.filter(beat_at__lt=timezone.now() - older_than).delete()[0]


class ConsumerHeartbeat(bootsteps.StartStopStep):
    """A consumer bootstep: started after each (re)connection, stopped when the connection is lost."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c, **kwargs) -> None:
        self.tref = None
        self.started_at = timezone.now()

    def start(self, c) -> None:
        queues = [q.name for q in (c.task_consumer.queues if c.task_consumer else [])]

        def beat() -> None:
            record_heartbeat(c.hostname, queues, self.started_at)

        beat()
        self.tref = c.timer.call_repeatedly(heartbeat_interval(), beat)

    def stop(self, c) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop

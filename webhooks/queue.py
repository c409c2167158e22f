"""Waking the worker: at most one drain task per short interval, not one task per event.

Publishing a Celery message costs about as much as the insert itself, and a worker runs one task
per event far slower than it can process a batch. So a request that stored an event "kicks":
``SET webhooks:kick NX PX 500`` in Redis, and only the winner enqueues ``drain_events``. The drain
claims pending events in batches until none are left, deletes the kick key and looks once more
before it exits. An event inserted before its request lost the race is therefore seen either by
that final look or by the drain the next winner enqueues: none is stranded. If Redis or the broker
is down, the event is stored anyway and the periodic sweep queues it later.

Even the SET costs as much CPU as the INSERT (redis-py is heavy), so each process tries it at most
once per interval: an event stored inside the window is covered by a timer that makes the attempt
when the window ends (``event_stored``). The guarantee above holds because every stored event is
followed, within one interval, by a SET attempt made after its commit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from functools import lru_cache

from celery import current_app
from django.conf import settings

log = logging.getLogger("webhooks.queue")

KICK_KEY = "webhooks:kick"
# Queued by name: webhooks.tasks imports this module (the drain clears the kick), not the reverse.
DRAIN_EVENTS = "webhooks.tasks.drain_events"
_last_warning = 0.0


def kick_interval_ms() -> int:
    return int(settings.WEBHOOK_KICK_INTERVAL_MS)


@lru_cache(maxsize=1)
def _redis():
    import redis

    # Short timeouts: a dead Redis must not hold a webhook answer for long.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def redis_client():
    return _redis() if settings.REDIS_URL else None


def kick() -> bool:
    """Make sure a drain task is queued soon; True when this call enqueued one. Never raises."""
    try:
        client = redis_client()
        # Without Redis (the embedded dev setup) there is nothing to coordinate on: enqueue each time.
        if client is not None and not client.set(KICK_KEY, b"1", nx=True, px=kick_interval_ms()):
            return False
        publish_drain()
        return True
    except Exception as exc:  # noqa: BLE001 - the event is stored; queuing is best effort
        _warn(f"could not queue webhook processing ({exc.__class__.__name__}: {exc}); the sweep will")
        return False


class _Throttle:
    """Per process: one kick attempt per interval; events stored in between ride on a timer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0
        self._timer: threading.Timer | None = None
        self._pid = os.getpid()

    def event_stored(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self._pid != os.getpid():  # forked after a timer was set: that thread did not come along
                self.__init__()
            if now >= self._next:
                self._next = now + kick_interval_ms() / 1000
                kick_now = True
            else:
                kick_now = False
                if self._timer is None:
                    self._timer = threading.Timer(self._next - now, self._fire)
                    self._timer.daemon = True
                    self._timer.start()
        if kick_now:
            kick()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._next = time.monotonic() + kick_interval_ms() / 1000
        kick()


_throttle = _Throttle()


def event_stored() -> None:
    """Called after an event is committed: make sure a drain will see it. Never raises."""
    if redis_client() is None:
        kick()  # nothing to coordinate on: enqueue each time (the embedded dev setup)
    else:
        _throttle.event_stored()


def publish_drain() -> None:
    """Enqueue one drain task, failing within milliseconds when the broker is down.

    ``retry=False`` alone is not enough: kombu still retries the connection for seconds, and a sync
    web worker stuck there answers nobody. The sweep queues whatever a failed publish left behind.
    """
    app = current_app  # the project's Celery app, without importing config (the layer above)
    options = {**(app.conf.broker_transport_options or {}), "max_retries": 0, "socket_connect_timeout": 0.5}
    with app.connection_for_write(transport_options=options) as conn:
        app.signature(DRAIN_EVENTS).apply_async(retry=False, connection=conn)


def clear_kick() -> None:
    client = redis_client()
    if client is not None:
        client.delete(KICK_KEY)


def _warn(message: str) -> None:
    # One line per 10 s per process: a broker outage during a burst must not flood the log.
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 10:
        _last_warning = now
        log.warning(message)

"""A fix for kombu's Redis transport on broker connection loss, applied when the Celery app loads.

Upstream reports: celery/kombu#582 and celery/kombu#970 (the same ``AttributeError: 'NoneType' object
has no attribute 'hostname'`` in ``Channel._connparams``), celery/kombu#659 (the advice: report a lost
connection as a connection error, not an AttributeError).

When the worker loses Redis, Celery collects and closes the broken ``kombu.Connection``: that detaches
the transport (``transport.client = None``, later ``channel.connection = None``). A channel of that
connection that still has work to do afterwards — restoring its unacknowledged messages when it is
closed late ("Restoring 1 unacknowledged message(s)"), an ack of a task that finished during the
outage, a gossip/pidbox channel closed by its bootstep — and whose connection pool was dropped asks
``_connparams`` for new connection parameters, reads ``None.hostname`` and raises ``AttributeError``.
Celery only recovers from the transport's *connection errors*; anything else is "Unrecoverable" and
the worker's main process exits. The work it needed (restore, ack) cannot be done on a detached
connection anyway, so it is reported as what it is — a lost connection (``redis.ConnectionError``):
Celery reconnects, ``ack_log_error``/``ignore_errors`` log it, and the unacknowledged message stays in
Redis' unacked hash, from where kombu restores it after the visibility timeout (or at the next start).
"""

from __future__ import annotations

import functools

_applied = False


def apply() -> None:
    """Patch ``kombu.transport.redis.Channel._connparams`` once per process."""
    global _applied
    if _applied:
        return
    from kombu.transport import redis as kombu_redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    original = kombu_redis.Channel._connparams

    @functools.wraps(original)
    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport is None or getattr(transport, "client", None) is None:
            raise RedisConnectionError("the broker connection of this channel was closed (connection lost)")
        return original(self, asynchronous=asynchronous)

    kombu_redis.Channel._connparams = _connparams
    _applied = True

"""Database helpers shared by the apps."""

from __future__ import annotations

from django.db import connection


def relaxed_commit() -> None:
    """Let the current transaction commit without waiting for its WAL flush (PostgreSQL; this transaction only).

    For writes whose loss in a database crash is harmless because they are repeated: a sync page
    (committed with its checkpoint, so the resumed job reads it again), a gateway answer (the
    gateway asks again). A later durable commit flushes it too. Elsewhere commits stay durable.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")

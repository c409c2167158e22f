"""Writing deliveries: one INSERT per accepted delivery, idempotent on (integration, dedupe_key).

The ORM's ``create`` plus catching IntegrityError costs a savepoint and a second round trip on
every duplicate; ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` answers "new or duplicate" in one
statement, and concurrent deliveries of one event serialise on the unique index (one row wins).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone
from psycopg import pq

from integrations.redaction import MASK, is_secret_key

from .models import EventStatus, WebhookEvent

MAX_EVENT_ID = 255
log = logging.getLogger("webhooks.store")


@functools.lru_cache(maxsize=512)
def _hide_header(name: str) -> bool:
    # Signatures are digests, not secrets: kept so a delivery can be re-verified or audited.
    return is_secret_key(name) and "signature" not in name


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers with credentials (Authorization, cookies, API keys, tokens) masked."""
    return {name: (MASK if _hide_header(name) else value) for name, value in headers.items()}


def request_headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased, dash-separated header names from a WSGI environ."""
    headers = {key[5:].lower().replace("_", "-"): value for key, value in meta.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if meta.get(key):
            headers[key.lower().replace("_", "-")] = meta[key]
    return headers


def masked_endpoint(path: str, key: str) -> str:
    # The key is the endpoint's only credential: keep a recognisable prefix, not the whole key.
    return path.replace(key, key[:6] + "…") if key else path


@dataclass
class Delivery:
    """A delivery as it will be stored."""

    organization_id: int
    integration_id: int
    provider: str
    endpoint: str
    headers: dict[str, str]
    body: bytes
    content_type: str
    remote_ip: str | None
    event_id: str = ""
    event_type: str = ""
    max_retries: int = 5

    @functools.cached_property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def dedupe_key(self) -> str:
        if not self.event_id:
            return f"sha256:{self.body_sha256}"
        if len(self.event_id) > MAX_EVENT_ID:
            return "id-sha256:" + hashlib.sha256(self.event_id.encode()).hexdigest()
        return self.event_id


_COLUMNS = (
    "organization", "integration", "provider", "endpoint", "event_id", "event_type", "dedupe_key", "headers",
    "body", "content_type", "remote_ip", "body_sha256", "status", "rejection_reason", "attempts", "max_retries",
    "last_error", "result", "duplicates", "received_at",
)


@functools.lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> tuple[str, tuple]:
    fields = tuple(WebhookEvent._meta.get_field(name) for name in _COLUMNS)
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (  # names from the model's metadata, values as parameters
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT (integration_id, dedupe_key) DO NOTHING RETURNING id"
    )
    return sql, fields


def _row(d: Delivery, status: str, dedupe_key: str | None, reason: str = "", result: str = "") -> dict[str, Any]:
    return {
        "organization": d.organization_id,
        "integration": d.integration_id,
        "provider": d.provider,
        "endpoint": d.endpoint[:500],
        "event_id": d.event_id[:MAX_EVENT_ID],
        "event_type": d.event_type[:255],
        "dedupe_key": dedupe_key,
        "headers": d.headers,
        "body": d.body,
        "content_type": d.content_type[:200],
        "remote_ip": d.remote_ip or None,
        "body_sha256": d.body_sha256,
        "status": status,
        "rejection_reason": reason,
        "attempts": 0,
        "max_retries": d.max_retries,
        "last_error": "",
        "result": result,
        "duplicates": 0,
        "received_at": timezone.now(),
    }


def _insert(row: dict[str, Any]) -> int | None:
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: each access through the proxy costs a lookup
    sql, fields = _insert_sql(db.vendor)
    if db.vendor == "postgresql":
        return _insert_prepared(db, sql, [row[f.name] for f in fields])
    params = [f.get_db_prep_save(row[f.name], db) for f in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return found[0] if found else None


# --- PostgreSQL: the hot path's one statement, prepared once per connection ---------------------
# Django binds parameters client-side (each request would quote the body in Python and have the
# server parse and plan the INSERT again), and even psycopg's own prepared path costs about a third
# of this view's CPU in adaptation. So the statement is prepared once per connection and executed
# at the libpq level with parameters encoded here (text, the body in binary). Django's connection
# health check (a SELECT 1 per request) is replaced by one retry on a dead connection: safe, as ON
# CONFLICT makes a repeated INSERT a no-op.
STATEMENT = b"webhook_event_insert_v1"


def _encode(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False).encode()
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()


def _numbered(sql: str) -> bytes:
    parts = sql.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)).encode() + parts[-1].encode()


def _insert_prepared(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> int | None:
    values = [_encode(v) for v in params]
    formats = [1 if isinstance(v, bytes) else 0 for v in params]
    with db.wrap_database_errors:  # psycopg errors leave as Django's DatabaseError family
        for attempt in (1, 2):
            if db.connection is None:
                db.ensure_connection()
            raw = db.connection
            pgconn = raw.pgconn
            try:
                if getattr(raw, "_webhook_insert_prepared", None) is not pgconn:
                    _check(pgconn, pgconn.prepare(STATEMENT, _numbered(sql)), pq.ExecStatus.COMMAND_OK)
                    raw._webhook_insert_prepared = pgconn
                result = pgconn.exec_prepared(STATEMENT, values, formats)
                _check(pgconn, result, pq.ExecStatus.TUPLES_OK)
                return int(result.get_value(0, 0)) if result.ntuples else None
            except psycopg.OperationalError:
                if attempt == 2 or not db.get_autocommit():
                    raise
                db.close()  # stale persistent connection (server restarted, idle timeout): reconnect
            except psycopg.errors.InvalidSqlStatementName:
                if attempt == 2 or not db.get_autocommit():
                    raise
                raw._webhook_insert_prepared = None  # the server forgot it (a pooler's DISCARD ALL)
    return None


def _check(pgconn: pq.abc.PGconn, result: pq.abc.PGresult, expected: pq.ExecStatus) -> None:
    if result.status == expected:
        return
    if pgconn.status != pq.ConnStatus.OK:
        raise psycopg.OperationalError((pgconn.error_message or b"connection lost").decode(errors="replace"))
    raise psycopg.errors.error_from_result(result, encoding="utf-8")


INACTIVE_RESULT = "held: the integration is inactive; retry the event after reactivating it"


def store_pending(d: Delivery, *, held: bool = False) -> int | None:
    """Store a verified delivery; its id, or None when this event was already stored (a duplicate).

    ``held``: the integration is inactive. The event is kept (ignored, not processed) rather than
    refused, so nothing is lost and the sender does not switch the hook off; retry replays it.
    """
    dedupe_key = d.dedupe_key
    status, result = (EventStatus.IGNORED, INACTIVE_RESULT) if held else (EventStatus.PENDING, "")
    try:
        event_id = _insert(_row(d, status, dedupe_key, result=result))
    except IntegrityError:  # a backend without ON CONFLICT support semantics: same meaning
        event_id = None
    if event_id is None:
        try:
            WebhookEvent.objects.filter(integration_id=d.integration_id, dedupe_key=dedupe_key).update(
                duplicates=F("duplicates") + 1
            )
        except DatabaseError:  # the event itself is stored: a lost count must not fail the answer
            log.exception("could not count a duplicate delivery of %s", dedupe_key)
    return event_id


def store_rejected(d: Delivery, reason: str) -> int | None:
    """Stored for the record (NULL dedupe key: never a duplicate of anything), never processed."""
    return _insert(_row(d, EventStatus.REJECTED, None, reason[:2000]))


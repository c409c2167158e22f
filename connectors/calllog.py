"""The call log: one ``IntegrationLog`` row per HTTP exchange, with every secret of the integration masked.

A sync job's successful calls are written in batches (``LOG_BATCH``); warnings and errors at once,
after the batch before them. During a token renewal the rows are held and written after the lock's
transaction: when the renewal fails (a wrong password) that transaction rolls back and would take the
very rows that explain the failure with it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from django.db import connection

from integrations.models import Direction, Integration, IntegrationLog
from integrations.redaction import MASK, excerpt, is_secret_key, redact_text

from .transport import Outcome

# A sync's successful calls are logged in batches: written once this many wait, or when a call finds
# the oldest this old (the runner writes the rest when the job ends).
LOG_BATCH = 25
LOG_BATCH_AGE = timedelta(seconds=2)


class CallLog:
    """The log of one integration's outbound calls. ``sync_job_id`` is set by the sync runner."""

    def __init__(self, integration: Integration):
        self.integration = integration
        self.sync_job_id: int | None = None
        self._held: list[IntegrationLog] | None = None  # rows kept aside during a token renewal
        self._batched: list[IntegrationLog] = []  # a sync's successful calls, written by flush
        self._batch_lock = threading.Lock()  # a sync's reading thread logs while the runner may flush

    # --- redaction -------------------------------------------------------------------------------
    def secrets(self) -> tuple[str, ...]:
        """Every secret value this integration holds: credentials, webhook secret, tokens."""
        values: list[str] = []

        def collect(value: Any) -> None:
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    collect(v)
            elif isinstance(value, list | tuple):
                for v in value:
                    collect(v)

        collect(self.integration.credentials or {})
        collect(self.integration.webhook_secret or "")
        collect((self.integration.token_cache or {}).get("access_token"))
        collect((self.integration.token_cache or {}).get("refresh_token"))
        # Longest first, so a secret containing another is masked whole.
        return tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        return redact_text(text, self.secrets())

    def mask_url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return self.redact(url)
        secrets = set(self.secrets())
        query = [(k, MASK if is_secret_key(k) or v in secrets else v) for k, v in parse_qsl(parts.query, True)]
        return self.redact(urlunsplit(parts._replace(query=urlencode(query, safe="*"))))

    # --- writing ---------------------------------------------------------------------------------
    def record(self, action: str, method: str, url: str, params: Any, json: Any, data: Any, outcome: Outcome,
               secret_response: bool, *, level: str, error: str = "") -> None:
        secrets = self.secrets()
        resp = outcome.response
        try:
            full_url = resp.url if resp is not None else requests.Request(method, url, params=params).prepare().url
        except requests.RequestException:
            full_url = url
        body = json if json is not None else data
        entry = IntegrationLog(
            organization_id=self.integration.organization_id,
            integration=self.integration,
            action=action[:64],
            direction=Direction.OUTBOUND,
            level=level,
            method=method,
            endpoint=self.mask_url(full_url or url)[:1000],
            status_code=resp.status_code if resp is not None else None,
            duration_ms=outcome.duration_ms,
            request_excerpt=excerpt(body, secrets),
            response_excerpt="" if resp is None else (
                MASK if secret_response and resp.status_code < 400 else excerpt(resp.content, secrets)),
            error_message=redact_text(error, secrets),
            sync_job_id=self.sync_job_id,
        )
        if self._held is not None:
            self._held.append(entry)
        elif self.sync_job_id is not None and level == "info" and not connection.in_atomic_block:
            # A sync's successful calls (thousands per run) are written a batch at a time: one
            # insert and commit each cost more of the reading thread than parsing the answer.
            with self._batch_lock:
                self._batched.append(entry)
                oldest = self._batched[0].created_at
                due = len(self._batched) >= LOG_BATCH or entry.created_at - oldest > LOG_BATCH_AGE
            if due:
                self.flush()
        else:
            self.flush()  # keeps the log in call order
            entry.save()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the rows logged inside aside, and write them when the block ends (also on an error)."""
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                IntegrationLog.objects.bulk_create(held)

    def flush(self) -> None:
        """Write the batched rows of a sync's calls; the runner calls it when a job ends."""
        with self._batch_lock:
            batch, self._batched = self._batched, []
        if batch:
            IntegrationLog.objects.bulk_create(batch)

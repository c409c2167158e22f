"""The one outbound HTTP choke point: auth, retries, rate budget, logging and redaction.

Every connector calls its provider through ``connector.http`` (an ``HttpClient``):

- timeouts, and retries with exponential backoff and full jitter on timeouts, connection errors,
  5xx and 429 (Retry-After honoured). A POST/PATCH is retried only when it surely did not reach the
  server (connect errors) or the server said it did not process it (429, 503): never a double write;
- tokens from ``connector.obtain_token()`` cached (encrypted) in ``integration.token_cache``, renewed
  race-safe under a row lock, and renewed once on a 401;
- the integration's request budget (``connector.rate_limit``), shared by all workers through Redis;
- one ``IntegrationLog`` row per HTTP exchange, with every secret of the integration masked. A sync
  job's successful calls are written in batches (see ``LOG_BATCH``); warnings and errors at once,
  after the batch before them.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from django.db import connection, transaction
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from integrations.backoff import backoff_delay as retry_backoff
from integrations.redaction import MASK, excerpt, is_secret_key, redact_text

from . import ratelimit
from .errors import AuthError, ConfigError, ConnectorError, FatalError, RateLimitedError, TransientError

if TYPE_CHECKING:
    from integrations.models import Integration

    from .base import Connector

log = logging.getLogger("connectors")

# Methods that must not be repeated once the server may have seen them.
NON_IDEMPOTENT = frozenset({"POST", "PATCH"})
# Statuses by which a server says it did not process the request: safe to retry even a POST.
NOT_PROCESSED = frozenset({429, 503})
# A token is renewed this many seconds before its stated expiry (clock skew, request duration).
TOKEN_EXPIRY_MARGIN = 60
# A sync's successful calls are logged in batches: written once this many wait, or when a call finds
# the oldest this old (the runner writes the rest when the job ends).
LOG_BATCH = 25
LOG_BATCH_AGE = timedelta(seconds=2)
# Errors raised before anything is sent: a bad base URL or header, not a provider failure.
UNUSABLE_REQUEST = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)
ERROR_MESSAGE_KEYS = ("message", "error_description", "error_message", "detail", "error", "errors", "title")


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int) -> float:
    """The wait before retrying a call after its ``attempt``-th try failed (0: the first try): the hub's
    one backoff policy (``integrations.backoff``) on CONNECTOR_HTTP_BACKOFF_BASE / _MAX."""
    return retry_backoff(attempt + 1, base=_setting("CONNECTOR_HTTP_BACKOFF_BASE", 0.5),
                         cap=_setting("CONNECTOR_HTTP_BACKOFF_MAX", 30.0))


def _surely_not_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never established, so the server cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], MaxRetryError):
        return isinstance(exc.args[0].reason, NewConnectionError | ConnectTimeoutError)
    return False


def token_is_fresh(token: dict[str, Any] | None, margin: float = TOKEN_EXPIRY_MARGIN) -> bool:
    if not token or not token.get("access_token"):
        return False
    expires_at = token.get("expires_at")
    return expires_at is None or float(expires_at) - margin > time.time()


def provider_message(response: requests.Response) -> str:
    """The provider's own error text, from the usual JSON keys, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:500]
    if not isinstance(data, dict):
        return str(data)[:500]
    message = ""
    for key in ERROR_MESSAGE_KEYS:
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value
        if value:
            message = value if isinstance(value, str) else str(value)
            break
    code = data.get("error") or data.get("code")
    if isinstance(code, str) and code and " " not in code and code not in message:
        message = f"{code}: {message}" if message else code  # e.g. OAuth's "invalid_client"
    # Field-level details (validation errors) matter more than a generic "invalid".
    details = data.get("errors") or data.get("details")
    if details and str(details) not in message:
        message = f"{message}: {details}" if message else str(details)
    return (message or str(data))[:500]


@dataclass
class _Outcome:
    """One HTTP exchange, as the log and the retry decision see it."""

    response: requests.Response | None = None
    error: requests.RequestException | None = None
    duration_ms: int = 0


class HttpClient:
    """Outbound calls of one integration. ``sync_job_id`` is set by the sync runner for the log."""

    def __init__(self, integration: Integration, connector: Connector):
        self.integration = integration
        self.connector = connector
        self.session = requests.Session()
        self.sync_job_id: int | None = None
        self._held_logs: list | None = None  # log rows kept aside during a token renewal
        self._batched_logs: list = []  # a sync's successful calls, written by flush_logs
        self._batch_lock = threading.Lock()  # a sync's reading thread logs while the runner may flush

    # --- public API ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url_or_path: str,
        *,
        action: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        timeout: float | None = None,
        idempotent: bool | None = None,
        secret_response: bool = False,
    ) -> requests.Response:
        """Send one logical request (retried as the rules allow); return a 2xx/3xx response.

        ``idempotent=True`` lets a POST be retried like a GET (e.g. a token request, a search).
        ``secret_response=True`` logs a successful answer's body masked (a login that answers a bare
        token); error answers are still logged, redacted as usual.
        Raises AuthError, RateLimitedError, TransientError or FatalError.
        """
        method = method.upper()
        url = self.url(url_or_path)
        timeout = timeout or _setting("CONNECTOR_HTTP_TIMEOUT", 30.0)
        max_retries = int(_setting("CONNECTOR_HTTP_MAX_RETRIES", 4))
        safe_to_repeat = idempotent if idempotent is not None else method not in NON_IDEMPOTENT
        renewed = False
        attempt = 0
        while True:
            ratelimit.acquire(f"integration:{self.integration.pk}", self.connector.rate_limit)
            token = self.token() if auth else None
            send_headers = {**(headers or {}), **(self.connector.auth_headers(token) if auth else {})}
            outcome = self._send(method, url, params, json, data, send_headers, timeout)
            resp = outcome.response
            status = resp.status_code if resp is not None else None

            if resp is not None and status < 400:
                self._log(action, method, url, params, json, data, outcome, secret_response, level="info")
                return resp
            if status == 401 and auth and not renewed and token is not None:
                self._log(action, method, url, params, json, data, outcome, secret_response, level="warning",
                          error="401: renewing the token once")
                self.renew_token(stale=token)
                renewed = True
                continue
            error = self._classify(outcome)  # (a 401 here: renewed once already, or no auth to renew)
            retryable = error.retryable and attempt < max_retries and (
                safe_to_repeat or status in NOT_PROCESSED or (outcome.error is not None
                                                                and _surely_not_sent(outcome.error))
            )
            delay = self._retry_delay(error, attempt) if retryable else None
            if delay is None:
                self._log(action, method, url, params, json, data, outcome, secret_response, level="error",
                          error=error.message)
                raise error
            self._log(action, method, url, params, json, data, outcome, secret_response, level="warning",
                      error=f"{error.message}; retry {attempt + 1}/{max_retries} in {delay:.2f} s")
            time.sleep(delay)
            attempt += 1

    def get_json(self, url_or_path: str, *, action: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self._json(self.request("GET", url_or_path, action=action, params=params, **kw))

    def post_json(self, url_or_path: str, *, action: str, json: Any = None, **kw: Any) -> Any:
        return self._json(self.request("POST", url_or_path, action=action, json=json, **kw))

    def url(self, url_or_path: str) -> str:
        if urlsplit(url_or_path).scheme:
            return url_or_path
        return urljoin(self.connector.base_url.rstrip("/") + "/", url_or_path.lstrip("/"))

    # --- tokens -------------------------------------------------------------------------------------
    def token(self) -> dict[str, Any] | None:
        """The cached token while fresh, else a renewed one (None for providers without tokens)."""
        cached = self.integration.token_cache or {}
        if token_is_fresh(cached):
            return cached
        return self.renew_token(stale=cached)

    def renew_token(self, stale: dict[str, Any] | None) -> dict[str, Any] | None:
        """Renew under a row lock; if another worker renewed meanwhile, use its token instead."""
        from integrations.models import IntegrationLog

        stale_value = (stale or {}).get("access_token")
        # The token request's log rows are kept aside and written after the lock's transaction:
        # when obtain_token fails (a wrong password), that transaction rolls back and would take
        # the very rows that explain the failure with it.
        self._held_logs = []
        try:
            fresh = self._renew_locked(stale_value)
        finally:
            held, self._held_logs = self._held_logs, None
            if held:
                IntegrationLog.objects.bulk_create(held)
        self.integration.token_cache = fresh or {}
        return fresh

    def _renew_locked(self, stale_value: str | None) -> dict[str, Any] | None:
        from integrations.models import Integration

        with transaction.atomic():
            # NO KEY: other workers' log rows (a foreign key to this row) need not wait for the renewal.
            row = (Integration.objects.select_for_update(no_key=connection.vendor == "postgresql")
                   .only("id", "token_cache").get(pk=self.integration.pk))
            current = row.token_cache or {}
            if current.get("access_token") != stale_value and token_is_fresh(current):
                fresh: dict[str, Any] | None = current
            else:
                fresh = self.connector.obtain_token()
                if fresh is not None:
                    Integration.objects.filter(pk=row.pk).update(token_cache=fresh)
        return fresh

    def release(self) -> None:
        """Give the cached token back (``connector.release_token``) and forget it; never raises.

        Only for connectors that implement ``release_token``; the others keep their token cached.
        Called at the end of every job, also a failed one: a provider whose tokens hold licence
        seats must not keep a seat for a token nobody uses. Under the same row lock as renewal, so
        a worker renewing meanwhile either sees the token gone or hands its own new one back later.
        """
        from integrations.models import Integration

        from .base import Connector

        if type(self.connector).release_token is Connector.release_token:
            return  # nothing to give back: a token without a seat stays cached for the next job
        try:
            with transaction.atomic():
                row = (Integration.objects.select_for_update(no_key=connection.vendor == "postgresql")
                       .only("id", "token_cache").get(pk=self.integration.pk))
                token = row.token_cache or {}
                if token.get("access_token"):
                    try:
                        self.connector.release_token(token)
                    except Exception:  # noqa: BLE001 - the provider refused or is down: forget the token anyway
                        log.warning("integration %s: releasing its token failed", self.integration.pk, exc_info=True)
                    Integration.objects.filter(pk=row.pk).update(token_cache={})
        except Integration.DoesNotExist:
            pass  # deleted meanwhile: nothing cached any more
        except Exception:  # noqa: BLE001 - called from ``finally`` blocks: must not mask the job's own error
            log.exception("integration %s: could not release its token", self.integration.pk)
        self.integration.token_cache = {}

    # --- internals ---------------------------------------------------------------------------------
    def _send(self, method, url, params, json, data, headers, timeout) -> _Outcome:
        started = time.monotonic()
        try:
            resp = self.session.request(
                method, url, params=params, json=json, data=data, headers=headers, timeout=timeout
            )
            outcome = _Outcome(response=resp)
        except requests.RequestException as exc:
            outcome = _Outcome(error=exc)
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        return outcome

    def _classify(self, outcome: _Outcome) -> ConnectorError:
        resp = outcome.response
        if isinstance(outcome.error, UNUSABLE_REQUEST):
            return ConfigError(f"cannot send this request: {self._redact(str(outcome.error))}")
        if resp is None:
            kind = "timeout" if isinstance(outcome.error, requests.Timeout) else "connection error"
            return TransientError(f"{kind}: {self._redact(str(outcome.error))}")
        status = resp.status_code
        message = self._redact(provider_message(resp))
        if status == 429:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            err = RateLimitedError(f"429 rate limited: {message}", status_code=status, retry_after=retry_after)
        elif status >= 500:
            err = TransientError(f"{status} from provider: {message}", status_code=status,
                                 retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        elif status == 401:
            err = AuthError(f"401 unauthorized: {message}", status_code=status)
        else:
            err = FatalError(f"{status}: {message}", status_code=status)
        err.response = resp  # callers may read the provider's details (e.g. 422 validation errors)
        return err

    def _retry_delay(self, error: ConnectorError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None: give up now (the caller raises ``error``)."""
        if error.retry_after is None:
            return backoff_delay(attempt)
        cap = _setting("CONNECTOR_HTTP_RETRY_AFTER_MAX", 60.0)
        if error.retry_after > cap:
            # Don't hold a worker for minutes: let the job be rescheduled at the provider's time.
            return None
        return error.retry_after

    def _json(self, resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise FatalError(f"expected JSON from {resp.request.method} {self._mask_url(resp.url)}, "
                             f"got {resp.headers.get('Content-Type', 'nothing')}",
                             status_code=resp.status_code) from None

    # --- logging and redaction ---------------------------------------------------------------------
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

    def _redact(self, text: str) -> str:
        return redact_text(text, self.secrets())

    def _mask_url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return self._redact(url)
        secrets = set(self.secrets())
        query = [(k, MASK if is_secret_key(k) or v in secrets else v) for k, v in parse_qsl(parts.query, True)]
        return self._redact(urlunsplit(parts._replace(query=urlencode(query, safe="*"))))

    def _log(self, action, method, url, params, json, data, outcome: _Outcome, secret_response: bool, *, level: str,
             error: str = "") -> None:
        from integrations.models import Direction, IntegrationLog

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
            endpoint=self._mask_url(full_url or url)[:1000],
            status_code=resp.status_code if resp is not None else None,
            duration_ms=outcome.duration_ms,
            request_excerpt=excerpt(body, secrets),
            response_excerpt="" if resp is None else (
                MASK if secret_response and resp.status_code < 400 else excerpt(resp.content, secrets)),
            error_message=redact_text(error, secrets),
            sync_job_id=self.sync_job_id,
        )
        if self._held_logs is not None:
            self._held_logs.append(entry)
        elif self.sync_job_id is not None and level == "info" and not connection.in_atomic_block:
            # A sync's successful calls (thousands per run) are written a batch at a time: one
            # insert and commit each cost more of the reading thread than parsing the answer.
            with self._batch_lock:
                self._batched_logs.append(entry)
                oldest = self._batched_logs[0].created_at
                due = len(self._batched_logs) >= LOG_BATCH or entry.created_at - oldest > LOG_BATCH_AGE
            if due:
                self.flush_logs()
        else:
            self.flush_logs()  # keeps the log in call order
            entry.save()

    def flush_logs(self) -> None:
        """Write the batched log rows of a sync's calls; the runner calls it when a job ends."""
        from integrations.models import IntegrationLog

        with self._batch_lock:
            batch, self._batched_logs = self._batched_logs, []
        if batch:
            IntegrationLog.objects.bulk_create(batch)

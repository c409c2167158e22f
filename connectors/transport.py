"""One HTTP exchange and what it means: send it, classify its failure, decide whether and when to retry.

Retries: timeouts, connection errors, 5xx and 429 are retried with the hub's backoff
(``integrations.backoff``), Retry-After honoured. A POST/PATCH is retried only when it surely did not
reach the server (connect errors) or the server said it did not process it (429, 503): never a
double write.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from integrations.backoff import backoff_delay as retry_backoff

from .errors import AuthError, ConfigError, ConnectorError, FatalError, RateLimitedError, TransientError

# Methods that must not be repeated once the server may have seen them.
NON_IDEMPOTENT = frozenset({"POST", "PATCH"})
# Statuses by which a server says it did not process the request: safe to retry even a POST.
NOT_PROCESSED = frozenset({429, 503})
# Errors raised before anything is sent: a bad base URL or header, not a provider failure.
UNUSABLE_REQUEST = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)
ERROR_MESSAGE_KEYS = ("message", "error_description", "error_message", "detail", "error", "errors", "title")


def setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


@dataclass
class Outcome:
    """One HTTP exchange, as the log and the retry decision see it."""

    response: requests.Response | None = None
    error: requests.RequestException | None = None
    duration_ms: int = 0


def send(session: requests.Session, method: str, url: str, params: Any, json: Any, data: Any,
         headers: dict[str, str], timeout: float) -> Outcome:
    started = time.monotonic()
    try:
        outcome = Outcome(response=session.request(method, url, params=params, json=json, data=data,
                                                   headers=headers, timeout=timeout))
    except requests.RequestException as exc:
        outcome = Outcome(error=exc)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


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
    return retry_backoff(attempt + 1, base=setting("CONNECTOR_HTTP_BACKOFF_BASE", 0.5),
                         cap=setting("CONNECTOR_HTTP_BACKOFF_MAX", 30.0))


def surely_not_sent(exc: requests.RequestException | None) -> bool:
    """True when the connection was never established, so the server cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], MaxRetryError):
        return isinstance(exc.args[0].reason, NewConnectionError | ConnectTimeoutError)
    return False


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


def classify(outcome: Outcome, redact: Callable[[str], str]) -> ConnectorError:
    """The typed error a failed exchange is (its text with the integration's secrets masked)."""
    resp = outcome.response
    if isinstance(outcome.error, UNUSABLE_REQUEST):
        return ConfigError(f"cannot send this request: {redact(str(outcome.error))}")
    if resp is None:
        kind = "timeout" if isinstance(outcome.error, requests.Timeout) else "connection error"
        return TransientError(f"{kind}: {redact(str(outcome.error))}")
    status = resp.status_code
    message = redact(provider_message(resp))
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


def may_retry(error: ConnectorError, outcome: Outcome, *, attempt: int, max_retries: int,
              safe_to_repeat: bool) -> bool:
    """Whether another try is allowed: a retryable error, tries left, and no risk of a double write."""
    status = outcome.response.status_code if outcome.response is not None else None
    return error.retryable and attempt < max_retries and (
        safe_to_repeat or status in NOT_PROCESSED or surely_not_sent(outcome.error))


def retry_delay(error: ConnectorError, attempt: int) -> float | None:
    """Seconds to wait before the next attempt; None: give up now (the caller raises ``error``)."""
    if error.retry_after is None:
        return backoff_delay(attempt)
    cap = setting("CONNECTOR_HTTP_RETRY_AFTER_MAX", 60.0)
    if error.retry_after > cap:
        # Don't hold a worker for minutes: let the job be rescheduled at the provider's time.
        return None
    return error.retry_after

"""The one outbound HTTP choke point: every connector calls its provider through ``connector.http``.

``HttpClient`` puts small parts together, each in its own module:

- ``transport``: send one exchange, classify a failure (the error taxonomy), retry with the hub's
  backoff on timeouts, connection errors, 5xx and 429 (Retry-After honoured), never a double write;
- ``tokens``: the provider token, cached (encrypted), renewed race-safe under a row lock, renewed
  once on a 401, given back at the end of a job where it holds a licence seat;
- ``ratelimit``: the integration's request budget (``connector.rate_limit``), shared through Redis;
- ``calllog``: one ``IntegrationLog`` row per exchange with every secret masked, batched for syncs.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests

from . import ratelimit
from .calllog import LOG_BATCH, LOG_BATCH_AGE, CallLog
from .errors import FatalError
from .tokens import TOKEN_EXPIRY_MARGIN, TokenStore, token_is_fresh
from .transport import (
    NON_IDEMPOTENT,
    Outcome,
    backoff_delay,
    classify,
    may_retry,
    parse_retry_after,
    provider_message,
    retry_delay,
    send,
    setting,
    surely_not_sent,
)

if TYPE_CHECKING:
    from integrations.models import Integration

    from .base import Connector

log = logging.getLogger("connectors")

# Re-exported: what callers and tests read from here.
__all__ = [
    "LOG_BATCH", "LOG_BATCH_AGE", "TOKEN_EXPIRY_MARGIN", "HttpClient", "Outcome", "backoff_delay",
    "parse_retry_after", "provider_message", "surely_not_sent", "token_is_fresh",
]


class HttpClient:
    """Outbound calls of one integration. ``sync_job_id`` is set by the sync runner for the log."""

    def __init__(self, integration: Integration, connector: Connector):
        self.integration = integration
        self.connector = connector
        self.session = requests.Session()
        self.calls = CallLog(integration)
        self.tokens = TokenStore(integration, connector, self.calls)
        # The transport error of the last exchange (None after an answer): a gateway asks whether a
        # failed create surely never reached the provider (``transport.surely_not_sent``).
        self.last_transport_error: requests.RequestException | None = None
        # Per-client limits (None: the settings'), e.g. a preview answered inside a web request.
        self.timeout: float | None = None
        self.max_retries: int | None = None

    @property
    def sync_job_id(self) -> int | None:
        return self.calls.sync_job_id

    @sync_job_id.setter
    def sync_job_id(self, value: int | None) -> None:
        self.calls.sync_job_id = value

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
        timeout = timeout or self.timeout or setting("CONNECTOR_HTTP_TIMEOUT", 30.0)
        max_retries = self.max_retries
        if max_retries is None:
            max_retries = int(setting("CONNECTOR_HTTP_MAX_RETRIES", 4))
        safe_to_repeat = idempotent if idempotent is not None else method not in NON_IDEMPOTENT
        renewed = False
        attempt = 0

        def record(outcome: Outcome, level: str, error: str = "") -> None:
            self.calls.record(action, method, url, params, json, data, outcome, secret_response, level=level,
                              error=error)

        while True:
            ratelimit.acquire(f"integration:{self.integration.pk}", self.connector.rate_limit)
            token = self.token() if auth else None
            send_headers = {**(headers or {}), **(self.connector.auth_headers(token) if auth else {})}
            outcome = send(self.session, method, url, params, json, data, send_headers, timeout)
            self.last_transport_error = outcome.error
            resp = outcome.response
            status = resp.status_code if resp is not None else None

            if resp is not None and status < 400:
                record(outcome, "info")
                return resp
            if status == 401 and auth and not renewed and token is not None:
                record(outcome, "warning", "401: renewing the token once")
                self.renew_token(stale=token)
                renewed = True
                continue
            error = classify(outcome, self.calls.redact)  # (a 401 here: renewed once already, or no auth)
            retryable = may_retry(error, outcome, attempt=attempt, max_retries=max_retries,
                                  safe_to_repeat=safe_to_repeat)
            delay = retry_delay(error, attempt) if retryable else None
            if delay is None:
                record(outcome, "error", error.message)
                raise error
            record(outcome, "warning", f"{error.message}; retry {attempt + 1}/{max_retries} in {delay:.2f} s")
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

    # --- the parts, as callers knew them -----------------------------------------------------------
    def token(self) -> dict[str, Any] | None:
        return self.tokens.token()

    def renew_token(self, stale: dict[str, Any] | None) -> dict[str, Any] | None:
        return self.tokens.renew(stale)

    def release(self) -> None:
        self.tokens.release()

    def secrets(self) -> tuple[str, ...]:
        return self.calls.secrets()

    def flush_logs(self) -> None:
        """Write the batched log rows of a sync's calls; the runner calls it when a job ends."""
        self.calls.flush()

    def _json(self, resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise FatalError(f"expected JSON from {resp.request.method} {self.calls.mask_url(resp.url)}, "
                             f"got {resp.headers.get('Content-Type', 'nothing')}",
                             status_code=resp.status_code) from None

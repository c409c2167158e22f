"""One error taxonomy for every provider call. The kind decides retries, alerts and health."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class. ``kind`` is one of transient, rate_limited, auth, config, fatal."""

    kind = "fatal"
    retryable = False

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """Timeouts, connection errors, 5xx: retry with backoff."""

    kind = "transient"
    retryable = True


class RateLimitedError(ConnectorError):
    """429 or the shared rate budget is spent: wait as told (``retry_after`` seconds)."""

    kind = "rate_limited"
    retryable = True


class AuthError(ConnectorError):
    """Credentials refused (after one token renewal): the user must reconnect."""

    kind = "auth"


class ConfigError(ConnectorError):
    """Missing or invalid configuration: the user must act; retrying will not help."""

    kind = "config"


class FatalError(ConnectorError):
    """Anything else the provider refuses (4xx other than 401/429) or answers that we cannot read."""

    kind = "fatal"


class MappingError(Exception):
    """One source record could not be mapped: that record fails, not the job."""


# --- Inbound webhooks --------------------------------------------------------------------------
class WebhookError(Exception):
    status_code = 400
    code = "bad_webhook"


class SignatureError(WebhookError):
    """Missing, malformed or wrong signature, or a timestamp outside the tolerance: answer 401."""

    status_code = 401
    code = "invalid_signature"


class RejectedPayload(WebhookError):
    """A payload that cannot be from this provider: answer 400 (stored as rejected)."""

    status_code = 400
    code = "rejected_payload"


class UnprocessableEvent(Exception):
    """A stored event that can never be processed (e.g. JSON nested too deep to read): processing marks
    it failed at once with this reason, without retries (the sender got its 2xx when it was stored)."""


class IgnoredEvent(Exception):
    """A plausible event we choose not to handle: processing marks it ignored (and the sender got 2xx)."""

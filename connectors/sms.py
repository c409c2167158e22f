"""Base of the SMS connectors: HTTP through the platform client, one IntegrationLog per call."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from connectors.errors import AuthError, ConnectorError, FatalError, RateLimitedError, TransientError

from .messaging import MessagingConnector, RecipientRejected

# Our error classes by name, for the providers' code tables.
ERRORS: dict[str, type[ConnectorError]] = {
    "recipient": RecipientRejected, "auth": AuthError, "rate_limited": RateLimitedError,
    "transient": TransientError, "fatal": FatalError,
}


class SmsConfig(serializers.Serializer):
    sender = serializers.CharField(required=False, allow_blank=True, max_length=32,
                                   help_text="From number (E.164) or alphanumeric sender id.")
    priority = serializers.IntegerField(default=10, help_text="Lower is tried first.")


class SmsConnector(MessagingConnector):
    integration_type = "sms"
    channel = "sms"
    config_serializer = SmsConfig
    # Provider error code -> our kind ("recipient", "auth", ...); unknown codes are "fatal" (failover).
    error_codes: ClassVar[dict[str, str]] = {}

    def provider_error(self, code: Any, text: str, status: int | None = None) -> ConnectorError:
        kind = self.error_codes.get(str(code), "fatal")
        return ERRORS[kind](f"{self.display_name} error {code}: {text}", status_code=status)

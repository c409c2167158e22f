"""The contract of an e-mail or SMS provider connector (``connectors/<provider>/``).

A messaging connector is a ``Connector`` with ``integration_type`` "email" or "sms" and one method,
``send``: hand one message for one recipient to the provider and return the provider's message id.
It raises the platform's error taxonomy so the failover can decide:

- ``RecipientRejected``: this recipient can never be reached this way (invalid number, blocked
  address): the delivery fails, no other provider is tried (it would refuse it too);
- any other ``ConnectorError`` (connection error, 5xx, refused credentials, exhausted balance): the
  next provider in the organization's order is tried, and the attempt chain records why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from connectors.base import Connector
from connectors.errors import ConfigError, ConnectorError, FatalError


class RecipientRejected(FatalError):
    """The provider refuses this recipient (not the account or the service): do not fail over."""


@dataclass
class Outgoing:
    """One message for one recipient, as a provider sends it."""

    channel: str  # "email" or "sms"
    to: str  # an e-mail address, or an E.164 phone number ("+447700900123")
    body: str
    subject: str = ""
    html_body: str = ""
    sender: str = ""  # from address / sender id; "" -> the integration's configured default
    # Stable per (message, recipient): Message-ID / idempotency header where the provider takes one.
    idempotency_key: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class MessagingConnector(Connector):
    """Base of e-mail and SMS connectors. No streams: they send, they do not sync."""

    channel: ClassVar[str] = ""

    def send(self, message: Outgoing) -> str:
        """Send ``message``; return the provider's message id. Raise ConnectorError on failure."""
        raise NotImplementedError

    def config_value(self, name: str, default: Any = "") -> Any:
        return (self.integration.config or {}).get(name) or default

    def credential(self, name: str) -> str:
        value = (self.integration.credentials or {}).get(name)
        if not value:
            raise ConfigError(f"{self.display_name} {name.replace('_', ' ')} not configured")
        return str(value)


def is_failover_error(exc: Exception) -> bool:
    """True when another provider may succeed where this one failed."""
    return isinstance(exc, ConnectorError) and not isinstance(exc, RecipientRejected)

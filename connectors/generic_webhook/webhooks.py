"""Verification for the generic provider: the scheme, and where the event id and type come from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import InboundRequest, WebhookDelivery
from connectors.errors import UnprocessableEvent
from connectors.signatures import get_scheme, split_secrets
from integrations.jsonlimits import JSONTooDeep, loads

# Schemes a generic sender may use, and what each one tells us beyond the signature.
SCHEME_DEFAULTS: dict[str, dict[str, str]] = {
    "hmac-sha256-hex": {},
    "hmac-sha256-base64": {},
    "standard-webhooks": {"event_type_field": "type"},  # the spec's payloads carry "type"
    "github": {"event_type_header": "x-github-event"},
    "stripe": {"event_id_field": "id", "event_type_field": "type"},
}
SCHEME_CHOICES = list(SCHEME_DEFAULTS)
# Only these take their signature header from the configuration.
CONFIGURABLE_HEADER = {"hmac-sha256-hex", "hmac-sha256-base64"}


def json_field(body: bytes, path: str) -> str:
    """A scalar at a dotted path of a JSON body, or "" (a malformed body is the processor's problem)."""
    try:
        value: Any = loads(body)
    except ValueError:  # also JSONTooDeep: the event is stored without an id, and fails processing
        return ""
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


class GenericVerifier:
    def __init__(self, config: Mapping[str, Any]):
        name = config.get("signature_scheme") or "hmac-sha256-hex"
        header = config.get("signature_header") if name in CONFIGURABLE_HEADER else None
        self.scheme = get_scheme(name, header or None)
        self.tolerance = int(config.get("tolerance_seconds") or 300)
        merged = {**SCHEME_DEFAULTS.get(name, {}), **{k: v for k, v in config.items() if v}}
        self.id_header = (merged.get("event_id_header") or "").lower()
        self.type_header = (merged.get("event_type_header") or "").lower()
        self.id_field = merged.get("event_id_field") or ""
        self.type_field = merged.get("event_type_field") or ""

    def verify(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        delivery_id = self.scheme.verify(
            request.headers, request.body, split_secrets(secret), tolerance=self.tolerance
        )
        headers = request.headers
        event_id = delivery_id or (self.id_header and headers.get(self.id_header, "")) or (
            self.id_field and json_field(request.body, self.id_field)
        )
        event_type = (self.type_header and headers.get(self.type_header, "")) or (
            self.type_field and json_field(request.body, self.type_field)
        )
        return WebhookDelivery(event_id=event_id or "", event_type=event_type or "")

    def check_readable(self, body: bytes) -> None:
        """Raise UnprocessableEvent when the configured id/type fields could not be read for depth.

        The receiver stores such a delivery (it is signed, and refusing it would make the sender
        retry it forever); processing then fails it once, saying why.
        """
        if not (self.id_field or self.type_field):
            return
        try:
            loads(body)
        except JSONTooDeep as exc:
            fields = " and ".join(f for f in (self.id_field, self.type_field) if f)
            raise UnprocessableEvent(f"the body is {exc}: its event fields ({fields}) cannot be read") from None
        except ValueError:
            return  # not JSON at all: as before, stored and passed on as bytes

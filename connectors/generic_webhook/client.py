"""Generic webhook receiver (provider ``webhook``): any sender that signs with a common HMAC scheme.

``config.signature_scheme`` picks the scheme (see ``connectors.signatures``); ``hmac-sha256-hex``
and ``hmac-sha256-base64`` read the signature from ``config.signature_header``. The event id used
for deduplication comes from the scheme's delivery-id header, else from ``event_id_header`` /
``event_id_field`` when configured, else the inbox falls back to the body hash.

Processing acknowledges (the raw delivery is stored and readable by API and admin), or, when
``config.forward_url`` is set, relays the raw body there through the connector HTTP client: a
failure is retried by the inbox with backoff, then marked failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from connectors.base import Connector, InboundRequest, WebhookDelivery

from .schemas import WebhookConfigSerializer
from .webhooks import GenericVerifier

if TYPE_CHECKING:
    from connectors.base import StoredEvent


class WebhookConnector(Connector):
    provider: ClassVar[str] = "webhook"
    display_name: ClassVar[str] = "Generic webhook"
    integration_type: ClassVar[str] = "webhook"
    config_serializer = WebhookConfigSerializer

    def test_connection(self) -> str:
        if not self.integration.webhook_secret:
            return "No webhook secret set: deliveries will be refused until one is configured."
        return f"Ready to receive webhooks signed with {self._verifier.scheme.name}."

    @property
    def _verifier(self) -> GenericVerifier:
        # Built once per connector instance: the receive path caches connectors per integration.
        verifier = self.__dict__.get("_verifier_cache")
        if verifier is None:
            verifier = self.__dict__["_verifier_cache"] = GenericVerifier(self.integration.config or {})
        return verifier

    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        return self._verifier.verify(request, secret)

    def handle_webhook(self, event: StoredEvent) -> str:
        self._verifier.check_readable(bytes(event.body))
        url = (self.integration.config or {}).get("forward_url")
        if not url:
            return "stored"
        resp = self.http.request(
            "POST", url, action="webhook.forward", data=bytes(event.body), auth=False,
            headers={"Content-Type": event.content_type or "application/octet-stream",
                     "X-Webhook-Event-Id": event.event_id or str(event.pk)},
        )
        return f"forwarded: HTTP {resp.status_code}"

"""The Payme connector: Payme calls us (merchant API); we build its checkout links."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from connectors.base import Connector
from connectors.errors import ConfigError
from connectors.gateway import PaymentGateway, PaymentTransaction
from integrations.models import Integration

from .checkout import checkout_url
from .gateway import account_field
from .schemas import PaymeConfig, PaymeCredentials


class PaymeConnector(PaymentGateway, Connector):
    provider = "payme"
    display_name = "Payme"
    integration_type = "payment_gateway"
    credentials_serializer = PaymeCredentials
    config_serializer = PaymeConfig
    secret_fields = ("key", "test_key")
    requires_reference = True

    @classmethod
    def callback_url(cls, integration: Integration) -> str:
        return settings.HUB_PUBLIC_URL + reverse("payme-rpc", args=[integration.webhook_key])

    def test_connection(self) -> str:
        if not (self.integration.credentials or {}).get("merchant_id"):
            raise ConfigError("merchant_id is required")
        return (f"Payme calls this hub; set {self.callback_url(self.integration)} as the endpoint URL of "
                "cashbox " + self.integration.credentials["merchant_id"] + " in the merchant cabinet.")

    def check_payment(self, *, reference: str, amount: int, currency: str) -> str | None:
        if currency != "UZS":
            return "Payme accepts UZS only (amounts in tiyin)"
        if ";" in reference:
            return "a Payme reference cannot contain ';' (the checkout link's separator)"
        return None

    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        config = self.integration.config or {}
        problem = self.check_payment(reference=tx.reference, amount=tx.amount, currency=tx.currency)
        if problem:
            raise ConfigError(problem)
        url = checkout_url(
            (self.integration.credentials or {}).get("merchant_id", ""), account_field(self.integration),
            tx.reference, tx.amount, return_url=options.get("return_url") or config.get("return_url") or "",
            test=bool(config.get("test_mode")), host=config.get("checkout_url") or "",
        )
        return {"checkout_url": url}

"""The Click connector: Click calls us (SHOP API); we build its pay links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from connectors import money
from connectors.base import Connector
from connectors.errors import ConfigError
from connectors.gateway import PaymentGateway, PaymentTransaction
from integrations.models import Integration

from .schemas import ClickConfig, ClickCredentials

PAY_URL = "https://my.click.uz/services/pay"


class ClickConnector(PaymentGateway, Connector):
    provider = "click"
    display_name = "Click"
    integration_type = "payment_gateway"
    credentials_serializer = ClickCredentials
    config_serializer = ClickConfig
    secret_fields = ("secret_key",)
    requires_reference = True

    @classmethod
    def callback_url(cls, integration: Integration) -> str:
        return settings.HUB_PUBLIC_URL + reverse("click-shop", args=[integration.webhook_key])

    def test_connection(self) -> str:
        creds = self.integration.credentials or {}
        if not (creds.get("service_id") and creds.get("secret_key")):
            raise ConfigError("service_id and secret_key are required")
        return (f"Click calls this hub; set {self.callback_url(self.integration)} as both the Prepare and the "
                f"Complete URL of service {creds['service_id']} in the merchant cabinet.")

    def check_payment(self, *, reference: str, amount: int, currency: str) -> str | None:
        return None if currency == "UZS" else "Click accepts UZS only"

    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        problem = self.check_payment(reference=tx.reference, amount=tx.amount, currency=tx.currency)
        if problem:
            raise ConfigError(problem)
        creds, config = self.integration.credentials or {}, self.integration.config or {}
        query = {"service_id": creds.get("service_id", ""), "merchant_id": creds.get("merchant_id", ""),
                 "amount": f"{money.to_major(tx.amount, 'UZS'):.2f}", "transaction_param": tx.reference}
        return_url = options.get("return_url") or config.get("return_url")
        if return_url:
            query["return_url"] = return_url
        return {"checkout_url": f"{config.get('pay_url') or PAY_URL}?{urlencode(query)}"}

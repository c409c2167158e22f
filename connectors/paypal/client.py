"""The PayPal connector: REST Orders v2 with OAuth2 client-credentials tokens (the kit's token store:
cached until expiry, renewed under a row lock, once more on a 401), ``PayPal-Request-Id`` on every
POST, capture and refunds; webhooks through the hub's store-then-process receiver.

A PayPal payment is approved by the payer at PayPal (the order's approve link), so ``start_payment``
opens the order; the hub captures once the order is APPROVED (``CHECKOUT.ORDER.APPROVED`` or the
payer's return), and only a COMPLETED capture counts as paid.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from connectors.base import Connector, InboundRequest, WebhookDelivery
from connectors.errors import ConfigError, FatalError, IgnoredEvent, TransientError
from connectors.gateway import GatewayUnreachable, PaymentGateway, PaymentState, PaymentTransaction, ledger
from connectors.money import exponent
from connectors.transport import surely_not_sent
from integrations.models import Integration

from . import webhooks
from .amounts import decimal_value
from .schemas import PayPalConfig, PayPalCredentials

BASE_URLS = {"live": "https://api-m.paypal.com", "sandbox": "https://api-m.sandbox.paypal.com"}
# Currencies PayPal's REST API takes; HUF, JPY and TWD in whole units only.
CURRENCIES = frozenset("AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK CHF "
                       "THB USD".split())
WHOLE_UNITS = frozenset({"HUF", "JPY", "TWD"})
APPROVE_RELS = ("approve", "payer-action")


class PayPalConnector(PaymentGateway, Connector):
    provider = "paypal"
    display_name = "PayPal"
    integration_type = "payment_gateway"
    default_base_url = BASE_URLS["live"]
    credentials_serializer = PayPalCredentials
    config_serializer = PayPalConfig
    secret_fields = ("client_secret",)
    test_currency = "USD"

    @property
    def base_url(self) -> str:
        environment = (self.integration.config or {}).get("environment", "live")
        return (self.integration.base_url or BASE_URLS.get(environment, self.default_base_url)).rstrip("/")

    @classmethod
    def is_test_mode(cls, integration: Integration) -> bool:
        return (integration.config or {}).get("environment") == "sandbox"

    @classmethod
    def return_url(cls, integration: Integration) -> str:
        return settings.HUB_PUBLIC_URL + reverse("paypal-return", args=[integration.webhook_key])

    # --- auth ---------------------------------------------------------------------------------------
    def obtain_token(self) -> dict[str, Any]:
        creds = self.integration.credentials or {}
        if not (creds.get("client_id") and creds.get("client_secret")):
            raise ConfigError("client_id and client_secret are required")
        basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
        body = self.http.request("POST", "v1/oauth2/token", action="paypal.oauth2.token", auth=False,
                                 idempotent=True, secret_response=True, data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}", "Accept": "application/json"}).json()
        return {"access_token": body["access_token"], "expires_at": time.time() + int(body.get("expires_in", 0))}

    def call(self, method: str, path: str, *, action: str, json: dict[str, Any] | None = None,
             request_id: str | None = None) -> dict[str, Any]:
        headers = {"Prefer": "return=representation"}
        if request_id:
            # PayPal answers a repeated PayPal-Request-Id with the first result: a POST is retried like a GET.
            headers["PayPal-Request-Id"] = request_id
        return self.http.request(method, path, action=action, json=json, headers=headers,
                                 idempotent=method == "GET" or bool(request_id)).json()

    def test_connection(self) -> str:
        self.http.renew_token(stale=self.integration.token_cache or {})
        mode = "sandbox" if self.is_test_mode(self.integration) else "live"
        return f"Connected to PayPal ({mode}): an access token was issued."

    # --- payments -----------------------------------------------------------------------------------
    def check_payment(self, *, reference: str, amount: int, currency: str) -> str | None:
        currency = currency.upper()
        if currency not in CURRENCIES:
            return f"PayPal does not take {currency}"
        if currency in WHOLE_UNITS and exponent(currency) and amount % 10 ** exponent(currency):
            return f"PayPal takes {currency} in whole units only"
        return None

    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        config = self.integration.config or {}
        unit: dict[str, Any] = {"reference_id": (tx.reference or f"hub-{tx.pk}")[:256], "custom_id": str(tx.pk),
                                "amount": {"currency_code": tx.currency.upper(),
                                           "value": decimal_value(tx.amount, tx.currency)}}
        if tx.description:
            unit["description"] = tx.description[:127]
        context = {"return_url": options.get("return_url") or config.get("return_url") or
                   self.return_url(self.integration), "user_action": "PAY_NOW"}
        if config.get("cancel_url"):
            context["cancel_url"] = config["cancel_url"]
        if config.get("brand_name"):
            context["brand_name"] = config["brand_name"]
        body = {"intent": "CAPTURE", "purchase_units": [unit], "application_context": context}
        try:
            order = self.call("POST", "v2/checkout/orders", action="paypal.orders.create", json=body,
                              request_id=f"hub-payment-{tx.pk}")
        except TransientError as exc:
            if surely_not_sent(self.http.last_transport_error):
                raise GatewayUnreachable(exc.message) from exc
            raise
        with transaction.atomic():
            locked = ledger().transactions().select_for_update().get(pk=tx.pk)
            ledger().transition(locked, PaymentState.PENDING, source="paypal.api", gateway_state=order.get("status"),
                                raw=order, extra_fields={"gateway_transaction_id": order["id"]})
        approve = next((link["href"] for link in order.get("links", []) if link.get("rel") in APPROVE_RELS), "")
        return {"order_id": order["id"], "status": order.get("status"), "approve_url": approve}

    def capture(self, tx_id: int, order_id: str, *, source: str) -> str:
        """Capture an approved order; an order captured meanwhile (422 ORDER_ALREADY_CAPTURED) is read back.

        A request id per attempt (the client's retries of one attempt share it): PayPal would answer a
        reused id with its first answer, e.g. the ORDER_NOT_APPROVED of a payer who returned too early.
        """
        try:
            order = self.call("POST", f"v2/checkout/orders/{order_id}/capture", action="paypal.orders.capture",
                              json={}, request_id=f"hub-capture-{tx_id}-{uuid.uuid4().hex[:12]}")
        except FatalError as exc:
            if exc.status_code != 422 or "ORDER_ALREADY_CAPTURED" not in exc.message:
                raise
            order = self.call("GET", f"v2/checkout/orders/{order_id}", action="paypal.orders.get")
        captures = [c for unit in order.get("purchase_units", []) for c in (unit.get("payments") or {}).get(
            "captures", [])]
        if not captures:
            raise IgnoredEvent(f"order {order_id} has no capture")
        return webhooks.apply_capture(tx_id, captures[0], source=source)

    def refund_payment(self, tx: PaymentTransaction, amount: int) -> dict[str, Any]:
        capture_id = (tx.data or {}).get("paypal_capture_id")
        if not capture_id:
            raise ConfigError("this payment has no completed PayPal capture to refund")
        refund = self.call("POST", f"v2/payments/captures/{capture_id}/refund", action="paypal.captures.refund",
                           json={"amount": {"currency_code": tx.currency, "value": decimal_value(amount, tx.currency)},
                                 "custom_id": str(tx.pk)},
                           request_id=f"hub-refund-{tx.pk}-{tx.refunded_amount}-{amount}")
        if refund.get("status") == "COMPLETED":
            webhooks.apply_refund(tx.pk, refund, source="paypal.api", fallback=tx.refunded_amount + amount)
        return refund

    # --- webhooks --------------------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        if (self.integration.config or {}).get("verification") == "api":
            return webhooks.verify_with_api(self, request, secret)
        return webhooks.verify(request, secret)

    def handle_webhook(self, event) -> str:
        return webhooks.handle(self, event)

"""The Razorpay connector: Orders over the REST API (Basic auth key_id:key_secret), the checkout's
payment signature, capture and refunds; webhooks through the hub's store-then-process receiver.

A Razorpay payment starts in the payer's browser (Checkout, opened with the order id we create), so
``start_payment`` only opens the order; the money counts once a payment is *captured*, learnt from a
checkout callback whose signature we verified or from a signed webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from connectors.base import Connector, InboundRequest, WebhookDelivery
from connectors.errors import ConfigError, FatalError, SignatureError, TransientError
from connectors.gateway import GatewayUnreachable, PaymentGateway, PaymentState, PaymentTransaction, ledger
from connectors.money import exponent
from connectors.transport import surely_not_sent
from integrations.models import Integration

from . import webhooks
from .schemas import RazorpayConfig, RazorpayCredentials

RECEIPT_MAX = 40  # Razorpay's limit on an order's receipt



def payment_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """The checkout's ``razorpay_signature``: hex HMAC-SHA256 of ``order_id|payment_id`` keyed by the key secret."""
    return hmac.new(key_secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


class RazorpayConnector(PaymentGateway, Connector):
    provider = "razorpay"
    display_name = "Razorpay"
    integration_type = "payment_gateway"
    default_base_url = "https://api.razorpay.com"
    credentials_serializer = RazorpayCredentials
    config_serializer = RazorpayConfig
    secret_fields = ("key_secret",)
    test_currency = "INR"

    @classmethod
    def is_test_mode(cls, integration: Integration) -> bool:
        return str((integration.credentials or {}).get("key_id", "")).startswith("rzp_test_")

    @classmethod
    def checkout_url(cls, integration: Integration) -> str:
        """Where Razorpay Checkout posts ``razorpay_payment_id/_order_id/_signature`` (its ``callback_url``)."""
        return settings.HUB_PUBLIC_URL + reverse("razorpay-checkout", args=[integration.webhook_key])

    # --- REST -------------------------------------------------------------------------------------
    def _credentials(self) -> tuple[str, str]:
        creds = self.integration.credentials or {}
        if not (creds.get("key_id") and creds.get("key_secret")):
            raise ConfigError("key_id and key_secret are required")
        return str(creds["key_id"]), str(creds["key_secret"])

    def _headers(self) -> dict[str, str]:
        key_id, secret = self._credentials()
        return {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}

    def call(self, method: str, path: str, *, action: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        # Razorpay takes no idempotency key on these calls: a POST is retried only when it surely was
        # not processed (the client's rules), never after an ambiguous failure.
        return self.http.request(method, path, action=action, json=json, auth=False, headers=self._headers()).json()

    def test_connection(self) -> str:
        self.call("GET", "v1/orders?count=1", action="razorpay.orders.list")
        mode = "test" if self.is_test_mode(self.integration) else "live"
        return f"Connected to Razorpay ({mode} mode)."

    # --- payments -----------------------------------------------------------------------------------
    def check_payment(self, *, reference: str, amount: int, currency: str) -> str | None:
        # Razorpay takes three-decimal currencies in units of 0.010 (the last digit must be 0).
        if exponent(currency) == 3 and amount % 10:
            return f"Razorpay takes {currency.upper()} amounts in steps of 0.010 (the last digit must be 0)"
        return None

    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        receipt = (tx.reference or f"hub-{tx.pk}")[:RECEIPT_MAX]
        body = {"amount": tx.amount, "currency": tx.currency.upper(), "receipt": receipt,
                "notes": {"hub_payment_id": str(tx.pk), "reference": tx.reference or ""}}
        try:
            order = self.call("POST", "v1/orders", action="razorpay.orders.create", json=body)
        except TransientError as exc:
            if surely_not_sent(self.http.last_transport_error):
                raise GatewayUnreachable(exc.message) from exc
            raise
        with transaction.atomic():
            locked = ledger().transactions().select_for_update().get(pk=tx.pk)
            ledger().transition(locked, PaymentState.PENDING, source="razorpay.api", gateway_state="order_created",
                                raw=order, extra_fields={"gateway_transaction_id": order["id"]})
        key_id, _ = self._credentials()
        return {"order_id": order["id"], "key_id": key_id, "amount": order.get("amount", tx.amount),
                "currency": order.get("currency", tx.currency), "receipt": receipt,
                "callback_url": self.checkout_url(self.integration),
                "name": (self.integration.config or {}).get("checkout_name") or self.integration.name}

    def confirm_checkout(self, order_id: str, payment_id: str, signature: str) -> PaymentTransaction:
        """The payer's checkout came back: verify its signature against the order id *we* stored, then
        read the payment from Razorpay (the browser's word is not enough) and apply it."""
        tx = ledger().transactions().filter(integration=self.integration, gateway_transaction_id=order_id).first()
        if tx is None or not order_id:
            raise SignatureError("no payment of this integration has that order id")
        _, secret = self._credentials()
        expected = payment_signature(tx.gateway_transaction_id, payment_id, secret)
        if not hmac.compare_digest(expected, signature or ""):
            raise SignatureError("payment signature does not match")
        payment = self.fetch_payment(payment_id)
        if payment.get("order_id") != tx.gateway_transaction_id:
            raise SignatureError("the payment belongs to another order")
        webhooks.apply_payment(self, tx.pk, payment, source="razorpay.checkout")
        tx.refresh_from_db()
        return tx

    def fetch_payment(self, payment_id: str) -> dict[str, Any]:
        return self.call("GET", f"v1/payments/{payment_id}", action="razorpay.payments.fetch")

    def capture(self, payment: dict[str, Any]) -> dict[str, Any]:
        """Capture an authorized payment (its whole amount); a payment captured meanwhile is read back."""
        try:
            return self.call("POST", f"v1/payments/{payment['id']}/capture", action="razorpay.payments.capture",
                             json={"amount": payment["amount"], "currency": payment["currency"]})
        except FatalError as exc:
            if exc.status_code == 400:
                current = self.fetch_payment(payment["id"])
                if current.get("status") == "captured":
                    return current  # captured by a concurrent callback/webhook, or by Razorpay itself
            raise

    def refund_payment(self, tx: PaymentTransaction, amount: int) -> dict[str, Any]:
        payment_id = (tx.data or {}).get("razorpay_payment_id")
        if not payment_id:
            raise ConfigError("this payment has no captured Razorpay payment to refund")
        refund = self.call("POST", f"v1/payments/{payment_id}/refund", action="razorpay.refunds.create",
                           json={"amount": amount, "notes": {"hub_payment_id": str(tx.pk)}})
        if refund.get("status") == "processed":
            ledger().apply_refund(tx.pk, tx.refunded_amount + int(refund.get("amount") or amount),
                                  source="razorpay.api", raw=refund)
        return refund

    # --- webhooks --------------------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        return webhooks.verify(request, secret)

    def handle_webhook(self, event) -> str:
        return webhooks.handle(self, event)

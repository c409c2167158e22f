"""The Stripe connector: PaymentIntents and refunds over the REST API (form-encoded, Idempotency-Key
on every POST), and webhooks through the hub's store-then-process receiver."""

from __future__ import annotations

from typing import Any

from connectors.base import Connector, InboundRequest, WebhookDelivery
from connectors.errors import ConfigError, FatalError, TransientError
from connectors.gateway import GatewayUnreachable, PaymentGateway, PaymentTransaction, ledger
from connectors.transport import surely_not_sent
from integrations.models import Integration

from . import webhooks
from .schemas import StripeConfig, StripeCredentials

API_VERSION = "2024-06-20"


def form(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Stripe's form encoding of nested objects: ``metadata[reference]=...``."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            flat.update(form(value, name))
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        elif value is not None:
            flat[name] = str(value)
    return flat


class StripeConnector(PaymentGateway, Connector):
    provider = "stripe"
    display_name = "Stripe"
    integration_type = "payment_gateway"
    default_base_url = "https://api.stripe.com"
    credentials_serializer = StripeCredentials
    config_serializer = StripeConfig
    secret_fields = ("secret_key",)
    # A PaymentIntent's client_secret lets a browser confirm the payment: it is handed to the
    # checkout once (the create answer) and kept nowhere (ledger, history, webhook inbox, logs).
    payload_secret_fields = ("client_secret",)
    rate_limit = (25, 1.0)  # Stripe's test mode allows 25 requests/s (live: 100)
    test_currency = "USD"

    def test_options(self) -> dict[str, Any]:
        return {"payment_method": "pm_card_visa"}  # Stripe's test card that succeeds

    @classmethod
    def is_test_mode(cls, integration: Integration) -> bool:
        return str((integration.credentials or {}).get("secret_key", "")).startswith(("sk_test_", "rk_test_"))

    # --- REST -------------------------------------------------------------------------------------
    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        key = (self.integration.credentials or {}).get("secret_key")
        if not key:
            raise ConfigError("secret_key is required")
        headers = {"Authorization": f"Bearer {key}", "Stripe-Version": API_VERSION}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def post(self, path: str, data: dict[str, Any], *, action: str, idempotency_key: str) -> dict[str, Any]:
        # With an Idempotency-Key Stripe answers a repeat with the first result: safe to retry.
        resp = self.http.request("POST", path, action=action, data=form(data), auth=False, idempotent=True,
                                 headers=self._headers(idempotency_key))
        return resp.json()

    def get(self, path: str, *, action: str) -> dict[str, Any]:
        return self.http.request("GET", path, action=action, auth=False, headers=self._headers()).json()

    def test_connection(self) -> str:
        body = self.get("v1/balance", action="stripe.balance")
        mode = "live" if body.get("livemode") else "test"
        return f"Connected to Stripe ({mode} mode)."

    # --- payments -----------------------------------------------------------------------------------
    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "amount": tx.amount, "currency": tx.currency.lower(), "description": tx.description or None,
            "metadata": {"hub_payment_id": tx.pk, "reference": tx.reference or None},
        }
        if options.get("payment_method"):
            body.update(payment_method=options["payment_method"], confirm=True)
            if options.get("return_url"):
                body["return_url"] = options["return_url"]
        else:
            body["automatic_payment_methods"] = {"enabled": True}
        try:
            intent = self.post("v1/payment_intents", body, action="stripe.payment_intents.create",
                               idempotency_key=f"hub-payment-{tx.pk}")
        except TransientError as exc:
            if surely_not_sent(self.http.last_transport_error):
                raise GatewayUnreachable(exc.message) from exc
            raise
        except FatalError as exc:
            intent = _declined_intent(exc)
            if intent is None:
                raise
        webhooks.apply_intent(tx.pk, intent, source="stripe.api")
        return {"payment_intent": intent["id"], "status": intent.get("status"),
                "client_secret": intent.get("client_secret")}

    def refund_payment(self, tx: PaymentTransaction, amount: int) -> dict[str, Any]:
        if not tx.gateway_transaction_id:
            raise ConfigError("this payment has no PaymentIntent at Stripe")
        refund = self.post("v1/refunds", {"payment_intent": tx.gateway_transaction_id, "amount": amount,
                                          "metadata": {"hub_payment_id": tx.pk}},
                           action="stripe.refunds.create",
                           idempotency_key=f"hub-refund-{tx.pk}-{tx.refunded_amount}-{amount}")
        if refund.get("status") == "succeeded":
            ledger().apply_refund(tx.pk, tx.refunded_amount + int(refund.get("amount") or amount),
                                  source="stripe.api", raw=refund)
        return refund

    # --- webhooks --------------------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        return webhooks.verify(request, secret)

    def handle_webhook(self, event) -> str:
        return webhooks.handle(self, event)


def _declined_intent(exc: FatalError) -> dict[str, Any] | None:
    """A 402 card error carries the PaymentIntent it left behind: the gateway answered, nothing charged."""
    response = getattr(exc, "response", None)
    if exc.status_code != 402 or response is None:
        return None
    try:
        intent = (response.json().get("error") or {}).get("payment_intent")
    except ValueError:
        return None
    return intent if isinstance(intent, dict) and intent.get("id") else None


"""The Square connector: ``POST v2/payments`` and ``POST v2/refunds`` over the REST API (Bearer token,
``Square-Version``, an ``idempotency_key`` in every create), and webhooks through the hub's receiver.

Square charges a payment token (``source_id``) made in the payer's browser by its Web Payments SDK:
the merchant page sends it as ``payment_method``. Without one there is nothing to charge.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from connectors.base import Connector, InboundRequest, WebhookDelivery
from connectors.errors import ConfigError, FatalError, TransientError
from connectors.gateway import GatewayUnreachable, PaymentGateway, PaymentState, PaymentTransaction, ledger
from connectors.transport import surely_not_sent
from integrations.models import Integration

from . import webhooks
from .schemas import SquareConfig, SquareCredentials

SQUARE_VERSION = "2025-01-23"
BASE_URLS = {"production": "https://connect.squareup.com", "sandbox": "https://connect.squareupsandbox.com"}
IDEMPOTENCY_KEY_MAX = 45  # Square's limit for CreatePayment
REFERENCE_MAX = 40  # reference_id



class SquareConnector(PaymentGateway, Connector):
    provider = "square"
    display_name = "Square"
    integration_type = "payment_gateway"
    default_base_url = BASE_URLS["production"]
    credentials_serializer = SquareCredentials
    config_serializer = SquareConfig
    secret_fields = ("access_token",)
    test_currency = "USD"
    requires_payment_method = True

    @property
    def base_url(self) -> str:
        environment = (self.integration.config or {}).get("environment", "production")
        return (self.integration.base_url or BASE_URLS.get(environment, self.default_base_url)).rstrip("/")

    @classmethod
    def is_test_mode(cls, integration: Integration) -> bool:
        return (integration.config or {}).get("environment") == "sandbox"

    def test_options(self) -> dict[str, Any]:
        return {"payment_method": "cnon:card-nonce-ok"}  # Square Sandbox's test token that succeeds

    @classmethod
    def notification_url(cls, integration: Integration) -> str:
        """The URL Square signs with each notification: as registered in the subscription."""
        return (integration.config or {}).get("notification_url") or cls.callback_url(integration)

    # --- REST -------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        token = (self.integration.credentials or {}).get("access_token")
        if not token:
            raise ConfigError("access_token is required")
        return {"Authorization": f"Bearer {token}", "Square-Version": SQUARE_VERSION}

    def _location(self) -> str:
        location = (self.integration.config or {}).get("location_id")
        if not location:
            raise ConfigError("config.location_id is required")
        return str(location)

    def call(self, method: str, path: str, *, action: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        # Every POST carries an idempotency_key: Square answers a repeat with the first result, so a
        # POST is retried like a GET.
        return self.http.request(method, path, action=action, json=json, auth=False, idempotent=True,
                                 headers=self._headers()).json()

    def test_connection(self) -> str:
        location = self.call("GET", f"v2/locations/{self._location()}", action="square.locations.get")["location"]
        mode = "sandbox" if self.is_test_mode(self.integration) else "production"
        return f"Connected to Square ({mode}), location {location.get('name') or location.get('id')}."

    def fetch_payment(self, payment_id: str) -> dict[str, Any]:
        return self.call("GET", f"v2/payments/{payment_id}", action="square.payments.get")["payment"]

    # --- payments -----------------------------------------------------------------------------------
    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        source_id = options.get("payment_method")
        if not source_id:
            raise ConfigError("Square charges a payment token: send the Web Payments SDK's token as payment_method")
        config = self.integration.config or {}
        body = {"idempotency_key": f"hub-payment-{tx.pk}"[:IDEMPOTENCY_KEY_MAX], "source_id": source_id,
                "amount_money": {"amount": tx.amount, "currency": tx.currency.upper()},
                "location_id": self._location(), "autocomplete": bool(config.get("autocomplete", True)),
                "reference_id": (tx.reference or f"hub-{tx.pk}")[:REFERENCE_MAX]}
        if tx.description:
            body["note"] = tx.description[:500]
        try:
            payment = self.call("POST", "v2/payments", action="square.payments.create", json=body)["payment"]
        except TransientError as exc:
            if surely_not_sent(self.http.last_transport_error):
                raise GatewayUnreachable(exc.message) from exc
            raise
        except FatalError as exc:
            declined = _declined(exc)
            if declined is None:
                raise
            with transaction.atomic():
                locked = ledger().transactions().select_for_update().get(pk=tx.pk)
                ledger().transition(locked, PaymentState.FAILED, source="square.api", gateway_state="FAILED",
                                    reason=declined, raw={"errors": exc.message})
            return {"status": "FAILED", "error": declined}
        webhooks.apply_payment(self, tx.pk, payment, source="square.api")
        return {"payment_id": payment["id"], "status": payment.get("status"),
                "receipt_url": payment.get("receipt_url")}

    def refund_payment(self, tx: PaymentTransaction, amount: int) -> dict[str, Any]:
        if not tx.gateway_transaction_id:
            raise ConfigError("this payment has no Square payment id")
        body = {"idempotency_key": f"hub-refund-{tx.pk}-{tx.refunded_amount}-{amount}"[:IDEMPOTENCY_KEY_MAX],
                "payment_id": tx.gateway_transaction_id, "amount_money": {"amount": amount, "currency": tx.currency},
                "reason": "Refund via Integration Hub"}
        refund = self.call("POST", "v2/refunds", action="square.refunds.create", json=body)["refund"]
        if refund.get("status") == "COMPLETED":
            webhooks.apply_refunded_total(self, tx.pk, refund, source="square.api")
        # PENDING (Square's usual first answer): refund.updated says when it completes.
        return refund

    # --- webhooks --------------------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        return webhooks.verify(request, secret, self.notification_url(self.integration))

    def handle_webhook(self, event) -> str:
        return webhooks.handle(self, event)


def _declined(exc: FatalError) -> str | None:
    """A card the issuer declined answers ``errors`` with category PAYMENT_METHOD_ERROR: nothing charged."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return None
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and error.get("category") == "PAYMENT_METHOD_ERROR":
            return str(error.get("code") or "declined")
    return None

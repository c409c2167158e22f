"""What a payment gateway's connector adds to the connector contract (mixed into its Connector)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from integrations.models import Integration

    from .models import PaymentTransaction


class GatewayUnreachable(TransientError):
    """The gateway surely never saw the request (connection refused, DNS failure): another gateway
    may be tried. Any other failure of a create call may have reached it and must not fail over."""


class PaymentGateway:
    """Mixin for gateway connectors. ``start_payment`` runs outside any database transaction."""

    requires_reference = False  # the gateway pays an account/order reference (Payme, Click)
    test_currency = "UZS"

    def check_payment(self, *, reference: str, amount: int, currency: str) -> str | None:
        """Why this gateway cannot take such a payment (the API answers 400), or None."""
        return None

    def test_options(self) -> dict[str, Any]:
        """Options that make a test-mode payment go through (e.g. a test card)."""
        return {}

    # Payme and Click call us (the payment starts when the payer opens the checkout); Stripe is called.
    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        """Open the payment at the gateway, or build its checkout link; return what the payer needs.

        May update ``tx`` through ``payments.services`` (e.g. a PaymentIntent id). Raise
        GatewayUnreachable when the gateway surely was not reached.
        """
        raise NotImplementedError

    def refund_payment(self, tx: PaymentTransaction, amount: int) -> dict[str, Any]:
        raise ConfigError(f"{getattr(self, 'display_name', 'this gateway')} refunds are made by the gateway "
                          "(its merchant cabinet), which then tells us through its callback")

    @classmethod
    def is_test_mode(cls, integration: Integration) -> bool:
        return bool((integration.config or {}).get("test_mode"))

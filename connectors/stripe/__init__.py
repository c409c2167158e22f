"""Stripe: PaymentIntents and refunds (with idempotency keys), signed webhooks, and our own sandbox."""

from connectors.registry import register

from .client import StripeConnector

register(StripeConnector)

__all__ = ["StripeConnector"]

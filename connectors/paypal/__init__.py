"""PayPal: Orders v2 (create, approve link, capture), refunds, OAuth2 tokens, signed webhooks."""

from connectors.registry import register

from .client import PayPalConnector

register(PayPalConnector)

__all__ = ["PayPalConnector"]

"""Square: Payments and Refunds (idempotency keys), signed webhooks, and our own sandbox."""

from connectors.registry import register

from .client import SquareConnector

register(SquareConnector)

__all__ = ["SquareConnector"]

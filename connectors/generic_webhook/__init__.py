"""Generic webhook receiver (provider ``webhook``): any sender that signs with a common HMAC scheme.

The connector is in ``client.py``, its config in ``schemas.py``, verification in ``webhooks.py``.
"""

from connectors.registry import register

from .client import WebhookConnector

register(WebhookConnector)

__all__ = ["WebhookConnector"]

"""Vonage (Nexmo) SMS API: ``POST /sms/json`` with ``api_key``, ``api_secret``, ``from``, ``to``, ``text``.

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import VonageConnector

register(VonageConnector)

__all__ = ["VonageConnector"]

"""SendGrid (v3 Mail Send) through django-anymail; a backup e-mail provider.

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import SendGridConnector

register(SendGridConnector)

__all__ = ["SendGridConnector"]

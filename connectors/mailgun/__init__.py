"""Mailgun (messages API) through django-anymail; a backup e-mail provider.

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import MailgunConnector

register(MailgunConnector)

__all__ = ["MailgunConnector"]

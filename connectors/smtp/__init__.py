"""SMTP: the primary e-mail provider (any SMTP server, e.g. the organization's own relay).

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import SmtpConnector

register(SmtpConnector)

__all__ = ["SmtpConnector"]

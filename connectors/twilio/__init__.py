"""Twilio Programmable Messaging: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``.

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import TwilioConnector

register(TwilioConnector)

__all__ = ["TwilioConnector"]

"""AWS SNS SMS: the Query API's ``Publish`` with ``PhoneNumber`` (no topic), signed with SigV4.

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import SnsConnector

register(SnsConnector)

__all__ = ["SnsConnector"]

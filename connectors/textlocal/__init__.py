"""TextLocal: ``POST /send/`` with ``apikey``, ``numbers``, ``message``, ``sender``.

The connector (the sender) is in ``sender.py``, its credentials and config in ``schemas.py``.
"""

from connectors.registry import register

from .sender import TextLocalConnector

register(TextLocalConnector)

__all__ = ["TextLocalConnector"]

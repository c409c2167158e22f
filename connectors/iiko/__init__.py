"""iiko (iikoServer "resto" API): restaurants, stores, suppliers, products and purchase invoices.

The sandbox (``sandbox.py``, under /sandbox/iiko/) is a faithful iikoServer: SHA-1 password login,
licence seats, XML answers with iiko's element names, revisions, invoices by date and faults.
"""

from connectors.registry import register

from .client import IikoConnector

register(IikoConnector)

__all__ = ["IikoConnector"]

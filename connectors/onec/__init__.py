"""1C:Enterprise (provider code ``1c``): the standard OData interface of a published infobase.

The sandbox (``sandboxes/onec/``, under /sandbox/1c/) is a faithful published УТ 11 infobase:
Cyrillic entity and property names, GUID keys, Basic auth with a Cyrillic user, $top/$skip paging,
virtual tables of registers, ``odata.error`` faults.
"""

from connectors.registry import register

from .client import OneCConnector

register(OneCConnector)

__all__ = ["OneCConnector"]

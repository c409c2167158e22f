"""Generic REST: any JSON API, configured in the console and the API (auth, streams, field mappings).

Its sandbox (``sandboxes/rest``, served under /sandbox/rest/) is a JSON API with a resource in each
pagination style, every auth type, an ``updated_since`` filter and injectable faults.
"""

from connectors.registry import register

from .client import RestConnector

register(RestConnector)

__all__ = ["RestConnector"]

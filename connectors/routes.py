"""Routes a connector package adds at the site root (``connectors/<pkg>/urls.py``, ``urlpatterns``).

For provider-specific endpoints that are not the generic API: protocol endpoints a provider calls
(e.g. a synchronous payment callback) and compatibility aliases for REST clients built against an
older route layout. Mounted by config/urls.py before the generic routes; adding a provider's routes
touches only its own folder.
"""

from __future__ import annotations

from .registry import connector_modules

urlpatterns: list = []
for _module in connector_modules("urls"):
    urlpatterns += _module.urlpatterns

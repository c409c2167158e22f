"""A provider's seed routes as data: aliases of the generic API that the surface serves.

Some providers' first clients were built against their own route layout (KiotViet's
``/api/integrations/kiotviet/...``, iiko's ``/api/v1/accounts/{id}/integrations/iiko/...``). A
provider package describes those routes in its ``aliases.py`` (``ALIASES``, an :class:`AliasMap`)
and nothing else: the views are the generic ones in ``integrations_api/aliases.py``, with the same
authentication, roles, organization scoping, error envelope and ``?wait=`` handling as ``/api/v1/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The generic views an alias can stand for (integrations_api/aliases.py serves each).
View = Literal[
    "config",  # GET / POST (create) / PUT (partial update) / DELETE the organization's integration
    "sync-config",  # PUT the schedule and field mapping only
    "sync",  # POST: queue a sync of the integration (body: streams, full)
    "sync-all",  # POST: queue a sync of every active integration of the provider
    "test-connection",  # GET: queue the connection test, wait for its outcome
    "task",  # queue one of the provider's own Celery tasks, wait for the log line it writes
    "webhook",  # the webhook receiver, the integration's key taken from a query parameter
    "connect",  # POST: create or update the integration from the seed's fields, then test it
    "status",  # GET: the connection and each entity's latest sync
    "sync-entity",  # POST: queue a sync of one entity type (``entity_streams``), wait for its result
    "logs",  # GET: the integration's request logs (the generic listing)
    "records",  # GET: the integration's synced records of one type (the generic listing)
]


@dataclass(frozen=True)
class Alias:
    route: str  # Django path syntax, under the map's prefix (or from the site root when ``absolute``)
    view: View
    name: str  # URL name
    options: dict[str, Any] = field(default_factory=dict)  # what the generic view needs (see each view)
    absolute: bool = False


@dataclass(frozen=True)
class AliasMap:
    provider: str
    prefix: str  # e.g. "api/integrations/kiotviet"
    routes: tuple[Alias, ...]
    # How the path names the organization: "organization_id" (404 "No such organization.") or
    # "account_id" (chosen as X-Organization would be, 404 "No such account.").
    organization_kwarg: str = "organization_id"
    # The query parameter that picks one of several integrations of the provider (default: the oldest).
    code_param: str = "code"
    not_found: str = "This organization has no integration of this provider."
    # Values a "config" POST starts from (the request's own values win; ``provider`` is forced).
    create_defaults: dict[str, Any] = field(default_factory=dict)
    # Seed entity types -> our streams, synced in this order (``sync-entity`` and ``status``).
    entity_streams: dict[str, tuple[str, ...]] = field(default_factory=dict)

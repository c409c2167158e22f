"""The seed's KiotViet routes (``/api/integrations/kiotviet/...``), as aliases of the generic API.

``<organization_id>`` is the organization's id or slug; it must be one the caller belongs to (an
API key: its own organization), else 404. Without it, the organization is resolved as for /api/v1/.
``?code=`` picks one of several KiotViet integrations (default: the oldest). Every provider call is
queued; the view waits up to ``?wait=`` seconds for an outcome, as /api/v1/ does.

``/api/webhooks/kiotviet?token=<integration webhook_key>``: KiotViet's payload names no retailer, so
the URL the hub registers carries the integration's key; the delivery then takes exactly the core
receiver's path.
"""

from __future__ import annotations

from connectors.aliases import Alias, AliasMap

from . import tasks
from .client import KiotVietConnector

ORG = "<str:organization_id>"
ALIASES = AliasMap(
    provider=KiotVietConnector.provider,
    prefix="api/integrations/kiotviet",
    not_found="This organization has no KiotViet integration.",
    # KiotViet's schedule when a client creates the integration here: on, at the hub's default interval.
    create_defaults={"name": "KiotViet", "code": KiotVietConnector.provider,
                     "type": KiotVietConnector.integration_type, "auto_sync_enabled": True},
    routes=(
        Alias("api/webhooks/kiotviet", "webhook", "kiotviet-webhook", {"query_param": "token"}, absolute=True),
        Alias("config", "config", "kiotviet-config"),
        Alias(f"config/{ORG}", "config", "kiotviet-config-org"),
        Alias("sync/all", "sync-all", "kiotviet-sync-all"),
        Alias(f"sync/from-kiotviet/{ORG}", "sync", "kiotviet-sync"),
        Alias(f"sync/product-to-kiotviet/{ORG}/<int:product_id>", "task", "kiotviet-push-product", {
            "task": tasks.push_product, "result_action": tasks.PUSH_RESULT, "args": ("product_id",),
            "methods": {"POST": {}}, "roles": {"POST": "manager"},
            "exists": ("records.Product", "product_id", "No such product."), "echo": {"product": "product_id"},
        }),
        Alias(f"sync/config/{ORG}", "sync-config", "kiotviet-sync-config"),
        Alias(f"test-connection/{ORG}", "test-connection", "kiotviet-test-connection"),
        # POST registers this integration's hooks at KiotViet (replacing old ones); DELETE removes them.
        Alias(f"webhooks/{ORG}", "task", "kiotviet-webhooks", {
            "task": tasks.manage_webhooks, "result_action": tasks.WEBHOOKS_RESULT,
            "methods": {"POST": {"register": True}, "DELETE": {"register": False}},
            "roles": {"POST": "admin", "DELETE": "admin"}, "echo_callback_url": True,
        }),
    ),
)

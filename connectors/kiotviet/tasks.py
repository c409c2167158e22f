"""Celery tasks behind the KiotViet routes: provider calls happen in a worker, never in a web request.

Each task records its outcome as one IntegrationLog row (``action``: ``kiotviet.push.result`` /
``kiotviet.webhooks.result``), which the API shows and the caller can poll.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from celery import shared_task

from connectors.errors import ConnectorError
from connectors.registry import get_connector_class
from integrations.models import Direction, Integration, IntegrationLog
from integrations.redaction import redact_text
from records.models import Product

log = logging.getLogger(__name__)

PUSH_RESULT = "kiotviet.push.result"
WEBHOOKS_RESULT = "kiotviet.webhooks.result"


def _record(integration, action: str, ok: bool, message: str, details: Any = None) -> dict[str, Any]:
    secrets = tuple(v for v in (integration.credentials or {}).values() if isinstance(v, str) and len(v) >= 4)
    message = redact_text(message, secrets)[:2000]
    IntegrationLog.objects.create(
        organization_id=integration.organization_id, integration=integration, action=action,
        direction=Direction.INTERNAL, level="info" if ok else "error",
        response_excerpt=message if ok else "",
        request_excerpt=json.dumps(details, default=str) if details is not None else "",
        error_message="" if ok else message,
    )
    return {"ok": ok, "message": message, **({"details": details} if details is not None else {})}


def push_product_now(integration, product) -> dict[str, Any]:
    """Push one of our products; on a create, bind a hub-native product to the new KiotViet id."""
    connector = get_connector_class(integration.provider)(integration)
    try:
        external_id = connector.push("products", product)
    except ConnectorError as exc:
        return _record(integration, PUSH_RESULT, False, f"product {product.pk}: {exc.kind}: {exc.message}")
    if product.integration_id is None:
        # A product created in the hub: from now on it is KiotViet's product, updated by syncs.
        Product.objects.filter(pk=product.pk, integration__isnull=True).update(integration=integration,
                                                                              external_id=external_id)
    return _record(integration, PUSH_RESULT, True, f"product {product.pk} saved as KiotViet product {external_id}",
                   {"product": product.pk, "kiotviet_id": external_id})


@shared_task(name="connectors.kiotviet.push_product")
def push_product(integration_id: int, product_id: int) -> dict[str, Any] | None:
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return None
    product = Product.objects.filter(pk=product_id, organization_id=integration.organization_id).first()
    if product is None:
        return _record(integration, PUSH_RESULT, False, f"product {product_id} does not exist")
    return push_product_now(integration, product)


@shared_task(name="connectors.kiotviet.webhooks")
def manage_webhooks(integration_id: int, register: bool = True) -> dict[str, Any] | None:
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return None
    connector = get_connector_class(integration.provider)(integration)
    try:
        if register:
            hooks = connector.register_webhooks()
            return _record(integration, WEBHOOKS_RESULT, True, f"{len(hooks)} webhook(s) registered",
                           [{"id": h.get("id"), "type": h.get("type")} for h in hooks])
        removed = connector.unregister_webhooks()
        return _record(integration, WEBHOOKS_RESULT, True, f"{len(removed)} webhook(s) removed", removed)
    except ConnectorError as exc:
        return _record(integration, WEBHOOKS_RESULT, False, f"{exc.kind}: {exc.message}")


# pytest would collect these as tests when a test module imports them by name.
push_product.__test__ = False

"""Demo Store webhooks: Standard Webhooks signatures; events re-read the entity from the API.

No ordering is promised, so an event only says *which* record changed: the handler reads the
record's current state from the API and returns it as a ``WebhookOutcome`` (a 404: it is gone, to
soft-delete), which the webhooks app writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connectors.base import InboundRequest, WebhookDelivery, WebhookOutcome
from connectors.errors import FatalError, IgnoredEvent, RejectedPayload, SignatureError
from connectors.signatures import split_secrets, verify_standard_webhooks
from integrations.jsonlimits import JSONTooDeep, loads

from . import mappers

if TYPE_CHECKING:
    from connectors.base import StoredEvent

    from .client import DemoConnector


def verify(request: InboundRequest, secret: str) -> WebhookDelivery:
    secrets = split_secrets(secret)
    if not secrets:
        raise SignatureError("no webhook secret is configured for this integration")
    event_id = verify_standard_webhooks(request.headers, request.body, secrets)
    try:
        payload = loads(request.body)
    except JSONTooDeep as exc:
        raise RejectedPayload(str(exc)) from None
    except ValueError:
        raise RejectedPayload("the body is not JSON") from None
    if not (isinstance(payload, dict) and isinstance(payload.get("type"), str)
            and isinstance(payload.get("data"), dict) and "id" in payload["data"]):
        raise RejectedPayload("not a Demo Store event (needs type and data.id)")
    return WebhookDelivery(event_id=event_id, event_type=payload["type"])


def _product(connector: DemoConnector, data: dict[str, Any]) -> WebhookOutcome:
    rid = data["id"]
    out = WebhookOutcome()
    try:
        raw = connector.http.get_json(f"api/products/{rid}", action="demo.products.get",
                                      params={"price_list": connector.price_list})
    except FatalError as exc:
        if exc.status_code != 404:
            raise
        out.note(f"product {rid} is gone at the source")
        out.delete("records.Product", [str(rid)])
        return out
    out.upsert("records.Product", [mappers.product(raw)])
    return out


def _stock(connector: DemoConnector, data: dict[str, Any]) -> WebhookOutcome:
    body = connector.http.get_json("api/stock", action="demo.stock.get", params={"product_id": data["id"]})
    out = WebhookOutcome()
    out.upsert("records.StockLevel", [mappers.stock_level(r) for r in body["data"]])
    return out


# product.deleted re-reads too: the current state decides, whatever order events arrive in.
HANDLERS: dict[str, Callable[[DemoConnector, dict[str, Any]], WebhookOutcome]] = {
    "product.updated": _product,
    "product.deleted": _product,
    "stock.updated": _stock,
}


def handle(connector: DemoConnector, event: StoredEvent) -> WebhookOutcome:
    try:
        payload = loads(bytes(event.body))
        event_type, data = payload["type"], payload["data"]
    except (ValueError, KeyError, TypeError):
        raise IgnoredEvent("not a Demo Store event") from None
    handler = HANDLERS.get(event_type)
    if handler is None:
        raise IgnoredEvent(f"{event_type} is not handled")
    return handler(connector, data)

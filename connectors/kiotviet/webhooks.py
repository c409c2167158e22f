"""KiotViet webhooks: the ``X-Hub-Signature`` check (``connectors.signatures.HUB_SIGNATURE``, tolerant of
what KiotViet's documentation leaves open); events re-read the entity from the API. The payload is PascalCase:
``{"Id", "Attempt", "Notifications": [{"Action": "product.update.<n>", "Data": [...]}]}``.

No ordering is promised, so an event only says *which* records changed: the handler reads their
current state from the REST API and returns it as a ``WebhookOutcome`` (a 404: the record is gone, to
soft-delete), which the webhooks app writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connectors.base import InboundRequest, WebhookDelivery, WebhookOutcome
from connectors.errors import FatalError, IgnoredEvent, RejectedPayload
from connectors.signatures import HUB_SIGNATURE, split_secrets
from integrations.jsonlimits import JSONTooDeep, loads

from . import mappers
from .relations import stale_relations

if TYPE_CHECKING:
    from connectors.base import StoredEvent

    from .client import KiotVietConnector


def verify(request: InboundRequest, secret: str) -> WebhookDelivery:
    HUB_SIGNATURE.verify(request.headers, request.body, split_secrets(secret))
    try:
        payload = loads(request.body)
    except JSONTooDeep as exc:
        raise RejectedPayload(str(exc)) from None
    except ValueError:
        raise RejectedPayload("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise RejectedPayload("the body is not a JSON object")
    return WebhookDelivery(event_id=str(payload.get("Id") or "")[:255], event_type=event_type(payload))


def event_type(payload: dict[str, Any]) -> str:
    """``product.update`` from the first notification's Action (``product.update.<n>``)."""
    notes = payload.get("Notifications")
    if isinstance(notes, list) and notes and isinstance(notes[0], dict):
        return ".".join(str(notes[0].get("Action") or "").lower().split(".")[:2])
    return ""


def _ids(data: Any) -> list[str]:
    """Ids from a notification's Data: objects with Id/ProductId, bare ids, or {"RemoveId": [...]}."""
    items = data.get("RemoveId") or [] if isinstance(data, dict) else data or []
    out = []
    for item in items if isinstance(items, list) else [items]:
        rid = item.get("ProductId", item.get("Id")) if isinstance(item, dict) else item
        if isinstance(rid, int | str) and str(rid).isdigit():
            out.append(str(rid))
    return list(dict.fromkeys(out))


def _read(connector: KiotVietConnector, path: str, action: str) -> dict[str, Any] | None:
    try:
        body = connector.get(path, action=action)
    except FatalError as exc:
        if exc.status_code != 404:
            raise
        return None
    return body if isinstance(body, dict) else None


def _products(connector: KiotVietConnector, ids: list[str], out: WebhookOutcome) -> None:
    for rid in ids:
        raw = _read(connector, f"products/{rid}", "kiotviet.products.get")
        if raw is None:
            out.note(f"product {rid} is gone at KiotViet")
            out.delete("records.Product", [rid])
            continue
        raw[mappers.MAPPING_KEY] = {k: connector.config.get(k)
                                    for k in ("price_book_id", "brand_attribute", "default_category")}
        raw.pop("inventories", None)  # stock has its own stream and events
        relations = mappers.product_relations(raw)
        out.upsert("records.Product", [mappers.product(raw)])
        out.upsert("records.ProductRelation", relations)
        # Relations the product no longer lists (a removed attribute, price-book price, unit...).
        out.delete("records.ProductRelation", stale_relations(connector.integration, rid, relations))


def _stock(connector: KiotVietConnector, ids: list[str], out: WebhookOutcome) -> None:
    default_location = connector.config.get("default_location")
    levels = {}
    for rid in ids:
        raw = _read(connector, f"products/{rid}", "kiotviet.products.get")
        if raw is None:
            out.note(f"stock of product {rid}: the product is gone")
        else:
            item = {**raw, "inventories": raw.get("inventories") or []}  # a service product lists none
            levels[rid] = [mappers.stock_level(inv) for inv in mappers.inventory_items(item, default_location)]
    # One look at the branches for the whole event; their locations are written before the stock.
    opened = connector.new_branches({row.refs["location"] for rows in levels.values() for row in rows},
                                    "kiotviet.branches.list")
    if opened:
        out.note(f"{len(opened)} new branch(es) created")
        out.upsert("records.Location", opened)
    for rows in levels.values():
        out.upsert("records.StockLevel", rows)


def _simple(path: str, model: str, mapper: Callable[[dict[str, Any]], Any]) -> Callable[..., None]:
    def handle(connector: KiotVietConnector, ids: list[str], out: WebhookOutcome) -> None:
        for rid in ids:
            raw = _read(connector, f"{path}/{rid}", f"kiotviet.{path}.get")
            if raw is None:
                out.note(f"{path} {rid} is gone at KiotViet")
                out.delete(model, [rid])
            else:
                out.upsert(model, [mapper(raw)])

    return handle


# Deletes re-read too: the current state decides, whatever order events arrive in.
HANDLERS: dict[str, Callable[[KiotVietConnector, list[str], WebhookOutcome], None]] = {
    "product.update": _products,
    "product.delete": _products,
    "stock.update": _stock,
    "customer.update": _simple("customers", "records.Customer", mappers.customer),
    "customer.delete": _simple("customers", "records.Customer", mappers.customer),
    "category.update": _simple("categories", "records.Category", mappers.category),
    "category.delete": _simple("categories", "records.Category", mappers.category),
    "branch.update": _simple("branches", "records.Location", mappers.branch),
    "branch.delete": _simple("branches", "records.Location", mappers.branch),
}


def handle(connector: KiotVietConnector, event: StoredEvent) -> WebhookOutcome:
    """The records the event's notifications name, as the API has them now (the webhooks app writes them)."""
    try:
        payload = loads(bytes(event.body))
        notifications = payload["Notifications"]
    except (ValueError, KeyError, TypeError):
        notifications = None
    if not isinstance(notifications, list):
        raise IgnoredEvent("not a KiotViet notification (no Notifications list)")
    out = WebhookOutcome()
    for note in notifications:
        if not isinstance(note, dict):
            continue
        kind = ".".join(str(note.get("Action") or "").lower().split(".")[:2])
        handler = HANDLERS.get(kind)
        if handler is None:
            out.note(f"{kind or 'an event'} is not handled")
            continue
        ids = _ids(note.get("Data"))
        if ids:
            handler(connector, ids, out)
        else:
            out.note(f"{kind}: no ids in Data")
    if not any(HANDLERS.get(".".join(str(n.get("Action") or "").lower().split(".")[:2]))
               for n in notifications if isinstance(n, dict)):
        raise IgnoredEvent("; ".join(out.summary) or "no notifications")
    return out

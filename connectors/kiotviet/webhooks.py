"""KiotViet webhooks: the ``X-Hub-Signature`` check (``connectors.signatures.HUB_SIGNATURE``, tolerant of
what KiotViet's documentation leaves open); events re-read the entity from the API. The payload is PascalCase:
``{"Id", "Attempt", "Notifications": [{"Action": "product.update.<n>", "Data": [...]}]}``.

No ordering is promised, so an event only says *which* records changed: the handler reads their
current state from the REST API and writes that (a 404 means the record is gone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connectors.base import InboundRequest, WebhookDelivery
from connectors.errors import FatalError, IgnoredEvent, RejectedPayload
from connectors.signatures import HUB_SIGNATURE, split_secrets
from integrations.jsonlimits import JSONTooDeep, loads
from records.upsert import mark_deleted, upsert_rows

from . import mappers
from .relations import drop_stale_relations

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


def _upsert(connector: KiotVietConnector, model: str, rows: list) -> str:
    result = upsert_rows(connector.integration, model, rows)
    if result.failed:
        raise FatalError(f"{model}: {result.errors[0]['external_id']}: {result.errors[0]['error']}")
    return f"{result.created} created, {result.updated} updated, {result.skipped} unchanged"


def _products(connector: KiotVietConnector, ids: list[str]) -> str:
    outcomes = []
    for rid in ids:
        raw = _read(connector, f"products/{rid}", "kiotviet.products.get")
        if raw is None:
            gone = mark_deleted(connector.integration, "records.Product", [rid])
            outcomes.append(f"product {rid} is gone at KiotViet: {gone} marked deleted")
            continue
        raw[mappers.MAPPING_KEY] = {k: connector.config.get(k)
                                    for k in ("price_book_id", "brand_attribute", "default_category")}
        raw.pop("inventories", None)  # stock has its own stream and events
        outcomes.append(f"product {rid}: {_upsert(connector, 'records.Product', [mappers.product(raw)])}; relations "
                        f"{_upsert(connector, 'records.ProductRelation', mappers.product_relations(raw))}, "
                        f"{drop_stale_relations(connector.integration, [rid])} dropped")
    return "; ".join(outcomes)


def _stock(connector: KiotVietConnector, ids: list[str]) -> str:
    default_location = connector.config.get("default_location")
    outcomes, levels = [], {}
    for rid in ids:
        raw = _read(connector, f"products/{rid}", "kiotviet.products.get")
        if raw is None:
            outcomes.append(f"stock of product {rid}: the product is gone")
        else:
            item = {**raw, "inventories": raw.get("inventories") or []}  # a service product lists none
            levels[rid] = [mappers.stock_level(inv) for inv in mappers.inventory_items(item, default_location)]
    # One look at the branches for the whole event.
    opened = connector.ensure_branches({row.refs["location"] for rows in levels.values() for row in rows},
                                       "kiotviet.branches.list")
    if opened:
        outcomes.append(f"{opened} new branch(es) created")
    outcomes += [f"stock of product {rid}: {_upsert(connector, 'records.StockLevel', rows)}"
                 for rid, rows in levels.items()]
    return "; ".join(outcomes)


def _simple(path: str, model: str, mapper: Callable[[dict[str, Any]], Any]) -> Callable[..., str]:
    def handle(connector: KiotVietConnector, ids: list[str]) -> str:
        outcomes = []
        for rid in ids:
            raw = _read(connector, f"{path}/{rid}", f"kiotviet.{path}.get")
            if raw is None:
                outcomes.append(f"{path} {rid}: {mark_deleted(connector.integration, model, [rid])} marked deleted")
            else:
                outcomes.append(f"{path} {rid}: {_upsert(connector, model, [mapper(raw)])}")
        return "; ".join(outcomes)

    return handle


# Deletes re-read too: the current state decides, whatever order events arrive in.
HANDLERS: dict[str, Callable[[KiotVietConnector, list[str]], str]] = {
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


def handle(connector: KiotVietConnector, event: StoredEvent) -> str:
    try:
        payload = loads(bytes(event.body))
        notifications = payload["Notifications"]
    except (ValueError, KeyError, TypeError):
        notifications = None
    if not isinstance(notifications, list):
        raise IgnoredEvent("not a KiotViet notification (no Notifications list)")
    outcomes = []
    for note in notifications:
        if not isinstance(note, dict):
            continue
        kind = ".".join(str(note.get("Action") or "").lower().split(".")[:2])
        handler = HANDLERS.get(kind)
        if handler is None:
            outcomes.append(f"{kind or 'an event'} is not handled")
            continue
        ids = _ids(note.get("Data"))
        outcomes.append(handler(connector, ids) if ids else f"{kind}: no ids in Data")
    if not any(HANDLERS.get(".".join(str(n.get("Action") or "").lower().split(".")[:2]))
               for n in notifications if isinstance(n, dict)):
        raise IgnoredEvent("; ".join(outcomes) or "no notifications")
    return "; ".join(outcomes)[:2000]

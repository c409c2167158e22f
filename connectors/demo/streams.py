"""The Demo Store's streams: paginated reads with an (updated_since, last_id) cursor.

Every read passes ``updated_since`` (the Unix epoch for a full read), so the API returns records in
(modified_at, id) order: the cursor of the last record of a page is an exact resume point, and a
checkpointed run that dies halfway resumes without loss. ``updated_since`` is inclusive, so the
records at exactly the cursor's time with an id up to ``last_id`` are dropped as already seen.
Deletions come from ``api/deleted`` (removed ids), with their own (deleted_since, deleted_last_id)
cursor in the same dict, so each deletion is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.utils.dateparse import parse_datetime

from connectors.base import Page, RecordRow, Stream, SyncContext
from connectors.errors import FatalError, MappingError

from . import mappers

EPOCH = "1970-01-01T00:00:00Z"


def _position(record: dict[str, Any]) -> tuple[Any, int]:
    return parse_datetime(record["modified_at"]), int(record["id"])


class DemoStream(Stream):
    delete_strategy = "removed_ids"

    def __init__(self, name: str, model: str, entity: str, mapper: Callable[[dict[str, Any]], RecordRow],
                 depends_on: tuple[str, ...] = (), extra: dict[str, Callable[[dict], list[RecordRow]]] | None = None):
        self.name = name
        self.model = model
        self.entity = entity  # the API's path and deleted-ids entity name
        self.mapper = mapper
        self.depends_on = depends_on
        self.extra = extra or {}

    def map(self, raw: dict[str, Any]) -> RecordRow:
        return self.mapper(raw)

    def params(self, ctx: SyncContext) -> dict[str, Any]:
        return {}

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        start = {} if full or not cursor else cursor
        since = start.get("updated_since") or EPOCH
        seen = (parse_datetime(since), int(start["last_id"])) if start.get("last_id") is not None else None
        position = {"updated_since": since, "last_id": start.get("last_id"),
                    "deleted_since": start.get("deleted_since") or since,
                    "deleted_last_id": start.get("deleted_last_id")}
        params: dict[str, Any] = {"page_size": ctx.config.get("page_size", 100), "updated_since": since,
                                  **self.params(ctx)}
        action = f"demo.{self.name}.list"
        while True:
            body = ctx.http.get_json(f"api/{self.entity}", action=action, params=params)
            try:
                records = [r for r in body["data"] if seen is None or _position(r) > seen]
            except (KeyError, TypeError, ValueError) as exc:
                raise FatalError(f"unexpected {self.entity} page: {exc!r}") from None
            if body["data"]:
                last = body["data"][-1]
                position.update(updated_since=last["modified_at"], last_id=int(last["id"]))
            if records:
                yield Page(records=records, cursor=dict(position), extra=self._extra(records))
            if not body.get("next_cursor"):
                break
            params = {"page_size": params["page_size"], "cursor": body["next_cursor"]}
        deleted = self.deleted_ids(ctx, position)
        if deleted:
            yield Page(records=[], cursor=dict(position), deleted_ids=deleted)

    def deleted_ids(self, ctx: SyncContext, position: dict[str, Any]) -> list[str]:
        """Ids removed since the position's own deletions cursor (which it advances)."""
        since, last_id = position["deleted_since"], position["deleted_last_id"]
        seen = (parse_datetime(since), int(last_id)) if last_id is not None else None
        ids: list[str] = []
        params: dict[str, Any] = {"entity": self.entity, "since": since, "page_size": 100}
        while True:
            body = ctx.http.get_json("api/deleted", action=f"demo.{self.name}.deleted", params=params)
            for item in body["data"]:
                if seen is None or (parse_datetime(item["deleted_at"]), int(item["id"])) > seen:
                    ids.append(str(item["id"]))
                position.update(deleted_since=item["deleted_at"], deleted_last_id=int(item["id"]))
            if not body.get("next_cursor"):
                return ids
            params = {**params, "cursor": body["next_cursor"]}

    def _extra(self, records: list[dict[str, Any]]) -> dict[str, list[RecordRow]]:
        extra: dict[str, list[RecordRow]] = {}
        for model, mapper in self.extra.items():
            rows: list[RecordRow] = []
            for raw in records:
                try:
                    rows += mapper(raw)
                except MappingError:
                    continue  # its parent record fails in map() and reports the error
            extra[model] = rows
        return extra


class ProductStream(DemoStream):
    def params(self, ctx: SyncContext) -> dict[str, Any]:
        # The API adds "price" from the asked list: a change of price list changes the payload hash,
        # so the next sync rewrites every product with the new price.
        return {"price_list": ctx.config.get("price_list") or "retail"}


STREAMS: dict[str, Stream] = {
    "locations": DemoStream("locations", "records.Location", "locations", mappers.location),
    "categories": DemoStream("categories", "records.Category", "categories", mappers.category),
    "products": ProductStream("products", "records.Product", "products", mappers.product, ("categories",)),
    "stock-levels": DemoStream("stock-levels", "records.StockLevel", "stock", mappers.stock_level,
                               ("products", "locations")),
    "customers": DemoStream("customers", "records.Customer", "customers", mappers.customer),
    "orders": DemoStream("orders", "records.Order", "orders", mappers.order, ("customers", "locations", "products"),
                         extra={"records.OrderLine": mappers.order_lines}),
}

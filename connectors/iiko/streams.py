"""iiko's streams: revision-based lists and incoming invoices by date window.

Lists (departments, stores, suppliers, product groups, products) are whole documents, not pages:
each is read once with ``revisionFrom`` (objects with a revision strictly greater) and cut into
pages of ``page_size`` for the runner. Objects are written in revision order, and a page's
checkpoint is the highest revision whose objects are all written, so a run that dies halfway
resumes without loss. Objects flagged ``deleted`` become removed ids (soft deletes).

Where objects carry no revision (servers differ; see the README), the cursor stays at -1 and every
run is a full read: upserts skip unchanged rows by their hash, so that costs reads, not writes.

Invoices: ``documents/export/incomingInvoice?from=&to=`` (both inclusive) in windows of
``invoice_window_days``, from the last successful window (less ``invoice_overlap_days``) to today.
The cursor is the first day not yet read for good; today is always read again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connectors.base import Page, RecordRow, Stream, SyncContext
from connectors.errors import MappingError

from . import mappers
from .lines import drop_stale_invoice_lines
from .xmlparse import flag, text

if TYPE_CHECKING:
    from .client import IikoConnector

NO_REVISION = -1


def _revision(raw: dict[str, Any]) -> int | None:
    found = text(raw.get("revision"))
    try:
        return int(found) if found is not None else None
    except ValueError:
        return None


def _deleted(raw: dict[str, Any]) -> bool:
    value = raw.get("deleted")
    return value if isinstance(value, bool) else flag(value)


def _id(raw: dict[str, Any]) -> str | None:
    return text(raw.get("id"))


def revision_pages(items: list[dict[str, Any]], since: int, page_size: int) -> Iterator[Page]:
    """Pages in revision order, each checkpointed at the highest revision fully written so far."""
    ordered = sorted(items, key=lambda r: _revision(r) or NO_REVISION)
    top = max((_revision(r) or NO_REVISION for r in ordered), default=since)
    for start in range(0, len(ordered), page_size):
        chunk = ordered[start:start + page_size]
        following = ordered[start + page_size] if start + page_size < len(ordered) else None
        done = top if following is None else min(_revision(chunk[-1]) or NO_REVISION,
                                                  (_revision(following) or NO_REVISION) - 1)
        deleted = [i for i in (_id(r) for r in chunk if _deleted(r)) if i]
        yield Page(records=[r for r in chunk if not _deleted(r)], deleted_ids=deleted,
                   cursor={"revision": max(done, since)})


class RevisionStream(Stream):
    """A list endpoint read with ``revisionFrom``; ``fetch`` returns its objects."""

    delete_strategy = "removed_ids"

    def __init__(self, name: str, model: str, mapper: Callable[[dict[str, Any]], RecordRow],
                 fetch: Callable[[IikoConnector, int], list[dict[str, Any]]],
                 keep: Callable[[dict[str, Any]], bool] = lambda raw: True, depends_on: tuple[str, ...] = ()):
        self.name = name
        self.model = model
        self.mapper = mapper
        self.fetch = fetch
        self.keep = keep
        self.depends_on = depends_on

    def map(self, raw: dict[str, Any]) -> RecordRow:
        return self.mapper(raw)

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        since = NO_REVISION if full or not cursor else int(cursor.get("revision", NO_REVISION))
        items = [raw for raw in self.fetch(ctx.connector, since) if self.keep(raw)]
        yield from revision_pages(items, since, int(ctx.connector.config["page_size"]))


# --- fetchers -------------------------------------------------------------------------------------
def _corporate(path: str) -> Callable[[IikoConnector, int], list[dict[str, Any]]]:
    def fetch(connector: IikoConnector, since: int) -> list[dict[str, Any]]:
        return connector.get_xml_list(f"corporation/{path}", "corporateItemDtoes", "corporateItemDto",
                                      action=f"iiko.{path}.list", params={"revisionFrom": since})

    return fetch


def _suppliers(connector: IikoConnector, since: int) -> list[dict[str, Any]]:
    return connector.get_xml_list("suppliers", "employees", "employee", action="iiko.suppliers.list",
                                  params={"revisionFrom": since})


def _groups(connector: IikoConnector, since: int) -> list[dict[str, Any]]:
    return connector.get_json_list("v2/entities/products/group/list", action="iiko.product-groups.list",
                                   params={"includeDeleted": "true", "revisionFrom": since})


def _products(connector: IikoConnector, since: int) -> list[dict[str, Any]]:
    units = {u.get("id"): u.get("name") or u.get("code") or "" for u in connector.get_json_list(
        "v2/entities/list", action="iiko.units.list", params={"rootType": "MeasureUnit"})}
    # The POST form variant takes revisionFrom (6.4+).
    products = connector.get_json_list("v2/entities/products/list", action="iiko.products.list",
                                       form={"includeDeleted": "true", "revisionFrom": since})
    for raw in products:
        raw["_mainUnitName"] = units.get(raw.get("mainUnit"), "")
    return products


def _not_a_store(raw: dict[str, Any]) -> bool:
    return text(raw.get("type")) != "STORE"


def _is_store(raw: dict[str, Any]) -> bool:
    return text(raw.get("type")) in (None, "STORE")


def _is_supplier(raw: dict[str, Any]) -> bool:
    return raw.get("supplier") is None or flag(raw.get("supplier"))


# --- invoices -------------------------------------------------------------------------------------
class InvoiceStream(Stream):
    name = "invoices"
    model = "records.Invoice"
    delete_strategy = "removed_ids"
    depends_on = ("stores", "suppliers", "products")

    def after_write(self, integration: Any, result: Any, deleted_ids: list[str]) -> None:
        drop_stale_invoice_lines(integration, result, deleted_ids)

    def map(self, raw: dict[str, Any]) -> RecordRow:
        # The stream instance is shared by every integration: their settings ride on the record
        # ("_"-prefixed keys are the hub's annotations, not iiko's).
        return mappers.incoming_invoice(raw, ZoneInfo(raw.get("_tz") or "UTC"), raw.get("_currency") or "")

    def windows(self, config: dict[str, Any], cursor: dict[str, Any] | None, full: bool,
                today: date) -> Iterator[tuple[date, date]]:
        if full or not cursor or not cursor.get("date_from"):
            start = today - timedelta(days=int(config["invoice_history_days"]) - 1)
        else:
            start = date.fromisoformat(cursor["date_from"]) - timedelta(days=int(config["invoice_overlap_days"]))
        width = int(config["invoice_window_days"])
        while start <= today:
            end = min(start + timedelta(days=width - 1), today)
            yield start, end
            start = end + timedelta(days=1)

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        connector: IikoConnector = ctx.connector
        config = connector.config
        today = datetime.now(ZoneInfo(config["timezone"])).date()
        page_size = int(config["page_size"])
        for start, end in self.windows(config, cursor, full, today):
            documents = connector.get_xml_list(
                "documents/export/incomingInvoice", "incomingInvoiceDtoes", "document",
                action="iiko.invoices.list", params={"from": start.isoformat(), "to": end.isoformat()},
                force_list=("item",))
            # Today is read again next time (documents are still being entered); earlier days are done.
            mark = {"date_from": min(end + timedelta(days=1), today).isoformat()}
            for raw in documents:
                raw["_tz"], raw["_currency"] = config["timezone"], config["currency"]
            if not documents:
                yield Page(records=[], cursor=mark)
                continue
            for first in range(0, len(documents), page_size):
                chunk = documents[first:first + page_size]
                last = first + page_size >= len(documents)
                live, deleted = [], []
                for doc in chunk:
                    (deleted if text(doc.get("status")) == "DELETED" else live).append(doc)
                yield Page(records=live, deleted_ids=[i for i in map(_id, deleted) if i],
                           cursor=mark if last else None, extra={"records.InvoiceLine": _lines(live)})


def _lines(documents: list[dict[str, Any]]) -> list[RecordRow]:
    rows: list[RecordRow] = []
    for raw in documents:
        try:
            rows += mappers.invoice_lines(raw)
        except MappingError:
            continue  # its invoice fails in map() and reports the error
    return rows


STREAMS: dict[str, Stream] = {
    "restaurants": RevisionStream("restaurants", "records.Location", mappers.corporate_item,
                                  _corporate("departments"), keep=_not_a_store),
    "stores": RevisionStream("stores", "records.Location", mappers.corporate_item, _corporate("stores"),
                             keep=_is_store, depends_on=("restaurants",)),
    "suppliers": RevisionStream("suppliers", "records.Supplier", mappers.supplier, _suppliers, keep=_is_supplier),
    "product-groups": RevisionStream("product-groups", "records.Category", mappers.product_group, _groups),
    "products": RevisionStream("products", "records.Product", mappers.product, _products,
                               depends_on=("product-groups",)),
    "invoices": InvoiceStream(),
}

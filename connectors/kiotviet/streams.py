"""KiotViet's streams: offset paging (``pageSize``/``currentItem``) turned into an exact, resumable cursor.

Lists that take ``lastModifiedFrom`` are read in ``orderBy=modifiedDate`` order and re-queried from
the last record's time on each request, so the cursor ``{"since", "seen"}`` (the time, and the ids
already read at exactly that time) is an exact resume point whether KiotViet's ``lastModifiedFrom``
is inclusive or exclusive (undocumented), and records modified during a run move behind the cursor
instead of shifting offsets under it. A full read starts from
``FLOOR``; an incremental read starts ``overlap_seconds`` before its cursor (a row committed late
with an earlier time is re-read; unchanged rows cost a hash compare). Never-edited rows have a null
``modifiedDate``; KiotViet orders them by ``createdDate``, and so do we.

Deletions: ``includeRemoveIds=true`` adds the ids removed since ``lastModifiedFrom`` to each answer,
under a key whose name varies by endpoint; they are reported once the listing is read. Lists without
removed ids (documents, cash flow, surcharges) are diffed by a full run instead (``full_scan``),
each within its own kind where kinds share a table.

Purchase orders, transfers and cash flow have no ``lastModifiedFrom``: they are read by a document
date range (an incremental read re-reads ``document_overlap_days`` before the newest date seen).

Up to ``pages_per_batch`` API pages (100 rows each, KiotViet's cap) are committed as one page, and
(``prefetch``, on by default) the next batch is read and prepared in a thread while the runner writes
this one (``syncjobs.prefetch``), so the provider's latency and our mapping overlap the database's
time instead of adding to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Page, RecordRow, Stream, SyncContext
from connectors.errors import FatalError, MappingError

from . import mappers
from .relations import drop_stale_relations

FLOOR = "2000-01-01T00:00:00"
MALFORMED_RETRIES = 2


def kv_time(value: str) -> datetime:
    text = value.strip().replace(" ", "T").rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(text)


def kv_format(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def record_time(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    return raw.get("modifiedDate") or raw.get("createdDate")


def record_id(raw: Any) -> str:
    return str(raw.get("id", raw.get("categoryId"))) if isinstance(raw, dict) else ""


def fetch_page(ctx: SyncContext, path: str, params: dict[str, Any], action: str) -> dict[str, Any]:
    """One list page; a 2xx whose body is not a KiotViet page is asked again, then fails the job."""
    body: Any = None
    for _ in range(MALFORMED_RETRIES + 1):
        body = ctx.connector.get(path, params=params, action=action)
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return body
    raise FatalError(f"{path}: KiotViet answered a page without a 'data' list "
                     f"({type(body).__name__}: {str(body)[:200]})")


class KiotVietStream(Stream):
    delete_strategy = "removed_ids"

    def __init__(self, name: str, model: str, path: str, mapper: Callable[[dict[str, Any]], RecordRow], *,
                 depends_on: tuple[str, ...] = (), removed_key: str | None = None,
                 extra: dict[str, mappers.ExtraMapper] | None = None, params: dict[str, Any] | None = None,
                 full_scan: dict[str, Any] | None = None):
        self.name = name
        self.model = model
        self.path = path
        self.mapper = mapper
        self.depends_on = depends_on
        self.removed_key = removed_key
        self.extra = extra or {}
        self.params = params or {}
        if removed_key is None:
            self.delete_strategy = "none"
        if full_scan is not None:
            # No removed ids: a full run soft-deletes what it did not see, among the rows ``full_scan``
            # (filter keywords) picks in a table other streams share ({} for the whole model).
            self.delete_strategy, self.delete_scope = "full_scan", full_scan

    def map(self, raw: dict[str, Any]) -> RecordRow:
        return self.mapper(raw)

    # --- reading ------------------------------------------------------------------------------------
    def start(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> tuple[str, dict[str, str]]:
        if full or not cursor or not cursor.get("since"):
            return FLOOR, {}
        overlap = 0.0 if cursor.get("resume") else float(ctx.config.get("overlap_seconds", 2))
        seen = cursor.get("seen")
        if not overlap and isinstance(seen, dict):  # a run that died halfway: continue exactly there
            return cursor["since"], {str(k): str(v) for k, v in seen.items()}
        return kv_format(kv_time(cursor["since"]) - timedelta(seconds=overlap)), {}

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        return self.pages(ctx, cursor, full)

    def wants_prefetch(self, ctx: SyncContext) -> bool:
        return bool(ctx.config.get("prefetch", True))

    def pages(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        """Keyset reading on ``lastModifiedFrom``, right whether KiotViet treats it as inclusive or not.

        ``since`` only moves to a time whose rows were all read (one before the page's last time), and
        ``seen`` maps the ids read at or after it to their time: repeated rows are dropped (a row
        changed again meanwhile has a new time and is read again). Only a group of rows sharing one
        time that is larger than a page needs ``currentItem`` to step over the part already read.
        """
        since, seen = self.start(ctx, cursor, full)
        offset = 0
        read_from = since
        page_size = int(ctx.config.get("page_size", 100))
        per_batch = int(ctx.config.get("pages_per_batch", 10))
        removed: dict[str, None] = {}
        batch: list[Any] = []
        pages = 0
        action = f"kiotviet.{self.name}.list"
        total = None  # the first answer's count of rows modified since the start: this run's whole read
        while True:
            params = {"pageSize": page_size, "currentItem": offset, "lastModifiedFrom": since,
                      "orderBy": "modifiedDate", "orderDirection": "Asc", **self.params}
            if self.removed_key:
                params["includeRemoveIds"] = "true"
            body = fetch_page(ctx, self.path, params, action)
            data = body["data"]
            if total is None and isinstance(body.get("total"), int):
                total = body["total"]
            for rid in body.get(self.removed_key or "", None) or []:
                removed[str(rid)] = None
            keyed = [(r, record_time(r)) for r in data]
            fresh = [r for r, t in keyed if not t or seen.get(record_id(r)) != t]
            seen.update((record_id(r), t) for r, t in keyed if t)
            times = sorted({kv_time(t) for _, t in keyed if t})
            if len(times) > 1 and times[-2] > kv_time(since):
                since, offset = next(t for _, t in keyed if t and kv_time(t) == times[-2]), 0
                seen = {k: t for k, t in seen.items() if kv_time(t) >= times[-2]}
            elif data and not fresh:
                offset += len(data)  # inside a group of rows sharing one time, larger than a page
            batch += fresh
            pages += 1
            done = len(data) < page_size or not data
            if batch and (done or pages >= per_batch):
                page = self.page(ctx, batch, {"since": since, "seen": dict(seen), "resume": True})
                page.total = total
                yield page
                batch, pages = [], 0
            if done:
                break
        yield Page(records=[], cursor={"since": since, "seen": dict(seen)},
                   deleted_ids=self.removed(ctx, read_from, list(removed)))

    def removed(self, ctx: SyncContext, since: str, listed: list[str]) -> list[str]:
        """Ids deleted since ``since``: what the list answers said (a subclass may ask elsewhere)."""
        return listed

    def page(self, ctx: SyncContext, records: list[Any], cursor: dict[str, Any]) -> Page:
        return Page(records=records, cursor=cursor, extra=self.extra_rows(records))

    def extra_rows(self, records: list[Any]) -> dict[str, list[RecordRow]]:
        extra: dict[str, list[RecordRow]] = {}
        for model, mapper in self.extra.items():
            rows: list[RecordRow] = []
            for raw in records:
                try:
                    rows += mapper(raw)
                except (MappingError, KeyError, TypeError, AttributeError):
                    continue  # its document fails in map() and reports the error
            extra[model] = rows
        return extra


class ProductStream(KiotVietStream):
    """Products with price books, serials, batches, warranties; a combo's formula from its detail."""

    def after_write(self, integration: Any, result: Any, deleted_ids: list[str]) -> None:
        # A changed product may have lost relations (an attribute, a price-book price): drop those.
        if result.updated_ids:
            drop_stale_relations(integration, result.updated_ids)

    def page(self, ctx: SyncContext, records: list[Any], cursor: dict[str, Any]) -> Page:
        mapping = {k: ctx.config.get(k) for k in ("price_book_id", "brand_attribute", "default_category")}
        for raw in records:
            if not isinstance(raw, dict):
                continue
            raw[mappers.MAPPING_KEY] = mapping
            # The list leaves a combo's components out: read them from the product itself.
            if raw.get("type") == 1 and "productFormulas" not in raw and raw.get("id"):
                detail = ctx.connector.get(f"products/{raw['id']}", action="kiotviet.products.get")
                raw["productFormulas"] = detail.get("productFormulas") or [] if isinstance(detail, dict) else []
        return super().page(ctx, records, cursor)


class StockStream(KiotVietStream):
    """``/productOnHands``: one item per product with its branches, flattened to one row per branch."""

    def page(self, ctx: SyncContext, records: list[Any], cursor: dict[str, Any]) -> Page:
        default_location = ctx.config.get("default_location")
        rows = [row for item in records for row in mappers.inventory_items(item, default_location)]
        # A branch opened since the branches job ran becomes a location on first sight, once a run.
        checked = ctx.scratch.setdefault("branches", set())
        branch_ids = {str(r["branchId"]) for r in rows if isinstance(r, dict) and r.get("branchId") is not None}
        if branch_ids - checked:
            ctx.connector.ensure_branches(branch_ids - checked, "kiotviet.stock.branches")
            checked |= branch_ids
        return Page(records=rows, cursor=cursor)

    def removed(self, ctx: SyncContext, since: str, listed: list[str]) -> list[str]:
        """``/productOnHands`` lists no removed ids: a deleted product's stock rows, from the product list's."""
        params = {"pageSize": 1, "lastModifiedFrom": since, "includeRemoveIds": "true"}
        products = ctx.connector.get("products", action="kiotviet.stock.removed", params=params)
        gone = [str(p) for p in (products.get("removeId") or [] if isinstance(products, dict) else [])]
        if not gone:
            return []
        ids = [str(b["id"]) for b in ctx.connector.branches("kiotviet.stock.branches") if b.get("id")]
        return [f"{pid}:{bid}" for pid in gone for bid in ids]


class DocumentStream(KiotVietStream):
    """Lists without ``lastModifiedFrom``: paged by ``currentItem`` over a document-date range."""

    def __init__(self, *args: Any, date_field: str, from_param: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.date_field = date_field
        self.from_param = from_param

    def pages(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        page_size = int(ctx.config.get("page_size", 100))
        per_batch = int(ctx.config.get("pages_per_batch", 10))
        newest = None if full or not cursor else cursor.get("newest")
        offset = 0 if full or not cursor or not cursor.get("resume") else int(cursor.get("offset") or 0)
        start = FLOOR
        if newest:
            days = float(ctx.config.get("document_overlap_days", 7))
            start = kv_format(kv_time(newest) - timedelta(days=days)) if not cursor.get("resume") else cursor["from"]
        batch: list[Any] = []
        pages = 0
        while True:
            params = {"pageSize": page_size, "currentItem": offset, self.from_param: start, **self.params}
            body = fetch_page(ctx, self.path, params, f"kiotviet.{self.name}.list")
            data = body["data"]
            offset += len(data)
            for raw in data:
                value = raw.get(self.date_field) if isinstance(raw, dict) else None
                if value and (newest is None or kv_time(value) > kv_time(newest)):
                    newest = value
            batch += data
            pages += 1
            done = len(data) < page_size or offset >= int(body.get("total") or 0)
            if batch and (done or pages >= per_batch):
                cursor_now = {"newest": newest, "from": start, "offset": offset, "resume": not done}
                page = self.page(ctx, batch, cursor_now)
                page.total = int(body.get("total") or 0) or None
                yield page
                batch, pages = [], 0
            if done:
                break
        yield Page(records=[], cursor={"newest": newest})


INCLUDES = {"includePricebook": "true", "IncludeSerials": "true", "IncludeBatchExpires": "true",
            "includeWarranties": "true", "includeMaterial": "true", "includeInventory": "false"}

STREAMS: dict[str, Stream] = {
    "branches": KiotVietStream("branches", "records.Location", "branches", mappers.branch,
                        removed_key="removedIds"),
    "categories": KiotVietStream("categories", "records.Category", "categories", mappers.category,
                          removed_key="removedIds"),
    "products": ProductStream("products", "records.Product", "products", mappers.product,
                        depends_on=("categories", "branches"), removed_key="removeId", params=INCLUDES,
                        extra={"records.ProductRelation": mappers.product_relations}),
    "stock": StockStream("stock", "records.StockLevel", "productOnHands", mappers.stock_level,
                     depends_on=("products", "branches")),
    "customers": KiotVietStream("customers", "records.Customer", "customers", mappers.customer,
                         removed_key="removeId"),
    "users": KiotVietStream("users", "records.StaffUser", "users", mappers.user,
                     depends_on=("branches",), removed_key="removeIds"),
    "suppliers": KiotVietStream("suppliers", "records.Supplier", "suppliers", mappers.supplier,
                         removed_key="removedId"),
    "bank-accounts": KiotVietStream("bank-accounts", "records.Account", "BankAccounts",
                             mappers.bank_account, removed_key="removeIds"),
    "surcharges": KiotVietStream("surcharges", "records.Charge", "surchages", mappers.surcharge, full_scan={}),
    "orders": KiotVietStream("orders", "records.Order", "orders", mappers.order,
                      depends_on=("customers", "branches", "products"), full_scan={"kind": "sales"},
                      extra={"records.OrderLine": mappers.order_lines}),
    "invoices": KiotVietStream("invoices", "records.Invoice", "invoices", mappers.invoice,
                        depends_on=("orders", "customers", "branches", "products", "bank-accounts"),
                        params={"includePayment": "true"}, full_scan={"kind": "sales"},
                        extra={"records.InvoiceLine": mappers.invoice_lines,
                               "records.Payment": mappers.invoice_payments}),
    "returns": KiotVietStream("returns", "records.Invoice", "returns", mappers.return_,
                       depends_on=("customers", "branches", "products"), full_scan={"kind": "return"},
                       extra={"records.InvoiceLine": mappers.return_lines}),
    "purchase-orders": DocumentStream("purchase-orders", "records.Order", "purchaseorders",
                               mappers.purchase_order, depends_on=("suppliers", "branches", "products"),
                               date_field="purchaseDate", from_param="fromPurchaseDate", full_scan={"kind": "purchase"},
                               extra={"records.OrderLine": mappers.purchase_order_lines}),
    "transfers": DocumentStream("transfers", "records.Order", "transfers", mappers.transfer,
                         depends_on=("branches", "products"), date_field="dispatchedDate",
                         from_param="fromTransferDate", full_scan={"kind": "transfer"},
                         extra={"records.OrderLine": mappers.transfer_lines}),
    "cashflow": DocumentStream("cashflow", "records.Payment", "cashflow", mappers.cashflow,
                        depends_on=("bank-accounts", "customers", "invoices"), date_field="transDate",
                        from_param="startDate", full_scan={"external_id__startswith": "cf:"}),
}

"""1C's streams: catalogs and documents paged by ``Ref_Key``, registers' virtual tables read whole.

Catalogs and documents (objects with a ``Ref_Key``) are read ``$top``/``$skip`` ordered by
``Ref_Key``, with ``$select`` of the properties we map (plus any a staff field mapping reads) and a
``$filter`` where it narrows the read (groups vs items, suppliers, posted documents, a date). The
cursor after each committed page is ``{"skip": N, …}``, so a run that dies resumes at its page.

Incremental reads:
- catalogs (they have no modification time): list every object's ``Ref_Key``, ``DataVersion`` and
  ``DeletionMark`` (a small ``$select``), compare with the ``DataVersion`` of the stored records and
  fetch only the changed or new ones by key (``Ref_Key eq guid'…' or …``, ``key_batch`` a request).
  Objects gone from the listing (deleted physically) are soft-deleted. When most objects changed
  (or nothing is stored yet) a plain paged read is cheaper and is done instead.
- documents: ``Date ge datetime'…'`` from the last document date read, less ``document_overlap_days``
  (or, with ``document_sync: data_version``, the catalogs' way).
- registers (the price register's ``SliceLast()``, the stock register's ``Balance()``): no version
  exists; every run is a full read of the virtual table, and rows no longer in it are soft-deleted.

``DeletionMark`` true: the object is soft-deleted here (1C keeps it until "delete marked objects").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models.fields.json import KeyTextTransform

from connectors.base import Page, RecordRow, Stream, SyncContext
from connectors.errors import ConfigError, MappingError
from records.models import Product, ProductRelation
from records.upsert import mark_missing_children, resolve_model

from . import mappers
from .schemas import DEFAULT_FIELDS, properties

if TYPE_CHECKING:
    from .client import OneCConnector

HEAD = ["Ref_Key", "DataVersion", "DeletionMark"]
CATALOG_HEAD = [*HEAD, "Code", "Description"]
DOCUMENT_HEAD = [*HEAD, "Number", "Date", "Posted"]


def _guid(key: str) -> str:
    return f"guid'{key}'"


def _and(*parts: str | None) -> str:
    found = [p for p in parts if p]
    return " and ".join(f"({p})" if " or " in p else p for p in found)


def _mapped_sources(ctx: SyncContext, stream: str) -> list[str]:
    """Top-level properties a staff field mapping of this stream reads: they must be in ``$select``."""
    entries = ((ctx.config.get("field_mappings") or {}).get(stream)) or []
    out = []
    for entry in entries if isinstance(entries, list) else []:
        sources = entry.get("source") if isinstance(entry, dict) else None
        for source in sources if isinstance(sources, list) else [sources]:
            if isinstance(source, str) and source:
                out.append(source.split(".")[0])
    return out


def _overrides(config: dict[str, Any]) -> dict[str, str]:
    """The integration's property names that differ from the defaults (carried on each record)."""
    return {k: v for k, v in properties(config).items() if DEFAULT_FIELDS[k] != v}


class OneCStream(Stream):
    """What every 1C stream shares: its entity set, annotations for the mapper, the what of errors."""

    entity_key = ""

    def __init__(self, name: str, model: str, mapper: Callable[[dict[str, Any]], RecordRow], *,
                 depends_on: tuple[str, ...] = (), entity_key: str = ""):
        self.name = name
        self.model = model
        self.mapper = mapper
        self.depends_on = depends_on
        self.entity_key = entity_key or name

    def map(self, raw: dict[str, Any]) -> RecordRow:
        return self.mapper(raw)

    def what(self, connector: OneCConnector) -> str:
        return f"{self.name} ({connector.entity(self.entity_key)})"

    def annotate(self, ctx: SyncContext, rows: list[dict[str, Any]]) -> None:
        """Add what the mapper needs beside 1C's own properties (``_``-prefixed keys)."""
        overrides = _overrides(ctx.connector.config)
        if overrides:
            for raw in rows:
                raw["_properties"] = overrides


class ObjectStream(OneCStream):
    """A catalog or a document: objects with a ``Ref_Key``, ``DataVersion`` and ``DeletionMark``."""

    delete_strategy = "removed_ids"

    def __init__(self, name: str, model: str, mapper: Callable[[dict[str, Any]], RecordRow], *,
                 head: list[str], select: Callable[[dict[str, str]], list[str]],
                 where: Callable[[OneCConnector], str | None] = lambda c: None, scope: dict[str, Any] | None = None,
                 document: bool = False, lines_model: str = "", parent_ref: str = "", **kw: Any):
        super().__init__(name, model, mapper, **kw)
        self.head = head
        self.select = select
        self.where = where
        self.scope = scope or {}
        self.document = document
        self.lines_model = lines_model
        self.parent_ref = parent_ref

    # --- what is read --------------------------------------------------------------------------
    def fields(self, ctx: SyncContext) -> list[str]:
        wanted = [*self.head, *(f for f in self.select(properties(ctx.connector.config)) if f),
                  *_mapped_sources(ctx, self.name)]
        return list(dict.fromkeys(wanted))

    def by_date(self, config: dict[str, Any]) -> bool:
        return self.document and config["document_sync"] == "date"

    def _filter(self, connector: OneCConnector, since: str | None = None) -> str:
        date = f"Date ge datetime'{since}'" if since else None
        posted = "Posted eq true" if self.document and connector.config["posted_only"] else None
        return _and(self.where(connector), posted, date)

    def _fetch(self, ctx: SyncContext, flt: str, skip: int, top: int, select: list[str]) -> list[dict[str, Any]]:
        connector: OneCConnector = ctx.connector
        entity = connector.entity(self.entity_key)
        return connector.get_list(entity, {"$select": ",".join(select), "$filter": flt, "$orderby": "Ref_Key",
                                           "$top": top, "$skip": skip},
                                  action=f"1c.{self.name}.list", what=self.what(connector))

    # --- reads ---------------------------------------------------------------------------------
    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        config = ctx.connector.config
        if cursor and "skip" in cursor and not full:  # an unfinished paged read: go on from its page
            yield from self._paged(ctx, int(cursor["skip"]), cursor.get("since"), cursor.get("high"))
        elif full or not cursor:
            yield from self._paged(ctx, 0, self._history(config), None)
        elif self.by_date(config):
            yield from self._paged(ctx, 0, self._since(cursor.get("since"), config), cursor.get("since"))
        else:
            yield from self._by_versions(ctx)

    def _history(self, config: dict[str, Any]) -> str | None:
        days = int(config["document_history_days"]) if self.document else 0
        return (datetime.now() - timedelta(days=days)).strftime("%Y-%m-%dT00:00:00") if days else None

    def _since(self, last: str | None, config: dict[str, Any]) -> str | None:
        if not last:
            return self._history(config)
        start = datetime.fromisoformat(last) - timedelta(days=int(config["document_overlap_days"]))
        return start.strftime("%Y-%m-%dT00:00:00")

    def _paged(self, ctx: SyncContext, skip: int, since: str | None, high: str | None) -> Iterator[Page]:
        """Pages of ``$top``/``$skip``. A read of everything from the start (no date filter) also says,
        on its last page, which stored objects were not listed: deleted in 1C, soft-deleted here."""
        size = int(ctx.connector.config["page_size"])
        flt, select = self._filter(ctx.connector, since), self.fields(ctx)
        listed: set[str] | None = set() if skip == 0 and since is None else None
        while True:
            rows = self._fetch(ctx, flt, skip, size, select)
            skip += len(rows)
            if listed is not None:
                listed.update(str(r.get("Ref_Key")) for r in rows)
            dates = [str(r["Date"]) for r in rows if r.get("Date")]
            high = max([*dates, *([high] if high else [])], default=None)
            done = len(rows) < size
            cursor = {"done": True} if done else {"skip": skip}
            if self.document:
                cursor["since"] = high if done else since
                if not done:
                    cursor["high"] = high
            gone = []
            if done and listed is not None:
                gone = [k for k, (_, deleted) in self._stored(ctx).items() if k not in listed and not deleted]
            yield self._page(ctx, rows, cursor, gone)
            if done:
                return

    def _stored(self, ctx: SyncContext) -> dict[str, tuple[str | None, bool]]:
        model = resolve_model(self.model)
        rows = (model.objects.filter(integration=ctx.integration, **self.scope).exclude(external_id="")
                .annotate(version=KeyTextTransform("DataVersion", "payload"))
                .values_list("external_id", "version", "deleted_at"))
        return {ext: (version, deleted is not None) for ext, version, deleted in rows}

    def _by_versions(self, ctx: SyncContext) -> Iterator[Page]:
        connector: OneCConnector = ctx.connector
        size, batch = int(connector.config["page_size"]), int(connector.config["key_batch"])
        flt = self._filter(connector)
        listing: dict[str, tuple[str, bool]] = {}
        skip = 0
        while True:
            rows = self._fetch(ctx, flt, skip, size, HEAD)
            skip += len(rows)
            listing.update({str(r.get("Ref_Key")): (str(r.get("DataVersion")), bool(r.get("DeletionMark")))
                            for r in rows if r.get("Ref_Key")})
            if len(rows) < size:
                break
        stored = self._stored(ctx)
        changed = [k for k, (version, mark) in listing.items()
                   if not mark and (k not in stored or stored[k][0] != version or stored[k][1])]
        gone = [k for k, (version, mark) in listing.items() if mark and k in stored and not stored[k][1]]
        gone += [k for k, (_, deleted) in stored.items() if k not in listing and not deleted]
        if not stored or len(changed) > len(listing) // 2:
            yield from self._paged(ctx, 0, None, None)
            return
        select = self.fields(ctx)
        chunk: list[dict[str, Any]] = []
        deleted = gone
        for start in range(0, len(changed), batch):
            keys = changed[start:start + batch]
            chunk += self._fetch(ctx, _and(flt, " or ".join(f"Ref_Key eq {_guid(k)}" for k in keys)), 0, len(keys),
                                 select)
            last = start + batch >= len(changed)
            if len(chunk) >= size or last:
                yield self._page(ctx, chunk, {"done": True} if last else None, deleted)
                chunk, deleted = [], []
        if not changed:
            yield Page(records=[], cursor={"done": True}, deleted_ids=deleted)

    # --- pages ---------------------------------------------------------------------------------
    def _page(self, ctx: SyncContext, rows: list[dict[str, Any]], cursor: dict[str, Any] | None,
              deleted: list[str] | None = None) -> Page:
        self.annotate(ctx, rows)
        live = [r for r in rows if not r.get("DeletionMark")]
        marked = [str(r["Ref_Key"]) for r in rows if r.get("DeletionMark") and r.get("Ref_Key")]
        page = Page(records=live, cursor=cursor, deleted_ids=[*(deleted or []), *marked])
        if self.lines_model:
            extra: list[RecordRow] = []
            for raw in live:
                try:
                    extra += mappers.lines(raw, self.parent_ref)
                except MappingError:
                    continue  # its document fails in map() and says why
            page.extra = {self.lines_model: extra}
        return page

    def annotate(self, ctx: SyncContext, rows: list[dict[str, Any]]) -> None:
        super().annotate(ctx, rows)
        if self.document:
            config = ctx.connector.config
            for raw in rows:
                raw["_currency"] = config["currency"]
                if config["timezone"] != "UTC":
                    raw["_tz"] = config["timezone"]

    def after_write(self, integration: Any, result: Any, deleted_ids: list[str]) -> None:
        """A document's lines follow it: lines its latest version dropped, and every line of a document
        deleted (or marked for deletion), are soft-deleted in the page's transaction."""
        if not self.lines_model:
            return
        if deleted_ids:
            mark_missing_children(integration, self.lines_model, self.parent_ref, deleted_ids, ())
        if result is not None and result.updated_ids:
            model = resolve_model(self.model)
            payloads = model.objects.filter(integration=integration, external_id__in=result.updated_ids).values_list(
                "payload", flat=True)
            kept = {line.external_id for raw in payloads if isinstance(raw, dict)
                    for line in _safe_lines(raw, self.parent_ref)}
            mark_missing_children(integration, self.lines_model, self.parent_ref, result.updated_ids, kept)


def _safe_lines(raw: dict[str, Any], parent_ref: str) -> list[RecordRow]:
    try:
        return mappers.lines(raw, parent_ref)
    except MappingError:
        return []


class ProductStream(ObjectStream):
    """Items of the nomenclature catalog, with their unit's name from the units catalog."""

    def annotate(self, ctx: SyncContext, rows: list[dict[str, Any]]) -> None:
        super().annotate(ctx, rows)
        names = _lookup(ctx, "units")
        unit = properties(ctx.connector.config)["unit"]
        for raw in rows:
            raw["_unit"] = names.get(str(raw.get(unit)), "") if unit else ""


def _lookup(ctx: SyncContext, stream: str) -> dict[str, str]:
    """Ref_Key -> Description of a small catalog (units, price types), read once per run.

    Optional: with its entity set turned off ("") or not published (404), names stay empty."""
    if stream in ctx.scratch:
        return ctx.scratch[stream]
    connector: OneCConnector = ctx.connector
    entity = connector.entity(stream)
    names: dict[str, str] = {}
    if entity:
        try:
            rows = connector.get_list(entity, {"$select": "Ref_Key,Description"}, action=f"1c.{stream}.list",
                                      what=f"{stream} ({entity})")
            names = {str(r.get("Ref_Key")): str(r.get("Description") or "") for r in rows}
        except ConfigError as exc:
            if exc.status_code != 404:
                raise
    ctx.scratch[stream] = names
    return names


class RegisterStream(OneCStream):
    """A register's virtual table (``SliceLast()``, ``Balance()``): read whole, cut into pages.

    1C does not promise paging over virtual tables, which have no ``Ref_Key`` to order by; their
    ``$select`` keeps the answer small. Every run is full; rows gone from the table are soft-deleted.
    """

    delete_strategy = "removed_ids"
    supports_incremental = True  # each run reads everything, so resuming means reading again

    def __init__(self, name: str, model: str, mapper: Callable[[dict[str, Any]], RecordRow], *, table: str,
                 select: Callable[[dict[str, str]], list[str]], scope: dict[str, Any] | None = None, **kw: Any):
        super().__init__(name, model, mapper, **kw)
        self.table = table
        self.select = select
        self.scope = scope or {}

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        connector: OneCConnector = ctx.connector
        entity = connector.entity(self.entity_key)
        select = list(dict.fromkeys([*(f for f in self.select(properties(connector.config)) if f),
                                     *_mapped_sources(ctx, self.name)]))
        rows = connector.get_list(f"{entity}/{self.table}()", {"$select": ",".join(select)},
                                  action=f"1c.{self.name}.list", what=self.what(connector))
        self.annotate(ctx, rows)
        seen, unmapped = set(), False
        for raw in rows:
            try:
                seen.add(self.mapper(raw).external_id)
            except MappingError:
                unmapped = True  # its id is unknown: deleting by difference would be unsafe
        model = resolve_model(self.model)
        stored = model.objects.filter(integration=ctx.integration, deleted_at__isnull=True, **self.scope) \
            .exclude(external_id="").values_list("external_id", flat=True)
        gone = [] if unmapped else [e for e in stored if e not in seen]
        size = int(connector.config["page_size"])
        for start in range(0, max(len(rows), 1), size):
            last = start + size >= len(rows)
            yield Page(records=rows[start:start + size], cursor={"done": True} if last else None,
                       deleted_ids=gone if last else [])


class PriceStream(RegisterStream):
    """The price register's last slice -> price-book prices; the product's ``prices`` (and ``price``,
    for ``main_price_type``) follow in the same transaction."""

    def annotate(self, ctx: SyncContext, rows: list[dict[str, Any]]) -> None:
        super().annotate(ctx, rows)
        names = _lookup(ctx, "price_types")
        type_key = properties(ctx.connector.config)["price_type"]
        for raw in rows:
            raw["_price_type"] = names.get(str(raw.get(type_key)), "")

    def after_write(self, integration: Any, result: Any, deleted_ids: list[str]) -> None:
        touched = [*(result.created_ids if result else []), *(result.updated_ids if result else []), *deleted_ids]
        if not touched:
            return
        products = set(ProductRelation.objects.filter(integration=integration, external_id__in=touched)
                       .values_list("product_id", flat=True))
        main = str((integration.config or {}).get("main_price_type") or "")
        prices: dict[int, dict[str, str]] = {pk: {} for pk in products}
        chosen: dict[int, Any] = {}
        for pk, name, amount, data in ProductRelation.objects.filter(
                integration=integration, product_id__in=products, kind="price", deleted_at__isnull=True,
        ).values_list("product_id", "name", "amount", "data"):
            prices[pk][name] = str(amount)
            if main and main in (name, (data or {}).get("price_type_key")):
                chosen[pk] = amount
        for pk, found in prices.items():
            values: dict[str, Any] = {"prices": found}
            if main:
                values["price"] = chosen.get(pk)
            Product.objects.filter(pk=pk).update(**values)


def _catalog_select(*names: str) -> Callable[[dict[str, str]], list[str]]:
    return lambda p: ["Parent_Key", "IsFolder", *(p[n] for n in names)]


def _counterparty_where(flag: str) -> Callable[[OneCConnector], str | None]:
    def where(connector: OneCConnector) -> str | None:
        prop = connector.prop(flag)
        return _and("IsFolder eq false", f"{prop} eq true" if prop else None)

    return where


def _document_select(*names: str) -> Callable[[dict[str, str]], list[str]]:
    return lambda p: [p[n] for n in ("counterparty", "warehouse", "document_total", "comment", "lines", *names)]


STREAMS: dict[str, Stream] = {
    "categories": ObjectStream("categories", "records.Category", mappers.category, head=CATALOG_HEAD,
                               select=_catalog_select(), where=lambda c: "IsFolder eq true"),
    "products": ProductStream("products", "records.Product", mappers.product, head=CATALOG_HEAD,
                              select=_catalog_select("article", "full_name", "unit"),
                              where=lambda c: "IsFolder eq false", depends_on=("categories",)),
    "suppliers": ObjectStream("suppliers", "records.Supplier", mappers.counterparty, head=CATALOG_HEAD,
                              select=lambda p: ["IsFolder", p["tax_id"], p["contacts"]],
                              where=_counterparty_where("supplier_flag")),
    "customers": ObjectStream("customers", "records.Customer", mappers.counterparty, head=CATALOG_HEAD,
                              select=lambda p: ["IsFolder", p["tax_id"], p["contacts"]],
                              where=_counterparty_where("customer_flag")),
    "warehouses": ObjectStream("warehouses", "records.Location", mappers.warehouse, head=CATALOG_HEAD,
                               select=lambda p: ["IsFolder", p["warehouse_type"]], where=lambda c: "IsFolder eq false"),
    "prices": PriceStream("prices", "records.ProductRelation", mappers.price, table="SliceLast",
                          select=lambda p: ["Period", p["product"], p["characteristic"], p["price_type"], p["price"]],
                          scope={"kind": "price"}, depends_on=("products",)),
    "stock": RegisterStream("stock", "records.StockLevel", mappers.stock, table="Balance",
                            select=lambda p: [p["product"], p["characteristic"], p["warehouse"],
                                              f"{p['stock_quantity']}Balance",
                                              f"{p['stock_reserved']}Balance" if p["stock_reserved"] else ""],
                            depends_on=("products", "warehouses")),
    "orders": ObjectStream("orders", "records.Order", mappers.order, head=DOCUMENT_HEAD,
                           select=_document_select("status"), document=True, lines_model="records.OrderLine",
                           parent_ref="order", scope={"kind": "sales"},
                           depends_on=("customers", "warehouses", "products")),
    "sales": ObjectStream("sales", "records.Invoice", mappers.invoice("sales"), head=DOCUMENT_HEAD,
                          select=_document_select("order"), document=True, lines_model="records.InvoiceLine",
                          parent_ref="invoice", scope={"kind": "sales"},
                          depends_on=("customers", "warehouses", "products", "orders")),
    "purchases": ObjectStream("purchases", "records.Invoice", mappers.invoice("purchases"), head=DOCUMENT_HEAD,
                              select=_document_select(), document=True, lines_model="records.InvoiceLine",
                              parent_ref="invoice", scope={"kind": "purchase"},
                              depends_on=("suppliers", "warehouses", "products")),
}

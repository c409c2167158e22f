"""KiotViet records -> our records (field names as in records/models.py).

Foreign keys go in ``refs`` by the referenced record's external id; the upsert resolves them.
External ids: KiotViet's id, except where one of our tables holds several KiotViet entities
(``Order``: sales orders, purchase orders ``po:<id>``, transfers ``transfer:<id>``; ``Invoice``:
invoices and returns ``return:<id>``; ``Payment``: invoice payments ``pay:<id>`` and cash-flow
entries ``cf:<id>``). Lines are ``<document external id>:<line no>``; product relations are
``<kind>:<product id>:<the fact's own key>`` so a re-sync updates them instead of adding rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from connectors.base import RecordRow
from connectors.errors import MappingError
from connectors.money import decimal as number

SHOP_TZ = timezone(timedelta(hours=7), "ICT")  # KiotViet's date-times are Vietnam local time, no offset
CURRENCY = "VND"
DEFAULT_BRAND_ATTRIBUTE = "Thương hiệu"
# Where read() puts the integration's field mapping on each product (part of the hashed payload, so
# a mapping change rewrites every product on the next sync).
MAPPING_KEY = "_mapping"

ORDER_STATUSES = {1: "draft", 2: "delivering", 3: "completed", 4: "cancelled", 5: "confirmed"}
INVOICE_STATUSES = {1: "completed", 2: "cancelled", 3: "processing", 5: "undeliverable"}
RETURN_STATUSES = {1: "completed", 2: "cancelled"}
PURCHASE_STATUSES = {1: "draft", 2: "partial", 3: "completed", 4: "cancelled"}
TRANSFER_STATUSES = {1: "draft", 2: "in_transit", 3: "received", 4: "cancelled"}
CASHFLOW_STATUSES = {0: "paid", 1: "cancelled"}


def ref(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def local_time(value: Any) -> datetime | None:
    """KiotViet's naive local date-time ("2024-05-20T16:02:10.5230000") as an aware datetime."""
    if value in (None, ""):
        return None
    text = str(value).strip().replace(" ", "T").rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"not a date-time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHOP_TZ)


def require(raw: Any, *names: str) -> None:
    if not isinstance(raw, dict):
        raise MappingError(f"expected an object, got {type(raw).__name__}")
    for name in names:  # a plain loop: called for every stock row, a comprehension's frame cost more
        value = raw.get(name)
        if value is None or value == "":
            raise MappingError(f"missing {', '.join(n for n in names if raw.get(n) in (None, ''))}")


def text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else str(value)


# --- master data ------------------------------------------------------------------------------------
def branch(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "branchName")
    return RecordRow(str(raw["id"]), {"name": raw["branchName"], "code": text(raw, "branchCode"), "kind": "branch",
                                      "address": text(raw, "address"), "phone": text(raw, "contactNumber")},
                     payload=raw)


def category(raw: dict[str, Any]) -> RecordRow:
    require(raw, "categoryId", "categoryName")
    return RecordRow(str(raw["categoryId"]), {"name": raw["categoryName"]}, refs={"parent": ref(raw.get("parentId"))},
                     payload=raw)


def product(raw: dict[str, Any]) -> RecordRow:
    """``raw[MAPPING_KEY]`` (set by the stream from the config) chooses price, brand and default category."""
    require(raw, "id", "name")
    mapping = raw.get(MAPPING_KEY) or {}
    books = raw.get("priceBooks") or []
    prices = {"base": str(number(raw.get("basePrice"), "basePrice") or 0)}
    for book in books:
        if isinstance(book, dict) and book.get("priceBookId") is not None:
            prices[str(book["priceBookId"])] = str(number(book.get("price"), "priceBooks.price"))
    book_id = mapping.get("price_book_id")
    price = prices.get(str(book_id)) if book_id else None
    attributes = {str(a.get("attributeName")): a.get("attributeValue") for a in raw.get("attributes") or []
                  if isinstance(a, dict) and a.get("attributeName")}
    brand = attributes.get(mapping.get("brand_attribute") or DEFAULT_BRAND_ATTRIBUTE)
    if brand is not None:
        attributes["brand"] = brand
    units = [{"id": u.get("id"), "code": u.get("code"), "unit": u.get("unit"),
              "conversion": u.get("conversionValue"), "price": u.get("basePrice")}
             for u in raw.get("units") or [] if isinstance(u, dict)]
    return RecordRow(
        external_id=str(raw["id"]),
        fields={
            "sku": text(raw, "code"), "barcode": text(raw, "barCode"), "name": raw["name"],
            "description": text(raw, "description"), "unit": text(raw, "unit"), "units": units,
            "price": number(price if price is not None else raw.get("basePrice"), "price"),
            "currency": CURRENCY, "prices": prices, "attributes": attributes,
            "is_active": bool(raw.get("isActive", True)),
        },
        refs={"category": ref(raw.get("categoryId")) or ref(mapping.get("default_category"))},
        payload=raw,
    )


def _relation(pid: str, kind: str, key: str, **fields: Any) -> RecordRow:
    # No payload: the source is a part of the product's, which the product row keeps (and which
    # relations.py maps again); the hash covers the fields and references.
    refs = {"product": pid}
    for name in ("component", "location"):
        if name in fields:
            refs[name] = ref(fields.pop(name))
    return RecordRow(f"{kind}:{pid}:{key}", {"kind": kind, **fields}, refs=refs)


def product_relations(raw: dict[str, Any]) -> list[RecordRow]:
    """Attributes, units, price-book prices, formula components, serials, batches, warranties, shelves."""
    require(raw, "id", "name")
    pid = str(raw["id"])
    rows: list[RecordRow] = []
    for a in raw.get("attributes") or []:
        rows.append(_relation(pid, "attribute", str(a["attributeName"]), name=a["attributeName"],
                              value=text(a, "attributeValue")))
    for u in raw.get("units") or []:
        rows.append(_relation(pid, "unit", str(u["id"]), name=text(u, "unit"), value=text(u, "code"),
                              quantity=number(u.get("conversionValue")), amount=number(u.get("basePrice"))))
    for b in raw.get("priceBooks") or []:
        rows.append(_relation(pid, "price", str(b["priceBookId"]), name=text(b, "priceBookName"),
                              amount=number(b.get("price")), expires_at=local_time(b.get("endDate")),
                              data={"price_book_id": b["priceBookId"], "active": b.get("isActive")}))
    for m in raw.get("productFormulas") or []:
        rows.append(_relation(pid, "component", str(m["materialId"]), name=text(m, "materialName"),
                              value=text(m, "materialCode"), quantity=number(m.get("quantity")),
                              component=m["materialId"]))
    for s in raw.get("productSerials") or []:
        rows.append(_relation(pid, "serial", str(s["serialNumber"]), value=str(s["serialNumber"]),
                              location=s.get("branchId"), data={"status": s.get("status")}))
    for b in raw.get("productBatchExpires") or []:
        rows.append(_relation(pid, "batch", f"{b['batchName']}:{b.get('branchId') or ''}", name=str(b["batchName"]),
                              value=text(b, "fullNameVirgule"), quantity=number(b.get("onHand")),
                              expires_at=local_time(b.get("expireDate")), location=b.get("branchId")))
    for w in raw.get("productWarranties") or []:
        rows.append(_relation(pid, "warranty", str(w.get("id") or w.get("warrantyType")),
                              name=text(w, "description"), quantity=number(w.get("numberTime")),
                              data={"time_type": w.get("timeType"), "warranty_type": w.get("warrantyType")}))
    for s in raw.get("productShelves") or []:
        rows.append(_relation(pid, "shelf", str(s.get("branchId") or ""), name=text(s, "productShelvesStr"),
                              location=s.get("branchId")))
    return rows


def inventory_items(item: Any, default_location: Any = None) -> list[Any]:
    """A ``/productOnHands`` item (or a product with ``inventories``) as one item per branch, for :func:`stock_level`.

    An item without an inventories list is returned as is, to fail alone in the mapper with the reason.
    """
    if not isinstance(item, dict) or not isinstance(item.get("inventories"), list):
        return [item]
    rows = []
    for inv in item["inventories"]:
        inv = inv if isinstance(inv, dict) else {}
        branch = inv.get("branchId")
        branch = branch if branch is not None else default_location
        rows.append({"id": f"{item.get('id')}:{branch}", "productId": item.get("id"), "productCode": item.get("code"),
                     "branchId": branch, "onHand": inv.get("onHand", inv.get("onhand")),
                     "reserved": inv.get("reserved"), "modifiedDate": item.get("modifiedDate")})
    return rows


def stock_level(raw: dict[str, Any]) -> RecordRow:
    """One flattened ``/productOnHands`` inventory row (see streams.StockStream)."""
    require(raw, "id", "productId", "branchId")
    return RecordRow(
        external_id=str(raw["id"]),
        fields={"quantity": number(raw.get("onHand"), "onHand") or Decimal(0),
                "reserved": number(raw.get("reserved"), "reserved") or Decimal(0)},
        # No payload: ``raw`` is our flattening of one branch of a ``/productOnHands`` item.
        refs={"product": str(raw["productId"]), "location": str(raw["branchId"])},
    )


def _party_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {"name": raw["name"], "code": text(raw, "code"), "email": text(raw, "email"),
            "phone": text(raw, "contactNumber"), "address": text(raw, "address"), "tax_id": text(raw, "taxCode")}


def customer(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "name")
    return RecordRow(str(raw["id"]), _party_fields(raw), payload=raw)


def supplier(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "name")
    return RecordRow(str(raw["id"]), _party_fields(raw), payload=raw)


def user(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "userName")
    return RecordRow(
        str(raw["id"]),
        {"name": raw.get("givenName") or raw["userName"], "username": raw["userName"], "email": text(raw, "email"),
         "phone": text(raw, "mobilePhone"), "address": text(raw, "address"),
         "is_active": bool(raw.get("isActive", True))},
        refs={"location": ref(raw.get("branchId"))},
        payload=raw,
    )


def bank_account(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "accountNumber")
    bank = text(raw, "bankName")
    return RecordRow(str(raw["id"]), {"name": f"{bank} {raw['accountNumber']}".strip(),
                                      "number": str(raw["accountNumber"]),
                                      "bank": bank, "currency": CURRENCY, "note": text(raw, "description")},
                     payload=raw)


def surcharge(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "surchargeName")
    ratio = raw.get("valueRatio")
    return RecordRow(str(raw["id"]), {"code": text(raw, "surchargeCode"), "name": raw["surchargeName"],
                                      "value": number(ratio if ratio is not None else raw.get("value")),
                                      "is_percent": ratio is not None, "is_active": bool(raw.get("isActive", True))},
                     payload=raw)


# --- documents ----------------------------------------------------------------------------------------
def _status(table: dict[int, str], value: Any) -> str:
    return table.get(value, "" if value is None else str(value)) if not isinstance(value, list) else ""


def order(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "code")
    return RecordRow(
        str(raw["id"]),
        {"kind": "sales", "number": raw["code"], "status": _status(ORDER_STATUSES, raw.get("status")),
         "total": number(raw.get("total"), "total"), "currency": CURRENCY, "note": text(raw, "description"),
         "ordered_at": local_time(raw.get("purchaseDate"))},
        refs={"customer": ref(raw.get("customerId")), "location": ref(raw.get("branchId"))},
        payload=raw,
    )


def invoice(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "code")
    return RecordRow(
        str(raw["id"]),
        {"kind": "sales", "number": raw["code"], "status": _status(INVOICE_STATUSES, raw.get("status")),
         "total": number(raw.get("total"), "total"), "currency": CURRENCY, "note": text(raw, "description"),
         "issued_at": local_time(raw.get("purchaseDate"))},
        refs={"customer": ref(raw.get("customerId")), "location": ref(raw.get("branchId")),
              "order": ref(raw.get("orderId"))},
        payload=raw,
    )


def return_(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "code")
    total = raw.get("returnTotal") if raw.get("returnTotal") is not None else raw.get("totalPayment")
    return RecordRow(
        f"return:{raw['id']}",
        {"kind": "return", "number": raw["code"], "status": _status(RETURN_STATUSES, raw.get("status")),
         "total": number(total, "returnTotal"), "currency": CURRENCY, "note": text(raw, "description"),
         "issued_at": local_time(raw.get("returnDate"))},
        refs={"customer": ref(raw.get("customerId")), "location": ref(raw.get("branchId"))},
        payload=raw,
    )


def purchase_order(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "code")
    return RecordRow(
        f"po:{raw['id']}",
        {"kind": "purchase", "number": raw["code"], "status": _status(PURCHASE_STATUSES, raw.get("status")),
         "total": number(raw.get("total"), "total"), "currency": CURRENCY, "note": text(raw, "description"),
         "ordered_at": local_time(raw.get("purchaseDate"))},
        refs={"supplier": ref(raw.get("supplierId")), "location": ref(raw.get("branchId"))},
        payload=raw,
    )


def transfer(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "code")
    return RecordRow(
        f"transfer:{raw['id']}",
        {"kind": "transfer", "number": raw["code"], "status": _status(TRANSFER_STATUSES, raw.get("status")),
         "total": number(raw.get("totalTransfer"), "totalTransfer"), "currency": CURRENCY,
         "note": text(raw, "description"), "ordered_at": local_time(raw.get("dispatchedDate"))},
        refs={"location": ref(raw.get("fromBranchId")), "to_location": ref(raw.get("toBranchId"))},
        payload=raw,
    )


def cashflow(raw: dict[str, Any]) -> RecordRow:
    require(raw, "id", "amount")
    partner = ref(raw.get("partnerId")) if raw.get("partnerType") == "C" else None
    return RecordRow(
        f"cf:{raw['id']}",
        {"number": text(raw, "code"), "status": _status(CASHFLOW_STATUSES, raw.get("status")),
         "method": text(raw, "method"), "amount": number(raw["amount"], "amount"), "currency": CURRENCY,
         "paid_at": local_time(raw.get("transDate")), "direction": "in" if raw.get("isReceipt", True) else "out"},
        refs={"customer": partner, "account": ref(raw.get("accountId")), "invoice": ref(raw.get("invoiceId"))},
        payload=raw,
    )


def _lines(doc_ext: str, parent: str, details: Any, quantity_key: str = "quantity") -> list[RecordRow]:
    rows = []
    for n, line in enumerate(details or [], start=1):
        require(line, "productId")
        qty = number(line.get(quantity_key), quantity_key) or Decimal(0)
        price = number(line.get("price"), "price")
        discount = number(line.get("discount"), "discount")
        total = None if price is None else qty * price - (discount or 0)
        rows.append(RecordRow(
            f"{doc_ext}:{n}",
            {"line_no": n, "quantity": qty, "unit_price": price, "discount": discount, "total": total,
             "description": text(line, "productName")[:500]},
            refs={parent: doc_ext, "product": str(line["productId"])},
            payload=line,
        ))
    return rows


def order_lines(raw: dict[str, Any]) -> list[RecordRow]:
    return _lines(str(raw["id"]), "order", raw.get("orderDetails"))


def invoice_lines(raw: dict[str, Any]) -> list[RecordRow]:
    return _lines(str(raw["id"]), "invoice", raw.get("invoiceDetails"))


def return_lines(raw: dict[str, Any]) -> list[RecordRow]:
    return _lines(f"return:{raw['id']}", "invoice", raw.get("returnDetails"))


def purchase_order_lines(raw: dict[str, Any]) -> list[RecordRow]:
    return _lines(f"po:{raw['id']}", "order", raw.get("purchaseOrderDetails"))


def transfer_lines(raw: dict[str, Any]) -> list[RecordRow]:
    return _lines(f"transfer:{raw['id']}", "order", raw.get("transferDetails"), quantity_key="sendQuantity")


def invoice_payments(raw: dict[str, Any]) -> list[RecordRow]:
    rows = []
    for p in raw.get("payments") or []:
        require(p, "id", "amount")
        rows.append(RecordRow(
            f"pay:{p['id']}",
            {"number": text(p, "code"), "status": "paid", "method": text(p, "method"),
             "amount": number(p["amount"], "amount"), "currency": CURRENCY, "paid_at": local_time(p.get("transDate")),
             "direction": "in"},
            refs={"invoice": str(raw["id"]), "customer": ref(raw.get("customerId")),
                  "account": ref(p.get("accountId"))},
            payload=p,
        ))
    return rows


ExtraMapper = Callable[[dict[str, Any]], list[RecordRow]]

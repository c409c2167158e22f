"""iiko objects -> our records (field names as in records/models.py).

Foreign keys go in ``refs`` by the referenced record's iiko id; the upsert resolves them. XML values
arrive as xmltodict gives them (text, None, or {"#text", "@attr"}), so every read goes through
``xmlparse.text`` / ``ref``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import RecordRow
from connectors.errors import MappingError
from records.upsert import child_rows

from .xmlparse import as_list, first, ref, text

# iiko corporate item types -> our location kinds (the org units above restaurants become branches,
# so a restaurant keeps its parent chain: corporation -> legal entity -> restaurant -> store).
CORPORATE_KINDS = {"DEPARTMENT": "restaurant", "STORE": "store", "CENTRALSTORE": "warehouse"}


def _decimal(value: Any) -> Decimal | None:
    found = text(value)
    if found is None:
        return None
    try:
        return Decimal(found.replace(",", "."))
    except InvalidOperation:
        raise MappingError(f"not a number: {found!r}") from None


def _require(raw: dict[str, Any], *names: str) -> dict[str, str]:
    values = {n: text(raw.get(n)) for n in names}
    missing = [n for n, v in values.items() if v is None]
    if missing:
        raise MappingError(f"missing {', '.join(missing)}")
    return values  # type: ignore[return-value]


def _name(raw: dict[str, Any], kind: str) -> tuple[str, list[str]]:
    """iiko servers send an object's name as ``<name>`` or as ``<n>``; an object with neither is still
    synced, as "Unnamed <kind>", with a warning for the job (the name is the one thing it lacks)."""
    found = text(raw.get("name")) or text(raw.get("n"))
    if found is not None:
        return found, []
    placeholder = f"Unnamed {kind}"
    return placeholder, [f"no <name> or <n>: saved as {placeholder!r}"]


def corporate_item(raw: dict[str, Any]) -> RecordRow:
    """A department, store or other org unit (``corporateItemDto``) -> Location."""
    need = _require(raw, "id")
    kind = CORPORATE_KINDS.get(text(raw.get("type")) or "", "branch")
    name, warnings = _name(raw, kind)
    return RecordRow(
        external_id=need["id"],
        fields={"name": name, "code": text(raw.get("code")) or "", "kind": kind},
        refs={"parent": ref(raw.get("parentId"))},
        payload=raw,
        warnings=warnings,
    )


def supplier(raw: dict[str, Any]) -> RecordRow:
    """A counteragent with ``supplier=true`` (``employee`` element) -> Supplier."""
    need = _require(raw, "id")
    name, warnings = _name(raw, "supplier")
    return RecordRow(
        external_id=need["id"],
        warnings=warnings,
        fields={"name": name, "code": text(raw.get("code")) or "",
                "tax_id": text(raw.get("taxpayerIdNumber")) or "", "phone": text(raw.get("phone")) or "",
                "email": text(raw.get("email")) or "", "address": text(raw.get("address")) or ""},
        payload=raw,
    )


def product_group(raw: dict[str, Any]) -> RecordRow:
    need = _require(raw, "id", "name")
    return RecordRow(need["id"], {"name": need["name"]}, refs={"parent": ref(raw.get("parent"))}, payload=raw)


def product(raw: dict[str, Any]) -> RecordRow:
    """A v2 ProductDto (JSON). ``_mainUnitName`` is added by the stream from the measure units."""
    need = _require(raw, "id", "name")
    units = [{"name": c.get("name") or "", "factor": str(c.get("count")), "id": c.get("id")}
             for c in raw.get("containers") or [] if isinstance(c, dict) and not c.get("deleted")]
    return RecordRow(
        external_id=need["id"],
        fields={
            "sku": text(raw.get("num")) or "",
            "name": need["name"],
            "description": text(raw.get("description")) or "",
            "unit": raw.get("_mainUnitName") or "",
            "units": units,
            "price": _decimal(raw.get("defaultSalePrice")),
            "attributes": {k: raw.get(k) for k in ("type", "code", "mainUnit", "unitWeight", "unitCapacity",
                                                   "taxCategory", "category", "accountingCategory")
                           if raw.get(k) not in (None, "")},
            "is_active": not raw.get("deleted", False),
        },
        refs={"category": ref(raw.get("parent"))},
        payload=raw,
    )


def _datetime(value: Any, tz: ZoneInfo) -> datetime | None:
    found = text(value)
    if found is None:
        return None
    try:
        parsed = datetime.fromisoformat(found) if "." not in found[:10] else datetime.strptime(found, "%d.%m.%Y")
    except ValueError:
        raise MappingError(f"not a date: {found!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def invoice_items(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in as_list(raw.get("items"), "item") if isinstance(i, dict)]


def incoming_invoice(raw: dict[str, Any], tz: ZoneInfo, currency: str) -> RecordRow:
    """An incoming invoice (``document``) -> Invoice(kind=purchase) at its store, from its supplier."""
    need = _require(raw, "id")
    total = sum((_decimal(i.get("sum")) or Decimal(0) for i in invoice_items(raw)), Decimal(0))
    return RecordRow(
        external_id=need["id"],
        fields={"kind": "purchase", "number": text(raw.get("documentNumber")) or "",
                "status": text(raw.get("status")) or "", "total": total, "currency": currency,
                "issued_at": _datetime(raw.get("dateIncoming"), tz),
                "note": text(raw.get("comment")) or ""},
        refs={"supplier": first(raw, "supplier", "supplierId", read=ref),
              "location": first(raw, "defaultStore", "storeId", read=ref)},
        payload=raw,
    )


def invoice_lines(raw: dict[str, Any]) -> list[RecordRow]:
    """The invoice's items, bound as ``<invoice id>/<num>``."""
    lines = []
    for n, item in enumerate(invoice_items(raw), start=1):
        num = int(_decimal(item.get("num")) or n)
        lines.append(RecordRow(
            external_id=str(num),
            fields={"line_no": num, "quantity": first(item, "amount", "actualAmount", read=_decimal) or Decimal(0),
                    "unit_price": _decimal(item.get("price")), "total": _decimal(item.get("sum")),
                    "discount": _decimal(item.get("discountSum")),
                    "description": text(item.get("productArticle")) or ""},
            refs={"product": first(item, "product", "productId", read=ref)},
            payload=item,
        ))
    return child_rows("invoice", str(text(raw.get("id"))), lines)

"""1C objects -> our records (field names as in records/models.py).

References go in ``refs`` by the referenced object's ``Ref_Key``; the upsert resolves them. 1C's empty
reference is the all-zero GUID and its empty date ``0001-01-01T00:00:00``: both become None.
Property names the configuration may spell differently come from ``schemas.DEFAULT_FIELDS``,
overridden by the integration's ``properties`` (the stream puts the overrides on the record as
``_properties``; ``_``-prefixed keys are the hub's annotations, not 1C's).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import RecordRow
from connectors.errors import MappingError
from connectors.money import decimal
from records.upsert import child_rows

from .schemas import DEFAULT_FIELDS

NULL_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
# 1C's contact information kinds (the ``Тип`` enumeration of the КонтактнаяИнформация section) -> our fields.
CONTACT_TYPES = {"Телефон": "phone", "АдресЭлектроннойПочты": "email", "Адрес": "address"}
# A warehouse's type (УТ 11 enumeration ТипыСкладов) -> our location kind.
WAREHOUSE_KINDS = {"РозничныйМагазин": "store", "Оптовый": "warehouse"}
DOCUMENT_KINDS = {"sales": "sales", "purchases": "purchase"}


def props(raw: dict[str, Any]) -> dict[str, str]:
    return {**DEFAULT_FIELDS, **(raw.get("_properties") or {})}


def ref(value: Any) -> str | None:
    """A reference's GUID, or None for 1C's empty reference."""
    if value in (None, "", NULL_GUID):
        return None
    return str(value)


def key(raw: dict[str, Any]) -> str:
    found = ref(raw.get("Ref_Key"))
    if not found:
        raise MappingError("no Ref_Key")
    return found


def moment(value: Any, tz: str | None) -> datetime | None:
    """1C's dates carry no zone: they are the infobase's local time (``_tz``, default UTC)."""
    if value in (None, "", EMPTY_DATE):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise MappingError(f"not a date: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(tz or "UTC"))


def text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name) if name else None
    return "" if value is None else str(value).strip()


def _name(raw: dict[str, Any]) -> str:
    name = text(raw, "Description")
    if not name:
        raise MappingError("no Description")
    return name


# --- catalogs ---------------------------------------------------------------------------------------
def category(raw: dict[str, Any]) -> RecordRow:
    """A group of the nomenclature catalog (``IsFolder`` true)."""
    return RecordRow(key(raw), {"name": _name(raw)}, refs={"parent": ref(raw.get("Parent_Key"))}, payload=raw)


def product(raw: dict[str, Any]) -> RecordRow:
    """An item of the nomenclature catalog. ``_unit`` is the unit's name, looked up by the stream."""
    p = props(raw)
    name = _name(raw)
    code, article, full = text(raw, "Code"), text(raw, p["article"]), text(raw, p["full_name"])
    return RecordRow(
        external_id=key(raw),
        fields={
            "sku": article or code,
            "name": name,
            "description": full if full != name else "",
            "unit": str(raw.get("_unit") or ""),
            "attributes": {k: v for k, v in (("code", code), ("article", article), ("full_name", full),
                                             ("unit_key", ref(raw.get(p["unit"])) if p["unit"] else None)) if v},
            "is_active": not raw.get("DeletionMark", False),
        },
        refs={"category": ref(raw.get("Parent_Key"))},
        payload=raw,
    )


def counterparty(raw: dict[str, Any]) -> RecordRow:
    """A counterparty -> Supplier or Customer (same fields). Phone, e-mail and address come from the
    contact information tabular section (the first of each type)."""
    p = props(raw)
    contacts: dict[str, str] = {}
    for line in raw.get(p["contacts"]) or [] if p["contacts"] else []:
        field = CONTACT_TYPES.get(str(line.get("Тип", ""))) if isinstance(line, dict) else None
        if field and field not in contacts and line.get("Представление"):
            contacts[field] = str(line["Представление"])
    return RecordRow(
        external_id=key(raw),
        fields={"name": _name(raw), "code": text(raw, "Code"), "tax_id": text(raw, p["tax_id"]),
                "phone": contacts.get("phone", ""), "email": contacts.get("email", ""),
                "address": contacts.get("address", "")},
        payload=raw,
    )


def warehouse(raw: dict[str, Any]) -> RecordRow:
    return RecordRow(
        external_id=key(raw),
        fields={"name": _name(raw), "code": text(raw, "Code"),
                "kind": WAREHOUSE_KINDS.get(text(raw, props(raw)["warehouse_type"]), "warehouse")},
        payload=raw,
    )


# --- registers --------------------------------------------------------------------------------------
def price(raw: dict[str, Any]) -> RecordRow:
    """A row of the price register's last slice -> a price-book price of the product.
    ``_price_type`` is the price type's name (looked up by the stream; its Ref_Key if unknown)."""
    p = props(raw)
    product_key, type_key = ref(raw.get(p["product"])), ref(raw.get(p["price_type"]))
    if not product_key or not type_key:
        raise MappingError(f"a price without {p['product'] if not product_key else p['price_type']}")
    characteristic = ref(raw.get(p["characteristic"])) if p["characteristic"] else None
    ext = f"price:{type_key}:{product_key}" + (f":{characteristic}" if characteristic else "")
    amount = decimal(raw.get(p["price"]))
    if amount is None:
        raise MappingError(f"no {p['price']}")
    return RecordRow(
        external_id=ext,
        fields={"kind": "price", "name": str(raw.get("_price_type") or type_key), "amount": amount,
                "data": {k: v for k, v in (("price_type_key", type_key), ("characteristic_key", characteristic),
                                           ("period", raw.get("Period"))) if v}},
        refs={"product": product_key},
        payload=raw,
    )


def stock(raw: dict[str, Any]) -> RecordRow:
    """A row of the goods-in-warehouses register's ``Balance`` -> a stock level."""
    p = props(raw)
    product_key, place = ref(raw.get(p["product"])), ref(raw.get(p["warehouse"]))
    if not product_key or not place:
        raise MappingError(f"a balance without {p['product'] if not product_key else p['warehouse']}")
    characteristic = ref(raw.get(p["characteristic"])) if p["characteristic"] else None
    reserved = decimal(raw.get(f"{p['stock_reserved']}Balance")) if p["stock_reserved"] else None
    return RecordRow(
        external_id=f"{product_key}:{place}" + (f":{characteristic}" if characteristic else ""),
        fields={"quantity": decimal(raw.get(f"{p['stock_quantity']}Balance")) or Decimal(0),
                "reserved": reserved or Decimal(0)},
        refs={"product": product_key, "location": place},
        payload=raw,
    )


# --- documents --------------------------------------------------------------------------------------
def _document_fields(raw: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
    number = text(raw, "Number")
    if not number:
        raise MappingError("no Number")
    status = text(raw, p["status"]) if p["status"] else ""
    return {"number": number, "status": status or ("posted" if raw.get("Posted") else "not posted"),
            "total": decimal(raw.get(p["document_total"])) if p["document_total"] else None,
            "currency": str(raw.get("_currency") or ""), "note": text(raw, p["comment"])}


def order(raw: dict[str, Any]) -> RecordRow:
    """A customer order -> Order (kind sales)."""
    p = props(raw)
    return RecordRow(
        external_id=key(raw),
        fields={**_document_fields(raw, p), "kind": "sales", "ordered_at": moment(raw.get("Date"), raw.get("_tz"))},
        refs={"customer": ref(raw.get(p["counterparty"])), "location": ref(raw.get(p["warehouse"]))},
        payload=raw,
    )


def invoice(stream: str):
    """Sales (``РеализацияТоваровУслуг``) or purchase (``ПриобретениеТоваровУслуг``) documents -> Invoice."""
    kind = DOCUMENT_KINDS[stream]
    party = "customer" if kind == "sales" else "supplier"

    def mapper(raw: dict[str, Any]) -> RecordRow:
        p = props(raw)
        refs = {party: ref(raw.get(p["counterparty"])), "location": ref(raw.get(p["warehouse"]))}
        if kind == "sales" and p["order"]:
            refs["order"] = ref(raw.get(p["order"]))
        return RecordRow(
            external_id=key(raw),
            fields={**_document_fields(raw, p), "kind": kind, "issued_at": moment(raw.get("Date"), raw.get("_tz"))},
            refs=refs,
            payload=raw,
        )

    return mapper


def lines(raw: dict[str, Any], parent: str) -> list[RecordRow]:
    """The document's goods tabular section -> its lines, bound as ``<Ref_Key>/<LineNumber>``."""
    p = props(raw)
    rows = []
    for line in raw.get(p["lines"]) or []:
        if not isinstance(line, dict):
            continue
        number = str(line.get("LineNumber") or len(rows) + 1)
        rows.append(RecordRow(
            external_id=number,
            fields={"line_no": int(number) if number.isdigit() else len(rows) + 1,
                    "quantity": decimal(line.get(p["quantity"])) or Decimal(0),
                    "unit_price": decimal(line.get(p["price"])), "total": decimal(line.get(p["amount"])),
                    "discount": decimal(line.get(p["discount"])) if p["discount"] else None},
            refs={"product": ref(line.get(p["product"]))},
            payload=line,
        ))
    return child_rows(parent, key(raw), rows)

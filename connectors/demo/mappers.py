"""Demo Store records -> our records (field names as in records/models.py).

Foreign keys go in ``refs`` by the referenced record's external id; the upsert resolves them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from connectors.base import RecordRow
from connectors.errors import MappingError
from connectors.money import decimal

LOCATION_KINDS = {"store": "store", "warehouse": "warehouse", "branch": "branch"}


def _ref(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _require(raw: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if raw.get(n) in (None, "")]
    if missing:
        raise MappingError(f"missing {', '.join(missing)}")


def location(raw: dict[str, Any]) -> RecordRow:
    _require(raw, "id", "name")
    return RecordRow(
        external_id=str(raw["id"]),
        fields={"name": raw["name"], "code": raw.get("code") or "",
                "kind": LOCATION_KINDS.get(raw.get("kind"), "branch"),
                "address": raw.get("address") or "", "phone": raw.get("phone") or ""},
        payload=raw,
    )


def category(raw: dict[str, Any]) -> RecordRow:
    _require(raw, "id", "name")
    return RecordRow(str(raw["id"]), {"name": raw["name"]}, refs={"parent": _ref(raw.get("parent_id"))}, payload=raw)


def product(raw: dict[str, Any]) -> RecordRow:
    """``price`` is the configured price list's price (the API adds it when asked for a list)."""
    _require(raw, "id", "name")
    prices = raw.get("prices") or {}
    price = raw["price"] if "price" in raw else prices.get("retail")
    return RecordRow(
        external_id=str(raw["id"]),
        fields={
            "sku": raw.get("sku") or "",
            "barcode": raw.get("barcode") or "",
            "name": raw["name"],
            "description": raw.get("description") or "",
            "unit": raw.get("unit") or "",
            "price": decimal(price),
            "cost": decimal(raw.get("cost")),
            "currency": raw.get("currency") or "",
            "prices": prices,
            "is_active": bool(raw.get("is_active", True)),
        },
        refs={"category": _ref(raw.get("category_id"))},
        payload=raw,
    )


def stock_level(raw: dict[str, Any]) -> RecordRow:
    _require(raw, "id", "product_id", "location_id")
    return RecordRow(
        external_id=str(raw["id"]),
        fields={"quantity": decimal(raw.get("quantity")) or Decimal(0),
                "reserved": decimal(raw.get("reserved")) or Decimal(0)},
        refs={"product": str(raw["product_id"]), "location": str(raw["location_id"])},
        payload=raw,
    )


def customer(raw: dict[str, Any]) -> RecordRow:
    _require(raw, "id", "name")
    return RecordRow(
        external_id=str(raw["id"]),
        fields={k: raw.get(k) or "" for k in ("name", "code", "email", "phone", "address", "tax_id")},
        payload=raw,
    )


def order(raw: dict[str, Any]) -> RecordRow:
    _require(raw, "id")
    ordered_at = parse_datetime(raw["ordered_at"]) if raw.get("ordered_at") else None
    return RecordRow(
        external_id=str(raw["id"]),
        fields={"kind": "sales", "number": raw.get("number") or "", "status": raw.get("status") or "",
                "total": decimal(raw.get("total")), "currency": raw.get("currency") or "",
                "note": raw.get("note") or "", "ordered_at": ordered_at},
        refs={"customer": _ref(raw.get("customer_id")), "location": _ref(raw.get("location_id"))},
        payload=raw,
    )


def order_lines(raw: dict[str, Any]) -> list[RecordRow]:
    """An order's lines, each bound as "<order id>:<line no>" (lines have no id of their own)."""
    rows = []
    for n, line in enumerate(raw.get("lines") or [], start=1):
        line_no = int(line.get("line_no") or n)
        rows.append(RecordRow(
            external_id=f"{raw['id']}:{line_no}",
            fields={"line_no": line_no, "quantity": decimal(line.get("quantity")) or Decimal(0),
                    "unit_price": decimal(line.get("price")), "total": decimal(line.get("total")),
                    "description": line.get("description") or ""},
            refs={"order": str(raw["id"]), "product": _ref(line.get("product_id"))},
            payload=line,
        ))
    return rows

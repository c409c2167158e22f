"""Data of the generic REST sandbox, generated per account from the record number (nothing stored but
the account's sizes, touched items, faults and token generation)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandboxes.state import SandboxStore

BASE_TS = 1767225600  # 2026-01-01T00:00:00Z: item i was last updated at BASE_TS + i, unless touched since
DEFAULT_SIZES = {"items": 10_000, "categories": 20, "customers": 250, "orders": 300, "locations": 4}
MAX_SIZE = 200_000
RESOURCES = tuple(DEFAULT_SIZES)
VARIANTS = ("Red", "Blue", None)


def new_state(account: str) -> dict[str, Any]:
    return {"sizes": dict(DEFAULT_SIZES), "touched": {}, "faults": [], "token_ttl": 3600, "token_gen": 0}


STORE = SandboxStore("sandbox:rest", new_state)


def load_state(account: str) -> dict[str, Any]:
    return STORE.load(account)


@contextmanager
def locked_state(account: str) -> Iterator[dict[str, Any]]:
    with STORE.locked(account) as state:
        yield state


def count(account: str, what: str) -> int:
    return STORE.count(account, what)


def to_iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> int:
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return int(stamp.timestamp())


def size(state: dict[str, Any], resource: str) -> int:
    return int(state["sizes"].get(resource, 0))


# --- items: the large resource, incremental by updated_at ----------------------------------------
def item_updated(state: dict[str, Any], i: int) -> tuple[int, int]:
    """(updated_at epoch, version) of item ``i``."""
    touched = state["touched"].get(str(i))
    return (int(touched[0]), int(touched[1])) if touched else (BASE_TS + i, 0)


def item_keys(state: dict[str, Any], since: int | None) -> list[tuple[int, int]]:
    """(updated_at, number) of every item updated at or after ``since``, in that order."""
    n = size(state, "items")
    if not state["touched"]:  # untouched: already in order, no sort needed
        first = 1 if since is None else max(1, since - BASE_TS)
        return [(BASE_TS + i, i) for i in range(first, n + 1)]
    keys = [(item_updated(state, i)[0], i) for i in range(1, n + 1)]
    if since is not None:
        keys = [k for k in keys if k[0] >= since]
    keys.sort()
    return keys


def item(state: dict[str, Any], i: int) -> dict[str, Any]:
    updated, version = item_updated(state, i)
    released = dt.date(2025, 1, 1) + dt.timedelta(days=i % 365)
    return {
        "id": f"itm-{i:05d}",
        "title": f"Item {i}",
        "variant": VARIANTS[i % 3],
        "sku": f"sku-{i:05d}",
        "ean": 4006381000000 + i,
        "price_cents": 100 + (i * 37) % 10_000 + version * 100,
        "cost": f"{(i * 13) % 500 / 7:.3f}",
        "currency": None if i % 5 == 0 else "eur",
        "unit": "PCS",
        "status": "D" if i % 7 == 0 else "A",
        "released": released.strftime("%d.%m.%Y"),
        "updated_at": to_iso(updated),
        "weight_kg": f"{(i % 2000) / 1000:.3f}",
        "category": {"id": f"cat-{i % max(size(state, 'categories'), 1) + 1}"},
    }


def touch(state: dict[str, Any], start: int, how_many: int) -> list[str]:
    """Change ``how_many`` items from ``start`` (price up, updated now); their ids."""
    now = max(int(time.time()), BASE_TS + size(state, "items") + 1)
    ids = []
    for i in range(start, min(start + how_many, size(state, "items") + 1)):
        _, version = item_updated(state, i)
        state["touched"][str(i)] = [now, version + 1]
        ids.append(f"itm-{i:05d}")
    return ids


# --- the small resources --------------------------------------------------------------------------
def category(state: dict[str, Any], i: int) -> dict[str, Any]:
    return {"id": f"cat-{i}", "name": f"Category {i}"}


def customer(state: dict[str, Any], i: int) -> dict[str, Any]:
    return {"id": i, "full_name": f"Customer {i}", "contact": {"email": f"customer{i}@example.com",
                                                                "phone": f"+1555{i:07d}"}}


def order(state: dict[str, Any], i: int) -> dict[str, Any]:
    return {"id": f"ord-{i}", "number": f"SO-{i:05d}", "customer_id": i % max(size(state, "customers"), 1) + 1,
            "total": f"{(i * 731) % 100_000 / 100:.2f}", "placed_at": to_iso(BASE_TS + 3600 * i)}


def location(state: dict[str, Any], i: int) -> dict[str, Any]:
    return {"id": f"loc-{i}", "name": f"Store {i}", "city": ("Hanoi", "Tashkent", "Almaty", "Bishkek")[i % 4]}


RECORDS = {"categories": category, "customers": customer, "orders": order, "locations": location}

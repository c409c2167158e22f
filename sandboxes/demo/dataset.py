"""The Demo Store's data: generated from a seed per account, so any size costs nothing to keep.

An account's state is small (seed, sizes, a log of changes and deletions, faults, token
generation) and lives in the Django cache, so every process serving the sandbox sees the same
data. Record ``id`` of entity E is a pure function of (seed, E, id); changes overlay it.

Ordering: without ``updated_since`` records come by id; with it, by (modified_at, id). Generated
records are modified at ``BASE_EPOCH + id`` microseconds (so they sort like their ids, long before
any change), changed records at the change's time (strictly increasing per account).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes.state import SandboxStore

BASE_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
UNIX = datetime(1970, 1, 1, tzinfo=UTC)
BASE_EPOCH_US = (BASE_EPOCH - UNIX) // timedelta(microseconds=1)
# Products created through the API get ids from here on (generated ids stay below).
CREATED_ID_START = 1_000_000
# Stock rows: id = product_id * STOCK_ID_FACTOR + location_id.
STOCK_ID_FACTOR = 1000
MAX_LOCATIONS = STOCK_ID_FACTOR - 1
DEFAULT_SIZES = {"locations": 5, "categories": 30, "products": 200, "customers": 50, "orders": 100}
ENTITIES = ("locations", "categories", "products", "stock", "customers", "orders")

ADJECTIVES = ("Fresh", "Organic", "Classic", "Spicy", "Golden", "Smoked", "Crispy", "Sweet", "Green", "Royal",
              "Rustic", "Creamy", "Wild", "Premium", "Daily", "Mountain")
NOUNS = ("Apple Juice", "Rye Bread", "Cheddar", "Green Tea", "Olive Oil", "Coffee Beans", "Rice", "Honey",
         "Yogurt", "Chocolate", "Pasta", "Tomato Sauce", "Almonds", "Butter", "Salmon", "Lemonade")
CATEGORY_WORDS = ("Beverages", "Bakery", "Dairy", "Snacks", "Frozen", "Produce", "Pantry", "Meat", "Seafood",
                  "Household", "Personal Care", "Baby", "Pet", "Deli", "Sweets", "Spices")
CITIES = ("Tashkent", "Hanoi", "Almaty", "Samarkand", "Da Nang", "Bukhara", "Hue", "Osh")
FIRST = ("Aziz", "Linh", "Dilnoza", "Minh", "Olga", "Timur", "Mai", "Sardor", "Anna", "Bao")
LAST = ("Karimov", "Nguyen", "Petrova", "Tran", "Usmanov", "Le", "Ivanova", "Pham", "Rakhimov", "Do")
UNITS = ("pcs", "kg", "l", "box", "pack")
ORDER_STATUSES = ("paid", "shipped", "completed", "completed", "completed")


# --- time -----------------------------------------------------------------------------------------
def now_us() -> int:
    return time.time_ns() // 1000


def to_iso(ts_us: int) -> str:
    return (UNIX + timedelta(microseconds=ts_us)).isoformat().replace("+00:00", "Z")


def parse_iso(value: str) -> int:
    """ISO 8601 (naive = UTC) to microseconds since the Unix epoch; ValueError if unreadable."""
    dt = datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - UNIX) // timedelta(microseconds=1)


# --- accounts -------------------------------------------------------------------------------------
def account_secret(client_id: str) -> str:
    """The sandbox's client secret for ``client_id`` (a documented sandbox convention)."""
    return f"{client_id}-secret"


def credentials_for(client_id: str) -> dict[str, str]:
    return {"client_id": client_id, "client_secret": account_secret(client_id)}


def check_secret(client_id: str, client_secret: str) -> bool:
    return bool(client_id) and hmac.compare_digest(account_secret(client_id).encode(), (client_secret or "").encode())


def new_state(client_id: str) -> dict[str, Any]:
    return {
        "seed": int(hashlib.sha256(client_id.encode()).hexdigest()[:12], 16),
        "sizes": dict(DEFAULT_SIZES),
        "last_ts": 0,
        "token_gen": 0,
        "token_ttl": 3600,
        "changes": {},  # entity -> {id: {"ts": µs, "fields": {...}, "created": bool}}
        "deleted": {},  # entity -> {id: µs}
        "next_created": CREATED_ID_START,
        "faults": [],
        "webhook": None,
    }


STATE = SandboxStore("demo-sandbox", new_state)
load_state = STATE.load
locked_state = STATE.locked
count = STATE.count
counter = STATE.counter


def reset(client_id: str) -> None:
    STATE.forget(client_id, "state", "requests", "token_requests")


def next_change_ts(state: dict[str, Any]) -> int:
    ts = max(now_us(), state["last_ts"] + 1)
    state["last_ts"] = ts
    return ts


# --- generation -----------------------------------------------------------------------------------
def _rng(state: dict[str, Any], entity: str, rid: int) -> random.Random:
    return random.Random(f"{state['seed']}:{entity}:{rid}")


def _money(value: float) -> str:
    return f"{value:.2f}"


def _ean13(rng: random.Random) -> str:
    digits = [int(d) for d in str(rng.randrange(10**11, 10**12))]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _location(state, rng, rid):
    kind = "warehouse" if rid % 4 == 0 else "store"
    city = CITIES[rid % len(CITIES)]
    return {"name": f"{city} {kind.title()} {rid}", "code": f"L{rid:03d}", "kind": kind,
            "address": f"{rng.randint(1, 200)} Main St, {city}", "phone": f"+998 71 {rng.randint(1000000, 9999999)}"}


def _category(state, rng, rid):
    roots = max(1, state["sizes"]["categories"] // 5)
    parent = None if rid <= roots else rng.randint(1, rid - 1)
    return {"name": f"{CATEGORY_WORDS[rid % len(CATEGORY_WORDS)]} {rid}", "parent_id": parent}


def _product(state, rng, rid):
    retail = rng.randint(100, 20000) / 100
    return {
        "category_id": rng.randint(1, max(1, state["sizes"]["categories"])),
        "sku": f"SKU-{rid:06d}",
        "barcode": _ean13(rng),
        "name": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} #{rid}",
        "description": "",
        "unit": rng.choice(UNITS),
        "prices": {"retail": _money(retail), "wholesale": _money(retail * 0.85)},
        "cost": _money(retail * 0.6),
        "currency": "USD",
        "is_active": rng.random() > 0.05,
    }


def _stock(state, rng, rid):
    product_id, location_id = divmod(rid, STOCK_ID_FACTOR)
    return {"product_id": product_id, "location_id": location_id,
            "quantity": f"{rng.randint(0, 500)}.000", "reserved": f"{rng.randint(0, 5)}.000"}


def _customer(state, rng, rid):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {"code": f"C{rid:05d}", "name": f"{first} {last}", "email": f"{first}.{last}{rid}@example.com".lower(),
            "phone": f"+84 90 {rng.randint(1000000, 9999999)}", "address": rng.choice(CITIES), "tax_id": ""}


def _order(state, rng, rid):
    sizes = state["sizes"]
    lines = []
    for n in range(1, rng.randint(1, 4) + 1):
        qty, price = rng.randint(1, 5), rng.randint(100, 20000) / 100
        lines.append({"line_no": n, "product_id": rng.randint(1, max(1, sizes["products"])),
                      "quantity": f"{qty}.000", "price": _money(price), "total": _money(qty * price)})
    return {
        "number": f"SO-{rid:06d}",
        "customer_id": rng.randint(1, max(1, sizes["customers"])),
        "location_id": rng.randint(1, max(1, sizes["locations"])),
        "status": rng.choice(ORDER_STATUSES),
        "ordered_at": to_iso(BASE_EPOCH_US - (sizes["orders"] - rid + 1) * 60_000_000),
        "currency": "USD",
        "lines": lines,
        "total": _money(sum(float(line["total"]) for line in lines)),
    }


GENERATORS = {"locations": _location, "categories": _category, "products": _product, "stock": _stock,
              "customers": _customer, "orders": _order}


def size(state: dict[str, Any], entity: str) -> int:
    return int(state["sizes"].get(entity, 0))


def base_ids(state: dict[str, Any], entity: str, start: int = 1) -> Iterator[int]:
    """Ids of generated records, ascending from ``start``."""
    start = max(start, 1)
    if entity != "stock":
        yield from range(start, size(state, entity) + 1)
        return
    locations = min(size(state, "locations"), MAX_LOCATIONS)
    for product_id in range(max(start // STOCK_ID_FACTOR, 1), size(state, "products") + 1):
        for location_id in range(1, locations + 1):
            rid = product_id * STOCK_ID_FACTOR + location_id
            if rid >= start:
                yield rid


def base_exists(state: dict[str, Any], entity: str, rid: int) -> bool:
    if entity == "stock":
        product_id, location_id = divmod(rid, STOCK_ID_FACTOR)
        return 1 <= product_id <= size(state, "products") and 1 <= location_id <= min(
            size(state, "locations"), MAX_LOCATIONS)
    return 1 <= rid <= size(state, entity)


def deleted_at(state: dict[str, Any], entity: str, rid: int) -> int | None:
    ts = state["deleted"].get(entity, {}).get(str(rid))
    if ts is None and entity == "stock":  # a deleted product takes its stock rows with it
        ts = state["deleted"].get("products", {}).get(str(rid // STOCK_ID_FACTOR))
    return ts


def record(state: dict[str, Any], entity: str, rid: int) -> dict[str, Any] | None:
    """The current record, or None if it does not exist (or was deleted)."""
    if deleted_at(state, entity, rid) is not None:
        return None
    change = state["changes"].get(entity, {}).get(str(rid))
    if change and change.get("created"):
        data, ts = dict(change["fields"]), change["ts"]
    elif base_exists(state, entity, rid):
        data = GENERATORS[entity](state, _rng(state, entity, rid), rid)
        ts = BASE_EPOCH_US + rid
        if change:
            data.update(change["fields"])
            ts = change["ts"]
    else:
        return None
    return {"id": rid, **data, "modified_at": to_iso(ts)}


# --- ordered listing ------------------------------------------------------------------------------
def ordered_keys(state: dict[str, Any], entity: str, since: int | None, after: tuple[int, int] | None
                 ) -> Iterator[tuple[int, int]]:
    """(sort timestamp, id) of live records in listing order, strictly after ``after``.

    Without ``since`` the order is by id (the timestamp part is 0); with it, by (modified_at, id).
    """
    changes = state["changes"].get(entity, {})
    created = sorted(int(k) for k, c in changes.items() if c.get("created"))

    def live(rid: int) -> bool:
        return deleted_at(state, entity, rid) is None

    if since is None:
        after_id = after[1] if after else 0
        for rid in base_ids(state, entity, after_id + 1):
            if live(rid):
                yield 0, rid
        for rid in created:
            if rid > after_id and live(rid):
                yield 0, rid
        return
    # Generated, never changed records: modified at BASE_EPOCH + id, so by-id order is by-time order.
    start = since - BASE_EPOCH_US
    if after:
        start = max(start, after[0] - BASE_EPOCH_US + 1)
    for rid in base_ids(state, entity, start):
        if str(rid) not in changes and live(rid):
            yield BASE_EPOCH_US + rid, rid
    # Changed or created records, all modified after every generated one.
    changed = sorted((c["ts"], int(k)) for k, c in changes.items() if c["ts"] >= since)
    for key in changed:
        if (after is None or key > after) and live(key[1]):
            yield key


def deletions(state: dict[str, Any], entity: str, since: int) -> list[tuple[int, int]]:
    """(deleted_at, id) of records of ``entity`` deleted at or after ``since``, in that order."""
    items = [(ts, int(rid)) for rid, ts in state["deleted"].get(entity, {}).items() if ts >= since]
    if entity == "stock":
        locations = min(size(state, "locations"), MAX_LOCATIONS)
        for pid, ts in state["deleted"].get("products", {}).items():
            if ts >= since and int(pid) < CREATED_ID_START:
                items += [(ts, int(pid) * STOCK_ID_FACTOR + loc) for loc in range(1, locations + 1)]
    return sorted(set(items))

"""The iiko sandbox's data: generated from a seed per login, so any size costs nothing to keep.

An account's state (seed, sizes, revision counter, changes, open tokens, faults) is small and lives
in the Django cache, so every process serving the sandbox sees the same server. Record ``n`` of an
entity is a pure function of (seed, entity, n); changes overlay it with a newer revision.

Revisions: every generated object has revision 1; each change or deletion takes the next number of
the account's counter, as on a real server (``revisionFrom=R`` lists objects with revision > R).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.cache import cache

from sandboxes.state import SandboxStore

DEFAULT_SIZES = {"restaurants": 4, "stores": 6, "suppliers": 12, "groups": 5, "products": 40, "invoices": 15,
                 "lines": 3, "invoice_days": 30}
MAX_SIZES = {"restaurants": 1000, "stores": 5000, "suppliers": 100_000, "groups": 10_000, "products": 500_000,
             "invoices": 200_000, "lines": 100, "invoice_days": 3660}
BASE_REVISION = 1
LICENCE_MODULE = "28008806"  # iikoServer API module id (licence/info?moduleId=...)

# Measure units are server-wide constants on a real iiko (the same GUIDs on every server).
UNITS = [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"iiko-unit:{code}")), code, name) for code, name in (
    ("кг", "Килограмм"), ("л", "Литр"), ("шт", "Штука"), ("порц", "Порция"), ("уп", "Упаковка"))]
WORDS = ("Байкал", "Волга", "Сибирь", "Самовар", "Пельменная", "Черёмушки", "Арбат", "Нева", "Таврида", "Алтай",
         "Кама", "Ладога")
GOODS = ("Сок яблочный 0,2 л", "Молоко 3,2%", "Сметана 20%", "Мука пшеничная", "Говядина охлаждённая",
         "Картофель", "Лук репчатый", "Сыр «Российский»", "Кофе зерновой", "Сахар-песок", "Масло сливочное",
         "Яйцо куриное С0", "Борщ московский", "Пельмени домашние", "Чай чёрный", "Сельдь солёная")
GROUP_WORDS = ("Напитки", "Молочная продукция", "Бакалея", "Мясо", "Овощи", "Кухня", "Бар", "Заготовки",
               "Десерты", "Рыба")
STORE_KINDS = ("Основной склад", "Бар", "Кухня")


def now() -> float:
    return time.time()


# --- accounts -------------------------------------------------------------------------------------
def password_for(login: str) -> str:
    """The sandbox's password of ``login`` (a documented sandbox convention)."""
    return f"{login}-password"


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest()


def check_password(login: str, pass_hash: str) -> bool:
    return bool(login) and hmac.compare_digest(sha1_hex(password_for(login)), (pass_hash or "").lower())


def token_key(token: str) -> str:
    return f"iiko-sandbox:token:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def new_state(login: str) -> dict[str, Any]:
    return {
        "seed": int(hashlib.sha256(login.encode()).hexdigest()[:12], 16),
        "sizes": dict(DEFAULT_SIZES),
        "invoice_start": (datetime.now(UTC).date() - timedelta(days=DEFAULT_SIZES["invoice_days"] - 1)).isoformat(),
        "revision": BASE_REVISION,
        "changes": {},  # entity -> {n: {"revision": r, "fields": {...}}}
        "deleted": {},  # entity -> {n: revision}
        "created": {},  # entity -> [revision of object size+1, of size+2, ...]: objects added later
        "seats": 2,
        "token_ttl": 3600,
        "tokens": {},  # token -> idle expiry (epoch seconds)
        "logins": 0,
        "logouts": 0,
        "faults": [],
    }


STATE = SandboxStore("iiko-sandbox", new_state)
load_state = STATE.load
locked_state = STATE.locked


def count_request(login: str) -> int:
    return STATE.count(login, "requests")


def requests_so_far(login: str) -> int:
    return STATE.counter(login, "requests")


def reset(login: str) -> None:
    for token in load_state(login)["tokens"]:
        cache.delete(token_key(token))
    STATE.forget(login, "state", "requests")


def live_tokens(state: dict[str, Any], at: float | None = None) -> dict[str, float]:
    at = now() if at is None else at
    return {t: exp for t, exp in state["tokens"].items() if exp > at}


def bump_revision(state: dict[str, Any]) -> int:
    state["revision"] += 1
    return state["revision"]


# --- generation -----------------------------------------------------------------------------------
def guid(state: dict[str, Any], entity: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{state['seed']}:{entity}:{n}"))


def _rng(state: dict[str, Any], entity: str, n: int) -> random.Random:
    return random.Random(f"{state['seed']}:{entity}:{n}")


def size(state: dict[str, Any], entity: str) -> int:
    return int(state["sizes"][entity])


def jurpersons(state: dict[str, Any]) -> int:
    return max(1, size(state, "restaurants") // 10)


def _corporation(state, n):
    return {"id": guid(state, "corporation", 1), "parentId": None, "code": "1", "name": "Сеть «Тестовая»",
            "type": "CORPORATION"}


def _jurperson(state, n):
    return {"id": guid(state, "jurperson", n), "parentId": guid(state, "corporation", 1), "code": f"J{n}",
            "name": f"ООО «Ресторанная группа {n}»", "type": "JURPERSON", "taxpayerIdNumber": f"77{n:08d}"}


def _restaurant(state, n):
    word = WORDS[n % len(WORDS)]
    return {"id": guid(state, "restaurant", n), "parentId": guid(state, "jurperson", (n - 1) % jurpersons(state) + 1),
            "code": str(100 + n), "name": f"Ресторан «{word}» №{n}", "type": "DEPARTMENT"}


def store_restaurant(state: dict[str, Any], n: int) -> int:
    return (n - 1) % max(1, size(state, "restaurants")) + 1


def _store(state, n):
    r = store_restaurant(state, n)
    kind = STORE_KINDS[((n - 1) // max(1, size(state, "restaurants"))) % len(STORE_KINDS)]
    return {"id": guid(state, "store", n), "parentId": guid(state, "restaurant", r), "code": f"S{n:03d}",
            "name": f"{kind} ({WORDS[r % len(WORDS)]} №{r})", "type": "STORE"}


def _supplier(state, n):
    rng = _rng(state, "supplier", n)
    rec = {"id": guid(state, "supplier", n), "code": f"П-{n:04d}",
           "name": f"ООО «{rng.choice(WORDS)}-{rng.choice(GROUP_WORDS)}» {n}",
           "taxpayerIdNumber": str(rng.randrange(10**9, 10**10)), "phone": f"+7 495 {rng.randrange(10**6, 10**7)}",
           "deleted": False, "supplier": True, "employee": False, "client": False}
    if n % 3:  # optional elements: a third of the suppliers have neither e-mail nor address
        rec["email"] = f"supplier{n}@example.ru"
        rec["address"] = f"г. Москва, ул. {rng.choice(WORDS)}, д. {rng.randint(1, 99)}"
    return rec


def _group(state, n):
    rng = _rng(state, "group", n)
    roots = max(1, size(state, "groups") // 4)
    parent = None if n <= roots else guid(state, "group", rng.randint(1, n - 1))
    return {"id": guid(state, "group", n), "deleted": False, "name": f"{GROUP_WORDS[n % len(GROUP_WORDS)]} {n}",
            "num": f"G{n:04d}", "code": str(n), "parent": parent}


def _product(state, n):
    rng = _rng(state, "product", n)
    unit = UNITS[rng.randrange(len(UNITS))]
    groups = size(state, "groups")
    rec = {"id": guid(state, "product", n), "deleted": False, "name": f"{rng.choice(GOODS)} #{n}",
           "description": "", "num": f"{n:05d}", "code": str(n),
           "parent": guid(state, "group", rng.randint(1, groups)) if groups else None,
           "type": "DISH" if n % 5 == 0 else "GOODS", "mainUnit": unit[0],
           "defaultSalePrice": round(rng.randint(3000, 250000) / 100, 2), "unitWeight": round(rng.random(), 3),
           "unitCapacity": 0.0, "taxCategory": None, "category": None, "modifiers": [], "notInStoreMovement": False,
           "containers": []}
    if n % 4 == 0:
        rec["containers"] = [{"id": guid(state, "container", n), "num": "1", "name": "Коробка",
                              "count": float(rng.choice((6, 10, 12, 24))), "deleted": False}]
    return rec


def invoice_date(state: dict[str, Any], k: int) -> date:
    days, count = size(state, "invoice_days"), max(1, size(state, "invoices"))
    return date.fromisoformat(state["invoice_start"]) + timedelta(days=(k - 1) * days // count)


def _invoice(state, k):
    rng = _rng(state, "invoice", k)
    stores, products = size(state, "stores"), size(state, "products")
    supplier = guid(state, "supplier", rng.randint(1, max(1, size(state, "suppliers"))))
    store = guid(state, "store", rng.randint(1, max(1, stores)))
    day = invoice_date(state, k)
    items = []
    for num in range(1, size(state, "lines") + 1):
        p = rng.randint(1, max(1, products))
        unit = UNITS[_rng(state, "product", p).randrange(len(UNITS))]
        amount, price = rng.randint(1, 400) / 4, rng.randint(100, 90000) / 100
        total = round(amount * price, 2)
        items.append({"num": num, "product": guid(state, "product", p), "productArticle": f"{p:05d}",
                      "store": store, "amount": f"{amount:.3f}", "actualAmount": f"{amount:.3f}",
                      "amountUnit": unit[0], "unit_name": unit[1], "price": f"{price:.2f}", "sum": f"{total:.2f}",
                      "vatPercent": "20", "vatSum": f"{total / 6:.2f}", "discountSum": "0"})
    return {"id": guid(state, "invoice", k), "documentNumber": f"{k:05d}",
            "dateIncoming": f"{day.isoformat()}T{8 + k % 10:02d}:{k % 60:02d}:00",
            "incomingDocumentNumber": f"ТН-{k:04d}", "incomingDate": (day - timedelta(days=1)).isoformat(),
            "supplier": supplier, "defaultStore": store,
            "status": "NEW" if k % 11 == 0 else "PROCESSED", "items": items}


GENERATORS = {"corporation": _corporation, "jurpersons": _jurperson, "restaurants": _restaurant, "stores": _store,
              "suppliers": _supplier, "groups": _group, "products": _product, "invoices": _invoice}
CHANGEABLE = ("restaurants", "stores", "suppliers", "groups", "products", "invoices")


def count_of(state: dict[str, Any], entity: str) -> int:
    if entity == "corporation":
        return 1
    if entity == "jurpersons":
        return jurpersons(state)
    # Objects created later come after the generated ones; the generated data never depends on them.
    return size(state, entity) + len(state.get("created", {}).get(entity, []))


def record(state: dict[str, Any], entity: str, n: int) -> dict[str, Any]:
    """Object ``n`` with its changes and ``revision``; deleted objects keep ``deleted: true``."""
    rec = GENERATORS[entity](state, n)
    created = state.get("created", {}).get(entity, [])
    base = count_of(state, entity) - len(created)
    revision = created[n - base - 1] if n > base else BASE_REVISION
    change = state["changes"].get(entity, {}).get(str(n))
    if change:
        rec.update(change["fields"])
        revision = change["revision"]
    gone = state["deleted"].get(entity, {}).get(str(n))
    if gone is not None:
        rec["deleted"] = True
        revision = max(revision, gone)
    rec["revision"] = revision
    return rec


def records(state: dict[str, Any], entity: str, revision_from: int = -1) -> Iterator[dict[str, Any]]:
    """Every object of ``entity`` with a revision above ``revision_from`` (-1: all)."""
    if revision_from < BASE_REVISION:
        for n in range(1, count_of(state, entity) + 1):
            yield record(state, entity, n)
        return
    base = count_of(state, entity) - len(state.get("created", {}).get(entity, []))
    touched = set(state["changes"].get(entity, {})) | set(state["deleted"].get(entity, {}))
    born = {str(base + i) for i, rev in enumerate(state.get("created", {}).get(entity, []), start=1)
            if rev > revision_from}
    for n in sorted(int(k) for k in touched | born):
        if n <= count_of(state, entity):
            rec = record(state, entity, n)
            if rec["revision"] > revision_from:
                yield rec


def invoices_between(state: dict[str, Any], start: date, end: date) -> Iterator[dict[str, Any]]:
    """Incoming invoices dated from ``start`` to ``end`` (both inclusive), by document date."""
    for k in range(1, size(state, "invoices") + 1):
        if start <= invoice_date(state, k) <= end:
            yield record(state, "invoices", k)

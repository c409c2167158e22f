"""The 1C sandbox's infobases: generated from a seed per publication, so any size costs nothing to keep.

A publication (the path segment before ``/odata/``, e.g. ``trade``) is one infobase of a typical
"Управление торговлей 11" configuration. Its state (seed, sizes, changes, deletion marks, created
objects, unpublished entity sets, faults) is small and lives in the Django cache, so every process
serving the sandbox sees one infobase. Object ``n`` of a kind is a pure function of (seed, kind, n);
changes overlay it with a newer ``DataVersion``.

Users: ``Администратор`` (Cyrillic, as in most infobases) with the password ``пароль-<publication>``.
"""

from __future__ import annotations

import base64
import hashlib
import random
import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes.state import SandboxStore

USER = "Администратор"
NULL_GUID = "00000000-0000-0000-0000-000000000000"
DEFAULT_SIZES = {"groups": 4, "products": 30, "counterparties": 10, "warehouses": 3, "price_types": 2,
                 "orders": 8, "sales": 8, "purchases": 6, "lines": 3, "days": 30}
MAX_SIZES = {"groups": 1000, "products": 100_000, "counterparties": 50_000, "warehouses": 500, "price_types": 10,
             "orders": 50_000, "sales": 50_000, "purchases": 50_000, "lines": 50, "days": 3660}

# Entity sets of the standard OData interface, by the kind of object they list (typical УТ 11 names).
CATALOG_PRODUCTS = "Catalog_Номенклатура"
CATALOG_COUNTERPARTIES = "Catalog_Контрагенты"
CATALOG_WAREHOUSES = "Catalog_Склады"
CATALOG_PRICE_TYPES = "Catalog_ВидыЦен"
CATALOG_UNITS = "Catalog_УпаковкиЕдиницыИзмерения"
REGISTER_PRICES = "InformationRegister_ЦеныНоменклатуры"
REGISTER_STOCK = "AccumulationRegister_ТоварыНаСкладах"
DOC_ORDERS = "Document_ЗаказКлиента"
DOC_SALES = "Document_РеализацияТоваровУслуг"
DOC_PURCHASES = "Document_ПриобретениеТоваровУслуг"

# The kind (a size key) behind each object entity set; Catalog_Номенклатура holds groups and products.
ENTITY_KINDS = {CATALOG_COUNTERPARTIES: ("counterparties",), CATALOG_WAREHOUSES: ("warehouses",),
                CATALOG_PRICE_TYPES: ("price_types",), CATALOG_UNITS: ("units",),
                CATALOG_PRODUCTS: ("groups", "products"), DOC_ORDERS: ("orders",), DOC_SALES: ("sales",),
                DOC_PURCHASES: ("purchases",)}
DOC_PREFIX = {"orders": "ЗК", "sales": "РТ", "purchases": "ПТ"}

UNITS = (("шт", "Штука"), ("кг", "Килограмм"), ("л", "Литр"), ("уп", "Упаковка"))
GOODS = ("Кофе зерновой 1 кг", "Чай чёрный байховый", "Молоко 3,2% 1 л", "Сахар-песок", "Мука пшеничная в/с",
         "Масло сливочное 82,5%", "Сыр «Российский»", "Гречка ядрица", "Печенье «Юбилейное»", "Сок яблочный 0,2 л",
         "Вода минеральная 1,5 л", "Шоколад горький 72%")
GROUPS = ("Бакалея", "Напитки", "Молочная продукция", "Кондитерские изделия", "Бытовая химия", "Заморозка")
COMPANIES = ("Ромашка", "Вектор", "Альянс", "Север", "Гранит", "Меридиан", "Талисман", "Восход")
FORMS = ("ООО", "АО", "ИП")
CITIES = ("г. Москва", "г. Казань", "г. Новосибирск", "г. Ташкент", "г. Екатеринбург")
WAREHOUSES = ("Основной склад", "Склад «Южный»", "Магазин на Тверской", "Склад брака")
PRICE_TYPES = ("Розничная", "Оптовая", "Закупочная", "Дилерская")


def password_for(publication: str) -> str:
    """The sandbox's password of ``USER`` on ``publication`` (a documented sandbox convention)."""
    return f"пароль-{publication}"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def new_state(publication: str) -> dict[str, Any]:
    return {
        "seed": int(hashlib.sha256(publication.encode()).hexdigest()[:12], 16),
        "sizes": dict(DEFAULT_SIZES),
        # Documents are dated over the ``days`` before this moment (fixed, so the data never shift).
        "epoch": now().isoformat(),
        "versions": {},  # kind -> {n: version}: objects changed after generation
        "marked": {},  # kind -> [n]: DeletionMark set
        "removed": {},  # kind -> [n]: deleted physically ("delete marked objects" ran)
        "created": {},  # kind -> [iso date of object size+1, ...]: objects added later
        "unpublished": [],  # entity sets taken out of the standard interface's composition
        "faults": [],
    }


STATE = SandboxStore("onec-sandbox", new_state)
load_state = STATE.load
locked_state = STATE.locked


def count_request(publication: str) -> int:
    return STATE.count(publication, "requests")


def requests_so_far(publication: str) -> int:
    return STATE.counter(publication, "requests")


def reset(publication: str) -> None:
    STATE.forget(publication, "state", "requests")


# --- generation -----------------------------------------------------------------------------------
def guid(state: dict[str, Any], kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{state['seed']}:{kind}:{n}"))


def _rng(state: dict[str, Any], kind: str, n: int) -> random.Random:
    return random.Random(f"{state['seed']}:{kind}:{n}")


def data_version(version: int) -> str:
    """1C's ``DataVersion``: an opaque base64 string (8 bytes on the platforms we have seen)."""
    return base64.b64encode(struct.pack(">II", version, 0)).decode()


def count_of(state: dict[str, Any], kind: str) -> int:
    if kind == "units":
        return len(UNITS)
    return int(state["sizes"][kind]) + len(state["created"].get(kind, []))


def _version(state: dict[str, Any], kind: str, n: int) -> int:
    return int(state["versions"].get(kind, {}).get(str(n), 1))


def marked(state: dict[str, Any], kind: str, n: int) -> bool:
    # Every tenth counterparty of a new infobase is marked for deletion, as real bases have some.
    if kind == "counterparties" and n % 10 == 0 and n not in state.get("unmarked", {}).get(kind, []):
        return True
    return n in state["marked"].get(kind, [])


def _head(state: dict[str, Any], kind: str, n: int) -> dict[str, Any]:
    return {"Ref_Key": guid(state, kind, n), "DataVersion": data_version(_version(state, kind, n)),
            "DeletionMark": marked(state, kind, n), "Predefined": False, "PredefinedDataName": ""}


def _suffix(state: dict[str, Any], kind: str, n: int) -> str:
    version = _version(state, kind, n)
    return f" (v{version})" if version > 1 else ""


def _group(state, n):
    groups = int(state["sizes"]["groups"])
    parent = guid(state, "groups", 1) if n > max(1, groups // 2) else NULL_GUID  # a second level under group 1
    return {**_head(state, "groups", n), "Parent_Key": parent, "IsFolder": True, "Code": f"00-{n:08d}",
            "Description": f"{GROUPS[(n - 1) % len(GROUPS)]}{'' if n <= len(GROUPS) else f' {n}'}"
                           f"{_suffix(state, 'groups', n)}",
            # A catalog has one set of properties: a group has the items' ones too, empty.
            "НаименованиеПолное": "", "Артикул": "", "ЕдиницаИзмерения_Key": NULL_GUID,
            "ВидНоменклатуры_Key": NULL_GUID, "Описание": ""}


def _product(state, n):
    rng = _rng(state, "products", n)
    groups = int(state["sizes"]["groups"])
    name = f"{GOODS[(n - 1) % len(GOODS)]} №{n}{_suffix(state, 'products', n)}"
    return {**_head(state, "products", n), "Parent_Key": guid(state, "groups", rng.randint(1, groups)) if groups
            else NULL_GUID, "IsFolder": False, "Code": f"00-{1000 + n:08d}", "Description": name,
            "НаименованиеПолное": f"{name}, фасованный", "Артикул": f"АРТ-{n:05d}" if n % 7 else "",
            "ЕдиницаИзмерения_Key": guid(state, "units", rng.randint(1, len(UNITS))),
            "ВидНоменклатуры_Key": guid(state, "product_kinds", 1),
            "Описание": "" if n % 3 else "Хранить в сухом месте"}


def _counterparty(state, n):
    rng = _rng(state, "counterparties", n)
    name = f"{rng.choice(FORMS)} «{COMPANIES[(n - 1) % len(COMPANIES)]}-{n}»{_suffix(state, 'counterparties', n)}"
    contacts = [{"LineNumber": "1", "Тип": "Адрес", "Вид_Key": guid(state, "ci_kinds", 1),
                 "Представление": f"{rng.choice(CITIES)}, ул. Ленина, д. {rng.randint(1, 99)}"},
                {"LineNumber": "2", "Тип": "Телефон", "Вид_Key": guid(state, "ci_kinds", 2),
                 "Представление": f"+7 (495) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"}]
    if n % 2:
        contacts.append({"LineNumber": "3", "Тип": "АдресЭлектроннойПочты", "Вид_Key": guid(state, "ci_kinds", 3),
                         "Представление": f"info{n}@example.ru"})
    # Suppliers and customers overlap, as in real bases: every third counterparty is both.
    return {**_head(state, "counterparties", n), "Parent_Key": NULL_GUID, "IsFolder": False,
            "Code": f"00-{n:08d}", "Description": name, "НаименованиеПолное": name,
            "ИНН": str(rng.randrange(10**9, 10**10)), "КПП": str(rng.randrange(10**8, 10**9)),
            "Поставщик": n % 3 != 1, "Покупатель": n % 3 != 2, "КонтактнаяИнформация": contacts}


def _warehouse(state, n):
    return {**_head(state, "warehouses", n), "Parent_Key": NULL_GUID, "IsFolder": False, "Code": f"00-{n:08d}",
            "Description": f"{WAREHOUSES[(n - 1) % len(WAREHOUSES)]}{'' if n <= len(WAREHOUSES) else f' {n}'}"
                           f"{_suffix(state, 'warehouses', n)}",
            "ТипСклада": "РозничныйМагазин" if n == 3 else "Оптовый"}


def _price_type(state, n):
    return {**_head(state, "price_types", n), "Code": f"00-{n:08d}",
            "Description": PRICE_TYPES[(n - 1) % len(PRICE_TYPES)], "ЦенаВключаетНДС": True}


def _unit(state, n):
    short, full = UNITS[n - 1]
    return {**_head(state, "units", n), "Parent_Key": NULL_GUID, "IsFolder": False, "Code": f"{n:03d}",
            "Description": short, "НаименованиеПолное": full}


def _doc_date(state: dict[str, Any], kind: str, n: int) -> datetime:
    size = int(state["sizes"][kind])
    if n > size:
        return datetime.fromisoformat(state["created"][kind][n - size - 1])
    days = int(state["sizes"]["days"])
    start = datetime.fromisoformat(state["epoch"]) - timedelta(days=days)
    return start + timedelta(seconds=(n * days * 86400) // max(1, size + 1))


def _document(state, kind, n):
    rng = _rng(state, kind, n)
    products = max(1, count_of(state, "products"))
    lines = []
    for k in range(1, int(state["sizes"]["lines"]) + 1):
        qty, price = rng.randint(1, 20), rng.randint(50, 5000)
        amount, discount = qty * price, (price if k == 1 and n % 4 == 0 else 0)
        lines.append({"LineNumber": str(k), "Номенклатура_Key": guid(state, "products", rng.randint(1, products)),
                      "Характеристика_Key": NULL_GUID, "Количество": qty, "Цена": price,
                      "Сумма": amount - discount, "СуммаРучнойСкидки": discount,
                      "СтавкаНДС": "НДС20", "СуммаНДС": round((amount - discount) / 6, 2)})
    # Purchases from suppliers, orders and sales to customers (see ``_counterparty``).
    wrong = 1 if kind == "purchases" else 2
    parties = [c for c in range(1, count_of(state, "counterparties") + 1) if c % 3 != wrong] or [1]
    doc = {**_head(state, kind, n), "Number": f"{DOC_PREFIX[kind]}00-{n:06d}",
           "Date": _doc_date(state, kind, n).isoformat(), "Posted": n % 5 != 0,
           "Контрагент_Key": guid(state, "counterparties", rng.choice(parties)),
           "Склад_Key": guid(state, "warehouses", rng.randint(1, max(1, count_of(state, "warehouses")))),
           "Валюта_Key": guid(state, "currencies", 1), "СуммаДокумента": sum(x["Сумма"] for x in lines),
           "Комментарий": f"Сгенерировано песочницей{_suffix(state, kind, n)}", "Товары": lines}
    if kind == "orders":
        doc["Статус"] = "Закрыт" if n % 3 == 0 else "КОбеспечению"
    if kind == "sales":
        orders = count_of(state, "orders")
        doc["ЗаказКлиента_Key"] = guid(state, "orders", n) if n <= orders else NULL_GUID
    return doc


BUILDERS = {"groups": _group, "products": _product, "counterparties": _counterparty, "warehouses": _warehouse,
            "price_types": _price_type, "units": _unit,
            "orders": lambda s, n: _document(s, "orders", n), "sales": lambda s, n: _document(s, "sales", n),
            "purchases": lambda s, n: _document(s, "purchases", n)}


def objects(state: dict[str, Any], entity: str) -> list[dict[str, Any]]:
    """Every object of an object entity set (catalog or document), generated."""
    return [BUILDERS[kind](state, n) for kind in ENTITY_KINDS[entity] for n in range(1, count_of(state, kind) + 1)
            if n not in state.get("removed", {}).get(kind, ())]


def price_records(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The price register's records: two periods per product and price type (the later one is current)."""
    epoch = datetime.fromisoformat(state["epoch"])
    rows = []
    for n in range(1, count_of(state, "products") + 1):
        rng = _rng(state, "prices", n)
        base = rng.randint(50, 5000)
        for t in range(1, int(state["sizes"]["price_types"]) + 1):
            factor = 1 - 0.1 * (t - 1)
            current = round(base * factor * (1.1 if _version(state, "products", n) > 1 else 1), 2)
            for period, value in ((epoch - timedelta(days=60), round(current * 0.9, 2)),
                                  (epoch - timedelta(days=5), current)):
                rows.append({"Period": period.isoformat(), "Recorder": "", "Active": True,
                             "Номенклатура_Key": guid(state, "products", n), "Характеристика_Key": NULL_GUID,
                             "ВидЦены_Key": guid(state, "price_types", t), "Цена": value,
                             "Упаковка_Key": NULL_GUID})
    return rows


def slice_last(state: dict[str, Any], period: str | None) -> list[dict[str, Any]]:
    """``SliceLast``: per dimension set, the latest record dated at or before ``period`` (default: now)."""
    latest: dict[tuple, dict[str, Any]] = {}
    for row in price_records(state):
        if period and row["Period"] > period:
            continue
        key = (row["Номенклатура_Key"], row["Характеристика_Key"], row["ВидЦены_Key"])
        if key not in latest or latest[key]["Period"] < row["Period"]:
            latest[key] = row
    return [{k: v for k, v in row.items() if k not in ("Recorder", "Active")} for row in latest.values()]


def balance(state: dict[str, Any]) -> list[dict[str, Any]]:
    """``Balance``: non-zero balances per product and warehouse (zero balances are not rows)."""
    rows = []
    warehouses = count_of(state, "warehouses")
    for n in range(1, count_of(state, "products") + 1):
        for w in range(1, warehouses + 1):
            rng = _rng(state, f"stock:{w}", n)
            qty = rng.choice((0, 0, 3, 12, 40, 150)) + (5 if _version(state, "products", n) > 1 else 0)
            if (n + w) % 4 == 0 or not qty:
                continue
            rows.append({"Номенклатура_Key": guid(state, "products", n), "Характеристика_Key": NULL_GUID,
                         "Склад_Key": guid(state, "warehouses", w), "Назначение_Key": NULL_GUID,
                         "ВНаличииBalance": qty, "КОтгрузкеBalance": qty // 10})
    return rows


"""The KiotViet sandbox's data: generated from a seed per retailer, so 100,000 products cost nothing to keep.

A retailer's state is small (seed, sizes, a log of changes and deletions, registered webhooks,
faults, token generation) and lives in the Django cache, so every process serving the sandbox sees
the same data. Record ``n`` of an entity is a pure function of (seed, entity, n); changes overlay it.
Its KiotViet id is ``ID_OFFSETS[entity] + n``.

Time: KiotViet speaks shop-local time (Vietnam, UTC+7) without an offset. Timestamps here are
microseconds of that naive local clock. Generated record ``n`` was created and last modified at
``BASE + n * STEP`` (so they sort like their ids, long before any change); a changed record at the
change's time (strictly increasing per retailer). Every tenth generated record has a null
``modifiedDate`` (never edited), as KiotViet does; listings then order it by ``createdDate``.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import zlib
from datetime import datetime, timedelta
from typing import Any

from sandboxes.state import SandboxStore

LOCAL_OFFSET = timedelta(hours=7)
EPOCH = datetime(1970, 1, 1)
BASE_US = (datetime(2024, 1, 1) - EPOCH) // timedelta(microseconds=1)
STEP_US = 1_000_000  # one generated record a second from 2024-01-01 (an overlap window re-reads a few)
RETAILER_ID = 500_000

DEFAULT_SIZES = {
    "branches": 5, "categories": 12, "products": 60, "customers": 20, "users": 6, "suppliers": 6,
    "bankaccounts": 3, "surcharges": 3, "pricebooks": 2, "orders": 15, "invoices": 20, "returns": 6,
    "purchaseorders": 8, "transfers": 6, "cashflow": 12,
}
ID_OFFSETS = {
    "branches": 3100, "categories": 70, "products": 1_000_000, "customers": 70_000, "users": 50,
    "suppliers": 9000, "bankaccounts": 600, "surcharges": 800, "pricebooks": 10, "orders": 400_000,
    "invoices": 2_300_000, "returns": 800_000, "purchaseorders": 600_000, "transfers": 700_000,
    "cashflow": 880_000, "webhooks": 0,
}
# Products created through the API: n from here on (generated n stay below).
CREATED_START = 4_000_000
MAX_SIZE = CREATED_START - 1
MAX_BRANCHES = 50

BRANDS = ("Vinamilk", "Trung Nguyên", "Acecook", "Masan", "TH True", "Kinh Đô", "Highlands", "Sabeco")
NOUNS = ("Cà phê rang xay", "Sữa tươi", "Mì gói", "Nước mắm", "Bánh quy", "Trà xanh", "Gạo thơm", "Dầu ăn",
         "Nước suối", "Kẹo dừa", "Tương ớt", "Bột giặt")
WEIGHTS = ("250g", "500g", "1kg", "330ml", "1l", "2kg")
UNITS = ("Gói", "Hộp", "Chai", "Lon", "Cái", "Túi")
CATEGORY_WORDS = ("Đồ uống", "Thực phẩm khô", "Sữa", "Bánh kẹo", "Gia vị", "Hóa phẩm", "Đông lạnh", "Rau củ")
CITIES = ("Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Huế", "Cần Thơ", "Hải Phòng", "Nha Trang")
FIRST = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi")
LAST = ("Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Gia Huy", "Ngọc Lan", "Đức Long")
BANKS = ("Vietcombank", "Techcombank", "BIDV", "ACB", "MB Bank")
PAY_METHODS = ("Cash", "Card", "Transfer")


# --- time -----------------------------------------------------------------------------------------
def now_local_us() -> int:
    return (datetime.utcnow() + LOCAL_OFFSET - EPOCH) // timedelta(microseconds=1)


def to_kv(ts_us: int | None) -> str | None:
    """KiotViet's format: seven fractional digits, no offset."""
    if ts_us is None:
        return None
    return (EPOCH + timedelta(microseconds=ts_us)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def parse_kv(value: str) -> int:
    """A KiotViet date-time (any fraction length, optional 'Z'/offset ignored) to local microseconds."""
    text = value.strip().replace(" ", "T")
    for sep in ("Z", "+"):
        text = text.split(sep)[0]
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{(frac + '000000')[:6]}"
    dt = datetime.fromisoformat(text)
    return (dt - EPOCH) // timedelta(microseconds=1)


# --- accounts -------------------------------------------------------------------------------------
def client_secret_for(client_id: str) -> str:
    """The sandbox's client secret for ``client_id`` (a documented sandbox convention)."""
    return f"{client_id}-secret"


def check_secret(client_id: str, client_secret: str) -> bool:
    return bool(client_id) and hmac.compare_digest(client_secret_for(client_id).encode(),
                                                   (client_secret or "").encode())


def new_state(retailer: str) -> dict[str, Any]:
    return {
        "seed": int(hashlib.sha256(retailer.lower().encode()).hexdigest()[:12], 16),
        "sizes": dict(DEFAULT_SIZES),
        "last_ts": 0,
        "token_gen": 0,
        "token_ttl": 86400,
        "changes": {},  # entity -> {n: {"ts": µs, "fields": {...}, "created": bool}}
        "deleted": {},  # entity -> {n: µs}
        "next_created": CREATED_START,
        "faults": [],  # scheduled faults: {"kind", "from", "to", ...}
        "fault_rate": None,  # {"rate", "kinds", "seed", "seconds", "retry_after"}
        "webhooks": {},  # id -> {"type", "url", "secret", "isActive", "description"}
        "next_webhook": 1,
    }


STATE = SandboxStore("kv-sandbox", new_state, normalise=str.lower)
load_state = STATE.load
locked_state = STATE.locked
count = STATE.count
counter = STATE.counter


def reset(retailer: str) -> None:
    STATE.forget(retailer, "state", "requests", "token_requests")


def next_change_ts(state: dict[str, Any]) -> int:
    ts = max(now_local_us(), state["last_ts"] + 1)
    state["last_ts"] = ts
    return ts


def size(state: dict[str, Any], entity: str) -> int:
    return int(state["sizes"].get(entity, 0))


def kv_id(entity: str, n: int) -> int:
    return ID_OFFSETS[entity] + n


def index_of(entity: str, rid: Any) -> int | None:
    try:
        n = int(rid) - ID_OFFSETS[entity]
    except (TypeError, ValueError):
        return None
    return n if n >= 1 else None


# --- generation -----------------------------------------------------------------------------------
def _rng(state: dict[str, Any], entity: str, n: int) -> random.Random:
    # Not hash(entity): string hashes change per process (PYTHONHASHSEED), the data must not.
    return random.Random((state["seed"] * 1_000_003 + zlib.crc32(entity.encode())) * 10_000_000 + n)


def _pick(state: dict[str, Any], rng: random.Random, entity: str) -> int:
    """The id of a random generated record of ``entity`` (for references between records)."""
    return kv_id(entity, rng.randint(1, max(1, size(state, entity))))


def _branch_name(state: dict[str, Any], bid: int) -> str:
    n = bid - ID_OFFSETS["branches"]
    return "Chi nhánh trung tâm" if n == 1 else f"Chi nhánh {CITIES[n % len(CITIES)]} {n}"


def _branch(state, rng, n):
    city = CITIES[n % len(CITIES)]
    return {"branchName": _branch_name(state, kv_id("branches", n)), "branchCode": f"CN{n:03d}",
            "address": f"{rng.randint(1, 300)} Lê Lợi, {city}", "locationName": city,
            "contactNumber": f"09{rng.randint(10_000_000, 99_999_999)}", "retailerId": RETAILER_ID}


def _category(state, rng, n):
    roots = max(1, size(state, "categories") // 4)
    parent = None if n <= roots else kv_id("categories", rng.randint(1, min(n - 1, roots * 3)))
    return {"parentId": parent, "categoryName": f"{CATEGORY_WORDS[n % len(CATEGORY_WORDS)]} {n}",
            "retailerId": RETAILER_ID, "hasChild": False}


def _product(state, rng, n):
    pid = kv_id("products", n)
    price = rng.randint(5, 500) * 1000
    branches = min(size(state, "branches"), MAX_BRANCHES)
    noun, weight = rng.choice(NOUNS), rng.choice(WEIGHTS)
    unit = rng.choice(UNITS)
    category = _pick(state, rng, "categories") if size(state, "categories") else None
    rec: dict[str, Any] = {
        "code": f"SP{n:06d}", "barCode": f"893{pid:010d}", "retailerId": RETAILER_ID,
        "name": f"{noun} {weight} #{n}", "fullName": f"{noun} {weight} #{n} - {unit}",
        "categoryId": category,
        "categoryName": f"{CATEGORY_WORDS[(category or 0) % len(CATEGORY_WORDS)]} {(category or 0) - 70}",
        "allowsSale": True, "type": 1 if n % 97 == 0 else 2, "hasVariants": False, "isActive": rng.random() > 0.03,
        "basePrice": price, "unit": unit, "masterUnitId": None, "conversionValue": 1, "weight": None,
        "description": "",
        "attributes": [{"productId": pid, "attributeName": "Thương hiệu", "attributeValue": rng.choice(BRANDS)},
                       {"productId": pid, "attributeName": "Khối lượng", "attributeValue": weight}],
        "units": [],
        "inventories": [{"productId": pid, "productCode": f"SP{n:06d}", "productName": f"{noun} {weight} #{n}",
                         "branchName": _branch_name(state, inv["branchId"]), "cost": price * 7 // 10, **inv}
                        for inv in inventories(state, n, branches)],
        "priceBooks": [{"priceBookId": kv_id("pricebooks", b), "priceBookName": "Giá sỉ" if b == 1 else f"Bảng giá {b}",
                        "productId": pid, "isActive": True, "price": price * (100 - 5 * b) // 100,
                        "startDate": "2024-01-01T00:00:00", "endDate": "2027-12-31T00:00:00"}
                       for b in range(1, size(state, "pricebooks") + 1)],
    }
    if n % 5 == 0:
        rec["units"] = [{"id": pid + 3_000_000, "code": f"SP{n:06d}-T", "name": rec["name"], "fullName": rec["name"],
                         "unit": "Thùng", "conversionValue": 24, "basePrice": price * 22}]
    if n % 13 == 0:
        rec["productSerials"] = [{"productId": pid, "serialNumber": f"SN{n:06d}{k}", "status": 1,
                                  "branchId": kv_id("branches", 1)} for k in range(1, 3)]
    if n % 9 == 0:
        rec["productBatchExpires"] = [{"productId": pid, "batchName": f"LO{n:06d}",
                                       "fullNameVirgule": f"LO{n:06d} - 31/12/2026",
                                       "expireDate": "2026-12-31T00:00:00",
                                       "onHand": 12, "branchId": kv_id("branches", 1)}]
    if n % 8 == 0:
        rec["productWarranties"] = [{"id": pid + 6_000_000, "description": "Bảo hành chính hãng", "numberTime": 12,
                                     "timeType": 3, "warrantyType": 1}]
    if n % 6 == 0:
        rec["productShelves"] = [{"branchId": kv_id("branches", 1), "productShelvesStr": f"Kệ {n % 9 + 1}"}]
    return rec


def inventories(state: dict[str, Any], n: int, branches: int) -> list[dict[str, Any]]:
    """Stock of generated product ``n`` per branch (its own random stream: /productOnHands reads only this)."""
    rng = _rng(state, "inventory", n)
    return [{"branchId": kv_id("branches", b), "onHand": rng.randint(0, 400), "reserved": rng.randint(0, 5)}
            for b in range(1, branches + 1)]


def formulas(state: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """A combo's components: only the product detail carries them (the list leaves them out)."""
    rng = _rng(state, "formula", n)
    out = []
    for _ in range(2):
        m = rng.randint(1, max(1, size(state, "products")))
        if m != n and m % 97:
            out.append({"materialId": kv_id("products", m), "materialCode": f"SP{m:06d}",
                        "materialName": f"component {m}", "quantity": rng.randint(1, 3), "basePrice": 10_000})
    return out


def _party(state, rng, n, prefix):
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return {"code": f"{prefix}{n:06d}", "name": name, "contactNumber": f"09{rng.randint(10_000_000, 99_999_999)}",
            "email": f"kh{n}@example.vn", "address": f"{rng.randint(1, 99)} Trần Phú, {rng.choice(CITIES)}",
            "retailerId": RETAILER_ID}


def _customer(state, rng, n):
    rec = _party(state, rng, n, "KH")
    rec.update(gender=rng.random() > 0.5, debt=0, branchId=_pick(state, rng, "branches"), taxCode="")
    return rec


def _supplier(state, rng, n):
    rec = _party(state, rng, n, "NCC")
    rec.update(name=f"Công ty {rng.choice(BRANDS)} {n}", taxCode=f"03{rng.randint(10**7, 10**8 - 1)}")
    return rec


def _user(state, rng, n):
    return {"userName": f"nhanvien{n}", "givenName": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "mobilePhone": f"09{rng.randint(10_000_000, 99_999_999)}", "email": f"nv{n}@example.vn",
            "retailerId": RETAILER_ID, "branchId": _pick(state, rng, "branches"), "isActive": True}


def _bank_account(state, rng, n):
    return {"bankName": BANKS[n % len(BANKS)], "accountNumber": f"{rng.randint(10**11, 10**12 - 1)}",
            "description": f"Tài khoản {n}", "retailerId": RETAILER_ID}


def _surcharge(state, rng, n):
    ratio = n % 2 == 0
    return {"surchargeCode": f"THK{n:03d}", "surchargeName": "Phí giao hàng" if n == 1 else f"Phụ thu {n}",
            "value": None if ratio else 15000, "valueRatio": 5 if ratio else None, "isActive": True,
            "retailerId": RETAILER_ID}


def _pricebook(state, rng, n):
    return {"name": "Giá sỉ" if n == 1 else f"Bảng giá {n}", "isActive": True, "isGlobal": True,
            "startDate": "2024-01-01T00:00:00", "endDate": "2027-12-31T00:00:00"}


def _lines(state, rng, key="quantity"):
    lines = []
    for _ in range(rng.randint(1, 3)):
        m = rng.randint(1, max(1, size(state, "products")))
        qty, price = rng.randint(1, 4), rng.randint(5, 500) * 1000
        lines.append({"productId": kv_id("products", m), "productCode": f"SP{m:06d}", "productName": f"product {m}",
                      key: qty, "price": price, "discount": 0})
    return lines


def _doc_date(state, n, entity):
    return to_kv(BASE_US - (size(state, entity) - n + 1) * 3_600_000_000)


def _order(state, rng, n):
    lines = _lines(state, rng)
    total = sum(line["quantity"] * line["price"] for line in lines)
    status = rng.choice((1, 3, 3, 5))
    return {"code": f"DH{n:06d}", "purchaseDate": _doc_date(state, n, "orders"),
            "branchId": _pick(state, rng, "branches"),
            "soldById": _pick(state, rng, "users"), "customerId": _pick(state, rng, "customers"),
            "total": total, "totalPayment": 0, "discount": 0, "status": status,
            "statusValue": {1: "Phiếu tạm", 3: "Hoàn thành", 5: "Đã xác nhận"}[status],
            "description": "", "orderDetails": lines}


def _invoice(state, rng, n):
    lines = _lines(state, rng)
    total = sum(line["quantity"] * line["price"] for line in lines)
    purchase = _doc_date(state, n, "invoices")
    return {"code": f"HD{n:06d}", "purchaseDate": purchase, "branchId": _pick(state, rng, "branches"),
            "soldById": _pick(state, rng, "users"), "customerId": _pick(state, rng, "customers"),
            "orderId": _pick(state, rng, "orders") if n % 3 == 0 and size(state, "orders") else None,
            "total": total, "totalPayment": total, "discount": 0, "status": 1, "statusValue": "Hoàn thành",
            "description": "", "invoiceDetails": lines,
            "payments": [{"id": 9_000_000 + n, "code": f"TT{n:06d}", "amount": total,
                          "method": rng.choice(PAY_METHODS), "transDate": purchase,
                          "accountId": _pick(state, rng, "bankaccounts") if n % 2 else None}]}


def _return(state, rng, n):
    lines = _lines(state, rng)
    total = sum(line["quantity"] * line["price"] for line in lines)
    return {"code": f"TH{n:06d}", "invoiceId": _pick(state, rng, "invoices"),
            "returnDate": _doc_date(state, n, "returns"),
            "branchId": _pick(state, rng, "branches"), "customerId": _pick(state, rng, "customers"),
            "totalPayment": total, "returnTotal": total, "status": 1, "statusValue": "Đã trả", "returnDetails": lines}


def _purchase_order(state, rng, n):
    lines = _lines(state, rng)
    total = sum(line["quantity"] * line["price"] for line in lines)
    return {"code": f"PN{n:06d}", "purchaseDate": _doc_date(state, n, "purchaseorders"),
            "branchId": _pick(state, rng, "branches"), "supplierId": _pick(state, rng, "suppliers"),
            "total": total, "totalPayment": total, "discount": 0, "status": 3, "statusValue": "Đã nhập hàng",
            "description": "", "purchaseOrderDetails": lines}


def _transfer(state, rng, n):
    lines = _lines(state, rng, key="sendQuantity")
    for line in lines:
        line["receiveQuantity"] = line["sendQuantity"]
    frm = _pick(state, rng, "branches")
    to = kv_id("branches", (frm - ID_OFFSETS["branches"]) % max(1, size(state, "branches")) + 1)
    date = _doc_date(state, n, "transfers")
    return {"code": f"TRF{n:06d}", "fromBranchId": frm, "toBranchId": to, "status": 3, "statusValue": "Đã nhận",
            "dispatchedDate": date, "receivedDate": date, "totalTransfer": sum(x["price"] for x in lines),
            "description": "", "transferDetails": lines}


def _cashflow(state, rng, n):
    receipt = n % 3 != 0
    return {"code": f"{'TT' if receipt else 'PC'}{n:06d}", "branchId": _pick(state, rng, "branches"),
            "method": rng.choice(PAY_METHODS), "partnerType": "C" if receipt else "S",
            "partnerId": _pick(state, rng, "customers" if receipt else "suppliers"),
            "partnerName": "", "status": 0, "transDate": _doc_date(state, n, "cashflow"),
            "amount": rng.randint(10, 900) * 1000, "isReceipt": receipt,
            "accountId": _pick(state, rng, "bankaccounts") if n % 2 else None,
            "invoiceId": _pick(state, rng, "invoices") if receipt and n % 4 == 1 else None,
            "description": "", "usedForFinancialReporting": 1}


GENERATORS = {
    "branches": _branch, "categories": _category, "products": _product, "customers": _customer, "users": _user,
    "suppliers": _supplier, "bankaccounts": _bank_account, "surcharges": _surcharge, "pricebooks": _pricebook,
    "orders": _order, "invoices": _invoice, "returns": _return, "purchaseorders": _purchase_order,
    "transfers": _transfer, "cashflow": _cashflow,
}
# The id field's name (categories say categoryId).
ID_FIELDS = {"categories": "categoryId"}


def generated_ts(n: int) -> int:
    return BASE_US + n * STEP_US


def deleted_at(state: dict[str, Any], entity: str, n: int) -> int | None:
    return state["deleted"].get(entity, {}).get(str(n))


def exists(state: dict[str, Any], entity: str, n: int) -> bool:
    if deleted_at(state, entity, n) is not None:
        return False
    change = state["changes"].get(entity, {}).get(str(n))
    return bool(change and change.get("created")) or 1 <= n <= size(state, entity)


def record(state: dict[str, Any], entity: str, n: int) -> dict[str, Any] | None:
    """The current record (KiotViet's REST shape), or None if it does not exist (or was deleted)."""
    if not exists(state, entity, n):
        return None
    change = state["changes"].get(entity, {}).get(str(n))
    rid = kv_id(entity, n)
    if change and change.get("created"):
        data = dict(change["fields"])
        created = modified = change["ts"]
    else:
        data = GENERATORS[entity](state, _rng(state, entity, n), n)
        created = generated_ts(n)
        modified = None if n % 10 == 0 else created
        if change:
            data.update(change["fields"])
            modified = change["ts"]
    stock = state["changes"].get("stock", {}).get(str(n)) if entity == "products" else None
    if stock and data.get("inventories"):
        data["inventories"] = [{**inv, "onHand": stock["fields"].get(str(inv["branchId"]), inv["onHand"])}
                               for inv in data["inventories"]]
    return {ID_FIELDS.get(entity, "id"): rid, **data, "createdDate": to_kv(created), "modifiedDate": to_kv(modified)}


def stock_ts(state: dict[str, Any], n: int) -> int:
    change = state["changes"].get("stock", {}).get(str(n))
    return change["ts"] if change else generated_ts(n)


def on_hand(state: dict[str, Any], n: int) -> dict[str, Any] | None:
    """``/productOnHands`` item of product ``n``: its stock per branch, with stock changes applied."""
    if not exists(state, "products", n):
        return None
    if str(n) in state["changes"].get("products", {}):
        product = record(state, "products", n)
        code, created, stock = product["code"], product["createdDate"], product.get("inventories") or []
    else:  # the hot path of a big catalogue: no need to generate the whole product
        code, created = f"SP{n:06d}", to_kv(generated_ts(n))
        stock = inventories(state, n, min(size(state, "branches"), MAX_BRANCHES))
    overrides = state["changes"].get("stock", {}).get(str(n), {}).get("fields", {})
    rows = [{"branchId": inv["branchId"], "onHand": overrides.get(str(inv["branchId"]), inv["onHand"]),
             "reserved": inv["reserved"]} for inv in stock]
    known = {str(inv["branchId"]) for inv in stock}
    # Stock set (through _control) at a branch the retailer does not have: "an unknown branch".
    rows += [{"branchId": int(b), "onHand": v, "reserved": 0} for b, v in overrides.items() if b not in known]
    return {"id": kv_id("products", n), "code": code, "createdDate": created,
            "modifiedDate": to_kv(stock_ts(state, n)), "inventories": rows}


# --- ordered listing ------------------------------------------------------------------------------
class Listing:
    """Live records of an entity in listing order, addressable by offset (``currentItem``).

    ``since`` None: by id. Otherwise records whose (modified or created) time is at or after
    ``since``, by (time, id): generated, never-changed ones first (their times increase with n), then
    changed or created ones in change order. Only the few changed/deleted indexes are materialised.
    """

    def __init__(self, state: dict[str, Any], entity: str, since: int | None, change_log: str | None = None):
        self.state = state
        self.entity = entity
        changes = state["changes"].get(change_log or entity, {})
        deleted = {int(k) for k in state["deleted"].get(entity, {})}
        gen_size = size(state, entity)

        def live(n: int) -> bool:
            return n not in deleted and (n <= gen_size or bool(state["changes"].get(entity, {}).get(str(n))))

        if since is None:
            self.n0 = 1
            excluded = {n for n in deleted if n <= gen_size}
            created = state["changes"].get(entity, {})
            self.tail = [n for n in sorted(int(k) for k, c in created.items() if c.get("created")) if live(n)]
        else:
            self.n0 = max(1, -(-(since - BASE_US) // STEP_US))
            excluded = {int(k) for k in changes if int(k) <= gen_size} | {n for n in deleted if n <= gen_size}
            self.tail = [n for _, n in sorted((c["ts"], int(k)) for k, c in changes.items() if c["ts"] >= since)
                         if live(n)]
        self.gen_size = gen_size
        self.excluded = sorted(e for e in excluded if e >= self.n0)
        self.gen_count = max(0, gen_size - self.n0 + 1) - len(self.excluded)

    @property
    def total(self) -> int:
        return self.gen_count + len(self.tail)

    def page(self, offset: int, limit: int) -> list[int]:
        """The record indexes at ``offset`` .. ``offset + limit - 1``."""
        out: list[int] = []
        if offset < self.gen_count:
            n = self.n0 + offset
            i = 0
            while i < len(self.excluded) and self.excluded[i] <= n:
                n += 1
                i += 1
            while len(out) < limit and n <= self.gen_size:
                if i < len(self.excluded) and self.excluded[i] == n:
                    i += 1
                else:
                    out.append(n)
                n += 1
            offset = self.gen_count
        start = offset - self.gen_count
        out += self.tail[start:start + limit - len(out)]
        return out


def deletions(state: dict[str, Any], entity: str, since: int) -> list[int]:
    """Ids of records of ``entity`` deleted at or after ``since``, in deletion order."""
    items = sorted((ts, int(n)) for n, ts in state["deleted"].get(entity, {}).items() if ts >= since)
    return [kv_id(entity, n) for _, n in items]


def pick_existing(state: dict[str, Any], entity: str, count_: int, from_end: bool = False) -> list[int]:
    """``count_`` live generated indexes (from the start or the end)."""
    rng = range(size(state, entity), 0, -1) if from_end else range(1, size(state, entity) + 1)
    picked = []
    for n in rng:
        if len(picked) >= count_:
            break
        if exists(state, entity, n):
            picked.append(n)
    return picked


def spread(state: dict[str, Any], entity: str, count_: int) -> list[int]:
    """``count_`` live indexes spread evenly over the entity (changes that touch the whole catalogue)."""
    total = size(state, entity)
    if count_ <= 0 or total == 0:
        return []
    step = max(1, total // count_)
    return [n for n in range(1, total + 1, step) if exists(state, entity, n)][:count_]


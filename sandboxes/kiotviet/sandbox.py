"""The KiotViet sandbox: a faithful stand-in for KiotViet's Public API, served under ``/sandbox/kiotviet/``.

What it speaks (KiotViet's Public API as documented; connectors/kiotviet/README.md lists the assumptions):

- ``POST connect/token`` (form: grant_type=client_credentials, client_id, client_secret, scopes) ->
  ``{"access_token", "expires_in": 86400, "token_type": "Bearer"}``; a wrong secret is 400 invalid_client;
- every API call needs ``Authorization: Bearer`` and a ``Retailer`` header; an invalid or expired
  token is 401 with ``{"responseStatus": {"errorCode": "TokenException", ...}}``;
- lists: ``pageSize`` (default 20, max 100), ``currentItem``, ``orderBy``/``orderDirection``,
  ``lastModifiedFrom`` (inclusive), ``includeRemoveIds`` (removed ids in ``removeId`` /
  ``removedIds`` / ``removeIds`` / ``removedId`` depending on the endpoint), the product
  ``include*`` switches, and date ranges for purchase orders, transfers and cash flow;
- ``GET products/{id}`` (the only place a combo's ``productFormulas`` appear), ``products/code/{code}``,
  ``POST products``, ``PUT products/{id}``, ``DELETE products/{id}``;
- ``POST/GET webhooks``, ``GET/DELETE webhooks/{id}``; registered hooks receive PascalCase events
  signed with ``X-Hub-Signature`` (hex HMAC-SHA256 of the body, keyed with the registered Secret).
  A hook whose endpoint answers 400-405 is switched off, as KiotViet does;
- ``POST _control`` (JSON with client_id, client_secret, retailer): sizes, changes, deletions,
  injected faults (scheduled or a random rate), token expiry, webhook sends. See ``CONTROL_ACTIONS``.

Data is generated lazily per retailer by ``dataset`` (100,000 products cost one small state).
Run standalone: ``python -m sandboxes.kiotviet.sandbox --port 8765``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes import server as sandbox_server
from sandboxes.control import ControlRefused, control_body
from sandboxes.state import STATE_TTL

from . import dataset as ds

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# URL segment (lower-cased: KiotViet's routes are case-insensitive) -> entity.
PATHS = {
    "branches": "branches", "categories": "categories", "products": "products", "customers": "customers",
    "users": "users", "suppliers": "suppliers", "bankaccounts": "bankaccounts", "surchages": "surcharges",
    "pricebooks": "pricebooks", "orders": "orders", "invoices": "invoices", "returns": "returns",
    "purchaseorders": "purchaseorders", "transfers": "transfers", "cashflow": "cashflow",
}
# The removed-ids array is named differently per endpoint (as KiotViet's documentation names it).
REMOVED_KEYS = {"products": "removeId", "customers": "removeId", "categories": "removedIds",
                "branches": "removedIds", "users": "removeIds", "bankaccounts": "removeIds",
                "suppliers": "removedId"}
# No lastModifiedFrom on these: a date range on one of their fields instead.
DATE_RANGES = {"purchaseorders": ("purchaseDate", "frompurchasedate", "topurchasedate"),
               "transfers": ("dispatchedDate", "fromtransferdate", "totransferdate"),
               "cashflow": ("transDate", "startdate", "enddate")}
# include switches of the product list -> the key they add.
PRODUCT_INCLUDES = {"includeinventory": "inventories", "includepricebook": "priceBooks",
                    "includeserials": "productSerials", "includebatchexpires": "productBatchExpires",
                    "includewarranties": "productWarranties"}
WEBHOOK_TYPES = ("customer.update", "customer.delete", "product.update", "product.delete", "stock.update",
                 "order.update", "invoice.update", "pricebook.update", "pricebook.delete", "pricebookdetail.update",
                 "pricebookdetail.delete", "category.update", "category.delete", "branch.update", "branch.delete")
# KiotViet switches a hook off when its endpoint answers one of these.
DISABLING_STATUSES = frozenset({400, 401, 403, 404, 405})


def kv_error(status: int, code: str, message: str) -> JsonResponse:
    """ServiceStack's error body, as KiotViet answers."""
    return JsonResponse({"responseStatus": {"errorCode": code, "message": message}}, status=status)


# --- tokens (per client: the token request names no retailer) ------------------------------------
def _client_key(client_id: str) -> str:
    return f"kv-sandbox:client:{hashlib.sha256(client_id.encode()).hexdigest()[:24]}"


def client_tokens(client_id: str) -> dict[str, int]:
    return cache.get(_client_key(client_id)) or {"gen": 0, "ttl": 86400}


def set_client_tokens(client_id: str, **values: int) -> dict[str, int]:
    current = {**client_tokens(client_id), **values}
    cache.set(_client_key(client_id), current, timeout=STATE_TTL)
    return current


def _token_sig(payload: str) -> str:
    key = hashlib.sha256(f"kiotviet-sandbox-token:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:40]


def issue_token(client_id: str) -> tuple[str, int]:
    tokens = client_tokens(client_id)
    payload = f"{client_id}|{tokens['gen']}|{int(time.time()) + tokens['ttl']}|{secrets.token_hex(4)}"
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"kvt_{encoded}.{_token_sig(encoded)}", tokens["ttl"]


def read_token(value: str) -> str | None:
    """The client_id of a valid, unexpired token of the client's current generation, else None."""
    if not value.startswith("kvt_") or "." not in value:
        return None
    encoded, sig = value[4:].rsplit(".", 1)
    if not hmac.compare_digest(sig, _token_sig(encoded)):
        return None
    try:
        client_id, gen, exp, _ = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().split("|")
    except ValueError:
        return None
    if int(gen) != client_tokens(client_id)["gen"] or int(exp) <= time.time():
        return None
    return client_id


@csrf_exempt
def token_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "invalid_request"}, status=405)
    form = request.POST
    if form.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    client_id = form.get("client_id", "")
    if not ds.check_secret(client_id, form.get("client_secret", "")):
        return JsonResponse({"error": "invalid_client"}, status=400)
    ds.count(client_id, "token_requests")
    token, ttl = issue_token(client_id)
    return JsonResponse({"access_token": token, "expires_in": ttl, "token_type": "Bearer"})


# --- faults ---------------------------------------------------------------------------------------
def _fault_status(fault: dict[str, Any], client_id: str) -> HttpResponse | None:
    status = int(fault.get("status", 500))
    resp = kv_error(status, fault.get("error_code", "InjectedFault"), fault.get("message", f"injected {status}"))
    if fault.get("retry_after") is not None:
        resp["Retry-After"] = str(fault["retry_after"])
    return resp


def _fault_hang(fault: dict[str, Any], client_id: str) -> HttpResponse | None:
    time.sleep(float(fault.get("seconds", 5)))  # then answer normally: the client has given up
    return None


def _fault_malformed(fault: dict[str, Any], client_id: str) -> HttpResponse | None:
    return None  # the view answers, then ``_corrupt`` breaks two of its records


def _corrupt(resp: HttpResponse) -> HttpResponse:
    """A page with one record that is not an object and one without its name (bad input, not a crash)."""
    body = json.loads(resp.content)
    data = body.get("data") or []
    if data:
        data[0] = "<record lost in transit>"
    if len(data) > 1 and isinstance(data[1], dict):
        data[1].pop("name", None)
        data[1].pop("categoryName", None)
    return JsonResponse(body, status=resp.status_code)


def _fault_expire(fault: dict[str, Any], client_id: str) -> HttpResponse | None:
    set_client_tokens(client_id, gen=client_tokens(client_id)["gen"] + 1)
    return kv_error(401, "TokenException", "Token đã hết hạn (expired)")


FAULTS: dict[str, Callable[[dict[str, Any], str], HttpResponse | None]] = {
    "status": _fault_status,
    "rate_limit": lambda f, c: _fault_status({"status": 429, "retry_after": 1, **f}, c),
    "hang": _fault_hang,
    "expire_token": _fault_expire,
    "malformed": _fault_malformed,
}


def _scheduled(state: dict[str, Any], n: int, request_path: str) -> dict[str, Any] | None:
    for fault in state["faults"]:
        if fault["from"] <= n <= fault["to"] and fault.get("path", "") in request_path:
            return fault
    return None


def _injected(state: dict[str, Any], n: int, request_path: str, client_id: str) -> HttpResponse | None:
    fault = _scheduled(state, n, request_path)
    if fault is not None:
        return FAULTS[fault["kind"]](fault, client_id)
    rate = state.get("fault_rate")
    if rate:
        rng = random.Random(f"{rate.get('seed', 0)}:{n}")
        if rng.random() < float(rate["rate"]):
            kind = rng.choice(rate.get("kinds") or ["status"])
            status = {"status": rng.choice((500, 502, 503))} if kind == "status" else {}
            return FAULTS[kind]({**rate, **status}, client_id)
    return None


def api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Bearer token, Retailer header, request counting and injected faults before every API call."""

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        client_id = read_token(header[7:].strip()) if header.startswith("Bearer ") else None
        if client_id is None:
            return kv_error(401, "TokenException", "Token không hợp lệ hoặc đã hết hạn (invalid or expired token)")
        retailer = request.headers.get("Retailer", "").strip()
        if not retailer:
            return kv_error(400, "BadRequest", "Retailer header is required")
        n = ds.count(retailer, "requests")
        state = ds.load_state(retailer)
        if state["faults"] or state.get("fault_rate"):
            injected = _injected(state, n, request.path, client_id)
            if injected is not None:
                return injected
        query = {k.lower(): v for k, v in request.GET.items()}
        resp = view(request, retailer, state, query, *args, **kwargs)
        fault = _scheduled(state, n, request.path) if state["faults"] else None
        if fault is not None and fault["kind"] == "malformed" and resp.status_code == 200:
            return _corrupt(resp)
        return resp

    return wrapper


# --- reading --------------------------------------------------------------------------------------
def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() == "true"


def _int(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value in (None, ""):
        return default
    number = int(value)  # ValueError: a 400
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def _shape(entity: str, rec: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    if entity == "products":
        for switch, key in PRODUCT_INCLUDES.items():
            if not _flag(query, switch):
                rec.pop(key, None)
    if entity == "invoices" and not _flag(query, "includepayment"):
        rec.pop("payments", None)
    return rec


def _date_filtered(state: dict[str, Any], entity: str, query: dict[str, str]) -> list[int]:
    field, lo_name, hi_name = DATE_RANGES[entity]
    lo = ds.parse_kv(query[lo_name]) if query.get(lo_name) else None
    hi = ds.parse_kv(query[hi_name]) if query.get(hi_name) else None
    listing = ds.Listing(state, entity, None)
    out = []
    for n in listing.page(0, listing.total):
        ts = ds.parse_kv(ds.record(state, entity, n)[field])
        if (lo is None or ts >= lo) and (hi is None or ts <= hi):
            out.append(n)
    return out


@api
def list_view(request: HttpRequest, retailer: str, state: dict[str, Any], query: dict[str, str],
              segment: str) -> HttpResponse:
    entity = PATHS.get(segment.lower())
    if entity is None:
        return kv_error(404, "NotFound", f"No route /{segment}")
    if request.method == "POST" and entity == "products":
        return _write_product(request, retailer, None)
    if request.method != "GET":
        return kv_error(405, "MethodNotAllowed", f"{request.method} not allowed")
    try:
        page_size = min(_int(query, "pagesize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        offset = _int(query, "currentitem", 0)
        since = ds.parse_kv(query["lastmodifiedfrom"]) if query.get("lastmodifiedfrom") else None
        if entity in DATE_RANGES:
            ids = _date_filtered(state, entity, query)
            total, page = len(ids), ids[offset:offset + page_size]
        else:
            by_time = since is not None or query.get("orderby", "").lower() in {"modifieddate", "createddate"}
            if since is not None and state.get("exclusive_since"):
                since += 1  # the other reading of the undocumented bound: strictly after
            listing = ds.Listing(state, entity, (since or 0) if by_time else None)
            total, page = listing.total, listing.page(offset, page_size)
    except (ValueError, KeyError, TypeError) as exc:
        return kv_error(400, "BadRequest", f"Invalid parameter: {exc}")
    if query.get("orderdirection", "").lower() == "desc":
        page.reverse()  # (within the page: enough for the sandbox's callers)
    body: dict[str, Any] = {"total": total, "pageSize": page_size,
                            "data": [_shape(entity, ds.record(state, entity, n), query) for n in page]}
    removed_key = REMOVED_KEYS.get(entity)
    if removed_key and _flag(query, "includeremoveids") and since is not None:
        body[removed_key] = ds.deletions(state, entity, since)
    return JsonResponse(body)


@api
def on_hands_view(request: HttpRequest, retailer: str, state: dict[str, Any], query: dict[str, str]) -> HttpResponse:
    try:
        page_size = min(_int(query, "pagesize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        offset = _int(query, "currentitem", 0)
        since = ds.parse_kv(query["lastmodifiedfrom"]) if query.get("lastmodifiedfrom") else None
        branches = {int(b) for b in query.get("branchids", "").split(",") if b.strip()}
    except ValueError as exc:
        return kv_error(400, "BadRequest", f"Invalid parameter: {exc}")
    # Stock has its own change log (a product edit does not move its stock's modifiedDate).
    listing = ds.Listing(state, "products", since, change_log="stock") if since is not None \
        else ds.Listing(state, "products", None)
    data = []
    for n in listing.page(offset, page_size):
        item = ds.on_hand(state, n)
        if branches:
            item["inventories"] = [i for i in item["inventories"] if i["branchId"] in branches]
        data.append(item)
    return JsonResponse({"total": listing.total, "pageSize": page_size, "data": data})


@api
def detail_view(request: HttpRequest, retailer: str, state: dict[str, Any], query: dict[str, str],
                segment: str, rid: int) -> HttpResponse:
    entity = PATHS.get(segment.lower())
    if entity is None:
        return kv_error(404, "NotFound", f"No route /{segment}/{rid}")
    if entity == "products" and request.method in ("PUT", "DELETE"):
        return _write_product(request, retailer, rid) if request.method == "PUT" else _delete_product(retailer, rid)
    if request.method != "GET":
        return kv_error(405, "MethodNotAllowed", f"{request.method} not allowed")
    n = ds.index_of(entity, rid)
    rec = ds.record(state, entity, n) if n else None
    if rec is None:
        return kv_error(404, "NotFound", f"Không tìm thấy {segment} {rid}")
    if entity == "products" and rec.get("type") == 1:
        rec["productFormulas"] = ds.formulas(state, n)
    return JsonResponse(rec)


@api
def product_by_code_view(request: HttpRequest, retailer: str, state: dict[str, Any], query: dict[str, str],
                         code: str) -> HttpResponse:
    n = int(code[2:]) if code.startswith("SP") and code[2:].isdigit() else None
    rec = ds.record(state, "products", n) if n else None
    if rec is None:
        found = [(k, c) for k, c in state["changes"].get("products", {}).items() if c["fields"].get("code") == code]
        rec = ds.record(state, "products", int(found[0][0])) if found else None
    if rec is None:
        return kv_error(404, "NotFound", f"Không tìm thấy hàng hóa {code}")
    return JsonResponse(rec)


# --- writing (products) ---------------------------------------------------------------------------
WRITABLE = {"code", "barCode", "name", "fullName", "categoryId", "allowsSale", "isActive", "basePrice", "unit",
            "description", "weight", "attributes", "units", "inventories", "priceBooks", "type"}


def validate_product(state: dict[str, Any], data: Any, n: int | None) -> str:
    """KiotViet's first validation message for a product body, or ""."""
    if not isinstance(data, dict):
        return "Dữ liệu không hợp lệ (expected a JSON object)"
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        return "Tên hàng hóa không được để trống (name is required)"
    if len(data["name"]) > 255:
        return "Tên hàng hóa tối đa 255 ký tự (name is too long)"
    price = data.get("basePrice", 0)
    if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
        return "Giá bán không hợp lệ (basePrice must be a non-negative number)"
    cat = data.get("categoryId")
    if cat is not None and (not isinstance(cat, int) or ds.record(state, "categories", ds.index_of("categories", cat)
                                                                  or 0) is None):
        return f"Nhóm hàng {cat} không tồn tại (no such category)"
    code = data.get("code")
    if code is not None and (not isinstance(code, str) or len(code) > 50):
        return "Mã hàng hóa không hợp lệ (code)"
    if isinstance(code, str) and code.startswith("SP") and code[2:].isdigit() and int(code[2:]) != n \
            and ds.record(state, "products", int(code[2:])) is not None:
        return f"Mã hàng {code} đã tồn tại (code already used)"
    return ""


def _write_product(request: HttpRequest, retailer: str, rid: int | None) -> HttpResponse:
    try:
        body = loads(request.body or b"null")
    except ValueError:
        return kv_error(400, "BadRequest", "Dữ liệu không phải JSON (body is not JSON)")
    with ds.locked_state(retailer) as state:
        n = ds.index_of("products", rid) if rid is not None else None
        current = ds.record(state, "products", n) if n else {}
        if rid is not None and current is None:
            return kv_error(404, "NotFound", f"Không tìm thấy hàng hóa {rid}")
        merged = {**{k: v for k, v in current.items() if k in WRITABLE}, **body} if isinstance(body, dict) else body
        message = validate_product(state, merged, n)
        if message:
            return kv_error(400, "ValidationException", message)
        fields = {k: v for k, v in merged.items() if k in WRITABLE}
        created = n is None
        if created:
            n = state["next_created"]
            state["next_created"] += 1
            fields = {"code": f"SP{n:06d}", "barCode": "", "fullName": fields["name"], "categoryId": None,
                      "allowsSale": True, "isActive": True, "basePrice": 0, "unit": "", "type": 2,
                      "hasVariants": False, "masterUnitId": None, "conversionValue": 1, "retailerId": ds.RETAILER_ID,
                      "attributes": [], "units": [], "inventories": [], "priceBooks": [], "description": "",
                      **fields}
        previous = state["changes"].setdefault("products", {}).get(str(n), {})
        state["changes"]["products"][str(n)] = {
            "ts": ds.next_change_ts(state), "fields": {**previous.get("fields", {}), **fields},
            "created": created or bool(previous.get("created"))}
        rec = ds.record(state, "products", n)
    emit(retailer, "product.update", [rec])
    return JsonResponse(rec, status=200)


def _delete_product(retailer: str, rid: int) -> HttpResponse:
    with ds.locked_state(retailer) as state:
        n = ds.index_of("products", rid)
        if not n or ds.record(state, "products", n) is None:
            return kv_error(404, "NotFound", f"Không tìm thấy hàng hóa {rid}")
        state["deleted"].setdefault("products", {})[str(n)] = ds.next_change_ts(state)
    emit(retailer, "product.delete", [rid])
    return JsonResponse({"message": "Xóa dữ liệu thành công"})


# --- webhooks -------------------------------------------------------------------------------------
def pascal(value: Any) -> Any:
    """REST camelCase -> webhook PascalCase, recursively."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(event_type: str, data: list[Any], delivery_id: str | None = None) -> bytes:
    notification = {"Action": f"{event_type}.{ds.RETAILER_ID}", "Data": data}
    return json.dumps({"Id": delivery_id or str(uuid.uuid4()), "Attempt": 1, "Notifications": [notification]},
                      ensure_ascii=False).encode()


def post_event(url: str, secret: str, body: bytes) -> int:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Hub-Signature"] = sign(body, secret)
    return requests.post(url, data=body, headers=headers, timeout=5).status_code


def _event_data(event_type: str, items: list[Any]) -> list[Any]:
    if event_type == "stock.update":
        return [pascal({"productId": rec["id"], "productCode": rec["code"], "productName": rec["name"],
                        "branchId": inv["branchId"], "branchName": inv.get("branchName", ""), "cost": inv.get("cost"),
                        "onHand": inv["onHand"], "reserved": inv["reserved"]})
                for rec in items for inv in rec.get("inventories") or []]
    if event_type.endswith(".delete"):
        return list(items)  # ids, as KiotViet's own plugin reads them
    return pascal(items)


def emit(retailer: str, event_type: str, items: list[Any]) -> list[int]:
    """POST one event to every active hook of ``event_type``; switch off hooks answering 400-405."""
    state = ds.load_state(retailer)
    hooks = [(hid, h) for hid, h in state["webhooks"].items() if h["type"] == event_type and h["isActive"]]
    if not hooks or not items:
        return []
    body = event_body(event_type, _event_data(event_type, items))
    statuses, disabled = [], []
    for hid, hook in hooks:
        try:
            status = post_event(hook["url"], hook.get("secret") or "", body)
        except requests.RequestException:
            status = 0  # unreachable: KiotViet retries later; we just record it
        statuses.append(status)
        if status in DISABLING_STATUSES:
            disabled.append(hid)
    if disabled:
        with ds.locked_state(retailer) as locked:
            for hid in disabled:
                if hid in locked["webhooks"]:
                    locked["webhooks"][hid]["isActive"] = False
    return statuses


def _hook_out(hid: str, hook: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(hid), "type": hook["type"], "url": hook["url"], "isActive": hook["isActive"],
            "description": hook.get("description", ""), "retailerId": ds.RETAILER_ID}


@api
def webhooks_view(request: HttpRequest, retailer: str, state: dict[str, Any], query: dict[str, str]) -> HttpResponse:
    if request.method == "GET":
        hooks = [_hook_out(hid, h) for hid, h in sorted(state["webhooks"].items(), key=lambda kv: int(kv[0]))]
        return JsonResponse({"total": len(hooks), "pageSize": len(hooks), "data": hooks})
    if request.method != "POST":
        return kv_error(405, "MethodNotAllowed", f"{request.method} not allowed")
    try:
        hook = loads(request.body or b"{}")["Webhook"]
        spec = {"type": str(hook["Type"]).lower(), "url": str(hook["Url"]),
                "isActive": bool(hook.get("IsActive", True)),
                "description": str(hook.get("Description") or ""), "secret": str(hook.get("Secret") or "")}
    except (ValueError, KeyError, TypeError):
        return kv_error(400, "BadRequest", 'Expected {"Webhook": {"Type", "Url", ...}}')
    if spec["type"] not in WEBHOOK_TYPES:
        return kv_error(400, "ValidationException", f"Loại webhook {spec['type']} không hợp lệ (unknown type)")
    if not spec["url"].startswith(("http://", "https://")):
        return kv_error(400, "ValidationException", "Url không hợp lệ (invalid url)")
    with ds.locked_state(retailer) as locked:
        if any(h["type"] == spec["type"] for h in locked["webhooks"].values()):
            return kv_error(400, "ValidationException", f"Webhook {spec['type']} đã tồn tại (already registered)")
        hid = str(locked["next_webhook"])
        locked["next_webhook"] += 1
        locked["webhooks"][hid] = spec
    return JsonResponse(_hook_out(hid, spec))


@api
def webhook_detail_view(request: HttpRequest, retailer: str, state: dict[str, Any], query: dict[str, str],
                        hid: int) -> HttpResponse:
    if request.method == "GET":
        hook = state["webhooks"].get(str(hid))
        return JsonResponse(_hook_out(str(hid), hook)) if hook else kv_error(404, "NotFound", f"Webhook {hid}")
    if request.method != "DELETE":
        return kv_error(405, "MethodNotAllowed", f"{request.method} not allowed")
    with ds.locked_state(retailer) as locked:
        if locked["webhooks"].pop(str(hid), None) is None:
            return kv_error(404, "NotFound", f"Webhook {hid}")
    return JsonResponse({"message": "Xóa dữ liệu thành công"})


# --- control --------------------------------------------------------------------------------------
def _targets(state: dict[str, Any], entity: str, body: dict[str, Any], from_end: bool = False) -> list[int]:
    if body.get("ids"):
        return [n for n in (ds.index_of(entity, i) for i in body["ids"]) if n]
    wanted = int(body.get("count", 1))
    if body.get("spread"):
        return ds.spread(state, entity, wanted)
    return ds.pick_existing(state, entity, wanted, from_end=from_end)


def _default_change(entity: str, rec: dict[str, Any], version: int) -> dict[str, Any]:
    if entity == "products":
        return {"name": f"{rec['name'].split(' (v')[0]} (v{version})", "basePrice": rec["basePrice"] + 1000}
    if entity == "customers":
        return {"contactNumber": f"09{version:08d}"}
    if entity == "categories":
        return {"categoryName": f"{rec['categoryName'].split(' (v')[0]} (v{version})"}
    if entity == "branches":
        return {"branchName": f"{rec['branchName'].split(' (v')[0]} (v{version})"}
    return {"description": f"changed v{version}"}


def _control_update(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = body["entity"]
    if entity == "stock":
        return _control_stock(state, body)
    changed, records = [], []
    # "same_time": one modifiedDate for all (a bulk import): rows that only an offset can tell apart.
    instant = ds.next_change_ts(state) if body.get("same_time") else None
    for n in _targets(state, entity, body):
        rec = ds.record(state, entity, n)
        if rec is None:
            continue
        entry = state["changes"].setdefault(entity, {}).get(str(n), {"fields": {}, "created": False})
        version = entry.get("version", 1) + 1
        fields = body.get("fields") or _default_change(entity, rec, version)
        state["changes"][entity][str(n)] = {**entry, "version": version, "ts": instant or ds.next_change_ts(state),
                                            "fields": {**entry["fields"], **fields}}
        changed.append(ds.kv_id(entity, n))
        records.append(ds.record(state, entity, n))
    event = {"products": "product.update", "customers": "customer.update", "categories": "category.update",
             "branches": "branch.update"}.get(entity)
    return {"updated": changed, "_emit": (event, records)}


def _control_stock(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Stock changes of products: ``fields`` {branchId: onHand} or +1 on every branch."""
    changed, records = [], []
    for n in _targets(state, "products", body):
        item = ds.on_hand(state, n)
        if item is None:
            continue
        entry = state["changes"].setdefault("stock", {}).get(str(n), {"fields": {}})
        fields = {str(k): v for k, v in (body.get("fields") or {}).items()} or {
            str(inv["branchId"]): inv["onHand"] + 1 for inv in item["inventories"]}
        state["changes"]["stock"][str(n)] = {"ts": ds.next_change_ts(state), "fields": {**entry["fields"], **fields}}
        changed.append(ds.kv_id("products", n))
        product = ds.record(state, "products", n)
        stock = ds.on_hand(state, n)
        product["inventories"] = [{**inv, "onHand": s["onHand"]}
                                  for inv, s in zip(product["inventories"], stock["inventories"], strict=False)]
        records.append(product)
    return {"updated": changed, "_emit": ("stock.update", records)}


def _control_delete(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = body["entity"]
    deleted = []
    for n in _targets(state, entity, body, from_end=True):
        if ds.record(state, entity, n) is not None:
            state["deleted"].setdefault(entity, {})[str(n)] = ds.next_change_ts(state)
            deleted.append(ds.kv_id(entity, n))
    event = {"products": "product.delete", "customers": "customer.delete", "categories": "category.delete",
             "branches": "branch.delete"}.get(entity)
    return {"deleted": deleted, "_emit": (event, deleted)}


def _control_sizes(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    sizes = {k: int(v) for k, v in (body.get("sizes") or {}).items() if k in ds.DEFAULT_SIZES}
    if any(v < 0 or v > ds.MAX_SIZE for v in sizes.values()) or sizes.get("branches", 0) > ds.MAX_BRANCHES:
        raise ValueError("sizes out of range")
    state["sizes"].update(sizes)
    if "seed" in body:
        state["seed"] = int(body["seed"])
    return {"sizes": state["sizes"], "seed": state["seed"]}


def _control_fault(state: dict[str, Any], body: dict[str, Any], retailer: str) -> dict[str, Any]:
    if body.get("kind") not in FAULTS:
        raise ValueError(f"kind must be one of {', '.join(FAULTS)}")
    start = ds.counter(retailer, "requests") + int(body.get("after", 0)) + 1
    fault = {k: v for k, v in body.items() if k not in {"action", "client_id", "client_secret", "retailer", "after",
                                                        "count"}}
    fault.update({"from": start, "to": start + int(body.get("count", 1)) - 1})
    state["faults"].append(fault)
    return {"fault": fault}


def _control_fault_rate(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    rate = float(body.get("rate", 0))
    kinds = list(body.get("kinds") or ["status"])
    if not 0 <= rate <= 1 or any(k not in FAULTS for k in kinds):
        raise ValueError(f"rate in [0, 1] and kinds among {', '.join(FAULTS)}")
    state["fault_rate"] = {"rate": rate, "kinds": kinds, "seed": body.get("seed", 0),
                           "seconds": float(body.get("seconds", 2)), "retry_after": body.get("retry_after", 1)} \
        if rate else None
    return {"fault_rate": state["fault_rate"]}


def _control_send_webhook(state: dict[str, Any], body: dict[str, Any], retailer: str) -> dict[str, Any]:
    """Send one event to the registered hook of its type (``secret``/``url`` override: a forgery)."""
    event_type = body["type"]
    hooks = [(hid, h) for hid, h in state["webhooks"].items() if h["type"] == event_type]
    hid, hook = hooks[0] if hooks else (None, {})
    entity = event_type.split(".")[0]
    entity = {"product": "products", "stock": "products", "customer": "customers"}.get(entity, entity)
    if event_type.endswith(".delete"):
        items: list[Any] = list(body.get("ids") or [])
    else:
        items = [ds.record(state, entity, ds.index_of(entity, i) or 0) for i in body.get("ids") or []]
        items = [i for i in items if i]
    payload = event_body(event_type, _event_data(event_type, items), body.get("delivery_id"))
    status = post_event(body.get("url") or hook["url"], body.get("secret", hook.get("secret", "")), payload)
    return {"status": status, "webhook": hid, "body": payload.decode()}


CONTROL_ACTIONS: dict[str, Callable[[dict[str, Any], dict[str, Any], str, str], dict[str, Any]]] = {
    "set_sizes": lambda s, b, r, c: _control_sizes(s, b),
    "update": lambda s, b, r, c: _control_update(s, b),
    "delete": lambda s, b, r, c: _control_delete(s, b),
    "fault": lambda s, b, r, c: _control_fault(s, b, r),
    "fault_rate": lambda s, b, r, c: _control_fault_rate(s, b),
    "clear_faults": lambda s, b, r, c: s.update(faults=[], fault_rate=None) or {"faults": []},
    "expire_tokens": lambda s, b, r, c: {"gen": set_client_tokens(c, gen=client_tokens(c)["gen"] + 1)["gen"]},
    "set_token_ttl": lambda s, b, r, c: set_client_tokens(c, ttl=int(b["seconds"])),
    "webhooks": lambda s, b, r, c: {"data": [_hook_out(hid, h) for hid, h in s["webhooks"].items()]},
    # lastModifiedFrom is inclusive by default; "exclusive": true makes it strictly-after.
    "set_since_bound": lambda s, b, r, c: s.update(exclusive_since=bool(b.get("exclusive"))) or {
        "exclusive": s["exclusive_since"]},
    "stats": lambda s, b, r, c: {"requests": ds.counter(r, "requests"),
                                 "token_requests": ds.counter(c, "token_requests"),
                                 "sizes": s["sizes"]},
}
# Actions that must not hold the state lock (they call out over HTTP).
UNLOCKED_ACTIONS = {"send_webhook": _control_send_webhook}


CONTROL_CODES = {404: "NotFound", 405: "MethodNotAllowed", 400: "BadRequest"}


@csrf_exempt
def control_view(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return kv_error(exc.status, CONTROL_CODES[exc.status], exc.message)
    client_id, retailer = body.get("client_id", ""), body.get("retailer", "")
    if not ds.check_secret(client_id, body.get("client_secret", "")) or not retailer:
        return kv_error(401, "Unauthorized", "control needs client_id, client_secret and retailer")
    action = body.get("action", "")
    try:
        if action == "reset":
            ds.reset(retailer)
            set_client_tokens(client_id, gen=client_tokens(client_id)["gen"] + 1, ttl=86400)
            return JsonResponse({"reset": True})
        if action in UNLOCKED_ACTIONS:
            return JsonResponse(UNLOCKED_ACTIONS[action](ds.load_state(retailer), body, retailer))
        if action not in CONTROL_ACTIONS:
            return kv_error(400, "BadRequest", f"action must be one of reset, {', '.join(CONTROL_ACTIONS)}, "
                                               f"{', '.join(UNLOCKED_ACTIONS)}")
        with ds.locked_state(retailer) as state:
            result = CONTROL_ACTIONS[action](state, body, retailer, client_id)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        return kv_error(400, "BadRequest", f"{action}: {exc!r}")
    except requests.RequestException as exc:
        return kv_error(502, "WebhookFailed", str(exc))
    event, items = result.pop("_emit", (None, []))
    if event and body.get("emit", True):
        result["webhook_statuses"] = emit(retailer, event, items)
    return JsonResponse(result)


urlpatterns = [
    path("connect/token", token_view, name="kiotviet-sandbox-token"),
    path("_control", control_view, name="kiotviet-sandbox-control"),
    path("webhooks", webhooks_view, name="kiotviet-sandbox-webhooks"),
    path("webhooks/<int:hid>", webhook_detail_view, name="kiotviet-sandbox-webhook"),
    path("productOnHands", on_hands_view, name="kiotviet-sandbox-onhands"),
    path("products/code/<str:code>", product_by_code_view, name="kiotviet-sandbox-product-code"),
    path("<str:segment>/<int:rid>", detail_view, name="kiotviet-sandbox-detail"),
    path("<str:segment>", list_view, name="kiotviet-sandbox-list"),
]


def main(argv: list[str] | None = None) -> None:
    """Serve only this sandbox (at the root path), e.g. for the benchmark or a manual look."""
    parser = sandbox_server.parser("Run the KiotViet sandbox standalone.", 8765)
    parser.add_argument("--shared-cache", action="store_true",
                        help="keep the state in the hub's cache (Redis) instead of this process's memory")
    args = parser.parse_args(argv)

    def configure(settings: Any) -> None:
        if not args.shared_cache:
            # One process: its own memory holds the state, out of reach of anything that clears the
            # shared cache (a test run's cache.clear() would reset every retailer mid-benchmark).
            settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                           "LOCATION": "kiotviet-sandbox"}}

    sandbox_server.run(__name__, args, "KiotViet sandbox (token: /connect/token; client_secret = client_id + "
                                       "'-secret'; any Retailer name)", configure)


if __name__ == "__main__":
    main()

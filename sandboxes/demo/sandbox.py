"""The Demo Store sandbox: a small JSON retail API that behaves like a real provider.

Mounted under ``/sandbox/demo/`` (see ``sandboxes/urls.py``):

- ``POST oauth/token`` (client credentials) -> bearer token; a wrong secret is 401 invalid_client;
- ``GET api/<locations|categories|products|stock|customers|orders>``: ``page_size`` (max 100),
  opaque ``cursor``/``next_cursor``, ``updated_since`` (inclusive; then ordered by modified_at, id);
  ``GET api/<entity>/<id>``; ``GET api/deleted?entity=...&since=...``;
- ``POST api/products`` and ``PUT api/products/<id>`` (write-back; 422 with field errors);
- ``POST _control`` (JSON with the account's client_id and client_secret): sizes, changes,
  deletions, injected faults, token expiry, signed webhooks. See ``CONTROL_ACTIONS``.

Data is generated per account (the client_id) by ``dataset``; the state sits in the Django cache.
Run standalone: ``python -m sandboxes.demo.sandbox --port 8081``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from connectors.signatures import sign_standard_webhooks
from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes import server as sandbox_server
from sandboxes.control import ControlRefused, control_body

from . import dataset as ds

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
ENTITIES = {name: name for name in ds.ENTITIES}
# Which event a change of an entity announces, when the account has a webhook configured.
CHANGE_EVENTS = {("products", "update"): "product.updated", ("products", "delete"): "product.deleted",
                 ("stock", "update"): "stock.updated"}


def error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **extra}, status=status)


# --- tokens ---------------------------------------------------------------------------------------
def _token_sig(payload: str) -> str:
    key = hashlib.sha256(f"demo-sandbox-token:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:40]


def issue_token(client_id: str, state: dict[str, Any]) -> str:
    payload = f"{client_id}|{state['token_gen']}|{int(time.time()) + state['token_ttl']}|{secrets.token_hex(4)}"
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"dtk_{encoded}.{_token_sig(encoded)}"


def read_token(value: str) -> tuple[str, dict[str, Any]] | None:
    """(client_id, state) for a valid, unexpired token of the current generation, else None."""
    if not value.startswith("dtk_") or "." not in value:
        return None
    encoded, sig = value[4:].rsplit(".", 1)
    if not hmac.compare_digest(sig, _token_sig(encoded)):
        return None
    try:
        client_id, gen, exp, _ = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().split("|")
    except ValueError:
        return None
    state = ds.load_state(client_id)
    if int(gen) != state["token_gen"] or int(exp) <= time.time():
        return None
    return client_id, state


@csrf_exempt
def token_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return error(405, "method_not_allowed", "POST only")
    form = request.POST
    if form.get("grant_type") != "client_credentials":
        return error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id = form.get("client_id", "")
    if not ds.check_secret(client_id, form.get("client_secret", "")):
        return error(401, "invalid_client", "unknown client or wrong secret")
    ds.count(client_id, "token_requests")
    state = ds.load_state(client_id)
    return JsonResponse({"access_token": issue_token(client_id, state), "token_type": "Bearer",
                         "expires_in": state["token_ttl"]})


# --- faults ---------------------------------------------------------------------------------------
def _fault_status(fault: dict[str, Any]) -> HttpResponse:
    resp = error(int(fault.get("status", 500)), "injected_fault", fault.get("message", "injected failure"))
    if fault.get("retry_after") is not None:
        resp["Retry-After"] = str(fault["retry_after"])
    return resp


def _fault_hang(fault: dict[str, Any]) -> None:
    time.sleep(float(fault.get("seconds", 5)))  # then answer normally: the client has given up


FAULTS: dict[str, Callable[[dict[str, Any]], HttpResponse | None]] = {
    "status": _fault_status,
    "rate_limit": lambda f: _fault_status({"status": 429, "retry_after": 1, **f}),
    "hang": _fault_hang,
}


def _injected(state: dict[str, Any], n: int, request_path: str) -> HttpResponse | None:
    for fault in state["faults"]:
        if fault["from"] <= n <= fault["to"] and fault.get("path", "") in request_path:
            resp = FAULTS[fault["kind"]](fault)
            if resp is not None:
                return resp
    return None


def api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Bearer auth, request counting and injected faults in front of every data endpoint."""

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        found = read_token(header[7:].strip()) if header.startswith("Bearer ") else None
        if found is None:
            resp = error(401, "invalid_token", "missing, invalid or expired access token")
            resp["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return resp
        client_id, state = found
        n = ds.count(client_id, "requests")
        if state["faults"]:
            injected = _injected(state, n, request.path)
            if injected is not None:
                return injected
        return view(request, client_id, state, *args, **kwargs)

    return wrapper


# --- reading --------------------------------------------------------------------------------------
def _encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def _key(value: Any) -> tuple[int, int]:
    """A position from a cursor: (timestamp, id)."""
    ts, rid = value  # ValueError/TypeError on a forged cursor: a 400
    return int(ts), int(rid)


def _page_size(request: HttpRequest) -> int:
    value = int(request.GET.get("page_size") or DEFAULT_PAGE_SIZE)
    if value < 1:
        raise ValueError("page_size must be at least 1")
    return min(value, MAX_PAGE_SIZE)


def _with_price(records: list[dict[str, Any]], price_list: str | None) -> list[dict[str, Any]]:
    if price_list:
        for rec in records:
            if "prices" in rec:
                rec["price"] = rec["prices"].get(price_list)
    return records


def _list(request: HttpRequest, client_id: str, state: dict[str, Any], entity: str) -> HttpResponse:
    if entity not in ENTITIES:
        return error(404, "not_found", f"no endpoint api/{entity}")
    try:
        page_size = _page_size(request)
        if request.GET.get("cursor"):
            cur = _decode_cursor(request.GET["cursor"])
            since, after = cur.get("s"), _key(cur["k"])
            since = None if since is None else int(since)
        else:
            since = ds.parse_iso(request.GET["updated_since"]) if request.GET.get("updated_since") else None
            after = None
    except (ValueError, KeyError, TypeError) as exc:
        return error(400, "invalid_parameter", str(exc))
    if entity == "stock" and request.GET.get("product_id"):
        pid = int(request.GET["product_id"]) if request.GET["product_id"].isdigit() else 0
        ids = [pid * ds.STOCK_ID_FACTOR + loc for loc in range(1, ds.size(state, "locations") + 1)]
        data = [r for r in (ds.record(state, entity, rid) for rid in ids) if r]
        return JsonResponse({"data": data, "next_cursor": None, "page_size": len(data)})

    keys = []
    for key in ds.ordered_keys(state, entity, since, after):
        keys.append(key)
        if len(keys) > page_size:
            break
    more = len(keys) > page_size
    keys = keys[:page_size]
    data = [ds.record(state, entity, rid) for _, rid in keys]
    next_cursor = _encode_cursor({"s": since, "k": list(keys[-1])}) if more else None
    return JsonResponse({"data": _with_price(data, request.GET.get("price_list")), "next_cursor": next_cursor,
                         "page_size": page_size})


@api
def deleted_view(request: HttpRequest, client_id: str, state: dict[str, Any]) -> HttpResponse:
    entity = request.GET.get("entity", "")
    if entity not in ENTITIES:
        return error(400, "invalid_parameter", f"entity must be one of {', '.join(ENTITIES)}")
    try:
        page_size = _page_size(request)
        since = ds.parse_iso(request.GET["since"]) if request.GET.get("since") else 0
        after = _key(_decode_cursor(request.GET["cursor"])["k"]) if request.GET.get("cursor") else None
    except (ValueError, KeyError, TypeError) as exc:
        return error(400, "invalid_parameter", str(exc))
    items = [k for k in ds.deletions(state, entity, since) if after is None or k > after]
    page = items[:page_size]
    next_cursor = _encode_cursor({"k": list(page[-1])}) if len(items) > page_size else None
    return JsonResponse({"data": [{"id": rid, "deleted_at": ds.to_iso(ts)} for ts, rid in page],
                         "next_cursor": next_cursor, "page_size": page_size})


def _detail(state: dict[str, Any], entity: str, rid: int, price_list: str | None = None) -> HttpResponse:
    rec = ds.record(state, entity, rid)
    if rec is None:
        return error(404, "not_found", f"{entity} {rid} not found")
    return JsonResponse(_with_price([rec], price_list)[0])


# --- writing (products) ---------------------------------------------------------------------------
PRODUCT_FIELDS = {"category_id", "sku", "barcode", "name", "description", "unit", "prices", "cost", "currency",
                  "is_active"}


def validate_product(state: dict[str, Any], data: Any, rid: int | None) -> dict[str, list[str]]:
    """Field errors of a product body (the whole product after applying the body)."""
    if not isinstance(data, dict):
        return {"non_field_errors": ["expected a JSON object"]}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - PRODUCT_FIELDS - {"id", "modified_at", "price"}):
        errors[name] = ["unknown field"]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["this field is required"]
    elif len(name) > 200:
        errors["name"] = ["at most 200 characters"]
    sku = data.get("sku", "")
    if not isinstance(sku, str) or len(sku) > 64:
        errors["sku"] = ["a string of at most 64 characters"]
    elif sku.startswith("SKU-") and sku[4:].isdigit() and int(sku[4:]) != rid and \
            ds.record(state, "products", int(sku[4:])) is not None:
        errors["sku"] = [f"sku {sku} is already used by product {int(sku[4:])}"]
    cat = data.get("category_id")
    if cat is not None and (not isinstance(cat, int) or ds.record(state, "categories", cat) is None):
        errors["category_id"] = [f"no category {cat}"]
    prices = data.get("prices", {})
    if not isinstance(prices, dict) or any(not _non_negative(v) for v in prices.values()):
        errors["prices"] = ["an object of non-negative decimal strings"]
    if data.get("cost") is not None and not _non_negative(data["cost"]):
        errors["cost"] = ["a non-negative decimal string"]
    if "is_active" in data and not isinstance(data["is_active"], bool):
        errors["is_active"] = ["true or false"]
    return errors


def _non_negative(value: Any) -> bool:
    try:
        return float(value) >= 0
    except (TypeError, ValueError):
        return False


def _write_product(request: HttpRequest, client_id: str, rid: int | None) -> HttpResponse:
    try:
        body = loads(request.body or b"null")
    except ValueError:
        return error(400, "invalid_json", "the body is not JSON")
    with ds.locked_state(client_id) as state:
        current = ds.record(state, "products", rid) if rid is not None else {}
        if current is None:
            return error(404, "not_found", f"products {rid} not found")
        merged = {**{k: v for k, v in current.items() if k in PRODUCT_FIELDS}, **(body or {})} \
            if isinstance(body, dict) else body
        errors = validate_product(state, merged, rid)
        if errors:
            return error(422, "validation_failed", "the product is invalid", errors=errors)
        fields = {k: v for k, v in merged.items() if k in PRODUCT_FIELDS}
        created = rid is None
        if created:
            rid = state["next_created"]
            state["next_created"] += 1
            fields = {"description": "", "unit": "pcs", "prices": {}, "currency": "USD", "is_active": True,
                      "barcode": "", "cost": None, "category_id": None, "sku": "", **fields}
        state["changes"].setdefault("products", {})[str(rid)] = {
            "ts": ds.next_change_ts(state), "fields": fields, "created": created or bool(
                state["changes"].get("products", {}).get(str(rid), {}).get("created"))}
        webhook = state.get("webhook")
    _notify(webhook, "product.updated", {"id": rid})
    rec = ds.record(ds.load_state(client_id), "products", rid)
    return JsonResponse(rec, status=201 if created else 200)


@api
def products_view(request: HttpRequest, client_id: str, state: dict[str, Any]) -> HttpResponse:
    if request.method == "POST":
        return _write_product(request, client_id, None)
    return _list(request, client_id, state, "products")


@api
def detail_view(request: HttpRequest, client_id: str, state: dict[str, Any], entity: str, rid: int) -> HttpResponse:
    if request.method == "PUT" and entity == "products":
        return _write_product(request, client_id, rid)
    if request.method != "GET":
        return error(405, "method_not_allowed", f"{request.method} not allowed here")
    if entity not in ENTITIES:
        return error(404, "not_found", f"no endpoint api/{entity}")
    return _detail(state, entity, rid, request.GET.get("price_list"))


list_view = api(_list)


# --- webhooks -------------------------------------------------------------------------------------
def send_webhook(url: str, secret: str, event_type: str, data: dict[str, Any], msg_id: str | None = None
                 ) -> tuple[int, str]:
    """POST one Standard Webhooks-signed event to ``url``; return (status, webhook-id)."""
    msg_id = msg_id or f"msg_{secrets.token_hex(12)}"
    body = json.dumps({"type": event_type, "timestamp": ds.to_iso(ds.now_us()), "data": data}).encode()
    headers = sign_standard_webhooks(msg_id, int(time.time()), body, secret)
    resp = requests.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=10)
    return resp.status_code, msg_id


def _notify(webhook: dict[str, Any] | None, event_type: str, data: dict[str, Any]) -> None:
    if not webhook:
        return
    try:
        send_webhook(webhook["url"], webhook["secret"], event_type, data)
    except requests.RequestException:
        pass  # like a real provider: a failed delivery is not the API caller's problem


# --- control --------------------------------------------------------------------------------------
def _pick_ids(state: dict[str, Any], entity: str, body: dict[str, Any], from_end: bool = False) -> list[int]:
    if body.get("ids"):
        return [int(i) for i in body["ids"]]
    wanted = int(body.get("count", 1))
    if from_end:
        candidates = reversed(list(ds.base_ids(state, entity)))
    else:
        candidates = ds.base_ids(state, entity)
    picked = []
    for rid in candidates:
        if len(picked) >= wanted:
            break
        if ds.deleted_at(state, entity, rid) is None:
            picked.append(rid)
    return picked


def _default_change(entity: str, rec: dict[str, Any], version: int) -> dict[str, Any]:
    if entity == "products":
        retail = float(rec["prices"].get("retail") or 0) + 1
        return {"name": f"{rec['name'].split(' (v')[0]} (v{version})",
                "prices": {**rec["prices"], "retail": f"{retail:.2f}"}}
    if entity == "stock":
        return {"quantity": f"{float(rec['quantity']) + version:.3f}"}
    if entity == "customers":
        return {"phone": f"+84 91 {version:07d}"}
    return {"name": f"{rec.get('name', rec.get('number', ''))} (v{version})"} if "name" in rec else {
        "status": f"changed-{version}"}


def _control_update(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = body["entity"]
    changed = []
    for rid in _pick_ids(state, entity, body):
        rec = ds.record(state, entity, rid)
        if rec is None:
            continue
        entry = state["changes"].setdefault(entity, {}).get(str(rid), {"fields": {}, "created": False})
        version = entry.get("version", 1) + 1
        fields = body.get("fields") or _default_change(entity, rec, version)
        state["changes"][entity][str(rid)] = {**entry, "version": version, "ts": ds.next_change_ts(state),
                                              "fields": {**entry["fields"], **fields}}
        changed.append(rid)
    return {"updated": changed, "event": CHANGE_EVENTS.get((entity, "update")), "entity": entity}


def _control_delete(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = body["entity"]
    deleted = [rid for rid in _pick_ids(state, entity, body, from_end=True) if ds.record(state, entity, rid)]
    for rid in deleted:
        state["deleted"].setdefault(entity, {})[str(rid)] = ds.next_change_ts(state)
    return {"deleted": deleted, "event": CHANGE_EVENTS.get((entity, "delete")), "entity": entity}


def _control_sizes(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    sizes = {k: int(v) for k, v in (body.get("sizes") or {}).items() if k in ds.DEFAULT_SIZES}
    if any(v < 0 or v >= ds.CREATED_ID_START for v in sizes.values()) or sizes.get("locations", 0) > ds.MAX_LOCATIONS:
        raise ValueError("sizes out of range")
    state["sizes"].update(sizes)
    if "seed" in body:
        state["seed"] = int(body["seed"])
    return {"sizes": state["sizes"], "seed": state["seed"]}


def _control_fault(state: dict[str, Any], body: dict[str, Any], client_id: str) -> dict[str, Any]:
    if body.get("kind") not in FAULTS:
        raise ValueError(f"kind must be one of {', '.join(FAULTS)}")
    start = ds.counter(client_id, "requests") + int(body.get("after", 0)) + 1
    fault = {k: v for k, v in body.items() if k not in {"action", "client_id", "client_secret", "after", "count"}}
    fault.update({"from": start, "to": start + int(body.get("count", 1)) - 1})
    state["faults"].append(fault)
    return {"fault": fault}


def _control_webhook(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    state["webhook"] = {"url": body["url"], "secret": body["secret"]} if body.get("url") else None
    return {"webhook": bool(state["webhook"])}


def _control_send_webhook(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    target = state.get("webhook") or {}
    status, msg_id = send_webhook(body.get("url") or target["url"], body.get("secret") or target["secret"],
                                  body["type"], body.get("data") or {"id": body["id"]}, body.get("webhook_id"))
    return {"status": status, "webhook_id": msg_id}


CONTROL_ACTIONS: dict[str, Callable[[dict[str, Any], dict[str, Any], str], dict[str, Any]]] = {
    "set_sizes": lambda s, b, c: _control_sizes(s, b),
    "update": lambda s, b, c: _control_update(s, b),
    "delete": lambda s, b, c: _control_delete(s, b),
    "fault": _control_fault,
    "clear_faults": lambda s, b, c: s.update(faults=[]) or {"faults": []},
    "expire_tokens": lambda s, b, c: s.update(token_gen=s["token_gen"] + 1) or {"token_gen": s["token_gen"]},
    "set_token_ttl": lambda s, b, c: s.update(token_ttl=int(b["seconds"])) or {"token_ttl": s["token_ttl"]},
    "set_webhook": lambda s, b, c: _control_webhook(s, b),
    "send_webhook": lambda s, b, c: _control_send_webhook(s, b),
    "stats": lambda s, b, c: {"requests": ds.counter(c, "requests"), "token_requests": ds.counter(c, "token_requests"),
                              "sizes": s["sizes"]},
}


CONTROL_CODES = {404: "not_found", 405: "method_not_allowed", 400: "invalid_json"}


@csrf_exempt
def control_view(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return error(exc.status, CONTROL_CODES[exc.status], exc.message)
    client_id = body.get("client_id", "")
    if not ds.check_secret(client_id, body.get("client_secret", "")):
        return error(401, "invalid_client", "control needs the account's client_id and client_secret")
    action = body.get("action", "")
    if action == "reset":
        ds.reset(client_id)
        return JsonResponse({"reset": True})
    if action not in CONTROL_ACTIONS:
        return error(400, "unknown_action", f"action must be one of reset, {', '.join(CONTROL_ACTIONS)}")
    try:
        with ds.locked_state(client_id) as state:
            result = CONTROL_ACTIONS[action](state, body, client_id)
            webhook = state.get("webhook")
    except (KeyError, ValueError, TypeError) as exc:
        return error(400, "invalid_control", f"{action}: {exc!r}")
    except requests.RequestException as exc:
        return error(502, "webhook_failed", str(exc))
    event = result.pop("event", None)
    for rid in result.get("updated", result.get("deleted", [])) if event else []:
        pid = rid // ds.STOCK_ID_FACTOR if result["entity"] == "stock" else rid
        _notify(webhook, event, {"id": pid})
    return JsonResponse(result)


urlpatterns = [
    path("oauth/token", token_view, name="demo-sandbox-token"),
    path("_control", control_view, name="demo-sandbox-control"),
    path("api/deleted", deleted_view, name="demo-sandbox-deleted"),
    path("api/products", products_view, name="demo-sandbox-products"),
    path("api/<str:entity>/<int:rid>", detail_view, name="demo-sandbox-detail"),
    path("api/<str:entity>", list_view, name="demo-sandbox-list"),
]


def main(argv: list[str] | None = None) -> None:
    """Serve only this sandbox (at the root path), e.g. for a benchmark or a manual look."""
    args = sandbox_server.parser("Run the Demo Store sandbox standalone.", 8081).parse_args(argv)
    sandbox_server.run(__name__, args, "Demo Store sandbox (credentials: client_id, client_id + '-secret')")


if __name__ == "__main__":
    main()

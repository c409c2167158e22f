"""The generic REST sandbox: a plain JSON API, one resource per pagination style, for the `rest` connector.

Mounted under ``/sandbox/rest/``. Every data endpoint takes any of these credentials for an account
``<acct>`` (its data are generated from the record numbers, its state sits in the shared cache):

- API key ``rk_<acct>`` in the ``X-API-Key`` header or the ``api_key`` query parameter;
- a static bearer token ``rt_<acct>``;
- HTTP basic, user ``<acct>``, password ``<acct>-pass``;
- OAuth2 client credentials: ``POST oauth/token`` (``client_id=<acct>``, ``client_secret=<acct>-secret``,
  optional ``scope`` of ``read`` / ``write``) -> a bearer token that expires (``expires_in``).

Resources:

- ``GET items`` (10,000): a cursor in the body; ``limit`` (max 500), ``cursor``;
  ``{"data": {"items": [...]}, "meta": {"next": ...}}``;
- ``GET categories``: page number; ``page``, ``per_page`` (max 100); ``{"results": [...], "page", "total_pages"}``;
- ``GET customers``: ``offset`` / ``limit`` (max 100); ``{"customers": [...], "total"}``;
- ``GET orders``: the Link header's ``rel="next"``; ``per_page`` (max 100); a bare list;
- ``GET locations``: no pagination; ``{"locations": [...]}``.

``items`` takes ``updated_since`` (ISO 8601, inclusive) and is ordered by (updated_at, id).
``POST _control`` (JSON ``{"account", "action", ...}``, test and demo mode only): ``reset``,
``sizes`` (``{"sizes": {...}}``), ``touch`` (``start``, ``count``: change items now), ``fault``
(``kind``: ``status`` / ``rate_limit`` (429 + Retry-After) / ``malformed`` (200, not JSON) /
``missing_path`` (200 without the records); ``resource``, the resource's request numbers ``from``..``to``),
``expire_tokens``. Run standalone: ``python -m sandboxes.rest.sandbox --port 8083``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import server as sandbox_server
from sandboxes.control import ControlRefused, control_body

from . import dataset as ds

SCOPES = {"read", "write"}
ACCOUNT_MAX = 100
FAULT_KINDS = ("status", "rate_limit", "malformed", "missing_path")


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


# --- credentials ------------------------------------------------------------------------------------
def _sig(payload: str) -> str:
    key = hashlib.sha256(f"rest-sandbox-token:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:40]


def issue_token(account: str, state: dict[str, Any]) -> str:
    payload = f"{account}|{state['token_gen']}|{int(time.time()) + state['token_ttl']}|{secrets.token_hex(4)}"
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"ro_{encoded}.{_sig(encoded)}"


def _oauth_account(value: str) -> str | None:
    encoded, _, sig = value[3:].rpartition(".")
    if not encoded or not hmac.compare_digest(sig, _sig(encoded)):
        return None
    try:
        account, gen, exp, _ = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if int(gen) != ds.load_state(account)["token_gen"] or int(exp) <= time.time():
        return None
    return account


def _valid_account(account: str) -> str | None:
    return account if account and len(account) <= ACCOUNT_MAX and account.isprintable() else None


def account_of(request: HttpRequest) -> str | None:
    """The account the request's credentials name, or None."""
    key = request.headers.get("X-API-Key") or request.GET.get("api_key") or ""
    if key:
        return _valid_account(key[3:]) if key.startswith("rk_") else None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[7:].strip()
        if token.startswith("rt_"):
            return _valid_account(token[3:])
        return _oauth_account(token) if token.startswith("ro_") else None
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return _valid_account(user) if hmac.compare_digest(password, f"{user}-pass") else None
    return None


@csrf_exempt
def token_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return error(405, "method_not_allowed", "POST only")
    form = request.POST
    if form.get("grant_type") != "client_credentials":
        return JsonResponse({"error": "unsupported_grant_type"}, status=400)
    account = _valid_account(form.get("client_id", ""))
    if account is None or not hmac.compare_digest(form.get("client_secret", ""), f"{account}-secret"):
        return JsonResponse({"error": "invalid_client"}, status=401)
    scopes = set(form.get("scope", "").split())
    if scopes - SCOPES:
        return JsonResponse({"error": "invalid_scope", "error_description": f"unknown: {sorted(scopes - SCOPES)}"},
                            status=400)
    ds.count(account, "token_requests")
    state = ds.load_state(account)
    return JsonResponse({"access_token": issue_token(account, state), "token_type": "Bearer",
                         "expires_in": state["token_ttl"], "scope": " ".join(sorted(scopes))})


# --- faults -----------------------------------------------------------------------------------------
def _fault(fault: dict[str, Any]) -> HttpResponse:
    kind = fault["kind"]
    if kind == "malformed":
        return HttpResponse(b'{"data": {"items": [{"id": "itm-0', content_type="application/json")
    if kind == "missing_path":
        return JsonResponse({"unexpected": {"note": "no records here"}})
    status = 429 if kind == "rate_limit" else int(fault.get("status", 500))
    resp = error(status, "injected_fault", fault.get("message", "injected failure"))
    if kind == "rate_limit" or fault.get("retry_after") is not None:
        resp["Retry-After"] = str(fault.get("retry_after", 1))
    return resp


def api(resource: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Auth, request counting and injected faults in front of a resource's list."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        def wrapper(request: HttpRequest) -> HttpResponse:
            if request.method != "GET":
                return error(405, "method_not_allowed", "GET only")
            account = account_of(request)
            if account is None:
                resp = error(401, "unauthorized", "missing or wrong credentials")
                resp["WWW-Authenticate"] = 'Bearer realm="rest-sandbox"'
                return resp
            state = ds.load_state(account)
            n = ds.count(account, f"requests:{resource}")
            for fault in state["faults"]:
                if fault["resource"] == resource and fault["from"] <= n <= fault["to"]:
                    return _fault(fault)
            try:
                return view(request, state)
            except (ValueError, KeyError, TypeError) as exc:
                return error(400, "invalid_parameter", str(exc))

        return wrapper

    return decorate


def _int(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    value = default if raw in (None, "") else int(raw)
    if value < low:
        raise ValueError(f"{name} must be at least {low}")
    return min(value, high)


def _encode(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(value: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


# --- resources --------------------------------------------------------------------------------------
@api("items")
def items_view(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    limit = _int(request, "limit", 100, 1, 500)
    since, after = None, None
    if request.GET.get("cursor"):
        cur = _decode(request.GET["cursor"])
        since, after = cur["s"], tuple(int(v) for v in cur["k"])
    elif request.GET.get("updated_since"):
        since = ds.parse_iso(request.GET["updated_since"])
    keys = ds.item_keys(state, since)
    if after is not None:
        keys = [k for k in keys if k > after]
    page = keys[:limit]
    more = len(keys) > limit
    return JsonResponse({"data": {"items": [ds.item(state, i) for _, i in page]},
                         "meta": {"next": _encode({"s": since, "k": list(page[-1])}) if more else None,
                                  "count": len(page)}})


@api("categories")
def categories_view(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    per_page = _int(request, "per_page", 10, 1, 100)
    page = _int(request, "page", 1, 1, 10**9)
    n = ds.size(state, "categories")
    first = (page - 1) * per_page + 1
    records = [ds.category(state, i) for i in range(first, min(first + per_page, n + 1))]
    return JsonResponse({"results": records, "page": page, "total_pages": -(-n // per_page)})


@api("customers")
def customers_view(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    limit = _int(request, "limit", 20, 1, 100)
    offset = _int(request, "offset", 0, 0, 10**9)
    n = ds.size(state, "customers")
    return JsonResponse({"customers": [ds.customer(state, i) for i in range(offset + 1, min(offset + limit, n) + 1)],
                         "total": n})


@api("orders")
def orders_view(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    per_page = _int(request, "per_page", 25, 1, 100)
    page = _int(request, "page", 1, 1, 10**9)
    n = ds.size(state, "orders")
    first = (page - 1) * per_page + 1
    resp = JsonResponse([ds.order(state, i) for i in range(first, min(first + per_page, n + 1))], safe=False)
    if first + per_page <= n:
        resp["Link"] = f'<{request.path}?page={page + 1}&per_page={per_page}>; rel="next"'
    return resp


@api("locations")
def locations_view(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    return JsonResponse({"locations": [ds.location(state, i) for i in range(1, ds.size(state, "locations") + 1)]})


# --- control ----------------------------------------------------------------------------------------
def _control(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    action = body.get("action")
    if action == "reset":
        state.clear()
        state.update(ds.new_state(""))
        return {}
    if action == "sizes":
        sizes = body.get("sizes")
        if not isinstance(sizes, dict) or any(k not in ds.RESOURCES or not isinstance(v, int)
                                              or not 0 <= v <= ds.MAX_SIZE for k, v in sizes.items()):
            raise ValueError(f"sizes: resource -> 0..{ds.MAX_SIZE}, resources {', '.join(ds.RESOURCES)}")
        state["sizes"].update(sizes)
        return {"sizes": state["sizes"]}
    if action == "touch":
        return {"touched": ds.touch(state, int(body.get("start", 1)), int(body.get("count", 1)))}
    if action == "fault":
        if body.get("kind") not in FAULT_KINDS or body.get("resource") not in ds.RESOURCES:
            raise ValueError(f"fault: kind one of {', '.join(FAULT_KINDS)}, resource one of {', '.join(ds.RESOURCES)}")
        fault = {"kind": body["kind"], "resource": body["resource"], "from": int(body.get("from", 1)),
                 "to": int(body.get("to", body.get("from", 1))), "status": int(body.get("status", 500))}
        if body.get("retry_after") is not None:
            fault["retry_after"] = int(body["retry_after"])
        state["faults"].append(fault)
        return {"faults": state["faults"]}
    if action == "clear_faults":
        state["faults"] = []
        return {}
    if action == "expire_tokens":
        state["token_gen"] += 1
        return {}
    raise ValueError("action: reset, sizes, touch, fault, clear_faults or expire_tokens")


@csrf_exempt
def control_view(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return error(exc.status, "control_refused", exc.message)
    account = _valid_account(str(body.get("account", "")))
    if account is None:
        return error(400, "invalid_parameter", "account is required")
    try:
        with ds.locked_state(account) as state:
            out = _control(state, body)
        if body.get("action") == "reset":
            ds.STORE.forget(account, *(f"requests:{r}" for r in ds.RESOURCES), "token_requests")
    except (ValueError, TypeError) as exc:
        return error(400, "invalid_parameter", str(exc))
    counts = {r: ds.STORE.counter(account, f"requests:{r}") for r in ds.RESOURCES}
    return JsonResponse({"ok": True, **out, "requests": counts,
                         "token_requests": ds.STORE.counter(account, "token_requests")})


urlpatterns = [
    path("oauth/token", token_view, name="rest-sandbox-token"),
    path("_control", control_view, name="rest-sandbox-control"),
    path("items", items_view, name="rest-sandbox-items"),
    path("categories", categories_view, name="rest-sandbox-categories"),
    path("customers", customers_view, name="rest-sandbox-customers"),
    path("orders", orders_view, name="rest-sandbox-orders"),
    path("locations", locations_view, name="rest-sandbox-locations"),
]


def main(argv: list[str] | None = None) -> None:
    """Serve only this sandbox (at the root path), e.g. for a benchmark or a manual look."""
    args = sandbox_server.parser("Run the generic REST sandbox standalone.", 8083).parse_args(argv)
    sandbox_server.run(__name__, args, "generic REST sandbox (api key rk_<acct>, bearer rt_<acct>, ...)")


if __name__ == "__main__":
    main()

"""A faithful iikoServer ("resto" API) of our own, mounted under ``/sandbox/iiko/``.

- ``GET|POST resto/api/auth?login=&pass=<sha1 hex>`` -> the bare token (text/plain). Each live token
  holds one of the account's licence seats (default 2); with none free the login is refused with
  403 ``License enhancement is required: no connections available for module 28008806``. A token
  nobody logs out keeps its seat until it has been idle for ``token_ttl`` (default 1 h).
- ``GET|POST resto/api/logout?key=`` frees the seat.
- XML: ``corporation/departments`` and ``corporation/stores`` (``corporateItemDtoes``),
  ``suppliers`` and ``suppliers/search?name=`` (``employees``), ``documents/export/incomingInvoice
  ?from=&to=`` (``incomingInvoiceDtoes``, dates inclusive). JSON: ``v2/entities/products/list`` (GET,
  or POST form), ``v2/entities/products/group/list``, ``v2/entities/list?rootType=MeasureUnit``.
  Lists take ``revisionFrom`` (objects with a revision strictly greater; -1 = all).
- Errors are text/plain, as iiko's: 400 bad parameter, 401 missing/expired key, 403 licence.
- ``POST _control`` (JSON with the account's login and password; only with DEBUG/TESTING or
  SANDBOX_CONTROL_ENABLED): sizes, new objects, changes, deletions, seats, faults, token expiry, stats.

Data is generated per login by ``dataset``; the password of login L is ``L-password``.
Run standalone: ``python -m sandboxes.iiko.sandbox --port 8766`` (routes at the root: ``/resto/api/...``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import server as sandbox_server
from sandboxes.control import ControlRefused, control_body
from sandboxes.state import STATE_TTL

from . import dataset as ds

XML = "application/xml; charset=UTF-8"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
LICENCE_REFUSED = f"License enhancement is required: no connections available for module {ds.LICENCE_MODULE}"
# Sliding idle expiry is written back at most this often (not on every request).
SLIDE_EVERY = 60
HTML_PAGE = ("<!DOCTYPE html><html><head><title>Авторизация - iikoOffice Web</title></head>"
             "<body><form action=\"/login\">Вход в систему</form></body></html>")
CHUNK = 2000  # objects per streamed chunk of a large answer


def plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=UTF-8")


def _param(request: HttpRequest, name: str, default: str = "") -> str:
    return request.GET.get(name) or request.POST.get(name) or default


# --- XML rendering --------------------------------------------------------------------------------
def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return escape(str(value))


def el(name: str, value: Any) -> str:
    """One element; None renders as the empty short form ``<name/>``."""
    if value is None or value == "":
        return f"<{name}/>"
    return f"<{name}>{_value(value)}</{name}>"


def _fields(rec: dict[str, Any], names: Iterable[str]) -> str:
    # Some iiko servers name an object in <n>: a record given an "n" (control "update") answers that way.
    return "".join(el(n, rec[n]) for n in names if n in rec and not (n == "name" and "n" in rec))


CORPORATE_FIELDS = ("id", "parentId", "code", "name", "n", "type", "taxpayerIdNumber", "revision")
SUPPLIER_FIELDS = ("id", "code", "name", "n", "taxpayerIdNumber", "phone", "email", "address", "deleted", "supplier",
                   "employee", "client", "revision")
ITEM_FIELDS = ("num", "product", "productArticle", "store", "actualAmount", "amountUnit", "price", "sum",
               "vatPercent", "vatSum", "discountSum")


def corporate_item(rec: dict[str, Any]) -> str:
    deleted = el("deleted", True) if rec.get("deleted") else ""
    return f"<corporateItemDto>{_fields(rec, CORPORATE_FIELDS)}{deleted}</corporateItemDto>"


def supplier(rec: dict[str, Any]) -> str:
    return f"<employee>{_fields(rec, SUPPLIER_FIELDS)}</employee>"


def invoice_document(rec: dict[str, Any]) -> str:
    k = int(rec["documentNumber"]) if str(rec.get("documentNumber", "")).isdigit() else 0
    # Both forms of a reference and of a quantity, as the parser must take either.
    supplier_ref = (f"<supplier><id>{escape(rec['supplier'])}</id></supplier>" if k % 5 == 0 and rec.get("supplier")
                    else el("supplier", rec.get("supplier")))
    items = []
    for item in rec.get("items") or []:
        amount = (f"<amount unit={quoteattr(item.get('unit_name', ''))}>{escape(str(item['amount']))}</amount>"
                  if k % 7 == 0 else el("amount", item.get("amount")))
        items.append(f"<item>{_fields(item, ITEM_FIELDS)}{amount}</item>")
    body = "".join(items)
    head = _fields(rec, ("id", "documentNumber", "dateIncoming", "incomingDocumentNumber", "incomingDate"))
    tail = _fields(rec, ("defaultStore", "status"))
    return f"<document>{head}{supplier_ref}{tail}<items>{body}</items></document>" if body else \
        f"<document>{head}{supplier_ref}{tail}<items/></document>"


def xml_list(root: str, render: Callable[[dict[str, Any]], str], rows: Iterable[dict[str, Any]]) -> HttpResponse:
    """A list document, streamed in chunks (20,000 products need not sit in memory as one string)."""

    def chunks():
        yield (XML_DECL + f"<{root}>").encode()
        buf: list[str] = []
        for row in rows:
            buf.append(render(row))
            if len(buf) >= CHUNK:
                yield "".join(buf).encode()
                buf = []
        yield ("".join(buf) + f"</{root}>").encode()

    return StreamingHttpResponse(chunks(), content_type=XML)


# --- auth and faults ------------------------------------------------------------------------------
@csrf_exempt
def auth_view(request: HttpRequest) -> HttpResponse:
    login, pass_hash = _param(request, "login"), _param(request, "pass")
    if not login or not pass_hash:
        return plain(400, "login and pass are required")
    if not ds.check_password(login, pass_hash):
        return plain(401, "Wrong login or password")
    with ds.locked_state(login) as state:
        live = ds.live_tokens(state)
        if len(live) >= state["seats"]:
            return plain(403, LICENCE_REFUSED)
        token = str(uuid.uuid4())
        live[token] = ds.now() + state["token_ttl"]
        state["tokens"] = live
        state["logins"] += 1
    cache.set(ds.token_key(token), login, timeout=STATE_TTL)
    return plain(200, token)


@csrf_exempt
def logout_view(request: HttpRequest) -> HttpResponse:
    token = _param(request, "key")
    login = cache.get(ds.token_key(token)) if token else None
    if not login:
        return plain(401, "Token is expired or invalid")
    with ds.locked_state(login) as state:
        known = state["tokens"].pop(token, None)
        if known is not None:
            state["logouts"] += 1
    cache.delete(ds.token_key(token))
    return plain(200 if known else 401, token if known else "Token is expired or invalid")


def _fault_status(fault, request, answer):
    return plain(int(fault.get("status", 500)), fault.get("message", "Internal server error (injected)"))


def _fault_hang(fault, request, answer):
    time.sleep(float(fault.get("seconds", 5)))  # then answer normally: the client has given up


def _fault_html(fault, request, answer):
    return HttpResponse(HTML_PAGE, status=200, content_type="text/html; charset=UTF-8")


def _fault_wrong_root(fault, request, answer):
    return HttpResponse(XML_DECL + "<errorInfo><message>Unexpected answer (injected)</message></errorInfo>",
                        content_type=XML)


def _fault_malformed(fault, request, answer):
    resp = answer()
    content = b"".join(resp.streaming_content) if resp.streaming else resp.content
    return HttpResponse(content[: max(40, len(content) // 2)], status=200, content_type=resp["Content-Type"])


def _fault_expire(fault, request, answer):
    token = _param(request, "key")
    login = cache.get(ds.token_key(token))
    with ds.locked_state(login) as state:
        state["tokens"].pop(token, None)  # the server restarted or the session timed out
    cache.delete(ds.token_key(token))
    return plain(401, "Token is expired or invalid")


FAULTS: dict[str, Callable[..., HttpResponse | None]] = {
    "status": _fault_status, "hang": _fault_hang, "html": _fault_html, "wrong_root": _fault_wrong_root,
    "malformed": _fault_malformed, "expire_token": _fault_expire,
}


def resto(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The ``key`` check, request counting and injected faults in front of every data endpoint."""

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _param(request, "key") or request.COOKIES.get("key", "")
        login = cache.get(ds.token_key(token)) if token else None
        state = ds.load_state(login) if login else None
        expires = state["tokens"].get(token) if state else None
        at = ds.now()
        if not expires or expires <= at:
            return plain(401, "Token is expired or invalid")
        if expires - at < state["token_ttl"] - SLIDE_EVERY:
            with ds.locked_state(login) as locked:
                if token in locked["tokens"]:
                    locked["tokens"][token] = at + locked["token_ttl"]
        n = ds.count_request(login)

        def answer() -> HttpResponse:
            return view(request, login, state, *args, **kwargs)

        for fault in state["faults"]:
            if fault["from"] <= n <= fault["to"] and fault.get("path", "") in request.path:
                injected = FAULTS[fault["kind"]](fault, request, answer)
                if injected is not None:
                    return injected
        return answer()

    return wrapper


# --- data endpoints -------------------------------------------------------------------------------
def _revision_from(request: HttpRequest) -> int:
    return int(_param(request, "revisionFrom", "-1"))


def _corporate(entities: tuple[str, ...]):
    @resto
    def view(request: HttpRequest, login: str, state: dict[str, Any]) -> HttpResponse:
        try:
            since = _revision_from(request)
        except ValueError:
            return plain(400, "Wrong revisionFrom")
        rows = (rec for entity in entities for rec in ds.records(state, entity, since))
        return xml_list("corporateItemDtoes", corporate_item, rows)

    return view


@resto
def suppliers_view(request: HttpRequest, login: str, state: dict[str, Any]) -> HttpResponse:
    try:
        since = _revision_from(request)
    except ValueError:
        return plain(400, "Wrong revisionFrom")
    return xml_list("employees", supplier, ds.records(state, "suppliers", since))


@resto
def supplier_search_view(request: HttpRequest, login: str, state: dict[str, Any]) -> HttpResponse:
    name, code = _param(request, "name").casefold(), _param(request, "code")
    rows = (rec for rec in ds.records(state, "suppliers") if not rec.get("deleted")
            and (not name or name in (rec.get("n") or rec["name"] or "").casefold())
            and (not code or code == rec["code"]))
    return xml_list("employees", supplier, rows)


@resto
def invoices_view(request: HttpRequest, login: str, state: dict[str, Any]) -> HttpResponse:
    try:
        start, end = date.fromisoformat(_param(request, "from")), date.fromisoformat(_param(request, "to"))
    except ValueError:
        return plain(400, "Wrong date format: from and to must be yyyy-MM-dd")
    suppliers = set(request.GET.getlist("supplierId"))
    rows = (rec for rec in ds.invoices_between(state, start, end) if not suppliers or rec["supplier"] in suppliers)
    return xml_list("incomingInvoiceDtoes", invoice_document, rows)


def _json_entities(entity: str):
    @resto
    def view(request: HttpRequest, login: str, state: dict[str, Any]) -> HttpResponse:
        try:
            since = _revision_from(request)
        except ValueError:
            return plain(400, "Wrong revisionFrom")
        with_deleted = _param(request, "includeDeleted", "false").lower() == "true"
        ids = set(request.GET.getlist("ids") + request.POST.getlist("ids"))
        rows = [rec for rec in ds.records(state, entity, since)
                if (with_deleted or not rec.get("deleted")) and (not ids or rec["id"] in ids)]
        return JsonResponse(rows, safe=False, json_dumps_params={"ensure_ascii": False})

    return view


@resto
def entities_list_view(request: HttpRequest, login: str, state: dict[str, Any]) -> HttpResponse:
    root_types = set(request.GET.getlist("rootType"))
    rows = [{"id": uid, "rootType": "MeasureUnit", "deleted": False, "code": code, "name": name}
            for uid, code, name in ds.UNITS if "MeasureUnit" in root_types]
    return JsonResponse(rows, safe=False, json_dumps_params={"ensure_ascii": False})


def server_info_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(XML_DECL + "<r><serverName>iiko sandbox</serverName><edition>chain</edition>"
                        "<version>9.1.8022.0</version><serverState>STARTED_SUCCESSFULLY</serverState></r>",
                        content_type=XML)


# --- control --------------------------------------------------------------------------------------
def _pick(state: dict[str, Any], body: dict[str, Any], from_end: bool = False) -> list[int]:
    if body.get("ids"):
        return [int(i) for i in body["ids"]]
    total, wanted = ds.count_of(state, body["entity"]), int(body.get("count", 1))
    return list(range(total, max(0, total - wanted), -1)) if from_end else list(range(1, min(total, wanted) + 1))


def _entity(body: dict[str, Any]) -> str:
    if body.get("entity") not in ds.CHANGEABLE:
        raise ValueError(f"entity must be one of {', '.join(ds.CHANGEABLE)}")
    return body["entity"]


def _control_update(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = _entity(body)
    changed = []
    for n in _pick(state, body):
        entry = state["changes"].setdefault(entity, {}).get(str(n), {"fields": {}, "version": 1})
        version = entry["version"] + 1
        fields = body.get("fields")
        if fields is None:
            current = ds.record(state, entity, n)
            fields = {"name": f"{current['name'].split(' (v')[0]} (v{version})"} if "name" in current else \
                {"status": "PROCESSED"}
        state["changes"][entity][str(n)] = {"version": version, "revision": ds.bump_revision(state),
                                            "fields": {**entry["fields"], **fields}}
        changed.append(n)
    return {"updated": changed, "revision": state["revision"]}


def _control_delete(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = _entity(body)
    deleted = _pick(state, body, from_end=True)
    for n in deleted:
        state["deleted"].setdefault(entity, {})[str(n)] = ds.bump_revision(state)
    return {"deleted": deleted, "revision": state["revision"]}


def _control_create(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    entity = _entity(body)
    if entity == "invoices":
        raise ValueError("invoices are dated: grow them with set_sizes")
    first = ds.count_of(state, entity) + 1
    born = state.setdefault("created", {}).setdefault(entity, [])
    for _ in range(int(body.get("count", 1))):
        born.append(ds.bump_revision(state))
    return {"created": list(range(first, ds.count_of(state, entity) + 1)), "revision": state["revision"]}


def _control_sizes(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    sizes = {k: int(v) for k, v in (body.get("sizes") or {}).items() if k in ds.DEFAULT_SIZES}
    if any(v < 0 or v > ds.MAX_SIZES[k] for k, v in sizes.items()):
        raise ValueError(f"sizes out of range (max {ds.MAX_SIZES})")
    state["sizes"].update(sizes)
    if "seed" in body:
        state["seed"] = int(body["seed"])
    if body.get("invoice_start"):
        state["invoice_start"] = date.fromisoformat(body["invoice_start"]).isoformat()
    elif "invoice_days" in sizes:
        state["invoice_start"] = date.fromordinal(date.today().toordinal() - sizes["invoice_days"] + 1).isoformat()
    return {"sizes": state["sizes"], "seed": state["seed"], "invoice_start": state["invoice_start"]}


def _control_fault(state: dict[str, Any], body: dict[str, Any], login: str) -> dict[str, Any]:
    if body.get("kind") not in FAULTS:
        raise ValueError(f"kind must be one of {', '.join(FAULTS)}")
    start = ds.requests_so_far(login) + int(body.get("after", 0)) + 1
    fault = {k: v for k, v in body.items() if k not in {"action", "login", "password", "after", "count"}}
    fault.update({"from": start, "to": start + int(body.get("count", 1)) - 1})
    state["faults"].append(fault)
    return {"fault": fault}


def _control_expire(state: dict[str, Any]) -> dict[str, Any]:
    for token in state["tokens"]:
        cache.delete(ds.token_key(token))
    state["tokens"] = {}  # a server restart: every session is gone
    return {"tokens": 0}


def _stats(state: dict[str, Any], login: str) -> dict[str, Any]:
    return {"requests": ds.requests_so_far(login), "seats": state["seats"], "open_seats": len(ds.live_tokens(state)),
            "logins": state["logins"], "logouts": state["logouts"], "revision": state["revision"],
            "sizes": state["sizes"], "invoice_start": state["invoice_start"]}


CONTROL_ACTIONS: dict[str, Callable[[dict[str, Any], dict[str, Any], str], dict[str, Any]]] = {
    "set_sizes": lambda s, b, login: _control_sizes(s, b),
    "create": lambda s, b, login: _control_create(s, b),
    "update": lambda s, b, login: _control_update(s, b),
    "delete": lambda s, b, login: _control_delete(s, b),
    "fault": _control_fault,
    "clear_faults": lambda s, b, login: s.update(faults=[]) or {"faults": []},
    "expire_tokens": lambda s, b, login: _control_expire(s),
    "set_seats": lambda s, b, login: s.update(seats=int(b["seats"])) or {"seats": s["seats"]},
    "set_token_ttl": lambda s, b, login: s.update(token_ttl=float(b["seconds"])) or {"token_ttl": s["token_ttl"]},
    "stats": lambda s, b, login: _stats(s, login),
}


@csrf_exempt
def control_view(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return plain(exc.status, exc.message)
    login = str(body.get("login", ""))
    if not ds.check_password(login, ds.sha1_hex(str(body.get("password", "")))):
        return plain(401, "control needs the account's login and password")
    action = body.get("action", "")
    if action == "reset":
        ds.reset(login)
        return JsonResponse({"reset": True})
    if action not in CONTROL_ACTIONS:
        return plain(400, f"action must be one of reset, {', '.join(CONTROL_ACTIONS)}")
    try:
        with ds.locked_state(login) as state:
            result = CONTROL_ACTIONS[action](state, body, login)
    except (KeyError, ValueError, TypeError) as exc:
        return plain(400, f"{action}: {exc!r}")
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})


API = "resto/api/"
urlpatterns = [
    path("_control", control_view, name="iiko-sandbox-control"),
    path("resto/get_server_info.jsp", server_info_view, name="iiko-sandbox-server-info"),
    path(f"{API}auth", auth_view, name="iiko-sandbox-auth"),
    path(f"{API}logout", logout_view, name="iiko-sandbox-logout"),
    path(f"{API}corporation/departments", _corporate(("corporation", "jurpersons", "restaurants")),
         name="iiko-sandbox-departments"),
    path(f"{API}corporation/stores", _corporate(("stores",)), name="iiko-sandbox-stores"),
    path(f"{API}suppliers", suppliers_view, name="iiko-sandbox-suppliers"),
    path(f"{API}suppliers/search", supplier_search_view, name="iiko-sandbox-supplier-search"),
    path(f"{API}documents/export/incomingInvoice", invoices_view, name="iiko-sandbox-incoming-invoices"),
    path(f"{API}v2/entities/products/list", _json_entities("products"), name="iiko-sandbox-products"),
    path(f"{API}v2/entities/products/group/list", _json_entities("groups"), name="iiko-sandbox-groups"),
    path(f"{API}v2/entities/list", entities_list_view, name="iiko-sandbox-entities"),
]


def main(argv: list[str] | None = None) -> None:
    """Serve only this sandbox (at the root path), e.g. for the benchmark or a manual look."""
    args = sandbox_server.parser("Run the iiko sandbox standalone.", 8766).parse_args(argv)
    sandbox_server.run(__name__, args, "iiko sandbox, API under /resto/api/ (password of login L: 'L-password')")


if __name__ == "__main__":
    main()

"""A faithful 1C:Enterprise standard OData interface of our own, mounted under ``/sandbox/1c/``.

``<publication>/odata/standard.odata/`` is one published infobase (a typical УТ 11: Cyrillic entity
and property names, GUID ``Ref_Key``s, ``DataVersion``, ``DeletionMark``, groups via ``IsFolder`` /
``Parent_Key``, documents with ``Number``/``Date``/``Posted`` and a ``Товары`` tabular section):

- HTTP Basic auth, the user ``Администратор`` (UTF-8 in the Base64, as 1C expects) with the password
  ``пароль-<publication>``; anything else is a 401 with ``WWW-Authenticate: Basic``.
- ``GET`` the service root (the published entity sets), an entity set, ``Set(guid'…')``,
  ``InformationRegister_ЦеныНоменклатуры/SliceLast(Period=datetime'…', Condition='…')`` and
  ``AccumulationRegister_ТоварыНаСкладах/Balance(Period=…, Condition=…)``.
- Query options: ``$format=json`` (otherwise Atom XML, as 1C's default), ``$top``, ``$skip``,
  ``$select``, ``$filter`` (``query.py``), ``$orderby``, ``$inlinecount=allpages`` (``odata.count``).
- Errors in 1C's shape ``{"odata.error": {"code", "message": {"lang": "ru", "value"}}}``; an entity set
  taken out of the interface's composition is a 404; a bad query option a 400.
- ``POST _control`` (JSON ``publication``, ``password``, ``action``; only with DEBUG/TESTING or
  SANDBOX_CONTROL_ENABLED): ``set_sizes``, ``update`` / ``mark_deleted`` / ``unmark`` / ``remove``
  (deleted physically) (``kind``, ``ids``), ``create`` (``kind``, ``count``), ``unpublish`` /
  ``publish`` (``entity``), ``fault``, ``clear_faults``, ``stats``, ``reset``.

Run standalone: ``python -m sandboxes.onec.sandbox --port 8767`` (routes at the root).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import server as sandbox_server
from sandboxes.control import ControlRefused, control_body

from . import dataset as ds
from .query import QueryError, compile_filter, order_key, select

JSON = "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
REGISTERS = {ds.REGISTER_PRICES: "SliceLast", ds.REGISTER_STOCK: "Balance"}
RESOURCE = re.compile(r"^(?P<set>[^/(]+)(?:\(guid'(?P<key>[0-9a-fA-F-]{36})'\))?(?:/(?P<fn>\w+)\((?P<args>.*)\))?$")
ARG = re.compile(r"(\w+)=((?:datetime|guid)?'(?:[^']|'')*')")
INTERNAL = "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."
HTML_PAGE = ("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\"><html><head><title>{status} {reason}</title>"
             "</head><body><h1>{reason}</h1><p>The proxy server received an invalid response from an upstream "
             "server.</p><hr><address>Apache/2.4.57 (Debian) Server at 1c.example Port 80</address></body></html>")


def odata_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}},
                        status=status, json_dumps_params={"ensure_ascii": False})


def _authorized(request: HttpRequest, publication: str) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), ds.USER.encode()) and \
        hmac.compare_digest(password.encode(), ds.password_for(publication).encode())


# --- faults ---------------------------------------------------------------------------------------
def _fault_odata_error(fault: dict[str, Any], answer: Callable[[], HttpResponse]) -> HttpResponse:
    return odata_error(int(fault.get("status", 500)), str(fault.get("code", "-1")), fault.get("message", INTERNAL))


def _fault_exception(fault, answer):
    # A platform-level failure (no licence, the cluster down) arrives in another shape.
    body = {"exception": {"descr": fault.get("message", "Не обнаружено свободной лицензии!"),
                          "inner": {"descr": "Ошибка при выполнении операции с информационной базой"}}}
    return JsonResponse(body, status=int(fault.get("status", 500)), json_dumps_params={"ensure_ascii": False})


def _fault_html(fault, answer):
    status = int(fault.get("status", 502))
    reason = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "")
    return HttpResponse(HTML_PAGE.format(status=status, reason=reason), status=status,
                        content_type="text/html; charset=iso-8859-1")


def _fault_forbidden(fault, answer):
    return odata_error(403, "5", fault.get("message", "Недостаточно прав для выполнения операции!"))


def _fault_hang(fault, answer):
    time.sleep(float(fault.get("seconds", 5)))
    return None  # then answer normally: the client has given up


def _fault_malformed(fault, answer):
    content = answer().content
    return HttpResponse(content[: max(20, len(content) // 2)], content_type=JSON)


FAULTS: dict[str, Callable[[dict[str, Any], Callable[[], HttpResponse]], HttpResponse | None]] = {
    "odata_error": _fault_odata_error, "exception": _fault_exception, "html": _fault_html,
    "forbidden": _fault_forbidden, "hang": _fault_hang, "malformed": _fault_malformed,
}


# --- the interface --------------------------------------------------------------------------------
def published(state: dict[str, Any]) -> list[str]:
    names = [*ds.ENTITY_KINDS, ds.REGISTER_PRICES, ds.REGISTER_STOCK]
    return [n for n in names if n not in state["unpublished"]]


def _root_url(request: HttpRequest, publication: str) -> str:
    return request.build_absolute_uri(request.path.split("/odata/standard.odata/")[0] + "/odata/standard.odata/")


@csrf_exempt
def odata_view(request: HttpRequest, publication: str, resource: str) -> HttpResponse:
    if not _authorized(request, publication):
        resp = HttpResponse(b"", status=401)
        resp["WWW-Authenticate"] = 'Basic realm="1C:Enterprise"'
        return resp
    if request.method != "GET":
        return odata_error(405, "1", "Метод не поддерживается песочницей")
    state = ds.load_state(publication)
    n = ds.count_request(publication)

    def answer() -> HttpResponse:
        return _answer(request, publication, state, resource)

    for fault in state["faults"]:
        if fault["from"] <= n <= fault["to"] and fault.get("path", "") in resource:
            injected = FAULTS[fault["kind"]](fault, answer)
            if injected is not None:
                return injected
    return answer()


def _answer(request: HttpRequest, publication: str, state: dict[str, Any], resource: str) -> HttpResponse:
    root = _root_url(request, publication)
    if request.GET.get("$format") != "json" and "json" not in request.META.get("HTTP_ACCEPT", ""):
        return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
                            content_type="application/atom+xml;charset=utf-8")
    if resource in ("", "/"):
        return JsonResponse({"odata.metadata": f"{root}$metadata",
                             "value": [{"name": n, "url": n} for n in published(state)]},
                            content_type=JSON, json_dumps_params={"ensure_ascii": False})
    m = RESOURCE.match(resource)
    if not m:
        return odata_error(400, "6", "Обнаружены лишние сегменты!")
    entity = m["set"]
    if entity not in published(state):
        return odata_error(404, "9", f"Не найден объект метаданных с именем '{entity}'")
    try:
        if m["fn"]:
            if REGISTERS.get(entity) != m["fn"]:
                return odata_error(400, "6", f"Метод '{m['fn']}' не найден")
            args = {k: v for k, v in ARG.findall(m["args"] or "")}
            rows = _virtual(state, entity, args)
        elif entity in REGISTERS:
            rows = ds.price_records(state) if entity == ds.REGISTER_PRICES else []
        else:
            rows = ds.objects(state, entity)
        if m["key"]:
            found = [r for r in rows if r.get("Ref_Key") == m["key"].lower()]
            if not found:
                return odata_error(404, "11", f"Объект с ключом '{m['key']}' не найден")
            body = select(found, request.GET["$select"], set(found[0])) if "$select" in request.GET else found
            return JsonResponse({"odata.metadata": f"{root}$metadata#{entity}/@Element", **body[0]},
                                content_type=JSON, json_dumps_params={"ensure_ascii": False})
        body = _list(request, rows)
    except QueryError as exc:
        return odata_error(400, "7", str(exc))
    out: dict[str, Any] = {"odata.metadata": f"{root}$metadata#{entity}"}
    if request.GET.get("$inlinecount") == "allpages":
        out["odata.count"] = str(body[1])
    out["value"] = body[0]
    return HttpResponse(json.dumps(out, ensure_ascii=False), content_type=JSON)


def _virtual(state: dict[str, Any], entity: str, args: dict[str, str]) -> list[dict[str, Any]]:
    period = args.get("Period")
    if period is not None and not period.startswith("datetime'"):
        raise QueryError("Параметр Period должен иметь тип Edm.DateTime")
    at = period[len("datetime'"):-1] if period else None
    rows = ds.slice_last(state, at) if entity == ds.REGISTER_PRICES else ds.balance(state)
    condition = args.get("Condition")
    if condition:
        text = condition[1:-1].replace("''", "'")
        pred = compile_filter(text, set().union(*rows) if rows else set())
        rows = [r for r in rows if pred(r)]
    return rows


def _list(request: HttpRequest, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    fields = set().union(*rows) if rows else set()
    if "$filter" in request.GET:
        pred = compile_filter(request.GET["$filter"], fields)
        rows = [r for r in rows if pred(r)]
    if "$orderby" in request.GET:
        key, reverse = order_key(request.GET["$orderby"], fields)
        rows = sorted(rows, key=key, reverse=reverse)
    total = len(rows)
    try:
        skip = int(request.GET.get("$skip", 0))
        top = int(request.GET["$top"]) if "$top" in request.GET else None
    except ValueError:
        raise QueryError("Неверное значение параметра $top или $skip") from None
    if skip < 0 or (top is not None and top < 0):
        raise QueryError("Неверное значение параметра $top или $skip")
    rows = rows[skip:] if top is None else rows[skip:skip + top]
    if "$select" in request.GET:
        rows = select(rows, request.GET["$select"], fields)
    return rows, total


# --- control --------------------------------------------------------------------------------------
def _kind(body: dict[str, Any]) -> str:
    kind = str(body.get("kind", ""))
    if kind not in ds.BUILDERS or kind == "units":
        raise ValueError(f"kind must be one of {', '.join(k for k in ds.BUILDERS if k != 'units')}")
    return kind


def _ids(state: dict[str, Any], body: dict[str, Any]) -> list[int]:
    kind = _kind(body)
    ids = [int(i) for i in body.get("ids") or []]
    if any(i < 1 or i > ds.count_of(state, kind) for i in ids):
        raise ValueError(f"ids out of range 1..{ds.count_of(state, kind)}")
    return ids


def _control_update(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    kind, ids = _kind(body), _ids(state, body)
    versions = state["versions"].setdefault(kind, {})
    for i in ids:
        versions[str(i)] = int(versions.get(str(i), 1)) + 1
    return {"updated": ids}


def _control_mark(state: dict[str, Any], body: dict[str, Any], mark: bool) -> dict[str, Any]:
    kind, ids = _kind(body), _ids(state, body)
    marked = set(state["marked"].get(kind, []))
    marked = marked | set(ids) if mark else marked - set(ids)
    state["marked"][kind] = sorted(marked)
    unmarked = set(state.setdefault("unmarked", {}).get(kind, []))
    state["unmarked"][kind] = sorted(unmarked - set(ids) if mark else unmarked | set(ids))
    versions = state["versions"].setdefault(kind, {})  # setting the mark writes the object: a new version
    for i in ids:
        versions[str(i)] = int(versions.get(str(i), 1)) + 1
    return {"marked": state["marked"][kind]}


def _control_remove(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    kind, ids = _kind(body), _ids(state, body)
    state.setdefault("removed", {})[kind] = sorted(set(state.get("removed", {}).get(kind, [])) | set(ids))
    return {"removed": state["removed"][kind]}


def _control_create(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    kind = _kind(body)
    first = ds.count_of(state, kind) + 1
    born = state["created"].setdefault(kind, [])
    born.extend([ds.now().isoformat()] * int(body.get("count", 1)))
    return {"created": list(range(first, ds.count_of(state, kind) + 1))}


def _control_sizes(state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    sizes = {k: int(v) for k, v in (body.get("sizes") or {}).items() if k in ds.DEFAULT_SIZES}
    if any(v < 0 or v > ds.MAX_SIZES[k] for k, v in sizes.items()):
        raise ValueError(f"sizes out of range (max {ds.MAX_SIZES})")
    state["sizes"].update(sizes)
    return {"sizes": state["sizes"]}


def _control_publish(state: dict[str, Any], body: dict[str, Any], on: bool) -> dict[str, Any]:
    entity = str(body.get("entity", ""))
    hidden = set(state["unpublished"])
    state["unpublished"] = sorted(hidden - {entity} if on else hidden | {entity})
    return {"unpublished": state["unpublished"]}


def _control_fault(state: dict[str, Any], body: dict[str, Any], publication: str) -> dict[str, Any]:
    if body.get("kind") not in FAULTS:
        raise ValueError(f"kind must be one of {', '.join(FAULTS)}")
    start = ds.requests_so_far(publication) + int(body.get("after", 0)) + 1
    fault = {k: v for k, v in body.items() if k not in {"action", "publication", "password", "after", "count"}}
    fault.update({"from": start, "to": start + int(body.get("count", 1)) - 1})
    state["faults"].append(fault)
    return {"fault": fault}


CONTROL_ACTIONS: dict[str, Callable[[dict[str, Any], dict[str, Any], str], dict[str, Any]]] = {
    "set_sizes": lambda s, b, p: _control_sizes(s, b),
    "update": lambda s, b, p: _control_update(s, b),
    "mark_deleted": lambda s, b, p: _control_mark(s, b, True),
    "unmark": lambda s, b, p: _control_mark(s, b, False),
    "create": lambda s, b, p: _control_create(s, b),
    "remove": lambda s, b, p: _control_remove(s, b),
    "unpublish": lambda s, b, p: _control_publish(s, b, False),
    "publish": lambda s, b, p: _control_publish(s, b, True),
    "fault": _control_fault,
    "clear_faults": lambda s, b, p: s.update(faults=[]) or {"faults": []},
    "stats": lambda s, b, p: {"requests": ds.requests_so_far(p), "sizes": s["sizes"], "faults": s["faults"],
                              "unpublished": s["unpublished"]},
}


@csrf_exempt
def control_view(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return odata_error(exc.status, "0", exc.message)
    publication = str(body.get("publication", ""))
    if not publication or not hmac.compare_digest(str(body.get("password", "")).encode(),
                                                  ds.password_for(publication).encode()):
        return odata_error(401, "0", "control needs the publication and its password")
    action = body.get("action", "")
    if action == "reset":
        ds.reset(publication)
        return JsonResponse({"reset": True})
    if action not in CONTROL_ACTIONS:
        return odata_error(400, "0", f"action must be one of reset, {', '.join(CONTROL_ACTIONS)}")
    try:
        with ds.locked_state(publication) as state:
            result = CONTROL_ACTIONS[action](state, body, publication)
    except (KeyError, ValueError, TypeError) as exc:
        return odata_error(400, "0", f"{action}: {exc!r}")
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("_control", control_view, name="onec-sandbox-control"),
    re_path(r"^(?P<publication>[^/]+)/odata/standard\.odata/(?P<resource>.*)$", odata_view, name="onec-sandbox-odata"),
]


def main(argv: list[str] | None = None) -> None:
    """Serve only this sandbox (at the root path), e.g. for a manual look."""
    args = sandbox_server.parser("Run the 1C OData sandbox standalone.", 8767).parse_args(argv)
    sandbox_server.run(__name__, args, "1C sandbox, <publication>/odata/standard.odata/ "
                                       "(user Администратор, password 'пароль-<publication>')")


if __name__ == "__main__":
    main()

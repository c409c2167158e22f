"""Our Square sandbox: Payments, Refunds and Locations as the connector calls them, signed webhooks.

Mounted under ``/sandbox/square/`` (demo and tests). Any Bearer token of 20+ characters is an
account; state sits in the Django cache (``SandboxStore``).

- ``POST v2/payments`` (``idempotency_key``, ``source_id``, ``amount_money``, ``location_id``,
  ``autocomplete``, ``reference_id``): ``cnon:card-nonce-ok`` is charged (COMPLETED, or APPROVED
  without autocomplete), ``cnon:card-nonce-declined`` is a 400 PAYMENT_METHOD_ERROR;
  ``GET v2/payments/<id>``, ``POST v2/payments/<id>/complete|cancel``; ``POST v2/refunds`` (answers
  PENDING, completes a moment later, as Square's refunds do); ``GET v2/locations/<id>``;
- idempotency keys as Square keeps them: a repeat gets the first answer, the same key with another
  request is a 400 ``IDEMPOTENCY_KEY_REUSED``; errors as ``{"errors": [{"category", "code", "detail", "field"}]}``;
- ``POST _control`` (JSON ``{"access_token", "action", ...}``): ``webhook_endpoint`` (url,
  signature_key, notification_url = url unless told) makes every change send a signed event;
  ``fault`` (status, times) answers the next API calls with a 429 or 5xx; ``send_event`` (type,
  object_type, object, event_id, repeat) sends one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes.control import ControlRefused, control_body
from sandboxes.state import SandboxStore

REFUND_DELAY = 0.2  # seconds before a PENDING refund completes


def _new_state(account: str) -> dict[str, Any]:
    return {"payments": {}, "refunds": {}, "idempotency": {}, "webhook": None, "faults": []}


STORE = SandboxStore("square-sandbox", _new_state)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(29))


def _errors(status: int, category: str, code: str, detail: str, field: str | None = None) -> JsonResponse:
    error = {"category": category, "code": code, "detail": detail}
    if field:
        error["field"] = field
    return JsonResponse({"errors": [error]}, status=status)


def _invalid(code: str, detail: str, field: str | None = None) -> JsonResponse:
    return _errors(400, "INVALID_REQUEST_ERROR", code, detail, field)


def _token(request: HttpRequest) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token if scheme == "Bearer" and len(token) >= 20 else None


# --- webhooks ------------------------------------------------------------------------------------
def signature(signature_key: str, notification_url: str, body: bytes) -> str:
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def event_body(event_type: str, object_type: str, obj: dict[str, Any], event_id: str | None = None) -> dict:
    return {"merchant_id": "MLSANDBOX00001", "type": event_type, "event_id": event_id or str(uuid.uuid4()),
            "created_at": _now(), "data": {"type": object_type, "id": obj.get("id"), "object": {object_type: obj}}}


def deliver(webhook: dict[str, str], event: dict[str, Any]) -> int:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "Square-Environment": "Sandbox",
               "X-Square-HmacSha256-Signature": signature(webhook["signature_key"], webhook["notification_url"], body)}
    return requests.post(webhook["url"], data=body, headers=headers, timeout=10).status_code


def _emit(state: dict[str, Any], event_type: str, object_type: str, obj: dict[str, Any]) -> None:
    webhook = state.get("webhook")
    if webhook:
        event = event_body(event_type, object_type, json.loads(json.dumps(obj)))
        threading.Thread(target=deliver, args=(webhook, event), daemon=True).start()


# --- objects ---------------------------------------------------------------------------------------
def _money(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        return None
    if not isinstance(currency, str) or len(currency) != 3:
        return None
    return {"amount": amount, "currency": currency}


def _create_payment(state: dict[str, Any], body: dict[str, Any]) -> JsonResponse:
    for name in ("source_id", "amount_money"):
        if not body.get(name):
            return _invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", field=name)
    money = _money(body["amount_money"])
    if money is None:
        return _invalid("INVALID_VALUE", "Invalid amount_money", field="amount_money")
    source = str(body["source_id"])
    now = _now()
    payment = {"id": _id(), "created_at": now, "updated_at": now, "amount_money": money, "total_money": money,
               "approved_money": money, "status": "APPROVED", "delay_duration": "PT168H", "delay_action": "CANCEL",
               "source_type": "CARD", "location_id": body.get("location_id") or "LSANDBOX0001",
               "order_id": _id(), "reference_id": body.get("reference_id"), "note": body.get("note"),
               "card_details": {"status": "AUTHORIZED", "card": {"card_brand": "VISA", "last_4": "1111"},
                                "entry_method": "KEYED"},
               "receipt_number": None, "receipt_url": None, "version_token": _id()}
    if source == "cnon:card-nonce-declined":
        payment.update(status="FAILED", card_details={**payment["card_details"], "status": "FAILED"})
        state["payments"][payment["id"]] = payment
        _emit(state, "payment.created", "payment", payment)
        return JsonResponse({"errors": [{"category": "PAYMENT_METHOD_ERROR", "code": "GENERIC_DECLINE",
                                         "detail": "Authorization error: 'GENERIC_DECLINE'"}],
                             "payment": payment}, status=400)
    if not source.startswith("cnon:card-nonce-ok"):
        return _invalid("INVALID_CARD_DATA", "Invalid card data.", field="source_id")
    state["payments"][payment["id"]] = payment
    _emit(state, "payment.created", "payment", payment)
    if body.get("autocomplete", True):
        _complete(state, payment)
    return JsonResponse({"payment": payment})


def _complete(state: dict[str, Any], payment: dict[str, Any]) -> None:
    payment.update(status="COMPLETED", updated_at=_now(), receipt_number=payment["id"][:4],
                   receipt_url=f"https://squareupsandbox.com/receipt/preview/{payment['id']}",
                   card_details={**payment["card_details"], "status": "CAPTURED"})
    _emit(state, "payment.updated", "payment", payment)


def _payment_action(state: dict[str, Any], pid: str, verb: str) -> JsonResponse:
    payment = state["payments"].get(pid)
    if payment is None:
        return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"Could not find payment with id: {pid}")
    if payment["status"] != "APPROVED":
        return _invalid("BAD_REQUEST", f"Payment {pid} is {payment['status']}: only APPROVED payments can be "
                                       f"{'completed' if verb == 'complete' else 'canceled'}.")
    if verb == "complete":
        _complete(state, payment)
    else:
        payment.update(status="CANCELED", updated_at=_now(), card_details={**payment["card_details"],
                                                                            "status": "VOIDED"})
        _emit(state, "payment.updated", "payment", payment)
    return JsonResponse({"payment": payment})


def _finish_refund(account: str, refund_id: str) -> None:
    time.sleep(REFUND_DELAY)
    with STORE.locked(account) as state:
        refund = state["refunds"][refund_id]
        payment = state["payments"][refund["payment_id"]]
        refund.update(status="COMPLETED", updated_at=_now())
        refunded = (payment.get("refunded_money") or {}).get("amount", 0) + refund["amount_money"]["amount"]
        payment.update(refunded_money={"amount": refunded, "currency": payment["amount_money"]["currency"]},
                       refund_ids=[*payment.get("refund_ids", []), refund_id], updated_at=_now())
        _emit(state, "refund.updated", "refund", refund)
        _emit(state, "payment.updated", "payment", payment)


def _create_refund(account: str, state: dict[str, Any], body: dict[str, Any]) -> JsonResponse:
    payment = state["payments"].get(str(body.get("payment_id", "")))
    if payment is None:
        return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Payment not found.", field="payment_id")
    money = _money(body.get("amount_money"))
    if money is None:
        return _invalid("INVALID_VALUE", "Invalid amount_money", field="amount_money")
    if payment["status"] != "COMPLETED":
        return _invalid("BAD_REQUEST", "Only COMPLETED payments can be refunded.", field="payment_id")
    pending = sum(r["amount_money"]["amount"] for r in state["refunds"].values()
                  if r["payment_id"] == payment["id"] and r["status"] in ("PENDING", "COMPLETED"))
    if money["amount"] > payment["amount_money"]["amount"] - pending:
        return _invalid("REFUND_AMOUNT_INVALID", "The requested refund amount exceeds the amount available to "
                                                 "refund.", field="amount_money.amount")
    refund = {"id": f"{payment['id']}_{_id()[:20]}", "status": "PENDING", "amount_money": money,
              "payment_id": payment["id"], "order_id": payment["order_id"], "location_id": payment["location_id"],
              "reason": body.get("reason"), "created_at": _now(), "updated_at": _now()}
    state["refunds"][refund["id"]] = refund
    _emit(state, "refund.created", "refund", refund)
    threading.Thread(target=_finish_refund, args=(account, refund["id"]), daemon=True).start()
    return JsonResponse({"refund": refund})


# --- views -----------------------------------------------------------------------------------------
def _api(request: HttpRequest, run, *, idempotent_write: bool = False) -> HttpResponse:
    token = _token(request)
    if token is None:
        return _errors(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized.")
    with STORE.locked(token) as state:
        if state["faults"]:
            fault = state["faults"].pop(0)
            if fault == 429:
                return _errors(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded.")
            return _errors(fault, "API_ERROR", "SERVICE_UNAVAILABLE" if fault == 503 else "INTERNAL_SERVER_ERROR",
                           "An internal error has occurred.")
        if not idempotent_write:
            return run(token, state, {})
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _invalid("INVALID_REQUEST_ERROR", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _invalid("INVALID_REQUEST_ERROR", "Expected a JSON object.")
        key = body.get("idempotency_key")
        if not isinstance(key, str) or not key:
            return _invalid("MISSING_REQUIRED_PARAMETER", "Field must be set", field="idempotency_key")
        if len(key) > 45:
            return _invalid("VALUE_TOO_LONG", "Field must not be greater than 45 length", field="idempotency_key")
        fingerprint = hashlib.sha256(request.path.encode() + json.dumps(body, sort_keys=True).encode()).hexdigest()
        stored = state["idempotency"].get(key)
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                return _invalid("IDEMPOTENCY_KEY_REUSED", "The idempotency key can only be retried with the same "
                                                          "request data.", field="idempotency_key")
            return JsonResponse(stored["body"], status=stored["status"])
        response = run(token, state, body)
        if response.status_code < 500:
            state["idempotency"][key] = {"fingerprint": fingerprint, "status": response.status_code,
                                         "body": json.loads(response.content)}
        return response


@csrf_exempt
def payments(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _invalid("BAD_REQUEST", "Use POST.")
    return _api(request, lambda token, state, body: _create_payment(state, body), idempotent_write=True)


@csrf_exempt
def payment(request: HttpRequest, pid: str, verb: str = "") -> HttpResponse:
    if request.method == "GET" and not verb:
        def read(token: str, state: dict[str, Any], _: dict[str, Any]) -> JsonResponse:
            found = state["payments"].get(pid)
            if found is None:
                return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"Could not find payment with id: {pid}")
            return JsonResponse({"payment": found})

        return _api(request, read)
    if request.method != "POST" or verb not in ("complete", "cancel"):
        return _invalid("BAD_REQUEST", "Unsupported.")
    return _api(request, lambda token, state, _: _payment_action(state, pid, verb))


@csrf_exempt
def refunds(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _invalid("BAD_REQUEST", "Use POST.")
    return _api(request, _create_refund, idempotent_write=True)


def refund(request: HttpRequest, rid: str) -> HttpResponse:
    def read(token: str, state: dict[str, Any], _: dict[str, Any]) -> JsonResponse:
        found = state["refunds"].get(rid)
        if found is None:
            return _errors(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"Could not find refund with id: {rid}")
        return JsonResponse({"refund": found})

    return _api(request, read)


def location(request: HttpRequest, lid: str) -> HttpResponse:
    return _api(request, lambda token, state, _: JsonResponse({"location": {
        "id": lid, "name": "Sandbox Seller Location", "status": "ACTIVE", "currency": "USD", "country": "US"}}))


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return _invalid("BAD_REQUEST", exc.message) if exc.status == 400 else _errors(
            exc.status, "INVALID_REQUEST_ERROR", "NOT_FOUND", exc.message)
    token, action = str(body.get("access_token", "")), body.get("action")
    if len(token) < 20:
        return _invalid("MISSING_REQUIRED_PARAMETER", "access_token is required", field="access_token")
    with STORE.locked(token) as state:
        if action == "webhook_endpoint":
            state["webhook"] = ({"url": body["url"], "signature_key": body["signature_key"],
                                 "notification_url": body.get("notification_url") or body["url"]}
                                if body.get("url") else None)
            return JsonResponse({"ok": True})
        if action == "fault":
            state["faults"] += [int(body.get("status", 503))] * int(body.get("times", 1))
            return JsonResponse({"ok": True})
        webhook = state.get("webhook")
    if action == "send_event":
        if not webhook:
            return _invalid("BAD_REQUEST", "No webhook endpoint configured.")
        event = event_body(body["type"], body["object_type"], body["object"], body.get("event_id"))
        statuses = [deliver(webhook, event) for _ in range(int(body.get("repeat", 1)))]
        return JsonResponse({"event_id": event["event_id"], "statuses": statuses})
    return _invalid("BAD_REQUEST", f"Unknown action {action!r}.")


urlpatterns = [
    path("v2/payments", payments),
    path("v2/payments/<str:pid>", payment),
    path("v2/payments/<str:pid>/<str:verb>", payment),
    path("v2/refunds", refunds),
    path("v2/refunds/<str:rid>", refund),
    path("v2/locations/<str:lid>", location),
    path("_control", control),
]

"""Our Razorpay sandbox: the REST calls the connector makes, the payer's checkout, signed webhooks.

Mounted under ``/sandbox/razorpay/`` (demo and tests). Basic auth ``key_id:key_secret``: any
``rzp_test_`` key id opens an account, whose secret is the one first used with it (another secret is
then a 401, as a wrong secret is at Razorpay). State sits in the Django cache (``SandboxStore``).

- ``POST v1/orders`` (amount in the smallest unit, >= 100; currency; receipt <= 40 chars; notes),
  ``GET v1/orders``, ``GET v1/orders/<id>``, ``GET v1/orders/<id>/payments``;
- ``GET v1/payments/<id>``, ``POST v1/payments/<id>/capture`` (amount and currency must equal the
  authorized ones), ``POST v1/payments/<id>/refund`` (at most what is left; processed at once);
- errors in Razorpay's shape ``{"error": {"code": "BAD_REQUEST_ERROR", "description", "source",
  "step", "reason", "metadata", "field"}}``;
- ``POST _control`` (JSON ``{"key_id", "action", ...}``): ``webhook_endpoint`` (url, secret) makes every
  change send a signed event (``X-Razorpay-Signature``, ``X-Razorpay-Event-Id``) from a thread;
  ``pay`` (order_id, ``outcome`` success|failed, ``auto_capture``) is the payer in Checkout and answers
  what Checkout hands the merchant (``razorpay_payment_id/_order_id/_signature``); ``fault`` (status,
  times) answers the next API calls with a 429 or 5xx; ``send_event`` (event, payload, repeat) sends one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes.control import ControlRefused, control_body
from sandboxes.state import SandboxStore


def _new_state(account: str) -> dict[str, Any]:
    return {"secret": None, "orders": {}, "payments": {}, "refunds": {}, "webhook": None, "faults": []}


STORE = SandboxStore("razorpay-sandbox", _new_state)


def _id(prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(14))


def _error(status: int, description: str, *, code: str = "BAD_REQUEST_ERROR", field: str | None = None,
           reason: str = "input_validation_failed") -> JsonResponse:
    body: dict[str, Any] = {"code": code, "description": description, "source": "business",
                            "step": "payment_initiation", "reason": reason, "metadata": {}}
    if field:
        body["field"] = field
    return JsonResponse({"error": body}, status=status)


def _auth_failed() -> JsonResponse:
    return JsonResponse({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed",
                                   "source": "NA", "step": "NA", "reason": "NA", "metadata": {}}}, status=401)


def _credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Basic":
        return None
    try:
        key_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    if not key_id.startswith("rzp_test_") or not secret:
        return None
    return key_id, secret


# --- webhooks ------------------------------------------------------------------------------------
def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"entity": "event", "account_id": "acc_SandboxAccount01", "event": event,
            "contains": sorted(payload), "payload": {k: {"entity": v} for k, v in payload.items()},
            "created_at": int(time.time())}


def deliver(webhook: dict[str, str], event: dict[str, Any], event_id: str | None = None) -> int:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "X-Razorpay-Signature": sign(body, webhook["secret"]),
               "X-Razorpay-Event-Id": event_id or _id("evt_")}
    return requests.post(webhook["url"], data=body, headers=headers, timeout=10).status_code


def _emit(state: dict[str, Any], event: str, **entities: dict[str, Any]) -> None:
    webhook = state.get("webhook")
    if webhook:
        # After the answer, as Razorpay does; a snapshot of the entities as they are now.
        body = event_body(event, json.loads(json.dumps(entities)))
        threading.Thread(target=deliver, args=(webhook, body), daemon=True).start()


# --- objects ---------------------------------------------------------------------------------------
def _create_order(state: dict[str, Any], body: dict[str, Any]) -> JsonResponse:
    amount, currency = body.get("amount"), body.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int):
        return _error(400, "The amount must be an integer.", field="amount")
    if amount < 100:
        return _error(400, "Order amount less than minimum amount allowed", field="amount")
    if not isinstance(currency, str) or len(currency) != 3:
        return _error(400, "The currency field is required.", field="currency")
    receipt = body.get("receipt")
    if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
        return _error(400, "The receipt may not be greater than 40 characters.", field="receipt")
    order = {"id": _id("order_"), "entity": "order", "amount": amount, "amount_paid": 0, "amount_due": amount,
             "currency": currency.upper(), "receipt": receipt, "offer_id": None, "status": "created", "attempts": 0,
             "notes": body.get("notes") or [], "created_at": int(time.time())}
    state["orders"][order["id"]] = order
    return JsonResponse(order)


def _capture(state: dict[str, Any], payment: dict[str, Any]) -> None:
    payment.update(status="captured", captured=True)
    order = state["orders"][payment["order_id"]]
    order.update(status="paid", amount_paid=order["amount"], amount_due=0)
    _emit(state, "payment.captured", payment=payment)
    _emit(state, "order.paid", payment=payment, order=order)


def _pay(state: dict[str, Any], secret: str, body: dict[str, Any]) -> JsonResponse:
    order = state["orders"].get(str(body.get("order_id", "")))
    if order is None:
        return _error(400, "The id provided does not exist", field="order_id")
    if order["status"] == "paid":
        return _error(400, "Order is already paid")
    order["attempts"] += 1
    order["status"] = "attempted"
    failed = body.get("outcome") == "failed"
    payment = {"id": _id("pay_"), "entity": "payment", "amount": order["amount"], "currency": order["currency"],
               "status": "failed" if failed else "authorized", "order_id": order["id"], "invoice_id": None,
               "international": False, "method": "card", "amount_refunded": 0, "refund_status": None,
               "captured": False, "description": None, "email": "payer@example.com", "contact": "+919000090000",
               "notes": order["notes"], "fee": None, "tax": None, "error_code": None, "error_description": None,
               "error_source": None, "error_step": None, "error_reason": None, "created_at": int(time.time())}
    state["payments"][payment["id"]] = payment
    if failed:
        payment.update(error_code="BAD_REQUEST_ERROR", error_description="Payment failed", error_source="bank",
                       error_step="payment_authorization", error_reason="payment_failed")
        _emit(state, "payment.failed", payment=payment)
        return JsonResponse({"error": {"code": "BAD_REQUEST_ERROR", "description": "Payment failed",
                                       "source": "bank", "step": "payment_authorization", "reason": "payment_failed",
                                       "metadata": {"payment_id": payment["id"], "order_id": order["id"]}}},
                            status=400)
    _emit(state, "payment.authorized", payment=payment)
    if body.get("auto_capture"):
        _capture(state, payment)
    return JsonResponse({"razorpay_payment_id": payment["id"], "razorpay_order_id": order["id"],
                         "razorpay_signature": sign(f"{order['id']}|{payment['id']}".encode(), secret)})


def _payment_action(state: dict[str, Any], pid: str, verb: str, body: dict[str, Any]) -> JsonResponse:
    payment = state["payments"].get(pid)
    if payment is None:
        return _error(400, "The id provided does not exist", field="payment_id")
    if verb == "capture":
        if payment["status"] == "captured":
            return _error(400, "This payment has already been captured")
        if payment["status"] != "authorized":
            return _error(400, "Only payments which have been authorized and not yet captured can be captured")
        if body.get("amount") != payment["amount"] or str(body.get("currency", "")).upper() != payment["currency"]:
            return _error(400, "Capture amount must be equal to the amount authorized", field="amount")
        _capture(state, payment)
        return JsonResponse(payment)
    # refund
    if payment["status"] not in ("captured", "refunded"):
        return _error(400, "Refunds can be made only on captured payments")
    left = payment["amount"] - payment["amount_refunded"]
    amount = body.get("amount", left)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100 and amount != left:
        return _error(400, "The amount must be at least INR 1.00", field="amount")
    if amount > left:
        return _error(400, "The refund amount provided is greater than amount captured", field="amount")
    payment["amount_refunded"] += amount
    full = payment["amount_refunded"] == payment["amount"]
    payment.update(refund_status="full" if full else "partial", status="refunded" if full else "captured")
    refund = {"id": _id("rfnd_"), "entity": "refund", "amount": amount, "currency": payment["currency"],
              "payment_id": pid, "notes": body.get("notes") or [], "receipt": body.get("receipt"),
              "status": "processed", "speed_requested": "normal", "speed_processed": "normal",
              "created_at": int(time.time())}
    state["refunds"][refund["id"]] = refund
    _emit(state, "refund.processed", refund=refund, payment=payment)
    return JsonResponse(refund)


# --- views -----------------------------------------------------------------------------------------
def _api(request: HttpRequest, run, *, write: bool) -> HttpResponse:
    creds = _credentials(request)
    if creds is None:
        return _auth_failed()
    key_id, secret = creds
    with STORE.locked(key_id) as state:
        if state["secret"] is None:
            state["secret"] = secret
        if not hmac.compare_digest(state["secret"], secret):
            return _auth_failed()
        if state["faults"]:
            fault = state["faults"].pop(0)
            if fault == 429:
                return _error(429, "Too many requests", reason="rate_limit_exceeded")
            return _error(fault, "The server encountered an error. The incident has been reported to admins.",
                          code="SERVER_ERROR", reason="server_error")
        body: dict[str, Any] = {}
        if write:
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                return _error(400, "The request body is not valid JSON.")
            if not isinstance(body, dict):
                return _error(400, "The request body must be a JSON object.")
        return run(state, body)


def _collection(items: list[dict[str, Any]]) -> JsonResponse:
    return JsonResponse({"entity": "collection", "count": len(items), "items": items})


@csrf_exempt
def orders(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _api(request, _create_order, write=True)
    count = int(request.GET.get("count", "10")) if request.GET.get("count", "10").isdigit() else 10
    return _api(request, lambda state, _: _collection(list(state["orders"].values())[-count:][::-1]), write=False)


def order(request: HttpRequest, oid: str, sub: str = "") -> HttpResponse:
    def run(state: dict[str, Any], _: dict[str, Any]) -> JsonResponse:
        found = state["orders"].get(oid)
        if found is None:
            return _error(400, "The id provided does not exist", field="id")
        if sub == "payments":
            return _collection([p for p in state["payments"].values() if p["order_id"] == oid])
        return JsonResponse(found)

    return _api(request, run, write=False)


@csrf_exempt
def payment(request: HttpRequest, pid: str, verb: str = "") -> HttpResponse:
    if request.method == "GET" and not verb:
        def read(state: dict[str, Any], _: dict[str, Any]) -> JsonResponse:
            found = state["payments"].get(pid)
            return JsonResponse(found) if found else _error(400, "The id provided does not exist", field="id")

        return _api(request, read, write=False)
    if request.method != "POST" or verb not in ("capture", "refund"):
        return _error(405, "The requested URL was not found on the server.", reason="NA")
    return _api(request, lambda state, body: _payment_action(state, pid, verb, body), write=True)


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    try:
        body = control_body(request)
    except ControlRefused as exc:
        return _error(exc.status, exc.message)
    key_id, action = str(body.get("key_id", "")), body.get("action")
    if not key_id.startswith("rzp_test_"):
        return _error(400, "key_id (rzp_test_...) is required.", field="key_id")
    with STORE.locked(key_id) as state:
        if action == "webhook_endpoint":
            state["webhook"] = {"url": body["url"], "secret": body["secret"]} if body.get("url") else None
            return JsonResponse({"ok": True})
        if action == "fault":
            state["faults"] += [int(body.get("status", 503))] * int(body.get("times", 1))
            return JsonResponse({"ok": True, "pending_faults": len(state["faults"])})
        if action == "pay":
            if not state["secret"]:
                return _error(400, "This account has made no API call yet.")
            return _pay(state, state["secret"], body)
        webhook = state.get("webhook")
    if action == "send_event":
        if not webhook:
            return _error(400, "No webhook endpoint configured.")
        event, event_id = event_body(body["event"], body.get("payload") or {}), body.get("event_id") or _id("evt_")
        statuses = [deliver(webhook, event, event_id) for _ in range(int(body.get("repeat", 1)))]
        return JsonResponse({"event_id": event_id, "statuses": statuses})
    return _error(400, f"Unknown action {action!r}.")


urlpatterns = [
    path("v1/orders", orders),
    path("v1/orders/<str:oid>", order),
    path("v1/orders/<str:oid>/<str:sub>", order),
    path("v1/payments/<str:pid>", payment),
    path("v1/payments/<str:pid>/<str:verb>", payment),
    path("_control", control),
]

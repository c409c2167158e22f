"""Our Stripe sandbox: the REST endpoints the connector calls, and signed webhooks.

Mounted under ``/sandbox/stripe/`` (DEBUG/tests). Accounts are keyed by the secret key (any
``sk_test_...``); state sits in the Django cache.

- ``POST v1/payment_intents`` (form-encoded; ``confirm=true`` with ``payment_method``:
  ``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` is a 402 card_error carrying the intent,
  ``pm_card_authenticationRequired`` needs action), ``GET v1/payment_intents/<id>``,
  ``POST v1/payment_intents/<id>/confirm|cancel``, ``POST v1/refunds``, ``GET v1/balance``;
- ``Idempotency-Key`` as Stripe does it: a repeat gets the first answer (``Idempotent-Replayed:
  true``), the same key with other parameters is a 400 ``idempotency_error``;
- ``POST _control`` (JSON ``{"secret_key", "action", ...}``): ``webhook_endpoint`` (url, secret)
  makes every change send a signed event (``Stripe-Signature: t=,v1=``) from a background thread;
  ``send_event`` (type, object) sends one now, optionally ``timestamp``/``repeat`` for tests.

Run standalone: ``python -m sandboxes.stripe.sandbox --port 8082``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

import requests
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from connectors.signatures import STRIPE
from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes.control import control_enabled
from sandboxes.state import cache_lock

STATE_TTL = 24 * 3600


def _error(status: int, kind: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": {"type": kind, "message": message, **extra}}, status=status)


def _account(request: HttpRequest) -> str | None:
    scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Bearer" or not key.startswith(("sk_test_", "rk_test_")):
        return None
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _load(account: str) -> dict[str, Any]:
    return cache.get(f"stripe-sandbox:{account}") or {"intents": {}, "refunds": {}, "idempotency": {}, "webhook": None}


def _save(account: str, state: dict[str, Any]) -> None:
    cache.set(f"stripe-sandbox:{account}", state, STATE_TTL)


def _locked(account: str):
    """An account's read-modify-write, one at a time across the web processes that serve the sandbox."""
    return cache_lock(f"stripe-sandbox:{account}:lock", what="Stripe sandbox account")


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix):-1]: v for k, v in form.items() if k.startswith(prefix) and k.endswith("]")}


# --- webhooks ------------------------------------------------------------------------------------
def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={STRIPE.signature(secret, body, str(timestamp))}"


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"evt_{secrets.token_hex(12)}", "object": "event", "type": event_type, "api_version": "2024-06-20",
            "created": int(time.time()), "livemode": False, "data": {"object": obj}}


def deliver(webhook: dict[str, str], event: dict[str, Any], timestamp: int | None = None) -> int:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json",
               "Stripe-Signature": stripe_signature(webhook["secret"], body, timestamp or int(time.time()))}
    return requests.post(webhook["url"], data=body, headers=headers, timeout=10).status_code


def _emit(state: dict[str, Any], event_type: str, obj: dict[str, Any]) -> None:
    webhook = state.get("webhook")
    if webhook:
        # After the answer, as Stripe does: the API call never waits for the webhook.
        snapshot = json.loads(json.dumps(obj))  # the object as it is now, not as later changes leave it
        threading.Thread(target=deliver, args=(webhook, _event(event_type, snapshot)), daemon=True).start()


# --- objects --------------------------------------------------------------------------------------
def _charge(intent: dict[str, Any]) -> dict[str, Any]:
    return {"id": "ch_" + intent["id"][3:], "object": "charge", "amount": intent["amount"],
            "amount_refunded": 0, "refunded": False, "currency": intent["currency"],
            "payment_intent": intent["id"], "metadata": intent["metadata"], "status": "succeeded"}


def _confirm(state: dict[str, Any], intent: dict[str, Any], payment_method: str) -> JsonResponse | None:
    """Run the test card; return a 402 for a decline (the intent is updated either way)."""
    intent["payment_method"] = payment_method
    if payment_method == "pm_card_chargeDeclined":
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                        "decline_code": "generic_decline", "message": "Your card was declined."}
        _emit(state, "payment_intent.payment_failed", intent)
        return _error(402, "card_error", "Your card was declined.", code="card_declined",
                      decline_code="generic_decline", payment_intent=intent)
    if payment_method == "pm_card_authenticationRequired":
        intent["status"] = "requires_action"
        intent["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds"}}
        _emit(state, "payment_intent.requires_action", intent)
        return None
    intent["status"] = "succeeded"
    intent["last_payment_error"] = None
    charge = _charge(intent)
    intent["latest_charge"] = charge["id"]
    state.setdefault("charges", {})[charge["id"]] = charge
    _emit(state, "payment_intent.succeeded", intent)
    return None


def _create_intent(state: dict[str, Any], form: dict[str, str]) -> JsonResponse:
    try:
        amount = int(form.get("amount", ""))
    except ValueError:
        return _error(400, "invalid_request_error", "Missing required param: amount.", param="amount")
    if amount < 1 or not form.get("currency"):
        return _error(400, "invalid_request_error", "Invalid amount or currency.", param="amount")
    pid = f"pi_{secrets.token_hex(12)}"
    intent = {"id": pid, "object": "payment_intent", "amount": amount, "currency": form["currency"].lower(),
              "status": "requires_payment_method", "client_secret": f"{pid}_secret_{secrets.token_hex(8)}",
              "metadata": _nested(form, "metadata"), "description": form.get("description"),
              "created": int(time.time()), "livemode": False, "latest_charge": None, "last_payment_error": None,
              "cancellation_reason": None}
    state["intents"][pid] = intent
    _emit(state, "payment_intent.created", dict(intent))
    if form.get("payment_method"):
        intent["status"] = "requires_confirmation"
        if form.get("confirm") == "true":
            declined = _confirm(state, intent, form["payment_method"])
            if declined is not None:
                return declined
    return JsonResponse(intent)


def _refund(state: dict[str, Any], form: dict[str, str]) -> JsonResponse:
    intent = state["intents"].get(form.get("payment_intent", ""))
    if intent is None:
        return _error(400, "invalid_request_error", "No such payment_intent.", param="payment_intent")
    charge = state.get("charges", {}).get(intent.get("latest_charge") or "")
    if intent["status"] != "succeeded" or charge is None:
        return _error(400, "invalid_request_error", "This PaymentIntent has no successful charge to refund.")
    left = charge["amount"] - charge["amount_refunded"]
    try:
        amount = int(form.get("amount") or left)
    except ValueError:
        return _error(400, "invalid_request_error", "Invalid amount.", param="amount")
    if amount < 1 or amount > left:
        return _error(400, "invalid_request_error", f"Refund amount ({amount}) is greater than unrefunded amount "
                                                    f"({left}).", code="amount_too_large")
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    refund = {"id": f"re_{secrets.token_hex(12)}", "object": "refund", "amount": amount, "charge": charge["id"],
              "payment_intent": intent["id"], "status": "succeeded", "metadata": _nested(form, "metadata"),
              "currency": intent["currency"]}
    state["refunds"][refund["id"]] = refund
    _emit(state, "charge.refunded", dict(charge))
    return JsonResponse(refund)


def _intent_action(state: dict[str, Any], pid: str, verb: str, form: dict[str, str]) -> JsonResponse:
    intent = state["intents"].get(pid)
    if intent is None:
        return _error(404, "invalid_request_error", f"No such payment_intent: '{pid}'", code="resource_missing")
    if verb == "cancel":
        if intent["status"] in ("succeeded", "canceled"):
            return _error(400, "invalid_request_error", f"You cannot cancel this PaymentIntent because it has a "
                                                        f"status of {intent['status']}.")
        intent["status"] = "canceled"
        intent["cancellation_reason"] = form.get("cancellation_reason") or "requested_by_customer"
        _emit(state, "payment_intent.canceled", dict(intent))
        return JsonResponse(intent)
    if intent["status"] in ("succeeded", "canceled"):
        return _error(400, "invalid_request_error", "This PaymentIntent's status does not allow confirmation.")
    declined = _confirm(state, intent, form.get("payment_method") or intent.get("payment_method") or "pm_card_visa")
    return declined or JsonResponse(intent)


# --- views -----------------------------------------------------------------------------------------
def _with_idempotency(request: HttpRequest, account: str, run) -> HttpResponse:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY", "")
    if len(key) > 255:
        return _error(400, "invalid_request_error", "Idempotency-Key must be at most 255 characters.")
    fingerprint = hashlib.sha256(request.path.encode() + b"?" + request.body).hexdigest()
    with _locked(account):
        state = _load(account)
        if key:
            stored = state["idempotency"].get(key)
            if stored is not None:
                if stored["fingerprint"] != fingerprint:
                    return _error(400, "idempotency_error", "Keys for idempotent requests can only be used with "
                                                            "the same parameters they were first used with.")
                replay = JsonResponse(stored["body"], status=stored["status"])
                replay["Idempotent-Replayed"] = "true"
                return replay
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        response = run(state, form)
        if key and response.status_code < 500:  # Stripe keeps even errors (not 5xx we did not answer)
            state["idempotency"][key] = {"fingerprint": fingerprint, "status": response.status_code,
                                         "body": json.loads(response.content)}
        _save(account, state)
    return response


@csrf_exempt
def payment_intents(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if account is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided.")
    if request.method != "POST":
        return _error(405, "invalid_request_error", "Use POST.")
    return _with_idempotency(request, account, _create_intent)


@csrf_exempt
def payment_intent(request: HttpRequest, pid: str, verb: str = "") -> HttpResponse:
    account = _account(request)
    if account is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided.")
    if request.method == "GET" and not verb:
        intent = _load(account)["intents"].get(pid)
        if intent is None:
            return _error(404, "invalid_request_error", f"No such payment_intent: '{pid}'", code="resource_missing")
        return JsonResponse(intent)
    if request.method != "POST" or verb not in ("confirm", "cancel"):
        return _error(405, "invalid_request_error", "Unsupported.")
    return _with_idempotency(request, account, lambda state, form: _intent_action(state, pid, verb, form))


@csrf_exempt
def refunds(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if account is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided.")
    if request.method != "POST":
        return _error(405, "invalid_request_error", "Use POST.")
    return _with_idempotency(request, account, _refund)


def balance(request: HttpRequest) -> HttpResponse:
    if _account(request) is None:
        return _error(401, "invalid_request_error", "Invalid API Key provided.")
    return JsonResponse({"object": "balance", "livemode": False, "available": [{"amount": 0, "currency": "usd"}]})


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    if not control_enabled():
        return _error(404, "invalid_request_error", "Not found.")
    try:
        body = loads(request.body)
        key, action = body["secret_key"], body["action"]
    except (ValueError, KeyError, TypeError):
        return _error(400, "invalid_request_error", "JSON with secret_key and action required.")
    account = hashlib.sha256(str(key).encode()).hexdigest()[:24]
    with _locked(account):
        state = _load(account)
        if action == "webhook_endpoint":
            state["webhook"] = {"url": body["url"], "secret": body["secret"]} if body.get("url") else None
            _save(account, state)
            return JsonResponse({"ok": True})
    if action == "send_event":
        webhook = state.get("webhook")
        if not webhook:
            return _error(400, "invalid_request_error", "No webhook endpoint configured.")
        event = _event(body["type"], body["object"])
        statuses = [deliver(webhook, event, body.get("timestamp")) for _ in range(int(body.get("repeat", 1)))]
        return JsonResponse({"event": event["id"], "statuses": statuses})
    return _error(400, "invalid_request_error", f"Unknown action {action!r}.")


urlpatterns = [
    path("v1/payment_intents", payment_intents),
    path("v1/payment_intents/<str:pid>", payment_intent),
    path("v1/payment_intents/<str:pid>/<str:verb>", payment_intent),
    path("v1/refunds", refunds),
    path("v1/balance", balance),
    path("_control", control),
]


if __name__ == "__main__":  # standalone: python -m sandboxes.stripe.sandbox --port 8082
    import argparse
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SANDBOXES_ENABLED", "true")
    parser = argparse.ArgumentParser(description="Serve the Stripe sandbox (with the hub's routes).")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    from django.core.management import execute_from_command_line

    print(f"Stripe sandbox at http://127.0.0.1:{args.port}/sandbox/stripe/")
    execute_from_command_line(["manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"])

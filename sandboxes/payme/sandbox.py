"""Our Payme sandbox: plays Payme's side of the merchant API against a hub endpoint, as Payme's test
cabinet does. Mounted under ``/sandbox/payme/`` (DEBUG/tests).

- ``POST _control`` JSON ``{"action": "register", "merchant_id", "endpoint", "key"}``: the cabinet's
  settings (billing URL and key) for a cashbox;
- ``POST _control`` JSON ``{"action": "pay", "merchant_id", "account": {...}, "amount", "then":
  "perform" | "cancel" | "perform_cancel" | "none"}``: CheckPerformTransaction, CreateTransaction,
  then as asked, with a fresh Payme transaction id; answers every call's reply;
- ``GET checkout/<base64>`` shows what a checkout link asks for; ``POST`` to it is the payer pressing
  Pay (CheckPerform, Create, Perform against the registered cabinet). Set the integration's
  ``config.checkout_url`` to ``<hub>/sandbox/payme/checkout`` to send payers here.

Run standalone with the hub: ``python manage.py runserver`` (DEBUG) and use ``/sandbox/payme/``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any

import requests
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from connectors.payme.checkout import decode
from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes.control import control_enabled

CABINET_TTL = 24 * 3600
STEPS = {"perform": ["PerformTransaction"], "cancel": ["CancelTransaction"],
         "perform_cancel": ["PerformTransaction", "CancelTransaction"], "none": []}


def _cabinet(merchant_id: str) -> dict[str, str] | None:
    return cache.get(f"payme-sandbox:{merchant_id}")


def rpc(cabinet: dict[str, str], method: str, params: dict[str, Any]) -> dict[str, Any]:
    auth = base64.b64encode(f"Paycom:{cabinet['key']}".encode()).decode()
    body = {"jsonrpc": "2.0", "id": secrets.randbelow(10**9), "method": method, "params": params}
    response = requests.post(cabinet["endpoint"], json=body, headers={"Authorization": f"Basic {auth}"}, timeout=15)
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": None, "message": f"HTTP {response.status_code}: not JSON"}}


def pay(cabinet: dict[str, str], account: dict[str, Any], amount: int, then: str = "perform") -> list[dict]:
    """One payment as Payme runs it; stops at the first error. Returns [{method, answer}]."""
    payme_id = secrets.token_hex(12)  # Payme's ids are 24 hex characters
    calls = [("CheckPerformTransaction", {"amount": amount, "account": account}),
             ("CreateTransaction", {"id": payme_id, "time": int(time.time() * 1000), "amount": amount,
                                    "account": account})]
    calls += [(m, {"id": payme_id, "reason": 5} if m == "CancelTransaction" else {"id": payme_id})
              for m in STEPS[then]]
    log = []
    for method, params in calls:
        answer = rpc(cabinet, method, params)
        log.append({"method": method, "answer": answer})
        if "error" in answer:
            break
    return log


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    if not control_enabled():
        return JsonResponse({"error": "not found"}, status=404)
    try:
        body = loads(request.body)
        action, merchant_id = body["action"], str(body["merchant_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "JSON with action and merchant_id required"}, status=400)
    if action == "register":
        cache.set(f"payme-sandbox:{merchant_id}", {"endpoint": body["endpoint"], "key": body["key"]}, CABINET_TTL)
        return JsonResponse({"ok": True})
    cabinet = _cabinet(merchant_id)
    if cabinet is None:
        return JsonResponse({"error": "register the cashbox first"}, status=400)
    if action == "pay":
        then = body.get("then", "perform")
        if then not in STEPS or not isinstance(body.get("account"), dict) or not isinstance(body.get("amount"), int):
            return JsonResponse({"error": "account (object), amount (tiyin) and then in " + ", ".join(STEPS)},
                                status=400)
        return JsonResponse({"calls": pay(cabinet, body["account"], body["amount"], then)})
    return JsonResponse({"error": f"unknown action {action!r}"}, status=400)


@csrf_exempt
def checkout(request: HttpRequest, encoded: str) -> HttpResponse:
    try:
        params = decode(encoded)
        merchant_id, amount = params["m"], int(params["a"])
    except (binascii.Error, UnicodeDecodeError, KeyError, ValueError):
        return JsonResponse({"error": "not a Payme checkout link"}, status=400)
    account = {k[3:]: v for k, v in params.items() if k.startswith("ac.")}
    if request.method == "GET":
        return JsonResponse({"merchant_id": merchant_id, "account": account, "amount": amount,
                             "return_url": params.get("c"), "pay": "POST to this URL"})
    if request.method != "POST" or not control_enabled():
        return JsonResponse({"error": "not allowed"}, status=405)
    cabinet = _cabinet(merchant_id)
    if cabinet is None:
        return JsonResponse({"error": "unknown cashbox: register it first"}, status=400)
    calls = pay(cabinet, account, amount)
    paid = bool(calls) and calls[-1]["method"] == "PerformTransaction" and "result" in calls[-1]["answer"]
    return JsonResponse({"paid": paid, "return_url": params.get("c"), "calls": calls})


urlpatterns = [
    path("_control", control),
    path("checkout/<str:encoded>", checkout),
]

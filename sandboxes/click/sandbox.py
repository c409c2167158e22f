"""Our Click sandbox: plays Click's side of the SHOP API (Prepare, then Complete, both signed) against
a hub endpoint. Mounted under ``/sandbox/click/`` (DEBUG/tests).

- ``POST _control`` JSON ``{"action": "register", "service_id", "endpoint", "secret_key"}``: the
  merchant cabinet's Prepare/Complete URL and secret for a service;
- ``POST _control`` JSON ``{"action": "pay", "service_id", "merchant_trans_id", "amount": "1000.00",
  "click_error": 0}``: Prepare then Complete (``click_error`` < 0: Click failed the payment and says so
  on Complete); answers both replies;
- ``POST services/pay?service_id=&merchant_id=&amount=&transaction_param=`` is the payer paying a
  pay link (set the integration's ``config.pay_url`` to ``<hub>/sandbox/click/services/pay``).
"""

from __future__ import annotations

import secrets
from typing import Any

import requests
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from connectors.click.gateway import sign
from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes.control import control_enabled

CABINET_TTL = 24 * 3600


def _cabinet(service_id: str) -> dict[str, str] | None:
    return cache.get(f"click-sandbox:{service_id}")


def _post(cabinet: dict[str, str], fields: dict[str, str]) -> dict[str, Any]:
    fields["sign_string"] = sign(fields, cabinet["secret_key"])
    response = requests.post(cabinet["endpoint"], data=fields, timeout=15)
    try:
        return response.json()
    except ValueError:
        return {"error": None, "error_note": f"HTTP {response.status_code}: not JSON"}


def pay(cabinet: dict[str, str], service_id: str, merchant_trans_id: str, amount: str,
        click_error: int = 0) -> list[dict]:
    click_trans_id = str(secrets.randbelow(10**9) + 10**9)
    base = {"click_trans_id": click_trans_id, "service_id": service_id, "click_paydoc_id": click_trans_id[::-1],
            "merchant_trans_id": merchant_trans_id, "amount": amount,
            "sign_time": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")}
    prepared = _post(cabinet, {**base, "action": "0", "error": "0", "error_note": "Success"})
    calls = [{"action": "prepare", "answer": prepared}]
    if prepared.get("error") != 0:
        return calls
    note = "Success" if click_error == 0 else "Insufficient funds"
    completed = _post(cabinet, {**base, "action": "1", "error": str(click_error), "error_note": note,
                                "merchant_prepare_id": str(prepared.get("merchant_prepare_id"))})
    return [*calls, {"action": "complete", "answer": completed}]


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    if not control_enabled():
        return JsonResponse({"error": "not found"}, status=404)
    try:
        body = loads(request.body)
        action, service_id = body["action"], str(body["service_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "JSON with action and service_id required"}, status=400)
    if action == "register":
        cache.set(f"click-sandbox:{service_id}", {"endpoint": body["endpoint"], "secret_key": body["secret_key"]},
                  CABINET_TTL)
        return JsonResponse({"ok": True})
    cabinet = _cabinet(service_id)
    if cabinet is None:
        return JsonResponse({"error": "register the service first"}, status=400)
    if action == "pay":
        click_error = body.get("click_error", 0)
        if isinstance(click_error, bool) or not isinstance(click_error, int):
            return JsonResponse({"error": "click_error must be an integer"}, status=400)
        return JsonResponse({"calls": pay(cabinet, service_id, str(body.get("merchant_trans_id", "")),
                                          str(body.get("amount", "")), click_error)})
    return JsonResponse({"error": f"unknown action {action!r}"}, status=400)


@csrf_exempt
def pay_link(request: HttpRequest) -> HttpResponse:
    service_id = request.GET.get("service_id", "")
    if request.method != "POST" or not control_enabled():
        return JsonResponse({"service_id": service_id, "amount": request.GET.get("amount"),
                             "transaction_param": request.GET.get("transaction_param"), "pay": "POST to this URL"},
                            status=200 if request.method == "GET" else 405)
    cabinet = _cabinet(service_id)
    if cabinet is None:
        return JsonResponse({"error": "unknown service: register it first"}, status=400)
    calls = pay(cabinet, service_id, request.GET.get("transaction_param", ""), request.GET.get("amount", ""))
    paid = len(calls) == 2 and calls[1]["answer"].get("error") == 0
    return JsonResponse({"paid": paid, "return_url": request.GET.get("return_url"), "calls": calls})


urlpatterns = [
    path("_control", control),
    path("services/pay", pay_link),
]

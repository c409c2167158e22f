"""TextLocal sandbox: ``POST send/`` answering as documented (HTTP 200, ``status`` success/failure).

API key ``k-secret`` belongs to account ``k``. Errors: 3 invalid login, 4 no recipients, 5 no
message content, 43 invalid sender, 51 no valid numbers. Injected 5xx faults answer that status.
"""

from __future__ import annotations

import random
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import messaging as kit

PROVIDER = "textlocal"
DIGITS = re.compile(r"^\d{7,15}$")


def _failure(code: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"code": code, "message": message}], "status": "failure"})


@csrf_exempt
def send(request: HttpRequest) -> HttpResponse:
    form = request.POST if request.method == "POST" else request.GET
    key = form.get("apikey", "")
    account = key.removesuffix("-secret")
    if not key.endswith("-secret") or not kit.check_secret(account, key):
        return _failure(3, "Invalid login details")
    fault = kit.take_fault(PROVIDER, account)
    if fault:
        return JsonResponse({"status": "failure", "errors": [{"code": 0, "message": "injected"}]},
                            status=fault["status"])
    numbers = [n.strip() for n in form.get("numbers", "").split(",") if n.strip()]
    if not numbers:
        return _failure(4, "No recipients specified")
    if not form.get("message"):
        return _failure(5, "No message content")
    sender = form.get("sender", "")
    if not (3 <= len(sender) <= 11):
        return _failure(43, "Invalid sender name")
    valid = [n for n in numbers if DIGITS.match(n)]
    if not valid:
        return _failure(51, "No valid numbers specified")
    messages = []
    for number in valid:
        message_id = str(random.randint(10**9, 10**10 - 1))
        kit.record(PROVIDER, account, {"id": message_id, "to": number, "from": sender, "body": form["message"],
                                       "custom": form.get("custom", "")})
        messages.append({"id": message_id, "recipient": int(number)})
    return JsonResponse({
        "balance": 1000 - len(messages), "batch_id": random.randint(10**8, 10**9), "cost": len(messages),
        "num_messages": len(messages), "message": {"num_parts": 1, "sender": sender, "content": form["message"]},
        "receipt_url": "", "custom": form.get("custom", ""), "messages": messages, "status": "success",
    })


@csrf_exempt
def balance(request: HttpRequest) -> HttpResponse:
    key = request.POST.get("apikey", "")
    if not key.endswith("-secret") or not kit.check_secret(key.removesuffix("-secret"), key):
        return _failure(3, "Invalid login details")
    return JsonResponse({"balance": {"sms": 1000, "mms": 0}, "status": "success"})


urlpatterns = [
    path("balance/", balance, name="textlocal-sandbox-balance"),
    path("send/", send, name="textlocal-sandbox-send"),
    path("_control", kit.control_view(PROVIDER), name="textlocal-sandbox-control"),
]

"""Vonage SMS sandbox: ``POST sms/json`` (form or JSON) answering as documented, always HTTP 200.

``api_key`` k authenticates with ``api_secret`` ``k-secret``. Status 2 missing parameter, 4 bad
credentials, 3 invalid ``to`` (not 7-15 digits), 6 unknown prefix (a number starting with 0);
an injected fault with status 5xx answers that HTTP status, with 429 Vonage's status 1 (throttled).
"""

from __future__ import annotations

import re
import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes import messaging as kit

PROVIDER = "vonage"
DIGITS = re.compile(r"^\d{7,15}$")


def _status(status: str, text: str) -> JsonResponse:
    return JsonResponse({"message-count": "1", "messages": [{"status": status, "error-text": text}]})


@csrf_exempt
def send(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    if request.content_type == "application/json":
        try:
            params = loads(request.body)
        except ValueError:
            return _status("2", "Missing api_key")
    else:
        params = request.POST
    for name in ("api_key", "api_secret", "from", "to", "text"):
        if not params.get(name):
            return _status("2", f"Missing {name}")
    key = params["api_key"]
    if not kit.check_secret(key, params["api_secret"]):
        return _status("4", "Bad Credentials")
    fault = kit.take_fault(PROVIDER, key)
    if fault:
        if fault["status"] == 429:
            return _status("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry")
        return JsonResponse({"error": "injected fault"}, status=fault["status"])
    to = params["to"]
    if not DIGITS.match(to):
        return _status("3", "Invalid to address")
    if to.startswith("0"):
        return _status("6", "Unroutable message - rejected")
    message_id = secrets.token_hex(8).upper()
    kit.record(PROVIDER, key, {"id": message_id, "to": to, "from": params["from"], "body": params["text"],
                               "client-ref": params.get("client-ref", "")})
    return JsonResponse({"message-count": "1", "messages": [{
        "to": to, "message-id": message_id, "status": "0", "remaining-balance": "10.00000000",
        "message-price": "0.03330000", "network": "23410", "client-ref": params.get("client-ref", ""),
    }]})


def balance(request: HttpRequest) -> HttpResponse:
    if not kit.check_secret(request.GET.get("api_key", ""), request.GET.get("api_secret", "")):
        return JsonResponse({"type": "https://developer.nexmo.com/api-errors#unauthorized", "title": "Unauthorized",
                             "detail": "You did not provide correct credentials."}, status=401)
    return JsonResponse({"value": 10.0, "autoReload": False})


urlpatterns = [
    path("account/get-balance", balance, name="vonage-sandbox-balance"),
    path("sms/json", send, name="vonage-sandbox-send"),
    path("_control", kit.control_view(PROVIDER), name="vonage-sandbox-control"),
]

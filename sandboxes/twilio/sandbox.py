"""Twilio sandbox: the Messages resource as documented, with Twilio's error codes.

Account ``AC...`` authenticates with Basic ``<sid>:<sid>-secret``. Checks follow Twilio: 20003
(401) bad auth, 21604 missing To, 21211 invalid To, 21603 missing From, 21602 missing Body; an
injected fault answers its status with code 20500 (or 20429 for a 429, with Retry-After).
"""

from __future__ import annotations

import base64
import re
import secrets
from email.utils import formatdate

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import messaging as kit

PROVIDER = "twilio"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                         "status": status}, status=status)


def _authenticated(request: HttpRequest, sid: str) -> bool:
    try:
        user, _, token = base64.b64decode(request.headers.get("Authorization", "")[6:]).decode().partition(":")
    except ValueError:
        return False
    return user == sid and kit.check_secret(sid, token)


def account(request: HttpRequest, sid: str) -> HttpResponse:
    if not _authenticated(request, sid):
        return _error(401, 20003, "Authenticate")
    return JsonResponse({"sid": sid, "friendly_name": f"Sandbox {sid[-6:]}", "status": "active", "type": "Full"})


@csrf_exempt
def messages(request: HttpRequest, sid: str) -> HttpResponse:
    if request.method != "POST":
        return _error(405, 20004, "Method not allowed")
    if not _authenticated(request, sid):
        return _error(401, 20003, "Authenticate")
    fault = kit.take_fault(PROVIDER, sid)
    if fault:
        resp = _error(fault["status"], 20429 if fault["status"] == 429 else 20500, "injected fault")
        if fault["status"] == 429:
            resp["Retry-After"] = "1"
        return resp
    form = request.POST
    to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    if not to:
        return _error(400, 21604, "A 'To' phone number is required.")
    if not E164.match(to):
        return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender and not form.get("MessagingServiceSid"):
        return _error(400, 21603, "A 'From' phone number is required.")
    if not body:
        return _error(400, 21602, "Message body is required.")
    message_sid = "SM" + secrets.token_hex(16)
    kit.record(PROVIDER, sid, {"id": message_sid, "to": to, "from": sender, "body": body})
    return JsonResponse({
        "sid": message_sid, "account_sid": sid, "to": to, "from": sender or None, "body": body,
        "messaging_service_sid": form.get("MessagingServiceSid") or None, "status": "queued",
        "num_segments": str(1 + len(body) // 160), "direction": "outbound-api", "api_version": "2010-04-01",
        "date_created": formatdate(usegmt=True), "date_updated": formatdate(usegmt=True), "date_sent": None,
        "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
        "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
    }, status=201)


urlpatterns = [
    path("2010-04-01/Accounts/<str:sid>/Messages.json", messages, name="twilio-sandbox-messages"),
    path("2010-04-01/Accounts/<str:sid>.json", account, name="twilio-sandbox-account"),
    path("_control", kit.control_view(PROVIDER), name="twilio-sandbox-control"),
]

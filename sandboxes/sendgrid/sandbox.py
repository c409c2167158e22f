"""SendGrid sandbox: ``POST v3/mail/send`` as documented (Bearer API key, 202 + X-Message-Id).

An account's API key is ``<account>-secret`` (the sandboxes' convention). Errors use SendGrid's
``{"errors": [{"message", "field", "help"}]}`` shape: 401 for a bad key, 400 for a payload without
personalizations, from or content.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from integrations.jsonlimits import loads  # request bodies: JSON nested too deep is a ValueError
from sandboxes import messaging as kit

PROVIDER = "sendgrid"


def _errors(status: int, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message, "field": field, "help": None}]}, status=status)


@csrf_exempt
def mail_send(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _errors(405, "method not allowed")
    key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    account = key.removesuffix("-secret")
    if not key.endswith("-secret") or not kit.check_secret(account, key):
        return _errors(401, "The provided authorization grant is invalid, expired, or revoked")
    fault = kit.take_fault(PROVIDER, account)
    if fault:
        return _errors(fault["status"], "injected fault")
    try:
        body = loads(request.body)
    except ValueError:
        return _errors(400, "Bad Request", None)
    if not body.get("personalizations"):
        return _errors(400, "The personalizations field is required and must have at least one personalization.",
                       "personalizations")
    if not (body.get("from") or {}).get("email"):
        return _errors(400, "The from object must be provided for every email send.", "from.email")
    if not body.get("content") and not body.get("template_id"):
        return _errors(400, "Unless a valid template_id is provided, the content parameter is required.", "content")
    message_id = secrets.token_urlsafe(16)
    for person in body["personalizations"]:
        for to in person.get("to", []):
            kit.record(PROVIDER, account, {"id": message_id, "to": to.get("email"), "from": body["from"]["email"],
                                           "subject": person.get("subject") or body.get("subject", ""),
                                           "headers": body.get("headers", {})})
    resp = HttpResponse(status=202)
    resp["X-Message-Id"] = message_id
    return resp


urlpatterns = [
    path("v3/mail/send", mail_send, name="sendgrid-sandbox-send"),
    path("_control", kit.control_view(PROVIDER), name="sendgrid-sandbox-control"),
]

"""Mailgun sandbox: ``POST v3/<domain>/messages`` as documented (Basic auth ``api:<key>``, form data).

An account's API key is ``<domain>-secret``. Answers ``{"id": "<...@domain>", "message": "Queued. Thank
you."}``; 401 "Forbidden" for a bad key; 400 ``{"message": ...}`` for a missing from/to/text.
"""

from __future__ import annotations

import base64
import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sandboxes import messaging as kit

PROVIDER = "mailgun"


@csrf_exempt
def messages(request: HttpRequest, domain: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"message": "method not allowed"}, status=405)
    try:
        user, _, key = base64.b64decode(request.headers.get("Authorization", "")[6:]).decode().partition(":")
    except ValueError:
        user, key = "", ""
    if user != "api" or not kit.check_secret(domain, key):
        return HttpResponse("Forbidden", status=401, content_type="text/plain")
    fault = kit.take_fault(PROVIDER, domain)
    if fault:
        return JsonResponse({"message": "injected fault"}, status=fault["status"])
    form = request.POST
    for name in ("from", "to"):
        if not form.get(name):
            return JsonResponse({"message": f"'{name}' parameter is missing"}, status=400)
    if not (form.get("text") or form.get("html") or form.get("template")):
        return JsonResponse({"message": "Need at least one of 'text', 'html' or 'template' parameters specified"},
                            status=400)
    message_id = f"<{secrets.token_hex(8)}@{domain}>"
    headers = {k[2:]: v for k, v in form.items() if k.startswith("h:")}
    for to in form.getlist("to"):
        kit.record(PROVIDER, domain, {"id": message_id, "to": to, "from": form["from"],
                                      "subject": form.get("subject", ""), "headers": headers})
    return JsonResponse({"id": message_id, "message": "Queued. Thank you."})


urlpatterns = [
    path("v3/<str:domain>/messages", messages, name="mailgun-sandbox-messages"),
    path("_control", kit.control_view(PROVIDER), name="mailgun-sandbox-control"),
]

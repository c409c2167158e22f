"""What the e-mail/SMS sandboxes share: accounts, an outbox of what they accepted, injected faults.

Every sandbox account's secret is ``<account>-secret`` (like the Demo Store's). State lives in the
Django cache, so the hub's web process, its workers and a test all see the same sandbox outbox.
Control (test/DEBUG only, ``sandboxes.control``): ``POST /sandbox/<provider>/_control`` with
``{"account": ..., "action": "fail", "status": 503, "times": 2}`` / ``{"action": "reset"}`` /
``{"action": "outbox"}``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandboxes.control import control_enabled
from sandboxes.state import cache_lock

TTL = 24 * 3600


def check_secret(account: str, secret: str) -> bool:
    return bool(account) and hmac.compare_digest(f"{account}-secret".encode(), (secret or "").encode())


def _key(provider: str, account: str, what: str) -> str:
    return f"sandbox:{provider}:{account}:{what}"


def record(provider: str, account: str, message: dict[str, Any]) -> str:
    """Keep an accepted message in the account's outbox; return its new id."""
    message_id = message.get("id") or secrets.token_hex(16)
    # Workers send concurrently, through several web processes: append under the shared cache lock.
    with cache_lock(_key(provider, account, "lock"), what=f"{provider} sandbox outbox"):
        outbox = cache.get(_key(provider, account, "outbox")) or []
        outbox.append({**message, "id": message_id, "at": time.time()})
        cache.set(_key(provider, account, "outbox"), outbox, TTL)
    return message_id


def outbox(provider: str, account: str) -> list[dict[str, Any]]:
    return cache.get(_key(provider, account, "outbox")) or []


def take_fault(provider: str, account: str) -> dict[str, Any] | None:
    """The injected fault for this request, if any (each one lasts ``times`` requests; -1: until reset)."""
    fault = cache.get(_key(provider, account, "fault"))
    if not fault:
        return None
    if fault.get("times", -1) > 0:
        fault["times"] -= 1
        if fault["times"] == 0:
            cache.delete(_key(provider, account, "fault"))
        else:
            cache.set(_key(provider, account, "fault"), fault, TTL)
    return fault


def control_view(provider: str):
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        if not control_enabled():
            return JsonResponse({"error": "control endpoints are disabled"}, status=404)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "JSON body expected"}, status=400)
        account, action = str(body.get("account", "")), body.get("action")
        if action == "fail":
            cache.set(_key(provider, account, "fault"), {"status": int(body.get("status", 503)),
                                                         "times": int(body.get("times", -1)),
                                                         "code": body.get("code")}, TTL)
        elif action == "reset":
            cache.delete_many([_key(provider, account, "fault"), _key(provider, account, "outbox")])
        elif action != "outbox":
            return JsonResponse({"error": "action must be fail, reset or outbox"}, status=400)
        return JsonResponse({"outbox": outbox(provider, account)})

    return view

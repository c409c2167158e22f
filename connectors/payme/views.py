"""POST api/payments/payme/<key>: Payme's JSON-RPC calls for one integration, answered synchronously.

Stored first (``ledger().receive``), then: parse (-32700), auth (-32504), request shape (-32600),
method (-32601), and the method itself. Always HTTP 200 with a JSON-RPC body echoing ``id``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from connectors.gateway import ledger
from integrations.jsonlimits import loads
from integrations.models import IntegrationStatus

from . import gateway
from .errors import (
    INSUFFICIENT_PRIVILEGE,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SYSTEM_ERROR,
    PaymeError,
)

log = logging.getLogger("connectors.payme")
PROVIDER = "payme"


def _reply(request_id: Any, result: dict | None = None, error: PaymeError | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        body["error"] = error.body()
    else:
        body["result"] = result
    return body


def _stored_body(raw: bytes, payload: Any) -> bytes:
    # ChangePassword carries the new merchant key: never store it in clear.
    if isinstance(payload, dict) and payload.get("method") == "ChangePassword":
        params = payload.get("params") if isinstance(payload.get("params"), dict) else {}
        return json.dumps({**payload, "params": {**params, "password": "***"}}).encode()
    return raw


@csrf_exempt
def rpc(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse(_reply(None, error=PaymeError(INVALID_REQUEST)), status=405)
    integration = ledger().integration_for(key, PROVIDER)
    raw = ledger().read_body(request)
    try:
        payload = loads(raw)  # JSON nested too deep is a ValueError too: a parse error
    except ValueError:
        payload = None
    if integration is None:
        # No integration behind this URL: nothing of ours to record (and no table to fill for anyone).
        log.warning("payme call for unknown key %s… from %s", key[:6], request.META.get("REMOTE_ADDR"))
        request_id = payload.get("id") if isinstance(payload, dict) else None
        return JsonResponse(_reply(request_id, error=PaymeError(INSUFFICIENT_PRIVILEGE)))
    try:
        callback = ledger().receive(request, key, PROVIDER, integration, _stored_body(raw, payload))
    except DatabaseError:
        log.exception("payme call could not be stored")
        request_id = payload.get("id") if isinstance(payload, dict) else None
        return JsonResponse(_reply(request_id, error=PaymeError(SYSTEM_ERROR)))  # Payme retries
    request_id = payload.get("id") if isinstance(payload, dict) else None
    method = payload.get("method") if isinstance(payload, dict) and isinstance(payload.get("method"), str) else ""
    tx = None
    try:
        if not isinstance(payload, dict):
            raise PaymeError(PARSE_ERROR)
        if not gateway.authorized(request.META.get("HTTP_AUTHORIZATION", ""), integration):
            raise PaymeError(INSUFFICIENT_PRIVILEGE)
        if integration.status == IntegrationStatus.INACTIVE:
            raise PaymeError(SYSTEM_ERROR, "integration inactive")
        params = payload.get("params")
        if not method or not isinstance(params, dict):
            raise PaymeError(INVALID_REQUEST)
        handler = gateway.METHODS.get(method)
        if handler is None:
            raise PaymeError(METHOD_NOT_FOUND, method[:64])
        result, tx = handler(integration, params)
        body = _reply(request_id, result)
        code = None
    except PaymeError as exc:
        body, code, tx = _reply(request_id, error=exc), exc.code, exc.tx
    except Exception:  # noqa: BLE001 - Payme gets its protocol's "system error" (and repeats), never a 500
        log.exception("payme %s failed for integration %s", method, integration.pk)
        body, code = _reply(request_id, error=PaymeError(SYSTEM_ERROR)), SYSTEM_ERROR
    try:
        ledger().answer(callback, body, method=method or "?", error_code=code, tx=tx)
    except DatabaseError:
        log.exception("payme answer could not be recorded (callback %s)", callback.pk)
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})

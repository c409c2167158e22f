"""POST api/payments/click/<key>: Click's Prepare and Complete (told apart by ``action``).

Stored first (``ledger().receive``), verified, answered synchronously in the JSON Click expects:
``{click_trans_id, merchant_trans_id, merchant_prepare_id | merchant_confirm_id, error, error_note}``.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from connectors.gateway import ledger
from integrations.models import IntegrationStatus

from . import gateway

log = logging.getLogger("connectors.click")
PROVIDER = "click"
HANDLERS = {gateway.PREPARE: gateway.prepare, gateway.COMPLETE: gateway.complete}
METHOD_NAMES = {gateway.PREPARE: "prepare", gateway.COMPLETE: "complete"}


def _fields(raw: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


def _echo_id(value: str) -> int | str:
    # Click's ids are numbers (sent as form strings); echoed as the number they are.
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else value


@csrf_exempt
def shop_api(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": gateway.BAD_REQUEST, "error_note": gateway.NOTES[gateway.BAD_REQUEST]},
                            status=405)
    integration = ledger().integration_for(key, PROVIDER)
    raw = ledger().read_body(request)
    fields = _fields(raw)
    action = fields.get("action", "")
    body = {"click_trans_id": _echo_id(fields.get("click_trans_id", "")),
            "merchant_trans_id": fields.get("merchant_trans_id", "")}
    if integration is None:
        # No integration behind this URL: nothing of ours to record (and no table to fill for anyone).
        log.warning("click call for unknown key %s… from %s", key[:6], request.META.get("REMOTE_ADDR"))
        return JsonResponse({**body, "error": gateway.SIGN_FAILED, "error_note": gateway.NOTES[gateway.SIGN_FAILED]})
    try:
        callback = ledger().receive(request, key, PROVIDER, integration, raw)
    except DatabaseError:
        log.exception("click call could not be stored")
        return JsonResponse({**body, "error": gateway.UPDATE_FAILED,
                             "error_note": gateway.NOTES[gateway.UPDATE_FAILED]})
    tx = None
    id_name = "merchant_confirm_id" if action == gateway.COMPLETE else "merchant_prepare_id"
    try:
        gateway.verify(fields, integration)
        if integration.status == IntegrationStatus.INACTIVE:
            raise gateway.ClickError(gateway.UPDATE_FAILED)
        result, tx = HANDLERS[action](integration, fields)
        code = gateway.SUCCESS
        body.update(result)
    except gateway.ClickError as exc:
        code, tx = exc.code, exc.tx or tx
        exists = tx is not None and tx.pk and ledger().transactions().filter(pk=tx.pk).exists()
        body[id_name] = tx.pk if exists else None  # (one opened by this call was rolled back with it)
    except Exception:  # noqa: BLE001 - Click gets its protocol's error (and repeats), never a 500
        log.exception("click %s failed for integration %s", action, integration.pk)
        code = gateway.UPDATE_FAILED
        body[id_name] = None
    body.update(error=code, error_note=gateway.NOTES[code])
    try:
        ledger().answer(callback, body, method=METHOD_NAMES.get(action, "unknown"), error_code=code or None, tx=tx)
    except DatabaseError:
        log.exception("click answer could not be recorded (callback %s)", callback.pk)
    return JsonResponse(body)

"""POST api/payments/razorpay/<key>/checkout: Razorpay Checkout's callback (or the merchant page's
handler) with ``razorpay_payment_id``, ``razorpay_order_id`` and ``razorpay_signature``.

Stored first (``ledger().receive``), then the signature is checked against the order id we stored
and the payment read back from Razorpay before it counts; answered in the hub's JSON envelope.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from connectors.errors import ConnectorError, IgnoredEvent, SignatureError
from connectors.gateway import ledger
from integrations import jsonlimits

from .client import RazorpayConnector

log = logging.getLogger("connectors.razorpay")
PROVIDER = "razorpay"
FIELDS = ("razorpay_payment_id", "razorpay_order_id", "razorpay_signature")


def _fields(raw: bytes, content_type: str) -> dict[str, str]:
    try:
        if content_type.startswith("application/json"):
            data = jsonlimits.loads(raw)
            return {k: str(v) for k, v in data.items() if isinstance(v, str | int)} if isinstance(data, dict) else {}
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return {}


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
def checkout_callback(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "POST":
        return _error("method_not_allowed", "Use POST.", 405)
    integration = ledger().integration_for(key, PROVIDER)
    if integration is None:
        log.warning("razorpay checkout callback for unknown key %s… from %s", key[:6], request.META.get("REMOTE_ADDR"))
        return _error("not_found", "No such integration.", 404)
    raw = ledger().read_body(request)
    try:
        callback = ledger().receive(request, key, PROVIDER, integration, raw)
    except DatabaseError:
        log.exception("razorpay checkout callback could not be stored")
        return _error("unavailable", "Try again.", 503)
    fields = _fields(raw, request.content_type or "")
    if not all(fields.get(name) for name in FIELDS):
        # A failed attempt posts error[...] fields: the browser's word changes nothing, payment.failed will.
        status = 200 if fields.get("error[code]") else 400
        body = ({"status": "not_paid", "reason": fields.get("error[description]", "")} if status == 200 else
                {"error": {"code": "invalid_request", "message": f"{', '.join(FIELDS)} are required."}})
        ledger().answer(callback, body, method="checkout", error_code=None if status == 200 else 400)
        return JsonResponse(body, status=status)
    connector = RazorpayConnector(integration)
    try:
        tx = connector.confirm_checkout(fields["razorpay_order_id"], fields["razorpay_payment_id"],
                                        fields["razorpay_signature"])
    except SignatureError as exc:
        log.warning("razorpay checkout callback refused for integration %s: %s", integration.pk, exc)
        body = {"error": {"code": "invalid_signature", "message": str(exc)}}
        ledger().answer(callback, body, method="checkout", error_code=400)
        return JsonResponse(body, status=400)
    except IgnoredEvent as exc:
        body = {"error": {"code": "conflict", "message": str(exc)}}
        ledger().answer(callback, body, method="checkout", error_code=409)
        return JsonResponse(body, status=409)
    except ConnectorError as exc:
        body = {"error": {"code": "gateway_error", "message": exc.message}}
        ledger().answer(callback, body, method="checkout", error_code=502)
        return JsonResponse(body, status=502)
    body = {"status": tx.state, "payment": tx.pk, "reference": tx.reference}
    ledger().answer(callback, body, method="checkout", error_code=None, tx=tx)
    return JsonResponse(body)

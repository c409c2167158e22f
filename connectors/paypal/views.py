"""GET api/payments/paypal/<key>/return?token=<order id>&PayerID=…: the payer is back from PayPal.

The browser's word proves nothing: the hub captures the order at PayPal (which refuses an order the
payer did not approve) and answers with the ledger's state in the hub's JSON envelope.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse

from connectors.errors import ConnectorError, IgnoredEvent
from connectors.gateway import PaymentState, ledger

from .client import PayPalConnector

log = logging.getLogger("connectors.paypal")
PROVIDER = "paypal"


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def payer_return(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "GET":
        return _error("method_not_allowed", "Use GET.", 405)
    integration = ledger().integration_for(key, PROVIDER)
    if integration is None:
        return _error("not_found", "No such integration.", 404)
    order_id = request.GET.get("token", "")
    tx = ledger().transactions().filter(integration=integration, gateway_transaction_id=order_id).first() \
        if order_id and len(order_id) <= 64 else None
    if tx is None:
        return _error("not_found", "No payment of this integration has that order.", 404)
    if tx.state in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
        try:
            PayPalConnector(integration).capture(tx.pk, order_id, source="paypal.return")
        except IgnoredEvent as exc:
            return _error("conflict", str(exc), 409)
        except ConnectorError as exc:
            # e.g. 422 ORDER_NOT_APPROVED: the payer has not approved it (yet).
            log.warning("paypal return for payment %s: capture failed: %s", tx.pk, exc.message)
            return _error("gateway_error", exc.message, 502 if exc.kind in ("transient", "rate_limited") else 409)
        tx.refresh_from_db()
    return JsonResponse({"status": tx.state, "payment": tx.pk, "reference": tx.reference})

"""Razorpay webhooks: ``X-Razorpay-Signature`` = hex HMAC-SHA256 of the raw body keyed by the webhook
secret (no timestamp), deduplicated on ``X-Razorpay-Event-Id`` by the hub's inbox.

Razorpay promises neither ordering nor single delivery: the ledger's transition table ignores a
stale event (``payment.authorized`` after ``payment.captured``) and refunded totals only grow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction

from connectors.base import InboundRequest, WebhookDelivery
from connectors.errors import IgnoredEvent
from connectors.gateway import PaymentState, PaymentTransaction, ledger
from connectors.signatures import SignatureScheme, event_object, split_secrets, text
from integrations import jsonlimits

if TYPE_CHECKING:
    from connectors.base import StoredEvent

    from .client import RazorpayConnector

SCHEME = SignatureScheme("razorpay", header="x-razorpay-signature", id_header="x-razorpay-event-id")

# Payment status -> our state. "refunded" is a captured payment whose money went back: refunds are
# applied from amounts (refund.processed), so the state it maps to is only reached that way.
PAYMENT_STATES = {
    "created": PaymentState.PENDING,
    "authorized": PaymentState.PENDING,
    "captured": PaymentState.PAID,
    "refunded": PaymentState.PAID,
    "failed": PaymentState.FAILED,
}


def verify(request: InboundRequest, secret: str) -> WebhookDelivery:
    event_id = SCHEME.verify(request.headers, request.body, split_secrets(secret))
    return WebhookDelivery(event_id=event_id, event_type=text(event_object(request.body, "Razorpay").get("event")))


def apply_payment(connector: RazorpayConnector, tx_id: int, payment: dict[str, Any], *, source: str) -> bool:
    """Bring the transaction to the payment's state, capturing an authorization first when the hub
    captures (config ``capture``). False when the move is stale or changes nothing."""
    status = payment.get("status")
    if status not in PAYMENT_STATES:
        raise IgnoredEvent(f"unknown payment status {status!r}")
    if status == "authorized" and (connector.integration.config or {}).get("capture", "hub") == "hub":
        tx = ledger().transactions().get(pk=tx_id)
        if (int(payment.get("amount") or 0), str(payment.get("currency", "")).upper()) == (tx.amount, tx.currency):
            payment = connector.capture(payment)  # outside any lock: an HTTP call
            status = payment.get("status")
    new_state = PAYMENT_STATES.get(status, PaymentState.PENDING)
    reason = ""
    if new_state == PaymentState.FAILED:
        reason = str(payment.get("error_reason") or payment.get("error_code") or "failed")
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().get(pk=tx_id)
        if new_state == PaymentState.PAID and (int(payment.get("amount") or 0) != tx.amount
                                               or str(payment.get("currency", "")).upper() != tx.currency):
            raise IgnoredEvent(f"payment {payment.get('id')} is {payment.get('amount')} {payment.get('currency')}, "
                               f"not the {tx.amount} {tx.currency} of payment {tx.pk}")
        extra = None
        if new_state == PaymentState.PAID and (tx.data or {}).get("razorpay_payment_id") != payment.get("id"):
            extra = {"data": {**(tx.data or {}), "razorpay_payment_id": payment.get("id")}}
        return ledger().transition(tx, new_state, source=source, gateway_state=str(status), reason=reason,
                                   raw=payment, extra_fields=extra)


def _find(connector: RazorpayConnector, entity: dict[str, Any]) -> PaymentTransaction:
    order_id = entity.get("order_id") or ""
    tx = None
    if isinstance(order_id, str) and order_id:
        tx = ledger().transactions().filter(integration=connector.integration,
                                            gateway_transaction_id=order_id).first()
    if tx is None:
        raise IgnoredEvent(f"order {order_id or '?'} is not a payment of this hub")
    return tx


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any]:
    entity = ((payload.get("payload") or {}).get(name) or {}).get("entity")
    if not isinstance(entity, dict):
        raise IgnoredEvent(f"{payload.get('event')} without payload.{name}.entity")
    return entity


def _payment_event(connector: RazorpayConnector, payload: dict[str, Any]) -> str:
    payment = _entity(payload, "payment")
    tx = _find(connector, payment)
    changed = apply_payment(connector, tx.pk, payment, source="razorpay.webhook")
    return f"payment {tx.pk}: {payment.get('status')}" + ("" if changed else " (stale or unchanged: no change)")


def _refund_processed(connector: RazorpayConnector, payload: dict[str, Any]) -> str:
    refund = _entity(payload, "refund")
    payment = (payload.get("payload") or {}).get("payment", {}).get("entity")
    if not isinstance(payment, dict):
        payment = connector.fetch_payment(str(refund.get("payment_id", "")))
    tx = _find(connector, payment)
    refunded = payment.get("amount_refunded")
    if isinstance(refunded, bool) or not isinstance(refunded, int):
        raise IgnoredEvent("refund.processed without the payment's amount_refunded")
    tx = ledger().apply_refund(tx.pk, refunded, source="razorpay.webhook", raw=refund)
    return f"payment {tx.pk}: {tx.refunded_amount} refunded, {tx.state}"


HANDLERS: dict[str, Callable[[RazorpayConnector, dict[str, Any]], str]] = {
    "payment.authorized": _payment_event,
    "payment.captured": _payment_event,
    "payment.failed": _payment_event,
    "order.paid": _payment_event,  # carries the captured payment beside the order
    "refund.processed": _refund_processed,
}


def handle(connector: RazorpayConnector, event: StoredEvent) -> str:
    try:
        payload = jsonlimits.loads(bytes(event.body))
    except ValueError:
        raise IgnoredEvent("not JSON") from None
    handler = HANDLERS.get(payload.get("event") if isinstance(payload, dict) else None)
    if handler is None:
        raise IgnoredEvent(f"{event.event_type or 'event'} is not handled")
    return handler(connector, payload)

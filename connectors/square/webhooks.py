"""Square webhooks: ``x-square-hmacsha256-signature`` = Base64 HMAC-SHA256, keyed by the subscription's
signature key, over the notification URL *as registered* followed by the raw body; deduplicated on
the body's ``event_id`` by the hub's inbox.

Square promises neither ordering nor single delivery: the ledger's transition table ignores a stale
``payment.updated`` (APPROVED after COMPLETED), and refunded totals are read from the payment's
``refunded_money``, which only grows.
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

    from .client import SquareConnector

SCHEME = SignatureScheme("square", header="x-square-hmacsha256-signature", encoding="base64")

# Payment status -> our state. APPROVED: authorized, waiting to be completed (captured).
PAYMENT_STATES = {
    "APPROVED": PaymentState.PENDING,
    "PENDING": PaymentState.PENDING,
    "COMPLETED": PaymentState.PAID,
    "CANCELED": PaymentState.CANCELLED,
    "FAILED": PaymentState.FAILED,
}


def signed_payload(notification_url: str, body: bytes) -> bytes:
    return notification_url.encode("utf-8") + body


def verify(request: InboundRequest, secret: str, notification_url: str) -> WebhookDelivery:
    SCHEME.verify(request.headers, signed_payload(notification_url, request.body), split_secrets(secret))
    payload = event_object(request.body, "Square")
    return WebhookDelivery(event_id=text(payload.get("event_id")), event_type=text(payload.get("type")))


def _amount(money: Any) -> int | None:
    value = money.get("amount") if isinstance(money, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def apply_payment(connector: SquareConnector, tx_id: int, payment: dict[str, Any], *, source: str) -> bool:
    """Bring the transaction to the payment's state; False when that is stale or unchanged."""
    status = payment.get("status")
    if status not in PAYMENT_STATES:
        raise IgnoredEvent(f"unknown payment status {status!r}")
    new_state = PAYMENT_STATES[status]
    reason = str(status).lower() if new_state in (PaymentState.FAILED, PaymentState.CANCELLED) else ""
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().get(pk=tx_id)
        money = payment.get("amount_money") or {}
        if new_state == PaymentState.PAID and (_amount(money), str(money.get("currency", ""))) != (tx.amount,
                                                                                                   tx.currency):
            raise IgnoredEvent(f"payment {payment.get('id')} is not the {tx.amount} {tx.currency} of payment {tx.pk}")
        extra = {"gateway_transaction_id": payment["id"]} if not tx.gateway_transaction_id else None
        return ledger().transition(tx, new_state, source=source, gateway_state=str(status), reason=reason,
                                   raw=payment, extra_fields=extra)


def apply_refunded_total(connector: SquareConnector, tx_id: int, refund: dict[str, Any], *, source: str) -> str:
    """A completed refund: the payment's ``refunded_money`` (read from Square) is the new total."""
    payment = connector.fetch_payment(str(refund.get("payment_id", "")))
    total = _amount(payment.get("refunded_money"))
    if total is None:
        raise IgnoredEvent(f"payment {payment.get('id')} has no refunded_money")
    tx = ledger().apply_refund(tx_id, total, source=source, raw=refund)
    return f"payment {tx.pk}: {tx.refunded_amount} refunded, {tx.state}"


def _find(connector: SquareConnector, payment_id: str, reference_id: str) -> PaymentTransaction:
    qs = ledger().transactions().filter(integration=connector.integration)
    tx = qs.filter(gateway_transaction_id=payment_id).first() if payment_id else None
    if tx is None and reference_id:
        # The webhook may come before our create call has recorded the payment id.
        pending = qs.filter(gateway_transaction_id="")
        if reference_id.startswith("hub-") and reference_id[4:].isdigit():
            tx = pending.filter(pk=int(reference_id[4:]), reference="").first()
        tx = tx or pending.filter(reference=reference_id).order_by("-id").first()
    if tx is None:
        raise IgnoredEvent(f"payment {payment_id or '?'} is not a payment of this hub")
    return tx


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    obj = ((payload.get("data") or {}).get("object") or {}).get(name)
    if not isinstance(obj, dict) or not obj.get("id"):
        raise IgnoredEvent(f"{payload.get('type')} without data.object.{name}")
    return obj


def _payment_event(connector: SquareConnector, payload: dict[str, Any]) -> str:
    payment = _object(payload, "payment")
    tx = _find(connector, payment["id"], str(payment.get("reference_id") or ""))
    changed = apply_payment(connector, tx.pk, payment, source="square.webhook")
    return f"payment {tx.pk}: {payment.get('status')}" + ("" if changed else " (stale or unchanged: no change)")


def _refund_updated(connector: SquareConnector, payload: dict[str, Any]) -> str:
    refund = _object(payload, "refund")
    tx = _find(connector, str(refund.get("payment_id") or ""), "")
    if refund.get("status") != "COMPLETED":
        return f"payment {tx.pk}: refund {refund['id']} {refund.get('status')} (no change)"
    return apply_refunded_total(connector, tx.pk, refund, source="square.webhook")


HANDLERS: dict[str, Callable[[SquareConnector, dict[str, Any]], str]] = {
    "payment.created": _payment_event,
    "payment.updated": _payment_event,
    "refund.created": _refund_updated,
    "refund.updated": _refund_updated,
}


def handle(connector: SquareConnector, event: StoredEvent) -> str:
    try:
        payload = jsonlimits.loads(bytes(event.body))
    except ValueError:
        raise IgnoredEvent("not JSON") from None
    handler = HANDLERS.get(payload.get("type") if isinstance(payload, dict) else None)
    if handler is None:
        raise IgnoredEvent(f"{event.event_type or 'event'} is not handled")
    return handler(connector, payload)

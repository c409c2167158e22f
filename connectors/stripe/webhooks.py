"""Stripe webhooks: ``Stripe-Signature`` (t=, v1= HMAC-SHA256 of "t.body", 300 s tolerance) verified
by the hub's receiver; events deduplicated on ``event.id`` there, so each is processed once.

Stripe promises no ordering: the ledger's transition table ignores a stale event (a late
``payment_intent.processing`` after ``succeeded``), and refunds only ever grow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction

from connectors.base import InboundRequest, WebhookDelivery
from connectors.errors import IgnoredEvent, RejectedPayload, SignatureError
from connectors.gateway import PaymentState, PaymentTransaction, ledger
from connectors.signatures import event_object, split_secrets, verify_stripe
from integrations.jsonlimits import loads

if TYPE_CHECKING:
    from connectors.base import StoredEvent

    from .client import StripeConnector

# PaymentIntent status -> our state ("requires_payment_method" after a decline is a failure).
INTENT_STATES = {
    "requires_payment_method": PaymentState.PENDING,
    "requires_confirmation": PaymentState.PENDING,
    "requires_action": PaymentState.PENDING,
    "processing": PaymentState.PENDING,
    "requires_capture": PaymentState.PENDING,
    "succeeded": PaymentState.PAID,
    "canceled": PaymentState.CANCELLED,
}


def verify(request: InboundRequest, secret: str) -> WebhookDelivery:
    secrets = split_secrets(secret)
    if not secrets:
        raise SignatureError("no webhook secret is configured for this integration")
    verify_stripe(request.headers, request.body, secrets)
    payload = event_object(request.body, "Stripe")
    if not (isinstance(payload.get("id"), str) and payload["id"] and isinstance(payload.get("type"), str)):
        raise RejectedPayload("not a Stripe event (needs id and type)")
    return WebhookDelivery(event_id=payload["id"], event_type=payload["type"])


def _state_of(intent: dict[str, Any]) -> str:
    status = intent.get("status")
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return PaymentState.FAILED
    if status not in INTENT_STATES:
        raise IgnoredEvent(f"unknown PaymentIntent status {status!r}")
    return INTENT_STATES[status]


def apply_intent(tx_id: int, intent: dict[str, Any], *, source: str) -> bool:
    """Bring the transaction to the PaymentIntent's state; False when that is stale or unchanged."""
    new_state = _state_of(intent)
    reason = ""
    if new_state == PaymentState.FAILED:
        error = intent.get("last_payment_error") or {}
        reason = str(error.get("decline_code") or error.get("code") or "declined")
    elif new_state == PaymentState.CANCELLED:
        reason = str(intent.get("cancellation_reason") or "canceled")
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().get(pk=tx_id)
        extra = {"gateway_transaction_id": intent["id"]} if not tx.gateway_transaction_id else None
        return ledger().transition(tx, new_state, source=source, gateway_state=str(intent.get("status")),
                                   reason=reason, raw=intent, extra_fields=extra)


def _find(connector: StripeConnector, intent_id: str, metadata: dict[str, Any]) -> PaymentTransaction:
    qs = ledger().transactions().filter(integration=connector.integration)
    tx = qs.filter(gateway_transaction_id=intent_id).first() if intent_id else None
    if tx is None and str((metadata or {}).get("hub_payment_id", "")).isdigit():
        # The webhook may arrive before our create call has recorded the PaymentIntent id.
        tx = qs.filter(pk=int(metadata["hub_payment_id"])).first()
        if tx is not None and tx.gateway_transaction_id not in ("", intent_id):
            tx = None
    if tx is None:
        raise IgnoredEvent(f"PaymentIntent {intent_id or '?'} is not a payment of this hub")
    return tx


def _intent_event(connector: StripeConnector, obj: dict[str, Any]) -> str:
    tx = _find(connector, obj.get("id", ""), obj.get("metadata") or {})
    changed = apply_intent(tx.pk, obj, source="stripe.webhook")
    return f"payment {tx.pk}: {obj.get('status')}" + ("" if changed else " (stale or unchanged: no change)")


def _charge_refunded(connector: StripeConnector, obj: dict[str, Any]) -> str:
    tx = _find(connector, obj.get("payment_intent") or "", obj.get("metadata") or {})
    refunded = obj.get("amount_refunded")
    if isinstance(refunded, bool) or not isinstance(refunded, int):
        raise IgnoredEvent("charge.refunded without amount_refunded")
    tx = ledger().apply_refund(tx.pk, refunded, source="stripe.webhook", raw=obj)
    return f"payment {tx.pk}: {tx.refunded_amount} refunded, {tx.state}"


HANDLERS: dict[str, Callable[[StripeConnector, dict[str, Any]], str]] = {
    "payment_intent.created": _intent_event,
    "payment_intent.processing": _intent_event,
    "payment_intent.requires_action": _intent_event,
    "payment_intent.amount_capturable_updated": _intent_event,
    "payment_intent.succeeded": _intent_event,
    "payment_intent.payment_failed": _intent_event,
    "payment_intent.canceled": _intent_event,
    "charge.refunded": _charge_refunded,
}


def handle(connector: StripeConnector, event: StoredEvent) -> str:
    try:
        payload = loads(bytes(event.body))
        event_type, obj = payload["type"], payload["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise IgnoredEvent("not a Stripe event with data.object") from None
    handler = HANDLERS.get(event_type)
    if handler is None or not isinstance(obj, dict):
        raise IgnoredEvent(f"{event_type} is not handled")
    return handler(connector, obj)

"""Ledger operations: state transitions (with history and signal), payment creation with gateway
priority, refunds, and finding what a gateway's account/order field refers to."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors import money
from connectors.base import strip_payload_secrets
from connectors.errors import ConnectorError
from connectors.gateway import GatewayUnreachable, PaymentGateway
from connectors.registry import get_connector_class, providers
from integrations.models import Integration, Organization
from records.models import Invoice, Order

from .models import OPEN_STATES, STATE_TIMESTAMP, TRANSITIONS, PaymentState, PaymentStateChange, PaymentTransaction
from .signals import payment_state_changed

log = logging.getLogger("payments")


def strip_secrets(provider: str, payload: Any) -> Any:
    """``payload`` without the secret fields its gateway declares (``payload_secret_fields``).

    Applied to every payload the ledger stores: ``raw``, ``data`` (the checkout) and history rows.
    """
    try:
        names = get_connector_class(provider).payload_secret_fields
    except KeyError:  # a provider no longer installed: nothing declared
        return payload
    return strip_payload_secrets(payload, names)


def _history(tx: PaymentTransaction, **fields: Any) -> PaymentStateChange:
    if fields.get("data"):
        fields["data"] = strip_secrets(tx.provider, fields["data"])
    return PaymentStateChange.objects.create(transaction=tx, **fields)


class PaymentConflict(Exception):
    """The request conflicts with the ledger (an open payment holds the reference, a bad state)."""


def transition(tx: PaymentTransaction, new_state: str, *, source: str, gateway_state: str | None = None,
               reason: str = "", raw: dict | None = None, at: datetime | None = None,
               extra_fields: dict[str, Any] | None = None) -> bool:
    """Move ``tx`` (locked by the caller, inside ``transaction.atomic``) to ``new_state``.

    Writes the history row and sends ``payment_state_changed`` in the same transaction. Returns
    False (and changes nothing) for a transition the table does not allow: stale or repeated.
    """
    old_state = tx.state
    if new_state != old_state and new_state not in TRANSITIONS[old_state]:
        return False
    if new_state == old_state and gateway_state in (None, tx.gateway_state) and not extra_fields:
        return False
    at = at or timezone.now()
    updates: dict[str, Any] = {"state": new_state, **(extra_fields or {})}
    if gateway_state is not None:
        updates["gateway_state"] = gateway_state
    if reason and new_state in (PaymentState.CANCELLED, PaymentState.REFUNDED, PaymentState.FAILED):
        updates["cancel_reason"] = reason[:255]
    if raw is not None:
        updates["raw"] = strip_secrets(tx.provider, raw)
    stamp = STATE_TIMESTAMP.get(new_state)
    if stamp and new_state != old_state and getattr(tx, stamp) is None:
        updates[stamp] = at
    for name, value in updates.items():
        setattr(tx, name, value)
    tx.save(update_fields=[*updates, "updated_at"])
    _history(tx, from_state=old_state, to_state=new_state, gateway_state=tx.gateway_state, reason=reason[:255],
             source=source, at=at)
    if new_state != old_state:
        payment_state_changed.send(sender=PaymentTransaction, transaction=tx, old_state=old_state, new_state=new_state)
    return True


def record_created(tx: PaymentTransaction, source: str) -> None:
    """The first history row of a new transaction."""
    _history(tx, from_state="", to_state=tx.state, gateway_state=tx.gateway_state, source=source, at=tx.created_at)


def gateway_of(integration: Integration) -> PaymentGateway:
    connector = get_connector_class(integration.provider)(integration)
    if not isinstance(connector, PaymentGateway):
        raise PaymentConflict(f"integration {integration.code} ({integration.provider}) is not a payment gateway")
    return connector


def gateway_providers() -> list[str]:
    return [code for code, cls in providers().items() if issubclass(cls, PaymentGateway)]


def is_gateway(integration: Integration) -> bool:
    try:
        return issubclass(get_connector_class(integration.provider), PaymentGateway)
    except KeyError:
        return False


# --- what an account field / merchant_trans_id refers to ---------------------------------------------
def find_documents(organization_id: int, reference: str) -> tuple[Any, Any]:
    """(order, invoice) of the organization whose number is ``reference`` (not deleted)."""
    if not reference:
        return None, None
    order = Order.objects.filter(organization_id=organization_id, number=reference, deleted_at__isnull=True).first()
    invoice = Invoice.objects.filter(organization_id=organization_id, number=reference,
                                     deleted_at__isnull=True).first()
    return order, invoice


def document_amount(doc: Any, currency: str) -> int | None:
    if doc is None or doc.total is None:
        return None
    if doc.currency and currency and doc.currency.upper() != currency.upper():
        return None
    return money.to_minor(doc.total, doc.currency or currency)


def lock_payable(integration: Integration, reference: str, currency: str, *, source: str,
                 create: bool = True) -> PaymentTransaction | None:
    """The transaction a gateway's new payment attempt for ``reference`` attaches to, locked.

    The open one (created by ``POST /api/v1/payments``), else - when the last attempt was cancelled
    or failed, or only our order exists - a new one for the same reference (``create=False``: an
    unsaved one, for checks that must not write). None: nothing to pay. Call inside ``transaction.atomic``.
    """
    if not reference:
        return None
    qs = PaymentTransaction.objects.select_for_update().filter(integration=integration, reference=reference)
    current = qs.filter(state__in=OPEN_STATES).first()
    if current is not None:
        return current
    last = qs.order_by("-created_at", "-id").first()
    if last is not None:
        template = {"order_id": last.order_id, "invoice_id": last.invoice_id, "amount": last.amount,
                    "currency": last.currency, "description": last.description, "test_mode": last.test_mode}
    else:
        order, invoice = find_documents(integration.organization_id, reference)
        doc = order or invoice
        amount = document_amount(doc, currency)
        if amount is None or amount <= 0:
            return None
        template = {"order": order, "invoice": invoice, "amount": amount, "currency": currency,
                    "test_mode": bool((integration.config or {}).get("test_mode"))}
    if not create:
        return PaymentTransaction(organization_id=integration.organization_id, integration=integration,
                                  provider=integration.provider, reference=reference, **template)
    try:
        with transaction.atomic():
            tx = PaymentTransaction.objects.create(organization_id=integration.organization_id,
                                                   integration=integration, provider=integration.provider,
                                                   reference=reference, **template)
            record_created(tx, source)
    except IntegrityError:  # a concurrent call opened it first: take that one
        return qs.filter(state__in=OPEN_STATES).first()
    return tx


FULFILLED_STATUSES = frozenset({"fulfilled", "delivered", "completed", "complete", "shipped", "done", "closed"})


def is_fulfilled(tx: PaymentTransaction) -> bool:
    """The goods or service were handed over: a paid transaction can no longer simply be cancelled."""
    if (tx.data or {}).get("fulfilled"):
        return True
    doc = tx.order or tx.invoice
    return bool(doc is not None and (doc.status or "").strip().lower() in FULFILLED_STATUSES)


# --- creating payments --------------------------------------------------------------------------------
@dataclass
class Attempt:
    integration: str
    outcome: str
    error: str = ""


@dataclass
class CreateResult:
    transaction: PaymentTransaction
    checkout: dict[str, Any] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    error: str = ""  # set when the last gateway failed in a way that may have reached it


def create_payment(organization: Organization, integrations: list[Integration], *, amount: int, currency: str,
                   reference: str = "", order: Any = None, invoice: Any = None, description: str = "",
                   idempotency_key: str = "", options: dict[str, Any] | None = None,
                   test_mode: bool = False, source: str = "api") -> CreateResult:
    """Create the payment at the first gateway that can be reached.

    The next gateway is tried only after ``GatewayUnreachable`` (the request surely never left);
    any other failure may have charged the payer, so the transaction stays as it is and we stop.
    """
    if idempotency_key:
        existing = PaymentTransaction.objects.filter(organization=organization, idempotency_key=idempotency_key).first()
        if existing is not None:
            return CreateResult(existing, dict(existing.data.get("checkout") or {}))
    attempts: list[Attempt] = []
    previous: PaymentTransaction | None = None
    for integration in integrations:
        connector = gateway_of(integration)
        tx = _open(organization, integration, previous, amount=amount, currency=currency.upper(),
                   reference=reference, order=order, invoice=invoice, description=description,
                   idempotency_key=idempotency_key, test_mode=test_mode, source=source)
        try:
            checkout = connector.start_payment(tx, options or {})
        except GatewayUnreachable as exc:
            attempts.append(Attempt(integration.code, "unreachable", exc.message))
            _fail(tx, f"gateway unreachable: {exc.message}", source)
            previous = tx
            continue
        except ConnectorError as exc:
            attempts.append(Attempt(integration.code, exc.kind, exc.message))
            tx.refresh_from_db()
            if exc.kind in ("config", "fatal", "auth") and tx.state == PaymentState.CREATED:
                _fail(tx, exc.message, source)  # the gateway answered and refused: nothing charged
            return CreateResult(tx, {}, attempts, exc.message)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable answer: it may have charged, so no failover
            log.exception("payment %s: creating it at %s failed", tx.pk, integration.code)
            attempts.append(Attempt(integration.code, "error", exc.__class__.__name__))
            tx.refresh_from_db()
            return CreateResult(tx, {}, attempts, f"unexpected {exc.__class__.__name__}; the outcome is unknown")
        attempts.append(Attempt(integration.code, "created"))
        tx.refresh_from_db()
        # What the payer's browser needs once (Stripe's client_secret) is returned here, never kept.
        kept = strip_secrets(tx.provider, checkout)
        if kept:
            PaymentTransaction.objects.filter(pk=tx.pk).update(data={**tx.data, "checkout": kept})
            tx.data = {**tx.data, "checkout": kept}
        return CreateResult(tx, checkout, attempts)
    assert previous is not None  # noqa: S101 - integrations is never empty (the API validates it)
    return CreateResult(previous, {}, attempts, "no gateway could be reached")


def _open(organization, integration, previous, *, idempotency_key: str, source: str, **values) -> PaymentTransaction:
    with transaction.atomic():
        if previous is not None and idempotency_key:
            # The key follows the attempt that is current, so a repeated request finds the last one.
            PaymentTransaction.objects.filter(pk=previous.pk).update(idempotency_key="")
        try:
            with transaction.atomic():
                tx = PaymentTransaction.objects.create(organization=organization, integration=integration,
                                                       provider=integration.provider,
                                                       idempotency_key=idempotency_key, **values)
        except IntegrityError as exc:
            raise PaymentConflict(_conflict_message(exc, values.get("reference", ""))) from None
        record_created(tx, source)
    return tx


def _conflict_message(exc: IntegrityError, reference: str) -> str:
    if "uniq_payment_open_reference" in str(exc):
        return f"an open payment for reference {reference!r} already exists at this gateway"
    if "uniq_payment_idempotency_key" in str(exc):
        return "a payment with this Idempotency-Key is being created"
    return "the payment conflicts with an existing one"


def _fail(tx: PaymentTransaction, reason: str, source: str) -> None:
    with transaction.atomic():
        locked = PaymentTransaction.objects.select_for_update().get(pk=tx.pk)
        transition(locked, PaymentState.FAILED, source=source, reason=reason)


def refund(tx: PaymentTransaction, amount: int | None = None, *, source: str = "api") -> PaymentTransaction:
    """Ask the gateway to refund ``amount`` (default: what is left); its answer/webhook moves the state."""
    if tx.state != PaymentState.PAID:
        raise PaymentConflict(f"a {tx.state} payment cannot be refunded")
    if tx.integration is None:
        raise PaymentConflict("the gateway integration of this payment was deleted")
    left = tx.amount - tx.refunded_amount
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise PaymentConflict(f"the refund must be between 1 and {left} (minor units)")
    gateway_of(tx.integration).refund_payment(tx, amount)
    tx.refresh_from_db()
    return tx


def apply_refund(tx_id: int, refunded_total: int, *, source: str, raw: dict | None = None) -> PaymentTransaction:
    """Record that the gateway has refunded ``refunded_total`` in all; a full refund ends the payment."""
    with transaction.atomic():
        tx = PaymentTransaction.objects.select_for_update().get(pk=tx_id)
        if refunded_total <= tx.refunded_amount:
            return tx  # a repeated or older report
        if refunded_total >= tx.amount:
            transition(tx, PaymentState.REFUNDED, source=source, reason="refund", raw=raw,
                       extra_fields={"refunded_amount": tx.amount})
        else:
            PaymentTransaction.objects.filter(pk=tx.pk).update(refunded_amount=refunded_total)
            tx.refunded_amount = refunded_total
            _history(tx, from_state=tx.state, to_state=tx.state, gateway_state=tx.gateway_state,
                     reason="partial refund", source=source, data={"refunded_amount": refunded_total})
    return tx

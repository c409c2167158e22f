"""The Payme (Paycom) merchant API: the JSON-RPC methods Payme calls, answered from our ledger.

Every method is idempotent: a repeat (Payme retries on timeouts, or after we crashed between
changing the state and answering) is answered from the transaction's current state. Transitions
run under a row lock, so two identical calls at once produce one transaction.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.gateway import PaymentState, PaymentTransaction, ledger
from integrations.audit import record_change
from integrations.models import Integration

from .errors import (
    CANNOT_CANCEL,
    CANNOT_PERFORM,
    INSUFFICIENT_PRIVILEGE,
    INVALID_REQUEST,
    ORDER_BUSY,
    ORDER_NOT_FOUND,
    ORDER_PAID,
    TRANSACTION_NOT_FOUND,
    WRONG_AMOUNT,
    PaymeError,
)

TIMEOUT_MS = 43_200_000  # an unperformed transaction expires after 12 hours
SOURCE = "payme"

# Payme's states.
CREATED, PERFORMED, CANCELLED, CANCELLED_AFTER_PERFORM = 1, 2, -1, -2
REASON_TIMEOUT = 4
REASONS = {1, 2, 3, 4, 5, 10}
# Our ledger state for each Payme state.
LEDGER_STATE = {CREATED: PaymentState.PENDING, PERFORMED: PaymentState.PAID, CANCELLED: PaymentState.CANCELLED,
                CANCELLED_AFTER_PERFORM: PaymentState.REFUNDED}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(moment: datetime | None) -> int:
    """Milliseconds since the epoch (0 for unset times, as CheckTransaction wants)."""
    return (moment - EPOCH) // timedelta(milliseconds=1) if moment else 0


def now_ms() -> int:
    return ms(timezone.now())


# --- auth ---------------------------------------------------------------------------------------
def expected_key(integration: Integration) -> str:
    creds = integration.credentials or {}
    if (integration.config or {}).get("test_mode"):
        return creds.get("test_key") or ""
    return creds.get("key") or ""


def authorized(header: str, integration: Integration) -> bool:
    """``Authorization: Basic base64("Paycom:<key>")``; the key is what follows the last colon."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    login, sep, password = decoded.rpartition(":")
    key = expected_key(integration)
    if not sep or not key:
        return False
    return hmac.compare_digest(password.encode(), key.encode())


# --- params ---------------------------------------------------------------------------------------
def _int(params: dict, name: str, error: int = INVALID_REQUEST) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PaymeError(error, name)
    return value


def _str(params: dict, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value or len(value) > 255:
        raise PaymeError(INVALID_REQUEST, name)
    return value


def _amount(params: dict) -> int:
    value = params.get("amount")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise PaymeError(WRONG_AMOUNT, "amount")
    return value


def account_field(integration: Integration) -> str:
    return (integration.config or {}).get("account_field") or "order_id"


def _reference(integration: Integration, params: dict) -> str:
    field = account_field(integration)
    account = params.get("account")
    value = account.get(field) if isinstance(account, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise PaymeError(ORDER_NOT_FOUND, field)
    return str(value)


def _check_payable(integration: Integration, tx: PaymentTransaction | None, amount: int, payme_id: str = "") -> None:
    field = account_field(integration)
    if tx is None or tx.currency != "UZS":
        raise PaymeError(ORDER_NOT_FOUND, field)
    if tx.gateway_transaction_id and tx.gateway_transaction_id != payme_id:
        raise PaymeError(ORDER_PAID if tx.state == PaymentState.PAID else ORDER_BUSY, field)
    if tx.state not in (PaymentState.CREATED, PaymentState.PENDING):
        raise PaymeError(ORDER_PAID if tx.state == PaymentState.PAID else ORDER_BUSY, field)
    if tx.amount != amount:
        raise PaymeError(WRONG_AMOUNT, "amount")


# --- answers ----------------------------------------------------------------------------------------
def payme_state(tx: PaymentTransaction) -> int:
    return int(tx.gateway_state)


def _reason(tx: PaymentTransaction) -> int | None:
    try:
        return int(tx.cancel_reason) if tx.cancel_reason else None
    except ValueError:
        return None


def _cancel_time(tx: PaymentTransaction) -> int:
    return ms(tx.refunded_at or tx.cancelled_at)


def _by_payme_id(integration: Integration, payme_id: str, lock: bool = True) -> PaymentTransaction:
    qs = ledger().transactions().filter(integration=integration, gateway_transaction_id=payme_id)
    tx = (qs.select_for_update() if lock else qs).first()
    if tx is None:
        raise PaymeError(TRANSACTION_NOT_FOUND, "id")
    return tx


def _expired(tx: PaymentTransaction) -> bool:
    return now_ms() - ms(tx.pending_at) > TIMEOUT_MS


def _expire(tx: PaymentTransaction) -> None:
    ledger().transition(tx, PaymentState.CANCELLED, source=SOURCE, gateway_state=str(CANCELLED),
                        reason=str(REASON_TIMEOUT))


# --- methods ----------------------------------------------------------------------------------------
Answer = tuple[dict[str, Any], PaymentTransaction | None]


def check_perform_transaction(integration: Integration, params: dict) -> Answer:
    amount = _amount(params)
    reference = _reference(integration, params)
    with transaction.atomic():
        tx = ledger().lock_payable(integration, reference, "UZS", source=SOURCE, create=False)
        _check_payable(integration, tx, amount)
    return {"allow": True}, tx if tx is not None and tx.pk else None


def create_transaction(integration: Integration, params: dict) -> Answer:
    payme_id = _str(params, "id")
    time = _int(params, "time")
    amount = _amount(params)
    reference = _reference(integration, params)
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().filter(
            integration=integration, gateway_transaction_id=payme_id).first()
        if tx is None:
            tx = ledger().lock_payable(integration, reference, "UZS", source=SOURCE)
            _check_payable(integration, tx, amount, payme_id)
            if tx.gateway_transaction_id != payme_id:  # not attached by a concurrent repeat meanwhile
                if now_ms() - time > TIMEOUT_MS:
                    raise PaymeError(CANNOT_PERFORM, "time")
                ledger().transition(tx, PaymentState.PENDING, source=SOURCE, gateway_state=str(CREATED),
                                    raw=params, extra_fields={"gateway_transaction_id": payme_id,
                                                              "gateway_time": time})
        elif payme_state(tx) == CREATED and _expired(tx):
            _expire(tx)
    if payme_state(tx) != CREATED:  # raised after the commit: a timeout's cancellation is kept
        raise PaymeError(CANNOT_PERFORM, "id", tx=tx)
    return {"create_time": ms(tx.pending_at), "transaction": str(tx.pk), "state": CREATED}, tx


def perform_transaction(integration: Integration, params: dict) -> Answer:
    payme_id = _str(params, "id")
    expired = False
    with transaction.atomic():
        tx = _by_payme_id(integration, payme_id)
        state = payme_state(tx)
        if state == CREATED and _expired(tx):
            _expire(tx)
            expired = True
        elif state == CREATED:
            ledger().transition(tx, PaymentState.PAID, source=SOURCE, gateway_state=str(PERFORMED))
        elif state != PERFORMED:
            raise PaymeError(CANNOT_PERFORM, "id", tx=tx)
    if expired:  # raised after the commit: the timeout's cancellation is kept
        raise PaymeError(CANNOT_PERFORM, "id", tx=tx)
    return {"transaction": str(tx.pk), "perform_time": ms(tx.paid_at), "state": PERFORMED}, tx


def cancel_transaction(integration: Integration, params: dict) -> Answer:
    payme_id = _str(params, "id")
    reason = _int(params, "reason")
    if reason not in REASONS:
        raise PaymeError(INVALID_REQUEST, "reason")
    with transaction.atomic():
        tx = _by_payme_id(integration, payme_id)
        state = payme_state(tx)
        if state == CREATED:
            ledger().transition(tx, PaymentState.CANCELLED, source=SOURCE, gateway_state=str(CANCELLED),
                                reason=str(reason))
        elif state == PERFORMED:
            if ledger().is_fulfilled(tx):
                raise PaymeError(CANNOT_CANCEL, "id")
            ledger().transition(tx, PaymentState.REFUNDED, source=SOURCE, gateway_state=str(CANCELLED_AFTER_PERFORM),
                                reason=str(reason), extra_fields={"refunded_amount": tx.amount})
    return {"transaction": str(tx.pk), "cancel_time": _cancel_time(tx), "state": payme_state(tx)}, tx


def check_transaction(integration: Integration, params: dict) -> Answer:
    tx = _by_payme_id(integration, _str(params, "id"), lock=False)
    return {"create_time": ms(tx.pending_at), "perform_time": ms(tx.paid_at), "cancel_time": _cancel_time(tx),
            "transaction": str(tx.pk), "state": payme_state(tx), "reason": _reason(tx)}, tx


def get_statement(integration: Integration, params: dict) -> Answer:
    start, end = _int(params, "from"), _int(params, "to")
    field = account_field(integration)
    rows = (ledger().transactions().filter(integration=integration, gateway_time__gte=start, gateway_time__lte=end)
            .exclude(gateway_transaction_id="").order_by("gateway_time", "id"))
    return {"transactions": [{
        "id": tx.gateway_transaction_id, "time": tx.gateway_time, "amount": tx.amount,
        "account": {field: tx.reference}, "create_time": ms(tx.pending_at), "perform_time": ms(tx.paid_at),
        "cancel_time": _cancel_time(tx), "transaction": str(tx.pk), "state": payme_state(tx),
        "reason": _reason(tx), "receivers": None,
    } for tx in rows.iterator()]}, None


def change_password(integration: Integration, params: dict) -> Answer:
    """Payme sets a new key: we keep it (encrypted) in place of the one it authenticated with."""
    password = _str(params, "password")
    name = "test_key" if (integration.config or {}).get("test_mode") else "key"
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        locked.credentials = {**(locked.credentials or {}), name: password}
        locked.save(update_fields=["credentials", "updated_at"])
        record_change(locked, [name], action="rotated", via="payme.ChangePassword")
    return {"success": True}, None


def set_fiscal_data(integration: Integration, params: dict) -> Answer:
    """Receipt data for a transaction (type PERFORM or CANCEL), kept on it for the record."""
    payme_id = _str(params, "id")
    kind = params.get("type")
    if kind not in ("PERFORM", "CANCEL") or not isinstance(params.get("fiscal_data"), dict):
        raise PaymeError(INVALID_REQUEST, "fiscal_data")
    with transaction.atomic():
        tx = _by_payme_id(integration, payme_id)
        tx.data = {**tx.data, "fiscal": {**tx.data.get("fiscal", {}), kind: params["fiscal_data"]}}
        tx.save(update_fields=["data", "updated_at"])
    return {"success": True}, tx


METHODS: dict[str, Callable[[Integration, dict], Answer]] = {
    "CheckPerformTransaction": check_perform_transaction,
    "CreateTransaction": create_transaction,
    "PerformTransaction": perform_transaction,
    "CancelTransaction": cancel_transaction,
    "CheckTransaction": check_transaction,
    "GetStatement": get_statement,
    "ChangePassword": change_password,
    "SetFiscalData": set_fiscal_data,
}

__all__ = ["INSUFFICIENT_PRIVILEGE", "METHODS", "TIMEOUT_MS", "authorized", "ms"]

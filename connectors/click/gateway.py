"""The Click SHOP API: Prepare (action 0) and Complete (action 1), answered from our ledger.

``sign_string = md5(click_trans_id + service_id + SECRET_KEY + merchant_trans_id
[+ merchant_prepare_id on Complete] + amount + action + sign_time)``, over the values exactly as
received (``amount`` is not reformatted). ``merchant_prepare_id`` / ``merchant_confirm_id`` are our
ledger transaction id. Repeats are answered from the current state; a row lock makes two
identical calls at once produce one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from connectors import money
from connectors.gateway import PaymentState, PaymentTransaction, ledger
from integrations.models import Integration

SOURCE = "click"
PREPARE, COMPLETE = "0", "1"

SUCCESS = 0
SIGN_FAILED = -1
WRONG_AMOUNT = -2
ACTION_NOT_FOUND = -3
ALREADY_PAID = -4
ORDER_NOT_FOUND = -5
TRANSACTION_NOT_FOUND = -6
UPDATE_FAILED = -7
BAD_REQUEST = -8
CANCELLED = -9

NOTES = {
    SUCCESS: "Success",
    SIGN_FAILED: "SIGN CHECK FAILED!",
    WRONG_AMOUNT: "Incorrect parameter amount",
    ACTION_NOT_FOUND: "Action not found",
    ALREADY_PAID: "Already paid",
    ORDER_NOT_FOUND: "User does not exist",
    TRANSACTION_NOT_FOUND: "Transaction does not exist",
    UPDATE_FAILED: "Failed to update user",
    BAD_REQUEST: "Error in request from click",
    CANCELLED: "Transaction cancelled",
}

REQUIRED = ("click_trans_id", "service_id", "merchant_trans_id", "amount", "action", "sign_time", "sign_string")


class ClickError(Exception):
    def __init__(self, code: int, tx: PaymentTransaction | None = None):
        super().__init__(code)
        self.code = code
        self.tx = tx


def sign(fields: Mapping[str, str], secret_key: str) -> str:
    prepare_id = fields.get("merchant_prepare_id", "") if fields.get("action") == COMPLETE else ""
    text = (f"{fields['click_trans_id']}{fields['service_id']}{secret_key}{fields['merchant_trans_id']}"
            f"{prepare_id}{fields['amount']}{fields['action']}{fields['sign_time']}")
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Click's protocol, not our choice


def verify(fields: Mapping[str, str], integration: Integration) -> None:
    """Raise ClickError for missing fields (-8), another service (-8), a bad action (-3) or sign (-1)."""
    if any(not fields.get(name) for name in REQUIRED) or (
            fields.get("action") == COMPLETE and not fields.get("merchant_prepare_id")):
        raise ClickError(BAD_REQUEST)
    creds = integration.credentials or {}
    if fields["service_id"] != str(creds.get("service_id", "")):
        raise ClickError(BAD_REQUEST)
    secret = creds.get("secret_key") or ""
    expected = sign(fields, secret)
    if not secret or not hmac.compare_digest(expected, fields["sign_string"].lower()):
        raise ClickError(SIGN_FAILED)
    if fields["action"] not in (PREPARE, COMPLETE):
        raise ClickError(ACTION_NOT_FOUND)


def _minor(fields: Mapping[str, str]) -> int:
    amount = money.to_minor(fields["amount"], "UZS")
    if amount is None or amount <= 0:
        raise ClickError(WRONG_AMOUNT)
    return amount


def _click_error(fields: Mapping[str, str]) -> int:
    try:
        return int(fields.get("error") or 0)
    except ValueError:
        raise ClickError(BAD_REQUEST) from None


def _state_error(tx: PaymentTransaction) -> None:
    if tx.state == PaymentState.PAID:
        raise ClickError(ALREADY_PAID, tx)
    if tx.state in (PaymentState.CANCELLED, PaymentState.REFUNDED, PaymentState.FAILED):
        raise ClickError(CANCELLED, tx)


def prepare(integration: Integration, fields: Mapping[str, str]) -> tuple[dict[str, Any], PaymentTransaction]:
    amount = _minor(fields)
    click_id = fields["click_trans_id"]
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().filter(
            integration=integration, gateway_transaction_id=click_id).first()
        if tx is None:
            tx = ledger().lock_payable(integration, fields["merchant_trans_id"], "UZS", source=SOURCE)
            if tx is None or tx.currency != "UZS":
                raise ClickError(ORDER_NOT_FOUND)
            if tx.gateway_transaction_id and tx.gateway_transaction_id != click_id:
                tx = _supersede(integration, tx, click_id, amount)
        if tx.reference != fields["merchant_trans_id"]:
            raise ClickError(ORDER_NOT_FOUND, tx)
        _state_error(tx)
        if tx.amount != amount:
            raise ClickError(WRONG_AMOUNT, tx)
        if tx.state == PaymentState.CREATED:
            ledger().transition(tx, PaymentState.PENDING, source=SOURCE, gateway_state="prepared",
                                raw=dict(fields), extra_fields={"gateway_transaction_id": click_id})
    return {"merchant_prepare_id": tx.pk}, tx


def _supersede(integration: Integration, held: PaymentTransaction, click_id: str, amount: int) -> PaymentTransaction:
    """Another Click transaction holds the order. Paid: -4. Only prepared: the payer started again (Click
    sends a new click_trans_id), so the old attempt is cancelled - its Complete, if it ever comes, gets
    -9 and Click reverses it - and a new ledger row takes the new one. Nothing is paid twice."""
    _state_error(held)
    if held.amount != amount:
        raise ClickError(WRONG_AMOUNT, held)
    ledger().transition(held, PaymentState.CANCELLED, source=SOURCE, gateway_state="superseded",
                        reason=f"superseded by Click transaction {click_id}"[:255])
    tx = ledger().lock_payable(integration, held.reference, "UZS", source=SOURCE)
    if tx is None:
        raise ClickError(ORDER_NOT_FOUND)
    return tx


def complete(integration: Integration, fields: Mapping[str, str]) -> tuple[dict[str, Any], PaymentTransaction]:
    amount = _minor(fields)
    click_error = _click_error(fields)
    try:
        prepare_id = int(fields["merchant_prepare_id"])
    except ValueError:
        raise ClickError(TRANSACTION_NOT_FOUND) from None
    with transaction.atomic():
        tx = ledger().transactions().select_for_update().filter(integration=integration, pk=prepare_id).first()
        if tx is None or tx.gateway_transaction_id != fields["click_trans_id"]:
            raise ClickError(TRANSACTION_NOT_FOUND)
        if tx.reference != fields["merchant_trans_id"]:
            raise ClickError(ORDER_NOT_FOUND, tx)
        _state_error(tx)
        if tx.amount != amount:
            raise ClickError(WRONG_AMOUNT, tx)
        if click_error < 0:
            # Click failed the payment on its side: the transaction is over.
            ledger().transition(tx, PaymentState.CANCELLED, source=SOURCE, gateway_state=f"error {click_error}",
                                reason=(fields.get("error_note") or f"click error {click_error}")[:255],
                                raw=dict(fields))
        else:
            ledger().transition(tx, PaymentState.PAID, source=SOURCE, gateway_state="completed", raw=dict(fields))
    if click_error < 0:  # raised after the commit: the cancellation is kept
        raise ClickError(CANCELLED, tx)
    return {"merchant_confirm_id": tx.pk}, tx

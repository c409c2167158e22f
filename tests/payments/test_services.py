"""Ledger rules: the transition table, the append-only history, the signal sent inside the writing
transaction, minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from connectors import money
from payments import services
from payments.models import AppendOnlyError, PaymentState, PaymentStateChange, PaymentTransaction
from payments.signals import payment_state_changed
from tests.payments.helpers import click_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def tx(org):
    click = click_integration(org)
    return services.create_payment(org, [click], amount=1000, currency="UZS", reference="R-1").transaction


def move(tx, state, **kw):
    with transaction.atomic():
        locked = PaymentTransaction.objects.select_for_update().get(pk=tx.pk)
        return services.transition(locked, state, source="test", **kw)


def test_transition_table_ignores_stale_and_repeated_moves(tx):
    assert move(tx, PaymentState.PAID)
    assert not move(tx, PaymentState.PENDING)  # stale: never backwards
    assert not move(tx, PaymentState.PAID)  # repeated
    assert not move(tx, PaymentState.CANCELLED)  # paid money is refunded, not cancelled
    assert move(tx, PaymentState.REFUNDED, reason="5")
    assert not move(tx, PaymentState.PAID)
    tx.refresh_from_db()
    assert tx.state == "refunded" and tx.paid_at and tx.refunded_at and tx.cancel_reason == "5"
    assert list(tx.history.values_list("to_state", flat=True)) == ["created", "paid", "refunded"]


def test_history_is_append_only(tx):
    row = PaymentStateChange.objects.filter(transaction=tx).first()
    row.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()


def test_signal_is_sent_inside_the_writing_transaction_and_rolls_back_with_it(tx):
    seen = []

    def receiver(sender, transaction, old_state, new_state, **kwargs):
        seen.append((transaction.pk, old_state, new_state, connection.in_atomic_block))
        raise RuntimeError("a subscriber failed")

    payment_state_changed.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            move(tx, PaymentState.PAID)
    finally:
        payment_state_changed.disconnect(receiver)
    assert seen == [(tx.pk, "created", "paid", True)]
    tx.refresh_from_db()
    assert tx.state == "created" and not tx.history.filter(to_state="paid").exists()


@pytest.mark.parametrize("value, currency, minor", [
    ("100.50", "UZS", 10050), (Decimal("1"), "USD", 100), ("1500", "JPY", 1500), ("1.234", "KWD", 1234),
    ("0.001", "USD", None), ("abc", "USD", None), ("NaN", "USD", None), ("Infinity", "USD", None),
])
def test_minor_units(value, currency, minor):
    assert money.to_minor(value, currency) == minor


def test_refund_rules(tx):
    with pytest.raises(services.PaymentConflict):
        services.refund(tx)  # not paid
    move(tx, PaymentState.PAID)
    tx.refresh_from_db()
    with pytest.raises(services.PaymentConflict):
        services.refund(tx, 1001)  # more than paid
    assert services.apply_refund(tx.pk, 400, source="test").refunded_amount == 400
    assert services.apply_refund(tx.pk, 300, source="test").refunded_amount == 400  # an older report
    done = services.apply_refund(tx.pk, 1000, source="test")
    assert (done.state, done.refunded_amount) == ("refunded", 1000)

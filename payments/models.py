"""The payment ledger: one row per gateway transaction, an append-only history of its states, and
every synchronous gateway callback (Payme, Click) stored before it is answered.

Amounts are integers in minor units (tiyin, cents), never floats.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from connectors.gateway import PaymentState
from integrations.models import Integration, Organization

__all__ = ["PaymentState"]  # the states are the gateways' shared vocabulary (connectors.gateway)


# States that hold the reference: one such transaction per integration and reference.
OPEN_STATES = (PaymentState.CREATED, PaymentState.PENDING, PaymentState.PAID)
FINAL_STATES = (PaymentState.CANCELLED, PaymentState.REFUNDED)

# Which transitions a gateway may cause. No gateway promises ordering (Stripe) and repeats are
# normal (Payme, Click): a transition not listed here is stale or repeated and changes nothing.
TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentState.CREATED: frozenset({PaymentState.PENDING, PaymentState.PAID, PaymentState.CANCELLED,
                                     PaymentState.FAILED}),
    PaymentState.PENDING: frozenset({PaymentState.PAID, PaymentState.CANCELLED, PaymentState.FAILED}),
    PaymentState.FAILED: frozenset({PaymentState.PENDING, PaymentState.PAID, PaymentState.CANCELLED}),
    PaymentState.PAID: frozenset({PaymentState.REFUNDED}),
    PaymentState.CANCELLED: frozenset(),
    PaymentState.REFUNDED: frozenset(),
}

# The timestamp column set when a transaction enters each state.
STATE_TIMESTAMP = {
    PaymentState.PENDING: "pending_at",
    PaymentState.PAID: "paid_at",
    PaymentState.CANCELLED: "cancelled_at",
    PaymentState.REFUNDED: "refunded_at",
    PaymentState.FAILED: "failed_at",
}


class PaymentTransaction(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # SET_NULL: the ledger outlives a deleted gateway integration (``provider`` still says which gateway).
    integration = models.ForeignKey(Integration, null=True, on_delete=models.SET_NULL,
                                    related_name="payment_transactions")
    provider = models.CharField(max_length=64)
    # What is being paid: one of our orders or invoices, and/or a free reference (the order number
    # the gateway's account field carries).
    order = models.ForeignKey("records.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invoice = models.ForeignKey("records.Invoice", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    reference = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    amount = models.BigIntegerField(help_text="Minor units (tiyin, cents).")
    currency = models.CharField(max_length=3)
    refunded_amount = models.BigIntegerField(default=0, help_text="Minor units.")
    # The gateway's id: Payme transaction id, Click click_trans_id, Stripe PaymentIntent id.
    gateway_transaction_id = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=PaymentState.choices, default=PaymentState.CREATED)
    gateway_state = models.CharField(max_length=64, blank=True, help_text="The gateway's own state (Payme 1/2/-1/-2).")
    cancel_reason = models.CharField(max_length=255, blank=True)
    # Payme's ``time`` (ms) of its transaction: what GetStatement selects on.
    gateway_time = models.BigIntegerField(null=True, blank=True)
    test_mode = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=255, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The gateway's last payload about this transaction.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    pending_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One ledger row per gateway transaction: two concurrent CreateTransaction/Prepare calls
            # cannot both insert it.
            models.UniqueConstraint(fields=["integration", "gateway_transaction_id"],
                                    condition=~Q(gateway_transaction_id=""), name="uniq_payment_gateway_tx"),
            # One open (created/pending/paid) transaction per reference and gateway.
            models.UniqueConstraint(fields=["integration", "reference"],
                                    condition=~Q(reference="") & Q(state__in=[s.value for s in OPEN_STATES]),
                                    name="uniq_payment_open_reference"),
            models.UniqueConstraint(fields=["organization", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="uniq_payment_idempotency_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="payment_org_created"),
            models.Index(fields=["integration", "reference"], name="payment_integration_ref"),
            models.Index(fields=["integration", "gateway_time"], name="payment_integration_gwtime"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.provider} {self.reference or self.gateway_transaction_id} {self.state}"


class AppendOnlyError(Exception):
    pass


class PaymentStateChange(models.Model):
    """Append-only: rows are inserted by ``services.transition`` and never updated or deleted."""

    transaction = models.ForeignKey(PaymentTransaction, on_delete=models.CASCADE, related_name="history")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    gateway_state = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=64, help_text="api, admin, payme, click, stripe.webhook, ...")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["transaction_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state} ({self.source})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnlyError("payment state history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("payment state history is append-only")


class GatewayCallback(models.Model):
    """A synchronous gateway call (Payme JSON-RPC, Click Prepare/Complete), stored before it is
    answered, with the answer we gave. Append-only apart from writing the answer once."""

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=64)
    method = models.CharField(max_length=64, blank=True, help_text="JSON-RPC method or Click action.")
    endpoint = models.CharField(max_length=500, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    transaction = models.ForeignKey(PaymentTransaction, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="callbacks")
    response = models.JSONField(null=True, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["integration", "-received_at"], name="gwcallback_integration")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.provider} {self.method} {self.error_code if self.error_code is not None else ''}"

"""What a payment gateway's connector adds to the connector contract (mixed into its Connector), and
the ledger port through which a gateway's protocol code reads and moves payments.

The ledger (tables, state machine, history, the stored gateway calls) belongs to the payments app,
above the providers. A gateway never imports it: it calls :func:`ledger`, which the payments app
plugs in when Django starts (``payments.apps``). Payme's and Click's merchant protocols must read and
lock the ledger inside the gateway's own call, so an "apply the result afterwards" shape cannot
answer them; a port keeps the import graph one-way without changing what happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django.db import models

from connectors.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from django.db.models import Manager
    from django.http import HttpRequest

    from integrations.models import Integration

# A row of the payments ledger (payments.models.PaymentTransaction); gateways read its fields.
PaymentTransaction = Any


class PaymentState(models.TextChoices):
    """A payment's state in the ledger: the vocabulary every gateway maps its own states onto."""

    CREATED = "created", "Created"  # known to us, not yet to the gateway
    PENDING = "pending", "Pending"  # the gateway holds a transaction for it (Payme state 1, Click prepared)
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"  # before any money moved
    REFUNDED = "refunded", "Refunded"  # money moved, then went back (Payme -2, Stripe charge.refunded)
    FAILED = "failed", "Failed"  # declined, or the gateway could not be reached


class Ledger(Protocol):
    """What the payments app offers gateway code (``payments.ledger.PaymentsLedger`` implements it)."""

    def transactions(self) -> Manager:
        """The ledger's rows (filter by integration; ``select_for_update`` inside a transaction)."""

    def lock_payable(self, integration: Integration, reference: str, currency: str, *, source: str,
                     create: bool = True) -> PaymentTransaction | None: ...

    def transition(self, tx: PaymentTransaction, new_state: str, *, source: str, **details: Any) -> bool: ...

    def is_fulfilled(self, tx: PaymentTransaction) -> bool: ...

    def apply_refund(self, tx_id: int, refunded_total: int, *, source: str,
                     raw: dict | None = None) -> PaymentTransaction: ...

    # Synchronous gateway calls (Payme JSON-RPC, Click SHOP API): stored before they are answered.
    def integration_for(self, key: str, provider: str) -> Integration | None: ...

    def read_body(self, request: HttpRequest) -> bytes: ...

    def receive(self, request: HttpRequest, key: str, provider: str, integration: Integration, body: bytes) -> Any: ...

    def answer(self, callback: Any, response: dict[str, Any], *, method: str, error_code: int | None,
               tx: PaymentTransaction | None = None) -> None: ...


_ledger: Ledger | None = None


def set_ledger(implementation: Ledger) -> None:
    """Called once by the payments app at start-up."""
    global _ledger
    _ledger = implementation


def ledger() -> Ledger:
    if _ledger is None:
        raise ConfigError("the payments app is not installed: no ledger for payment gateways")
    return _ledger


class GatewayUnreachable(TransientError):
    """The gateway surely never saw the request (connection refused, DNS failure): another gateway
    may be tried. Any other failure of a create call may have reached it and must not fail over."""


class PaymentGateway:
    """Mixin for gateway connectors. ``start_payment`` runs outside any database transaction."""

    requires_reference = False  # the gateway pays an account/order reference (Payme, Click)
    requires_payment_method = False  # the gateway charges a token made in the payer's browser (Square)
    test_currency = "UZS"

    def check_payment(self, *, reference: str, amount: int, currency: str) -> str | None:
        """Why this gateway cannot take such a payment (the API answers 400), or None."""
        return None

    def test_options(self) -> dict[str, Any]:
        """Options that make a test-mode payment go through (e.g. a test card)."""
        return {}

    # Payme and Click call us (the payment starts when the payer opens the checkout); Stripe is called.
    def start_payment(self, tx: PaymentTransaction, options: dict[str, Any]) -> dict[str, Any]:
        """Open the payment at the gateway, or build its checkout link; return what the payer needs.

        May update ``tx`` through ``ledger()`` (e.g. a PaymentIntent id). Raise
        GatewayUnreachable when the gateway surely was not reached.
        """
        raise NotImplementedError

    def refund_payment(self, tx: PaymentTransaction, amount: int) -> dict[str, Any]:
        raise ConfigError(f"{getattr(self, 'display_name', 'this gateway')} refunds are made by the gateway "
                          "(its merchant cabinet), which then tells us through its callback")

    @classmethod
    def is_test_mode(cls, integration: Integration) -> bool:
        return bool((integration.config or {}).get("test_mode"))

"""The payments app's side of the gateway ledger port (``connectors.gateway.Ledger``).

Gateways (Payme, Click, Stripe) read and move payments through this object, handed to them by
``connectors.gateway.ledger()`` once Django has started, so they never import this app.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Manager
from django.http import HttpRequest

from integrations.models import Integration

from . import callbacks, services
from .models import GatewayCallback, PaymentTransaction


class PaymentsLedger:
    def transactions(self) -> Manager:
        return PaymentTransaction.objects

    def lock_payable(self, integration: Integration, reference: str, currency: str, *, source: str,
                     create: bool = True) -> PaymentTransaction | None:
        return services.lock_payable(integration, reference, currency, source=source, create=create)

    def transition(self, tx: PaymentTransaction, new_state: str, *, source: str, **details: Any) -> bool:
        return services.transition(tx, new_state, source=source, **details)

    def is_fulfilled(self, tx: PaymentTransaction) -> bool:
        return services.is_fulfilled(tx)

    def apply_refund(self, tx_id: int, refunded_total: int, *, source: str,
                     raw: dict | None = None) -> PaymentTransaction:
        return services.apply_refund(tx_id, refunded_total, source=source, raw=raw)

    def integration_for(self, key: str, provider: str) -> Integration | None:
        return callbacks.integration_for(key, provider)

    def read_body(self, request: HttpRequest) -> bytes:
        return callbacks.read_body(request)

    def receive(self, request: HttpRequest, key: str, provider: str, integration: Integration,
                body: bytes) -> GatewayCallback:
        return callbacks.receive(request, key, provider, integration, body)

    def answer(self, callback: GatewayCallback, response: dict[str, Any], *, method: str, error_code: int | None,
               tx: PaymentTransaction | None = None) -> None:
        callbacks.answer(callback, response, method=method, error_code=error_code, tx=tx)

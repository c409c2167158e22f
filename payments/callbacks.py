"""Synchronous gateway callbacks (Payme JSON-RPC, Click SHOP API): stored before they are answered.

``receive`` commits the raw call first (its own statement, outside any transaction), so a crash
while processing still leaves the call on record; the answer is written beside it afterwards. A
repeat of the call is answered from the ledger's current state, which the protocols' idempotency
rules make correct.

Why our own table and not ``webhooks.WebhookEvent``: that is an inbox for asynchronous processing,
deduplicated per event; these are RPCs whose identical repeats are separate, legitimate calls, each
answered synchronously, and the answer belongs beside the request.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from integrations.db import relaxed_commit
from integrations.models import Direction, Integration, IntegrationLog
from integrations.redaction import excerpt
from webhooks.store import masked_endpoint, request_headers, stored_headers

from .models import GatewayCallback, PaymentTransaction

log = logging.getLogger("payments.callbacks")
MAX_BODY = 1_000_000


def integration_for(key: str, provider: str) -> Integration | None:
    return Integration.objects.filter(webhook_key=key, provider=provider).select_related("organization").first()


def read_body(request: HttpRequest) -> bytes:
    return request.read(MAX_BODY)


def receive(request: HttpRequest, key: str, provider: str, integration: Integration, body: bytes) -> GatewayCallback:
    """Store the call (``body`` as read, or with a secret it carries masked) and commit it."""
    return GatewayCallback.objects.create(
        organization_id=integration.organization_id,
        integration=integration,
        provider=provider,
        endpoint=masked_endpoint(request.path, key)[:500],
        headers=stored_headers(request_headers(request.META)),
        body=body,
        remote_ip=request.META.get("REMOTE_ADDR") or None,
    )


def answer(callback: GatewayCallback, response: dict[str, Any], *, method: str, error_code: int | None,
           tx: PaymentTransaction | None = None) -> None:
    """Write the answer beside the stored call, and one inbound log line for the integration."""
    now = timezone.now()
    # A transaction opened by a call that then failed was rolled back with it: link only what exists.
    tx_id = tx.pk if tx is not None and tx.pk else None
    if tx_id is not None and error_code and not PaymentTransaction.objects.filter(pk=tx_id).exists():
        tx_id = None
    with transaction.atomic():  # one commit for the answer and its log line
        # Not waiting for this commit's disk flush (~4 ms here): losing it in a server crash looks
        # like a crash before answering, which the gateway's repeat resolves. The call itself and any
        # state change were committed durably before.
        relaxed_commit()
        GatewayCallback.objects.filter(pk=callback.pk).update(
            response=response, error_code=error_code, method=method[:64], answered_at=now, transaction_id=tx_id,
        )
        if callback.integration_id is not None:
            _log(callback, response, method, error_code, now)


def _log(callback: GatewayCallback, response: dict[str, Any], method: str, error_code: int | None,
         now: datetime) -> None:
    IntegrationLog.objects.create(
        organization_id=callback.organization_id, integration_id=callback.integration_id,
        action=f"{callback.provider}.{method}"[:64], direction=Direction.INBOUND,
        level="info" if not error_code else "warning", method="POST", endpoint=callback.endpoint,
        status_code=200, duration_ms=int((now - callback.received_at).total_seconds() * 1000),
        request_excerpt=excerpt(bytes(callback.body).decode("utf-8", "replace")),
        response_excerpt=excerpt(str(response)), error_message="" if not error_code else f"error {error_code}",
    )

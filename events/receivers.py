"""Domain events from the platform's signals, written to the outbox inside the writer's transaction.

Granularity of sync record events: one event per page, per model and per change kind (created /
updated / deleted), carrying the external ids (at most ``EVENTS_RECORD_IDS_PER_EVENT`` per event).
A 100,000-product sync in 100-row pages is ~1,000-3,000 outbox rows in one bulk INSERT per page,
not 100,000 rows: the sync's write path keeps its speed, and a consumer re-reads the records it
cares about by id (which is what it must do anyway, events being at-least-once).
"""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from payments.signals import payment_state_changed
from syncjobs.signals import records_written, sync_finished
from webhooks.signals import webhook_failed

from .outbox import NewEvent, emit


def _chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


@receiver(records_written, dispatch_uid="events.records_written")
def on_records_written(sender, job, integration, model, result, deleted_ids, **kwargs) -> None:
    model_label = model._meta.label
    aggregate = f"{model_label}:{integration.pk}"
    size = int(settings.EVENTS_RECORD_IDS_PER_EVENT)
    events = []
    for kind, ids in (("created", result.created_ids), ("updated", result.updated_ids), ("deleted", deleted_ids)):
        for chunk in _chunks([str(i) for i in ids], size):
            events.append(NewEvent(f"record.{kind}", aggregate, {
                "integration": integration.pk, "provider": integration.provider, "model": model_label,
                "external_ids": chunk, "sync_job": job.pk if job is not None else None}))
    emit(integration.organization_id, events)


@receiver(sync_finished, dispatch_uid="events.sync_finished")
def on_sync_finished(sender, job, **kwargs) -> None:
    counts = {name: getattr(job, f"records_{name}") for name in
              ("processed", "created", "updated", "skipped", "failed", "deleted")}
    emit(job.organization_id, [NewEvent("sync.finished", f"sync:{job.integration_id}:{job.stream}", {
        "sync_job": job.pk, "integration": job.integration_id, "stream": job.stream, "status": job.status,
        "counts": counts, "error_kind": job.error_kind or "", "error_message": (job.error_message or "")[:500]})])


@receiver(webhook_failed, dispatch_uid="events.webhook_failed")
def on_webhook_failed(sender, event, **kwargs) -> None:
    if event.organization_id is None:
        return
    emit(event.organization_id, [NewEvent("webhook.failed", f"webhook:{event.integration_id}", {
        "webhook_event": event.pk, "integration": event.integration_id, "provider": event.provider,
        "event_type": event.event_type, "attempts": event.attempts, "last_error": (event.last_error or "")[:500]})])


@receiver(payment_state_changed, dispatch_uid="events.payment_state_changed")
def on_payment_state_changed(sender, transaction, old_state, new_state, **kwargs) -> None:
    emit(transaction.organization_id, [NewEvent("payment.state_changed", f"payment:{transaction.pk}", {
        "transaction": transaction.pk, "old_state": str(old_state) if old_state else None,
        "new_state": str(new_state), "provider": transaction.provider, "integration": transaction.integration_id,
        "reference": transaction.reference, "amount": transaction.amount, "currency": transaction.currency})])

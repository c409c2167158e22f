"""Alert rules, evaluated on synced data.

- low stock: a synced stock level below its product's threshold notifies once, until it recovers.
  Runs inside the sync page's transaction (``records_written``), so the alert state and the queued
  message commit or roll back with the page; the message is sent after the commit.
- expiry: a batch (``ProductRelation`` kind ``batch``) whose ``expires_at`` falls within the rule's
  threshold in days notifies once; checked when batches are synced and hourly by the beat.
- daily report: once per (local) day, the last 24 hours of the organization's syncs and webhooks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from records.models import ProductRelation, RelationKind, StockLevel
from syncjobs.models import SyncJob
from syncjobs.signals import records_written
from webhooks.models import EventStatus, WebhookEvent

from .models import AlertKind, AlertRule, AlertState
from .services import NotificationError, send

log = logging.getLogger("notifications.alerts")


def _threshold(product_attributes: dict[str, Any], default: Decimal) -> Decimal:
    try:
        return Decimal(str(product_attributes["low_stock_threshold"]))
    except (KeyError, TypeError, InvalidOperation):
        return default


@receiver(records_written, dispatch_uid="notifications.alert_rules")
def on_records_written(sender, job, integration, model, result, deleted_ids, **kwargs) -> None:
    kind = {StockLevel: AlertKind.LOW_STOCK, ProductRelation: AlertKind.EXPIRY}.get(model)
    changed = list(result.created_ids) + list(result.updated_ids)
    if kind is None or not changed:
        return
    rules = list(AlertRule.objects.filter(
        Q(integration__isnull=True) | Q(integration=integration),
        organization_id=integration.organization_id, kind=kind, is_active=True,
    ))

    for rule in rules:
        try:
            if kind == AlertKind.LOW_STOCK:
                evaluate(rule, list(StockLevel.objects.filter(integration=integration, external_id__in=changed)
                                    .select_related("product", "location")))
            else:
                check_expiry(rule, ProductRelation.objects.filter(integration=integration, external_id__in=changed))
        except NotificationError as exc:
            # A rule's bad template or recipients must not fail the sync page it watches.
            log.warning("alert rule %s (%s) could not notify: %s", rule.pk, rule.name, exc)


def evaluate(rule: AlertRule, levels: list[StockLevel]) -> int:
    """Fire the rule for levels newly below threshold, clear it for levels back above; return fired count."""
    subjects = {f"stock:{level.pk}": level for level in levels}
    open_states = {s.subject: s for s in AlertState.objects.filter(rule=rule, subject__in=subjects)}
    fired = 0
    for subject, level in subjects.items():
        threshold = _threshold(level.product.attributes or {}, rule.threshold)
        state = open_states.get(subject)
        low = level.quantity < threshold
        if low and (state is None or state.cleared_at is not None):
            context = {"product_name": level.product.name, "sku": level.product.sku, "quantity": level.quantity,
                       "threshold": threshold, "location_name": level.location.name}
            message = send(rule.organization, rule.channel, list(rule.recipients), template=rule.template,
                           context=context, idempotency_key=f"alert:{rule.pk}:{subject}:{timezone.now().isoformat()}")
            AlertState.objects.update_or_create(rule=rule, subject=subject, defaults={
                "fired_at": timezone.now(), "cleared_at": None, "message": message})
            fired += 1
        elif not low and state is not None and state.cleared_at is None:
            state.cleared_at = timezone.now()
            state.save(update_fields=["cleared_at"])
    return fired


def check_expiry(rule: AlertRule, batches=None) -> int:
    """Notify once per batch expiring within ``rule.threshold`` days; return how many fired."""
    now = timezone.now()
    qs = ProductRelation.objects.all() if batches is None else batches
    qs = qs.filter(organization_id=rule.organization_id, kind=RelationKind.BATCH, deleted_at__isnull=True,
                   expires_at__gte=now, expires_at__lte=now + timedelta(days=float(rule.threshold)))
    if rule.integration_id:
        qs = qs.filter(integration_id=rule.integration_id)
    fired = 0
    for batch in qs.select_related("product", "location"):
        subject = f"batch:{batch.pk}"
        if AlertState.objects.filter(rule=rule, subject=subject).exists():
            continue
        context = {"product_name": batch.product.name, "batch": batch.value or batch.name,
                   "expires_at": batch.expires_at.date().isoformat(),
                   "location_name": batch.location.name if batch.location else ""}
        message = send(rule.organization, rule.channel, list(rule.recipients), template=rule.template,
                       context=context, idempotency_key=f"alert:{rule.pk}:{subject}")
        AlertState.objects.create(rule=rule, subject=subject, message=message)
        fired += 1
    return fired


def send_daily_report(rule: AlertRule) -> bool:
    """The day's report for the rule's organization, once per date; True when it was sent now."""
    from django.db.models import Count, Sum


    today = timezone.localdate()
    subject = f"day:{today.isoformat()}"
    if AlertState.objects.filter(rule=rule, subject=subject).exists():
        return False
    since = timezone.now() - timedelta(days=1)
    jobs = SyncJob.objects.filter(organization_id=rule.organization_id, completed_at__gte=since)
    by_status = dict(jobs.values("status").annotate(n=Count("id")).values_list("status", "n"))
    written = jobs.aggregate(c=Sum("records_created"), u=Sum("records_updated"), d=Sum("records_deleted"))
    context = {"date": today.isoformat(), "syncs_completed": by_status.get("completed", 0),
               "syncs_failed": by_status.get("failed", 0), "records": sum(v or 0 for v in written.values()),
               "webhook_failures": WebhookEvent.objects.filter(organization_id=rule.organization_id,
                                                               status=EventStatus.FAILED,
                                                               received_at__gte=since).count()}
    message = send(rule.organization, rule.channel, list(rule.recipients), template=rule.template, context=context,
                   idempotency_key=f"alert:{rule.pk}:{subject}")
    AlertState.objects.create(rule=rule, subject=subject, message=message)
    return True

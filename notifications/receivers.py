"""Alert rules: a synced stock level below its product's threshold notifies once, until it recovers.

Runs inside the sync page's transaction (``records_written``), so the alert state and the queued
message commit or roll back with the page; the message is sent after the commit.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from records.models import StockLevel
from syncjobs.signals import records_written

from .models import AlertKind, AlertRule, AlertState


def _threshold(product_attributes: dict[str, Any], default: Decimal) -> Decimal:
    try:
        return Decimal(str(product_attributes["low_stock_threshold"]))
    except (KeyError, TypeError, InvalidOperation):
        return default


@receiver(records_written, dispatch_uid="notifications.low_stock")
def check_low_stock(sender, job, integration, model, result, deleted_ids, **kwargs) -> None:
    if model is not StockLevel:
        return
    changed = list(result.created_ids) + list(result.updated_ids)
    if not changed:
        return
    rules = list(AlertRule.objects.filter(
        Q(integration__isnull=True) | Q(integration=integration),
        organization_id=integration.organization_id, kind=AlertKind.LOW_STOCK, is_active=True,
    ))
    if not rules:
        return
    levels = list(StockLevel.objects.filter(integration=integration, external_id__in=changed)
                  .select_related("product", "location"))
    for rule in rules:
        evaluate(rule, levels)


def evaluate(rule: AlertRule, levels: list[StockLevel]) -> int:
    """Fire the rule for levels newly below threshold, clear it for levels back above; return fired count."""
    from .services import send

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

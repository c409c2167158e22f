"""Health of each integration and of the hub's services, from real signals.

An integration's signals: its last connection test (``connection_error``, ``last_connected_at``),
the error rate of its calls in the recent log, its last successful sync and failing syncs in a row,
webhook events that failed for good in the last day, and whether its credentials are complete.

- error: status "error", credentials incomplete ("Twilio auth token not configured"), or the last
  connection test failed;
- unhealthy: error rate at or above ``HEALTH_ERROR_RATE_UNHEALTHY`` (with enough calls), failing
  syncs, failed webhooks, or an automatic sync that has not succeeded for 3 intervals;
- healthy otherwise; inactive integrations are reported apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from connectors.registry import get_connector_class
from integrations.models import Integration, IntegrationLog, IntegrationStatus
from syncjobs.models import SyncState
from webhooks.models import EventStatus, WebhookEvent

HEALTHY, UNHEALTHY, ERROR, INACTIVE = "healthy", "unhealthy", "error", "inactive"
MIN_CALLS_FOR_RATE = 5


@dataclass
class Health:
    id: int
    code: str
    name: str
    provider: str
    type: str
    status: str
    problems: list[str] = field(default_factory=list)
    signals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def missing_credentials(integration: Integration) -> list[str]:
    """Required credential fields that are empty, as messages ("Stripe API key not configured")."""
    try:
        cls = get_connector_class(integration.provider)
    except KeyError:
        return [f"unknown provider {integration.provider!r}"]
    if cls.credentials_serializer is None:
        return []
    creds = integration.credentials or {}
    out = []
    for name, fld in cls.credentials_serializer().fields.items():
        if fld.required and not creds.get(name):
            label = name.replace("_", " ").replace("api ", "API ").replace("id", "ID")
            out.append(f"{cls.display_name} {label} not configured")
    return out


def integration_health(integrations: list[Integration]) -> list[Health]:
    if not integrations:
        return []
    ids = [i.pk for i in integrations]
    now = timezone.now()
    window = now - timedelta(minutes=settings.HEALTH_WINDOW_MINUTES)
    calls = {row["integration"]: row for row in IntegrationLog.objects.filter(
        integration__in=ids, created_at__gte=window).exclude(direction="internal")
        .values("integration").annotate(total=Count("id"), errors=Count("id", filter=Q(level="error")))}
    failed_hooks = dict(WebhookEvent.objects.filter(integration__in=ids, status=EventStatus.FAILED,
                                                    received_at__gte=now - timedelta(days=1))
                        .values("integration").annotate(n=Count("id")).values_list("integration", "n"))
    last_sync = dict(SyncState.objects.filter(integration__in=ids).values("integration")
                     .annotate(at=Max("last_success_at")).values_list("integration", "at"))
    out = []
    for integ in integrations:
        call = calls.get(integ.pk, {"total": 0, "errors": 0})
        rate = call["errors"] / call["total"] if call["total"] else 0.0
        signals = {
            "last_connection_test_ok": not integ.connection_error if integ.last_connected_at or integ.connection_error
            else None,
            "last_connected_at": integ.last_connected_at, "connection_error": integ.connection_error,
            "calls_in_window": call["total"], "errors_in_window": call["errors"], "error_rate": round(rate, 3),
            "window_minutes": settings.HEALTH_WINDOW_MINUTES, "last_successful_sync_at": last_sync.get(integ.pk),
            "failing_syncs_in_a_row": integ.consecutive_failures, "failed_webhooks_24h": failed_hooks.get(integ.pk, 0),
        }
        problems_error = missing_credentials(integ)
        if integ.status == IntegrationStatus.ERROR:
            problems_error.append("integration is in error status")
        if integ.connection_error:
            problems_error.append(f"last connection test failed: {integ.connection_error[:200]}")
        problems = []
        if call["total"] >= MIN_CALLS_FOR_RATE and rate >= settings.HEALTH_ERROR_RATE_UNHEALTHY:
            problems.append(f"{call['errors']} of {call['total']} calls failed in the last "
                            f"{settings.HEALTH_WINDOW_MINUTES} min")
        if integ.consecutive_failures:
            problems.append(f"{integ.consecutive_failures} sync run(s) failed in a row")
        if signals["failed_webhooks_24h"]:
            problems.append(f"{signals['failed_webhooks_24h']} webhook event(s) failed in the last 24 h")
        if integ.auto_sync_enabled and integ.sync_interval_minutes:
            stale = now - timedelta(minutes=3 * integ.sync_interval_minutes)
            last = last_sync.get(integ.pk)
            if last is not None and last < stale:
                problems.append(f"no successful sync since {last.isoformat()}")
        if integ.status == IntegrationStatus.INACTIVE:
            status = INACTIVE
        elif problems_error:
            status = ERROR
        elif problems:
            status = UNHEALTHY
        else:
            status = HEALTHY
        out.append(Health(integ.pk, integ.code, integ.name, integ.provider, integ.type, status,
                          problems_error + problems, signals))
    return out


def summary(healths: list[Health]) -> dict[str, int]:
    totals = {"total": len(healths), HEALTHY: 0, UNHEALTHY: 0, ERROR: 0, INACTIVE: 0}
    for h in healths:
        totals[h.status] += 1
    return totals


def worst(statuses: list[str]) -> str:
    for status in (ERROR, UNHEALTHY):
        if status in statuses:
            return status
    return HEALTHY

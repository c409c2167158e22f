"""The hub's own services (notifications, events, files, sync, webhooks) for one organization."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from events.models import DeliveryStatus as EventDeliveryStatus
from events.models import Destination, EventDelivery, OutboxEvent
from files.models import StoredFile
from files.storage import backend_name
from integrations.models import Integration, IntegrationStatus, Organization
from notifications.models import Delivery, DeliveryStatus
from syncjobs.models import SyncJob
from webhooks.models import WebhookEvent

from .checks import ERROR, HEALTHY, UNHEALTHY


def _counts(qs, field: str) -> dict[str, int]:
    return dict(qs.values(field).annotate(n=Count("id")).values_list(field, "n"))


def notifications(org: Organization) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=1)
    providers = {ch: list(Integration.objects.filter(organization=org, type=ch, status=IntegrationStatus.ACTIVE)
                          .values_list("provider", flat=True)) for ch in ("email", "sms")}
    deliveries = _counts(Delivery.objects.filter(organization=org, created_at__gte=since), "status")
    problems = [f"no active {ch} provider" for ch, names in providers.items() if not names]
    if deliveries.get(DeliveryStatus.UNKNOWN):
        problems.append(f"{deliveries[DeliveryStatus.UNKNOWN]} send(s) with unknown outcome (worker lost)")
    if deliveries.get(DeliveryStatus.FAILED):
        problems.append(f"{deliveries[DeliveryStatus.FAILED]} delivery(ies) failed in the last 24 h")
    return {"status": UNHEALTHY if problems else HEALTHY, "problems": problems, "providers": providers,
            "deliveries_24h": deliveries}


def events(org: Organization) -> dict[str, Any]:
    backlog_age = timezone.now() - timedelta(minutes=5)
    dests = []
    problems = []
    pending = _counts(EventDelivery.objects.filter(organization=org, status=EventDeliveryStatus.PENDING),
                      "destination")
    for dest in Destination.objects.filter(organization=org):
        dests.append({"id": dest.pk, "name": dest.name, "kind": dest.kind, "active": dest.is_active,
                      "pending": pending.get(dest.pk, 0), "consecutive_failures": dest.consecutive_failures,
                      "last_error": dest.last_error[:300], "last_delivered_at": dest.last_delivered_at})
        if dest.is_active and dest.consecutive_failures:
            problems.append(f"{dest.name}: {dest.consecutive_failures} failed attempt(s): {dest.last_error[:200]}")
    stuck = OutboxEvent.objects.filter(organization=org, fanned_out=False, occurred_at__lt=backlog_age).count()
    if stuck:
        problems.append(f"{stuck} event(s) waiting in the outbox for over 5 minutes (dispatcher not running?)")
    failed = EventDelivery.objects.filter(organization=org, status=EventDeliveryStatus.FAILED).count()
    if failed:
        problems.append(f"{failed} event delivery(ies) failed for good (replay them in the admin)")
    return {"status": UNHEALTHY if problems else HEALTHY, "problems": problems, "destinations": dests,
            "failed_deliveries": failed}


def files(org: Organization) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=1)
    by_store = _counts(StoredFile.objects.filter(organization=org, created_at__gte=since), "storage")
    problems = []
    if by_store.get("hub_files_fallback") and settings.FILES_BACKEND != "local":
        problems.append(f"{by_store['hub_files_fallback']} file(s) went to the local fallback in the last 24 h: "
                        "the primary store is failing")
    return {"status": UNHEALTHY if problems else HEALTHY, "problems": problems,
            "backend": backend_name("hub_files"), "stored_24h": by_store}


def sync(org: Organization) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=1)
    jobs = _counts(SyncJob.objects.filter(organization=org, created_at__gte=since), "status")
    problems = [f"{jobs['failed']} sync job(s) failed in the last 24 h"] if jobs.get("failed") else []
    return {"status": UNHEALTHY if problems else HEALTHY, "problems": problems, "jobs_24h": jobs}


def webhooks(org: Organization) -> dict[str, Any]:
    since = timezone.now() - timedelta(days=1)
    by_status = _counts(WebhookEvent.objects.filter(organization=org, received_at__gte=since), "status")
    problems = [f"{by_status['failed']} webhook event(s) failed in the last 24 h"] if by_status.get("failed") else []
    return {"status": UNHEALTHY if problems else HEALTHY, "problems": problems, "events_24h": by_status}


SERVICES: dict[str, Callable[[Organization], dict[str, Any]]] = {
    "notifications": notifications, "events": events, "files": files, "sync": sync, "webhooks": webhooks,
}
STATUSES = (HEALTHY, UNHEALTHY, ERROR)

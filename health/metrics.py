"""Prometheus metrics for ``/metrics``.

Figures that several processes produce (web, workers) are read from the database at scrape time
by ``HubCollector`` (sync jobs, records, webhook events, provider calls, notifications), so they
are right whichever process answers the scrape and need no multiprocess directory. Counters kept
in memory are only per-process extras (``NOTIFICATIONS``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from integrations.models import IntegrationLog
from syncjobs.models import SyncJob
from webhooks.models import WebhookEvent

# In this process only: notifications sent through this process, by provider and outcome.
NOTIFICATIONS = Counter("hub_process_notifications", "Notification send attempts in this process",
                        ["provider", "channel", "outcome"])


class HubCollector:
    """Reads the hub's tables at scrape time (windowed where the tables grow without bound)."""

    def collect(self):
        window = timezone.now() - timedelta(minutes=settings.HEALTH_WINDOW_MINUTES)
        jobs = GaugeMetricFamily("hub_sync_jobs", "Sync jobs by status", labels=["status"])
        for row in SyncJob.objects.values("status").annotate(n=Count("id")):
            jobs.add_metric([row["status"]], row["n"])
        yield jobs

        done = SyncJob.objects.filter(completed_at__gte=window, started_at__isnull=False)
        duration = GaugeMetricFamily("hub_sync_job_duration_seconds_avg",
                                     "Average duration of sync jobs finished in the window", labels=["status"])
        for row in done.values("status").annotate(n=Count("id")):
            jobs_of = [j.duration_seconds or 0 for j in done.filter(status=row["status"]).only(
                "started_at", "completed_at")[:1000]]
            duration.add_metric([row["status"]], sum(jobs_of) / len(jobs_of) if jobs_of else 0)
        yield duration

        records = CounterMetricFamily("hub_records_synced", "Records written by sync jobs", labels=["kind"])
        totals = SyncJob.objects.aggregate(created=Sum("records_created"), updated=Sum("records_updated"),
                                           deleted=Sum("records_deleted"), failed=Sum("records_failed"))
        for kind, value in totals.items():
            records.add_metric([kind], value or 0)
        yield records

        hooks = GaugeMetricFamily("hub_webhook_events_window", "Webhook events received in the window by status",
                                  labels=["status"])
        for row in WebhookEvent.objects.filter(received_at__gte=window).values("status").annotate(n=Count("id")):
            hooks.add_metric([row["status"]], row["n"])
        yield hooks

        calls = GaugeMetricFamily("hub_provider_calls_window", "Provider calls in the window",
                                  labels=["provider", "outcome"])
        latency = GaugeMetricFamily("hub_provider_call_latency_ms_avg", "Average provider call latency in the window",
                                    labels=["provider"])
        rows = (IntegrationLog.objects.filter(created_at__gte=window, direction="outbound")
                .values("integration__provider")
                .annotate(ok=Count("id", filter=~Q(level="error")), errors=Count("id", filter=Q(level="error")),
                          avg=Avg("duration_ms")))
        for row in rows:
            provider = row["integration__provider"] or ""
            calls.add_metric([provider, "ok"], row["ok"])
            calls.add_metric([provider, "error"], row["errors"])
            latency.add_metric([provider], float(row["avg"] or 0))
        yield calls
        yield latency

        from notifications.models import Delivery

        sent = GaugeMetricFamily("hub_notifications_window", "Notification deliveries in the window",
                                 labels=["provider", "status"])
        for row in (Delivery.objects.filter(created_at__gte=window).values("provider", "status")
                    .annotate(n=Count("id"))):
            sent.add_metric([row["provider"] or "", row["status"]], row["n"])
        yield sent


def render() -> bytes:
    from prometheus_client import REGISTRY

    registry = CollectorRegistry()
    registry.register(HubCollector())
    return generate_latest(registry) + generate_latest(REGISTRY)

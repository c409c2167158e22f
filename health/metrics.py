"""Prometheus metrics for ``/metrics``.

Figures that several processes produce (web, workers) are read from the database at scrape time
by ``HubCollector`` (sync jobs, records, webhook events, provider calls, notifications), so they
are right whichever process answers the scrape and need no multiprocess directory. Counters kept
in memory are only per-process extras (``NOTIFICATIONS``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from integrations.models import IntegrationLog
from notifications.models import Delivery
from syncjobs.models import SyncJob
from webhooks.models import WebhookEvent

from .models import WorkerHeartbeat

JOB_BUCKETS = (1, 5, 30, 60, 300, 900, 3600)  # seconds
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)  # seconds

from notifications.metrics import NOTIFICATIONS  # noqa: E402,F401 - counted by notifications, exported here


class HubCollector:
    """Reads the hub's tables at scrape time (windowed where the tables grow without bound)."""

    def collect(self):
        window = timezone.now() - timedelta(minutes=settings.HEALTH_WINDOW_MINUTES)
        jobs = GaugeMetricFamily("hub_sync_jobs", "Sync jobs by status", labels=["status"])
        for row in SyncJob.objects.values("status").annotate(n=Count("id")):
            jobs.add_metric([row["status"]], row["n"])
        yield jobs

        # Durations of jobs finished in the window, as a histogram counted in the database.
        duration = HistogramMetricFamily("hub_sync_job_duration_seconds",
                                         "Duration of sync jobs finished in the window", labels=["status"])
        done = (SyncJob.objects.filter(completed_at__gte=window, started_at__isnull=False)
                .annotate(took=ExpressionWrapper(F("completed_at") - F("started_at"), output_field=DurationField())))
        # order_by(): the model's default ordering would put created_at/id into SELECT DISTINCT,
        # giving one "status" row (and one repeated series) per job.
        for status in done.order_by().values_list("status", flat=True).distinct():
            of = done.filter(status=status)
            counts = of.aggregate(**{f"le{b}": Count("id", filter=Q(took__lte=timedelta(seconds=b)))
                                     for b in JOB_BUCKETS}, total=Count("id"), took_sum=Sum("took"))
            buckets = [(str(b), counts[f"le{b}"]) for b in JOB_BUCKETS] + [("+Inf", counts["total"])]
            duration.add_metric([status], buckets, (counts["took_sum"] or timedelta()).total_seconds())
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
        latency = HistogramMetricFamily("hub_provider_call_duration_seconds",
                                        "Provider call duration in the window", labels=["provider"])
        rows = (IntegrationLog.objects.filter(created_at__gte=window, direction="outbound")
                .values("integration__provider")
                .annotate(ok=Count("id", filter=~Q(level="error")), errors=Count("id", filter=Q(level="error")),
                          total_ms=Sum("duration_ms"),
                          **{f"le{b}": Count("id", filter=Q(duration_ms__lte=b * 1000)) for b in CALL_BUCKETS}))
        for row in rows:
            provider = row["integration__provider"] or ""
            calls.add_metric([provider, "ok"], row["ok"])
            calls.add_metric([provider, "error"], row["errors"])
            buckets = [(str(b), row[f"le{b}"]) for b in CALL_BUCKETS] + [("+Inf", row["ok"] + row["errors"])]
            latency.add_metric([provider], buckets, (row["total_ms"] or 0) / 1000)
        yield calls
        yield latency

        sent = GaugeMetricFamily("hub_notifications_window", "Notification deliveries in the window",
                                 labels=["provider", "status"])
        for row in (Delivery.objects.filter(created_at__gte=window).values("provider", "status")
                    .annotate(n=Count("id"))):
            sent.add_metric([row["provider"] or "", row["status"]], row["n"])
        yield sent

        yield worker_heartbeats()


def worker_heartbeats() -> GaugeMetricFamily:
    """Age of each worker's consumer heartbeat: a growing age is a worker that stopped consuming."""
    beats = GaugeMetricFamily("hub_worker_heartbeat_age_seconds",
                              "Seconds since each Celery worker's consumer last ran", labels=["worker", "queues"])
    now = timezone.now()
    for row in WorkerHeartbeat.objects.all():
        beats.add_metric([row.name, row.queues], (now - row.beat_at).total_seconds())
    return beats


def render() -> bytes:
    from prometheus_client import REGISTRY

    registry = CollectorRegistry()
    registry.register(HubCollector())
    return generate_latest(registry) + generate_latest(REGISTRY)

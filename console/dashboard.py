"""The admin index: what needs attention, a tile per integration, activity charts — for the user's organizations.

Every figure is one aggregate query (GROUP BY in PostgreSQL or SQLite), bounded by time and by the
organization, on indexed columns: the page costs the same with a million log rows as with ten.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from events.models import OutboxEvent
from integrations.admin_base import user_org_roles
from integrations.admin_display import STATUS_COLOURS
from integrations.models import Integration, IntegrationLog, IntegrationStatus
from payments.models import PaymentState, PaymentTransaction
from records.models import SyncedRecord
from syncjobs.models import JobStatus, SyncJob
from webhooks.models import EventStatus, WebhookEvent

OUTBOX_STUCK_AFTER = timedelta(minutes=5)


def _scope(request: HttpRequest) -> list[int] | None:
    """Organization ids the user sees; None for a superuser (every organization)."""
    return None if request.user.is_superuser else list(user_org_roles(request))


def _org_filter(orgs: list[int] | None, field: str = "organization_id") -> dict[str, Any]:
    return {} if orgs is None else {f"{field}__in": orgs}


def _link(name: str, **params: Any) -> str:
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def _initials(name: str) -> str:
    parts = [p for p in name.replace("(", " ").split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def _records_held(integration_ids: list[int]) -> dict[int, int]:
    """Live (not soft-deleted) records per integration over every record table, in one query."""
    if not integration_ids:
        return {}
    tables = [m._meta.db_table for m in apps.get_app_config("records").get_models()
              if issubclass(m, SyncedRecord) and not m._meta.proxy]
    marks = ", ".join(["%s"] * len(integration_ids))
    union = " UNION ALL ".join(
        f"SELECT integration_id FROM {connection.ops.quote_name(t)} "  # noqa: S608 - table names from our models
        f"WHERE integration_id IN ({marks}) AND deleted_at IS NULL" for t in dict.fromkeys(tables)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT integration_id, COUNT(*) FROM ({union}) AS r GROUP BY integration_id",  # noqa: S608
                       integration_ids * len(dict.fromkeys(tables)))
        return dict(cursor.fetchall())


def _latency(integration_ids: list[int], since) -> list[dict[str, Any]]:
    """p50/p95 of outbound provider calls and their error rate per integration over 24 h.

    Filtered by the user's integrations (already scoped to their organizations) rather than by
    organization: each integration then reads only its 24 h range of the (integration, -created_at)
    index, whose INCLUDEd columns answer the query without touching the log rows.
    """
    if not integration_ids:
        return []
    where = (f"l.integration_id IN ({', '.join(['%s'] * len(integration_ids))}) AND l.created_at >= %s "
             "AND l.direction = 'outbound' AND l.duration_ms IS NOT NULL")
    params = [*integration_ids, since]
    table = connection.ops.quote_name(IntegrationLog._meta.db_table)
    if connection.vendor == "postgresql":
        pcts = ("percentile_cont(0.5) WITHIN GROUP (ORDER BY l.duration_ms), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY l.duration_ms)")
    else:  # SQLite (the embedded run): an average stands in for both, the chart says so
        pcts = "AVG(l.duration_ms), MAX(l.duration_ms)"
    sql = (f"SELECT l.integration_id, {pcts}, COUNT(*), "  # noqa: S608 - fixed SQL, values are parameters
           f"SUM(CASE WHEN l.status_code >= 400 OR l.level = 'error' THEN 1 ELSE 0 END) "
           f"FROM {table} l WHERE {where} GROUP BY l.integration_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [{"integration": i, "p50": round(p50 or 0), "p95": round(p95 or 0), "calls": n,
             "error_rate": round(100 * (e or 0) / n, 1) if n else 0.0} for i, p50, p95, n, e in rows]


def build(request: HttpRequest) -> dict[str, Any]:
    orgs = _scope(request)
    now = timezone.now()
    day_ago, month_ago = now - timedelta(hours=24), now - timedelta(days=30)
    today = timezone.localdate()

    # Each integration's newest job rides along: one correlated lookup per integration on the
    # (integration, -created_at) index, not a DISTINCT ON that reads every job.
    newest = SyncJob.objects.filter(integration_id=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    integrations = list(Integration.objects.filter(**_org_filter(orgs)).order_by("name").only(
        "id", "name", "provider", "status", "connection_error", "consecutive_failures", "last_connected_at",
        "last_sync_at", "next_sync_at", "auto_sync_enabled").annotate(last_job_id=Subquery(newest)))
    names = {i.pk: i.name for i in integrations}
    ids = list(names)
    disable_after = int(settings.SYNC_FAILURE_DISABLE_AFTER)

    # --- needs attention ---
    in_error = [i for i in integrations if i.status == IntegrationStatus.ERROR]
    switched_off = [i for i in integrations
                    if i.status == IntegrationStatus.INACTIVE and i.consecutive_failures >= disable_after]
    never = [i for i in integrations if i.last_connected_at is None and i.status != IntegrationStatus.INACTIVE]
    failed_jobs = SyncJob.objects.filter(status=JobStatus.FAILED, created_at__gte=day_ago, **_org_filter(orgs)).count()
    failed_hooks = WebhookEvent.objects.filter(status=EventStatus.FAILED, received_at__gte=day_ago,
                                               **_org_filter(orgs)).count()
    stuck = OutboxEvent.objects.filter(fanned_out=False, occurred_at__lt=now - OUTBOX_STUCK_AFTER,
                                       **_org_filter(orgs)).count()
    unmatched = PaymentTransaction.objects.filter(state=PaymentState.PAID, order__isnull=True, invoice__isnull=True,
                                                  created_at__gte=month_ago, **_org_filter(orgs)).count()
    since = day_ago.isoformat(timespec="seconds")
    attention = [
        {"label": "integrations in error", "count": len(in_error),
         "url": _link("integrations_integration", status="error")},
        {"label": "switched off after failures", "count": len(switched_off),
         "url": _link("integrations_integration", status="inactive", consecutive_failures__gte=disable_after)},
        {"label": "never connected", "count": len(never),
         "url": _link("integrations_integration", last_connected_at__isnull="True")},
        {"label": "failed sync jobs (24 h)", "count": failed_jobs,
         "url": _link("syncjobs_syncjob", status__exact="failed", created_at__gte=since)},
        {"label": "failed webhooks (24 h)", "count": failed_hooks,
         "url": _link("webhooks_webhookevent", status__exact="failed", received_at__gte=since)},
        {"label": f"events stuck in the outbox (> {int(OUTBOX_STUCK_AFTER.total_seconds() // 60)} min)",
         "count": stuck, "url": _link("events_outboxevent", fanned_out__exact="0")},
        {"label": "paid with no order or invoice (30 d)", "count": unmatched,
         "url": _link("payments_paymenttransaction", reconciliation="unmatched")},
    ]

    # --- jobs per day by outcome, records per day (one query over 30 days) ---
    per_day = (SyncJob.objects.filter(created_at__gte=month_ago, **_org_filter(orgs))
               .annotate(day=TruncDay("created_at")).values("day", "status")
               .annotate(n=Count("id"), created=Sum("records_created"), updated=Sum("records_updated"),
                         deleted=Sum("records_deleted")).order_by())
    days = [today - timedelta(days=d) for d in range(29, -1, -1)]
    jobs_by = defaultdict(lambda: defaultdict(int))
    recs_by = defaultdict(lambda: defaultdict(int))
    for row in per_day:
        day = timezone.localdate(row["day"]) if timezone.is_aware(row["day"]) else row["day"].date()
        jobs_by[row["status"]][day] += row["n"]
        for kind in ("created", "updated", "deleted"):
            recs_by[kind][day] += row[kind] or 0
    colours = {"completed": "#16a34a", "failed": "#dc2626", "cancelled": "#ea580c", "running": "#2563eb",
               "pending": "#94a3b8", "created": "#16a34a", "updated": "#2563eb", "deleted": "#dc2626",
               "processing": "#2563eb", "ignored": "#ea580c", "rejected": "#a855f7"}

    def series(by: dict, keys: list, order: list[str]) -> dict[str, Any]:
        return {"labels": [k.strftime("%d %b") if hasattr(k, "strftime") else str(k) for k in keys],
                "datasets": [{"label": name, "data": [by[name].get(k, 0) for k in keys],
                              "backgroundColor": colours.get(name, "#64748b"),
                              "borderColor": colours.get(name, "#64748b")}
                             for name in order if any(by[name].get(k) for k in keys)]}

    statuses = [s.value for s in JobStatus]
    jobs_30 = series(jobs_by, days, statuses)
    jobs_7 = series(jobs_by, days[-7:], statuses)
    records_30 = series(recs_by, days, ["created", "updated", "deleted"])

    # --- webhooks per hour by status (24 h), and per integration for the tiles (one query) ---
    hooks = (WebhookEvent.objects.filter(received_at__gte=day_ago, **_org_filter(orgs))
             .annotate(hour=TruncHour("received_at")).values("hour", "status", "integration_id")
             .annotate(n=Count("*")).order_by())
    hours = [(now - timedelta(hours=h)).replace(minute=0, second=0, microsecond=0) for h in range(23, -1, -1)]
    hooks_by = defaultdict(lambda: defaultdict(int))
    hooks_per_integration: dict[int, int] = defaultdict(int)
    for row in hooks:
        hooks_by[row["status"]][row["hour"]] += row["n"]
        if row["integration_id"]:
            hooks_per_integration[row["integration_id"]] += row["n"]
    webhooks_24 = series(hooks_by, hours, [s.value for s in EventStatus])
    webhooks_24["labels"] = [timezone.localtime(h).strftime("%H:00") for h in hours]

    latency = _latency(ids, day_ago)
    latency_chart = {
        "labels": [names.get(r["integration"], f"#{r['integration']}") for r in latency],
        "datasets": [
            {"label": "p50 ms", "data": [r["p50"] for r in latency], "backgroundColor": "#7c3aed"},
            {"label": "p95 ms", "data": [r["p95"] for r in latency], "backgroundColor": "#c4b5fd"},
        ],
        "error_rate": [r["error_rate"] for r in latency],
    }

    # --- tiles: last job per integration (one query), records held (one query) ---
    last_ids = [i.last_job_id for i in integrations if i.last_job_id]
    last_jobs = {job.integration_id: job for job in SyncJob.objects.filter(pk__in=last_ids).only(
        "integration_id", "status", "created_at", "completed_at", "stream")}
    held = _records_held(ids)
    tiles = []
    for i in integrations:
        job = last_jobs.get(i.pk)
        colour = ("danger" if i.status == IntegrationStatus.ERROR or (job and job.status == JobStatus.FAILED)
                  else "warning" if i.status == IntegrationStatus.INACTIVE
                  else "success" if i.last_connected_at else "neutral")
        tiles.append({
            "integration": i, "initials": _initials(i.name), "colour": colour,
            "status_colour": STATUS_COLOURS.get(i.status, "neutral"),
            "url": reverse("admin:integrations_integration_change", args=[i.pk]),
            "job": job, "job_url": reverse("admin:syncjobs_syncjob_change", args=[job.pk]) if job else None,
            "records": held.get(i.pk, 0), "webhooks_24h": hooks_per_integration.get(i.pk, 0),
        })
    return {
        "attention": attention, "attention_total": sum(a["count"] for a in attention), "tiles": tiles,
        "charts": {"jobs_7": jobs_7, "jobs_30": jobs_30, "records_30": records_30, "webhooks_24": webhooks_24,
                   "latency": latency_chart},
        "latency": [{**r, "name": names.get(r["integration"], f"#{r['integration']}")} for r in latency],
        "latency_is_estimate": connection.vendor != "postgresql",
    }


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    context.update(build(request))
    return context

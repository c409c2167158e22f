"""Staff console figures: time and queries to render the dashboard and the four big lists.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_i14 REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python benchmarks/console_bench.py [--logs 1000000] [--products 200000] \
        [--jobs 100000] [--webhooks 500000] [--repeat 7]

Works in a scratch database (``<name>_console_bench``, created and dropped here). The rows are
made in PostgreSQL itself (INSERT ... SELECT over generate_series, then VACUUM ANALYZE) for one
organization with four integrations, spread over 30 days. Each page is rendered by Django's test
client, in process, as a staff member (admin role) of that organization: the organization-scoped
queries a real staff user runs. The first render per page is timed and
reported on its own (the cold cost), then ``--repeat`` timed renders.

Prints per page the first render's time, the median of the repeats, min-max, spread
((max - min) / median: the machine's noise)
and the number of SQL queries; the target is <= 300 ms and <= 15 queries per page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from integrations.models import Integration, Membership, Organization  # noqa: E402

PAGES = [
    ("dashboard", "/admin/"),
    ("logs", "/admin/integrations/integrationlog/"),
    ("webhook events", "/admin/webhooks/webhookevent/"),
    ("products", "/admin/records/product/"),
    ("sync jobs", "/admin/syncjobs/syncjob/"),
    ("logs, one integration", "/admin/integrations/integrationlog/?integration__id__exact={i0}"),
    ("failed jobs, 24 h link", "/admin/syncjobs/syncjob/?status__exact=failed"),
]


def load(org: Organization, integrations: list[Integration], args: argparse.Namespace) -> None:
    ids = "ARRAY[" + ",".join(str(i.pk) for i in integrations) + "]::bigint[]"
    n = len(integrations)
    statements = [
        # Provider calls: 1 in 20 an error, durations 20-2000 ms, over 30 days.
        f"""INSERT INTO integrations_integrationlog (organization_id, integration_id, action, direction, level,
            method, endpoint, status_code, duration_ms, request_excerpt, response_excerpt, error_message,
            sync_job_id, created_at)
            SELECT {org.pk}, ({ids})[1 + g % {n}], 'http', 'outbound', CASE WHEN g % 20 = 0 THEN 'error'
            ELSE 'info' END, 'GET', '/api/products?page=' || g, CASE WHEN g % 20 = 0 THEN 500 ELSE 200 END,
            20 + (g::bigint * 7919) % 1980, '', '{{"data": []}}', CASE WHEN g % 20 = 0 THEN 'HTTP 500' ELSE '' END,
            NULL, now() - ((g::bigint * 2592000) / {args.logs}) * interval '1 second'
            FROM generate_series(1, {args.logs}) AS g""",
        f"""INSERT INTO records_product (organization_id, integration_id, external_id, source_hash, sync_status,
            sync_error, created_at, updated_at, last_synced_at, sku, barcode, name, description, unit, units,
            price, currency, prices, attributes, is_active)
            SELECT {org.pk}, ({ids})[1 + g % {n}], 'p' || g, md5(g::text), 'synced', '',
            now() - ((g::bigint * 2592000) / {args.products}) * interval '1 second', now(), now(), 'SKU-' || g, '',
            'Product ' || g, '',
            'pcs', '[]', (g % 1000) + 0.99, 'USD', '{{}}', '{{}}', true
            FROM generate_series(1, {args.products}) AS g""",
        f"""INSERT INTO syncjobs_syncjob (organization_id, integration_id, stream, job_type, trigger, status,
            created_at, started_at, completed_at, records_processed, records_created, records_updated,
            records_skipped, records_failed, records_deleted, pages, error_message, error_kind, error_details,
            progress, cancel_requested, celery_task_id, attempts)
            SELECT {org.pk}, ({ids})[1 + g % {n}], (ARRAY['products','stock','orders','customers'])[1 + g % 4],
            'incremental', 'schedule', CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 37 = 0 THEN 'cancelled'
            ELSE 'completed' END, now() - ((g::bigint * 2592000) / {args.jobs}) * interval '1 second',
            now() - ((g::bigint * 2592000) / {args.jobs}) * interval '1 second',
            now() - ((g::bigint * 2592000) / {args.jobs}) * interval '1 second' + interval '30 seconds',
            100, g % 7, g % 50, 0, 0, g % 3, 2,
            CASE WHEN g % 10 = 0 THEN 'HTTP 503 from provider' ELSE '' END, '', '[]',
            '{{"pages": 2, "records": 100}}', false, '', 1
            FROM generate_series(1, {args.jobs}) AS g""",
        f"""INSERT INTO webhooks_webhookevent (organization_id, integration_id, provider, endpoint, event_id,
            event_type, headers, body, content_type, body_sha256, status, rejection_reason, attempts, max_retries,
            last_error, result, duplicates, received_at)
            SELECT {org.pk}, ({ids})[1 + g % {n}], 'demo', '', 'evt-' || g, 'product.updated', '{{}}',
            convert_to('{{"id": ' || g || '}}', 'UTF8'), 'application/json', md5(g::text),
            CASE WHEN g % 25 = 0 THEN 'failed' ELSE 'completed' END, '', 1, 5,
            CASE WHEN g % 25 = 0 THEN 'handler error' ELSE '' END, '', 0,
            now() - ((g::bigint * 2592000) / {args.webhooks}) * interval '1 second'
            FROM generate_series(1, {args.webhooks}) AS g""",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"  loaded {cursor.rowcount:>9,} rows in {time.perf_counter() - started:5.1f} s: "
                  f"{sql.split('INTO ')[1].split(' ')[0]}", flush=True)
        # VACUUM as well as ANALYZE: autovacuum does both after a bulk insert on a live database, and the
        # visibility map it sets is what lets the dashboard's aggregates run as index-only scans.
        cursor.execute("VACUUM ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--webhooks", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("console_bench needs PostgreSQL (DATABASE_URL=postgres://...)")
        return 2
    settings.ALLOWED_HOSTS = ["*"]
    main_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{main_name}_console_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        org = Organization.objects.create(name="Console bench", slug="console-bench")
        integrations = [Integration.objects.create(organization=org, name=f"Shop {i}", code=f"shop-{i}",
                                                   provider="demo", type="inventory") for i in range(4)]
        user = get_user_model().objects.create_user("bench-staff", password="bench-only", is_staff=True)
        Membership.objects.create(user=user, organization=org, role="admin")
        print(f"loading {args.logs:,} log rows, {args.products:,} products, {args.jobs:,} jobs, "
              f"{args.webhooks:,} webhook events ...", flush=True)
        load(org, integrations, args)

        client = Client()
        client.force_login(user)
        print(f"\n{'page':<24} {'first ms':>9} {'median ms':>10} {'min-max ms':>14} {'spread':>7} {'queries':>8}")
        # The process's own first request (imports, URL resolver, unfold's templates compiled: 400-500 ms
        # once per worker process) is paid on a small page here, so that each page's "first" below
        # is that page's cold cost: its data not yet read, its SQL not yet run, nothing cached.
        assert client.get("/admin/integrations/integration/").status_code == 200
        worst = 0.0
        for name, url in PAGES:
            url = url.format(i0=integrations[0].pk)
            # The first render is reported on its own ("first"): the cold cost, before any of the
            # process's or PostgreSQL's caches hold this page's data.
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            first = (time.perf_counter() - started) * 1000
            times, queries = [], 0
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, url
                queries = len(captured)
            median = statistics.median(times)
            worst = max(worst, median, first)
            print(f"{name:<24} {first:>9.1f} {median:>10.1f} {min(times):>6.1f}-{max(times):<7.1f} "
                  f"{(max(times) - min(times)) / median:>6.0%} {queries:>8}", flush=True)
        print(f"\nslowest page (first render or median): {worst:.1f} ms (target <= 300 ms)")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(main_name, verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

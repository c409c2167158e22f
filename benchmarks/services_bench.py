"""Services hub figures: the outbox's cost on the sync write path, event dispatch and e-mail sending.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_svc REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python benchmarks/services_bench.py [--rows 20000] [--page 100] [--events 2000] \
        [--emails 300] [--repeat 3]

Works in a scratch database (``<name>_services_bench``, created and dropped here). Per repeat:

- sync pages: ``--rows`` new products written page by page (``--page`` rows, one transaction per
  page, as the sync runner commits), ``records_written`` sent each page; once with the events app's
  receiver connected (one bulk INSERT of ~1 outbox row per page) and once without it;
- dispatch: ``--events`` events to a Redis stream and to a RabbitMQ exchange (publisher confirms),
  timed from the outbox to the broker's acknowledgement;
- e-mail: ``--emails`` recipients through ``notifications.services.deliver`` to an aiosmtpd server
  on loopback (one SMTP connection per message, as Django's backend opens it).

Prints medians with their spread ((max - min) / median: the machine's noise).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from connectors.base import RecordRow  # noqa: E402
from events import receivers  # noqa: E402
from events.dispatch import dispatch_all  # noqa: E402
from events.models import Destination, OutboxEvent  # noqa: E402
from events.outbox import NewEvent, emit  # noqa: E402
from integrations.models import Integration, Organization  # noqa: E402
from records.models import Product  # noqa: E402
from records.upsert import upsert_rows  # noqa: E402
from syncjobs.runner import JobRun  # noqa: E402
from syncjobs.signals import records_written  # noqa: E402

RABBIT_URL = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def sync_pages(integration: Integration, rows: int, page: int, tag: str) -> float:
    started = time.perf_counter()
    for start in range(0, rows, page):
        batch = [RecordRow(external_id=f"{tag}-{i}", fields={"name": f"Product {i}", "sku": f"SKU{i}"},
                           payload={"id": i, "name": f"Product {i}", "tag": tag})
                 for i in range(start, min(start + page, rows))]
        with transaction.atomic():
            result = upsert_rows(integration, "records.Product", batch)
            records_written.send(sender=JobRun, job=None, integration=integration, model=Product, result=result,
                                 deleted_ids=[])
    return rows / (time.perf_counter() - started)


def dispatch_rate(org: Organization, kind: str, target: str, conn: str, events: int) -> float:
    dest = Destination.objects.create(organization=org, name=kind, kind=kind, target=target, connection=conn)
    for start in range(0, events, 100):
        with transaction.atomic():
            emit(org.pk, [NewEvent("hub.test", f"agg-{i % 10}", {"message": str(i)})
                          for i in range(start, min(start + 100, events))])
    started = time.perf_counter()
    result = dispatch_all()
    elapsed = time.perf_counter() - started
    assert result["delivered"] == events, result
    dest.delete()
    OutboxEvent.objects.all().delete()
    return events / elapsed


def email_rate(org: Organization, emails: int) -> float:
    from aiosmtpd.controller import Controller

    from notifications.services import deliver, send

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
            Sink.count += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    integ = Integration.objects.create(organization=org, name="smtp", code=f"smtp-{uuid.uuid4().hex[:6]}",
                                       provider="smtp", type="email",
                                       config={"host": "127.0.0.1", "port": port, "from_email": "b@bench.test"})
    try:
        message = send(org, "email", [f"r{i}@example.com" for i in range(emails)],
                       context={"subject": "bench", "body": "bench"}, idempotency_key=uuid.uuid4().hex)
        started = time.perf_counter()
        deliver(message.pk)
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
        integ.delete()
    assert Sink.count == emails, Sink.count
    return emails / elapsed


def line(name: str, values: list[float], unit: str) -> str:
    median = statistics.median(values)
    spread = (max(values) - min(values)) / median if median else 0.0
    return f"{name:<34} {median:>10,.0f} {unit}  (spread {spread:.0%}; runs {', '.join(f'{v:,.0f}' for v in values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--emails", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not settings.IS_POSTGRES or not settings.REDIS_URL:
        print("services_bench needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)", file=sys.stderr)
        return 2
    settings.NOTIFICATIONS_EMAIL_PER_MINUTE = 10**6
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    main_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{main_name}_services_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    figures: dict[str, list[float]] = {k: [] for k in ("with", "without", "redis", "rabbitmq", "email")}
    try:
        org = Organization.objects.create(name="Services bench", slug="services-bench")
        integration = Integration.objects.create(organization=org, name="Bench", code="bench", provider="demo")
        outbox_rows = 0
        sync_pages(integration, args.rows // 10, args.page, "warm-up")
        OutboxEvent.objects.all().delete()
        for r in range(args.repeat):
            # Alternate which variant goes first, so drift on a shared machine does not favour one.
            for variant in (("with", "without") if r % 2 == 0 else ("without", "with")):
                if variant == "with":
                    figures["with"].append(sync_pages(integration, args.rows, args.page, f"w{r}"))
                    outbox_rows = OutboxEvent.objects.count()
                    OutboxEvent.objects.all().delete()
                    continue
                records_written.disconnect(dispatch_uid="events.records_written")
                try:
                    figures["without"].append(sync_pages(integration, args.rows, args.page, f"o{r}"))
                finally:
                    records_written.connect(receivers.on_records_written, dispatch_uid="events.records_written")
            figures["redis"].append(dispatch_rate(org, "redis_stream", f"bench-{uuid.uuid4().hex[:6]}",
                                                  settings.REDIS_URL, args.events))
            figures["rabbitmq"].append(dispatch_rate(org, "rabbitmq", f"bench-{uuid.uuid4().hex[:6]}", RABBIT_URL,
                                                     args.events))
            figures["email"].append(email_rate(org, args.emails))
            print(f"round {r + 1} done ({outbox_rows} outbox rows for {args.rows} records)", flush=True)
        print(line(f"sync pages of {args.page}, with outbox", figures["with"], "rows/s"))
        print(line(f"sync pages of {args.page}, no outbox", figures["without"], "rows/s"))
        cost = 1 - statistics.median(figures["with"]) / statistics.median(figures["without"])
        print(f"{'outbox cost on the write path':<34} {cost:>10.1%}")
        print(line("dispatch to Redis Streams", figures["redis"], "events/s"))
        print(line("dispatch to RabbitMQ (confirms)", figures["rabbitmq"], "events/s"))
        print(line("e-mail via SMTP (aiosmtpd)", figures["email"], "msgs/s"))
    finally:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter("bench-*"):
            client.delete(key)
        connection.creation.destroy_test_db(main_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

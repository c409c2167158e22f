"""iiko: parse + map + upsert of 20,000 products and 50,000 incoming-invoice lines from the sandbox.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_iiko REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python benchmarks/iiko_bench.py [--products 20000] [--invoices 10000] [--lines 5] [--repeat 3]

Starts the iiko sandbox standalone (``python -m sandboxes.iiko.sandbox``) on a free port and works
in a scratch database (``<name>_iiko_bench``, created and dropped here). Per repeat, with the
product and invoice tables emptied first:

- fetch: the HTTP call (the sandbox generating the answer is most of it: information only);
- parse: xmltodict streaming (invoices, XML) / JSON (products), as the streams do;
- map: the connector's mappers (invoices -> Invoice + InvoiceLine rows);
- upsert: ``records.upsert.upsert_rows`` page by page, one commit per page as the runner does.

"records/s" is records written (products; invoices + their lines) over parse + map + upsert.
Then, once, the same pipeline under ``tracemalloc`` for the peak of Python memory (the answer's
bytes included), and one full sync job of each stream through the real runner (HTTP included).
Prints medians of the repeats with their spread (max-min over median: the machine's noise).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from connectors.iiko import IikoConnector, mappers, xmlparse  # noqa: E402
from integrations.models import Integration, Organization  # noqa: E402
from records.upsert import upsert_rows  # noqa: E402
from sandboxes.iiko.dataset import password_for  # noqa: E402
from syncjobs.models import JobStatus  # noqa: E402
from syncjobs.runner import run_job  # noqa: E402
from syncjobs.services import start_sync  # noqa: E402

PAGE = 2000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "sandboxes.iiko.sandbox", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/resto/get_server_info.jsp", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the iiko sandbox did not start")


def pages(rows: list, size: int = PAGE):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class Pipeline:
    """The stream's work, phase by phase, with the same functions the streams call."""

    def __init__(self, connector: IikoConnector, invoice_range: dict[str, str]):
        self.connector = connector
        self.invoice_range = invoice_range
        self.integration = connector.integration
        self.times: dict[str, float] = {}

    def _clock(self, phase: str, fn: Callable):
        start = time.perf_counter()
        out = fn()
        self.times[phase] = self.times.get(phase, 0.0) + time.perf_counter() - start
        return out

    def products(self) -> int:
        c = self.connector
        resp = self._clock("fetch", lambda: c.call("POST", "v2/entities/products/list", action="bench.products",
                                                   data={"includeDeleted": "true", "revisionFrom": -1}))
        raws = self._clock("parse", lambda: xmlparse.parse_json_list(resp))
        rows = self._clock("map", lambda: [mappers.product(r) for r in raws])
        written = 0
        for page in pages(rows):
            with transaction.atomic():
                result = self._clock("upsert", lambda page=page: upsert_rows(self.integration, "records.Product", page))
            written += result.created + result.updated
        return written

    def invoices(self) -> int:
        c = self.connector
        resp = self._clock("fetch", lambda: c.call("GET", "documents/export/incomingInvoice", action="bench.invoices",
                                                   params=self.invoice_range))
        docs = self._clock("parse", lambda: xmlparse.parse_list(resp, "incomingInvoiceDtoes", "document",
                                                                ("item",)))
        tz = __import__("zoneinfo").ZoneInfo("UTC")
        written = 0
        for page in pages(docs, PAGE // 5):
            heads = self._clock("map", lambda page=page: [mappers.incoming_invoice(d, tz, "RUB") for d in page])
            lines = self._clock("map", lambda page=page: [row for d in page for row in mappers.invoice_lines(d)])
            with transaction.atomic():
                a = self._clock("upsert", lambda heads=heads: upsert_rows(self.integration, "records.Invoice", heads))
                b = self._clock("upsert", lambda lines=lines: upsert_rows(self.integration, "records.InvoiceLine",
                                                                          lines))
            written += a.created + a.updated + b.created + b.updated
        return written


def empty_tables() -> None:
    with connection.cursor() as cur:
        cur.execute("TRUNCATE records_invoiceline, records_invoice, records_product CASCADE")


def sync(integration: Integration, streams: list[str]) -> dict[str, tuple[float, int]]:
    out = {}
    for job in start_sync(integration, streams=streams, full=True):
        start = time.perf_counter()
        run_job(job.pk)
        job.refresh_from_db()
        if job.status != JobStatus.COMPLETED:
            raise RuntimeError(f"{job.stream} sync failed: {job.error_message}")
        lines = job.progress.get("extra", {}).get("records.InvoiceLine", {})
        out[job.stream] = (time.perf_counter() - start, job.records_created + job.records_updated
                           + lines.get("created", 0) + lines.get("updated", 0))
    return out


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{(max(values) - min(values)) / med * 100:5.1f}%" if med else "  n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=5, help="lines per invoice")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        print("iiko_bench needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2

    port = free_port()
    sandbox = start_sandbox(port)
    base = f"http://127.0.0.1:{port}"
    login = f"bench-{uuid.uuid4().hex[:8]}"
    sizes = {"restaurants": 30, "stores": 60, "suppliers": 600, "groups": 200, "products": args.products,
             "invoices": args.invoices, "lines": args.lines, "invoice_days": 28}
    control = requests.post(f"{base}/_control", timeout=30, json={"login": login, "password": password_for(login),
                                                                  "action": "set_sizes", "sizes": sizes}).json()
    invoice_range = {"from": control["invoice_start"], "to": "2999-12-31"}

    main_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{main_name}_iiko_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        org = Organization.objects.create(name="iiko bench", slug="iiko-bench")
        integration = Integration.objects.create(
            organization=org, name="iiko", code="iiko", provider="iiko", base_url=base,
            credentials={"login": login, "password": password_for(login)},
            config={"page_size": PAGE, "invoice_window_days": 31, "invoice_history_days": 31})
        sync(integration, ["restaurants", "stores", "suppliers", "product-groups"])  # what invoices refer to
        connector = IikoConnector(integration)
        rounds = []
        for i in range(args.repeat):
            empty_tables()
            pipe = Pipeline(connector, invoice_range)
            products = pipe.products()
            product_times = dict(pipe.times)
            pipe.times.clear()
            invoices = pipe.invoices()
            rounds.append({"products": (products, product_times), "invoices": (invoices, dict(pipe.times))})
            work = {k: n / sum(t for p, t in times.items() if p != "fetch") for k, (n, times) in rounds[-1].items()}
            print(f"round {i + 1}: products {products:,} rows {work['products']:,.0f}/s, "
                  f"invoices+lines {invoices:,} rows {work['invoices']:,.0f}/s", flush=True)

        empty_tables()
        pipe = Pipeline(connector, invoice_range)
        peaks = {}
        for name, fn in (("products", pipe.products), ("invoices", pipe.invoices)):
            tracemalloc.start()
            fn()
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        empty_tables()
        jobs = sync(integration, ["products", "invoices"])
        connector.http.release()
    finally:
        connection.creation.destroy_test_db(main_name, verbosity=0)
        sandbox.terminate()
        sandbox.wait(10)

    print(f"\n{'stream':<10} {'phase':<8} {'median s':>9} {'spread':>7}   runs (s)")
    for name in ("products", "invoices"):
        for phase in ("fetch", "parse", "map", "upsert"):
            runs = [r[name][1].get(phase, 0.0) for r in rounds]
            print(f"{name:<10} {phase:<8} {statistics.median(runs):9.2f} {spread(runs)}   "
                  + ", ".join(f"{v:.2f}" for v in runs))
    print(f"\n{'stream':<10} {'records':>8} {'records/s (parse+map+upsert)':>30} {'spread':>7} {'peak MiB':>9}")
    for name in ("products", "invoices"):
        rates = [r[name][0] / sum(t for p, t in r[name][1].items() if p != "fetch") for r in rounds]
        print(f"{name:<10} {rounds[0][name][0]:>8,} {statistics.median(rates):>30,.0f} {spread(rates)} "
              f"{peaks[name] / 2**20:>9.1f}")
    print("\nfull sync jobs through the runner (HTTP and sandbox generation included):")
    for stream, (seconds, written) in jobs.items():
        print(f"  {stream:<10} {written:>8,} records in {seconds:6.2f} s = {written / seconds:,.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The generic REST connector's records/s beside the KiotViet connector's, same record count, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_rb REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python benchmarks/rest_bench.py [--records 10000] [--repeat 3]

Works in a scratch database (``<name>_rest_bench``, created and dropped here). Starts both sandboxes
standalone (``python -m sandboxes.rest.sandbox``, ``python -m sandboxes.kiotviet.sandbox``) and one
real Celery worker (``--pool solo``), then, ``--repeat`` times and alternating, a full sync of
``--records`` products on a fresh integration of each connector:

- generic REST: streams categories (page number) + products (cursor from the body, 500 a page), the
  demo seed's product mapping (every transform, a category reference by external id);
- KiotViet: streams categories + products (its own mappers, 100 a page as KiotViet allows, the product
  relations it writes on the way, one branch).

Records/s is the products job's records written over its duration (claim to completion, as the job
row records it); the wall time from the request to the last job's end is printed beside it. Medians
and the spread (min-max) of the repetitions; no target, the figures are for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks.kiotviet_bench import ROOT, Sandbox, Worker, env_for, wait_port  # noqa: E402 - sets Django up
from connectors.registry import get_connector_class  # noqa: E402
from connectors.rest import seed  # noqa: E402
from integrations.models import Integration, Organization  # noqa: E402
from sandboxes.kiotviet.dataset import client_secret_for  # noqa: E402
from syncjobs.models import SyncJob  # noqa: E402
from syncjobs.services import start_sync  # noqa: E402

STREAMS = ["categories", "products"]
KV_SIZES = {"customers": 0, "users": 0, "suppliers": 0, "orders": 0, "invoices": 0, "returns": 0,
            "purchaseorders": 0, "transfers": 0, "cashflow": 0, "categories": 20, "pricebooks": 1, "branches": 1}


class RestSandbox:
    def __init__(self, port: int, env: dict[str, str], log):
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "sandboxes.rest.sandbox", "--port", str(port)],
                                     cwd=ROOT, env={**env, "DEBUG": "true"}, stdout=log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(port)

    def control(self, account: str, action: str, **body) -> dict:
        resp = requests.post(f"{self.base}/_control", json={"account": account, "action": action, **body}, timeout=60)
        resp.raise_for_status()
        return resp.json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def rest_integration(org: Organization, sandbox: RestSandbox, n: int, run: int) -> Integration:
    account = f"bench{run}"
    sandbox.control(account, "reset")
    sandbox.control(account, "sizes", sizes={"items": n, "categories": 20})
    config = seed.config("")
    config["auth"] = {"type": "oauth2", "token_url": f"{sandbox.base}/oauth/token", "client_id": account}
    config["streams"] = [s for s in config["streams"] if s["name"] in STREAMS]
    config["field_mappings"] = {k: v for k, v in config["field_mappings"].items() if k in STREAMS}
    config = get_connector_class("rest").validate_config(config)
    return Integration.objects.create(organization=org, name=f"rest {run}", code=f"rest-{run}", provider="rest",
                                      base_url=sandbox.base, config=config,
                                      credentials={"client_secret": f"{account}-secret"})


def kv_integration(org: Organization, sandbox: Sandbox, n: int, run: int) -> Integration:
    retailer = f"rbench{run}"
    client_id = f"bench-{retailer}"
    integration = Integration.objects.create(
        organization=org, name=retailer, code=retailer, provider="kiotviet", base_url=sandbox.base,
        credentials={"client_id": client_id, "client_secret": client_secret_for(client_id), "retailer": retailer},
        config={"token_url": f"{sandbox.base}/connect/token", "page_size": 100, "pages_per_batch": 10})
    sandbox.control(integration, "reset")
    sandbox.control(integration, "set_sizes", sizes={**KV_SIZES, "products": n})
    return integration


def sync(integration: Integration, timeout: float = 1800) -> tuple[float, SyncJob]:
    started = time.perf_counter()
    ids = [j.pk for j in start_sync(integration, streams=STREAMS, full=True, trigger="manual")]
    deadline = time.monotonic() + timeout
    while SyncJob.objects.filter(pk__in=ids, status__in=["completed", "failed", "cancelled"]).count() < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit("sync did not finish in time")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    jobs = {j.stream: j for j in SyncJob.objects.filter(pk__in=ids)}
    bad = [(s, j.status, j.error_message, j.records_failed) for s, j in jobs.items()
           if j.status != "completed" or j.records_failed]
    if bad:
        raise SystemExit(f"{integration.provider} sync failed: {bad}")
    return elapsed, jobs["products"]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):,.0f} (min {min(values):,.0f}, max {max(values):,.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    if not settings.IS_POSTGRES or not settings.REDIS_URL:
        print("rest_bench needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)", file=sys.stderr)
        return 2
    main_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{main_name}_rest_bench"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    logs = ROOT / "var" / "rest_bench"
    logs.mkdir(parents=True, exist_ok=True)
    env = env_for(test_name)
    rest_sb = RestSandbox(args.port, env, logs / "rest-sandbox.log")
    kv_sb = Sandbox(args.port + 1, env, logs / "kv-sandbox.log")
    worker = Worker(env, logs / "worker.log")
    rates: dict[str, list[float]] = {"rest": [], "kiotviet": []}
    walls: dict[str, list[float]] = {"rest": [], "kiotviet": []}
    try:
        org = Organization.objects.create(name="REST bench", slug="rest-bench")
        for run in range(1, args.repeat + 1):
            for label in ("rest", "kiotviet"):
                integration = (rest_integration(org, rest_sb, args.records, run) if label == "rest"
                               else kv_integration(org, kv_sb, args.records, run))
                cpu_before = worker.cpu_seconds()
                wall, job = sync(integration)
                cpu = worker.cpu_seconds() - cpu_before
                seconds = (job.completed_at - job.started_at).total_seconds()
                written = job.records_created + job.records_updated
                if written != args.records:
                    raise SystemExit(f"{label}: wrote {written} products, expected {args.records}")
                rates[label].append(written / seconds)
                walls[label].append(wall)
                print(f"run {run} {label:<8}: products job {seconds:.1f} s = {written / seconds:,.0f} records/s; "
                      f"wall (categories + products) {wall:.1f} s; worker CPU {cpu:.1f} s", flush=True)
    finally:
        worker.stop()
        rest_sb.stop()
        kv_sb.stop()
        connection.creation.destroy_test_db(main_name, verbosity=0)
    print(f"\n{args.records:,} products, {args.repeat} runs each, alternating:")
    for label in ("rest", "kiotviet"):
        w = walls[label]
        print(f"  {label:<8} records/s {summary(rates[label])}; wall s "
              f"median {statistics.median(w):.1f} (min {min(w):.1f}, max {max(w):.1f})")
    ratio = statistics.median(rates["rest"]) / statistics.median(rates["kiotviet"])
    print(f"  generic REST / KiotViet (medians): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

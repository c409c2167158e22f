"""Webhook receive -> processed latency, idle and under four concurrent big syncs, per worker shape.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_bench REDIS_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python benchmarks/webhook_latency_bench.py [--repeat 3] [--window 20] [--products 20000] \
        [--shapes split,single]

Works in a scratch database (``<name>_latency_bench``, created, migrated and dropped here). Starts
gunicorn (the hub, with the Demo Store sandbox it serves) and the Celery workers of a shape:

- ``split`` (what docker-compose and runhub ship): ``-Q webhooks,default -c 2`` and ``-Q sync -c 2``;
- ``single`` (the old shape): one worker ``-Q default,sync,webhooks -c 4``.

Per repeat: an idle window, then a loaded window while four organizations each run a full sync of a
Demo Store account with ``--products`` products (fresh accounts each repeat, so every row is an
insert). During a window one client sends signed webhooks at ``--rate`` per second to a generic
receiver; the latency of each is ``processed_at - received_at`` from the database (every event must
be processed; the bench waits for them). Prints p50/p95 per window, medians of the repeats with their
spread, and checks the target: loaded p95 within 2x the idle p95 for the ``split`` shape. Exit 1 if
missed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
SECRET = "latency-bench-secret"
TARGET_P95_RATIO = 2.0
SHAPES = {
    "split": [("webhooks", "webhooks,default", 2), ("sync", "sync", 2)],
    "single": [("all", "default,sync,webhooks", 4)],
}

from benchmarks.webhook_bench import admin_sql, child_env, wait_http  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def start_workers(shape: str, env: dict[str, str], logdir: Path) -> list[subprocess.Popen]:
    procs = []
    for name, queues, concurrency in SHAPES[shape]:
        log = (logdir / f"{shape}-{name}.log").open("w")
        procs.append(subprocess.Popen(  # noqa: S603
            [PY, "-m", "celery", "-A", "config", "worker", "-n", f"{name}@%h", "-Q", queues, "-c", str(concurrency),
             "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:  # noqa: C901, PLR0915 - one linear script
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--window", type=float, default=20, help="seconds of webhooks per window")
    ap.add_argument("--rate", type=float, default=5, help="webhooks per second during a window")
    ap.add_argument("--products", type=int, default=20000, help="products per Demo Store account")
    ap.add_argument("--syncs", type=int, default=4, help="concurrent full syncs (one organization each)")
    ap.add_argument("--shapes", default="split,single")
    ap.add_argument("--port", type=int, default=8766)
    args = ap.parse_args()

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        print("DATABASE_URL=postgres://... and REDIS_URL=redis://... are required", file=sys.stderr)
        return 2
    parts = urlsplit(base_url)
    db_url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_latency_bench"))
    db_name = urlsplit(db_url).path.lstrip("/")
    admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    admin_sql(base_url, f'CREATE DATABASE "{db_name}"')
    env = {**child_env(db_url), "SANDBOXES_ENABLED": "true", "SANDBOX_CONTROL_ENABLED": "true", "LOG_LEVEL": "WARNING"}
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    import redis
    import requests
    from django.conf import settings

    from integrations.models import Integration, Organization
    from sandboxes.demo.dataset import credentials_for
    from syncjobs.models import ACTIVE_STATUSES, JobStatus, SyncJob
    from syncjobs.services import cancel_job, start_sync
    from webhooks.models import EventStatus, WebhookEvent

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("default", "sync", "webhooks", "unacked",
                                                            "unacked_index")
    stamp = int(time.time())
    receiver_org = Organization.objects.create(name="Latency receiver", slug=f"lat-recv-{stamp}")
    receiver = Integration.objects.create(
        organization=receiver_org, name="Receiver", code="recv", type="webhook", provider="webhook",
        webhook_secret=SECRET, config={"signature_scheme": "hmac-sha256-hex", "signature_header": "X-Signature"},
    )
    logdir = Path(tempfile.mkdtemp(prefix="webhook-latency-bench-"))  # worker and gunicorn logs, kept
    url = f"http://127.0.0.1:{args.port}"
    web = subprocess.Popen(  # noqa: S603
        [PY, "-m", "gunicorn", "config.wsgi:application", "-w", "4", "-b", f"127.0.0.1:{args.port}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=(logdir / "gunicorn.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    receive_url = f"{url}/api/webhooks/receive/{receiver.webhook_key}"

    def window(label: str) -> dict:
        """Send webhooks for args.window seconds; wait until each is processed; latency figures."""
        ids: list[int] = []
        session = requests.Session()
        interval = 1 / args.rate
        next_at = time.monotonic()
        end = next_at + args.window
        while next_at < end:
            body = json.dumps({"id": uuid.uuid4().hex, "type": "bench.ping"}).encode()
            sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            r = session.post(receive_url, data=body, timeout=10,
                             headers={"X-Signature": sig, "Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            ids.append(r.json()["id"])
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        deadline = time.monotonic() + 600
        events = WebhookEvent.objects.filter(pk__in=ids)
        while events.filter(status=EventStatus.COMPLETED).count() < len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: events not processed within 600 s")
            time.sleep(0.5)
        lat = [(p - r).total_seconds() * 1000 for r, p in events.values_list("received_at", "processed_at")]
        return {"n": len(lat), "p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95), "max": max(lat)}

    def start_big_syncs(run: str) -> list[Integration]:
        integrations = []
        for i in range(args.syncs):
            org = Organization.objects.create(name=f"Tenant {run}-{i}", slug=f"lat-{stamp}-{run}-{i}")
            client_id = f"lat-{stamp}-{run}-{i}"  # a fresh account: every row of the sync is an insert
            box = f"{url}/sandbox/demo"
            creds = credentials_for(client_id)
            resp = requests.post(f"{box}/_control", timeout=30, json={
                "action": "set_sizes", **creds,
                "sizes": {"locations": 5, "categories": 50, "products": args.products, "customers": 2000,
                          "orders": 2000}})
            resp.raise_for_status()
            integ = Integration.objects.create(
                organization=org, name=f"Demo {i}", code=f"demo-{i}", provider="demo", base_url=box,
                credentials=creds, config={"page_size": 100, "price_list": "retail"})
            start_sync(integ, full=True)
            integrations.append(integ)
        return integrations

    def stop_syncs(integrations: list[Integration]) -> None:
        for job in SyncJob.objects.filter(integration__in=integrations, status__in=ACTIVE_STATUSES):
            try:
                cancel_job(job)
            except Exception:  # noqa: BLE001, S112 - it finished meanwhile
                continue
        deadline = time.monotonic() + 300
        while SyncJob.objects.filter(status=JobStatus.RUNNING).exists() and time.monotonic() < deadline:
            time.sleep(0.5)

    results: dict[str, dict[str, list[dict]]] = {}
    try:
        wait_http(f"{url}/healthz")
        for shape in [s.strip() for s in args.shapes.split(",") if s.strip()]:
            slots = sum(c for name, q, c in SHAPES[shape] if "sync" in q)
            workers = start_workers(shape, env, logdir)
            time.sleep(8)  # workers connected
            results[shape] = {"idle": [], "loaded": []}
            try:
                window(f"{shape} warm-up")
                for r in range(args.repeat):
                    idle = window(f"{shape} idle {r + 1}")
                    results[shape]["idle"].append(idle)
                    integrations = start_big_syncs(f"{shape}-{r}")
                    t0 = time.monotonic()
                    while (SyncJob.objects.filter(integration__in=integrations, status=JobStatus.RUNNING).count()
                           < min(slots, args.syncs)) and time.monotonic() - t0 < 60:
                        time.sleep(0.2)
                    running = SyncJob.objects.filter(integration__in=integrations, status=JobStatus.RUNNING).count()
                    loaded = window(f"{shape} loaded {r + 1}")
                    loaded["running_syncs"] = running
                    results[shape]["loaded"].append(loaded)
                    rows = sum(SyncJob.objects.filter(integration__in=integrations).values_list(
                        "records_processed", flat=True))
                    stop_syncs(integrations)
                    print(f"  {shape:6s} run {r + 1}: idle p50 {idle['p50']:7.0f} ms p95 {idle['p95']:7.0f} ms | "
                          f"{args.syncs} syncs requested, {running} running at the start of the window, "
                          f"{rows} records synced: p50 {loaded['p50']:7.0f} ms p95 {loaded['p95']:7.0f} ms "
                          f"max {loaded['max']:7.0f} ms  ({loaded['n']} webhooks)", flush=True)
            finally:
                stop(workers)
    finally:
        stop([web])
        from django.db import connections

        connections.close_all()
        admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def spread(values: list[float]) -> str:
        return f"{100 * (max(values) - min(values)) / max(1e-9, med(values)):.0f}%"

    print(f"\nwebhook receive -> processed, {args.rate:g}/s for {args.window:g} s per window, {args.repeat} runs "
          f"(median, spread = (max-min)/median):")
    print(f"{'shape':8s} {'phase':7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p95 spread':>11s}   runs p95 (ms)")
    ok = True
    for shape, phases in results.items():
        for phase, runs in phases.items():
            p95s = [r["p95"] for r in runs]
            print(f"{shape:8s} {phase:7s} {med([r['p50'] for r in runs]):8.0f} {med(p95s):8.0f} "
                  f"{spread(p95s):>11s}   {', '.join(f'{v:.0f}' for v in p95s)}")
        ratio = med([r["p95"] for r in phases["loaded"]]) / max(1.0, med([r["p95"] for r in phases["idle"]]))
        if shape == "split":
            passed = ratio <= TARGET_P95_RATIO
            ok &= passed
            print(f"{shape}: loaded p95 / idle p95 = {ratio:.2f}x (target <= {TARGET_P95_RATIO:g}x)  "
                  f"{'PASS' if passed else 'FAIL'}")
        else:
            print(f"{shape}: loaded p95 / idle p95 = {ratio:.2f}x (information: the old shape)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Webhook receive throughput under gunicorn, beside a bare HMAC-checking Django view, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_bench REDIS_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python benchmarks/webhook_bench.py [--duration 10] [--repeat 3] [--workers 4]

Works in a scratch database (``<name>_webhook_bench``, created, migrated and dropped here). Starts
gunicorn (sync workers, loopback, persistent DB connections as configured) with
``benchmarks.webhook_settings``, which mounts the hub plus ``/bench/baseline``: a view that reads
the body and checks an HMAC-SHA256, nothing else. A throwaway organization gets a generic
``webhook`` integration (hmac-sha256-hex, same secret). ``wrk`` (second process, loopback) posts
pre-signed JSON bodies with unique ids to both, alternating, ``--repeat`` times; each run reads a
fresh file of signed requests so nothing dedupes. Without ``wrk`` a Python load generator is used.

Prints req/s and p99 (medians of the repeats, with their spread), the ratio to the baseline, and
checks that stored events == 2xx answers and that processing was queued: afterwards a Celery
worker drains everything with no sweep (``--no-drain`` skips it), and its rate is printed too.
Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
SECRET = "bench-webhook-secret"  # the baseline view's secret (webhook_urls.BASELINE_SECRET) and the integration's
TARGET_RATIO, TARGET_P99_MS = 0.35, 25.0

LUA = r"""
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  f = assert(io.open(args[1] .. tid .. ".txt", "r"))
  target = args[2]
end
function request()
  local line = f:read("*l")
  if line == nil then f:seek("set", 0); line = f:read("*l") end  -- exhausted: repeats show up as duplicates
  local tab = line:find("\t", 1, true)
  return wrk.format("POST", target, {["X-Signature"] = line:sub(1, tab - 1),
    ["Content-Type"] = "application/json"}, line:sub(tab + 1))
end
"""


# --- environment -------------------------------------------------------------------------------
def scratch_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_webhook_bench"))


def admin_sql(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def child_env(db_url: str, settings_module: str = "config.settings") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE=settings_module,
        SECRET_KEY=env.get("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789"),
        DEBUG="false",  # DEBUG keeps every query in memory: never benchmark with it
        TESTING="false",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        PYTHONWARNINGS="ignore::UserWarning",
        DB_CONN_MAX_AGE="3600",  # persistent connections for the whole run
    )
    return env


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL we started
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


# --- where the CPU goes ----------------------------------------------------------------------------
def cpu_seconds(db_name: str) -> dict[str, float]:
    """utime+stime of the processes taking part (Linux /proc): web, database, redis, load generator."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"web": 0.0, "postgres": 0.0, "redis": 0.0, "load": 0.0}  # load: from rusage, once it exited
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if "gunicorn" in cmd:
            totals["web"] += used
        elif cmd.startswith("postgres:") and db_name in cmd and "autovacuum" not in cmd:
            totals["postgres"] += used
        elif "redis-server" in cmd:
            totals["redis"] += used
        elif cmd.startswith("wrk") or "_pyload.py" in cmd:
            totals["load"] += used
    return totals


# --- load ----------------------------------------------------------------------------------------
def write_requests(directory: Path, run: str, threads: int, per_thread: int) -> str:
    """Per wrk thread, a file of "<hex signature>\\t<body>" lines with unique event ids."""
    prefix = str(directory / f"{run}-")
    key = SECRET.encode()
    for t in range(threads):
        with open(f"{prefix}{t}.txt", "w") as fh:
            for i in range(per_thread):
                body = json.dumps({
                    "id": f"evt_{run}_{t}_{i}", "type": "order.created",
                    "data": {"order_id": f"SO-{t}-{i}", "total": 125000 + i, "currency": "VND",
                             "customer": {"name": "Nguyen Van A", "phone": "0901234567"}},
                }, separators=(",", ":"))
                sig = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
                fh.write(f"{sig}\t{body}\n")
    return prefix


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(out: str) -> dict:
    def num(pattern: str, default: float = 0) -> float:
        m = re.search(pattern, out)
        return float(m.group(1)) if m else default

    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    requests = int(num(r"(\d+) requests in"))
    non2xx = int(num(r"Non-2xx or 3xx responses: (\d+)"))
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "rps": num(r"Requests/sec:\s+([\d.]+)"),
        "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)] if p99 else float("nan"),
        "requests": requests,
        "ok": requests - non2xx,
        "non2xx": non2xx,
        "socket_errors": errors,
    }


def run_wrk(url: str, path: str, prefix: str, threads: int, connections: int, duration: float, lua: Path) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency", "--timeout", "5s",
           "-s", str(lua), url, "--", prefix, path]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def run_python_load(url: str, path: str, prefix: str, threads: int, connections: int, duration: float) -> dict:
    """Fallback without wrk: ``threads`` processes, each with connections/threads client threads."""
    script = ROOT / "benchmarks" / "_pyload.py"
    procs = [subprocess.Popen([PY, str(script), url, path, f"{prefix}{t}.txt", str(max(1, connections // threads)),
                               str(duration)], stdout=subprocess.PIPE, text=True) for t in range(threads)]
    results = [json.loads(p.communicate()[0]) for p in procs]
    latencies = sorted(x for r in results for x in r["latencies_ms"])
    requests = sum(r["requests"] for r in results)
    ok = sum(r["ok"] for r in results)
    return {
        "rps": requests / duration,
        "p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "requests": requests, "ok": ok, "non2xx": requests - ok, "socket_errors": sum(r["errors"] for r in results),
    }


# --- the benchmark -------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    ap.add_argument("--threads", type=int, default=2, help="load generator threads")
    # A sync worker serves one request at a time. Two connections per worker keep each one busy while
    # the other's client reconnects; more would only queue requests in the listen backlog (Little's
    # law: latency = concurrency / throughput) and trade p99 for nothing.
    ap.add_argument("--connections", type=int, default=0, help="default: two per gunicorn worker")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--no-drain", action="store_true", help="skip the worker drain phase")
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()
    args.connections = args.connections or 2 * args.workers

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        print("DATABASE_URL=postgres://... is required", file=sys.stderr)
        return 2
    if not os.environ.get("REDIS_URL"):
        print("REDIS_URL=redis://... is required (broker and kick coordination)", file=sys.stderr)
        return 2
    use_wrk = shutil.which("wrk") is not None
    db_url = scratch_url(base_url)
    db_name = urlsplit(db_url).path.lstrip("/")
    admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    admin_sql(base_url, f'CREATE DATABASE "{db_name}"')
    env = child_env(db_url)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    os.environ.update(env)
    import django

    django.setup()
    import redis
    from django.conf import settings

    from integrations.models import Integration, Organization
    from webhooks.models import EventStatus, WebhookEvent
    from webhooks.queue import KICK_KEY

    org = Organization.objects.create(name="Webhook bench", slug=f"wh-bench-{int(time.time())}")
    integration = Integration.objects.create(
        organization=org, name="Bench receiver", code="bench", type="webhook", provider="webhook",
        webhook_secret=SECRET, config={"signature_scheme": "hmac-sha256-hex", "signature_header": "X-Signature"},
    )
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("webhooks", KICK_KEY)

    tmp = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    lua = tmp / "signed.lua"
    lua.write_text(LUA)
    gunicorn = subprocess.Popen(
        [PY, "-m", "gunicorn", "config.wsgi:application", "-k", "sync", "-w", str(args.workers),
         "-b", f"127.0.0.1:{args.port}", "--log-level", "warning", "--backlog", "2048"],
        cwd=ROOT, env=child_env(db_url, "benchmarks.webhook_settings"), start_new_session=True,
    )
    worker = None
    try:
        url = f"http://127.0.0.1:{args.port}"
        wait_http(f"{url}/healthz")
        targets = {"baseline": "/bench/baseline", "receive": f"/api/webhooks/receive/{integration.webhook_key}"}
        # Enough unique requests per thread for the fastest rate we might see, with margin.
        per_thread = int(12_000 * args.duration / args.threads) + 1000

        def load(name: str, run: str, duration: float) -> dict:
            prefix = write_requests(tmp, run, args.threads, per_thread)
            if use_wrk:
                result = run_wrk(url, targets[name], prefix, args.threads, args.connections, duration, lua)
            else:
                result = run_python_load(url, targets[name], prefix, args.threads, args.connections, duration)
            for t in range(args.threads):
                Path(f"{prefix}{t}.txt").unlink()
            return result

        for name in targets:  # warm-up: imports, caches, connections
            load(name, f"warm-{name}", 2)
        results: dict[str, list[dict]] = {name: [] for name in targets}
        for r in range(args.repeat):
            for name in targets:
                before = WebhookEvent.objects.filter(integration=integration).count()
                cpu_before = cpu_seconds(db_name)
                children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                res = load(name, f"r{r}-{name}", args.duration)
                time.sleep(0.5)  # requests wrk left in flight finish their INSERT before we count
                cpu = {k: v - cpu_before[k] for k, v in cpu_seconds(db_name).items()}
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu["load"] = (children.ru_utime + children.ru_stime) - (
                    children_before.ru_utime + children_before.ru_stime)
                res["stored"] = WebhookEvent.objects.filter(integration=integration).count() - before
                res["cpu_ms"] = {k: 1000 * v / max(1, res["requests"]) for k, v in cpu.items()}
                results[name].append(res)
                print(f"  run {r + 1} {name:8s} {res['rps']:8.0f} req/s  p99 {res['p99_ms']:6.1f} ms  "
                      f"2xx {res['ok']}  non-2xx {res['non2xx']}  socket errors {res['socket_errors']}"
                      + (f"  stored {res['stored']}" if name == "receive" else ""), flush=True)
                print("      CPU ms/request: " + "  ".join(f"{k} {v:.2f}" for k, v in res["cpu_ms"].items()))
        # wrk stops with requests in flight: stored but never answered to wrk. The Python generator
        # finishes every request it starts, so here stored must equal 2xx exactly.
        before = WebhookEvent.objects.filter(integration=integration).count()
        prefix = write_requests(tmp, "exact", args.threads, 20_000)
        exact = run_python_load(url, targets["receive"], prefix, args.threads, args.connections, 3)
        time.sleep(0.5)
        exact["stored"] = WebhookEvent.objects.filter(integration=integration).count() - before
        time.sleep(1)  # let the last kick timer fire
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(30)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    def spread(name: str, key: str) -> float:
        values = [r[key] for r in results[name]]
        return (max(values) - min(values)) / statistics.median(values) if statistics.median(values) else 0.0

    base_rps, recv_rps = med("baseline", "rps"), med("receive", "rps")
    ratio = recv_rps / base_rps if base_rps else 0.0
    p99 = med("receive", "p99_ms")
    # Under wrk: never fewer stored than answered 2xx (a lost event); at most one in flight per connection more.
    consistent = all(0 <= r["stored"] - r["ok"] <= args.connections for r in results["receive"])
    exact_ok = exact["stored"] == exact["ok"] and exact["non2xx"] == 0
    queued = broker.llen("webhooks")
    pending = WebhookEvent.objects.filter(integration=integration, status=EventStatus.PENDING).count()

    print(f"\nWebhook receive (gunicorn {args.workers} sync workers, {args.connections} connections, "
          f"{'wrk' if use_wrk else 'python load'}, {args.duration:g}s x {args.repeat}, medians):")
    print(f"  baseline (HMAC only)  {base_rps:8.0f} req/s  p99 {med('baseline', 'p99_ms'):6.1f} ms  "
          f"spread {spread('baseline', 'rps'):.0%}")
    print(f"  receive (store+queue) {recv_rps:8.0f} req/s  p99 {p99:6.1f} ms  spread {spread('receive', 'rps'):.0%}")
    print(f"  ratio {ratio:.2f} (target >= {TARGET_RATIO})  p99 {p99:.1f} ms (target <= {TARGET_P99_MS:g})")
    print(f"  wrk runs: stored - 2xx within [0, {args.connections}] (in flight at cut-off): {consistent} "
          f"({', '.join(str(r['stored'] - r['ok']) for r in results['receive'])})")
    print(f"  exact check (every request finished): {exact['ok']} answered 2xx, {exact['stored']} stored, "
          f"{exact['non2xx']} other, {exact['socket_errors']} socket errors: {exact_ok}")
    print(f"  pending after load: {pending}; drain tasks waiting in the broker: {queued}")

    drained_ok = True
    if not args.no_drain and pending:
        worker = subprocess.Popen(
            [PY, "-m", "celery", "-A", "config", "worker", "-Q", "webhooks", "-c", "2", "-l", "warning",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, start_new_session=True,
        )
        started, deadline = time.monotonic(), time.monotonic() + 120
        left = pending
        while left and time.monotonic() < deadline:
            time.sleep(1)
            left = WebhookEvent.objects.filter(integration=integration, status=EventStatus.PENDING).count()
        elapsed = time.monotonic() - started
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        done = pending - left
        drained_ok = left == 0
        print(f"  drain (1 worker, 2 processes, no sweep): {done} events in {elapsed:.0f}s incl. start-up "
              f"= {done / elapsed:.0f} events/s; left pending: {left}")

    shutil.rmtree(tmp, ignore_errors=True)
    from django.db import connections

    connections.close_all()
    if not args.keep_db:
        admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    ok = ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and consistent and exact_ok and drained_ok and queued > 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

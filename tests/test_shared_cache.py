"""On the embedded defaults (no REDIS_URL) the cache is one store every process of the hub shares.

`runhub` serves web with several gunicorn processes beside a worker: a sandbox login stored by one
process must be seen by the next, a lock taken by one must hold in all, counters and the per-integration
rate budget must count every process's requests. Each check runs real separate processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def _embedded_env(cache_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    env.update(TESTING="false", DEBUG="true", HUB_VAR_DIR=str(cache_dir.parent), HUB_CACHE_DIR=str(cache_dir))
    return env


def _spawn(cache_dir, code: str) -> subprocess.Popen:
    script = "import django, json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); " \
             "django.setup()\n" + code
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=_embedded_env(cache_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_all(cache_dir, codes: list[str]) -> list:
    procs = [_spawn(cache_dir, code) for code in codes]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


def test_the_embedded_cache_is_shared_and_its_add_and_incr_are_atomic_across_processes(tmp_path):
    cache_dir = tmp_path / "cache"
    (backend,) = _run_all(cache_dir, ["from django.conf import settings; from django.core.cache import cache\n"
                                      "cache.set('login', 'token-1', 60)\n"
                                      "print(json.dumps(settings.CACHES['default']['BACKEND']))"])
    assert backend != "django.core.cache.backends.locmem.LocMemCache"
    (seen,) = _run_all(cache_dir, ["from django.core.cache import cache; print(json.dumps(cache.get('login')))"])
    assert seen == "token-1"  # what one process stored, the next one reads (the iiko sandbox's login)

    # Four processes race for one lock (start together, then all try): exactly one wins.
    race = ("import time; from django.core.cache import cache\n"
            "time.sleep(max(0, {at} - time.time()))\n"
            "print(json.dumps(cache.add('the-lock', os.getpid(), 60)))")
    import time

    at = time.time() + 3
    assert sorted(_run_all(cache_dir, [race.format(at=at)] * 4)) == [False, False, False, True]

    # Four processes count 100 requests each: none is lost.
    count = ("from sandboxes.state import SandboxStore\n"
             "store = SandboxStore('t', lambda account: {})\n"
             "print(json.dumps([store.count('acct', 'requests') for _ in range(100)][-1]))")
    _run_all(cache_dir, [count] * 4)
    (total,) = _run_all(cache_dir, ["from sandboxes.state import SandboxStore\n"
                                    "print(json.dumps(SandboxStore('t', lambda a: {}).counter('acct', 'requests')))"])
    assert total == 400


def test_the_rate_budget_without_redis_is_shared_by_every_process(tmp_path):
    cache_dir = tmp_path / "cache"
    spend = ("from connectors import ratelimit\n"
             "print(json.dumps([ratelimit.acquire('integration:7', (5, 60.0)) for _ in range(5)]))")
    assert _run_all(cache_dir, [spend]) == [[0.0] * 5]
    # Another process (another gunicorn or Celery worker) finds the budget spent, not a fresh one.
    again = ("from connectors import ratelimit\nfrom connectors.errors import RateLimitedError\n"
             "try:\n    ratelimit.acquire('integration:7', (5, 60.0), max_wait=0.5)\n    print(json.dumps(None))\n"
             "except RateLimitedError as exc:\n    print(json.dumps(exc.retry_after))")
    (retry_after,) = _run_all(cache_dir, [again])
    assert retry_after is not None and 5 < retry_after <= 12


def test_sandboxes_served_by_several_processes_lose_no_update(tmp_path):
    """The Stripe sandbox's account state and an SMS sandbox's outbox are read-modify-writes: several
    gunicorn processes serve them at once, so each update holds the shared cache lock."""
    import time

    cache_dir = tmp_path / "cache"
    at = time.time() + 4
    stripe = ("import time; from django.test import RequestFactory; from connectors.stripe import sandbox\n"
              f"time.sleep(max(0, {at} - time.time())); rf = RequestFactory()\n"
              "codes = [sandbox.payment_intents(rf.post('/sandbox/stripe/v1/payment_intents', "
              "data='amount=100&currency=usd', content_type='application/x-www-form-urlencoded', "
              "HTTP_AUTHORIZATION='Bearer sk_test_shared')).status_code for _ in range(25)]\n"
              "print(json.dumps(codes))")
    outbox = ("import time; from notifications import sandbox_kit\n"
              f"time.sleep(max(0, {at} - time.time()))\n"
              "print(json.dumps([sandbox_kit.record('twilio', 'AC1', {'to': '+447911123456'}) for _ in range(25)]))")
    results = _run_all(cache_dir, [stripe] * 3 + [outbox] * 3)
    assert all(code == 200 for codes in results[:3] for code in codes)
    (intents, messages) = _run_all(cache_dir, [
        "import hashlib; from connectors.stripe import sandbox\n"
        "print(json.dumps(len(sandbox._load(hashlib.sha256(b'sk_test_shared').hexdigest()[:24])['intents'])))",
        "from notifications import sandbox_kit; print(json.dumps(len(sandbox_kit.outbox('twilio', 'AC1'))))"])
    assert (intents, messages) == (75, 75)

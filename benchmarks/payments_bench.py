"""Payme and Click callback throughput: whole payments per second through the real views, in process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_pay .venv/bin/python benchmarks/payments_bench.py \
        [--payments 300] [--repeat 3]

Works in a scratch database (``<name>_payments_bench``, created and dropped here). Per repeat it opens
``--payments`` payments per gateway and pays each as the gateway would: Payme CheckPerformTransaction +
CreateTransaction + PerformTransaction (3 calls), Click Prepare + Complete (2 calls), each call stored,
locked, answered and logged. Baseline in the same run: the Payme endpoint answering CheckTransaction for an
unknown id (store + auth + one lookup + answer), the floor of any call. Prints medians of 3 with the spread.
No target: the figures say how many payments a second one process sustains (the gateways call one at a time
per payment, so this is ample); a drop in a later run flags a regression.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-not-for-production-0123456789")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from connectors.click.gateway import sign  # noqa: E402
from connectors.payme.gateway import now_ms  # noqa: E402
from integrations.models import Integration, Organization  # noqa: E402
from payments import services  # noqa: E402

KEY, SECRET = "bench-payme-key", "bench-click-secret"


def payme_round(client: Client, payme: Integration, n: int, tag: str) -> float:
    for i in range(n):
        services.create_payment(payme.organization, [payme], amount=10_000, currency="UZS", reference=f"P{tag}-{i}")
    url = f"/api/payments/payme/{payme.webhook_key}"
    auth = "Basic " + base64.b64encode(f"Paycom:{KEY}".encode()).decode()
    started = time.perf_counter()
    for i in range(n):
        account = {"order_id": f"P{tag}-{i}"}
        payme_id = f"{tag}{i:020d}"
        for method, params in (("CheckPerformTransaction", {"amount": 10_000, "account": account}),
                               ("CreateTransaction", {"id": payme_id, "time": now_ms(), "amount": 10_000,
                                                      "account": account}),
                               ("PerformTransaction", {"id": payme_id})):
            body = client.post(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                               content_type="application/json", HTTP_AUTHORIZATION=auth).json()
            assert "result" in body, body
    return time.perf_counter() - started


def click_round(client: Client, click: Integration, n: int, tag: str) -> float:
    for i in range(n):
        services.create_payment(click.organization, [click], amount=10_000, currency="UZS", reference=f"C{tag}-{i}")
    url = f"/api/payments/click/{click.webhook_key}"
    started = time.perf_counter()
    for i in range(n):
        fields = {"click_trans_id": f"{tag}{i}", "service_id": "1", "click_paydoc_id": "1",
                  "merchant_trans_id": f"C{tag}-{i}", "amount": "100.00", "action": "0", "error": "0",
                  "error_note": "Success", "sign_time": "2026-11-23 10:00:00"}
        fields["sign_string"] = sign(fields, SECRET)
        prepared = client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded").json()
        assert prepared["error"] == 0, prepared
        fields.update(action="1", merchant_prepare_id=str(prepared["merchant_prepare_id"]))
        fields["sign_string"] = sign(fields, SECRET)
        completed = client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded").json()
        assert completed["error"] == 0, completed
    return time.perf_counter() - started


def floor_round(client: Client, payme: Integration, n: int) -> float:
    url = f"/api/payments/payme/{payme.webhook_key}"
    auth = "Basic " + base64.b64encode(f"Paycom:{KEY}".encode()).decode()
    started = time.perf_counter()
    for _ in range(n):
        body = client.post(url, {"jsonrpc": "2.0", "id": 1, "method": "CheckTransaction", "params": {"id": "x"}},
                           content_type="application/json", HTTP_AUTHORIZATION=auth).json()
        assert body["error"]["code"] == -31003
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        print("payments_bench needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    main_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{main_name}_payments_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    setup_test_environment()  # the test client's host is allowed
    try:
        org = Organization.objects.create(name="Payments bench", slug="payments-bench")
        payme = Integration.objects.create(organization=org, name="Payme", code="payme", provider="payme",
                                           credentials={"merchant_id": "m", "key": KEY})
        click = Integration.objects.create(organization=org, name="Click", code="click", provider="click",
                                           credentials={"service_id": "1", "merchant_id": "2", "secret_key": SECRET})
        client, n = Client(), args.payments
        results: dict[str, list[float]] = {"payme payments/s (3 calls)": [], "click payments/s (2 calls)": [],
                                           "floor calls/s (baseline)": []}
        for r in range(args.repeat):
            results["payme payments/s (3 calls)"].append(n / payme_round(client, payme, n, f"r{r}"))
            results["click payments/s (2 calls)"].append(n / click_round(client, click, n, f"r{r}"))
            results["floor calls/s (baseline)"].append(n / floor_round(client, payme, n))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in results.items()), flush=True)
        print(f"\n{'measure':32} {'median':>8} {'spread':>8}   runs")
        for name, runs in results.items():
            median = statistics.median(runs)
            spread = (max(runs) - min(runs)) / median * 100
            print(f"{name:32} {median:8,.0f} {spread:7.1f}%   " + ", ".join(f"{x:,.0f}" for x in runs))
        payme_calls = statistics.median(results["payme payments/s (3 calls)"]) * 3
        floor = statistics.median(results["floor calls/s (baseline)"])
        print(f"(information) Payme calls/s in a payment vs the floor: {payme_calls / floor:.2f}x")
    finally:
        connection.creation.destroy_test_db(main_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

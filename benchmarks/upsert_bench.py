"""Records upsert throughput beside its raw baseline, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_bench .venv/bin/python benchmarks/upsert_bench.py \
        [--rows 100000] [--repeat 3] [--batch 2000]

Works in a scratch database (``<name>_upsert_bench``, created and dropped here). Per repeat, on
``--rows`` product rows with ~300-byte JSON payloads:

- raw baseline: hand-written COPY into a temp table + one ``INSERT … ON CONFLICT DO UPDATE`` of
  all rows in one go, for insert and for update;
- ``records.upsert.upsert_rows`` called page by page (``--batch`` rows a call, as a sync calls it):
  insert, update (every row changed), re-run with nothing changed, and 1% changed. Like the
  baseline, a run is one transaction, so the two compare the write path itself;
- for information, insert and update again committing every page (as the sync runner does, with
  its checkpoint): the difference is the price of the per-page commits (a WAL flush each), which
  the runner pays whatever the write path.

Prints medians with their spread (max-min over median: the machine's noise), the ratios and
pass/fail against the targets; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
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
from integrations.models import Integration, Organization  # noqa: E402
from records.models import Product  # noqa: E402
from records.upsert import UpsertResult, upsert_rows  # noqa: E402

WORDS = "organic green tea leaves, loose, from the northern highlands"
RAW_COLUMNS = ["external_id", "payload", "name", "sku", "barcode", "description", "unit", "price", "cost",
               "currency", "is_active"]


# --- data ------------------------------------------------------------------------------------
def source(i: int, version: int) -> dict:
    """A provider's product as JSON (~300 bytes)."""
    return {
        "id": f"P{i:07d}",
        "code": f"SKU-{i:07d}",
        "barcode": f"89{i:011d}",
        "name": f"Product {i} {WORDS}",
        "description": f"Batch {i % 1000}, pack of {i % 12 + 1}",
        "unit": "pcs",
        "price": f"{i % 997 + 0.5 + version:.2f}",
        "cost": f"{i % 997 * 0.8:.2f}",
        "currency": "VND",
        "active": True,
        "categoryId": i % 50,
        "modifiedDate": f"2026-11-{version % 28 + 1:02d}T10:{i % 60:02d}:00",
        "version": version,
    }


def mapped(src: dict) -> RecordRow:
    """What a connector's mapper hands to the upsert (not timed: it is the connector's work)."""
    return RecordRow(
        external_id=src["id"],
        fields={"sku": src["code"], "barcode": src["barcode"], "name": src["name"],
                "description": src["description"], "unit": src["unit"], "price": src["price"],
                "cost": src["cost"], "currency": src["currency"], "is_active": src["active"]},
        payload=src,
    )


# --- the two paths ---------------------------------------------------------------------------
def raw_upsert(integration: Integration, sources: list[dict]) -> None:
    """The hand-written baseline: all rows in one COPY and one INSERT … ON CONFLICT DO UPDATE."""
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE raw_in (external_id text, payload jsonb, name text, sku text, barcode text,"
                " description text, unit text, price numeric, cost numeric, currency text, is_active boolean)"
                " ON COMMIT DROP"
            )
            with cur.copy(f"COPY raw_in ({', '.join(RAW_COLUMNS)}) FROM STDIN") as copy:
                for s in sources:
                    copy.write_row((s["id"], json.dumps(s), s["name"], s["code"], s["barcode"], s["description"],
                                    s["unit"], s["price"], s["cost"], s["currency"], s["active"]))
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*RAW_COLUMNS[1:], "updated_at", "last_synced_at"])
            cur.execute(
                f"INSERT INTO records_product (organization_id, integration_id, source_hash, sync_status,"
                f" sync_error, last_synced_at, created_at, updated_at, units, prices, attributes,"
                f" {', '.join(RAW_COLUMNS)})"
                f" SELECT %s, %s, '', 'synced', '', now(), now(), now(), '[]', '{{}}', '{{}}',"
                f" {', '.join(RAW_COLUMNS)} FROM raw_in"
                f" ON CONFLICT (integration_id, external_id) WHERE external_id <> '' DO UPDATE SET {updates}",
                (integration.organization_id, integration.pk),
            )


def ours(integration: Integration, rows: list[RecordRow], batch: int, commit_pages: bool = False) -> UpsertResult:
    total = UpsertResult()
    with nullcontext() if commit_pages else transaction.atomic():
        for start in range(0, len(rows), batch):
            with transaction.atomic() if commit_pages else nullcontext():
                total.merge(upsert_rows(integration, Product, rows[start:start + batch]))
    return total


# --- measuring -------------------------------------------------------------------------------
def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def reset() -> None:
    with connection.cursor() as cur:
        cur.execute("TRUNCATE records_product CASCADE")


def analyze() -> None:
    with connection.cursor() as cur:
        cur.execute("ANALYZE records_product")


def check(result: UpsertResult, **expected: int) -> None:
    got = {k: getattr(result, k) for k in expected}
    if got != expected or result.failed:
        raise SystemExit(f"unexpected upsert result {result} (wanted {expected})")


@dataclass
class Inputs:
    v1: list[dict]
    v2: list[dict]
    rows1: list[RecordRow]
    rows2: list[RecordRow]
    rows3: list[RecordRow]

    @classmethod
    def build(cls, n: int) -> Inputs:
        v1 = [source(i, 1) for i in range(n)]
        v2 = [source(i, 2) for i in range(n)]
        # 1% changed, spread over the whole set (so over every page).
        v3 = [source(i, 3) if i % 100 == 0 else v2[i] for i in range(n)]
        inputs = cls(v1, v2, *([mapped(s) for s in v] for v in (v1, v2, v3)))
        # A sync holds one page in memory, not 600,000 objects: keep the inputs out of the garbage
        # collector's full scans, which would otherwise tax whichever path allocates more.
        gc.collect()
        gc.freeze()
        return inputs


def one_round(integration: Integration, data: Inputs, batch: int) -> dict[str, float]:
    n = len(data.v1)
    v1, v2, rows1, rows2, rows3 = data.v1, data.v2, data.rows1, data.rows2, data.rows3
    out = {}

    reset()
    out["raw insert"], _ = timed(lambda: raw_upsert(integration, v1))
    analyze()
    out["raw update"], _ = timed(lambda: raw_upsert(integration, v2))
    assert Product.objects.count() == n

    reset()
    out["upsert insert"], r = timed(lambda: ours(integration, rows1, batch))
    check(r, created=n)
    analyze()
    out["upsert update"], r = timed(lambda: ours(integration, rows2, batch))
    check(r, updated=n)
    out["upsert unchanged"], r = timed(lambda: ours(integration, rows2, batch))
    check(r, skipped=n)
    out["upsert 1% changed"], r = timed(lambda: ours(integration, rows3, batch))
    check(r, updated=len(range(0, n, 100)), skipped=n - len(range(0, n, 100)))
    assert Product.objects.count() == n

    reset()
    out["insert, page commits"], r = timed(lambda: ours(integration, rows1, batch, commit_pages=True))
    check(r, created=n)
    analyze()
    out["update, page commits"], r = timed(lambda: ours(integration, rows2, batch, commit_pages=True))
    check(r, updated=n)
    return out


def report(rounds: list[dict[str, float]], n: int, batch: int) -> bool:
    rate = {k: statistics.median(n / r[k] for r in rounds) for k in rounds[0]}
    print(f"\n{n:,} product rows, pages of {batch:,}, medians of {len(rounds)} "
          f"(spread = (max-min)/median of the rates)")
    print(f"{'measure':<22} {'rows/s':>10} {'spread':>8}   runs (rows/s)")
    for k in rounds[0]:
        runs = [n / r[k] for r in rounds]
        spread = (max(runs) - min(runs)) / rate[k] * 100
        print(f"{k:<22} {rate[k]:>10,.0f} {spread:>7.1f}%   " + ", ".join(f"{x:,.0f}" for x in runs))
    checks = [
        ("insert vs raw insert", rate["upsert insert"] / rate["raw insert"], 0.5),
        ("update vs raw update", rate["upsert update"] / rate["raw update"], 0.5),
        ("unchanged vs update", rate["upsert unchanged"] / rate["upsert update"], 3.0),
        ("1% changed vs update", rate["upsert 1% changed"] / rate["upsert update"], 3.0),
    ]
    print("(information, not a target) commit per page vs one transaction: "
          f"insert {rate['insert, page commits'] / rate['upsert insert']:.2f}x, "
          f"update {rate['update, page commits'] / rate['upsert update']:.2f}x; "
          f"vs raw: insert {rate['insert, page commits'] / rate['raw insert']:.2f}x, "
          f"update {rate['update, page commits'] / rate['raw update']:.2f}x")
    print()
    ok = True
    for name, ratio, target in checks:
        passed = ratio >= target
        ok &= passed
        print(f"{name:<22} {ratio:6.2f}x  (target >= {target}x)  {'PASS' if passed else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000, help="rows per upsert_rows call (a sync page)")
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        print("upsert_bench needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2

    main_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{main_name}_upsert_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        org = Organization.objects.create(name="Upsert bench", slug="upsert-bench")
        integration = Integration.objects.create(organization=org, name="Bench", code="bench", provider="webhook")
        data = Inputs.build(args.rows)
        rounds = []
        for i in range(args.repeat):
            rounds.append(one_round(integration, data, args.batch))
            print(f"round {i + 1}: " + ", ".join(f"{k} {args.rows / v:,.0f}/s" for k, v in rounds[-1].items()),
                  flush=True)
        ok = report(rounds, args.rows, args.batch)
    finally:
        connection.creation.destroy_test_db(main_name, verbosity=0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

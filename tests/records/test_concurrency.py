"""Two writers upserting the same new records at once: no duplicate, no deadlock, nothing lost."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from connectors.base import RecordRow
from records.models import Product
from records.upsert import upsert_rows

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_the_same_rows_in_opposite_orders(integration):
    rows = [RecordRow(f"p{i:04d}", {"name": f"P{i}"}, payload={"i": i}) for i in range(800)]
    barrier = threading.Barrier(2)
    results, failures = [], []

    def writer(batch: list[RecordRow]) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                results.append(upsert_rows(integration, Product, batch))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(order,)) for order in (rows, rows[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not failures, failures
    assert Product.objects.filter(integration=integration).count() == 800
    assert sum(r.created for r in results) == 800
    # The later writer found every row written with the same hash, or wrote it again: never twice new.
    assert sum(r.created + r.updated + r.skipped for r in results) == 1600

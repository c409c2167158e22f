"""The change signals other apps build on (events outbox): what they carry, and that they share the
writing transaction (a rolled-back page sends nothing that survives)."""

from __future__ import annotations

import pytest

from records.models import Product
from syncjobs.models import JobStatus
from syncjobs.signals import records_written, sync_finished

from .test_runner import run

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def captured():
    seen: dict[str, list] = {"written": [], "finished": []}

    def on_written(sender, job, integration, model, result, deleted_ids, **kw):
        seen["written"].append((model, list(result.created_ids), list(result.updated_ids), list(deleted_ids)))

    def on_finished(sender, job, **kw):
        seen["finished"].append((job.stream, job.status))

    records_written.connect(on_written)
    sync_finished.connect(on_finished)
    yield seen
    records_written.disconnect(on_written)
    sync_finished.disconnect(on_finished)


def test_records_written_names_created_updated_and_deleted_ids(demo_integration, sandbox, captured):
    run(demo_integration)
    created = [eid for model, c, _, _ in captured["written"] if model is Product for eid in c]
    assert sorted(created, key=int) == [str(i) for i in range(1, 46)]
    assert captured["finished"] == [("products", JobStatus.COMPLETED)]

    captured["written"].clear()
    sandbox.control("update", entity="products", ids=[3, 7])
    deleted = sandbox.control("delete", entity="products", count=1)["deleted"]
    run(demo_integration)

    product_calls = [call for call in captured["written"] if call[0] is Product]
    assert sorted(eid for _, _, u, _ in product_calls for eid in u) == ["3", "7"]
    assert not [eid for _, c, _, _ in product_calls for eid in c]
    assert [eid for _, _, _, d in product_calls for eid in d] == [str(i) for i in deleted]


def test_a_receiver_that_fails_rolls_the_page_back(demo_integration, captured):
    def explode(sender, **kw):
        raise RuntimeError("outbox unavailable")

    records_written.connect(explode)
    try:
        job = run(demo_integration)
    finally:
        records_written.disconnect(explode)
    # The receiver runs inside the page's transaction: nothing of that page is kept.
    assert job.status == JobStatus.FAILED
    assert not Product.objects.filter(integration=demo_integration).exists()
    assert captured["finished"] == [("products", JobStatus.FAILED)]

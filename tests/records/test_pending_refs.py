"""References written unresolved are kept and linked as soon as the referenced record is written.

An order line can arrive before its product (a sync of orders before products, a webhook, a products
sync that died halfway): it is written without the link, and linked when the product comes, by any
write of products, with no re-read of the order.
"""

from __future__ import annotations

import pytest

from connectors.base import RecordRow
from records.models import Category, OrderLine, PendingReference, Product
from records.upsert import child_rows, resolve_pending_refs, upsert_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def lines(order: str, *products: str) -> list[RecordRow]:
    rows = [RecordRow(str(n), {"line_no": n, "quantity": "1"}, refs={"product": p}, payload={"n": n, "p": p})
            for n, p in enumerate(products, start=1)]
    return child_rows("order", order, rows)


def test_a_line_written_before_its_product_is_linked_when_the_product_arrives(integration, other_integration):
    upsert_rows(integration, "records.Order", [RecordRow("o1", {"number": "A1"})])
    upsert_rows(integration, OrderLine, lines("o1", "p1", "p2", "p3"))
    upsert_rows(integration, Product, [RecordRow("p3", {"name": "Cake"})])  # before the line: linked at once

    line1, line2, line3 = OrderLine.objects.order_by("line_no")
    assert (line1.product_id, line2.product_id) == (None, None)
    assert line1.sync_error == "unresolved reference product='p1'"
    assert line3.product.external_id == "p3" and line3.sync_error == ""
    assert set(PendingReference.objects.values_list("record_external_id", "field", "target_external_id")) == {
        ("o1/1", "product", "p1"), ("o1/2", "product", "p2")}

    # The same external id in another integration is not this integration's product.
    upsert_rows(other_integration, Product, [RecordRow("p1", {"name": "Other tenant's tea"})])
    line1.refresh_from_db()
    assert line1.product_id is None

    upsert_rows(integration, Product, [RecordRow("p1", {"name": "Tea"})])  # a later page of products

    line1.refresh_from_db()
    line2.refresh_from_db()
    assert line1.product.name == "Tea" and line1.product.integration_id == integration.pk
    assert line1.sync_error == ""
    assert line2.product_id is None and line2.sync_error == "unresolved reference product='p2'"
    assert list(PendingReference.objects.values_list("record_external_id", flat=True)) == ["o1/2"]

    # A line clean again is skipped by the next sync of the same order (its hash did not change).
    again = upsert_rows(integration, OrderLine, lines("o1", "p1", "p2", "p3"))
    assert (again.skipped, again.updated) == (2, 1)  # line 2 is still not clean: rewritten


def test_a_line_rewritten_with_another_product_forgets_the_old_pending_reference(integration):
    upsert_rows(integration, "records.Order", [RecordRow("o1", {"number": "A1"})])
    upsert_rows(integration, OrderLine, lines("o1", "p1"))
    upsert_rows(integration, Product, [RecordRow("p2", {"name": "Coffee"})])
    upsert_rows(integration, OrderLine, lines("o1", "p2"))  # the order was edited at the source

    assert not PendingReference.objects.exists()
    upsert_rows(integration, Product, [RecordRow("p1", {"name": "Tea"})])  # must not relink to p1
    assert OrderLine.objects.get().product.external_id == "p2"


def test_a_self_reference_to_a_later_page_and_the_job_level_sweep(integration):
    upsert_rows(integration, Category, [RecordRow("child", {"name": "Green tea"}, refs={"parent": "root"})])
    assert Category.objects.get(external_id="child").parent_id is None

    upsert_rows(integration, Category, [RecordRow("root", {"name": "Tea"})])
    assert Category.objects.get(external_id="child").parent.external_id == "root"

    # A pending reference whose target was written without being noticed (e.g. concurrently) is
    # linked by the sweep a sync job runs when it completes.
    upsert_rows(integration, Product, [RecordRow("p1", {"name": "Tea"}, refs={"category": "late"})])
    Category.objects.create(organization=integration.organization, integration=integration, external_id="late",
                            name="Late")
    assert resolve_pending_refs(integration, Category) == 1
    product = Product.objects.get()
    assert product.category.external_id == "late" and product.sync_error == ""
    assert not PendingReference.objects.exists()

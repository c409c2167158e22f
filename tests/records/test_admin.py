"""Records admin: read-only, scoped to the staff user's organizations."""

from __future__ import annotations

import pytest

from connectors.base import RecordRow
from records.models import Order, Product
from records.upsert import child_rows, upsert_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def staff_client(client, org, make_user):
    user = make_user(org, "viewer", is_staff=True)
    client.force_login(user)
    return client


def test_admin_lists_only_own_records_and_404s_others(staff_client, integration, other_integration):
    upsert_rows(integration, Product, [RecordRow("mine", {"name": "Our tea"})])
    upsert_rows(other_integration, Product, [RecordRow("theirs", {"name": "Their coffee"})])
    theirs = Product.objects.get(external_id="theirs")
    mine = Product.objects.get(external_id="mine")

    listing = staff_client.get("/admin/records/product/")
    assert listing.status_code == 200
    assert b"Our tea" in listing.content and b"Their coffee" not in listing.content
    assert staff_client.get(f"/admin/records/product/{theirs.pk}/change/").status_code == 404

    page = staff_client.get(f"/admin/records/product/{mine.pk}/change/")
    assert page.status_code == 200 and b"Our tea" in page.content
    assert b'name="_save"' not in page.content  # read-only
    assert staff_client.get("/admin/records/product/add/").status_code == 403


def test_admin_search_filters_and_order_lines(staff_client, integration):
    upsert_rows(integration, Order, [RecordRow("o1", {"number": "A-77"}), RecordRow("o2", {"number": "B-12"})])
    upsert_rows(integration, "records.OrderLine",
                child_rows("order", "o1", [RecordRow("1", {"line_no": 1, "description": "Green tea"})]))

    found = staff_client.get("/admin/records/order/", {"q": "A-77"})
    assert b"A-77" in found.content and b"B-12" not in found.content
    assert staff_client.get("/admin/records/order/", {"deleted": "yes"}).status_code == 200
    order = Order.objects.get(external_id="o1")
    assert b"Green tea" in staff_client.get(f"/admin/records/order/{order.pk}/change/").content

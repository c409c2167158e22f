"""Reconciliation: gateway transactions matched to our orders/invoices, each kind of mismatch, JSON and
CSV through the API, the admin view and its export; organizations apart."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from payments import reconciliation
from payments.models import PaymentState, PaymentTransaction
from tests.payments.helpers import click_integration, payme_integration

pytestmark = [pytest.mark.django_db]


def tx(integration, reference, amount, state=PaymentState.PAID, **extra):
    return PaymentTransaction.objects.create(organization=integration.organization, integration=integration,
                                             provider=integration.provider, reference=reference, amount=amount,
                                             currency="UZS", state=state, gateway_transaction_id=f"g-{reference}-"
                                             f"{integration.code}-{state}", **extra)


@pytest.fixture
def scenario(org):
    from records.models import Invoice, Order

    payme, click = payme_integration(org), click_integration(org)
    Order.objects.create(organization=org, number="SO-1", total="100.00", currency="UZS", status="new")
    Order.objects.create(organization=org, number="SO-2", total="50.00", currency="UZS", status="delivered")
    Order.objects.create(organization=org, number="SO-3", total="10.00", currency="UZS")
    Invoice.objects.create(organization=org, number="INV-1", total="7.00", currency="UZS")
    rows = {
        "ok": tx(payme, "SO-1", 10_000),
        "unknown": tx(payme, "X-404", 500),
        "differs": tx(payme, "INV-1", 800),
        "twice_payme": tx(payme, "SO-3", 1_000),
        "twice_click": tx(click, "SO-3", 1_000),
        "refunded_fulfilled": tx(payme, "SO-2", 5_000, state=PaymentState.REFUNDED),
        "pending": tx(payme, "SO-9", 100, state=PaymentState.PENDING),
    }
    return payme, click, rows


def issues_by_tx(report):
    return {row["transaction"]: row["issues"] for row in report["rows"]}


def test_each_mismatch_kind(org, scenario):
    payme, click, rows = scenario
    report = reconciliation.reconcile(org, integration=payme)
    found = issues_by_tx(report)
    assert found[rows["ok"].pk] == []
    assert found[rows["unknown"].pk] == ["paid_unknown_order"]
    assert found[rows["differs"].pk] == ["amount_differs"]
    assert found[rows["twice_payme"].pk] == ["paid_twice"]  # the other payment is at Click
    assert found[rows["refunded_fulfilled"].pk] == ["cancelled_after_fulfilment"]
    assert found[rows["pending"].pk] == []
    assert rows["twice_click"].pk not in found  # another gateway
    assert report["summary"] == {"transactions": 6, "matched": 1, "mismatched": 4, "paid_unknown_order": 1,
                                 "amount_differs": 1, "paid_twice": 1, "cancelled_after_fulfilment": 1}


def test_period_filter(org, scenario):
    payme, _, rows = scenario
    PaymentTransaction.objects.filter(pk=rows["ok"].pk).update(created_at=timezone.now() - timedelta(days=40))
    report = reconciliation.reconcile(org, integration=payme, start=timezone.now() - timedelta(days=1))
    assert rows["ok"].pk not in issues_by_tx(report)


def test_api_json_and_csv(api, scenario):
    payme, _, rows = scenario
    body = api.get("/api/v1/payments/reconciliation", {"integration": payme.code}).json()
    assert body["summary"]["mismatched"] == 4
    response = api.get("/api/v1/payments/reconciliation", {"integration": payme.pk, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    parsed = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["reference"]: r["issues"] for r in parsed}["X-404"] == "paid_unknown_order"
    assert len(parsed) == 6


def test_api_bad_input_and_other_organization(api, other_org, api_client_for, scenario):
    payme, _, _ = scenario
    assert api.get("/api/v1/payments/reconciliation", {"start": "yesterday"}).status_code == 400
    other = api_client_for(other_org, "viewer")
    assert other.get("/api/v1/payments/reconciliation", {"integration": payme.pk}).status_code == 400
    assert other.get("/api/v1/payments/reconciliation").json()["summary"]["transactions"] == 0


def test_csv_cells_cannot_become_formulas(org):
    payme = payme_integration(org)
    tx(payme, "=HYPERLINK(\"x\")", 100)
    text = reconciliation.to_csv(reconciliation.reconcile(org, integration=payme))
    assert "'=HYPERLINK" in text


def test_admin_reconciliation_view_and_export(client, org, make_user, scenario):
    payme, _, rows = scenario
    user = make_user(org, "viewer", is_staff=True)
    client.force_login(user)
    page = client.get("/admin/payments/paymenttransaction/reconciliation/", {"integration": payme.pk})
    assert page.status_code == 200 and b"paid_unknown_order" in page.content
    export = client.get("/admin/payments/paymenttransaction/reconciliation/",
                        {"integration": payme.pk, "export": "csv"})
    assert export["Content-Type"].startswith("text/csv") and b"X-404" in export.content
    detail = client.get(f"/admin/payments/paymenttransaction/{rows['ok'].pk}/change/")
    assert detail.status_code == 200


def test_admin_hides_other_organizations(client, org, other_org, make_user, scenario):
    payme, _, rows = scenario
    outsider = make_user(other_org, "admin", is_staff=True)
    client.force_login(outsider)
    assert client.get(f"/admin/payments/paymenttransaction/{rows['ok'].pk}/change/").status_code in (302, 404)
    listing = client.get("/admin/payments/paymenttransaction/")
    assert listing.status_code == 200 and b"X-404" not in listing.content
    page = client.get("/admin/payments/paymenttransaction/reconciliation/", {"integration": payme.pk})
    assert b"paid_unknown_order" not in page.content  # not a choice for this user


def test_admin_refund_action_needs_a_refundable_gateway(client, org, make_user, scenario):
    _, _, rows = scenario
    client.force_login(make_user(org, "manager", is_staff=True))
    response = client.post("/admin/payments/paymenttransaction/", {
        "action": "refund_payments", "_selected_action": [rows["ok"].pk]}, follow=True)
    assert response.status_code == 200 and b"cabinet" in response.content  # Payme refunds through Payme
    rows["ok"].refresh_from_db()
    assert rows["ok"].state == PaymentState.PAID


def test_admin_pages_render(client, org, make_user, scenario):
    from payments.models import GatewayCallback
    from tests.payments.helpers import payme_call

    payme, _, rows = scenario
    payme_call(client, payme, "CheckTransaction", {"id": "g-SO-1-payme-paid"})
    client.force_login(make_user(org, "viewer", is_staff=True))
    callback = GatewayCallback.objects.get()
    for url in ("/admin/payments/paymenttransaction/", "/admin/payments/paymenttransaction/?state__exact=paid",
                f"/admin/payments/paymenttransaction/{rows['differs'].pk}/change/",
                "/admin/payments/paymenttransaction/reconciliation/", "/admin/payments/gatewaycallback/",
                f"/admin/payments/gatewaycallback/{callback.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
    detail = client.get(f"/admin/payments/gatewaycallback/{callback.pk}/change/").content.decode()
    assert "CheckTransaction" in detail and "***" in detail  # the Authorization header is masked

"""A client written from the services API document passes, unchanged, against the seeded demo organization.

The client (``seed_client.py``) talks HTTP to a live server; the organization is made by ``seed_demo``
with its sandboxes served by that same server (Stripe for the test payment).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.services import seed_client


@pytest.fixture
def demo(transactional_db, live_server, settings, tmp_path):
    from integrations.models import ApiKey, Integration, Organization
    from records.models import Supplier

    settings.HUB_PUBLIC_URL = live_server.url
    settings.VAR_DIR = tmp_path
    settings.STORAGES = {**settings.STORAGES, "hub_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "files")}}}
    call_command("seed_demo", stdout=open(tmp_path / "seed.txt", "w"))  # noqa: SIM115 - closed with the test
    org = Organization.objects.get(slug="demo")
    iiko = Integration.objects.get(organization=org, code="iiko")
    # What a sync of the iiko suppliers leaves behind (the demo's real sync is the run-hub test's business).
    Supplier.objects.create(organization=org, integration=iiko, external_id="supplier_123", name="Test Supplier",
                            email="supplier@example.com", phone="+1234567890")
    Supplier.objects.create(organization=org, integration=iiko, external_id="supplier_456", name="Other Supplier")
    _, admin = ApiKey.issue(org, name="contract admin", role="admin")
    _, viewer = ApiKey.issue(org, name="contract viewer", role="viewer")
    return live_server.url, admin, viewer, org


def test_a_client_written_from_the_document_passes_against_the_demo_organization(demo):
    base, admin, viewer, _ = demo
    lines: list[str] = []
    assert seed_client.run(base, admin, viewer, log=lines.append) == len(lines) >= 25
    print("\n".join(lines))


def test_the_documented_answers_carry_the_demo_organizations_real_state(demo):
    from payments.models import PaymentTransaction

    base, admin, _, org = demo
    api = seed_client.SeedClient(base, admin)
    status = api.data("GET", "/status")
    assert status["total"] == 6
    assert status["services"]["email"] == {"status": "healthy", "name": "Email Service", "type": "communication"}
    assert status["services"]["kafka"]["status"] == "unhealthy"  # the demo has no event destination
    health = api.data("GET", "/health")
    assert set(health) == set(seed_client.SERVICES)  # one entry per service, nothing else to trip a loop
    assert "stripe-sandbox" in health["payment"]["details"]
    assert "kiotviet" in health["externalAPI"]["details"] and "iiko" in health["externalAPI"]["details"]
    assert health["kafka"]["error"].startswith("no event destination configured")
    email = api.data("GET", "/health/email")
    assert email["details"]["sendgrid-sandbox"]["message"] == "Configuration valid"
    assert api.data("GET", "/services/email")["dependencies"] == ["sendgrid:sendgrid-sandbox"]
    metrics = api.data("GET", "/metrics")
    assert metrics["email"]["transporters"] == ["sendgrid-sandbox"] and metrics["email"]["status"] == "active"
    assert {"twilio-sandbox", "vonage-sandbox"} <= set(metrics["sms"]["providers"])

    # 10.00 USD is 1000 cents in the ledger, 500 JPY is 500 yen (no minor unit).
    paid = api.data("POST", "/test/payment", {"amount": 10.00, "currency": "USD", "gateway": "stripe",
                                              "orderId": "test_order_123"})
    assert paid["status"] == "succeeded" and paid["transactionId"].startswith("pi_")
    tx = PaymentTransaction.objects.get(gateway_transaction_id=paid["transactionId"])
    assert (tx.amount, tx.currency, tx.organization_id) == (1000, "USD", org.pk)
    yen = api.data("POST", "/test/payment", {"amount": 500, "currency": "JPY", "gateway": "stripe",
                                             "orderId": "test_order_123"})  # the same order again is fine
    assert PaymentTransaction.objects.get(gateway_transaction_id=yen["transactionId"]).amount == 500
    assert Decimal(str(yen["amount"])) == 500

    one = api.data("POST", "/test/sync", {"dataType": "suppliers", "options": {"supplierId": "supplier_123"}})
    assert one["count"] == 1 and one["suppliers"][0]["name"] == "Test Supplier"
    assert one["suppliers"][0]["email"] == "supplier@example.com"
    assert {job["integration"] for job in one["jobs"]} >= {"iiko"}  # a refresh of the suppliers was queued
    assert api.data("POST", "/test/sync", {"dataType": "suppliers", "options": {"refresh": False}})["count"] == 2


def test_another_organization_sees_none_of_the_demo(demo, other_org):
    from integrations.models import ApiKey

    base, *_ = demo
    _, key = ApiKey.issue(other_org, name="other", role="admin")
    api = seed_client.SeedClient(base, key, tenant=other_org.slug)
    assert api.data("GET", "/metrics")["email"]["transporters"] == []
    assert api.data("GET", "/health/email")["status"] == "unhealthy"  # not a 404 for a fresh organization
    assert api.data("GET", "/health/payment")["error"] == "no payment gateway configured"
    assert api.data("POST", "/test/sync", {"dataType": "suppliers", "options": {}})["count"] == 0
    code, body = api.call("POST", "/test/payment", {"amount": 10.00, "currency": "USD", "gateway": "stripe"})
    assert code == 409 and body["success"] is False and "No active test-mode payment gateway" in body["message"]


def test_a_service_whose_providers_are_all_inactive_is_unhealthy_and_says_so(demo):
    from integrations.models import Integration

    base, admin, _, org = demo
    Integration.objects.filter(organization=org, code="sendgrid-sandbox").update(status="inactive")
    api = seed_client.SeedClient(base, admin)
    email = api.data("GET", "/health/email")
    assert email["status"] == "unhealthy" and email["error"] == "every one is inactive: sendgrid-sandbox"
    assert email["details"]["sendgrid-sandbox"]["status"] == "inactive"
    assert api.data("GET", "/services/email")["status"] == "inactive"
    assert api.data("GET", "/status")["services"]["email"]["status"] == "unhealthy"


def test_a_notification_to_only_invalid_recipients_is_a_400_and_records_nothing(demo):
    from notifications.models import Message

    base, admin, _, org = demo
    code, body = seed_client.SeedClient(base, admin).call("POST", "/test/notification", {
        "type": "sms", "recipients": [{"name": "Test User", "email": "test@example.com", "phone": "+1234567890"}],
        "template": "custom", "data": {"message": "hello"}})
    assert code == 400 and body["success"] is False and "+1234567890" in body["error"]
    assert not Message.objects.filter(organization=org).exists()

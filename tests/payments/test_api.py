"""/api/v1/payments end to end against the Stripe sandbox over real HTTP: create (idempotent, declined,
gateway priority with failover only when unreachable), get, list, refund; validation; organizations."""

from __future__ import annotations

import pytest

from payments.models import PaymentState, PaymentTransaction
from tests.connectors.fakeserver import Answer, FakeServer
from tests.payments.helpers import click_integration, payme_integration

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def create(api, **body):
    return api.post("/api/v1/payments", body, format="json")


def test_create_with_a_test_card_is_paid_and_readable(api, stripe):
    response = create(api, integration=stripe.code, amount=1999, currency="usd", reference="A-1",
                      payment_method="pm_card_visa")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "paid" and body["amount"] == 1999 and body["currency"] == "USD"
    assert body["gateway_transaction_id"].startswith("pi_") and body["checkout"]["client_secret"].startswith("pi_")
    assert body["attempts"] == [{"integration": "stripe", "outcome": "created", "error": ""}]
    detail = api.get(f"/api/v1/payments/{body['id']}").json()
    assert [h["to_state"] for h in detail["history"]] == ["created", "paid"]
    assert "client_secret" not in detail["checkout"]  # handed to the payer once, never stored
    listed = api.get("/api/v1/payments", {"state": "paid"}).json()
    assert [p["id"] for p in listed["results"]] == [body["id"]]


def test_create_without_a_payment_method_is_pending(api, stripe):
    body = create(api, integration=stripe.pk, amount=500, currency="EUR").json()
    assert body["state"] == "pending" and body["gateway_state"] == "requires_payment_method"


def test_idempotency_key_returns_the_first_payment(api, stripe):
    first = api.post("/api/v1/payments", {"integration": stripe.code, "amount": 700, "currency": "USD",
                                          "payment_method": "pm_card_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/payments", {"integration": stripe.code, "amount": 700, "currency": "USD",
                                          "payment_method": "pm_card_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert PaymentTransaction.objects.count() == 1


def test_declined_card_is_failed_with_the_decline_code(api, stripe):
    body = create(api, integration=stripe.code, amount=1000, currency="USD",
                  payment_method="pm_card_chargeDeclined").json()
    assert body["state"] == "failed" and body["cancel_reason"] == "generic_decline"


def test_refund_full_partial_and_refused(api, stripe):
    paid = create(api, integration=stripe.code, amount=1000, currency="USD", payment_method="pm_card_visa").json()
    part = api.post(f"/api/v1/payments/{paid['id']}/refund", {"amount": 300}, format="json")
    assert part.status_code == 200 and part.json()["refunded_amount"] == 300 and part.json()["state"] == "paid"
    assert api.post(f"/api/v1/payments/{paid['id']}/refund", {"amount": 701}, format="json").status_code == 409
    rest = api.post(f"/api/v1/payments/{paid['id']}/refund", {}, format="json")
    assert rest.status_code == 200 and rest.json()["state"] == "refunded" and rest.json()["refunded_amount"] == 1000
    again = api.post(f"/api/v1/payments/{paid['id']}/refund", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_payme_payment_gives_a_checkout_link_and_refunds_go_through_payme(api, org):
    from connectors.payme.checkout import decode

    payme = payme_integration(org, test_mode=True)
    body = create(api, integration=payme.code, amount=2_500_000, currency="UZS", reference="A-10021").json()
    assert body["state"] == "created" and body["checkout"]["checkout_url"].startswith("https://checkout.test.paycom.uz/")
    assert decode(body["checkout"]["checkout_url"]) == {"m": "5e730e8e0b852a417aa49ceb", "ac.order_id": "A-10021",
                                                        "a": "2500000"}
    PaymentTransaction.objects.filter(pk=body["id"]).update(state="paid")
    refused = api.post(f"/api/v1/payments/{body['id']}/refund", {}, format="json")
    assert refused.status_code == 409 and "cabinet" in refused.json()["error"]["message"]


def test_an_open_reference_cannot_be_opened_twice_at_one_gateway(api, org):
    click = click_integration(org)
    assert create(api, integration=click.code, amount=100, currency="UZS", reference="R-1").status_code == 201
    second = create(api, integration=click.code, amount=100, currency="UZS", reference="R-1")
    assert second.status_code == 409


def test_amount_from_our_order(api, org):
    from records.models import Order

    order = Order.objects.create(organization=org, number="SO-77", total="123.45", currency="UZS")
    body = create(api, integration=payme_integration(org).code, reference="SO-77").json()
    assert (body["amount"], body["currency"], body["order"]) == (12_345, "UZS", order.pk)


@pytest.mark.parametrize("body, field", [
    ({"amount": 10.5, "currency": "USD"}, "amount"),
    ({"amount": 10.0, "currency": "USD"}, "amount"),
    ({"amount": "1000", "currency": "USD"}, "amount"),
    ({"amount": True, "currency": "USD"}, "amount"),
    ({"amount": 0, "currency": "USD"}, "amount"),
    ({"amount": 100, "currency": "US"}, "currency"),
    ({"amount": 100}, "currency"),
])
def test_invalid_input_is_a_400_with_the_field(api, stripe, body, field):
    response = create(api, integration=stripe.code, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_gateway_validation(api, org, stripe):
    from integrations.models import Integration

    demo = Integration.objects.create(organization=org, name="d", code="demo", provider="demo")
    assert create(api, integration="nope", amount=1, currency="USD").status_code == 400
    assert create(api, integration=demo.code, amount=1, currency="USD").status_code == 400
    payme = payme_integration(org)
    assert "reference" in create(api, integration=payme.code, amount=1, currency="UZS").json()["error"]["details"]
    assert create(api, amount=1, currency="USD").status_code == 400


def test_another_organization_sees_nothing(api, other_org, api_client_for, stripe):
    paid = create(api, integration=stripe.code, amount=100, currency="USD", payment_method="pm_card_visa").json()
    other = api_client_for(other_org, "admin")
    assert other.get(f"/api/v1/payments/{paid['id']}").status_code == 404
    assert other.get("/api/v1/payments").json()["results"] == []
    assert other.post(f"/api/v1/payments/{paid['id']}/refund", {}, format="json").status_code == 404
    assert create(other, integration=stripe.pk, amount=1, currency="USD").status_code == 400


def test_roles(org, api_client_for, stripe):
    viewer = api_client_for(org, "viewer")
    assert create(viewer, integration=stripe.code, amount=1, currency="USD").status_code == 403
    assert viewer.get("/api/v1/payments").status_code == 200
    manager = api_client_for(org, "manager")
    assert create(manager, integration=stripe.code, amount=1, currency="USD").status_code == 201


# --- gateway priority -------------------------------------------------------------------------------------
def test_next_gateway_only_when_the_first_could_not_be_reached(api, make_stripe, stripe):
    down = make_stripe("http://127.0.0.1:1", code="stripe-down")  # connection refused: nothing was sent
    response = create(api, integrations=[down.code, stripe.code], amount=900, currency="USD",
                      payment_method="pm_card_visa")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["integration"] == stripe.pk and body["state"] == "paid"
    assert [a["outcome"] for a in body["attempts"]] == ["unreachable", "created"]
    first = PaymentTransaction.objects.get(integration=down)
    assert first.state == PaymentState.FAILED and "unreachable" in first.cancel_reason


def test_no_failover_once_the_first_gateway_may_have_charged(api, make_stripe, stripe):
    server = FakeServer().start()
    try:
        server.defaults["/v1/payment_intents"] = Answer(500, {"error": {"message": "boom"}})
        flaky = make_stripe(server.url, code="stripe-flaky")
        response = create(api, integrations=[flaky.code, stripe.code], amount=900, currency="USD",
                          payment_method="pm_card_visa")
    finally:
        server.stop()
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "gateway_error" and [a["outcome"] for a in error["details"]["attempts"]] == ["transient"]
    assert not PaymentTransaction.objects.filter(integration=stripe).exists()  # never tried
    # The same Idempotency-Key on every retry of ours: Stripe would have answered them all as one.
    keys = {s.headers.get("Idempotency-Key") for s in server.seen}
    assert len(server.seen) >= 2 and len(keys) == 1


def test_no_failover_after_a_timeout(api, make_stripe, stripe, settings):
    settings.CONNECTOR_HTTP_TIMEOUT = 0.3
    settings.CONNECTOR_HTTP_MAX_RETRIES = 0
    server = FakeServer().start()
    try:
        server.defaults["/v1/payment_intents"] = Answer(200, {"id": "pi_late"}, delay=1.0)
        slow = make_stripe(server.url, code="stripe-slow")
        response = create(api, integrations=[slow.code, stripe.code], amount=900, currency="USD")
    finally:
        server.stop()
    assert response.status_code == 502
    assert not PaymentTransaction.objects.filter(integration=stripe).exists()
    assert PaymentTransaction.objects.get(integration=slow).state == PaymentState.CREATED  # outcome unknown


# --- the seed's test payment ------------------------------------------------------------------------------
def test_test_payment_through_a_test_mode_gateway(api, stripe):
    response = api.post("/api/integrations/test/payment", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["data"]["state"] == "paid" and body["data"]["test_mode"] is True
    assert body["data"]["status"] == "succeeded" and body["data"]["amount"] == 10.0  # 1000 cents: major units
    assert body["data"]["reference"].startswith("TEST-")


def test_test_payment_refuses_a_live_gateway_and_needs_auth(api, org, client, make_stripe):
    live = make_stripe("http://127.0.0.1:1", code="live", key="sk_live_realmoney0001")
    response = api.post("/api/integrations/test/payment", {"integration": live.code}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert response.json()["success"] is False and "not in test mode" in response.json()["message"]
    assert api.post("/api/integrations/test/payment", {}, format="json").status_code == 409  # no test gateway
    assert client.post("/api/integrations/test/payment", {}, content_type="application/json").status_code in (401, 403)


def test_test_payment_with_payme_in_test_mode(api, org):
    payme_integration(org, test_mode=True)
    body = api.post("/api/integrations/test/payment", {"provider": "payme"}, format="json").json()
    assert body["success"] and body["data"]["checkout"]["checkout_url"].startswith("https://checkout.test.paycom.uz/")


def test_callback_urls_in_the_integrations_api(api, org, stripe):
    payme, click = payme_integration(org), click_integration(org)
    urls = {i["code"]: i["callback_url"] for i in api.get("/api/v1/integrations").json()["results"]}
    assert urls["payme"].endswith(f"/api/payments/payme/{payme.webhook_key}")
    assert urls["click"].endswith(f"/api/payments/click/{click.webhook_key}")
    assert urls["stripe"].endswith(f"/api/webhooks/receive/{stripe.webhook_key}")


@pytest.mark.parametrize("provider, credentials, config, path", [
    ("payme", {"merchant_id": "m-1", "key": "k-secret-1"}, {"account_field": "order_no"}, "/api/payments/payme/"),
    ("click", {"service_id": "1", "merchant_id": "2", "secret_key": "s-secret-1", "merchant_user_id": "3"}, {},
     "/api/payments/click/"),
    ("stripe", {"secret_key": "sk_test_abcdefgh1234"}, {}, "/api/webhooks/receive/"),
])
def test_gateway_integrations_through_the_integrations_api(api, provider, credentials, config, path):
    response = api.post("/api/v1/integrations", {
        "name": provider, "code": provider, "type": "payment_gateway", "provider": provider,
        "credentials": credentials, "config": config, "webhook_secret": "whsec_abc"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert path in body["callback_url"]
    assert set(body["credentials"]) == set(credentials) and all(v == "***" or v for v in body["credentials"].values())
    for secret in ("k-secret-1", "s-secret-1", "sk_test_abcdefgh1234"):
        assert secret not in response.content.decode()
    bad = api.post("/api/v1/integrations", {"name": "x", "code": f"{provider}-bad", "type": "payment_gateway",
                                            "provider": provider, "credentials": {}}, format="json")
    assert bad.status_code == 400


@pytest.mark.parametrize("body", [
    {"integration": 2**70, "amount": 1, "currency": "USD"},
    {"integration": "a\x00b", "amount": 1, "currency": "USD"},
    {"integration": "stripe", "amount": 1, "currency": "USD", "reference": "x\x00"},
    {"integration": "stripe", "amount": 1, "currency": "USD", "order": 2**70},
    {"integrations": [], "amount": 1, "currency": "USD"},
    {"integration": "stripe", "integrations": ["stripe"], "amount": 1, "currency": "USD"},
])
def test_hostile_input_is_a_400(api, stripe, body):
    assert create(api, **body).status_code == 400


def test_hostile_queries_are_not_500s(api, stripe):
    for params in ({"reference": "x\x00"}, {"integration": 2**70}, {"created_after": "99999-01-01"}):
        assert api.get("/api/v1/payments", params).status_code in (200, 400), params
    for params in ({"integration": "x\x00"}, {"integration": str(2**70)}, {"start": "2026-13-01"}):
        assert api.get("/api/v1/payments/reconciliation", params).status_code == 400, params
    assert api.post("/api/integrations/test/payment", {"provider": "a\x00"}, format="json").status_code == 400


def test_deleting_a_gateway_keeps_its_ledger(api, org):
    click = click_integration(org)
    paid = create(api, integration=click.code, amount=100, currency="UZS", reference="KEEP-1").json()
    PaymentTransaction.objects.filter(pk=paid["id"]).update(state="paid")
    assert api.delete(f"/api/v1/integrations/{click.pk}").status_code == 204
    kept = api.get(f"/api/v1/payments/{paid['id']}").json()
    assert (kept["integration"], kept["provider"], kept["reference"]) == (None, "click", "KEEP-1")
    assert api.post(f"/api/v1/payments/{paid['id']}/refund", {}, format="json").status_code == 409
    report = api.get("/api/v1/payments/reconciliation").json()
    assert [r["integration"] for r in report["rows"]] == [None]


def test_a_payment_the_gateway_cannot_take_is_a_400(api, org):
    payme, click = payme_integration(org), click_integration(org)
    assert create(api, integration=payme.code, amount=100, currency="USD", reference="R-1").status_code == 400
    assert create(api, integration=payme.code, amount=100, currency="UZS", reference="a;c=evil").status_code == 400
    assert create(api, integration=click.code, amount=100, currency="EUR", reference="R-2").status_code == 400
    assert not PaymentTransaction.objects.exists()


def test_an_unreadable_gateway_answer_is_a_502_without_failover(api, make_stripe, stripe):
    server = FakeServer().start()
    try:
        server.defaults["/v1/payment_intents"] = Answer(200, "<html>not json</html>")
        odd = make_stripe(server.url, code="stripe-odd")
        response = create(api, integrations=[odd.code, stripe.code], amount=900, currency="USD")
    finally:
        server.stop()
    assert response.status_code == 502 and response.json()["error"]["code"] == "gateway_error"
    assert not PaymentTransaction.objects.filter(integration=stripe).exists()

"""Click SHOP API conformance (Click's SHOP API documentation): sign_string verified exactly as Click builds it, error
codes -1..-9, the merchant_prepare_id round trip, repeated and cancelled completes, amounts checked."""

from __future__ import annotations

import pytest

from payments.models import GatewayCallback, PaymentState, PaymentTransaction
from tests.payments.helpers import click_call, click_fields, click_integration, open_payment

pytestmark = pytest.mark.django_db
REF = "A-10021"


@pytest.fixture
def click(org):
    return click_integration(org)


@pytest.fixture
def payment(click):
    return open_payment(click, REF, 1_000_000)  # 10,000.00 UZS


def prepare(client, click, **kw):
    kw.setdefault("amount", "10000")
    return click_call(client, click, click_fields(0, merchant_trans_id=kw.pop("ref", REF), **kw))


def complete(client, click, prepare_id, **kw):
    kw.setdefault("amount", "10000")
    return click_call(client, click, click_fields(1, merchant_trans_id=kw.pop("ref", REF), prepare_id=str(prepare_id),
                                                  **kw))


def test_prepare_then_complete(client, click, payment):
    prepared = prepare(client, click)
    assert prepared == {"click_trans_id": 2854001, "merchant_trans_id": REF, "merchant_prepare_id": payment.pk,
                        "error": 0, "error_note": "Success"}
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING and payment.gateway_transaction_id == "2854001"
    completed = complete(client, click, prepared["merchant_prepare_id"])
    assert completed == {"click_trans_id": 2854001, "merchant_trans_id": REF, "merchant_confirm_id": payment.pk,
                         "error": 0, "error_note": "Success"}
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID and payment.paid_at is not None


@pytest.mark.parametrize("amount", ["10000", "10000.00", "10000.0"])
def test_amount_is_signed_as_received_in_any_decimal_form(client, click, payment, amount):
    assert prepare(client, click, amount=amount)["error"] == 0


def test_bad_signature_is_minus_1(client, click, payment):
    fields = click_fields(0, merchant_trans_id=REF, amount="10000")
    fields["sign_string"] = "0" * 32
    assert click_call(client, click, fields)["error"] == -1
    assert click_call(client, click, click_fields(0, merchant_trans_id=REF, amount="10000",
                                                  secret="wrong"))["error"] == -1


def test_a_tampered_amount_breaks_the_signature(client, click, payment):
    fields = click_fields(0, merchant_trans_id=REF, amount="10000")
    fields["amount"] = "1"
    assert click_call(client, click, fields)["error"] == -1


def test_complete_signature_covers_the_prepare_id(client, click, payment):
    prepared = prepare(client, click)
    fields = click_fields(1, merchant_trans_id=REF, amount="10000", prepare_id=str(prepared["merchant_prepare_id"]))
    fields["merchant_prepare_id"] = str(prepared["merchant_prepare_id"] + 1)
    assert click_call(client, click, fields)["error"] == -1


def test_wrong_amount_is_minus_2(client, click, payment):
    assert prepare(client, click, amount="9999.99")["error"] == -2
    prepared = prepare(client, click)
    assert complete(client, click, prepared["merchant_prepare_id"], amount="10001")["error"] == -2
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING


def test_unknown_action_is_minus_3(client, click, payment):
    fields = click_fields(0, merchant_trans_id=REF, amount="10000")
    fields["action"] = "7"
    from connectors.click.gateway import sign
    from tests.payments.helpers import CLICK_SECRET

    fields["sign_string"] = sign(fields, CLICK_SECRET)
    assert click_call(client, click, fields)["error"] == -3


def test_repeated_complete_is_already_paid_and_pays_once(client, click, payment):
    prepared = prepare(client, click)
    assert complete(client, click, prepared["merchant_prepare_id"])["error"] == 0
    assert complete(client, click, prepared["merchant_prepare_id"])["error"] == -4
    assert prepare(client, click)["error"] == -4
    assert prepare(client, click, click_trans_id="2854999")["error"] == -4
    assert PaymentTransaction.objects.filter(state=PaymentState.PAID).count() == 1


def test_unknown_order_is_minus_5(client, click, payment):
    assert prepare(client, click, ref="A-404")["error"] == -5


def test_unknown_prepare_id_is_minus_6(client, click, payment):
    prepare(client, click)
    assert complete(client, click, 999_999)["error"] == -6
    assert complete(client, click, payment.pk, click_trans_id="1")["error"] == -6


def test_missing_fields_or_another_service_is_minus_8(client, click, payment):
    fields = click_fields(0, merchant_trans_id=REF, amount="10000")
    del fields["sign_time"]
    assert click_call(client, click, fields)["error"] == -8
    assert click_call(client, click, click_fields(0, merchant_trans_id=REF, amount="10000",
                                                  service_id="99999"))["error"] == -8


def test_click_error_on_complete_cancels_and_answers_minus_9(client, click, payment):
    prepared = prepare(client, click)
    assert complete(client, click, prepared["merchant_prepare_id"], error="-5017")["error"] == -9
    payment.refresh_from_db()
    assert payment.state == PaymentState.CANCELLED and payment.cancel_reason == "Payment failed"
    assert complete(client, click, prepared["merchant_prepare_id"])["error"] == -9  # a later complete
    assert prepare(client, click)["error"] == -9  # the same Click transaction again


def test_a_new_click_transaction_after_a_cancelled_one_pays_the_order(client, click, payment):
    prepared = prepare(client, click)
    complete(client, click, prepared["merchant_prepare_id"], error="-1")
    second = prepare(client, click, click_trans_id="2854002")
    assert second["error"] == 0 and second["merchant_prepare_id"] != payment.pk
    assert complete(client, click, second["merchant_prepare_id"], click_trans_id="2854002")["error"] == 0


def test_amount_checked_against_our_order(client, org, click):
    from records.models import Order

    Order.objects.create(organization=org, number="SO-1", total="250.50", currency="UZS")
    refused = prepare(client, click, ref="SO-1", amount="250")
    assert (refused["error"], refused["merchant_prepare_id"]) == (-2, None)
    assert not PaymentTransaction.objects.filter(reference="SO-1").exists()  # nothing half-opened
    assert prepare(client, click, ref="SO-1", amount="250.50")["error"] == 0


def test_every_call_is_stored_with_its_answer(client, click, payment):
    prepared = prepare(client, click)
    complete(client, click, prepared["merchant_prepare_id"], amount="1")
    rows = list(GatewayCallback.objects.filter(integration=click).order_by("id"))
    assert [(r.method, r.error_code) for r in rows] == [("prepare", None), ("complete", -2)]
    assert b"sign_string=" in bytes(rows[0].body) and rows[0].response["merchant_prepare_id"] == payment.pk


def test_another_organizations_endpoint_cannot_pay_this_order(client, other_org, click, payment):
    other = click_integration(other_org, code="click-globex")
    assert click_call(client, other, click_fields(0, merchant_trans_id=REF, amount="10000"))["error"] == -5


def test_an_unexpected_failure_is_minus_7_not_a_500(client, click, payment, monkeypatch):
    from connectors.click import views

    def broken(integration, fields):
        raise RuntimeError("bug")

    monkeypatch.setitem(views.HANDLERS, "0", broken)
    assert prepare(client, click)["error"] == -7


def test_unknown_endpoint_key_is_minus_1_and_stores_nothing(client, click, payment):
    click.webhook_key = "nope"
    assert prepare(client, click)["error"] == -1
    assert not GatewayCallback.objects.exists()


def test_a_crash_after_complete_is_resolved_by_the_repeat(client, click, payment, monkeypatch):
    from payments import callbacks

    prepared = prepare(client, click)

    def crash(*args, **kwargs):
        raise RuntimeError("process died before answering")

    monkeypatch.setattr(callbacks, "answer", crash)
    fields = click_fields(1, merchant_trans_id=REF, amount="10000", prepare_id=str(prepared["merchant_prepare_id"]))
    from urllib.parse import urlencode

    response = client.post(f"/api/payments/click/{click.webhook_key}", urlencode(fields),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 500
    monkeypatch.undo()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID
    # Click repeats the Complete: "already paid" (-4) is the spec's answer for a confirmed transaction.
    again = click_call(client, click, fields)
    assert (again["error"], again["merchant_confirm_id"]) == (-4, payment.pk)
    assert GatewayCallback.objects.filter(integration=click, answered_at__isnull=True).count() == 1


def test_a_new_click_transaction_supersedes_an_unfinished_one(client, click, payment):
    first = prepare(client, click)
    assert prepare(client, click, click_trans_id="2854003", amount="9000")["error"] == -2  # the old one stays
    second = prepare(client, click, click_trans_id="2854003")
    assert second["error"] == 0 and second["merchant_prepare_id"] != first["merchant_prepare_id"]
    assert complete(client, click, first["merchant_prepare_id"])["error"] == -9  # Click reverses the old one
    assert complete(client, click, second["merchant_prepare_id"], click_trans_id="2854003")["error"] == 0
    payment.refresh_from_db()
    assert (payment.state, payment.gateway_state) == (PaymentState.CANCELLED, "superseded")
    assert PaymentTransaction.objects.filter(reference=REF, state=PaymentState.PAID).count() == 1

"""Payme merchant API conformance, written from the public spec (Payme's Merchant API documentation): every method with
its success and error paths, the three-language messages, ms times, tiyin, states 1/2/-1/-2, the 12-hour
timeout, idempotent repeats, Basic auth -> -32504, and the call stored before it is answered."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.payme import gateway as merchant
from payments.models import GatewayCallback, PaymentState, PaymentStateChange, PaymentTransaction
from payments.signals import payment_state_changed
from tests.payments.helpers import PAYME_KEY, open_payment, payme_auth, payme_call, payme_integration

pytestmark = pytest.mark.django_db
AMOUNT = 2_500_000  # tiyin (25,000.00 UZS)
PAYME_ID = "5305e3bab097f420a62ced0b"


@pytest.fixture
def payme(org):
    return payme_integration(org)


@pytest.fixture
def payment(payme):
    return open_payment(payme, "A-10021", AMOUNT)


def call(client, payme, method, **params):
    return payme_call(client, payme, method, params)


def create(client, payme, payme_id=PAYME_ID, amount=AMOUNT, order="A-10021", time=None):
    return call(client, payme, "CreateTransaction", id=payme_id, time=time or merchant.now_ms(), amount=amount,
                account={"order_id": order})


def assert_error(answer, code, data=None):
    assert "result" not in answer, answer
    error = answer["error"]
    assert error["code"] == code
    assert set(error["message"]) == {"ru", "uz", "en"} and all(error["message"].values())
    if data is not None:
        assert error["data"] == data


# --- auth and the JSON-RPC envelope -----------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_bad_or_missing_auth_is_32504(client, payme, payment, key):
    answer = payme_call(client, payme, "CheckPerformTransaction",
                        {"amount": AMOUNT, "account": {"order_id": "A-10021"}}, key=key)
    assert_error(answer, -32504)


def test_auth_takes_the_key_after_the_last_colon_and_refuses_another_integrations_key(client, org, other_org,
                                                                                      payme, payment):
    other = payme_integration(other_org, code="payme-other")
    other.credentials = {**other.credentials, "key": "globex-key"}
    other.save()
    ok = payme_call(client, payme, "CheckPerformTransaction", {"amount": AMOUNT, "account": {"order_id": "A-10021"}})
    assert ok["result"] == {"allow": True}
    # Globex's key does not open Acme's endpoint, nor can Globex's endpoint see Acme's order.
    assert_error(payme_call(client, payme, "CheckTransaction", {"id": "x"}, key="globex-key"), -32504)
    answer = payme_call(client, other, "CheckPerformTransaction",
                        {"amount": AMOUNT, "account": {"order_id": "A-10021"}}, key="globex-key")
    assert_error(answer, -31050, "order_id")


def test_test_mode_uses_the_test_key(client, org):
    payme = payme_integration(org, code="payme-test", test_mode=True)
    assert_error(payme_call(client, payme, "CheckTransaction", {"id": "x"}, key=PAYME_KEY), -32504)
    assert_error(payme_call(client, payme, "CheckTransaction", {"id": "x"}, key="test-" + PAYME_KEY), -31003)


def test_unknown_endpoint_key_is_32504_and_stores_nothing(client, payme):
    payme.webhook_key = "nope"
    assert_error(payme_call(client, payme, "CheckTransaction", {"id": "x"}), -32504)
    assert not GatewayCallback.objects.exists()


def test_parse_error_invalid_request_and_unknown_method(client, payme):
    url = f"/api/payments/payme/{payme.webhook_key}"
    answer = client.post(url, b"{not json", content_type="application/json", HTTP_AUTHORIZATION=payme_auth())
    assert answer.status_code == 200
    assert_error(answer.json(), -32700)
    assert_error(payme_call(client, payme, "CheckPerformTransaction", ["not", "an", "object"]), -32600)
    assert_error(payme_call(client, payme, "Transfer", {}), -32601)


# --- CheckPerformTransaction ---------------------------------------------------------------------------
def test_check_perform_allows_the_right_amount(client, payme, payment):
    answer = call(client, payme, "CheckPerformTransaction", amount=AMOUNT, account={"order_id": "A-10021"})
    assert answer["result"] == {"allow": True}


@pytest.mark.parametrize("amount", [AMOUNT - 1, AMOUNT * 10, 0, -5, "2500000", 25000.0])
def test_check_perform_wrong_amount_is_31001(client, payme, payment, amount):
    assert_error(call(client, payme, "CheckPerformTransaction", amount=amount, account={"order_id": "A-10021"}),
                 -31001)


@pytest.mark.parametrize("account", [{"order_id": "A-404"}, {}, {"order": "A-10021"}, "A-10021"])
def test_check_perform_unknown_account_is_31050_with_the_field_name(client, payme, payment, account):
    assert_error(call(client, payme, "CheckPerformTransaction", amount=AMOUNT, account=account), -31050, "order_id")


def test_check_perform_of_a_paid_order_is_refused(client, payme, payment):
    create(client, payme)
    call(client, payme, "PerformTransaction", id=PAYME_ID)
    answer = call(client, payme, "CheckPerformTransaction", amount=AMOUNT, account={"order_id": "A-10021"})
    assert -31099 <= answer["error"]["code"] <= -31050


def test_configurable_account_field(client, org):
    payme = payme_integration(org, code="payme-inv", account_field="invoice_no")
    open_payment(payme, "INV-7", 100_000)
    assert call(client, payme, "CheckPerformTransaction", amount=100_000,
                account={"invoice_no": "INV-7"})["result"] == {"allow": True}
    assert_error(call(client, payme, "CheckPerformTransaction", amount=100_000, account={"order_id": "INV-7"}),
                 -31050, "invoice_no")


def test_an_order_of_our_records_is_payable_without_a_prior_payment(client, org, payme):
    from records.models import Order

    Order.objects.create(organization=org, number="SO-55", total="1500.50", currency="UZS", status="new")
    assert call(client, payme, "CheckPerformTransaction", amount=150_050,
                account={"order_id": "SO-55"})["result"] == {"allow": True}
    assert not PaymentTransaction.objects.filter(reference="SO-55").exists()  # a check writes nothing
    assert_error(call(client, payme, "CheckPerformTransaction", amount=150_000, account={"order_id": "SO-55"}),
                 -31001)
    answer = create(client, payme, amount=150_050, order="SO-55")
    tx = PaymentTransaction.objects.get(reference="SO-55")
    assert answer["result"]["transaction"] == str(tx.pk) and tx.order.number == "SO-55"


# --- CreateTransaction ------------------------------------------------------------------------------------
def test_create_transaction_and_its_idempotent_repeat(client, payme, payment):
    first = create(client, payme)["result"]
    assert first["state"] == 1 and first["transaction"] == str(payment.pk)
    assert isinstance(first["create_time"], int) and abs(first["create_time"] - merchant.now_ms()) < 60_000
    again = create(client, payme)["result"]
    assert again == first
    payment.refresh_from_db()
    assert (payment.state, payment.gateway_state, payment.gateway_transaction_id) == ("pending", "1", PAYME_ID)
    assert PaymentTransaction.objects.filter(integration=payme).count() == 1


def test_create_for_an_order_held_by_another_payme_transaction_is_an_account_error(client, payme, payment):
    create(client, payme)
    answer = create(client, payme, payme_id="another-payme-transaction-id")
    assert_error(answer, -31051, "order_id")


def test_create_wrong_amount_and_unknown_account(client, payme, payment):
    assert_error(create(client, payme, amount=AMOUNT + 100), -31001)
    assert_error(create(client, payme, order="A-nope"), -31050, "order_id")
    assert_error(call(client, payme, "CreateTransaction", id=PAYME_ID, amount=AMOUNT,
                      account={"order_id": "A-10021"}), -32600)  # no time


def test_create_after_the_previous_transaction_was_cancelled_opens_a_new_one(client, payme, payment):
    create(client, payme)
    call(client, payme, "CancelTransaction", id=PAYME_ID, reason=3)
    answer = create(client, payme, payme_id="second-attempt")["result"]
    assert answer["state"] == 1 and answer["transaction"] != str(payment.pk)
    assert PaymentTransaction.objects.filter(reference="A-10021").count() == 2


def test_create_repeat_of_a_cancelled_transaction_is_31008(client, payme, payment):
    create(client, payme)
    call(client, payme, "CancelTransaction", id=PAYME_ID, reason=3)
    assert_error(create(client, payme), -31008)


# --- PerformTransaction ---------------------------------------------------------------------------------------
def test_perform_and_its_repeat(client, payme, payment):
    changes = []

    def receiver(sender, transaction, old_state, new_state, **kw):
        changes.append((old_state, new_state))

    payment_state_changed.connect(receiver)
    try:
        create(client, payme)
        first = call(client, payme, "PerformTransaction", id=PAYME_ID)["result"]
        again = call(client, payme, "PerformTransaction", id=PAYME_ID)["result"]
    finally:
        payment_state_changed.disconnect(receiver)
    assert first == again and first["state"] == 2 and first["transaction"] == str(payment.pk)
    assert isinstance(first["perform_time"], int) and first["perform_time"] > 0
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID and payment.gateway_state == "2"
    assert changes == [("created", "pending"), ("pending", "paid")]
    assert list(PaymentStateChange.objects.filter(transaction=payment).values_list("to_state", flat=True)) == [
        "created", "pending", "paid"]


def test_perform_unknown_transaction_is_31003(client, payme):
    assert_error(call(client, payme, "PerformTransaction", id="nope"), -31003)


def test_perform_after_cancel_is_31008(client, payme, payment):
    create(client, payme)
    call(client, payme, "CancelTransaction", id=PAYME_ID, reason=1)
    assert_error(call(client, payme, "PerformTransaction", id=PAYME_ID), -31008)


def test_timeout_cancels_with_reason_4_and_perform_is_31008(client, payme, payment):
    create(client, payme)
    PaymentTransaction.objects.filter(pk=payment.pk).update(
        pending_at=timezone.now() - timedelta(milliseconds=merchant.TIMEOUT_MS + 1000))
    assert_error(call(client, payme, "PerformTransaction", id=PAYME_ID), -31008)
    check = call(client, payme, "CheckTransaction", id=PAYME_ID)["result"]
    assert check["state"] == -1 and check["reason"] == 4 and check["cancel_time"] > 0 and check["perform_time"] == 0
    payment.refresh_from_db()
    assert payment.state == PaymentState.CANCELLED


def test_not_yet_timed_out_transaction_performs(client, payme, payment):
    create(client, payme)
    PaymentTransaction.objects.filter(pk=payment.pk).update(
        pending_at=timezone.now() - timedelta(milliseconds=merchant.TIMEOUT_MS - 60_000))
    assert call(client, payme, "PerformTransaction", id=PAYME_ID)["result"]["state"] == 2


def test_create_with_a_payme_time_older_than_the_timeout_is_31008(client, payme, payment):
    assert_error(create(client, payme, time=merchant.now_ms() - merchant.TIMEOUT_MS - 1000), -31008)


# --- CancelTransaction ------------------------------------------------------------------------------------------
def test_cancel_before_perform_and_repeat(client, payme, payment):
    create(client, payme)
    first = call(client, payme, "CancelTransaction", id=PAYME_ID, reason=3)["result"]
    again = call(client, payme, "CancelTransaction", id=PAYME_ID, reason=3)["result"]
    assert first == again and first["state"] == -1 and first["cancel_time"] > 0
    payment.refresh_from_db()
    assert payment.state == PaymentState.CANCELLED and payment.cancel_reason == "3"


def test_cancel_after_perform_is_minus_2_and_a_refund(client, payme, payment):
    create(client, payme)
    call(client, payme, "PerformTransaction", id=PAYME_ID)
    answer = call(client, payme, "CancelTransaction", id=PAYME_ID, reason=5)["result"]
    assert answer["state"] == -2
    payment.refresh_from_db()
    assert payment.state == PaymentState.REFUNDED and payment.refunded_amount == AMOUNT
    check = call(client, payme, "CheckTransaction", id=PAYME_ID)["result"]
    assert check["state"] == -2 and check["reason"] == 5 and check["perform_time"] > 0


def test_cancel_after_perform_of_a_fulfilled_order_is_31007(client, org, payme):
    from records.models import Order

    Order.objects.create(organization=org, number="SO-9", total="100.00", currency="UZS", status="delivered")
    create(client, payme, amount=10_000, order="SO-9")
    call(client, payme, "PerformTransaction", id=PAYME_ID)
    assert_error(call(client, payme, "CancelTransaction", id=PAYME_ID, reason=5), -31007)
    assert PaymentTransaction.objects.get(reference="SO-9").state == PaymentState.PAID


def test_cancel_unknown_transaction_is_31003(client, payme):
    assert_error(call(client, payme, "CancelTransaction", id="nope", reason=1), -31003)


# --- CheckTransaction, GetStatement ----------------------------------------------------------------------------
def test_check_transaction_fields(client, payme, payment):
    created = create(client, payme)["result"]
    check = call(client, payme, "CheckTransaction", id=PAYME_ID)["result"]
    assert check == {"create_time": created["create_time"], "perform_time": 0, "cancel_time": 0,
                     "transaction": str(payment.pk), "state": 1, "reason": None}


def test_get_statement_lists_transactions_by_payme_time(client, payme, payment):
    t0 = merchant.now_ms()
    create(client, payme, time=t0)
    open_payment(payme, "A-2", 500)
    create(client, payme, payme_id="p2", amount=500, order="A-2", time=t0 + 10)
    rows = call(client, payme, "GetStatement", **{"from": t0, "to": t0 + 10})["result"]["transactions"]
    assert [r["id"] for r in rows] == [PAYME_ID, "p2"]
    assert rows[0]["account"] == {"order_id": "A-10021"} and rows[0]["amount"] == AMOUNT and rows[0]["state"] == 1
    assert call(client, payme, "GetStatement", **{"from": t0 + 1, "to": t0 + 5})["result"] == {"transactions": []}


# --- ChangePassword, SetFiscalData -----------------------------------------------------------------------------
def test_change_password_replaces_the_key_and_is_not_stored_in_clear(client, payme):
    assert call(client, payme, "ChangePassword", password="new-key-123")["result"] == {"success": True}
    assert_error(payme_call(client, payme, "CheckTransaction", {"id": "x"}), -32504)
    assert_error(payme_call(client, payme, "CheckTransaction", {"id": "x"}, key="new-key-123"), -31003)
    stored = GatewayCallback.objects.filter(method="ChangePassword").get()
    assert b"new-key-123" not in bytes(stored.body)
    from integrations.models import CredentialAudit

    audit = CredentialAudit.objects.get(integration=payme)
    assert (audit.fields, audit.via) == (["key"], "payme.ChangePassword")


def test_set_fiscal_data_is_kept(client, payme, payment):
    create(client, payme)
    receipt = {"receipt_id": 7, "status_code": 0}
    assert call(client, payme, "SetFiscalData", id=PAYME_ID, type="PERFORM", fiscal_data=receipt)["result"] == {
        "success": True}
    payment.refresh_from_db()
    assert payment.data["fiscal"]["PERFORM"] == receipt


# --- stored before answered; a crash between change and answer -------------------------------------------------
def test_every_call_is_stored_with_its_answer_and_secrets_masked(client, payme, payment):
    payme_call(client, payme, "CheckTransaction", {"id": "x"}, key="bad")
    create(client, payme)
    rows = list(GatewayCallback.objects.filter(integration=payme).order_by("id"))
    assert [r.method for r in rows] == ["CheckTransaction", "CreateTransaction"]
    assert rows[0].error_code == -32504 and rows[1].error_code is None and rows[1].transaction_id == payment.pk
    assert rows[1].response["result"]["state"] == 1
    assert json.loads(bytes(rows[1].body))["params"]["id"] == PAYME_ID
    from integrations.redaction import MASK

    assert rows[1].headers["authorization"] == MASK  # Basic base64("Paycom:<key>") is the key itself


def test_a_crash_after_the_state_change_is_resolved_by_the_repeat(client, payme, payment, monkeypatch):
    from payments import callbacks

    create(client, payme)

    def crash(*args, **kwargs):
        raise RuntimeError("process died before answering")

    monkeypatch.setattr(callbacks, "answer", crash)
    body = {"jsonrpc": "2.0", "id": 99, "method": "PerformTransaction", "params": {"id": PAYME_ID}}
    response = client.post(f"/api/payments/payme/{payme.webhook_key}", body, content_type="application/json",
                           HTTP_AUTHORIZATION=payme_auth())
    assert response.status_code == 500  # Payme got no protocol answer and will repeat the call
    monkeypatch.undo()
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID  # the change committed
    unanswered = GatewayCallback.objects.get(integration=payme, answered_at__isnull=True)
    assert json.loads(bytes(unanswered.body))["method"] == "PerformTransaction"  # the call is on record
    answer = call(client, payme, "PerformTransaction", id=PAYME_ID)["result"]
    assert answer["state"] == 2 and answer["perform_time"] == merchant.ms(payment.paid_at)


def test_an_unexpected_failure_is_a_system_error_not_a_500(client, payme, payment, monkeypatch):
    def broken(integration, params):
        raise RuntimeError("bug")

    monkeypatch.setitem(merchant.METHODS, "CheckTransaction", broken)
    assert_error(call(client, payme, "CheckTransaction", id=PAYME_ID), -32400)
    assert GatewayCallback.objects.get(method="CheckTransaction").error_code == -32400


def test_create_repeat_of_a_performed_transaction_is_31008_and_changes_nothing(client, payme, payment):
    create(client, payme)
    performed = call(client, payme, "PerformTransaction", id=PAYME_ID)["result"]
    assert_error(create(client, payme), -31008)
    assert call(client, payme, "CheckTransaction", id=PAYME_ID)["result"]["perform_time"] == performed["perform_time"]
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID

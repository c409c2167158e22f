"""Notifications: a real SMTP server as primary, failover to a second one and to an ESP sandbox,
idempotency, recipient refusals, phone numbers, templates, rate limits and alert rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from notifications import services
from notifications.models import AlertRule, Delivery, DeliveryStatus, Message, NotificationTemplate
from notifications.recipients import InvalidRecipient, normalise

from .conftest import closed_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _deliver(message: Message) -> Message:
    services.deliver(message.pk)
    message.refresh_from_db()
    return message


def test_primary_down_fails_over_to_the_next_smtp_server_and_logs_the_chain(org, smtp_server, smtp_integration):
    down = smtp_integration(org, closed_port(), code="primary", priority=1)
    smtp_integration(org, smtp_server.port, code="backup", priority=2)
    message = _deliver(services.send(org, "email", ["a@example.com", "b@example.com"], context={
        "subject": "Hello", "body": "Body"}))
    assert message.status == "sent"
    assert sorted(m["to"][0] for m in smtp_server.messages) == ["a@example.com", "b@example.com"]
    for delivery in message.deliveries.all():
        first, second = delivery.attempts
        assert first["integration"] == down.pk and not first["ok"] and "connection" in first["error"].lower()
        assert second["ok"] and delivery.provider == "smtp"
    assert down.logs.filter(level="error", action="smtp.send").count() == 2


def test_same_idempotency_key_is_one_message_sent_once(org, smtp_server, smtp_integration):
    smtp_integration(org, smtp_server.port)
    first = services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"},
                          idempotency_key="order-42-confirmation")
    again = services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"},
                          idempotency_key="order-42-confirmation")
    assert again.pk == first.pk
    services.deliver(first.pk)
    services.deliver(first.pk)  # a retried task finds nothing queued
    assert len(smtp_server.messages) == 1


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(org, smtp_server, smtp_integration):
    smtp_integration(org, smtp_server.port)
    message = services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"})
    Delivery.objects.filter(message=message).update(status=DeliveryStatus.SENDING)  # another worker has it
    services.deliver(message.pk)
    assert smtp_server.messages == []


def test_every_provider_down_keeps_the_delivery_queued_for_a_later_round(org, smtp_integration):
    smtp_integration(org, closed_port())
    message = _deliver(services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"}))
    delivery = message.deliveries.get()
    assert message.status == "queued" and delivery.status == DeliveryStatus.QUEUED
    assert delivery.rounds == 1 and delivery.next_attempt_at is not None


def test_no_provider_is_a_clear_error(org):
    message = _deliver(services.send(org, "sms", ["+447911123456"], context={"body": "hi"}))
    assert "no active sms provider configured" in message.deliveries.get().attempts[0]["error"]


def test_rate_limit_reached_queues_the_rest_not_drops_it(org, smtp_server, smtp_integration, settings):
    import redis

    settings.NOTIFICATIONS_EMAIL_PER_MINUTE = 3
    settings.NOTIFICATIONS_RATE_MAX_WAIT = 0
    smtp_integration(org, smtp_server.port)
    message = services.send(org, "email", [f"u{i}@example.com" for i in range(5)],
                            context={"subject": "s", "body": "b"})
    retry_in = services.deliver(message.pk)
    assert retry_in is not None and retry_in > 0
    statuses = sorted(message.deliveries.values_list("status", flat=True))
    assert statuses == ["queued", "queued", "sent", "sent", "sent"]
    assert len(smtp_server.messages) == 3
    # The budget refills (here: we drop the bucket instead of waiting 40 s): the rest goes out.
    redis.Redis.from_url(settings.REDIS_URL).delete(f"hub:ratelimit:notify:{org.pk}:email")
    Delivery.objects.filter(message=message).update(next_attempt_at=None)
    services.deliver(message.pk)
    assert sorted(m["to"][0] for m in smtp_server.messages) == [f"u{i}@example.com" for i in range(5)]


def test_phone_numbers_are_normalised_with_phonenumbers(settings):
    assert normalise("sms", "+44 7911 123456") == "+447911123456"
    settings.NOTIFICATIONS_DEFAULT_REGION = "GB"
    assert normalise("sms", "07911 123456") == "+447911123456"
    assert normalise("sms", "+998 90 123 45 67") == "+998901234567"
    for bad in ("12", "+1 555", "not a number"):
        with pytest.raises(InvalidRecipient):
            normalise("sms", bad)


def test_invalid_recipients_fail_alone_and_duplicates_collapse(org, smtp_server, smtp_integration):
    smtp_integration(org, smtp_server.port)
    message = _deliver(services.send(org, "email", ["a@example.com", "a@EXAMPLE.com", "nope"],
                                     context={"subject": "s", "body": "b"}))
    rows = dict(message.deliveries.values_list("recipient", "status"))
    assert rows == {"a@example.com": "sent", "nope": "failed"}
    assert message.status == "partial"


def test_an_organization_template_overrides_the_default(org):
    NotificationTemplate.objects.create(organization=org, name="low_stock_alert", channel="sms",
                                        body="LOW {{ sku }}: {{ quantity }}")
    rendered = services.render(org, "low_stock_alert", "sms", {"sku": "A-1", "quantity": 2})
    assert rendered.body == "LOW A-1: 2"
    with pytest.raises(services.NotificationError):
        services.render(org, "nope", "sms", {})


def test_another_organizations_providers_are_never_used(org, other_org, smtp_server, smtp_integration):
    smtp_integration(other_org, smtp_server.port)
    message = _deliver(services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"}))
    assert smtp_server.messages == []
    assert "no active email provider" in message.deliveries.get().attempts[0]["error"]


def test_low_stock_rule_notifies_once_until_the_level_recovers(org, make_integration):
    from records.models import Location, Product, StockLevel
    from records.upsert import UpsertResult
    from syncjobs.runner import JobRun
    from syncjobs.signals import records_written

    integ = make_integration(org, "demo", type="inventory")
    product = Product.objects.create(organization=org, integration=integ, external_id="p1", name="Milk", sku="MLK",
                                     attributes={"low_stock_threshold": "5"})
    store = Location.objects.create(organization=org, integration=integ, external_id="l1", name="Main store")
    level = StockLevel.objects.create(organization=org, integration=integ, external_id="s1", product=product,
                                      location=store, quantity=Decimal("3"))
    AlertRule.objects.create(organization=org, name="low stock", channel="sms", recipients=["+447911123456"],
                             threshold=Decimal("1"))

    def synced(quantity: str) -> None:
        StockLevel.objects.filter(pk=level.pk).update(quantity=Decimal(quantity))
        with transaction.atomic():
            records_written.send(sender=JobRun, job=None, integration=integ, model=StockLevel,
                                 result=UpsertResult(updated=1, updated_ids=["s1"]), deleted_ids=[])

    synced("3")
    synced("2")  # still low: no second alert
    assert Message.objects.filter(organization=org, template="low_stock_alert").count() == 1
    assert "Milk" in Message.objects.get().body and "Main store" in Message.objects.get().body
    synced("9")  # recovered
    synced("4")  # low again: a new alert
    assert Message.objects.filter(organization=org, template="low_stock_alert").count() == 2


def test_a_send_lost_with_its_worker_is_marked_unknown_not_resent(org, smtp_server, smtp_integration):
    from datetime import timedelta

    from django.utils import timezone

    smtp_integration(org, smtp_server.port)
    message = services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"})
    Delivery.objects.filter(message=message).update(status=DeliveryStatus.SENDING,
                                                    claimed_at=timezone.now() - timedelta(hours=1))
    assert services.reap_lost_sends() == 1
    message.refresh_from_db()
    assert message.status == "failed" and message.deliveries.get().status == DeliveryStatus.UNKNOWN
    services.deliver(message.pk)
    assert smtp_server.messages == []


def test_a_provider_is_chosen_by_what_it_sends_not_by_the_type_field(org, smtp_server, make_integration):
    make_integration(org, "smtp", type="api", config={"host": "127.0.0.1", "port": smtp_server.port,
                                                      "from_email": "a@acme.test", "priority": "junk"})
    assert _deliver(services.send(org, "email", ["a@example.com"], context={"subject": "s", "body": "b"})).status \
        == "sent"


def test_alert_rule_recipients_are_checked(org):
    from django.core.exceptions import ValidationError

    rule = AlertRule(organization=org, name="r", channel="sms", recipients=["not a phone"])
    with pytest.raises(ValidationError):
        rule.full_clean()


def test_sms_fails_over_from_a_twilio_5xx_to_vonage(org, make_integration, live_server):
    from .sms import control

    sid = "AC" + "2" * 32
    make_integration(org, "twilio", type="sms", base_url=f"{live_server.url}/sandbox/twilio",
                     credentials={"account_sid": sid, "auth_token": f"{sid}-secret"},
                     config={"sender": "+14155550123", "priority": 1})
    make_integration(org, "vonage", type="sms", base_url=f"{live_server.url}/sandbox/vonage",
                     credentials={"api_key": "acme-sms", "api_secret": "acme-sms-secret"},
                     config={"sender": "Acme", "priority": 2})
    control(live_server, "vonage", "acme-sms", action="reset")
    control(live_server, "twilio", sid, action="fail", status=500, times=1)
    message = _deliver(services.send(org, "sms", ["+447911123456"], template="low_stock_alert",
                                     context={"product_name": "Milk", "quantity": 2, "location_name": "Main"}))
    delivery = message.deliveries.get()
    assert delivery.provider == "vonage" and [a["provider"] for a in delivery.attempts] == ["twilio", "vonage"]
    assert "500" in delivery.attempts[0]["error"] and delivery.attempts[0]["kind"] == "transient"
    (sent,) = control(live_server, "vonage", "acme-sms", action="outbox")["outbox"]
    assert sent["body"] == "Low stock: Milk 2 left at Main" and sent["to"] == "447911123456"
    assert control(live_server, "twilio", sid, action="outbox")["outbox"] == []


def test_expiry_rule_notifies_once_per_batch_entering_its_window(org, make_integration):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.tasks import check_expiry_alerts
    from records.models import Product, ProductRelation

    integ = make_integration(org, "demo", type="inventory")
    product = Product.objects.create(organization=org, integration=integ, external_id="p1", name="Yoghurt")
    soon = ProductRelation.objects.create(organization=org, integration=integ, external_id="b1", product=product,
                                          kind="batch", value="LOT-1", expires_at=timezone.now() + timedelta(days=3))
    ProductRelation.objects.create(organization=org, integration=integ, external_id="b2", product=product,
                                   kind="batch", value="LOT-2", expires_at=timezone.now() + timedelta(days=40))
    AlertRule.objects.create(organization=org, name="expiry", kind="expiry", template="expiry_alert",
                             channel="email", recipients=["qa@example.com"], threshold=Decimal("7"))
    assert check_expiry_alerts() == 1
    assert check_expiry_alerts() == 0  # once per batch
    message = Message.objects.get(template="expiry_alert")
    assert "LOT-1" in message.body and soon.expires_at.date().isoformat() in message.body


def test_daily_report_rule_sends_once_a_day_with_the_days_figures(org, make_integration):
    from django.utils import timezone

    from notifications.tasks import send_daily_reports
    from syncjobs.models import SyncJob

    integ = make_integration(org, "demo", type="inventory")
    now = timezone.now()
    SyncJob.objects.create(organization=org, integration=integ, stream="products", status="completed",
                           completed_at=now, records_created=7, records_updated=3)
    SyncJob.objects.create(organization=org, integration=integ, stream="orders", status="failed", completed_at=now)
    AlertRule.objects.create(organization=org, name="daily", kind="daily_report", template="daily_report",
                             channel="email", recipients=["boss@example.com"])
    assert send_daily_reports() == 1
    assert send_daily_reports() == 0
    body = Message.objects.get(template="daily_report").body
    assert "Syncs: 1 completed, 1 failed. Records written: 10. Webhook failures: 0." in body


def test_a_broken_template_never_fails_the_sync_page_it_watches(org, make_integration):
    from django.core.exceptions import ValidationError

    from records.models import Location, Product, StockLevel
    from records.upsert import UpsertResult
    from syncjobs.runner import JobRun
    from syncjobs.signals import records_written

    broken = NotificationTemplate(organization=org, name="low_stock_alert", channel="sms", body="{% if %}")
    with pytest.raises(ValidationError):
        broken.full_clean()  # the admin refuses it
    broken.save()  # written around the admin: the alert fails, not the sync
    integ = make_integration(org, "demo", type="inventory")
    product = Product.objects.create(organization=org, integration=integ, external_id="p1", name="Milk")
    store = Location.objects.create(organization=org, integration=integ, external_id="l1", name="Main")
    StockLevel.objects.create(organization=org, integration=integ, external_id="s1", product=product,
                              location=store, quantity=Decimal("0"))
    AlertRule.objects.create(organization=org, name="low", channel="sms", recipients=["+447911123456"],
                             threshold=Decimal("5"))
    with transaction.atomic():
        records_written.send(sender=JobRun, job=None, integration=integ, model=StockLevel,
                             result=UpsertResult(updated=1, updated_ids=["s1"]), deleted_ids=[])
    assert not Message.objects.exists()

"""Messages, their per-recipient deliveries, editable templates and alert rules."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from integrations.models import Integration, Organization

from .recipients import InvalidRecipient, normalise


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class TemplateName(models.TextChoices):
    LOW_STOCK_ALERT = "low_stock_alert", "Low stock alert"
    EXPIRY_ALERT = "expiry_alert", "Expiry alert"
    DAILY_REPORT = "daily_report", "Daily report"
    PURCHASE_ORDER_CREATED = "purchase_order_created", "Purchase order created"
    CRITICAL_ALERT = "critical_alert", "Critical alert"
    CUSTOM = "custom", "Custom"


class NotificationTemplate(models.Model):
    """An organization's version of a template (Django template syntax); built-in defaults otherwise."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64, choices=TemplateName.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    subject = models.CharField(max_length=300, blank=True, help_text="E-mail only. Django template syntax.")
    body = models.TextField(help_text="Django template syntax, e.g. {{ product.name }}.")
    html_body = models.TextField(blank=True, help_text="E-mail only, optional.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name", "channel"], name="uniq_template")]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError
        from django.template import Template, TemplateSyntaxError

        for field in ("subject", "body", "html_body"):
            try:
                Template(getattr(self, field) or "")
            except TemplateSyntaxError as exc:
                raise ValidationError({field: f"Template error: {exc}"}) from None


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    PARTIAL = "partial", "Partly sent"
    FAILED = "failed", "Failed"


class Message(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The caller's key: the same key twice is the same message (never sent twice).
    idempotency_key = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    template = models.CharField(max_length=64, choices=TemplateName.choices, default=TemplateName.CUSTOM)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "idempotency_key"], name="uniq_message_key")]

    def __str__(self) -> str:
        return f"{self.channel} {self.template} {self.subject or self.body[:40]}"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # A worker died while a provider call was in flight: it may or may not have gone out. Not
    # re-sent automatically (a duplicate SMS is worse than a visible "unknown"); resend by hand.
    UNKNOWN = "unknown", "Unknown (worker lost mid-send)"


class Delivery(models.Model):
    """One recipient of one message: its status, the provider that took it and every attempt."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    recipient = models.CharField(max_length=320)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=64, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    # [{"at", "integration", "provider", "ok", "error", "kind"}] in order: the failover chain.
    attempts = models.JSONField(default=list, blank=True)
    rounds = models.PositiveSmallIntegerField(default=0, help_text="Passes over the provider chain.")
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["message", "recipient"], name="uniq_delivery_recipient")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due")]

    def __str__(self) -> str:
        return f"{self.recipient} {self.status}"

    @property
    def idempotency_key(self) -> str:
        return f"{self.message.uid}:{self.pk}"


class AlertKind(models.TextChoices):
    LOW_STOCK = "low_stock", "Stock below threshold"
    EXPIRY = "expiry", "Batch expires within threshold days"
    DAILY_REPORT = "daily_report", "Daily report (sync, records, webhook failures)"


class AlertRule(models.Model):
    """E.g. notify these recipients when a synced stock level drops below a product's threshold."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=AlertKind.choices, default=AlertKind.LOW_STOCK)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    template = models.CharField(max_length=64, choices=TemplateName.choices, default=TemplateName.LOW_STOCK_ALERT)
    recipients = models.JSONField(default=list, help_text='E-mail addresses or phone numbers: ["+4477..."].')
    threshold = models.DecimalField(
        max_digits=14, decimal_places=3, default=0,
        help_text="Low stock: used when the product has no attributes.low_stock_threshold of its own. "
                  "Expiry: days ahead.",
    )
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="Only stock synced by this integration (empty: any).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError


        if not isinstance(self.recipients, list) or not self.recipients:
            raise ValidationError({"recipients": "A list of e-mail addresses or phone numbers."})
        for value in self.recipients:
            try:
                normalise(self.channel, str(value))
            except InvalidRecipient as exc:
                raise ValidationError({"recipients": str(exc)}) from None


class AlertState(models.Model):
    """An alert that fired for one subject (a stock level): it fires again only after it cleared."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    subject = models.CharField(max_length=200)
    fired_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "subject"], name="uniq_alert_subject")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.subject} {'cleared' if self.cleared_at else 'open'}"

"""The outbox of domain events, the destinations they go to (buses, webhook subscriptions) and the
per-destination delivery state with its attempt log."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from integrations.fields import EncryptedTextField
from integrations.models import Organization


class OutboxEvent(models.Model):
    """Written in the same transaction as the change it announces; published after the commit."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=100, help_text="Schema name, e.g. record.updated.")
    version = models.PositiveSmallIntegerField(default=1, help_text="Schema version the data was validated against.")
    # Ordering key: events of one aggregate reach each destination in the order they were written.
    aggregate = models.CharField(max_length=200)
    data = models.JSONField()
    occurred_at = models.DateTimeField(default=timezone.now)
    fanned_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["id"], condition=models.Q(fanned_out=False), name="outbox_pending")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.aggregate}"

    def envelope(self) -> dict:
        """What every destination receives."""
        return {"id": str(self.uid), "type": self.type, "version": self.version, "aggregate": self.aggregate,
                "organization": self.organization_id, "occurred_at": self.occurred_at.isoformat(), "data": self.data}


class DestinationKind(models.TextChoices):
    KAFKA = "kafka", "Kafka topic"
    RABBITMQ = "rabbitmq", "RabbitMQ exchange"
    REDIS_STREAM = "redis_stream", "Redis stream"
    WEBHOOK = "webhook", "Webhook subscription (Standard Webhooks)"


class Destination(models.Model):
    """A bus or an outbound webhook subscription of an organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=DestinationKind.choices)
    target = models.CharField(
        max_length=1000,
        help_text="Kafka topic, RabbitMQ exchange, Redis stream key, or the webhook URL (http/https).",
    )
    connection = EncryptedTextField(
        help_text="Encrypted. Broker URL (amqp://…, redis://…, Kafka bootstrap servers) or the webhook's "
                  "whsec_ signing secret.",
    )
    options = models.JSONField(default=dict, blank=True, help_text="Client options, e.g. Kafka producer settings.")
    event_types = models.JSONField(default=list, blank=True, help_text='Types to send ("record.*"); empty: all.')
    is_active = models.BooleanField(default=True)
    # One publisher per destination at a time (ordered delivery): a lease a dead worker lets lapse.
    locked_until = models.DateTimeField(null=True, blank=True)
    # After a failure: no attempt before this time (backoff); later events wait behind the failed one.
    paused_until = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def wants(self, event_type: str) -> bool:
        if not self.event_types:
            return True
        return any(event_type == t or (t.endswith("*") and event_type.startswith(t[:-1])) for t in self.event_types)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (retries exhausted)"


class EventDelivery(models.Model):
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event_id"]
        verbose_name_plural = "event deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "destination"], name="uniq_event_destination")]
        indexes = [models.Index(fields=["destination", "event"], condition=models.Q(status="pending"),
                                name="event_delivery_pending")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.destination_id} {self.status}"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per try (webhook status and answer, broker error)."""

    delivery = models.ForeignKey(EventDelivery, on_delete=models.CASCADE, related_name="log")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {'ok' if self.ok else self.error[:60]}"

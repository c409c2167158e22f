"""The webhook inbox: every delivery stored raw before we answer, processed later in a worker."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from integrations.models import Integration, Organization


class EventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored"
    REJECTED = "rejected", "Rejected"  # failed verification: stored for the record, never processed


class WebhookEvent(models.Model):
    # Every index costs on the receive path's INSERT, so only the ones the inbox reads by: the unique
    # (integration, dedupe_key) also serves lookups by integration; (organization, received_at) the API
    # list; two small partial indexes the worker's claim and lease queries.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_events", db_index=False
    )
    provider = models.CharField(max_length=64, blank=True)
    endpoint = models.CharField(max_length=500, blank=True)
    event_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=255, blank=True)
    # event_id, or "sha256:<body hash>" when the provider sends none; NULL for rejected deliveries.
    dedupe_key = models.CharField(max_length=300, null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    content_type = models.CharField(max_length=200, blank=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.PENDING)
    rejection_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_retries = models.PositiveIntegerField(default=5)
    # Pending: not before this time (retry backoff). Processing: the claim's lease expiry.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    result = models.TextField(blank=True)
    duplicates = models.PositiveIntegerField(default=0, help_text="Repeated deliveries answered without processing.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "dedupe_key"], name="uniq_webhook_delivery"),
        ]
        indexes = [
            # The list's order; status and integration INCLUDEd for the dashboard's 24 h per-hour chart
            # and failed count (index-only over the 24 h range).
            models.Index(fields=["organization", "-received_at"], name="webhook_org_received",
                         include=["status", "integration"]),
            models.Index(fields=["id"], condition=models.Q(status="pending"), name="webhook_pending"),
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="processing"), name="webhook_processing_lease"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.provider} {self.event_type or self.event_id} {self.status}"

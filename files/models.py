from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from integrations.models import Organization


class FileKind(models.TextChoices):
    REPORT = "report", "Report (e.g. reconciliation export)"
    INVOICE = "invoice", "Invoice document"
    ARCHIVE = "archive", "Raw sync payload archive"
    OTHER = "other", "Other"


class StoredFile(models.Model):
    """A document kept in the configured store; the row is its metadata and where it went."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=FileKind.choices, default=FileKind.OTHER)
    name = models.CharField(max_length=255, help_text="Original file name.")
    key = models.CharField(max_length=500, help_text="Key in the store, under the organization's prefix.")
    storage = models.CharField(max_length=32, help_text="Which store holds it: primary or fallback.")
    backend = models.CharField(max_length=32, help_text="s3, gcs, azure or local.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.backend})"

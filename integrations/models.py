"""Tenants, access, integrations and their call log."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import models
from django.utils import timezone

from .fields import EncryptedJSONField, EncryptedTextField


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    VIEWER = "viewer", "Viewer"


# What each role may do: viewers read, managers also operate (sync, retry, cancel), admins also
# configure (integrations, credentials, API keys), owners also manage members.
ROLE_RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[minimum]


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


API_KEY_PREFIX = "ihk_"


def hash_api_key(raw_key: str) -> str:
    # Keys are 32 random bytes: a fast hash is enough (no dictionary to attack), and it keeps
    # authentication to one indexed lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, organization: Organization, name: str, role: str, created_by=None) -> tuple[ApiKey, str]:
        """Create a key; the raw secret is returned once and never stored."""
        raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            organization=organization,
            name=name,
            role=role,
            prefix=raw[:12],
            key_hash=hash_api_key(raw),
            created_by=created_by,
        )
        return key, raw

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class IntegrationType(models.TextChoices):
    PAYMENT_GATEWAY = "payment_gateway", "Payment gateway"
    ERP = "erp", "ERP"
    ACCOUNTING = "accounting", "Accounting"
    CRM = "crm", "CRM"
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    SHIPPING = "shipping", "Shipping"
    INVENTORY = "inventory", "Inventory"
    API = "api", "API"
    WEBHOOK = "webhook", "Webhook"


class IntegrationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ERROR = "error", "Error"
    TESTING = "testing", "Testing"


def new_webhook_key() -> str:
    return secrets.token_urlsafe(24)


def default_sync_interval() -> int:
    """A new integration's schedule: SYNC_DEFAULT_INTERVAL_MINUTES (read when the row is made)."""
    return int(settings.SYNC_DEFAULT_INTERVAL_MINUTES)


# Set by connectors.apps at start-up: integration -> its connector's callback URL, or None (unknown provider).
_callback_url_resolver: Callable[[Integration], str | None] | None = None


def set_callback_url_resolver(resolver: Callable[[Integration], str | None]) -> None:
    global _callback_url_resolver
    _callback_url_resolver = resolver


class Integration(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=100, help_text="Unique within the organization.")
    type = models.CharField(max_length=32, choices=IntegrationType.choices, default=IntegrationType.API)
    provider = models.CharField(max_length=64, help_text="A provider from the connector registry.")
    status = models.CharField(max_length=16, choices=IntegrationStatus.choices, default=IntegrationStatus.ACTIVE)
    description = models.TextField(blank=True)
    base_url = models.URLField(max_length=500, blank=True)
    credentials = EncryptedJSONField(help_text="Encrypted. Write-only in the API, masked in the admin.")
    webhook_secret = EncryptedTextField(help_text="Encrypted. Verifies inbound webhooks.")
    # Tokens obtained from the provider (access tokens, session keys): encrypted like credentials.
    token_cache = EncryptedJSONField(editable=False)
    webhook_key = models.CharField(max_length=64, unique=True, default=new_webhook_key, editable=False)
    sync_interval_minutes = models.PositiveIntegerField(default=default_sync_interval, help_text="0 = manual only.")
    auto_sync_enabled = models.BooleanField(default=False)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    config = models.JSONField(default=dict, blank=True, help_text="Validated against the connector's schema.")
    metadata = models.JSONField(default=dict, blank=True, help_text="Statistics kept by the hub.")
    last_connected_at = models.DateTimeField(null=True, blank=True)
    connection_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="uniq_integration_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"

    @property
    def webhook_url(self) -> str:
        return f"{settings.HUB_PUBLIC_URL}/api/webhooks/receive/{self.webhook_key}"

    @property
    def callback_url(self) -> str:
        """The URL the provider calls: its connector decides (webhook receiver by default).

        The ground does not know the connectors: the connectors app plugs its lookup in at start-up
        (:func:`set_callback_url_resolver`), so tenancy and secrets import nothing above them.
        """
        if _callback_url_resolver is not None:
            resolved = _callback_url_resolver(self)
            if resolved is not None:
                return resolved
        return self.webhook_url


class CredentialAudit(models.Model):
    """Who changed an integration's secrets and when; never the values."""

    # The trail outlives the integration: deleting it keeps the rows (and the code it had).
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.SET_NULL, related_name="credential_audits"
    )
    integration_code = models.CharField(max_length=100, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    action = models.CharField(max_length=32)  # created, updated, cleared, rotated
    fields = models.JSONField(default=list, help_text="Names of the secret fields that changed.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    via = models.CharField(max_length=32, blank=True)  # api, admin, command
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {', '.join(self.fields)} on {self.integration_id}"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    INTERNAL = "internal", "Internal"


class IntegrationLog(models.Model):
    """One row per provider call, webhook delivery or notable event; secrets redacted."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="logs")
    action = models.CharField(max_length=64, db_index=True)
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.OUTBOUND)
    level = models.CharField(max_length=8, default="info")  # info, warning, error
    method = models.CharField(max_length=8, blank=True)
    endpoint = models.CharField(max_length=1000, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_excerpt = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    sync_job_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # One integration's logs, newest first; the INCLUDEd columns let the dashboard's 24 h latency
            # percentiles and error rate per integration read only this index's 24 h range.
            models.Index(fields=["integration", "-created_at"], name="intlog_integration_created",
                         include=["direction", "duration_ms", "status_code", "level"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.method} {self.endpoint} {self.status_code or ''}".strip()

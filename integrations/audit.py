"""Credential audit: who changed which secret fields of an integration, when and through what.

Only field names are recorded, never values. Shared by the API, the admin and management commands.
"""

from __future__ import annotations

from typing import Any

from .auth import ApiKeyPrincipal
from .models import CredentialAudit, Integration
from .redaction import MASK

WEBHOOK_SECRET = "webhook_secret"  # noqa: S105 - a field name, not a secret


def is_mask(value: Any) -> bool:
    return value == MASK


def mask_credentials(credentials: dict[str, Any] | None) -> dict[str, str]:
    """Every set field shown as the mask; unset fields are left out."""
    return {name: MASK for name, value in (credentials or {}).items() if value not in (None, "")}


def merge_credentials(current: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Per-field merge: the mask keeps the stored value, ``None`` removes the field, anything else replaces."""
    merged = dict(current or {})
    for name, value in incoming.items():
        if is_mask(value):
            continue
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def snapshot(credentials: dict[str, Any] | None, webhook_secret: str = "") -> dict[str, Any]:
    """The secret values of an integration, by audit field name (kept in memory only, to diff)."""
    return {**(credentials or {}), WEBHOOK_SECRET: webhook_secret or ""}


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Names of the secret fields whose value differs between two snapshots."""
    return sorted(name for name in set(old) | set(new) if (old.get(name) or "") != (new.get(name) or ""))


def actor(user: Any) -> dict[str, Any]:
    """The audit's who: a user, or the API key a request came with."""
    if isinstance(user, ApiKeyPrincipal):
        return {"api_key": user.api_key, "user": None}
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None):
        return {"user": user, "api_key": None}
    return {"user": None, "api_key": None}


def record_change(
    integration: Integration, fields: list[str], *, action: str, via: str, user: Any = None
) -> CredentialAudit | None:
    """Write one audit row if any secret field changed."""
    if not fields:
        return None
    return CredentialAudit.objects.create(
        integration=integration,
        integration_code=integration.code,
        organization_id=integration.organization_id,
        action=action,
        fields=list(fields),
        via=via,
        **actor(user),
    )


def audit_action(created: bool, new: dict[str, Any], fields: list[str]) -> str:
    if created:
        return "created"
    if all(new.get(name) in (None, "") for name in fields):
        return "cleared"
    return "updated"

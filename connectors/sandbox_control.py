"""The one switch for every sandbox's control endpoint (fault injection, data changes, webhook sends)."""

from __future__ import annotations

from django.conf import settings


def control_enabled() -> bool:
    # A control endpoint can make this server POST anywhere (webhooks): never open on a public hub.
    return bool(settings.DEBUG or settings.TESTING or settings.SANDBOX_CONTROL_ENABLED)

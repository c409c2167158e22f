"""webhook key -> integration, its connector and decrypted secret, cached briefly in-process.

The receive path is hot: a database read plus an AES-GCM decryption per delivery would cost more
than the insert we must do. Entries live a few seconds (``WEBHOOK_KEY_CACHE_SECONDS``). A saved or
deleted integration drops its entry at once in the process that saved it (signal below) and bumps a
generation number in the shared cache (Redis, or the embedded on-disk cache): every other process
reads that number at most every ``GENERATION_CHECK_SECONDS`` and empties its entries when it moved,
so a changed secret or a deactivated integration takes effect everywhere within half a second.
Unknown keys are cached too, so random keys cannot turn into one query each.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from connectors.base import Connector, InboundRequest, WebhookDelivery
from connectors.errors import SignatureError
from connectors.registry import get_connector_class
from integrations.models import Integration, IntegrationStatus

log = logging.getLogger("webhooks.lookup")

MAX_ENTRIES = 10_000


@dataclass
class Target:
    integration: Integration
    connector: Connector
    secret: str
    max_retries: int

    @property
    def held(self) -> bool:
        """Deliveries to an inactive integration are verified and kept, not processed."""
        return self.integration.status == IntegrationStatus.INACTIVE

    @property
    def reject_status(self) -> int | None:
        return self.connector.webhook_reject_status

    def verify(self, request: InboundRequest) -> WebhookDelivery:
        if not self.secret:
            # Never "no secret, so skip verification": refuse until the operator sets one.
            raise SignatureError("no webhook secret is configured for this integration")
        return self.connector.verify_webhook(request, self.secret)


_cache: dict[str, tuple[float, Target | None]] = {}
GENERATION_KEY = "webhooks:lookup:generation"
GENERATION_CHECK_SECONDS = 0.5
_generation: dict[str, Any] = {"value": None, "checked": 0.0}


def _ttl() -> float:
    return float(settings.WEBHOOK_KEY_CACHE_SECONDS)


def _load(key: str) -> Target | None:
    integration = Integration.objects.filter(webhook_key=key).select_related("organization").first()
    if integration is None:
        return None
    try:
        connector = get_connector_class(integration.provider)(integration)
    except KeyError:
        return None
    return Target(
        integration=integration,
        connector=connector,
        secret=integration.webhook_secret or "",
        max_retries=int(settings.WEBHOOK_MAX_RETRIES),
    )


def _shared_generation() -> Any:
    try:
        return cache.get(GENERATION_KEY)
    except Exception:  # noqa: BLE001 - the cache being down must not refuse webhooks: the TTL still applies
        return _generation["value"]


def _sync_generation(now: float) -> None:
    """Empty this process's entries when another process saved an integration since the last look."""
    if now - _generation["checked"] < GENERATION_CHECK_SECONDS:
        return
    value = _shared_generation()
    if value != _generation["value"]:
        _cache.clear()
        _generation["value"] = value
    _generation["checked"] = now


def target_for(key: str) -> Target | None:
    """The integration behind ``key`` (None: unknown key or unknown provider)."""
    now = time.monotonic()
    _sync_generation(now)
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    target = _load(key)
    if len(_cache) >= MAX_ENTRIES:
        _cache.clear()
    _cache[key] = (now + _ttl(), target)
    return target


def clear() -> None:
    _cache.clear()


@receiver(post_save, sender=Integration, dispatch_uid="webhooks.lookup.saved")
@receiver(post_delete, sender=Integration, dispatch_uid="webhooks.lookup.deleted")
def _integration_changed(sender, instance: Integration, **kwargs) -> None:
    _cache.pop(instance.webhook_key, None)
    try:
        # Atomic in Redis and in the embedded cache: two processes saving at once both move it.
        cache.add(GENERATION_KEY, 0, timeout=None)
        cache.incr(GENERATION_KEY)
    except Exception as exc:  # noqa: BLE001 - a saved integration must not fail on the cache; the TTL applies
        log.warning("could not tell other processes that integration %s changed: %s", instance.pk, exc)

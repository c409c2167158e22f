"""Provider tokens: ``connector.obtain_token()`` cached (encrypted) in ``integration.token_cache``,
renewed race-safe under a row lock (and once on a 401), given back at the end of a job where a
token holds a licence seat."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from integrations.models import Integration

from .calllog import CallLog

if TYPE_CHECKING:
    from .base import Connector

log = logging.getLogger("connectors")

# A token is renewed this many seconds before its stated expiry (clock skew, request duration).
TOKEN_EXPIRY_MARGIN = 60


def token_is_fresh(token: dict[str, Any] | None, margin: float = TOKEN_EXPIRY_MARGIN) -> bool:
    if not token or not token.get("access_token"):
        return False
    expires_at = token.get("expires_at")
    return expires_at is None or float(expires_at) - margin > time.time()


class TokenStore:
    def __init__(self, integration: Integration, connector: Connector, calls: CallLog):
        self.integration = integration
        self.connector = connector
        self.calls = calls

    def token(self) -> dict[str, Any] | None:
        """The cached token while fresh, else a renewed one (None for providers without tokens)."""
        cached = self.integration.token_cache or {}
        if token_is_fresh(cached):
            return cached
        return self.renew(stale=cached)

    def renew(self, stale: dict[str, Any] | None) -> dict[str, Any] | None:
        """Renew under a row lock; if another worker renewed meanwhile, use its token instead."""
        stale_value = (stale or {}).get("access_token")
        with self.calls.held():  # the token request's log rows outlive a rolled-back renewal
            fresh = self._renew_locked(stale_value)
        self.integration.token_cache = fresh or {}
        return fresh

    def _renew_locked(self, stale_value: str | None) -> dict[str, Any] | None:
        with transaction.atomic():
            # NO KEY: other workers' log rows (a foreign key to this row) need not wait for the renewal.
            row = (Integration.objects.select_for_update(no_key=connection.vendor == "postgresql")
                   .only("id", "token_cache").get(pk=self.integration.pk))
            current = row.token_cache or {}
            if current.get("access_token") != stale_value and token_is_fresh(current):
                fresh: dict[str, Any] | None = current
            else:
                fresh = self.connector.obtain_token()
                if fresh is not None:
                    Integration.objects.filter(pk=row.pk).update(token_cache=fresh)
        return fresh

    def release(self) -> None:
        """Give the cached token back (``connector.release_token``) and forget it; never raises.

        Only for connectors that implement ``release_token`` (``releases_tokens()``); the others keep
        their token cached. Called at the end of every job, also a failed one: a provider whose tokens
        hold licence seats must not keep a seat for a token nobody uses. Under the same row lock as
        renewal, so a worker renewing meanwhile either sees the token gone or hands its own new one back later.
        """
        if not self.connector.releases_tokens():
            return  # nothing to give back: a token without a seat stays cached for the next job
        try:
            with transaction.atomic():
                row = (Integration.objects.select_for_update(no_key=connection.vendor == "postgresql")
                       .only("id", "token_cache").get(pk=self.integration.pk))
                token = row.token_cache or {}
                if token.get("access_token"):
                    try:
                        self.connector.release_token(token)
                    except Exception:  # noqa: BLE001 - the provider refused or is down: forget the token anyway
                        log.warning("integration %s: releasing its token failed", self.integration.pk, exc_info=True)
                    Integration.objects.filter(pk=row.pk).update(token_cache={})
        except Integration.DoesNotExist:
            pass  # deleted meanwhile: nothing cached any more
        except Exception:  # noqa: BLE001 - called from ``finally`` blocks: must not mask the job's own error
            log.exception("integration %s: could not release its token", self.integration.pk)
        self.integration.token_cache = {}

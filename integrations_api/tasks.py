"""Celery tasks of the integrations app. Provider calls happen here, never in a web request."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task
from django.utils import timezone

from connectors.errors import ConnectorError
from connectors.registry import get_connector_class
from integrations.models import Direction, Integration, IntegrationLog, IntegrationStatus
from integrations.redaction import redact_text

log = logging.getLogger(__name__)

CONNECTION_TEST_ACTION = "connection_test"
# Statuses a test result may change: an inactive integration stays inactive whatever the result.
STATUS_AFTER_TEST = {
    True: {IntegrationStatus.ERROR: IntegrationStatus.ACTIVE, IntegrationStatus.TESTING: IntegrationStatus.ACTIVE},
    False: {IntegrationStatus.ACTIVE: IntegrationStatus.ERROR, IntegrationStatus.TESTING: IntegrationStatus.ERROR},
}


def _secrets_of(integration: Integration) -> tuple[str, ...]:
    values = [v for v in (integration.credentials or {}).values() if isinstance(v, str)]
    return tuple(values + [integration.webhook_secret or ""])


def run_connection_test(integration: Integration) -> dict[str, Any]:
    """Call the provider, record the outcome on the integration and in its log; return the outcome."""
    started = time.monotonic()
    connector = None
    try:
        connector = get_connector_class(integration.provider)(integration)
        message, ok = connector.test_connection() or "Connection works.", True
    except ConnectorError as exc:
        message, ok = f"{exc.kind}: {exc.message}", False
    except Exception as exc:  # noqa: BLE001 - any failure is the test's answer, not a crash
        log.exception("connection test of integration %s crashed", integration.pk)
        message, ok = f"error: {exc.__class__.__name__}: {exc}", False
    finally:
        if connector is not None:
            connector.http.release()  # a connection test keeps no licence seat
    message = redact_text(str(message), _secrets_of(integration))[:2000]
    duration_ms = int((time.monotonic() - started) * 1000)

    now = timezone.now()
    updates: dict[str, Any] = {"connection_error": "" if ok else message, "updated_at": now}
    if ok:
        updates["last_connected_at"] = now
    new_status = STATUS_AFTER_TEST[ok].get(integration.status)
    if new_status:
        updates["status"] = new_status
    Integration.objects.filter(pk=integration.pk).update(**updates)
    entry = IntegrationLog.objects.create(
        organization_id=integration.organization_id,
        integration=integration,
        action=CONNECTION_TEST_ACTION,
        direction=Direction.INTERNAL,
        level="info" if ok else "error",
        duration_ms=duration_ms,
        response_excerpt=message if ok else "",
        error_message="" if ok else message,
    )
    return outcome(entry)


def outcome(entry: IntegrationLog) -> dict[str, Any]:
    ok = entry.level == "info"
    return {
        "ok": ok,
        "message": entry.response_excerpt if ok else entry.error_message,
        "duration_ms": entry.duration_ms,
        "log_id": entry.pk,
        "tested_at": entry.created_at.isoformat(),
    }


@shared_task(name="integrations.tasks.test_connection")
def test_connection(integration_id: int) -> dict[str, Any] | None:
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return None
    return run_connection_test(integration)


# pytest would collect the task as a test when a test module imports it by name.
test_connection.__test__ = False

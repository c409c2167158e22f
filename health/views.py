"""``/api/integrations/...``: status, health, services, metrics, start/stop and the test endpoints.

Answers come in the envelope ``{"success": true, "data": ...}``; errors in the platform's envelope
plus ``"success": false`` (400 bad input, 401 no credentials, 403 role or organization, 404 unknown
name, 409 inactive integration). Everything is scoped to the caller's organization.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.registry import providers
from events import schemas
from events.models import Destination
from events.outbox import NewEvent, emit, kick
from files.models import StoredFile
from files.storage import FileRejected, store
from integrations.errors import Conflict
from integrations.inputs import contains_nul
from integrations.models import Integration, IntegrationStatus, Role
from notifications.models import Delivery, Message
from notifications.services import NotificationError, send
from syncjobs.models import SyncJob
from syncjobs.services import UnknownStreamError, start_sync

from . import checks
from .metrics import render
from .services import SERVICES

FAR_FUTURE = timedelta(days=365 * 100)


def documented(operation_id: str, summary: str, *, body: bool = False):
    """OpenAPI entry of a hub route: a free-form JSON answer in the success envelope."""
    return extend_schema(operation_id=operation_id, summary=summary, tags=["hub services"],
                         request=OpenApiTypes.OBJECT if body else None, responses={(200, "application/json"):
                                                                                   OpenApiTypes.OBJECT})


def ok(data: Any, http_status: int = 200) -> Response:
    return Response({"success": True, "data": data}, status=http_status)


class HubView(APIView):
    required_roles = {"GET": Role.VIEWER, "POST": Role.MANAGER}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # PostgreSQL stores no NUL in text or JSON: refuse it here rather than fail in the database.
        if request.method == "POST" and contains_nul(request.data if isinstance(request.data, dict | list) else {}):
            raise exceptions.ValidationError({"detail": "Null characters are not allowed."})

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(response.data, dict):
            response.data = {"success": False, **response.data}
        return response

    def integrations(self) -> list[Integration]:
        return list(Integration.objects.filter(organization=self.request.organization).order_by("name"))


class StatusView(HubView):
    @documented("hub_status", "Totals healthy/unhealthy/error, per service")
    def get(self, request):
        healths = checks.integration_health(self.integrations())
        services = {name: fn(request.organization)["status"] for name, fn in SERVICES.items()}
        by_type: dict[str, dict[str, int]] = {}
        for h in healths:
            by_type.setdefault(h.type, {"total": 0, **{s: 0 for s in ("healthy", "unhealthy", "error", "inactive")}})
            by_type[h.type]["total"] += 1
            by_type[h.type][h.status] += 1
        return ok({"status": checks.worst([h.status for h in healths] + list(services.values())),
                   "totals": checks.summary(healths), "services": services, "integrations_by_type": by_type,
                   "checked_at": timezone.now()})


class HealthView(HubView):
    @documented("hub_health", "Health of every integration and hub service")
    def get(self, request):
        healths = checks.integration_health(self.integrations())
        services = {name: fn(request.organization) for name, fn in SERVICES.items()}
        return ok({"status": checks.worst([h.status for h in healths] + [s["status"] for s in services.values()]),
                   "totals": checks.summary(healths), "integrations": [h.as_dict() for h in healths],
                   "services": services})


class ServiceHealthView(HubView):
    """One hub service, an integration type (email, sms, payment_gateway...), a provider or an integration code."""

    @documented("hub_health_service", "Health of one service, integration type, provider or integration")
    def get(self, request, service: str):
        if service in SERVICES:
            return ok({"service": service, **SERVICES[service](request.organization)})
        all_integrations = self.integrations()
        matched = [i for i in all_integrations if service in (i.type, i.provider, i.code)]
        if matched:
            healths = checks.integration_health(matched)
            return ok({"service": service, "status": checks.worst([h.status for h in healths]),
                       "integrations": [h.as_dict() for h in healths]})
        known = providers()
        if service in known:
            return ok({"service": service, "status": checks.ERROR, "integrations": [],
                       "problems": [f"{known[service].display_name} not configured"]})
        raise exceptions.NotFound(f"no service, integration type, provider or integration {service!r}")


class ServiceDetailView(HubView):
    @documented("hub_service", "Detail of one hub service")
    def get(self, request, name: str):
        if name not in SERVICES:
            raise exceptions.NotFound(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
        return ok({"service": name, **SERVICES[name](request.organization)})


class MetricsView(HubView):
    @documented("hub_metrics", "Figures of the organization")
    def get(self, request):
        org = request.organization
        since = timezone.now() - timedelta(days=1)
        jobs = SyncJob.objects.filter(organization=org)
        return ok({
            "sync_jobs": dict(jobs.values("status").annotate(n=Count("id")).values_list("status", "n")),
            "records_synced_24h": jobs.filter(created_at__gte=since).aggregate(
                created=Sum("records_created"), updated=Sum("records_updated"), deleted=Sum("records_deleted")),
            "notifications_24h": dict(Delivery.objects.filter(organization=org, created_at__gte=since)
                                      .values("status").annotate(n=Count("id")).values_list("status", "n")),
            "files_stored": StoredFile.objects.filter(organization=org).count(),
            "integrations": checks.summary(checks.integration_health(self.integrations())),
        })


class InitializeView(HubView):
    required_roles = {"POST": Role.ADMIN}

    @documented("hub_initialize", "Start the organization's services", body=True)
    def post(self, request):
        """Start the organization's services: resume event destinations, test every active connection."""
        from integrations_api.tasks import test_connection

        resumed = Destination.objects.filter(organization=request.organization).update(paused_until=None,
                                                                                       consecutive_failures=0)
        active = [i.pk for i in self.integrations() if i.status == IntegrationStatus.ACTIVE]
        for pk in active:
            transaction.on_commit(lambda pk=pk: test_connection.delay(pk))
        transaction.on_commit(kick)
        return ok({"destinations_resumed": resumed, "connection_tests_queued": len(active)}, status.HTTP_202_ACCEPTED)


class ShutdownView(HubView):
    required_roles = {"POST": Role.ADMIN}

    @documented("hub_shutdown", "Pause event publishing", body=True)
    def post(self, request):
        """Stop publishing: events keep collecting in the outbox (nothing lost) until initialize."""
        paused = Destination.objects.filter(organization=request.organization).update(
            paused_until=timezone.now() + FAR_FUTURE)
        return ok({"destinations_paused": paused})


def _field(data: Any, name: str, default: Any = None) -> Any:
    return data.get(name, default) if hasattr(data, "get") else default


class TestNotificationView(HubView):
    @documented("hub_test_notification", "Send a test notification", body=True)
    def post(self, request):
        data = request.data
        to = _field(data, "to") or _field(data, "recipients")
        recipients = to if isinstance(to, list) else [to] if to else []
        context = _field(data, "context", {}) or {}
        if not isinstance(context, dict) or not all(isinstance(r, str) for r in recipients):
            raise exceptions.ValidationError({"context": "an object", "to": "a string or a list of strings"})
        template = _field(data, "template", "custom")
        if template == "custom":
            context.setdefault("subject", "Integration Hub test notification")
            context.setdefault("body", "This is a test notification from Integration Hub.")
        try:
            message = send(request.organization, str(_field(data, "channel", "email")), recipients,
                           template=str(template), context=context,
                           idempotency_key=str(_field(data, "idempotency_key", "") or "")[:200])
        except NotificationError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        return ok(message_data(message), status.HTTP_202_ACCEPTED)


def message_data(message: Message) -> dict[str, Any]:
    return {"id": message.pk, "uid": str(message.uid), "channel": message.channel, "status": message.status,
            "idempotency_key": message.idempotency_key,
            "deliveries": [{"recipient": d.recipient, "status": d.status, "provider": d.provider, "error": d.error}
                           for d in message.deliveries.all()]}


class TestEventView(HubView):
    @documented("hub_test_event", "Publish a test event", body=True)
    def post(self, request):
        text = _field(request.data, "message", "test event from Integration Hub")
        try:
            with transaction.atomic():
                (event,) = emit(request.organization.pk, [NewEvent("hub.test", "hub:test", {"message": text})])
        except schemas.SchemaError as exc:
            raise exceptions.ValidationError({"message": str(exc)}) from None
        return ok({"id": str(event.uid), "type": event.type, "version": event.version,
                   "destinations": Destination.objects.filter(organization=request.organization,
                                                              is_active=True).count()},
                  status.HTTP_202_ACCEPTED)


class TestFileView(HubView):
    @documented("hub_test_file", "Store a test file", body=True)
    def post(self, request):
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            name, content, ctype = upload.name, upload.read(), upload.content_type or ""
        else:
            name = str(_field(request.data, "name", "hub-test.txt"))
            raw = _field(request.data, "content_base64")
            try:
                content = base64.b64decode(raw, validate=True) if raw else \
                    str(_field(request.data, "content", "Integration Hub test file\n")).encode()
            except (binascii.Error, ValueError, TypeError):  # TypeError: not a string (e.g. an object)
                raise exceptions.ValidationError({"content_base64": "not valid base64"}) from None
            ctype = str(_field(request.data, "content_type", "") or "")
        try:
            row = store(request.organization, name, content, kind=str(_field(request.data, "kind", "other")),
                        content_type=ctype, user=request.user if getattr(request.user, "pk", None) else None)
        except FileRejected as exc:
            raise exceptions.ValidationError({"file": str(exc)}) from None
        except OSError as exc:
            return Response({"success": False, "error": {"code": "storage_unavailable", "message": str(exc),
                                                         "details": {}}}, status=503)
        return ok({"id": row.pk, "uid": str(row.uid), "name": row.name, "key": row.key, "backend": row.backend,
                   "storage": row.storage, "size": row.size, "sha256": row.sha256, "content_type": row.content_type},
                  status.HTTP_201_CREATED)


class TestSyncView(HubView):
    @documented("hub_test_sync", "Start a sync", body=True)
    def post(self, request):
        ref = _field(request.data, "integration")
        if ref in (None, ""):
            raise exceptions.ValidationError({"integration": "an integration id or code is required"})
        qs = Integration.objects.filter(organization=request.organization)
        integ = qs.filter(pk=ref).first() if str(ref).isascii() and str(ref).isdigit() else qs.filter(
            code=str(ref)).first()
        if integ is None:
            raise exceptions.NotFound("no such integration")
        if integ.status != IntegrationStatus.ACTIVE:
            raise Conflict(f"integration is {integ.status}")
        streams = _field(request.data, "streams")
        try:
            jobs = start_sync(integ, streams or None, full=bool(_field(request.data, "full", False)), user=request.user)
        except UnknownStreamError as exc:
            raise exceptions.ValidationError({"streams": str(exc)}) from None
        return ok({"integration": integ.pk, "jobs": [{"id": j.pk, "stream": j.stream, "status": j.status}
                                                     for j in jobs]}, status.HTTP_202_ACCEPTED)


def prometheus_metrics(request):
    """``/metrics``: Prometheus text format. Protect it at the proxy (it reveals volumes, not data)."""
    return HttpResponse(render(), content_type="text/plain; version=0.0.4; charset=utf-8")

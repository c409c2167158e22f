"""``/api/integrations/...``: status, health, services, metrics, start/stop and the test endpoints.

These routes speak the services API document's contract (the six services ``email``, ``sms``,
``payment``, ``kafka``, ``fileStorage``, ``externalAPI``: see ``health/contract.py``), with the hub's
richer fields beside the documented ones. Answers come in ``{"success": true, "data": ...}``; errors in
``{"success": false, "message": ..., "error": "<detail>", "code": ..., "details": ...}`` (400 bad input,
401 no credentials, 403 role or organization, 404 unknown name, 409 inactive integration, 500).
Everything is scoped to the caller's organization.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.registry import get_connector_class, providers
from events import schemas
from events.models import Destination
from events.outbox import NewEvent, emit, kick
from files.models import StoredFile
from files.storage import FileRejected, store
from integrations.errors import Conflict, error_response, seed_error_body
from integrations.inputs import contains_nul
from integrations.models import Integration, IntegrationStatus, Role
from integrations_api.tasks import test_connection
from notifications.models import Delivery, Message, MessageStatus
from notifications.recipients import InvalidRecipient, normalise
from notifications.services import NotificationError, provider_chain, send
from records.api import RECORD_TYPES
from records.serializers import SERIALIZERS
from syncjobs.models import SyncJob
from syncjobs.services import UnknownStreamError, start_sync

from . import checks, contract
from .metrics import render
from .services import SERVICES

log = logging.getLogger("health.metrics")
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
            response.data = seed_error_body(response.data)
        return response

    def integrations(self) -> list[Integration]:
        return list(Integration.objects.filter(organization=self.request.organization).order_by("name"))


class StatusView(HubView):
    @documented("hub_status", "Totals healthy/unhealthy/error over the six services, and each service")
    def get(self, request):
        ctx = contract.Context(request.organization)
        results = contract.all_health(ctx)
        healths = list(ctx.health.values())
        hub = {name: fn(request.organization)["status"] for name, fn in SERVICES.items()}
        by_type: dict[str, dict[str, int]] = {}
        for h in healths:
            by_type.setdefault(h.type, {"total": 0, **{s: 0 for s in ("healthy", "unhealthy", "error", "inactive")}})
            by_type[h.type]["total"] += 1
            by_type[h.type][h.status] += 1
        return ok({**contract.counts(results),
                   "services": {name: contract.status_entry(name, r) for name, r in results.items()},
                   "status": checks.worst([r["status"] for r in results.values()] + list(hub.values())),
                   "totals": checks.summary(healths), "hubServices": hub, "integrations_by_type": by_type,
                   "checked_at": timezone.now()})


class HealthView(HubView):
    @documented("hub_health", "Health of each of the six services, with details per provider")
    def get(self, request):
        # One entry per documented service and nothing else: a client may iterate over the entries.
        return ok(contract.all_health(contract.Context(request.organization)))


class ServiceHealthView(HubView):
    """A documented service, a hub service, an integration type, a provider or an integration code."""

    @documented("hub_health_service", "Health of one service, integration type, provider or integration")
    def get(self, request, service: str):
        if service in contract.NAMES:
            ctx = contract.Context(request.organization)
            return ok({"serviceName": service, **contract.health(ctx, service)})
        if service in SERVICES:
            return ok(self._shaped(service, SERVICES[service](request.organization)))
        all_integrations = self.integrations()
        matched = [i for i in all_integrations if service in (i.type, i.provider, i.code)]
        if matched:
            healths = checks.integration_health(matched)
            return ok(self._shaped(service, {
                "status": checks.worst([h.status for h in healths]), "integrations": [h.as_dict() for h in healths],
                "details": {h.code: {"status": h.status, "message": "; ".join(h.problems) or "Configuration valid"}
                            for h in healths}}))
        known = providers()
        if service in known:
            problem = f"{known[service].display_name} not configured"
            return ok(self._shaped(service, {"status": checks.ERROR, "integrations": [], "problems": [problem],
                                             "error": problem}))
        raise exceptions.NotFound(f"no service, integration type, provider or integration {service!r}; services: "
                                  f"{', '.join(contract.NAMES)}")

    @staticmethod
    def _shaped(name: str, data: dict[str, Any]) -> dict[str, Any]:
        data.setdefault("details", {k: v for k, v in data.items() if k not in ("status", "problems")})
        if data.get("problems") and "error" not in data:
            data["error"] = "; ".join(data["problems"])
        return {"serviceName": name, "service": name, **data}


HUB_SERVICE_TYPES = {"notifications": "communication", "events": "messaging", "files": "storage",
                     "sync": "integration", "webhooks": "integration"}


class ServiceDetailView(HubView):
    @documented("hub_service", "Name, type, status and dependencies of one service")
    def get(self, request, name: str):
        if name in contract.NAMES:
            return ok(contract.info(contract.Context(request.organization), name))
        if name not in SERVICES:
            raise exceptions.NotFound(f"unknown service {name!r}; known: "
                                      f"{', '.join([*contract.NAMES, *SERVICES])}")
        return ok({"name": name, "type": HUB_SERVICE_TYPES[name], "dependencies": [], "service": name,
                   **SERVICES[name](request.organization)})


class MetricsView(HubView):
    @documented("hub_metrics", "E-mail and SMS providers and templates, and figures of the organization")
    def get(self, request):
        org = request.organization
        since = timezone.now() - timedelta(days=1)
        jobs = SyncJob.objects.filter(organization=org)
        return ok({
            "email": contract.channel_metrics(org, "email"),
            "sms": contract.channel_metrics(org, "sms"),
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
        resumed = Destination.objects.filter(organization=request.organization).update(paused_until=None,
                                                                                       consecutive_failures=0)
        active = [i.pk for i in self.integrations() if i.status == IntegrationStatus.ACTIVE]
        for pk in active:
            transaction.on_commit(lambda pk=pk: test_connection.delay(pk))
        transaction.on_commit(kick)
        return ok({**{name: {"status": "initialized"} for name in contract.NAMES},
                   "destinations_resumed": resumed, "connection_tests_queued": len(active)})


class ShutdownView(HubView):
    required_roles = {"POST": Role.ADMIN}

    @documented("hub_shutdown", "Pause event publishing", body=True)
    def post(self, request):
        """Stop publishing: events keep collecting in the outbox (nothing lost) until initialize."""
        paused = Destination.objects.filter(organization=request.organization).update(
            paused_until=timezone.now() + FAR_FUTURE)
        return ok({**{name: {"status": "shutdown"} for name in contract.NAMES}, "destinations_paused": paused})


def _field(data: Any, name: str, default: Any = None) -> Any:
    return data.get(name, default) if hasattr(data, "get") else default


def _object(data: Any, name: str) -> dict[str, Any]:
    value = _field(data, name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise exceptions.ValidationError({name: "an object is required"})
    return value


def _text(data: Any, name: str, *, default: str = "", max_length: int = 200) -> str:
    value = _field(data, name)
    if value in (None, ""):
        return default
    if not isinstance(value, str) or len(value) > max_length:
        raise exceptions.ValidationError({name: f"a string of at most {max_length} characters is required"})
    return value


class TestNotificationView(HubView):
    """``{type, recipients: [{name, email, phone}], template, data}`` (the document's form) or our
    ``{channel, to, template, context}``; the answer carries ``messageId`` and the ``transporter``
    (provider integration) that takes it first."""

    @documented("hub_test_notification", "Send a test notification", body=True)
    def post(self, request):
        data = request.data
        channel = _text(data, "type") or _text(data, "channel") or "email"
        raw = _field(data, "recipients")
        raw = _field(data, "to") if raw is None else raw
        recipients = []
        for item in raw if isinstance(raw, list) else [raw] if raw else []:
            if isinstance(item, dict):
                address = item.get("email") if channel == "email" else item.get("phone")
                if not isinstance(address, str) or not address:
                    field = "email" if channel == "email" else "phone"
                    raise exceptions.ValidationError({"recipients": f"each recipient needs its {field} for a "
                                                                    f"{channel} notification"})
                recipients.append(address)
            elif isinstance(item, str):
                recipients.append(item)
            else:
                raise exceptions.ValidationError({"recipients": "a list of {name, email, phone} objects (or of "
                                                                "addresses) is required"})
        context = dict(_object(data, "data") or _object(data, "context"))
        template = _text(data, "template", default="custom", max_length=64)
        if template == "custom":
            if "body" not in context and "message" in context:
                context["body"] = context["message"]  # the document's custom template says "message"
            context.setdefault("subject", "Integration Hub test notification")
            context.setdefault("body", "This is a test notification from Integration Hub.")
        if channel in ("email", "sms") and recipients:
            # Every recipient invalid is bad input (400), refused before a message is recorded; some
            # invalid among valid ones are failed deliveries of the message.
            problems = []
            for recipient in recipients:
                try:
                    normalise(channel, recipient)
                except InvalidRecipient as exc:
                    problems.append(f"{recipient[:100]}: {exc}")
            if len(problems) == len(recipients):
                raise exceptions.ValidationError({"recipients": problems})
        try:
            message = send(request.organization, channel, recipients, template=template, context=context,
                           idempotency_key=_text(data, "idempotency_key"))
        except NotificationError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        body = message_data(message)
        taken = [d["provider"] for d in body["deliveries"] if d["provider"]]
        chain = provider_chain(request.organization.pk, message.channel)
        return ok({"success": message.status != MessageStatus.FAILED, "messageId": str(message.uid),
                   "transporter": taken[0] if taken else chain[0].code if chain else None, **body})


def message_data(message: Message) -> dict[str, Any]:
    return {"id": message.pk, "uid": str(message.uid), "channel": message.channel, "status": message.status,
            "idempotency_key": message.idempotency_key,
            "deliveries": [{"recipient": d.recipient, "status": d.status, "provider": d.provider, "error": d.error}
                           for d in message.deliveries.all()]}


EVENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


class TestEventView(HubView):
    """``{topic, eventType, data}``: a ``hub.test`` event carrying them enters the outbox and goes to every
    active destination subscribed to it. The outbox publishes after the answer, so ``partition`` and
    ``offset`` are null here; each delivery's own record (``/api/v1/event-deliveries``) has them."""

    @documented("hub_test_event", "Publish a test event", body=True)
    def post(self, request):
        data = request.data
        event_type = _text(data, "eventType", default="hub.test", max_length=100)
        if not EVENT_TYPE.match(event_type):
            raise exceptions.ValidationError({"eventType": "letters, digits and . _ : - only"})
        topic = _text(data, "topic", default="hub-test")
        payload = _object(data, "data")
        text = _field(data, "message", f"test {event_type} event from Integration Hub")
        try:
            with transaction.atomic():
                (event,) = emit(request.organization.pk, [NewEvent("hub.test", f"{topic}:{event_type}", {
                    "message": text, "eventType": event_type, "topic": topic, "data": payload})])
        except schemas.SchemaError as exc:
            raise exceptions.ValidationError({"message": str(exc)}) from None
        return ok({"success": True, "partition": None, "offset": None, "eventId": str(event.uid),
                   "id": str(event.uid), "type": event.type, "version": event.version, "topic": topic,
                   "eventType": event_type,
                   "destinations": Destination.objects.filter(organization=request.organization,
                                                              is_active=True).count()})


# A small valid document per file type, for the document's {fileName, fileType, category} test upload.
SAMPLE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
              b"trailer<</Root 1 0 R>>\n%%EOF\n")
FILE_KINDS = {"document": "other", "report": "report", "invoice": "invoice", "archive": "archive",
              "other": "other"}


def _sample(name: str) -> bytes:
    lower = name.lower()
    if lower.endswith(".pdf"):
        return SAMPLE_PDF
    if lower.endswith(".json"):
        return b'{"test": true}\n'
    if lower.endswith(".csv"):
        return b"sku,quantity\nTEST-1,1\n"
    return b"Integration Hub test file\n"


class TestFileView(HubView):
    """``{fileName, fileType, category}`` stores a small sample document of that type; our form (a
    multipart ``file``, or ``name`` with ``content`` / ``content_base64``) stores what is sent."""

    @documented("hub_test_file", "Store a test file", body=True)
    def post(self, request):
        data = request.data
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        file_type = _text(data, "fileType", default="document", max_length=32)
        category = _text(data, "category", default="test", max_length=64)
        kind = _text(data, "kind", default=FILE_KINDS.get(file_type, ""), max_length=32)
        if not kind:
            raise exceptions.ValidationError({"fileType": f"one of {', '.join(FILE_KINDS)}"})
        if upload is not None:
            name, content, ctype = upload.name, upload.read(), upload.content_type or ""
        else:
            name = _text(data, "fileName") or _text(data, "name", default="hub-test.txt", max_length=255)
            raw = _field(data, "content_base64")
            try:
                if raw:
                    content = base64.b64decode(raw, validate=True)
                elif _field(data, "content") is not None:
                    content = str(_field(data, "content")).encode()
                else:
                    content = _sample(name)
            except (binascii.Error, ValueError, TypeError):
                raise exceptions.ValidationError({"content_base64": "not valid base64"}) from None
            ctype = _text(data, "content_type", max_length=100)
        try:
            row = store(request.organization, name, content, kind=kind, content_type=ctype,
                        metadata={"category": category, "fileType": file_type},
                        user=request.user if getattr(request.user, "pk", None) else None)
        except FileRejected as exc:
            raise exceptions.ValidationError({"file": str(exc)}) from None
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from None
        return ok({"success": True, "fileId": str(row.uid), "fileName": row.name, "fileKey": row.key,
                   "url": f"/api/v1/files/{row.pk}", "size": row.size, "contentType": row.content_type,
                   "provider": row.backend, "uploadedAt": row.created_at,
                   "id": row.pk, "uid": str(row.uid), "name": row.name, "key": row.key, "backend": row.backend,
                   "storage": row.storage, "sha256": row.sha256, "content_type": row.content_type,
                   "category": category})


class StorageUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "storage_unavailable"
    default_detail = "No file store accepted the file."


def _record_types() -> dict[str, tuple[str, Any]]:
    """``suppliers``, ``products``, ``stock-levels`` … by their normalised name (``stockLevels`` too)."""
    return {prefix.replace("-", "").lower(): (prefix, model) for prefix, model, *_ in RECORD_TYPES}


class TestSyncView(HubView):
    """``{dataType, options}`` (the document's form): refresh that kind of record from every active
    integration with such a stream (queued, ``jobs``) and answer what the hub holds now, filtered by
    ``options.<kind>Id`` / ``options.id`` (our id or the provider's) and ``options.integration``;
    ``options.limit`` (default 100, at most 1000). Our form ``{integration, streams, full}`` starts a sync."""

    @documented("hub_test_sync", "Sync external data", body=True)
    def post(self, request):
        if _field(request.data, "dataType") is None and _field(request.data, "integration") is not None:
            return self._start(request)
        data_type = _text(request.data, "dataType", max_length=64)
        known = _record_types()
        if data_type.replace("-", "").replace("_", "").lower() not in known:
            raise exceptions.ValidationError({"dataType": f"one of {', '.join(p for p, _ in known.values())}"})
        prefix, model = known[data_type.replace("-", "").replace("_", "").lower()]
        options = _object(request.data, "options")
        qs = model.objects.filter(organization=request.organization, deleted_at__isnull=True)
        singular = model._meta.model_name  # supplier -> supplierId
        ref = options.get(f"{singular}Id", options.get("id"))
        if ref is not None:
            if not isinstance(ref, str | int) or isinstance(ref, bool) or len(str(ref)) > 255:
                raise exceptions.ValidationError({"options": f"{singular}Id must be a string or an integer"})
            ref = str(ref)
            match = Q(external_id=ref)
            if ref.isascii() and ref.isdigit() and int(ref) < 2**63:
                match |= Q(pk=int(ref))
            qs = qs.filter(match)
        integrations = Integration.objects.filter(organization=request.organization,
                                                  status=IntegrationStatus.ACTIVE)
        if options.get("integration") is not None:
            ref_i = str(options["integration"])
            integrations = integrations.filter(pk=int(ref_i)) if ref_i.isascii() and ref_i.isdigit() \
                and int(ref_i) < 2**63 else integrations.filter(code=ref_i[:100])
            qs = qs.filter(integration__in=integrations)
        limit = options.get("limit", 100)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise exceptions.ValidationError({"options": "limit must be an integer from 1 to 1000"})
        jobs = []
        if options.get("refresh", True) is not False:
            stream = prefix.replace("-", "_")
            for integ in integrations:
                if stream in get_connector_class(integ.provider).streams_for(integ):
                    jobs += [{"id": j.pk, "integration": integ.code, "stream": j.stream, "status": j.status}
                             for j in start_sync(integ, [stream], user=request.user)]
        rows = SERIALIZERS[model](qs.select_related("integration").order_by("pk")[:limit], many=True).data
        return ok({"success": True, "count": len(rows), data_type: rows, "jobs": jobs})

    def _start(self, request):
        ref = _field(request.data, "integration")
        qs = Integration.objects.filter(organization=request.organization)
        integ = qs.filter(pk=ref).first() if str(ref).isascii() and str(ref).isdigit() and int(str(ref)) < 2**63 \
            else qs.filter(code=str(ref)[:100]).first()
        if integ is None:
            raise exceptions.NotFound("no such integration")
        if integ.status != IntegrationStatus.ACTIVE:
            raise Conflict(f"integration is {integ.status}")
        streams = _field(request.data, "streams")
        try:
            jobs = start_sync(integ, streams or None, full=bool(_field(request.data, "full", False)), user=request.user)
        except UnknownStreamError as exc:
            raise exceptions.ValidationError({"streams": str(exc)}) from None
        return ok({"success": True, "integration": integ.pk,
                   "jobs": [{"id": j.pk, "stream": j.stream, "status": j.status} for j in jobs]})


def prometheus_metrics(request):
    """``/metrics``: Prometheus text format.

    With ``METRICS_TOKEN`` set, only a scraper sending ``Authorization: Bearer <token>`` is answered:
    the figures reveal every organization's volumes. Unset, it is open (protect it at the proxy).
    """
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # compare_digest: the time taken must not tell how much of a guess was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            log.warning("/metrics refused: %s bearer token", "wrong" if given else "no")
            resp = error_response("not_authenticated", "Metrics need the bearer token.", 401)
            resp["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return resp
    return HttpResponse(render(), content_type="text/plain; version=0.0.4; charset=utf-8")

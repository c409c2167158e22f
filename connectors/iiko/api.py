"""The seed's iiko routes, as aliases of the generic API (``/api/v1/accounts/{account_id}/integrations/iiko/...``).

``account_id`` is the organization's id or slug and chooses it as ``X-Organization`` would; a caller
who is not a member gets a 404. Same authentication, roles and error envelope as /api/v1/. The work
is the generic services': ``IntegrationSerializer`` + credential audit (connect), the connection-test
task (connect), ``syncjobs.services.start_sync`` (sync), the IntegrationLog and supplier listings.

A sync's result per entity has the seed's shape ``{"total", "created", "updated", "errors",
"error_details"}``, read from the entity's SyncJob: the same numbers the job records.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import api as generic_api
from integrations import audit
from integrations.api import IntegrationLogViewSet, QueueUnavailable
from integrations.auth import acting_user
from integrations.errors import Conflict
from integrations.models import Integration, IntegrationLog, IntegrationStatus, Role
from integrations.permissions import ORG_HEADER, resolve_organization
from integrations.serializers import IntegrationSerializer
from integrations.tasks import CONNECTION_TEST_ACTION, outcome
from records.api import VIEWSETS
from syncjobs.models import ACTIVE_STATUSES, SyncJob

PROVIDER = "iiko"
# The seed's entity types -> our streams (products bring their groups along: categories first).
ENTITY_STREAMS = {
    "restaurants": ["restaurants"], "stores": ["stores"], "suppliers": ["suppliers"],
    "products": ["product-groups", "products"], "invoices": ["invoices"],
}
DEFAULT_CONNECT_WAIT = 10.0
WAIT = OpenApiParameter("wait", float, description="Wait up to this many seconds (max 20) for the outcome.")


def entity_result(job: SyncJob | None) -> dict[str, Any]:
    """The seed's result shape, from the job's own counters."""
    if job is None:
        return {"total": 0, "created": 0, "updated": 0, "errors": 0, "error_details": []}
    return {"total": job.records_processed, "created": job.records_created, "updated": job.records_updated,
            "errors": job.records_failed, "error_details": job.error_details}


def job_summary(job: SyncJob | None) -> dict[str, Any]:
    return {"job_id": job.pk if job else None, "status": job.status if job else "never",
            "error": job.error_message if job else "", "finished_at": job.completed_at if job else None,
            "result": entity_result(job)}


def _wait(request: Request, default: float = 0.0) -> float:
    try:
        wait = float(request.query_params.get("wait") or default)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:
        raise serializers.ValidationError({"wait": ["A number of seconds."]})
    return min(wait, generic_api.MAX_TEST_WAIT_SECONDS)  # the generic cap, read now (tests lower it)


# --- answers (for the OpenAPI schema) --------------------------------------------------------------
class EntityResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_details = serializers.ListField(child=serializers.DictField())


class JobSummarySerializer(serializers.Serializer):
    job_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    error = serializers.CharField(allow_blank=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = EntityResultSerializer()


class StatusSerializer(serializers.Serializer):
    integration = serializers.IntegerField()
    code = serializers.CharField()
    base_url = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    is_connected = serializers.BooleanField()
    last_connected_at = serializers.DateTimeField(allow_null=True)
    connection_error = serializers.CharField(allow_blank=True)
    last_sync_at = serializers.DateTimeField(allow_null=True)
    next_sync_at = serializers.DateTimeField(allow_null=True)
    sync_interval_minutes = serializers.IntegerField()
    auto_sync_enabled = serializers.BooleanField()


class EntityStatusSerializer(StatusSerializer):
    entities = serializers.DictField(child=JobSummarySerializer())


class ConnectAnswerSerializer(StatusSerializer):
    test = serializers.DictField(help_text='{"status": "done", "ok", "message", ...} or {"status": "queued"}')


class SyncAnswerSerializer(JobSummarySerializer):
    entity_type = serializers.CharField()
    integration = serializers.IntegerField()
    jobs = serializers.ListField(child=serializers.IntegerField())


class AccountScoped:
    """The path's account chooses the organization; not one of the caller's: 404 (not 403)."""

    def check_permissions(self, request: Request) -> None:
        if request.user and request.user.is_authenticated and not hasattr(request, "organization"):
            request.META[ORG_HEADER] = str(self.kwargs["account_id"])
            try:
                request.organization, request.role = resolve_organization(request)
            except exceptions.PermissionDenied:
                raise exceptions.NotFound("No such account.") from None
        super().check_permissions(request)

    def integration(self, request: Request) -> Integration:
        found = Integration.objects.filter(organization=request.organization, provider=PROVIDER)
        code = request.query_params.get("integration_code")
        found = (found.filter(code=code) if code else found).order_by("id").first()
        if found is None:
            raise exceptions.NotFound("This account has no iiko integration: POST .../iiko/connect first.")
        return found


class ConnectSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=100, required=False, help_text="The iiko login.")
    login = serializers.CharField(max_length=100, required=False, help_text="Same as username.")
    password = serializers.CharField(max_length=200, required=False, trim_whitespace=False, write_only=True)
    base_url = serializers.URLField(max_length=500, required=False,
                                    help_text="The customer's iiko server, e.g. https://chain.iiko.it")
    name = serializers.CharField(max_length=255, required=False)
    code = serializers.SlugField(max_length=100, required=False)


class ConnectView(AccountScoped, APIView):
    """Create or update the account's iiko connection, then test it (in a worker; waits ``wait`` s)."""

    required_roles = {"POST": Role.ADMIN}

    @extend_schema(request=ConnectSerializer, responses={200: ConnectAnswerSerializer}, parameters=[WAIT])
    def post(self, request: Request, account_id: str) -> Response:
        body = ConnectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        current = Integration.objects.filter(organization=request.organization, provider=PROVIDER).order_by("id")
        instance = current.filter(code=data["code"]).first() if data.get("code") else current.first()
        credentials = {k: v for k, v in {"login": data.get("username") or data.get("login"),
                                         "password": data.get("password")}.items() if v is not None}
        fields: dict[str, Any] = {"credentials": credentials}
        if data.get("base_url"):
            fields["base_url"] = data["base_url"]
        if instance is None:
            fields.update(provider=PROVIDER, type="erp", name=data.get("name") or "iiko",
                          code=data.get("code") or PROVIDER)
        elif data.get("name"):
            fields["name"] = data["name"]
        integration = self._save(request, instance, fields)
        return Response(self._test(request, integration), status=status.HTTP_200_OK)

    def _save(self, request: Request, instance: Integration | None, fields: dict[str, Any]) -> Integration:
        ser = IntegrationSerializer(instance, data=fields, partial=instance is not None, context={"request": request})
        ser.is_valid(raise_exception=True)
        before = audit.snapshot(instance.credentials, instance.webhook_secret) if instance else audit.snapshot({})
        try:
            with transaction.atomic():
                extra = {"organization": request.organization} if instance is None else {}
                integration = ser.save(**extra)
                after = audit.snapshot(integration.credentials, integration.webhook_secret)
                changed = audit.changed_fields(before, after)
                audit.record_change(integration, changed, action=audit.audit_action(instance is None, after, changed),
                                    via="api", user=acting_user(request))
        except IntegrityError as exc:
            raise serializers.ValidationError({"code": ["An integration with this code already exists."]}) from exc
        return integration

    def _test(self, request: Request, integration: Integration) -> dict[str, Any]:
        from integrations.tasks import test_connection

        wait = _wait(request, DEFAULT_CONNECT_WAIT)
        last = (IntegrationLog.objects.filter(integration=integration, action=CONNECTION_TEST_ACTION)
                .order_by("-id").values_list("id", flat=True).first() or 0)
        try:
            test_connection.delay(integration.pk)
        except Exception as exc:  # noqa: BLE001 - broker down: say so instead of a bare 500
            raise QueueUnavailable() from exc
        deadline = time.monotonic() + wait
        entry = None
        while wait:
            entry = (IntegrationLog.objects.filter(integration=integration, action=CONNECTION_TEST_ACTION,
                                                   id__gt=last).order_by("id").first())
            if entry is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        integration.refresh_from_db()
        return {**status_of(integration), "test": {"status": "done", **outcome(entry)} if entry else
                {"status": "queued"}}


def status_of(integration: Integration) -> dict[str, Any]:
    return {
        "integration": integration.pk, "code": integration.code, "base_url": integration.base_url,
        "status": integration.status,
        "is_connected": bool(integration.last_connected_at and not integration.connection_error
                             and integration.status == IntegrationStatus.ACTIVE),
        "last_connected_at": integration.last_connected_at, "connection_error": integration.connection_error,
        "last_sync_at": integration.last_sync_at, "next_sync_at": integration.next_sync_at,
        "sync_interval_minutes": integration.sync_interval_minutes,
        "auto_sync_enabled": integration.auto_sync_enabled,
    }


def latest_jobs(integration: Integration) -> dict[str, SyncJob]:
    jobs: dict[str, SyncJob] = {}
    for job in SyncJob.objects.filter(integration=integration).order_by("-id")[:200]:
        jobs.setdefault(job.stream, job)
    return jobs


class StatusView(AccountScoped, APIView):
    """The connection and each entity's latest sync (its result in the seed's shape)."""

    @extend_schema(responses={200: EntityStatusSerializer})
    def get(self, request: Request, account_id: str) -> Response:
        integration = self.integration(request)
        jobs = latest_jobs(integration)
        entities = {entity: job_summary(jobs.get(streams[-1])) for entity, streams in ENTITY_STREAMS.items()}
        return Response({**status_of(integration), "entities": entities})


class SyncView(AccountScoped, APIView):
    """Queue a sync of one entity type (``?full=true`` from scratch); ``?wait=`` s for its result."""

    required_roles = {"POST": Role.MANAGER}

    @extend_schema(request=None, responses={200: SyncAnswerSerializer, 202: SyncAnswerSerializer},
                   parameters=[WAIT, OpenApiParameter("full", bool, description="Read everything again.")])
    def post(self, request: Request, account_id: str, entity_type: str) -> Response:
        from syncjobs.services import start_sync

        streams = ENTITY_STREAMS.get(entity_type)
        if streams is None:
            raise exceptions.NotFound(f"Unknown entity type {entity_type!r}; one of {', '.join(ENTITY_STREAMS)}.")
        integration = self.integration(request)
        if integration.status == IntegrationStatus.INACTIVE:
            raise Conflict("This integration is inactive; activate it before syncing.")
        full = serializers.BooleanField().to_internal_value(request.query_params.get("full", False))
        wait = _wait(request)
        jobs = start_sync(integration, streams=streams, full=full, trigger="api", user=acting_user(request))
        job = jobs[-1]
        deadline = time.monotonic() + wait
        while wait and job.status in ACTIVE_STATUSES and time.monotonic() < deadline:
            time.sleep(0.2)
            job.refresh_from_db()
        done = job.status not in ACTIVE_STATUSES
        return Response({"entity_type": entity_type, "integration": integration.pk, "jobs": [j.pk for j in jobs],
                         **job_summary(job)}, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)


class LogViewSet(AccountScoped, IntegrationLogViewSet):
    """The generic IntegrationLog listing (filters, ordering, paging), for the account's iiko integration."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no organization
            return queryset
        return queryset.filter(integration=self.integration(self.request))


class SupplierViewSet(AccountScoped, VIEWSETS["suppliers"]):
    """The synced suppliers of the account's iiko integration; ``?search=`` by name."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.filter(integration=self.integration(self.request))

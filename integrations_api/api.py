"""REST API of the integrations app: integrations, providers, API keys, logs and credential audits."""

from __future__ import annotations

import logging

import django_filters
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from connectors.mapping import MappingConfigError
from connectors.registry import providers
from integrations import audit
from integrations.api_base import OrgScopedViewSet
from integrations.auth import acting_user
from integrations.errors import Conflict, error_body
from integrations.filters import HubFilterSet
from integrations.models import (
    ApiKey,
    CredentialAudit,
    Integration,
    IntegrationLog,
    IntegrationStatus,
    Role,
    role_at_least,
)
from integrations.waiting import await_log, last_log_id, wait_seconds
from syncjobs.preview import PreviewError, preview_stream
from syncjobs.services import start_sync

from .mappings import mapping_overview, save_mapping
from .providers import describe, describe_all
from .serializers import (
    ApiKeySerializer,
    CredentialAuditSerializer,
    IntegrationLogSerializer,
    IntegrationSerializer,
    MappingErrorsSerializer,
    MappingUpdateSerializer,
    PreviewRequestSerializer,
    PreviewSerializer,
    ProviderSerializer,
    SyncRequestSerializer,
)
from .tasks import CONNECTION_TEST_ACTION, outcome
from .tasks import test_connection as test_connection_task

log = logging.getLogger("integrations_api")

MAX_TEST_WAIT_SECONDS = 20.0


class QueueUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "queue_unavailable"
    default_detail = "The task queue is unavailable; try again shortly."


def mapping_errors(exc: MappingConfigError) -> Response:
    """400 with one entry per problem (``errors``), beside the API's usual error envelope."""
    return Response({"errors": exc.errors, **error_body("invalid_mapping", "Invalid field mapping.")},
                    status=status.HTTP_400_BAD_REQUEST)


# --- integrations --------------------------------------------------------------------------------
class IntegrationFilter(HubFilterSet):
    class Meta:
        model = Integration
        fields = ["provider", "status", "type", "code", "auto_sync_enabled"]


class IntegrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrgScopedViewSet,
):
    queryset = Integration.objects.all()
    serializer_class = IntegrationSerializer
    filterset_class = IntegrationFilter
    ordering_fields = ["name", "code", "created_at", "last_sync_at"]
    required_roles = {"sync": Role.MANAGER, "test": Role.MANAGER, "preview": Role.MANAGER}

    def _save(self, serializer, **extra) -> None:
        instance = serializer.instance
        created = instance is None
        before = audit.snapshot(instance.credentials, instance.webhook_secret) if instance else audit.snapshot({})
        try:
            with transaction.atomic():
                integration = serializer.save(**extra)
                after = audit.snapshot(integration.credentials, integration.webhook_secret)
                fields = audit.changed_fields(before, after)
                audit.record_change(
                    integration, fields, action=audit.audit_action(created, after, fields), via="api",
                    user=self.request.user,
                )
        except IntegrityError as exc:
            # Two concurrent creates with one code: the constraint decides, and it is a 400, not a 500.
            raise serializers.ValidationError({"code": ["An integration with this code already exists."]}) from exc

    def perform_create(self, serializer) -> None:
        self._save(serializer, organization=self.request.organization)

    def perform_update(self, serializer) -> None:
        self._save(serializer)

    @extend_schema(request=SyncRequestSerializer, responses={202: dict})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None) -> Response:
        integration = self.get_object()
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        streams = body.validated_data.get("streams")
        if integration.status == IntegrationStatus.INACTIVE:
            raise Conflict("This integration is inactive; activate it before syncing.")
        try:
            jobs = start_sync(
                integration, streams=streams, full=body.validated_data["full"], trigger="api", user=acting_user(request)
            )
        except ValueError as exc:  # UnknownStreamError: a stream this provider does not have
            raise serializers.ValidationError({"streams": [str(exc)]}) from exc
        return Response({"jobs": [job.pk for job in jobs]}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("wait", float, description=f"Wait up to this many seconds (max "
                                                                f"{MAX_TEST_WAIT_SECONDS:g}) for the outcome.")],
        responses={200: dict, 202: dict},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None) -> Response:
        integration = self.get_object()
        wait = wait_seconds(request, cap=MAX_TEST_WAIT_SECONDS)
        last_id = last_log_id(integration, CONNECTION_TEST_ACTION)
        try:
            test_connection_task.delay(integration.pk)
        except Exception as exc:  # noqa: BLE001 - broker down: say so instead of a bare 500
            raise QueueUnavailable() from exc
        entry = await_log(integration, CONNECTION_TEST_ACTION, last_id, wait)
        if entry is not None:
            return Response({"status": "done", "integration": integration.pk, **outcome(entry)})
        return Response({"status": "queued", "integration": integration.pk}, status=status.HTTP_202_ACCEPTED)


    # --- field mappings and preview (connectors.mapping, syncjobs.preview) --------------------------
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT},
                   description='{"<stream>": {"model": "records.Product", "targets": {"<field>": "<type word>"}, '
                               '"fields": [<stored entries>]}}')
    @action(detail=True, methods=["get"])
    def mappings(self, request, pk=None) -> Response:
        """Each stream's model, the fields a mapping may target (with a type word) and the stored entries."""
        integration = self.get_object()
        return Response(mapping_overview(integration))

    @extend_schema(request=MappingUpdateSerializer,
                   responses={200: MappingUpdateSerializer, 400: MappingErrorsSerializer},
                   parameters=[OpenApiParameter("stream", str, OpenApiParameter.PATH)])
    @action(detail=True, methods=["put"], url_path=r"mappings/(?P<stream>[^/]+)")
    def mapping(self, request, pk=None, stream=None) -> Response:
        """Replace one stream's field mapping; 400 with one error per bad entry, and nothing saved."""
        integration = self.get_object()
        try:
            entries = save_mapping(integration, stream, request.data)
        except MappingConfigError as exc:
            log.warning("integration %s: field mapping of %r refused: %s", integration.pk, stream, exc)
            return mapping_errors(exc)
        return Response({"fields": entries})

    @extend_schema(request=PreviewRequestSerializer, responses={200: PreviewSerializer, 400: MappingErrorsSerializer})
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None) -> Response:
        """Fetch one page of a stream and map it: what a sync would create, update or delete. Writes nothing."""
        integration = self.get_object()
        body = PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data.get("fields")
        try:
            result = preview_stream(integration, body.validated_data["stream"], fields)
        except PreviewError as exc:
            raise serializers.ValidationError({"stream": [str(exc)]}) from exc
        except MappingConfigError as exc:
            log.warning("integration %s: preview with a mapping refused: %s", integration.pk, exc)
            return mapping_errors(exc)
        return Response(result.as_dict())


# --- providers -----------------------------------------------------------------------------------
class ProviderViewSet(viewsets.GenericViewSet):
    """The connector registry: what each provider needs (credentials, config) and what it syncs."""

    serializer_class = ProviderSerializer
    pagination_class = None
    filter_backends: list = []
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def list(self, request) -> Response:
        return Response(describe_all())

    def retrieve(self, request, code=None) -> Response:
        cls = providers().get(code)
        if cls is None:
            raise exceptions.NotFound("unknown provider")
        return Response(describe(cls))


# --- API keys ------------------------------------------------------------------------------------
class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    OrgScopedViewSet,
):
    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    required_roles = {"revoke": Role.ADMIN}

    def create(self, request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data["role"]
        if not role_at_least(request.role, role):
            raise exceptions.PermissionDenied(f"You cannot create a key with a role above your own ({request.role}).")
        key, raw = ApiKey.issue(
            request.organization, name=serializer.validated_data["name"], role=role, created_by=acting_user(request)
        )
        # The only time the raw key is ever shown: it is stored hashed.
        return Response({**ApiKeySerializer(key).data, "key": raw}, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None) -> Response:
        key = self.get_object()
        key.revoke()
        return Response(ApiKeySerializer(key).data)

    def perform_destroy(self, instance: ApiKey) -> None:
        # Revoked, not deleted: the key's row stays for the audit trail.
        instance.revoke()


# --- logs and audits -----------------------------------------------------------------------------
class IntegrationLogFilter(HubFilterSet):
    # By id, not a model choice: another organization's integration id must look like no match.
    integration = django_filters.NumberFilter(field_name="integration_id")
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    sync_job = django_filters.NumberFilter(field_name="sync_job_id")

    class Meta:
        model = IntegrationLog
        fields = ["integration", "action", "status_code", "level", "direction", "method"]


class IntegrationLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = IntegrationLog.objects.all()
    serializer_class = IntegrationLogSerializer
    filterset_class = IntegrationLogFilter
    ordering_fields = ["created_at", "duration_ms", "status_code"]


class CredentialAuditFilter(HubFilterSet):
    integration = django_filters.NumberFilter(field_name="integration_id")

    class Meta:
        model = CredentialAudit
        fields = ["integration", "action", "via"]


class CredentialAuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = CredentialAudit.objects.select_related("user", "api_key")
    serializer_class = CredentialAuditSerializer
    filterset_class = CredentialAuditFilter
    required_roles = {"list": Role.ADMIN, "retrieve": Role.ADMIN}

"""The generic views behind providers' seed routes (``connectors/<provider>/aliases.py``, ``ALIASES``).

A provider's map names, per route, one of these views and its options; :data:`urlpatterns` (mounted
by config/urls.py at the site root) is built from every provider's map through the registry. Each
view is an alias of the generic API: same authentication, roles, organization scoping, error
envelope, and the shared ``?wait=`` handling (``integrations.waiting``). The OpenAPI schema
documents the generic operations they stand for, except where a seed shape needs its own answer.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.aliases import Alias, AliasMap
from connectors.registry import connector_modules
from integrations import audit
from integrations.auth import ApiKeyPrincipal, acting_user
from integrations.errors import Conflict
from integrations.models import Integration, IntegrationStatus, Membership, Role
from integrations.permissions import ORG_HEADER, resolve_organization
from integrations.waiting import await_log, last_log_id, poll, wait_seconds
from records.api import VIEWSETS
from syncjobs.models import ACTIVE_STATUSES, SyncJob
from syncjobs.services import start_sync
from webhooks.views import receive

from . import api as generic_api
from .api import IntegrationLogViewSet, IntegrationViewSet, QueueUnavailable
from .serializers import IntegrationSerializer
from .tasks import CONNECTION_TEST_ACTION, outcome
from .tasks import test_connection as test_connection_task

SYNC_SETTINGS = ("auto_sync_enabled", "sync_interval_minutes", "config")
WAIT = OpenApiParameter("wait", float, description="Wait up to this many seconds (max 20) for the outcome.")


def _wait(request: Request, default: float = 0.0) -> float:
    return wait_seconds(request, cap=generic_api.MAX_TEST_WAIT_SECONDS, default=default)  # read now: tests lower it


def _object_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return request.data


# --- choosing the organization and the integration ------------------------------------------------
def _belongs(request: Request, org_ref: str) -> bool:
    user = request.user
    is_id = org_ref.isascii() and org_ref.isdigit()
    if isinstance(user, ApiKeyPrincipal):
        org = user.api_key.organization
        return org_ref == (str(org.pk) if is_id else org.slug)
    if "\x00" in org_ref:
        return False
    lookup = {"organization__id": int(org_ref)} if is_id else {"organization__slug": org_ref}
    return bool(getattr(user, "is_superuser", False)) or Membership.objects.filter(user=user, **lookup).exists()


class AliasBase:
    """The map's organization (from the path; 404, not 403, when not the caller's) and its integration."""

    aliases: AliasMap
    options: dict[str, Any]
    required_roles: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self.aliases.organization_kwarg == "organization_id":
            self.perform_authentication(request)
            org_ref = kwargs.get("organization_id")
            if org_ref is not None and request.user is not None and request.user.is_authenticated:
                if not _belongs(request, org_ref):
                    raise exceptions.NotFound("No such organization.")
                request._request.META[ORG_HEADER] = org_ref  # resolved (and role-checked) as for /api/v1/
        super().initial(request, *args, **kwargs)

    def check_permissions(self, request: Request) -> None:
        kwarg = self.aliases.organization_kwarg
        if (kwarg == "account_id" and request.user and request.user.is_authenticated
                and not hasattr(request, "organization")):
            request.META[ORG_HEADER] = str(self.kwargs[kwarg])
            try:
                request.organization, request.role = resolve_organization(request)
            except exceptions.PermissionDenied:
                raise exceptions.NotFound("No such account.") from None
        super().check_permissions(request)

    def integration(self, request: Request) -> Integration:
        found = Integration.objects.filter(organization=request.organization, provider=self.aliases.provider)
        code = request.query_params.get(self.aliases.code_param)
        integration = (found.filter(code=code) if code else found).order_by("id").first()
        if integration is None:
            raise exceptions.NotFound(self.aliases.not_found)
        return integration


class AliasView(AliasBase, APIView):
    # Compatibility aliases: the OpenAPI schema documents the generic operations they stand for.
    schema = None

    def viewset(self, request: Request, action: str) -> IntegrationViewSet:
        return IntegrationViewSet(request=request, format_kwarg=None, action=action, kwargs={})

    def represent(self, request: Request, integration: Integration, code: int = status.HTTP_200_OK) -> Response:
        integration.refresh_from_db()
        return Response(IntegrationSerializer(integration, context={"request": request}).data, status=code)

    def queued_outcome(self, integration: Integration, action: str, last: int, wait: float,
                       extra: dict[str, Any]) -> Response:
        entry = await_log(integration, action, last, wait)
        if entry is None:
            return Response({"status": "queued", "integration": integration.pk, **extra},
                            status=status.HTTP_202_ACCEPTED)
        return Response({"status": "done", "integration": integration.pk, **extra, **outcome(entry)})


# --- the integration's settings --------------------------------------------------------------------
class ConfigView(AliasView):
    """GET / POST (create) / PUT (partial update) / DELETE the organization's integration."""

    def get(self, request: Request, **kwargs: Any) -> Response:
        return self.represent(request, self.integration(request))

    def post(self, request: Request, **kwargs: Any) -> Response:
        data = {**self.aliases.create_defaults, **_object_body(request), "provider": self.aliases.provider}
        viewset = self.viewset(request, "create")
        ser = IntegrationSerializer(data=data, context={"request": request, "view": viewset})
        ser.is_valid(raise_exception=True)
        viewset.perform_create(ser)
        return self.represent(request, ser.instance, status.HTTP_201_CREATED)

    def put(self, request: Request, **kwargs: Any) -> Response:
        integration = self.integration(request)
        data = {k: v for k, v in _object_body(request).items() if k != "provider"}
        if isinstance(data.get("config"), dict):
            data["config"] = {**(integration.config or {}), **data["config"]}  # PUT changes what it names
        viewset = self.viewset(request, "partial_update")
        ser = IntegrationSerializer(integration, data=data, partial=True, context={"request": request, "view": viewset})
        ser.is_valid(raise_exception=True)
        viewset.perform_update(ser)
        return self.represent(request, integration)

    def delete(self, request: Request, **kwargs: Any) -> Response:
        self.integration(request).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class SyncConfigView(ConfigView):
    """PUT the schedule and field mapping only: auto_sync_enabled, sync_interval_minutes, config."""

    http_method_names = ["put", "options"]

    def put(self, request: Request, **kwargs: Any) -> Response:
        unknown = sorted(set(_object_body(request)) - set(SYNC_SETTINGS))
        if unknown:
            raise serializers.ValidationError({name: ["Not a sync setting."] for name in unknown})
        return super().put(request, **kwargs)


# --- syncs ---------------------------------------------------------------------------------------
class SyncRequest(serializers.Serializer):
    streams = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_empty=False)
    full = serializers.BooleanField(default=False)


def _start(request: Request, integrations: list[Integration]) -> list[int]:
    body = SyncRequest(data=request.data if isinstance(request.data, dict) else {})
    body.is_valid(raise_exception=True)
    jobs = []
    with transaction.atomic():
        for integration in integrations:
            try:
                jobs += start_sync(integration, streams=body.validated_data.get("streams"),
                                   full=body.validated_data["full"], trigger="api", user=acting_user(request))
            except ValueError as exc:  # UnknownStreamError
                raise serializers.ValidationError({"streams": [str(exc)]}) from exc
    return [job.pk for job in jobs]


class SyncView(AliasView):
    required_roles = {"POST": Role.MANAGER}

    def post(self, request: Request, **kwargs: Any) -> Response:
        integration = self.integration(request)
        if integration.status == IntegrationStatus.INACTIVE:
            raise Conflict("This integration is inactive; activate it before syncing.")
        return Response({"integration": integration.pk, "jobs": _start(request, [integration])},
                        status=status.HTTP_202_ACCEPTED)


class SyncAllView(AliasView):
    """Every active integration of the provider in the caller's organization."""

    required_roles = {"POST": Role.MANAGER}

    def post(self, request: Request, **kwargs: Any) -> Response:
        integrations = list(Integration.objects.filter(organization=request.organization,
                                                       provider=self.aliases.provider,
                                                       status=IntegrationStatus.ACTIVE).order_by("id"))
        return Response({"integrations": [i.pk for i in integrations], "jobs": _start(request, integrations)},
                        status=status.HTTP_202_ACCEPTED)


# --- queued provider calls -----------------------------------------------------------------------
class TestConnectionView(AliasView):
    required_roles = {"GET": Role.MANAGER}

    def get(self, request: Request, **kwargs: Any) -> Response:
        integration = self.integration(request)
        wait = _wait(request) if "wait" in request.query_params else generic_api.MAX_TEST_WAIT_SECONDS
        last = last_log_id(integration, CONNECTION_TEST_ACTION)
        try:
            test_connection_task.delay(integration.pk)
        except Exception as exc:  # noqa: BLE001 - broker down: say so instead of a bare 500
            raise QueueUnavailable() from exc
        return self.queued_outcome(integration, CONNECTION_TEST_ACTION, last, wait, {})


class TaskView(AliasView):
    """Queue one of the provider's Celery tasks; wait for the IntegrationLog line (``result_action``) it writes.

    Options: ``task`` (called ``task.delay(integration_id, *path values of args, **methods[METHOD])``),
    ``result_action``, ``args`` (path kwargs passed on), ``methods`` (per HTTP method: extra task
    kwargs), ``roles``, ``exists`` ((model label, path kwarg, 404 message): the row must be the
    organization's), ``echo`` (answer key -> path kwarg), ``echo_callback_url``.
    """

    def get_permissions(self):
        self.required_roles = self.options.get("roles", {})
        return super().get_permissions()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.http_method_names = [m.lower() for m in self.options["methods"]] + ["options"]
        return super().dispatch(request, *args, **kwargs)

    def _queue(self, request: Request, **kwargs: Any) -> Response:
        from django.apps import apps

        integration = self.integration(request)
        if "exists" in self.options:
            label, kwarg, message = self.options["exists"]
            if not apps.get_model(label).objects.filter(pk=kwargs[kwarg], organization=request.organization).exists():
                raise exceptions.NotFound(message)
        wait = _wait(request)
        action = self.options["result_action"]
        last = last_log_id(integration, action)
        try:
            self.options["task"].delay(integration.pk, *(kwargs[a] for a in self.options.get("args", ())),
                                       **self.options["methods"][request.method])
        except Exception as exc:  # noqa: BLE001 - broker down: say so instead of a bare 500
            raise QueueUnavailable() from exc
        extra = {key: kwargs[kwarg] for key, kwarg in self.options.get("echo", {}).items()}
        if self.options.get("echo_callback_url"):
            extra["callback_url"] = integration.callback_url
        return self.queued_outcome(integration, action, last, wait, extra)

    get = post = put = delete = _queue


# --- the seed's connect / status / per-entity sync -------------------------------------------------
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


class ConnectView(AliasBase, APIView):
    """Create or update the connection, then test it (in a worker; waits ``wait`` s)."""

    # Options: ``serializer`` (the seed's body), ``fields(data, is_new)`` (-> the integration's fields),
    # ``code_field`` (the body field that picks one of several integrations), ``default_wait``.

    required_roles = {"POST": Role.ADMIN}

    @extend_schema(responses={200: ConnectAnswerSerializer}, parameters=[WAIT])
    def post(self, request: Request, **kwargs: Any) -> Response:
        body = self.options["serializer"](data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        current = Integration.objects.filter(organization=request.organization,
                                             provider=self.aliases.provider).order_by("id")
        code = data.get(self.options.get("code_field", "code"))
        instance = current.filter(code=code).first() if code else current.first()
        fields = self.options["fields"](data, instance is None)
        if instance is None:
            fields = {"provider": self.aliases.provider, **fields}
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
        wait = _wait(request, self.options.get("default_wait", 0.0))
        last = last_log_id(integration, CONNECTION_TEST_ACTION)
        try:
            test_connection_task.delay(integration.pk)
        except Exception as exc:  # noqa: BLE001 - broker down: say so instead of a bare 500
            raise QueueUnavailable() from exc
        entry = await_log(integration, CONNECTION_TEST_ACTION, last, wait)
        integration.refresh_from_db()
        return {**status_of(integration), "test": {"status": "done", **outcome(entry)} if entry else
                {"status": "queued"}}


class StatusView(AliasBase, APIView):
    """The connection and each entity's latest sync (its result in the seed's shape)."""

    @extend_schema(responses={200: EntityStatusSerializer})
    def get(self, request: Request, **kwargs: Any) -> Response:
        integration = self.integration(request)
        jobs = latest_jobs(integration)
        entities = {entity: job_summary(jobs.get(streams[-1]))
                    for entity, streams in self.aliases.entity_streams.items()}
        return Response({**status_of(integration), "entities": entities})


class SyncEntityView(AliasBase, APIView):
    """Queue a sync of one entity type (``?full=true`` from scratch); ``?wait=`` s for its result."""

    required_roles = {"POST": Role.MANAGER}

    @extend_schema(request=None, responses={200: SyncAnswerSerializer, 202: SyncAnswerSerializer},
                   parameters=[WAIT, OpenApiParameter("full", bool, description="Read everything again.")])
    def post(self, request: Request, entity_type: str, **kwargs: Any) -> Response:
        streams = self.aliases.entity_streams.get(entity_type)
        if streams is None:
            raise exceptions.NotFound(f"Unknown entity type {entity_type!r}; "
                                      f"one of {', '.join(self.aliases.entity_streams)}.")
        integration = self.integration(request)
        if integration.status == IntegrationStatus.INACTIVE:
            raise Conflict("This integration is inactive; activate it before syncing.")
        full = serializers.BooleanField().to_internal_value(request.query_params.get("full", False))
        wait = _wait(request)
        jobs = start_sync(integration, streams=list(streams), full=full, trigger="api", user=acting_user(request))
        job = jobs[-1]

        def finished() -> SyncJob | None:
            job.refresh_from_db()
            return job if job.status not in ACTIVE_STATUSES else None

        done = job.status not in ACTIVE_STATUSES or poll(finished, wait) is not None
        return Response({"entity_type": entity_type, "integration": integration.pk, "jobs": [j.pk for j in jobs],
                         **job_summary(job)}, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)


class IntegrationScoped(AliasBase):
    """A generic listing narrowed to the map's integration of the organization."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no organization
            return queryset
        return queryset.filter(integration=self.integration(self.request))


class LogViewSet(IntegrationScoped, IntegrationLogViewSet):
    """The generic IntegrationLog listing (filters, ordering, paging), for the organization's integration."""


def _records_viewset(records: str) -> type:
    return type(f"{records.title().replace('-', '')}AliasViewSet", (IntegrationScoped, VIEWSETS[records]), {
        "__doc__": f"The synced {records} of the organization's integration (the generic listing)."})


@csrf_exempt
def _webhook(request: HttpRequest, *, query_param: str) -> HttpResponse:
    # The provider's payload names no account: the URL the hub registers carries the integration's key.
    return receive(request, request.GET.get(query_param, ""))


# --- routes ----------------------------------------------------------------------------------------
VIEWS: dict[str, type[APIView]] = {
    "config": ConfigView, "sync-config": SyncConfigView, "sync": SyncView, "sync-all": SyncAllView,
    "test-connection": TestConnectionView, "task": TaskView, "connect": ConnectView, "status": StatusView,
    "sync-entity": SyncEntityView,
}


def _view(aliases: AliasMap, alias: Alias) -> Any:
    if alias.view == "webhook":
        return csrf_exempt(lambda request: _webhook(request, query_param=alias.options.get("query_param", "token")))
    if alias.view == "logs":
        return type("LogAliasViewSet", (LogViewSet,), {"aliases": aliases, "options": alias.options}).as_view(
            {"get": "list"})
    if alias.view == "records":
        viewset = _records_viewset(alias.options["records"])
        return type(viewset.__name__, (viewset,), {"aliases": aliases, "options": alias.options}).as_view(
            {"get": "list"})
    view = VIEWS[alias.view]
    attrs = {"aliases": aliases, "options": alias.options}
    if "serializer" in alias.options:
        attrs["serializer_class"] = alias.options["serializer"]  # the request body in the OpenAPI schema
    return type(f"{view.__name__}", (view,), attrs).as_view()


def alias_urlpatterns(aliases: AliasMap) -> list:
    return [path(alias.route if alias.absolute else f"{aliases.prefix}/{alias.route}" if alias.route
                 else aliases.prefix, _view(aliases, alias), name=alias.name) for alias in aliases.routes]


urlpatterns: list = []
for _module in connector_modules("aliases"):
    urlpatterns += alias_urlpatterns(_module.ALIASES)
